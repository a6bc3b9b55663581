// The QoS 2 dedup window: its edges in ticks, which fields make a key, early
// eviction when full, and expiry making room. Time is an argument here.
#include <ringcast/core/dedup_window.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <tuple>

using ringcast::dedup_key;
using ringcast::dedup_window;

static dedup_key key(uint64_t pub_seq, uint64_t topic_hash = 0xabcdef, uint32_t ip = 0x0a000001,
                     uint16_t port = 7000, uint16_t port_id = 0) {
    return dedup_key{
        .source = ringcast::endpoint{.ip = ip, .port = port, .port_id = port_id},
        .pub_seq = pub_seq,
        .topic_hash = topic_hash,
    };
}

TEST(dedup_window, finds_nothing_when_empty) {
    dedup_window w(8, 100);
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.find(key(1), 0), 0u);
    EXPECT_EQ(w.find(key(1), 1000), 0u);
}

TEST(dedup_window, is_a_duplicate_until_the_window_is_over) {
    dedup_window w(8, 100);
    EXPECT_FALSE(w.record(key(1), 7, 1000));
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.find(key(1), 1000), 7u); // the same tick
    EXPECT_EQ(w.find(key(1), 1050), 7u);
    EXPECT_EQ(w.find(key(1), 1099), 7u); // t + window - 1: still a duplicate
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.find(key(1), 1100), 0u); // t + window: gone
    EXPECT_EQ(w.size(), 0u);
}

TEST(dedup_window, expires_each_entry_at_its_own_time) {
    dedup_window w(8, 100);
    w.record(key(1), 11, 0);
    w.record(key(2), 12, 30);
    w.record(key(3), 13, 60);
    EXPECT_EQ(w.find(key(1), 99), 11u);
    EXPECT_EQ(w.find(key(2), 100), 12u);
    EXPECT_EQ(w.find(key(1), 100), 0u);
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(w.find(key(3), 129), 13u);
    EXPECT_EQ(w.find(key(2), 130), 0u);
    EXPECT_EQ(w.find(key(3), 159), 13u);
    EXPECT_EQ(w.find(key(3), 160), 0u);
    EXPECT_EQ(w.size(), 0u);
}

TEST(dedup_window, every_field_of_the_key_counts) {
    dedup_window w(16, 100);
    w.record(key(5, 0x1111, 0x0a000001, 7000, 0), 42, 0);
    EXPECT_EQ(w.find(key(5, 0x1111, 0x0a000001, 7000, 0), 10), 42u);
    EXPECT_EQ(w.find(key(6, 0x1111, 0x0a000001, 7000, 0), 10), 0u); // publisher seq
    EXPECT_EQ(w.find(key(4, 0x1111, 0x0a000001, 7000, 0), 10), 0u);
    EXPECT_EQ(w.find(key(5, 0x1112, 0x0a000001, 7000, 0), 10), 0u); // topic hash
    EXPECT_EQ(w.find(key(5, 0x1111, 0x0a000002, 7000, 0), 10), 0u); // source address
    EXPECT_EQ(w.find(key(5, 0x1111, 0x0a000001, 7001, 0), 10), 0u); // source port
    EXPECT_EQ(w.find(key(5, 0x1111, 0x0a000001, 7000, 1), 10), 0u); // port it came in on
}

TEST(dedup_window, keys_differing_in_one_field_are_kept_apart) {
    dedup_window w(16, 100);
    w.record(key(5, 0x1111, 1, 7000, 0), 1, 0);
    w.record(key(6, 0x1111, 1, 7000, 0), 2, 0);
    w.record(key(5, 0x1112, 1, 7000, 0), 3, 0);
    w.record(key(5, 0x1111, 2, 7000, 0), 4, 0);
    w.record(key(5, 0x1111, 1, 7001, 0), 5, 0);
    w.record(key(5, 0x1111, 1, 7000, 1), 6, 0);
    EXPECT_EQ(w.size(), 6u);
    EXPECT_EQ(w.find(key(5, 0x1111, 1, 7000, 0), 1), 1u);
    EXPECT_EQ(w.find(key(6, 0x1111, 1, 7000, 0), 1), 2u);
    EXPECT_EQ(w.find(key(5, 0x1112, 1, 7000, 0), 1), 3u);
    EXPECT_EQ(w.find(key(5, 0x1111, 2, 7000, 0), 1), 4u);
    EXPECT_EQ(w.find(key(5, 0x1111, 1, 7001, 0), 1), 5u);
    EXPECT_EQ(w.find(key(5, 0x1111, 1, 7000, 1), 1), 6u);
}

