// The io lcore's source table (leases, expiry with a budget) and the token
// bucket behind its ERR rate limit. Time is always an argument here.
#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/token_bucket.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <vector>

static ringcast::endpoint ep(uint32_t ip, uint16_t port = 7000, uint16_t port_id = 0) {
    return ringcast::endpoint{.ip = ip, .port = port, .port_id = port_id};
}

static ringcast::lease_params params(uint32_t max_sources, uint64_t lease_ticks) {
    ringcast::lease_params p;
    p.max_sources = max_sources;
    p.lease_ticks = lease_ticks;
    return p;
}

// Runs expire with room for `room` lapsed endpoints; returns those written.
static std::vector<ringcast::endpoint> expire(ringcast::lease_table& t, uint64_t now, uint32_t budget,
                                              size_t room = 64) {
    std::vector<ringcast::endpoint> out(room);
    const size_t n = t.expire(now, budget, out);
    EXPECT_LE(n, room);
    out.resize(n);
    return out;
}

TEST(lease_table, touch_adds_a_source) {
    ringcast::lease_table t(params(8, 30));
    EXPECT_EQ(t.size(), 0u);
    ringcast::source_record* r = t.touch(ep(1), 100);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ep, ep(1));
    EXPECT_EQ(r->last_seen, 100u);
    EXPECT_FALSE(r->has_subs);
    EXPECT_EQ(t.size(), 1u);
}

TEST(lease_table, touch_refreshes_an_existing_source) {
    ringcast::lease_table t(params(8, 30));
    ringcast::source_record* r = t.touch(ep(1), 100);
    ASSERT_NE(r, nullptr);
    r->has_subs = true;
    ringcast::source_record* again = t.touch(ep(1), 120);
    EXPECT_EQ(again, r);
    EXPECT_EQ(again->last_seen, 120u);
    EXPECT_TRUE(again->has_subs);
    EXPECT_EQ(t.size(), 1u);
}

TEST(lease_table, tells_sources_apart_by_ip_port_and_port_id) {
    ringcast::lease_table t(params(8, 30));
    ringcast::source_record* a = t.touch(ep(1, 7000, 0), 0);
    ringcast::source_record* b = t.touch(ep(1, 7001, 0), 0);
    ringcast::source_record* c = t.touch(ep(1, 7000, 1), 0);
    ringcast::source_record* d = t.touch(ep(2, 7000, 0), 0);
    EXPECT_EQ(t.size(), 4u);
    const std::set<ringcast::source_record*> distinct = {a, b, c, d};
    EXPECT_EQ(distinct.size(), 4u);
}

TEST(lease_table, expire_removes_only_sources_unheard_for_a_lease) {
    ringcast::lease_table t(params(8, 30));
    t.touch(ep(1), 0)->has_subs = true;
    t.touch(ep(2), 10)->has_subs = true;
    t.touch(ep(3), 25)->has_subs = true;
    ASSERT_NE(t.touch(ep(1), 5), nullptr); // heard again

    EXPECT_TRUE(expire(t, 34, 8).empty()); // ep 1 unheard for 29 ticks
    EXPECT_EQ(t.size(), 3u);

    EXPECT_EQ(expire(t, 35, 8), std::vector<ringcast::endpoint>{ep(1)}); // 30 ticks: lapsed
    EXPECT_EQ(t.size(), 2u);

    EXPECT_EQ(expire(t, 40, 8), std::vector<ringcast::endpoint>{ep(2)});
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(expire(t, 54, 8).empty());
    EXPECT_EQ(expire(t, 55, 8), std::vector<ringcast::endpoint>{ep(3)});
    EXPECT_EQ(t.size(), 0u);
}

TEST(lease_table, a_touched_source_is_not_expired) {
    ringcast::lease_table t(params(4, 30));
    t.touch(ep(1), 0)->has_subs = true;
    for (uint64_t now = 20; now <= 200; now += 20) {
        ASSERT_NE(t.touch(ep(1), now), nullptr); // PING every 20 ticks
        EXPECT_TRUE(expire(t, now + 10, 4).empty()) << now;
    }
    EXPECT_EQ(t.size(), 1u);
}

