// A token bucket in integer arithmetic: `rate` tokens per `hz` ticks,
// holding at most `burst` tokens. Credit is kept in units of 1/hz token, so
// each tick adds `rate` and a token costs `hz`: exact for any rate and hz.
// Time is an argument, so tests choose it.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ringcast {

class token_bucket {
public:
    token_bucket() = default;
    // rate 0: never allows.
    token_bucket(uint64_t rate, uint64_t burst, uint64_t hz, uint64_t now) noexcept
        : _rate(rate), _hz(hz), _cap(hz * burst), _credit(_cap), _last(now) {}

    [[nodiscard]] bool allow(uint64_t now) noexcept {
        if (_rate == 0) {
            return false;
        }
        if (now > _last) {
            // Ticks past a full bucket add nothing; capping first keeps the product from overflowing.
            const uint64_t ticks = std::min(now - _last, _cap / _rate + 1);
            _credit = std::min(_cap, _credit + ticks * _rate);
            _last = now;
        }
        if (_credit < _hz) {
            return false;
        }
        _credit -= _hz;
        return true;
    }

private:
    uint64_t _rate = 0;
    uint64_t _hz = 0;  // credit one token costs
    uint64_t _cap = 0; // most credit held
    uint64_t _credit = 0;
    uint64_t _last = 0;
};

} // namespace ringcast