TEST(dedup_window, full_table_evicts_the_oldest_and_reports_it_when_still_inside) {
    dedup_window w(4, 100);
    EXPECT_FALSE(w.record(key(1), 1, 0));
    EXPECT_FALSE(w.record(key(2), 2, 10));
    EXPECT_FALSE(w.record(key(3), 3, 20));
    EXPECT_FALSE(w.record(key(4), 4, 30));
    EXPECT_EQ(w.size(), 4u);

    EXPECT_TRUE(w.record(key(5), 5, 50)); // key 1 had 50 ticks left
    EXPECT_EQ(w.size(), 4u);
    EXPECT_EQ(w.find(key(1), 50), 0u);
    EXPECT_EQ(w.find(key(2), 50), 2u);
    EXPECT_EQ(w.find(key(5), 50), 5u);

    // At 110 key 2 (recorded at 10) is over: the full table has room without an early eviction.
    EXPECT_FALSE(w.record(key(6), 6, 110));
    EXPECT_EQ(w.size(), 4u);
    EXPECT_EQ(w.find(key(2), 110), 0u);
    EXPECT_EQ(w.find(key(3), 110), 3u);

    // At 119 key 3 (recorded at 20) has one tick left: evicting it is early.
    EXPECT_TRUE(w.record(key(7), 7, 119));
    EXPECT_EQ(w.find(key(3), 119), 0u);
    EXPECT_EQ(w.find(key(4), 119), 4u);
    EXPECT_EQ(w.find(key(5), 119), 5u);
    EXPECT_EQ(w.find(key(6), 119), 6u);
    EXPECT_EQ(w.find(key(7), 119), 7u);
}

TEST(dedup_window, expiry_frees_room_for_a_whole_new_table) {
    constexpr uint32_t cap = 32;
    dedup_window w(cap, 100);
    for (uint32_t i = 0; i < cap; ++i) {
        EXPECT_FALSE(w.record(key(i), 1000 + i, i));
    }
    EXPECT_EQ(w.size(), cap);
    // At 131 the last of them (recorded at 31) is 100 ticks old: all are over.
    for (uint32_t i = 0; i < cap; ++i) {
        EXPECT_FALSE(w.record(key(cap + i), 2000 + i, 131)) << i;
    }
    EXPECT_EQ(w.size(), cap);
    for (uint32_t i = 0; i < cap; ++i) {
        EXPECT_EQ(w.find(key(i), 131), 0u);
        EXPECT_EQ(w.find(key(cap + i), 131), 2000u + i);
    }
}

TEST(dedup_window, size_counts_what_is_inside_the_window) {
    dedup_window w(3, 10);
    EXPECT_EQ(w.size(), 0u);
    w.record(key(1), 1, 0);
    EXPECT_EQ(w.size(), 1u);
    w.record(key(2), 2, 5);
    w.record(key(3), 3, 5);
    EXPECT_EQ(w.size(), 3u);
    w.record(key(4), 4, 6); // full: one goes early
    EXPECT_EQ(w.size(), 3u);
    EXPECT_EQ(w.find(key(9), 15), 0u); // keys 2 and 3 are over at 15
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.find(key(9), 16), 0u);
    EXPECT_EQ(w.size(), 0u);
}

TEST(dedup_window, recording_a_held_key_again_keeps_its_time_and_takes_the_new_seq) {
    dedup_window w(4, 100);
    w.record(key(1), 5, 0);
    w.record(key(2), 6, 10);
    EXPECT_FALSE(w.record(key(1), 9, 50));
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(w.find(key(1), 60), 9u);
    EXPECT_EQ(w.find(key(1), 99), 9u);
    EXPECT_EQ(w.find(key(1), 100), 0u); // its window still runs from 0
    EXPECT_EQ(w.find(key(2), 100), 6u);
    EXPECT_EQ(w.size(), 1u);
    // The structure is intact: it fills and evicts as before.
    EXPECT_FALSE(w.record(key(3), 7, 100));
    EXPECT_FALSE(w.record(key(4), 8, 100));
    EXPECT_FALSE(w.record(key(5), 9, 100));
    EXPECT_TRUE(w.record(key(6), 10, 100)); // key 2, recorded at 10, goes early
    EXPECT_EQ(w.find(key(2), 100), 0u);
    EXPECT_EQ(w.size(), 4u);
}

