// The load generator's accounting: histogram, pacer, stream tracker, stamps,
// size mix and the results it writes. Time is simulated throughout.
#include <ringcast/client/json.hpp>
#include <ringcast/client/loadgen.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using ringcast::latency_histogram;
using ringcast::pacer;
using ringcast::run_result;
using ringcast::size_picker;
using ringcast::stream_tracker;

namespace {

constexpr double rel_error = 1.0 / (1u << latency_histogram::sub_bits);

// The ceil(q * n)-th smallest, as percentile() defines it.
uint64_t true_percentile(const std::vector<uint64_t>& sorted, double q) {
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::max<size_t>(rank, 1) - 1];
}

stream_tracker track(std::initializer_list<uint64_t> seqs) {
    stream_tracker t;
    for (const uint64_t s : seqs) {
        t.on_seq(s);
    }
    return t;
}

} // namespace

TEST(latency_histogram, is_exact_below_two_to_the_sub_bits) {
    for (uint64_t v = 0; v < (1u << latency_histogram::sub_bits); ++v) {
        const size_t b = latency_histogram::bucket_of(v);
        EXPECT_EQ(latency_histogram::bucket_low(b), v);
        EXPECT_EQ(latency_histogram::bucket_high(b), v);
    }
    latency_histogram h;
    for (const uint64_t v : {3u, 7u, 7u, 100u, 127u}) {
        h.record(v);
    }
    EXPECT_EQ(h.percentile(0.2), 3u);
    EXPECT_EQ(h.percentile(0.5), 7u);
    EXPECT_EQ(h.percentile(0.8), 100u);
    EXPECT_EQ(h.percentile(1.0), 127u);
    EXPECT_EQ(h.min(), 3u);
    EXPECT_EQ(h.max(), 127u);
    EXPECT_DOUBLE_EQ(h.mean(), (3 + 7 + 7 + 100 + 127) / 5.0);
}

TEST(latency_histogram, buckets_tile_the_range_within_the_relative_error) {
    // Every bucket starts where the previous one ended, and is no wider than
    // 2^-sub_bits of its low edge.
    for (size_t b = 1; b < latency_histogram::bucket_count; ++b) {
        EXPECT_EQ(latency_histogram::bucket_low(b), latency_histogram::bucket_high(b - 1) + 1) << b;
        const uint64_t low = latency_histogram::bucket_low(b);
        const uint64_t high = latency_histogram::bucket_high(b);
        EXPECT_LE(static_cast<double>(high - low), static_cast<double>(low) * rel_error) << b;
        EXPECT_EQ(latency_histogram::bucket_of(low), b);
        EXPECT_EQ(latency_histogram::bucket_of(high), b);
    }
    EXPECT_EQ(latency_histogram::bucket_of(latency_histogram::max_value),
              latency_histogram::bucket_count - 1);
    EXPECT_EQ(latency_histogram::bucket_high(latency_histogram::bucket_count - 1),
              latency_histogram::max_value);
}

TEST(latency_histogram, percentiles_are_within_the_relative_error_of_sorted_values) {
    std::mt19937_64 rng(42);
    // Log-uniform from 1 ns to ~10 ms, so every decade has samples.
    std::uniform_real_distribution<double> exponent(0.0, 7.0);
    latency_histogram h;
    std::vector<uint64_t> values;
    for (int i = 0; i < 100000; ++i) {
        const auto v = static_cast<uint64_t>(std::pow(10.0, exponent(rng)));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (const double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
        const uint64_t want = true_percentile(values, q);
        const uint64_t got = h.percentile(q);
        EXPECT_GE(got, want) << q;
        EXPECT_LE(static_cast<double>(got - want), static_cast<double>(want) * rel_error) << q;
    }
    EXPECT_EQ(h.percentile(1.0), values.back());
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.count(), values.size());
}

