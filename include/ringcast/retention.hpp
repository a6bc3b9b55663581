// A worker's retained messages: per topic, its last `keep` messages as
// references to their mbufs (never copies), oldest first, with one cap over
// all topics that evicts the worker-wide oldest message first. Plain C++:
// the caller takes the references it stores and frees the evicted ones, so
// this is tested without DPDK. Fixed capacity; owned by one worker lcore.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

struct rte_mbuf;

namespace ringcast {

struct retained_msg {
    rte_mbuf* m = nullptr;
    uint64_t seq = 0;
};

struct retain_evictions {
    uint32_t n = 0;       // mbufs written to the caller's span, to free
    uint32_t by_cap = 0;  // of them, evicted by the cap (counted as a loss)
};

class retention_store {
public:
    // `capacity` messages in all; topic ids below `max_topics`.
    retention_store(uint32_t capacity, uint32_t max_topics);

    // Appends message `seq` of `topic` (seqs rise per topic by one). While the
    // topic then holds more than `keep` (>= 1), its oldest goes; when the
    // store is full, the oldest message of any topic goes first. Evicted
    // mbufs are written to `evicted` (size >= 2) for the caller to free.
    // With capacity 0 nothing is kept: `m` itself comes back in `evicted`.
    [[nodiscard]] retain_evictions push(uint32_t topic, uint32_t keep, uint64_t seq, rte_mbuf* m,
                                        std::span<rte_mbuf*> evicted) noexcept;

    // Messages held for the topic, and the seq of its oldest (0 when none).
    [[nodiscard]] uint32_t held(uint32_t topic) const noexcept;
    [[nodiscard]] uint64_t first_seq(uint32_t topic) const noexcept;

    // Calls f(const retained_msg&) for the topic's messages with seq >= from,
    // oldest first, while f returns true.
    template <class F> void for_each_from(uint32_t topic, uint64_t from, F&& f) const noexcept;

    // Removes every message of the topic, calling f(rte_mbuf*) for each.
    template <class F> void clear(uint32_t topic, F&& f) noexcept;

    [[nodiscard]] uint32_t size() const noexcept;
    [[nodiscard]] uint32_t capacity() const noexcept;
};

} // namespace ringcast