TEST(lease_table, expire_reports_only_sources_with_subscriptions) {
    ringcast::lease_table t(params(8, 30));
    t.touch(ep(1), 0)->has_subs = true;
    ASSERT_NE(t.touch(ep(2), 0), nullptr); // published only
    t.touch(ep(3), 0)->has_subs = true;
    ASSERT_NE(t.touch(ep(4), 0), nullptr);
    const auto lapsed = expire(t, 100, 8);
    const std::set<uint32_t> ips = [&] {
        std::set<uint32_t> s;
        for (const auto& e : lapsed) {
            s.insert(e.ip);
        }
        return s;
    }();
    EXPECT_EQ(lapsed.size(), 2u);
    EXPECT_EQ(ips, (std::set<uint32_t>{1, 3}));
    EXPECT_EQ(t.size(), 0u); // all four are gone
}

TEST(lease_table, expire_respects_budget_and_resumes_where_it_stopped) {
    ringcast::lease_table t(params(8, 30));
    for (uint32_t ip = 0; ip < 8; ++ip) {
        t.touch(ep(ip), 0)->has_subs = true;
    }
    std::vector<ringcast::endpoint> all;
    auto step = [&](uint32_t budget, size_t want_n, uint32_t want_size) {
        const auto lapsed = expire(t, 100, budget);
        EXPECT_EQ(lapsed.size(), want_n);
        EXPECT_EQ(t.size(), want_size);
        all.insert(all.end(), lapsed.begin(), lapsed.end());
    };
    step(3, 3, 5);
    step(3, 3, 2);
    step(3, 2, 0); // two left, then the cursor wraps onto freed slots
    ASSERT_EQ(all.size(), 8u);
    std::set<uint32_t> ips;
    for (const auto& e : all) {
        ips.insert(e.ip);
    }
    EXPECT_EQ(ips.size(), 8u); // each reported exactly once
}

TEST(lease_table, expire_budget_zero_does_nothing) {
    ringcast::lease_table t(params(4, 30));
    t.touch(ep(1), 0)->has_subs = true;
    EXPECT_TRUE(expire(t, 100, 0).empty());
    EXPECT_EQ(t.size(), 1u);
}

TEST(lease_table, expire_cursor_wraps_around_the_table) {
    ringcast::lease_table t(params(8, 30));
    // Slots are handed out lowest first: ep(i) sits in slot i.
    for (uint32_t ip = 0; ip < 8; ++ip) {
        t.touch(ep(ip), 0)->has_subs = true;
    }
    // Nothing has lapsed yet, but the walk moves the cursor to slot 6.
    EXPECT_TRUE(expire(t, 10, 6).empty());
    EXPECT_EQ(t.size(), 8u);
    // Now everyone has lapsed: four steps visit slots 6, 7, 0, 1.
    EXPECT_EQ(expire(t, 40, 4), (std::vector<ringcast::endpoint>{ep(6), ep(7), ep(0), ep(1)}));
    EXPECT_EQ(t.size(), 4u);
    EXPECT_EQ(expire(t, 40, 4), (std::vector<ringcast::endpoint>{ep(2), ep(3), ep(4), ep(5)}));
    EXPECT_EQ(t.size(), 0u);
}

TEST(lease_table, expire_looks_at_each_entry_at_most_once_per_call) {
    ringcast::lease_table t(params(4, 30));
    for (uint32_t ip = 0; ip < 4; ++ip) {
        t.touch(ep(ip), 0)->has_subs = true;
    }
    const auto lapsed = expire(t, 100, 1000);
    EXPECT_EQ(lapsed.size(), 4u);
    std::set<uint32_t> ips;
    for (const auto& e : lapsed) {
        ips.insert(e.ip);
    }
    EXPECT_EQ(ips.size(), 4u);
    EXPECT_EQ(t.size(), 0u);
}