TEST(latency_histogram, percentile_is_never_below_the_true_value) {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<uint64_t> dist(0, 5'000'000);
    for (int round = 0; round < 20; ++round) {
        latency_histogram h;
        std::vector<uint64_t> values;
        for (int i = 0; i < 1000; ++i) {
            const uint64_t v = dist(rng);
            values.push_back(v);
            h.record(v);
        }
        std::sort(values.begin(), values.end());
        for (double q = 0.01; q < 1.0; q += 0.01) {
            EXPECT_GE(h.percentile(q), true_percentile(values, q)) << q;
            EXPECT_LE(h.percentile(q), h.max()) << q;
        }
    }
}

TEST(latency_histogram, clamps_values_above_max_and_counts_overflow) {
    latency_histogram h;
    h.record(10);
    h.record(latency_histogram::max_value);     // the limit itself is not an overflow
    h.record(latency_histogram::max_value + 1); // these are
    h.record(UINT64_MAX);
    EXPECT_EQ(h.count(), 4u);
    EXPECT_EQ(h.overflow(), 2u);
    EXPECT_EQ(h.max(), latency_histogram::max_value);
    EXPECT_EQ(h.percentile(1.0), latency_histogram::max_value);
    EXPECT_EQ(h.percentile(0.5), latency_histogram::max_value);
    EXPECT_EQ(h.percentile(0.25), 10u);
}

TEST(latency_histogram, merge_equals_recording_both) {
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<uint64_t> dist(0, 1'000'000);
    latency_histogram a;
    latency_histogram b;
    latency_histogram both;
    for (int i = 0; i < 5000; ++i) {
        const uint64_t v = dist(rng);
        (i % 3 == 0 ? a : b).record(v);
        both.record(v);
    }
    b.record(latency_histogram::max_value * 2);
    both.record(latency_histogram::max_value * 2);
    a.merge(b);
    EXPECT_EQ(a.count(), both.count());
    EXPECT_EQ(a.min(), both.min());
    EXPECT_EQ(a.max(), both.max());
    EXPECT_EQ(a.overflow(), both.overflow());
    EXPECT_DOUBLE_EQ(a.mean(), both.mean());
    for (const double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
        EXPECT_EQ(a.percentile(q), both.percentile(q)) << q;
    }
}

TEST(latency_histogram, merging_an_empty_one_changes_nothing) {
    latency_histogram a;
    a.record(500);
    a.merge(latency_histogram{});
    EXPECT_EQ(a.count(), 1u);
    EXPECT_EQ(a.min(), 500u);
    EXPECT_EQ(a.max(), 500u);
}

TEST(latency_histogram, empty_reports_zeros) {
    latency_histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.overflow(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
    EXPECT_EQ(h.percentile(0.5), 0u);
    EXPECT_EQ(h.percentile(1.0), 0u);
    h.record(9);
    h.reset();
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(0.5), 0u);
}

TEST(pacer, releases_the_rate_over_simulated_time) {
    constexpr uint64_t hz = 1'000'000; // 1 tick = 1 us
    constexpr uint64_t start = 5'000;
    pacer p(1000, hz, start, 32); // one message per 1000 ticks
    EXPECT_EQ(p.due(start), 0u);
    EXPECT_EQ(p.due(start + 999), 0u);
    EXPECT_EQ(p.due(start + 1000), 1u);
    EXPECT_EQ(p.due(start + 1000), 1u); // asking again takes nothing
    p.take(1);
    EXPECT_EQ(p.due(start + 1999), 0u);
    // A sender polling every 7 ticks for 10 simulated seconds.
    for (uint64_t now = start + 2000; now <= start + 10 * hz; now += 7) {
        p.take(p.due(now));
    }
    EXPECT_EQ(p.sent(), 9999u); // the last poll is 5 ticks short of 10 s
    EXPECT_EQ(p.skipped(), 0u);
    EXPECT_EQ(p.due(start + 10 * hz), 1u);
}

TEST(pacer, caps_bursts_and_counts_skipped) {
    pacer p(1'000'000, 1'000'000, 0, 32); // one message per tick
    EXPECT_EQ(p.due(10), 10u);
    p.take(10);
    // Stalled for 1000 ticks: 990 slots owed, 32 go now, the rest are given up.
    EXPECT_EQ(p.due(1000), 32u);
    EXPECT_EQ(p.skipped(), 958u);
    EXPECT_EQ(p.due(1000), 32u); // asking again skips no more
    EXPECT_EQ(p.skipped(), 958u);
    p.take(32);
    EXPECT_EQ(p.due(1000), 0u);
    // After the stall the schedule runs at the rate again.
    EXPECT_EQ(p.due(1005), 5u);
    p.take(5);
    EXPECT_EQ(p.sent() + p.skipped(), 1005u);
}

