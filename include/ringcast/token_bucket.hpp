// A token bucket in integer ticks: `rate` tokens per `hz` ticks, holding at
// most `burst` tokens. Time is an argument, so tests choose it.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ringcast {

class token_bucket {
public:
    token_bucket() = default;
    // rate 0: never allows.
    token_bucket(uint64_t rate, uint64_t burst, uint64_t hz, uint64_t now) noexcept
        : _cost(rate == 0 ? 0 : std::max<uint64_t>(1, hz / rate)), _cap(_cost * burst), _credit(_cap), _last(now) {}

    [[nodiscard]] bool allow(uint64_t now) noexcept {
        if (_cost == 0) {
            return false;
        }
        if (now > _last) {
            _credit = std::min(_cap, _credit + (now - _last));
            _last = now;
        }
        if (_credit < _cost) {
            return false;
        }
        _credit -= _cost;
        return true;
    }

private:
    uint64_t _cost = 0;   // ticks of credit one token costs
    uint64_t _cap = 0;    // most credit held
    uint64_t _credit = 0;
    uint64_t _last = 0;
};

} // namespace ringcast
