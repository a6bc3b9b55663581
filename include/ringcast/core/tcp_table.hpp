// A lcore's TCP-lite connections by 4-tuple, in fixed-capacity arrays sized
// at start-up, with TIME_WAIT bounded in count: past its cap, or when a new
// connection finds the table full, the oldest TIME_WAIT connection makes
// room (its tuple's peer is only refused a late duplicate). Which lcore
// owns a tuple is tcp_owner(), the one function the io lcore and the tests
// share. Owned by one lcore; no allocation after construction.
#pragma once

#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/syn_cookie.hpp>
#include <ringcast/core/tcp_conn.hpp>

#include <cstdint>
#include <vector>

namespace ringcast {

struct tcp_table_limits {
    uint32_t connections = 4096; // every state, TIME_WAIT included
    uint32_t time_wait = 1024;   // of those, at most this many in TIME_WAIT
};

[[nodiscard]] uint64_t tcp_tuple_hash(const tcp_tuple& t) noexcept;

// The lcore (0..n-1) that owns a connection with this tuple.
[[nodiscard]] inline uint32_t tcp_owner(const tcp_tuple& t, uint32_t n) noexcept {
    const auto h = static_cast<uint32_t>(tcp_tuple_hash(t) >> 32); // the table index uses the low bits
    return (n & (n - 1)) == 0 ? h & (n - 1) : h % n;
}

class tcp_table {
public:
    explicit tcp_table(const tcp_table_limits& lim);

    // The connection's id, or no_id.
    [[nodiscard]] uint32_t find(const tcp_tuple& t) const noexcept;
    // A closed connection for `t` (not present), evicting the oldest
    // TIME_WAIT one when the table is full; no_id when every slot holds a
    // live connection. `evicted` gets the id reused that way, or no_id.
    [[nodiscard]] uint32_t insert(const tcp_tuple& t, uint32_t& evicted) noexcept;
    void erase(uint32_t id) noexcept;

    // The connection entered TIME_WAIT: it joins the line; when the line is
    // over its cap, the oldest is erased and its id returned (else no_id).
    uint32_t entered_time_wait(uint32_t id) noexcept;

    [[nodiscard]] tcp_conn& conn(uint32_t id) noexcept { return _slots[id].conn; }
    [[nodiscard]] const tcp_tuple& tuple(uint32_t id) const noexcept { return _slots[id].tuple; }
    [[nodiscard]] uint32_t size() const noexcept { return _n; }
    [[nodiscard]] uint32_t time_wait() const noexcept { return _n_time_wait; }

private:
    struct slot {
        tcp_tuple tuple;
        tcp_conn conn;
        uint32_t tw_prev = no_id; // the TIME_WAIT line, oldest first
        uint32_t tw_next = no_id;
        bool live = false;
        bool in_time_wait = false;
    };
    void leave_time_wait(uint32_t id) noexcept;

    tcp_table_limits _lim;
    std::vector<slot> _slots;
    hash_index _index;
    id_pool _free;
    uint32_t _tw_head = no_id;
    uint32_t _tw_tail = no_id;
    uint32_t _n = 0;
    uint32_t _n_time_wait = 0;
};

} // namespace ringcast