TEST(pacer, takes_less_than_due_and_keeps_the_rest) {
    pacer p(100, 100, 0, 64);
    EXPECT_EQ(p.due(50), 50u);
    p.take(20);
    EXPECT_EQ(p.due(50), 30u);
    EXPECT_EQ(p.due(60), 40u);
}

TEST(pacer, rate_zero_releases_max_burst) {
    pacer p(0, 1'000'000, 100, 16);
    EXPECT_EQ(p.due(0), 16u);
    EXPECT_EQ(p.due(100), 16u);
    p.take(16);
    EXPECT_EQ(p.due(101), 16u);
    EXPECT_EQ(p.skipped(), 0u);
}

TEST(pacer, does_not_overflow_at_3ghz_and_1g_per_second_after_an_hour) {
    constexpr uint64_t hz = 3'000'000'000;
    constexpr uint64_t rate = 1'000'000'000;
    constexpr uint64_t hour = 3600 * hz; // (now - start) * rate ~ 1.1e22 > 2^64
    constexpr uint64_t start = 123'456'789;
    pacer p(rate, hz, start, 32);
    // Kept up until the last 96 ticks (32 messages) of the hour.
    const uint64_t kept_until = start + hour - 96;
    EXPECT_EQ(p.due(kept_until), 32u);
    EXPECT_EQ(p.skipped(), 3600 * rate - 32 - 32);
    p.take(32);
    EXPECT_EQ(p.due(start + hour), 32u);
    p.take(32);
    EXPECT_EQ(p.sent() + p.skipped(), 3600 * rate);
    EXPECT_EQ(p.due(start + hour + 2), 0u);
    EXPECT_EQ(p.due(start + hour + 3), 1u);
}

TEST(stream_tracker, counts_in_order_seqs) {
    const stream_tracker t = track({1, 2, 3, 4, 5});
    EXPECT_EQ(t.received(), 5u);
    EXPECT_EQ(t.lost(), 0u);
    EXPECT_EQ(t.reordered(), 0u);
    EXPECT_EQ(t.duplicates(), 0u);
    EXPECT_EQ(t.next_expected(), 6u);
}

TEST(stream_tracker, starts_from_a_first_seq_other_than_one) {
    const stream_tracker t = track({1000, 1001, 1002});
    EXPECT_EQ(t.received(), 3u);
    EXPECT_EQ(t.lost(), 0u);
    EXPECT_EQ(t.next_expected(), 1003u);
}

TEST(stream_tracker, nothing_seen_expects_nothing) {
    const stream_tracker t;
    EXPECT_EQ(t.next_expected(), 0u);
    EXPECT_EQ(t.received(), 0u);
}

TEST(stream_tracker, counts_a_gap_as_lost) {
    const stream_tracker t = track({1, 2, 6, 7});
    EXPECT_EQ(t.received(), 4u);
    EXPECT_EQ(t.lost(), 3u);
    EXPECT_EQ(t.reordered(), 0u);
    EXPECT_EQ(t.next_expected(), 8u);
}

TEST(stream_tracker, late_arrival_closes_the_gap) {
    stream_tracker t = track({1, 2, 6, 7});
    t.on_seq(4);
    EXPECT_EQ(t.lost(), 2u);
    EXPECT_EQ(t.reordered(), 1u);
    t.on_seq(3);
    t.on_seq(5);
    EXPECT_EQ(t.lost(), 0u);
    EXPECT_EQ(t.reordered(), 3u);
    EXPECT_EQ(t.received(), 7u);
    EXPECT_EQ(t.duplicates(), 0u);
    EXPECT_EQ(t.next_expected(), 8u);
}

