#include <ringcast/core/tcp_table.hpp>

namespace ringcast {

uint64_t tcp_tuple_hash(const tcp_tuple& t) noexcept {
    uint64_t h = (uint64_t{t.peer_ip} << 32 | t.local_ip) * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t{t.peer_port} << 16 | t.local_port) + (h >> 29);
    h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
    h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

tcp_table::tcp_table(const tcp_table_limits& lim)
    : _lim(lim), _slots(lim.connections), _index(lim.connections), _free(lim.connections) {}

uint32_t tcp_table::find(const tcp_tuple& t) const noexcept {
    return _index.find(tcp_tuple_hash(t), [&](uint32_t id) { return _slots[id].tuple == t; });
}

uint32_t tcp_table::insert(const tcp_tuple& t, uint32_t& evicted) noexcept {
    evicted = no_id;
    if (_free.available() == 0) {
        if (_tw_head == no_id) {
            return no_id;
        }
        evicted = _tw_head;
        erase(evicted);
    }
    const uint32_t id = _free.take();
    slot& s = _slots[id];
    s = slot{};
    s.tuple = t;
    s.live = true;
    _index.insert(tcp_tuple_hash(t), id);
    ++_n;
    return id;
}

void tcp_table::erase(uint32_t id) noexcept {
    slot& s = _slots[id];
    if (!s.live) {
        return;
    }
    if (s.in_time_wait) {
        leave_time_wait(id);
    }
    _index.erase(tcp_tuple_hash(s.tuple), [&](uint32_t x) { return x == id; });
    s.live = false;
    s.conn = tcp_conn{};
    _free.give(id);
    --_n;
}

uint32_t tcp_table::entered_time_wait(uint32_t id) noexcept {
    slot& s = _slots[id];
    if (!s.live || s.in_time_wait) {
        return no_id;
    }
    s.in_time_wait = true;
    s.tw_prev = _tw_tail;
    s.tw_next = no_id;
    (_tw_tail != no_id ? _slots[_tw_tail].tw_next : _tw_head) = id;
    _tw_tail = id;
    ++_n_time_wait;
    if (_n_time_wait <= _lim.time_wait) {
        return no_id;
    }
    const uint32_t oldest = _tw_head;
    erase(oldest);
    return oldest;
}

void tcp_table::leave_time_wait(uint32_t id) noexcept {
    slot& s = _slots[id];
    (s.tw_prev != no_id ? _slots[s.tw_prev].tw_next : _tw_head) = s.tw_next;
    (s.tw_next != no_id ? _slots[s.tw_next].tw_prev : _tw_tail) = s.tw_prev;
    s.tw_prev = s.tw_next = no_id;
    s.in_time_wait = false;
    --_n_time_wait;
}

} // namespace ringcast