TEST(lease_table, expire_writes_no_more_than_the_lapsed_span_holds) {
    ringcast::lease_table t(params(8, 30));
    for (uint32_t ip = 0; ip < 5; ++ip) {
        t.touch(ep(ip), 0)->has_subs = true;
    }
    const ringcast::endpoint guard = ep(0xDEAD, 1, 1);
    std::vector<ringcast::endpoint> buf(5, guard);
    std::set<uint32_t> reported;
    auto take = [&](size_t room, size_t want_n, uint32_t want_size) {
        std::fill(buf.begin(), buf.end(), guard);
        const size_t n = t.expire(100, 8, std::span(buf).first(room));
        EXPECT_EQ(n, want_n);
        for (size_t i = 0; i < n; ++i) {
            reported.insert(buf[i].ip);
        }
        for (size_t i = room; i < buf.size(); ++i) {
            EXPECT_EQ(buf[i], guard) << "written past the span at " << i;
        }
        // The rest wait for the next call: they are not dropped unreported.
        EXPECT_EQ(t.size(), want_size);
    };
    take(2, 2, 3);
    take(2, 2, 1);
    take(2, 1, 0);
    EXPECT_EQ(reported, (std::set<uint32_t>{0, 1, 2, 3, 4}));
}

TEST(lease_table, forget_removes_the_source) {
    ringcast::lease_table t(params(4, 30));
    t.touch(ep(1), 0)->has_subs = true;
    t.touch(ep(2), 0)->has_subs = true;
    t.forget(ep(1));
    EXPECT_EQ(t.size(), 1u);
    t.forget(ep(1)); // twice: nothing more
    t.forget(ep(9)); // never seen
    EXPECT_EQ(t.size(), 1u);
    // A forgotten source comes back as new: no subscriptions.
    ringcast::source_record* r = t.touch(ep(1), 50);
    ASSERT_NE(r, nullptr);
    EXPECT_FALSE(r->has_subs);
    EXPECT_EQ(r->last_seen, 50u);
    // Only ep(2) lapses at 60 and is reported; the forgotten one is not.
    EXPECT_EQ(expire(t, 60, 4), std::vector<ringcast::endpoint>{ep(2)});
    EXPECT_EQ(t.size(), 1u);
}

TEST(lease_table, full_table_refuses_new_sources_then_accepts_after_expiry) {
    ringcast::lease_table t(params(4, 30));
    for (uint32_t ip = 0; ip < 4; ++ip) {
        ASSERT_NE(t.touch(ep(ip), static_cast<uint64_t>(ip)), nullptr);
    }
    EXPECT_EQ(t.touch(ep(100), 10), nullptr);
    EXPECT_EQ(t.size(), 4u);
    // Known sources are still refreshed when full.
    ASSERT_NE(t.touch(ep(3), 20), nullptr);
    EXPECT_EQ(t.touch(ep(100), 20), nullptr);

    // At 31, ep(0) (seen at 0) and ep(1) (seen at 1) have lapsed; ep(2) and ep(3) have not.
    EXPECT_TRUE(expire(t, 31, 4).empty()); // none had subscriptions
    EXPECT_EQ(t.size(), 2u);
    ringcast::source_record* r = t.touch(ep(100), 31);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ep, ep(100));
    EXPECT_FALSE(r->has_subs);
    ASSERT_NE(t.touch(ep(101), 31), nullptr);
    EXPECT_EQ(t.touch(ep(102), 31), nullptr);
    EXPECT_EQ(t.size(), 4u);
}

TEST(lease_table, full_table_accepts_after_forget) {
    ringcast::lease_table t(params(2, 30));
    ASSERT_NE(t.touch(ep(1), 0), nullptr);
    ASSERT_NE(t.touch(ep(2), 0), nullptr);
    EXPECT_EQ(t.touch(ep(3), 0), nullptr);
    t.forget(ep(1));
    EXPECT_NE(t.touch(ep(3), 0), nullptr);
    EXPECT_EQ(t.size(), 2u);
}