TEST(stream_tracker, seq_seen_again_is_a_duplicate) {
    stream_tracker t = track({1, 2, 3});
    t.on_seq(2);
    t.on_seq(3);
    EXPECT_EQ(t.duplicates(), 2u);
    EXPECT_EQ(t.received(), 3u);
    // A late arrival that comes twice counts once as reordered.
    t = track({1, 3});
    t.on_seq(2);
    t.on_seq(2);
    EXPECT_EQ(t.reordered(), 1u);
    EXPECT_EQ(t.duplicates(), 1u);
    EXPECT_EQ(t.lost(), 0u);
}

TEST(stream_tracker, seq_below_the_first_one_is_a_duplicate) {
    stream_tracker t = track({100, 101});
    t.on_seq(99);
    EXPECT_EQ(t.duplicates(), 1u);
    EXPECT_EQ(t.lost(), 0u);
}

TEST(stream_tracker, late_arrival_below_the_window_stays_lost) {
    stream_tracker t = track({1, 3});
    t.on_seq(3 + 5000);
    EXPECT_EQ(t.lost(), 1u + 4999u);
    t.on_seq(2); // long gone from the window: cannot be told from a duplicate
    EXPECT_EQ(t.duplicates(), 1u);
    EXPECT_EQ(t.lost(), 5000u);
    t.on_seq(5000); // within the last 1024: a late arrival
    EXPECT_EQ(t.reordered(), 1u);
    EXPECT_EQ(t.lost(), 4999u);
}

TEST(stream_tracker, gap_as_wide_as_the_window_is_tracked_to_its_edge) {
    stream_tracker t = track({1});
    t.on_seq(2000); // 1998 missing: 2..1999; the window is the 1024 below 2001
    EXPECT_EQ(t.lost(), 1998u);
    t.on_seq(977);
    EXPECT_EQ(t.reordered(), 1u);
    t.on_seq(976);
    EXPECT_EQ(t.duplicates(), 1u);
    t.on_seq(1999);
    EXPECT_EQ(t.reordered(), 2u);
    EXPECT_EQ(t.lost(), 1996u);
}

TEST(stream_tracker, received_plus_lost_is_the_span_seen) {
    std::mt19937_64 rng(11);
    stream_tracker t;
    // In order with 10 % dropped, and a few of the dropped ones arriving later.
    std::vector<uint64_t> dropped;
    for (uint64_t s = 1; s <= 20000; ++s) {
        if (rng() % 10 == 0 && s > 1) {
            dropped.push_back(s);
            continue;
        }
        t.on_seq(s);
        // Only recent drops come back, so none falls below the window.
        if (!dropped.empty() && s - dropped.back() < 1000 && rng() % 4 == 0) {
            t.on_seq(dropped.back());
            dropped.pop_back();
        }
    }
    EXPECT_EQ(t.received() + t.lost(), t.next_expected() - 1);
    EXPECT_EQ(t.duplicates(), 0u);
    EXPECT_GT(t.reordered(), 0u);
    EXPECT_GT(t.lost(), 0u);
}

TEST(payload_stamp, round_trips_at_an_odd_offset) {
    std::array<std::byte, 64> buf{};
    const ringcast::payload_stamp s{
        .tsc = 0x0123456789ABCDEFULL, .seq = 0xFEDCBA9876543210ULL, .topic = 0xA1B2C3D4};
    const auto payload = std::span{buf}.subspan(3, ringcast::payload_stamp_size);
    ringcast::write_stamp(payload, s);
    EXPECT_EQ(buf[3], std::byte{0x01}); // big-endian
    EXPECT_EQ(buf[3 + 19], std::byte{0xD4});
    EXPECT_EQ(buf[2], std::byte{0});
    EXPECT_EQ(buf[3 + 20], std::byte{0});
    const ringcast::payload_stamp r = ringcast::read_stamp(payload);
    EXPECT_EQ(r.tsc, s.tsc);
    EXPECT_EQ(r.seq, s.seq);
    EXPECT_EQ(r.topic, s.topic);
}