TEST(dedup_window, window_zero_never_finds_a_duplicate) {
    dedup_window w(4, 0);
    EXPECT_FALSE(w.record(key(1), 1, 10));
    EXPECT_EQ(w.find(key(1), 10), 0u);
    for (uint64_t i = 2; i < 10; ++i) {
        EXPECT_FALSE(w.record(key(i), i, 10)); // what goes was never inside a window
    }
}

TEST(dedup_window, capacity_zero_keeps_nothing_and_reports_each_record) {
    dedup_window w(0, 100);
    EXPECT_TRUE(w.record(key(1), 1, 0));
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.find(key(1), 0), 0u);
}

// 8 entries in an index of 16 slots: by pigeonhole, the thousands of keys
// churned through share their low hash bits many times over, so lookups
// probe past each other and deletions shift probe chains. A std::map says
// what must be found.
TEST(dedup_window, colliding_low_hash_bits_still_resolve) {
    constexpr uint32_t cap = 8;
    constexpr uint64_t window = 40;
    dedup_window w(cap, window);
    using model_key = std::tuple<uint32_t, uint16_t, uint64_t, uint64_t>;
    std::map<model_key, std::pair<uint64_t, uint64_t>> live; // -> topic seq, time
    std::mt19937 rng(7);
    uint64_t now = 0;
    uint64_t topic_seq = 1;
    uint32_t duplicates = 0;
    uint32_t early = 0;
    for (uint32_t i = 0; i < 20000; ++i) {
        now += rng() % 4;
        // Small value ranges, so the same keys come back after they expired.
        const uint32_t ip = rng() % 3;
        const auto port = static_cast<uint16_t>(rng() % 3);
        const uint64_t seq = rng() % 16;
        const uint64_t th = rng() % 3;
        const dedup_key k = key(seq, th, ip, port);
        const model_key mk{ip, port, seq, th};
        std::erase_if(live, [&](const auto& e) { return now - e.second.second >= window; });

        const auto it = live.find(mk);
        const uint64_t want = it == live.end() ? 0 : it->second.first;
        ASSERT_EQ(w.find(k, now), want) << "step " << i;
        if (want != 0) {
            ++duplicates;
            continue;
        }
        bool want_early = false;
        if (live.size() == cap) {
            auto oldest = live.begin();
            for (auto e = live.begin(); e != live.end(); ++e) {
                if (e->second.first < oldest->second.first) { // topic seqs rise with time
                    oldest = e;
                }
            }
            live.erase(oldest);
            want_early = true;
            ++early;
        }
        ASSERT_EQ(w.record(k, topic_seq, now), want_early) << "step " << i;
        live[mk] = {topic_seq++, now};
        ASSERT_EQ(w.size(), live.size()) << "step " << i;
    }
    // Duplicates and early evictions both came up, many times.
    EXPECT_GT(duplicates, 100u);
    EXPECT_GT(early, 100u);
}

TEST(dedup_window, a_large_full_table_finds_every_entry) {
    constexpr uint32_t cap = 50000;
    dedup_window w(cap, 1'000'000);
    for (uint32_t i = 0; i < cap; ++i) {
        ASSERT_FALSE(w.record(key(i, i % 7, i % 5, static_cast<uint16_t>(i % 11)), i + 1, i));
    }
    for (uint32_t i = 0; i < cap; ++i) {
        ASSERT_EQ(w.find(key(i, i % 7, i % 5, static_cast<uint16_t>(i % 11)), cap), i + 1) << i;
        ASSERT_EQ(w.find(key(i, i % 7 + 7, i % 5, static_cast<uint16_t>(i % 11)), cap), 0u) << i;
    }
    // Half of them again, replacing the oldest: each goes early.
    for (uint32_t i = 0; i < cap / 2; ++i) {
        ASSERT_TRUE(w.record(key(cap + i), cap + i + 1, cap));
    }
    for (uint32_t i = 0; i < cap; ++i) {
        const uint64_t want = i < cap / 2 ? 0 : i + 1;
        ASSERT_EQ(w.find(key(i, i % 7, i % 5, static_cast<uint16_t>(i % 11)), cap), want) << i;
    }
    EXPECT_EQ(w.size(), cap);
}
