#include <ringcast/core/timer_wheel.hpp>

#include <bit>

namespace ringcast {

timer_wheel::timer_wheel(uint32_t capacity, uint32_t slots, uint64_t start)
    : _timers(capacity), _slots(std::bit_ceil(slots == 0 ? 1u : slots), none),
      _mask(_slots.size() - 1), _cursor(start) {
    // The free list threads through `next`, lowest index first.
    for (uint32_t i = capacity; i-- > 0;) {
        _timers[i].next = _free;
        _free = i;
    }
}

void timer_wheel::link(uint32_t i) noexcept {
    uint32_t& head = _slots[_timers[i].at & _mask];
    _timers[i].prev = none;
    _timers[i].next = head;
    if (head != none) {
        _timers[head].prev = i;
    }
    head = i;
}

void timer_wheel::unlink(uint32_t i) noexcept {
    timer& t = _timers[i];
    if (t.prev != none) {
        _timers[t.prev].next = t.next;
    } else {
        _slots[t.at & _mask] = t.next;
    }
    if (t.next != none) {
        _timers[t.next].prev = t.prev;
    }
}

void timer_wheel::release(uint32_t i) noexcept {
    timer& t = _timers[i];
    t.armed = false;
    ++t.generation; // old handles stop matching
    t.prev = none;
    t.next = _free;
    _free = i;
    --_armed;
}

timer_handle timer_wheel::arm(uint64_t at, uint64_t data) noexcept {
    if (_free == none) {
        return {};
    }
    const uint32_t i = _free;
    timer& t = _timers[i];
    _free = t.next;
    // A tick already passed goes in the slot advance looks at next.
    t.at = at < _cursor ? _cursor : at;
    t.data = data;
    t.armed = true;
    link(i);
    ++_armed;
    return {i, t.generation};
}

bool timer_wheel::armed(timer_handle h) const noexcept {
    return h.index < _timers.size() && _timers[h.index].armed && _timers[h.index].generation == h.generation;
}

bool timer_wheel::cancel(timer_handle h) noexcept {
    if (!armed(h)) {
        return false;
    }
    unlink(h.index);
    release(h.index);
    return true;
}

} // namespace ringcast