TEST(size_picker, fixed_returns_the_size_and_never_below_the_stamp) {
    size_picker p(300);
    EXPECT_EQ(p.next(), 300u);
    EXPECT_EQ(p.next(), 300u);
    size_picker tiny(4);
    EXPECT_EQ(tiny.next(), ringcast::payload_stamp_size);
}

TEST(size_picker, mix_follows_the_proportions) {
    size_picker p = size_picker::mix(1400);
    constexpr int draws = 100000;
    // Per band: how many, and the smallest and largest drawn.
    struct band {
        uint32_t lo;
        uint32_t hi;
        double share;
        int n = 0;
        uint32_t min = UINT32_MAX;
        uint32_t max = 0;
    };
    std::array<band, 3> bands = {band{64, 512, 0.70}, band{513, 1024, 0.20}, band{1025, 1400, 0.10}};
    for (int i = 0; i < draws; ++i) {
        const uint32_t s = p.next();
        ASSERT_GE(s, 64u);
        ASSERT_LE(s, 1400u);
        band& b = s <= 512 ? bands[0] : s <= 1024 ? bands[1] : bands[2];
        ++b.n;
        b.min = std::min(b.min, s);
        b.max = std::max(b.max, s);
    }
    for (const band& b : bands) {
        EXPECT_NEAR(b.n / double(draws), b.share, 0.02) << b.lo;
        EXPECT_EQ(b.min, b.lo);
        EXPECT_EQ(b.max, b.hi);
    }
}

TEST(size_picker, mix_repeats_for_a_seed) {
    size_picker a = size_picker::mix(1400, 9);
    size_picker b = size_picker::mix(1400, 9);
    size_picker c = size_picker::mix(1400, 10);
    bool differs = false;
    for (int i = 0; i < 100; ++i) {
        const uint32_t x = a.next();
        EXPECT_EQ(x, b.next());
        differs = differs || x != c.next();
    }
    EXPECT_TRUE(differs);
}

TEST(size_picker, mix_below_its_bands_stays_within_max_and_the_stamp) {
    size_picker p = size_picker::mix(300);
    size_picker q = size_picker::mix(8);
    for (int i = 0; i < 10000; ++i) {
        const uint32_t s = p.next();
        EXPECT_GE(s, 64u);
        EXPECT_LE(s, 300u);
        EXPECT_EQ(q.next(), ringcast::payload_stamp_size);
    }
}

TEST(run_result, set_latency_converts_nanoseconds_to_microseconds) {
    latency_histogram h;
    for (uint64_t v = 1; v <= 100; ++v) {
        h.record(v * 10); // 10 .. 1000 ns
    }
    run_result r;
    ringcast::set_latency(r, h);
    EXPECT_DOUBLE_EQ(r.p50_us, h.percentile(0.5) / 1000.0);
    EXPECT_DOUBLE_EQ(r.p90_us, h.percentile(0.9) / 1000.0);
    EXPECT_DOUBLE_EQ(r.p99_us, h.percentile(0.99) / 1000.0);
    EXPECT_DOUBLE_EQ(r.p999_us, h.percentile(0.999) / 1000.0);
    EXPECT_DOUBLE_EQ(r.max_us, 1.0);
    EXPECT_GE(r.p50_us, 0.5);
    EXPECT_LE(r.p50_us, 0.5 * (1 + rel_error));
}

