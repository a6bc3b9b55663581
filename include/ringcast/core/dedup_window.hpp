// Exactly-once into the topic (QoS 2): the PUBs a worker delivered recently,
// keyed by source, publisher seq and topic hash, so a retry inside the window
// is acknowledged again (with the topic seq the first copy got) but not
// delivered twice. Time is an argument (TSC ticks), so tests choose it.
// Fixed capacity: when full the oldest entry goes early, and that is counted.
// Owned by one worker lcore.
#pragma once

#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/net.hpp>

#include <cstdint>
#include <vector>

namespace ringcast {

struct dedup_key {
    endpoint source;
    uint64_t pub_seq = 0;
    uint64_t topic_hash = 0;
};

class dedup_window {
public:
    // An entry recorded at t is a duplicate for queries at now < t + window.
    dedup_window(uint32_t capacity, uint64_t window_ticks);

    // The topic seq the earlier copy got when `k` was recorded inside the
    // window before `now`, else 0. Expires what the window left behind.
    [[nodiscard]] uint64_t find(const dedup_key& k, uint64_t now) noexcept;
    // Records a delivered PUB. Returns true when the table was full and an
    // entry still inside its window had to go (the caller counts it); with
    // capacity 0, true whenever the window is not 0, as the record itself goes.
    // A key still held keeps its time and slot and takes the new topic seq.
    bool record(const dedup_key& k, uint64_t topic_seq, uint64_t now) noexcept;

    [[nodiscard]] uint32_t size() const noexcept { return _n; }

private:
    struct entry {
        dedup_key key;
        uint64_t topic_seq = 0;
        uint64_t at = 0; // when recorded
    };

    // Drops entries from the oldest end while their window is over at `now`.
    void expire(uint64_t now) noexcept;
    void pop_oldest() noexcept;

    std::vector<entry> _ring; // insertion order, which is time order
    hash_index _index;        // key hash -> ring slot
    uint64_t _window;
    uint32_t _head = 0; // oldest slot
    uint32_t _n = 0;
};

} // namespace ringcast
