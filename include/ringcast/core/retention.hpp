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
    uint32_t n = 0;      // mbufs written to the caller's span, to free
    uint32_t by_cap = 0; // of them, evicted by the cap (counted as a loss)
};

class retention_store {
public:
    // `capacity` messages in all; topic ids below `max_topics`.
    retention_store(uint32_t capacity, uint32_t max_topics);

    // Appends message `seq` of `topic` (seqs rise per topic by one). While the
    // topic then holds more than `keep` (>= 1; 0 counts as 1), its oldest
    // goes; when the store is full, the oldest message of any topic goes. Evicted
    // mbufs are written to `evicted` (size >= 2) for the caller to free.
    // With capacity 0 nothing is kept: `m` itself comes back in `evicted`.
    //
    // The topic's own roll-over comes first and makes room, so the cap takes
    // another topic's message only when this topic is under `keep`: with a
    // steady `keep` at most one mbuf comes back. When `keep` drops below what
    // the topic holds, up to evicted.size() of its oldest go per push, so a
    // span of 2 brings the topic down to the new `keep` over a few pushes.
    [[nodiscard]] retain_evictions push(uint32_t topic, uint32_t keep, uint64_t seq, rte_mbuf* m,
                                        std::span<rte_mbuf*> evicted) noexcept;

    // Messages held for the topic, and the seq of its oldest (0 when none).
    [[nodiscard]] uint32_t held(uint32_t topic) const noexcept;
    [[nodiscard]] uint64_t first_seq(uint32_t topic) const noexcept;

    // Calls f(const retained_msg&) for the topic's messages with seq >= from,
    // oldest first, while f returns true. The walk starts at the oldest, so
    // it also steps over those before `from`.
    template <class F> void for_each_from(uint32_t topic, uint64_t from, F&& f) const noexcept;

    // Removes every message of the topic, calling f(rte_mbuf*) for each.
    template <class F> void clear(uint32_t topic, F&& f) noexcept;

    [[nodiscard]] uint32_t size() const noexcept { return _size; }
    [[nodiscard]] uint32_t capacity() const noexcept { return static_cast<uint32_t>(_entries.size()); }

private:
    static constexpr uint32_t nil = UINT32_MAX;

    struct entry {
        retained_msg msg;
        uint32_t topic = 0;
        uint32_t next = nil;  // the topic's next newer entry; the free list's link while free
        uint32_t older = nil; // store-wide age list, doubly linked so a topic's oldest
        uint32_t newer = nil; // can leave it from the middle
    };
    struct topic_list {
        uint32_t head = nil; // oldest
        uint32_t tail = nil; // newest
        uint32_t count = 0;
    };

    // Unlinks the topic's oldest entry everywhere and frees it; returns its mbuf.
    rte_mbuf* pop_oldest(uint32_t topic) noexcept;

    std::vector<entry> _entries;
    std::vector<topic_list> _topics;
    uint32_t _free = nil;
    uint32_t _oldest = nil; // age list ends
    uint32_t _newest = nil;
    uint32_t _size = 0;
};

template <class F> void retention_store::for_each_from(uint32_t topic, uint64_t from, F&& f) const noexcept {
    for (uint32_t i = _topics[topic].head; i != nil; i = _entries[i].next) {
        const retained_msg& r = _entries[i].msg;
        if (r.seq >= from && !f(r)) {
            return;
        }
    }
}

template <class F> void retention_store::clear(uint32_t topic, F&& f) noexcept {
    while (_topics[topic].count != 0) {
        f(pop_oldest(topic));
    }
}

} // namespace ringcast