TEST(run_result, to_json_writes_every_field) {
    run_result r;
    r.scenario = "fanout \"1:64\"\\n";
    r.vdev = "net_af_xdp0,iface=veth0";
    r.machine = "tab\there\x01";
    r.payload_bytes = 256;
    r.topics = 10;
    r.subscribers = 64;
    r.duration_s = 30.5;
    r.published = 18'446'744'073'709'551'615ULL;
    r.delivered = 123456789012;
    r.lost = 3;
    r.reordered = 2;
    r.duplicates = 1;
    r.pub_msgs_per_s = 1234567.891;
    r.delivered_msgs_per_s = 0.1;
    r.p50_us = 4.2;
    r.p90_us = 5.5;
    r.p99_us = 12.25;
    r.p999_us = 40.125;
    r.max_us = 1e-3;
    r.cpu_cores = 3;
    r.rx_datagrams = 99;
    r.frames_per_datagram = 7.5;
    r.rx_missed = 12;
    r.latency = "every message";
    const std::string text = ringcast::to_json(r);
    EXPECT_EQ(text.find('\n'), std::string::npos);
    const ringcast::json_value j = ringcast::parse_json(text);
    ASSERT_TRUE(j.is_object());
    const std::vector<std::string> keys = {
        "system",   "scenario",    "vdev",       "machine",        "payload_bytes",
        "topics",   "subscribers", "duration_s", "published",      "delivered",
        "lost",     "reordered",   "duplicates", "pub_msgs_per_s", "delivered_msgs_per_s",
        "p50_us",   "p90_us",      "p99_us",     "p999_us",        "max_us",
        "cpu_cores", "rx_datagrams", "frames_per_datagram", "rx_missed", "latency"};
    ASSERT_EQ(j.size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(j.key(i), keys[i]);
    }
    EXPECT_EQ(j["system"].as_string(), "ringcast");
    EXPECT_EQ(j["scenario"].as_string(), r.scenario);
    EXPECT_EQ(j["vdev"].as_string(), r.vdev);
    EXPECT_EQ(j["machine"].as_string(), r.machine);
    EXPECT_EQ(j["payload_bytes"].as_u64(), 256u);
    EXPECT_EQ(j["topics"].as_u64(), 10u);
    EXPECT_EQ(j["subscribers"].as_u64(), 64u);
    EXPECT_EQ(j["duration_s"].as_double(), 30.5);
    EXPECT_EQ(j["published"].as_u64(), r.published);
    EXPECT_EQ(j["delivered"].as_u64(), r.delivered);
    EXPECT_EQ(j["lost"].as_u64(), 3u);
    EXPECT_EQ(j["reordered"].as_u64(), 2u);
    EXPECT_EQ(j["duplicates"].as_u64(), 1u);
    // Doubles read back exactly: the writer keeps every digit that matters.
    EXPECT_EQ(j["pub_msgs_per_s"].as_double(), r.pub_msgs_per_s);
    EXPECT_EQ(j["delivered_msgs_per_s"].as_double(), r.delivered_msgs_per_s);
    EXPECT_EQ(j["p50_us"].as_double(), r.p50_us);
    EXPECT_EQ(j["p90_us"].as_double(), r.p90_us);
    EXPECT_EQ(j["p99_us"].as_double(), r.p99_us);
    EXPECT_EQ(j["p999_us"].as_double(), r.p999_us);
    EXPECT_EQ(j["max_us"].as_double(), r.max_us);
    EXPECT_EQ(j["cpu_cores"].as_double(), 3.0);
    EXPECT_EQ(j["rx_datagrams"].as_u64(), 99u);
    EXPECT_EQ(j["frames_per_datagram"].as_double(), 7.5);
    EXPECT_EQ(j["rx_missed"].as_u64(), 12u);
    EXPECT_EQ(j["latency"].as_string(), "every message");
}

TEST(run_result, to_json_of_defaults_matches_the_expected_text) {
    run_result r;
    r.scenario = "a\"b";
    EXPECT_EQ(ringcast::to_json(r),
              R"({"system":"ringcast","scenario":"a\"b","vdev":"","machine":"","payload_bytes":0,)"
              R"("topics":0,"subscribers":0,"duration_s":0,"published":0,"delivered":0,"lost":0,)"
              R"("reordered":0,"duplicates":0,"pub_msgs_per_s":0,"delivered_msgs_per_s":0,"p50_us":0,)"
              R"("p90_us":0,"p99_us":0,"p999_us":0,"max_us":0,"cpu_cores":0,"rx_datagrams":0,)"
              R"("frames_per_datagram":0,"rx_missed":0,"latency":"every message"})");
}

TEST(run_result, to_json_writes_non_finite_numbers_as_null) {
    run_result r;
    r.p50_us = std::nan("");
    r.max_us = INFINITY;
    const ringcast::json_value j = ringcast::parse_json(ringcast::to_json(r));
    EXPECT_TRUE(j["p50_us"].is_null());
    EXPECT_TRUE(j["max_us"].is_null());
}

