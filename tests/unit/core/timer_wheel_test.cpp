// The hashed timer wheel with time passed in: arm, cancel by handle, firing
// order, timers several rounds out, the per-call budget, and a full wheel.
#include <ringcast/core/timer_wheel.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

using ringcast::timer_handle;
using ringcast::timer_wheel;

using fired_list = std::vector<std::pair<uint64_t, uint64_t>>; // (data, at)

static uint32_t run(timer_wheel& w, uint64_t now, uint32_t budget, fired_list& fired) {
    return w.advance(now, budget, [&](uint64_t data, uint64_t at) { fired.emplace_back(data, at); });
}

TEST(timer_wheel, fires_a_timer_at_its_tick_and_not_before) {
    timer_wheel w(8, 16);
    const timer_handle h = w.arm(5, 42);
    ASSERT_TRUE(h.valid());
    EXPECT_TRUE(w.armed(h));
    fired_list fired;
    EXPECT_EQ(run(w, 4, 100, fired), 0u);
    EXPECT_TRUE(fired.empty());
    EXPECT_EQ(run(w, 5, 100, fired), 1u);
    EXPECT_EQ(fired, (fired_list{{42, 5}}));
    EXPECT_FALSE(w.armed(h));
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(run(w, 100, 100, fired), 0u) << "fires once";
}

TEST(timer_wheel, fires_in_tick_order) {
    timer_wheel w(8, 16);
    (void)w.arm(9, 3);
    (void)w.arm(2, 1);
    (void)w.arm(7, 2);
    (void)w.arm(12, 4);
    fired_list fired;
    run(w, 10, 100, fired);
    EXPECT_EQ(fired, (fired_list{{1, 2}, {2, 7}, {3, 9}}));
    run(w, 12, 100, fired);
    EXPECT_EQ(fired.back(), (std::pair<uint64_t, uint64_t>{4, 12}));
}

TEST(timer_wheel, a_cancelled_timer_never_fires_and_its_handle_goes_stale) {
    timer_wheel w(4, 8);
    const timer_handle a = w.arm(3, 1);
    const timer_handle b = w.arm(3, 2);
    EXPECT_TRUE(w.cancel(a));
    EXPECT_FALSE(w.cancel(a)) << "twice";
    EXPECT_EQ(w.size(), 1u);
    fired_list fired;
    run(w, 3, 100, fired);
    EXPECT_EQ(fired, (fired_list{{2, 3}}));
    EXPECT_FALSE(w.cancel(b)) << "already fired";
    // The slot is reused; the old handle does not name the new timer.
    const timer_handle c = w.arm(10, 3);
    EXPECT_FALSE(w.armed(a));
    EXPECT_FALSE(w.cancel(a));
    EXPECT_TRUE(w.armed(c));
}

TEST(timer_wheel, timers_rounds_away_wait_in_their_slot) {
    timer_wheel w(8, 8); // 8 slots: ticks 3, 11 and 19 share one
    (void)w.arm(19, 3);
    (void)w.arm(3, 1);
    (void)w.arm(11, 2);
    fired_list fired;
    run(w, 3, 100, fired);
    EXPECT_EQ(fired, (fired_list{{1, 3}}));
    run(w, 18, 100, fired);
    EXPECT_EQ(fired, (fired_list{{1, 3}, {2, 11}}));
    run(w, 19, 100, fired);
    EXPECT_EQ(fired.size(), 3u);
}

TEST(timer_wheel, a_budget_bounds_each_call_and_the_rest_fire_next_call) {
    timer_wheel w(64, 16);
    for (uint64_t i = 0; i < 10; ++i) {
        (void)w.arm(5 + (i % 3), i);
    }
    fired_list fired;
    EXPECT_EQ(run(w, 20, 4, fired), 4u);
    EXPECT_EQ(run(w, 20, 4, fired), 4u);
    EXPECT_EQ(run(w, 20, 4, fired), 2u) << "less than the budget: nothing due is left";
    ASSERT_EQ(fired.size(), 10u);
    for (size_t i = 1; i < fired.size(); ++i) {
        EXPECT_LE(fired[i - 1].second, fired[i].second) << "tick order across calls";
    }
}

TEST(timer_wheel, a_long_jump_visits_one_round_and_fires_everything_due) {
    timer_wheel w(8, 16);
    (void)w.arm(5, 1);
    (void)w.arm(1'000'000, 2);
    (void)w.arm(2'000'000, 3);
    fired_list fired;
    run(w, 1'500'000, 100, fired);
    EXPECT_EQ(fired.size(), 2u);
    EXPECT_EQ(w.size(), 1u);
    run(w, 2'000'000, 100, fired);
    EXPECT_EQ(fired.size(), 3u);
}

TEST(timer_wheel, a_tick_already_passed_is_due_at_the_first_tick_not_looked_at) {
    timer_wheel w(8, 16);
    fired_list fired;
    run(w, 50, 100, fired);
    (void)w.arm(10, 7);
    run(w, 50, 100, fired);
    EXPECT_TRUE(fired.empty()) << "tick 50 was done";
    run(w, 51, 100, fired);
    EXPECT_EQ(fired, (fired_list{{7, 51}}));
}

TEST(timer_wheel, a_full_wheel_refuses_and_recovers) {
    timer_wheel w(2, 8);
    EXPECT_TRUE(w.arm(1, 1).valid());
    const timer_handle b = w.arm(2, 2);
    EXPECT_TRUE(b.valid());
    EXPECT_FALSE(w.arm(3, 3).valid());
    EXPECT_TRUE(w.cancel(b));
    EXPECT_TRUE(w.arm(3, 3).valid());
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(w.capacity(), 2u);
}

TEST(timer_wheel, a_callback_may_arm_again) {
    timer_wheel w(4, 8);
    (void)w.arm(1, 0);
    fired_list fired;
    for (uint64_t now = 1; now <= 10; ++now) {
        w.advance(now, 10, [&](uint64_t data, uint64_t at) {
            fired.emplace_back(data, at);
            (void)w.arm(at + 3, data + 1); // a periodic timer
        });
    }
    EXPECT_EQ(fired, (fired_list{{0, 1}, {1, 4}, {2, 7}, {3, 10}}));
}
