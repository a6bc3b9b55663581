// A hashed timer wheel (Varghese and Lauck) for TCP-lite's timers: a fixed
// number of timers and of slots, one slot per tick, a timer due at tick t in
// slot t % slots (later rounds wait in the same slot). arm and cancel are
// O(1) by handle; advance fires what is due with a bounded amount of work per
// call and leaves the rest for the next. Time is an argument (ticks of the
// caller's choosing), so tests choose it. Owned by one lcore; nothing here
// allocates after construction.
#pragma once

#include <cstdint>
#include <vector>

namespace ringcast {

// Names one armed timer. A handle outlives its timer harmlessly: once the
// timer fired or was cancelled, cancel and armed answer false for it.
struct timer_handle {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;

    [[nodiscard]] bool valid() const noexcept { return index != UINT32_MAX; }
};

class timer_wheel {
public:
    // `slots` is rounded up to a power of two; `start` is the first tick advance will look at.
    timer_wheel(uint32_t capacity, uint32_t slots, uint64_t start = 0);

    // Arms a timer due at tick `at`, carrying `data` to the callback. A tick
    // the wheel has already passed means the first one it has not. An invalid
    // handle when all `capacity` timers are armed (the caller counts it).
    [[nodiscard]] timer_handle arm(uint64_t at, uint64_t data) noexcept;
    // True when `h` was armed and now is not.
    bool cancel(timer_handle h) noexcept;
    [[nodiscard]] bool armed(timer_handle h) const noexcept;

    // Fires the timers due at or before `now`, at most `budget` of them, in
    // tick order (when the wheel lags `now` by more than a round, in slot
    // order); visits at most one round of slots per call. f(data, at) may arm
    // and cancel timers; one armed due by `now` may fire in the same call.
    // Returns the number fired; less than `budget` means nothing due is left.
    template <class F> uint32_t advance(uint64_t now, uint32_t budget, F&& f) noexcept;

    [[nodiscard]] uint32_t size() const noexcept { return _armed; }
    [[nodiscard]] uint32_t capacity() const noexcept { return static_cast<uint32_t>(_timers.size()); }

private:
    static constexpr uint32_t none = UINT32_MAX;

    struct timer {
        uint64_t at = 0;
        uint64_t data = 0;
        uint32_t prev = none; // within its slot, or the free list (next only)
        uint32_t next = none;
        uint32_t generation = 0;
        bool armed = false;
    };

    void link(uint32_t i) noexcept;
    void unlink(uint32_t i) noexcept;
    void release(uint32_t i) noexcept;

    std::vector<timer> _timers;
    std::vector<uint32_t> _slots; // head of each slot's list
    uint64_t _mask;
    uint64_t _cursor; // the first tick not yet fully processed
    uint32_t _free = none;
    uint32_t _armed = 0;
};

template <class F> uint32_t timer_wheel::advance(uint64_t now, uint32_t budget, F&& f) noexcept {
    uint32_t fired = 0;
    // After one full round every slot has been looked at, and each look fires
    // whatever in it is due by `now`: ticks beyond that round are skipped.
    const uint64_t round = _mask + 1;
    for (uint64_t visited = 0; _cursor <= now && visited < round; ++visited) {
        uint32_t& head = _slots[_cursor & _mask];
        // Timers due in this slot's earlier ticks first: the list is unordered,
        // so take the earliest due one each time (slots are short).
        while (true) {
            uint32_t best = none;
            for (uint32_t i = head; i != none; i = _timers[i].next) {
                if (_timers[i].at <= now && (best == none || _timers[i].at < _timers[best].at)) {
                    best = i;
                }
            }
            if (best == none) {
                break;
            }
            if (fired == budget) {
                return fired; // this slot again next call
            }
            const uint64_t at = _timers[best].at;
            const uint64_t data = _timers[best].data;
            unlink(best);
            release(best);
            ++fired;
            f(data, at);
        }
        ++_cursor;
    }
    if (_cursor <= now) {
        _cursor = now + 1; // a whole round was visited
    }
    return fired;
}

} // namespace ringcast
