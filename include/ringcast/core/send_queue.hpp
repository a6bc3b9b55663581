// TCP-lite's send queues: the frames queued for each connection, in order,
// as references to the caller's buffers (mbufs), never copies. Entries come
// from one fixed pool shared by every connection of an lcore, so a few slow
// connections cannot take memory the others were promised beyond the pool's
// size. Bytes are named by stream offset, as tcp_conn names them: a segment
// to send is gathered as pieces of the queued buffers, and acknowledged
// bytes release whole buffers from the head. No DPDK here; owned by one
// lcore; no allocation after construction.
#pragma once

#include <ringcast/core/hash_index.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ringcast {

// One connection's queue; all state lives here and in the pool's entries.
struct send_queue {
    uint32_t head = no_id;
    uint32_t tail = no_id;
    uint32_t entries = 0;
    uint32_t head_skip = 0; // bytes of the head buffer already acknowledged
    uint64_t head_off = 0;  // stream offset of the head buffer's first byte
    uint64_t end_off = 0;   // stream offset past the last byte queued
    // Where the last gather ended, so sending new data does not walk the
    // queue from its head each time.
    uint32_t cursor = no_id;
    uint64_t cursor_off = 0;

    [[nodiscard]] uint64_t bytes() const noexcept { return end_off - head_off - head_skip; }
};

class send_queue_pool {
public:
    explicit send_queue_pool(uint32_t entries);

    // Appends `len` bytes of `buf` from its byte `skip` on (the queue owns
    // that reference now); false when the pool has no entry left (the
    // caller keeps it). `skip` lets a part of a shared buffer ride alone.
    [[nodiscard]] bool push(send_queue& q, void* buf, uint32_t len, uint32_t skip = 0) noexcept;

    // Calls piece(void* buf, uint32_t from, uint32_t n) for each piece of
    // the queued bytes [off, off + len), in order (`from` counts the
    // buffer's own bytes, its skip included); they must be queued.
    template <class F> void gather(send_queue& q, uint64_t off, uint32_t len, F&& piece) noexcept;

    // `bytes` from the head are acknowledged: free(void* buf) for every
    // buffer wholly acknowledged now.
    template <class F> void release(send_queue& q, uint64_t bytes, F&& free) noexcept;

    // Empties the queue, free(buf) for each buffer; offsets start again at 0.
    template <class F> void clear(send_queue& q, F&& free) noexcept;

    [[nodiscard]] uint32_t available() const noexcept { return _available; }
    [[nodiscard]] uint32_t capacity() const noexcept { return static_cast<uint32_t>(_entries.size()); }

private:
    struct entry {
        void* buf = nullptr;
        uint32_t len = 0;
        uint32_t skip = 0;
        uint32_t next = no_id;
    };
    void give_back(uint32_t i) noexcept;

    std::vector<entry> _entries;
    uint32_t _free = no_id;
    uint32_t _available = 0;
};

template <class F> void send_queue_pool::gather(send_queue& q, uint64_t off, uint32_t len, F&& piece) noexcept {
    if (len == 0) {
        return;
    }
    uint32_t i = q.head;
    uint64_t at = q.head_off;
    // The cursor is an entry still queued when it is not before the head.
    if (q.cursor != no_id && q.cursor_off <= off && q.cursor_off >= q.head_off) {
        i = q.cursor;
        at = q.cursor_off;
    }
    // Stop at the last entry rather than past it: data pushed later follows it.
    while (_entries[i].next != no_id && at + _entries[i].len <= off) {
        at += _entries[i].len;
        i = _entries[i].next;
    }
    while (len != 0) {
        const entry& e = _entries[i];
        const auto from = static_cast<uint32_t>(off - at);
        const uint32_t n = std::min(len, e.len - from);
        piece(e.buf, e.skip + from, n);
        off += n;
        len -= n;
        if (from + n == e.len && e.next != no_id) {
            at += e.len;
            i = e.next;
        }
    }
    q.cursor = i;
    q.cursor_off = at;
}

template <class F> void send_queue_pool::release(send_queue& q, uint64_t bytes, F&& free) noexcept {
    while (bytes != 0 && q.head != no_id) {
        entry& e = _entries[q.head];
        const uint64_t left = e.len - q.head_skip;
        if (bytes < left) {
            q.head_skip += static_cast<uint32_t>(bytes);
            return;
        }
        bytes -= left;
        free(e.buf);
        q.head_off += e.len;
        q.head_skip = 0;
        const uint32_t next = e.next;
        give_back(q.head);
        q.head = next;
        --q.entries;
    }
    if (q.head == no_id) {
        q.tail = no_id;
    }
}

template <class F> void send_queue_pool::clear(send_queue& q, F&& free) noexcept {
    while (q.head != no_id) {
        const uint32_t next = _entries[q.head].next;
        free(_entries[q.head].buf);
        give_back(q.head);
        q.head = next;
    }
    q = send_queue{};
}

} // namespace ringcast
