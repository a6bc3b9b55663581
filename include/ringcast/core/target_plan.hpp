// Who gets one message: every subscriber with a matching plain filter (once,
// however many of its filters match) and one member of each matching shared
// group, under the per-subscriber delivery cap and the debug loss injection.
// Core code over the worker's table, so it is tested without EAL; the worker
// turns each target into a packet. Owned by one worker lcore.
#pragma once

#include <ringcast/core/counters.hpp>
#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/token_bucket.hpp>

#include <cstdint>
#include <span>

namespace ringcast {

struct delivery_policy {
    uint64_t hz = 0;       // ticks per second of `now`
    uint32_t rate = 0;     // limits.delivery_rate: per subscriber per second; 0: no cap
    uint32_t burst = 1;    // limits.delivery_burst
    uint32_t loss_ppm = 0; // debug.inject_loss: deliveries dropped per million

    bool operator==(const delivery_policy&) const = default;
};

class target_planner {
public:
    explicit target_planner(const delivery_policy& p) noexcept : _p(p) {}

    // The cap a subscriber starts with (its first subscription on this worker).
    [[nodiscard]] token_bucket delivery_cap(uint64_t now) const noexcept {
        return token_bucket(_p.rate, _p.burst, _p.hz, now);
    }

    // Calls deliver(subscriber_record&) for each target of a message on
    // `topic` (record `tid`, or no_id when only wildcard filters can match).
    // A plain target over its cap is refused (rate_capped); a group passes a
    // capped member's turn on to the next (rate_capped when none is under
    // it); then loss injection takes exactly loss_ppm in a million of what is
    // left, evenly spread (injected_loss). Refusals count in `c` and in the
    // subscriber's stats.
    template <class Deliver>
    void plan(sub_table& table, uint32_t tid, std::span<const std::byte> topic, uint64_t now,
              lcore_counters& c, Deliver&& deliver) noexcept {
        table.for_each_target(
            tid, topic,
            [&](subscriber_record& s) {
                if (!under_cap(s, now)) {
                    c.count(drop::rate_capped);
                    ++s.stats.rate_capped;
                    ++s.stats.drops;
                } else if (!lost(s, c)) {
                    deliver(s);
                }
            },
            [&](uint32_t group) {
                subscriber_record* s =
                    table.pick(group, [&](subscriber_record& r) { return under_cap(r, now); });
                if (s == nullptr) {
                    c.count(drop::rate_capped);
                } else if (!lost(*s, c)) {
                    deliver(*s);
                }
            });
    }

private:
    // Takes the subscriber's token when it has one.
    bool under_cap(subscriber_record& s, uint64_t now) noexcept {
        return _p.rate == 0 || s.delivery_cap.allow(now);
    }
    bool lost(subscriber_record& s, lcore_counters& c) noexcept {
        // A stream loses segments, not messages: TCP-lite injects its loss there.
        if (_p.loss_ppm == 0 || is_tcp(s.ep)) {
            return false;
        }
        _loss_credit += _p.loss_ppm;
        if (_loss_credit < ppm) {
            return false;
        }
        _loss_credit -= ppm;
        c.count(drop::injected_loss);
        ++s.stats.injected_loss;
        ++s.stats.drops;
        return true;
    }

    static constexpr uint64_t ppm = 1'000'000;
    delivery_policy _p;
    uint64_t _loss_credit = 0; // a drop each time it passes a million
};

} // namespace ringcast