TEST(lease_table, new_source_gets_an_err_bucket_from_the_params) {
    ringcast::lease_params p = params(4, 30);
    p.hz = 1000;
    p.err_per_s = 2;
    ringcast::lease_table t(p);
    ringcast::source_record* r = t.touch(ep(1), 0);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->err_bucket.allow(0));
    EXPECT_TRUE(r->err_bucket.allow(0));
    EXPECT_FALSE(r->err_bucket.allow(0));
    EXPECT_TRUE(r->err_bucket.allow(500)); // one token per 500 ticks
    EXPECT_FALSE(r->err_bucket.allow(500));
}

TEST(token_bucket, allows_a_burst_then_refuses) {
    ringcast::token_bucket b(10, 5, 1000, 0); // 10 per 1000 ticks, burst 5
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(b.allow(0)) << i;
    }
    EXPECT_FALSE(b.allow(0));
    EXPECT_FALSE(b.allow(99));
}

TEST(token_bucket, refills_with_time) {
    ringcast::token_bucket b(10, 5, 1000, 0); // a token per 100 ticks
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(b.allow(0));
    }
    EXPECT_FALSE(b.allow(99));
    EXPECT_TRUE(b.allow(100));
    EXPECT_FALSE(b.allow(100));
    // 250 ticks later: two tokens, and half a token carried over.
    EXPECT_TRUE(b.allow(350));
    EXPECT_TRUE(b.allow(350));
    EXPECT_FALSE(b.allow(350));
    EXPECT_TRUE(b.allow(400));
}

TEST(token_bucket, refill_is_capped_at_the_burst) {
    ringcast::token_bucket b(10, 5, 1000, 0);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(b.allow(0));
    }
    int allowed = 0;
    for (int i = 0; i < 20; ++i) {
        allowed += b.allow(1'000'000) ? 1 : 0;
    }
    EXPECT_EQ(allowed, 5);
}

TEST(token_bucket, sustains_its_rate_over_a_long_run) {
    ringcast::token_bucket b(100, 100, 1'000'000, 0); // 100 per second at 1 MHz
    int allowed = 0;
    for (uint64_t now = 0; now < 10'000'000; now += 1000) { // ask 1000 times a second for 10 s
        allowed += b.allow(now) ? 1 : 0;
    }
    // The burst, then 100 a second.
    EXPECT_GE(allowed, 100 + 990);
    EXPECT_LE(allowed, 100 + 1000);
}

TEST(token_bucket, rate_zero_never_allows) {
    ringcast::token_bucket b(0, 5, 1000, 0);
    for (uint64_t now : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1'000'000'000}}) {
        EXPECT_FALSE(b.allow(now)) << now;
    }
    ringcast::token_bucket unset;
    EXPECT_FALSE(unset.allow(0));
    EXPECT_FALSE(unset.allow(1'000'000));
}

TEST(token_bucket, time_going_backwards_adds_no_credit) {
    ringcast::token_bucket b(10, 2, 1000, 1000);
    ASSERT_TRUE(b.allow(1000));
    ASSERT_TRUE(b.allow(1000));
    EXPECT_FALSE(b.allow(1000));
    EXPECT_FALSE(b.allow(500));  // back in time
    EXPECT_FALSE(b.allow(1000)); // and forward to where it was: still nothing earned
    EXPECT_FALSE(b.allow(0));
    EXPECT_FALSE(b.allow(1099));
    EXPECT_TRUE(b.allow(1100)); // only real progress past 1000 refills
    EXPECT_FALSE(b.allow(1100));
}

TEST(token_bucket, refills_rate_tokens_per_hz_ticks_when_rate_exceeds_hz) {
    // "rate tokens per hz ticks": 100 tokens per tick, burst 100. This is
    // also what lease_params' defaults (hz 1, err_per_s 100) build.
    ringcast::token_bucket b(100, 100, 1, 0);
    int allowed = 0;
    for (int i = 0; i < 200; ++i) {
        allowed += b.allow(0) ? 1 : 0;
    }
    ASSERT_EQ(allowed, 100);
    allowed = 0;
    for (int i = 0; i < 200; ++i) {
        allowed += b.allow(1) ? 1 : 0;
    }
    EXPECT_EQ(allowed, 100) << "one tick later the bucket should be full again";
}
