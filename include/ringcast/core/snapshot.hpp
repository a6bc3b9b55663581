// The top topics and top subscribers a worker shows the telemetry thread.
// The worker builds each list by a scan of its table that looks at a slice
// of ids per housekeeping call (bounded work, however large the table), and
// publishes it under a sequence lock when the scan has gone round once: the
// worker is the only writer, readers copy and retry while a write is under
// way. Plain C++ atomics, no DPDK.
#pragma once

#include <ringcast/core/net.hpp>
#include <ringcast/core/sub_table.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ringcast {

// At most N entries, sorted by a key, largest first.
template <class Entry, size_t N> struct top_list {
    uint32_t n = 0;
    std::array<Entry, N> top{};

    // Takes `e` when it ranks among the N largest by key(Entry).
    template <class Key> void offer(const Entry& e, Key&& key) noexcept {
        if (n == N && key(e) <= key(top[n - 1])) {
            return;
        }
        uint32_t i = n < N ? n++ : n - 1;
        for (; i > 0 && key(top[i - 1]) < key(e); --i) {
            top[i] = top[i - 1];
        }
        top[i] = e;
    }
};

// A top_list one thread writes and others read.
template <class Entry, size_t N> class published_list {
public:
    // Writer only.
    void publish(const top_list<Entry, N>& l) noexcept {
        // Odd while the copy is under way; readers retry then.
        _version.fetch_add(1, std::memory_order_acq_rel);
        std::atomic_thread_fence(std::memory_order_release);
        _list = l;
        std::atomic_thread_fence(std::memory_order_release);
        _version.fetch_add(1, std::memory_order_release);
    }
    // Any thread: a copy of one whole published list.
    [[nodiscard]] top_list<Entry, N> read() const noexcept {
        for (;;) {
            const uint32_t v = _version.load(std::memory_order_acquire);
            if ((v & 1) != 0) {
                continue;
            }
            top_list<Entry, N> copy = _list;
            std::atomic_thread_fence(std::memory_order_acquire);
            if (_version.load(std::memory_order_relaxed) == v) {
                return copy;
            }
        }
    }

private:
    static_assert(std::atomic<uint32_t>::is_always_lock_free);
    std::atomic<uint32_t> _version{0};
    top_list<Entry, N> _list;
};

// Builds a top_list over ids [0, capacity) a slice at a time and publishes
// it each time the walk passes the end. Owned by the writer.
template <class Entry, size_t N> class top_scan {
public:
    // Looks at up to `slice` ids from where the last call stopped, calling
    // visit(id, top_list&) for each; returns true when this call finished a
    // round and published it (the next call starts a new one).
    template <class Visit> bool step(uint32_t capacity, uint32_t slice, Visit&& visit) noexcept {
        for (uint32_t i = 0; i < slice && _cursor < capacity; ++i) {
            visit(_cursor++, _building);
        }
        if (_cursor < capacity) {
            return false;
        }
        out.publish(_building);
        _building = {};
        _cursor = 0;
        return true;
    }

    published_list<Entry, N> out;

private:
    uint32_t _cursor = 0;
    top_list<Entry, N> _building;
};

inline constexpr size_t snapshot_entries = 16;

struct topic_entry {
    uint64_t seq;
    uint32_t subscribers;
    uint32_t retained;
    uint16_t len;
    std::array<char, 255> name;
};

struct subscriber_entry {
    endpoint ep;
    uint32_t filters;
    subscriber_stats stats;
    uint64_t identity = 0; // identity::key of its last SUB (0: none)
};

using topic_snapshot = top_scan<topic_entry, snapshot_entries>;
using subscriber_snapshot = top_scan<subscriber_entry, snapshot_entries>;

} // namespace ringcast
