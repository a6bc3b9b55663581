// The retention store: per-topic roll-over at `keep`, the store-wide cap that
// evicts the oldest message of any topic, replay walks and clearing. The
// mbufs are fake pointers: the store never looks behind them.
#include <ringcast/core/retention.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <random>
#include <utility>
#include <vector>

using ringcast::retention_store;

static rte_mbuf* mb(uintptr_t i) {
    return reinterpret_cast<rte_mbuf*>(uintptr_t{0x1000} + i);
}

struct pushed {
    std::vector<rte_mbuf*> evicted; // in the order the store wrote them
    uint32_t by_cap = 0;
};

// Pushes with room for `room` evictions, the worker's 2 unless a test says otherwise.
static pushed push(retention_store& s, uint32_t topic, uint32_t keep, uint64_t seq, rte_mbuf* m,
                   size_t room = 2) {
    std::vector<rte_mbuf*> out(room);
    const ringcast::retain_evictions r = s.push(topic, keep, seq, m, out);
    EXPECT_LE(r.n, room);
    EXPECT_LE(r.by_cap, r.n);
    out.resize(r.n);
    return pushed{out, r.by_cap};
}

static std::vector<uint64_t> seqs_from(const retention_store& s, uint32_t topic, uint64_t from) {
    std::vector<uint64_t> out;
    s.for_each_from(topic, from, [&](const ringcast::retained_msg& r) {
        out.push_back(r.seq);
        return true;
    });
    return out;
}

static std::vector<rte_mbuf*> mbufs_of(const retention_store& s, uint32_t topic) {
    std::vector<rte_mbuf*> out;
    s.for_each_from(topic, 0, [&](const ringcast::retained_msg& r) {
        out.push_back(r.m);
        return true;
    });
    return out;
}

static std::vector<rte_mbuf*> clear(retention_store& s, uint32_t topic) {
    std::vector<rte_mbuf*> out;
    s.clear(topic, [&](rte_mbuf* m) { out.push_back(m); });
    return out;
}

using mbufs = std::vector<rte_mbuf*>;
using seqs = std::vector<uint64_t>;

TEST(retention_store, starts_empty) {
    retention_store s(8, 4);
    EXPECT_EQ(s.capacity(), 8u);
    EXPECT_EQ(s.size(), 0u);
    for (uint32_t t = 0; t < 4; ++t) {
        EXPECT_EQ(s.held(t), 0u);
        EXPECT_EQ(s.first_seq(t), 0u);
        EXPECT_TRUE(seqs_from(s, t, 0).empty());
    }
}

TEST(retention_store, rolls_over_at_keep) {
    retention_store s(16, 2);
    EXPECT_TRUE(push(s, 0, 3, 1, mb(1)).evicted.empty());
    EXPECT_TRUE(push(s, 0, 3, 2, mb(2)).evicted.empty());
    EXPECT_TRUE(push(s, 0, 3, 3, mb(3)).evicted.empty());
    EXPECT_EQ(s.held(0), 3u);
    EXPECT_EQ(s.first_seq(0), 1u);

    const pushed p4 = push(s, 0, 3, 4, mb(4));
    EXPECT_EQ(p4.evicted, mbufs{mb(1)});
    EXPECT_EQ(p4.by_cap, 0u); // a roll-over is no loss
    const pushed p5 = push(s, 0, 3, 5, mb(5));
    EXPECT_EQ(p5.evicted, mbufs{mb(2)});
    EXPECT_EQ(p5.by_cap, 0u);

    EXPECT_EQ(s.held(0), 3u);
    EXPECT_EQ(s.first_seq(0), 3u);
    EXPECT_EQ(s.size(), 3u);
    EXPECT_EQ(seqs_from(s, 0, 0), (seqs{3, 4, 5}));
    EXPECT_EQ(mbufs_of(s, 0), (mbufs{mb(3), mb(4), mb(5)}));
    EXPECT_EQ(s.held(1), 0u);
}

TEST(retention_store, keep_one_holds_the_last_value) {
    retention_store s(4, 1);
    EXPECT_TRUE(push(s, 0, 1, 1, mb(1)).evicted.empty());
    EXPECT_EQ(push(s, 0, 1, 2, mb(2)).evicted, mbufs{mb(1)});
    EXPECT_EQ(push(s, 0, 1, 3, mb(3)).evicted, mbufs{mb(2)});
    EXPECT_EQ(mbufs_of(s, 0), mbufs{mb(3)});
    EXPECT_EQ(s.first_seq(0), 3u);
}

TEST(retention_store, keep_zero_counts_as_one) {
    retention_store s(4, 1);
    EXPECT_TRUE(push(s, 0, 0, 1, mb(1)).evicted.empty());
    EXPECT_EQ(push(s, 0, 0, 2, mb(2)).evicted, mbufs{mb(1)});
    EXPECT_EQ(mbufs_of(s, 0), mbufs{mb(2)});
}

TEST(retention_store, cap_evicts_the_oldest_message_of_any_topic) {
    retention_store s(6, 3);
    // Interleaved, keep far above the cap: only the cap evicts.
    push(s, 0, 100, 1, mb(1));
    push(s, 1, 100, 1, mb(2));
    push(s, 2, 100, 1, mb(3));
    push(s, 0, 100, 2, mb(4));
    push(s, 1, 100, 2, mb(5));
    EXPECT_TRUE(push(s, 2, 100, 2, mb(6)).evicted.empty());
    EXPECT_EQ(s.size(), 6u);

    const pushed a = push(s, 1, 100, 3, mb(7)); // topic 0's seq 1 is the oldest
    EXPECT_EQ(a.evicted, mbufs{mb(1)});
    EXPECT_EQ(a.by_cap, 1u);
    const pushed b = push(s, 1, 100, 4, mb(8)); // then topic 1's seq 1
    EXPECT_EQ(b.evicted, mbufs{mb(2)});
    EXPECT_EQ(b.by_cap, 1u);
    const pushed c = push(s, 0, 100, 3, mb(9)); // then topic 2's seq 1
    EXPECT_EQ(c.evicted, mbufs{mb(3)});
    EXPECT_EQ(c.by_cap, 1u);
    const pushed d = push(s, 2, 100, 3, mb(10)); // then topic 0's seq 2
    EXPECT_EQ(d.evicted, mbufs{mb(4)});
    EXPECT_EQ(d.by_cap, 1u);

    EXPECT_EQ(s.size(), 6u);
    EXPECT_EQ(mbufs_of(s, 0), mbufs{mb(9)});
    EXPECT_EQ(mbufs_of(s, 1), (mbufs{mb(5), mb(7), mb(8)}));
    EXPECT_EQ(mbufs_of(s, 2), (mbufs{mb(6), mb(10)}));
    EXPECT_EQ(s.held(0), 1u);
    EXPECT_EQ(s.held(1), 3u);
    EXPECT_EQ(s.held(2), 2u);
    EXPECT_EQ(s.first_seq(0), 3u);
    EXPECT_EQ(s.first_seq(1), 2u);
    EXPECT_EQ(s.first_seq(2), 2u);
}

TEST(retention_store, full_store_and_topic_at_keep_evicts_only_the_topics_oldest) {
    // The store-wide oldest is the pushing topic's own oldest: one eviction, a roll-over.
    retention_store s(4, 2);
    push(s, 0, 2, 1, mb(1));
    push(s, 1, 2, 1, mb(2));
    push(s, 0, 2, 2, mb(3));
    push(s, 1, 2, 2, mb(4));
    const pushed p = push(s, 0, 2, 3, mb(5));
    EXPECT_EQ(p.evicted, mbufs{mb(1)});
    EXPECT_EQ(p.by_cap, 0u);
    EXPECT_EQ(s.size(), 4u);
    EXPECT_EQ(mbufs_of(s, 0), (mbufs{mb(3), mb(5)}));
    EXPECT_EQ(mbufs_of(s, 1), (mbufs{mb(2), mb(4)}));
}

TEST(retention_store, topic_at_keep_rolls_over_and_spares_an_older_topic) {
    // Topic 1's message is the store-wide oldest, but topic 0's own roll-over makes the room.
    retention_store s(4, 2);
    push(s, 1, 2, 1, mb(1));
    push(s, 0, 2, 1, mb(2));
    push(s, 0, 2, 2, mb(3));
    push(s, 1, 2, 2, mb(4));
    const pushed p = push(s, 0, 2, 3, mb(5));
    EXPECT_EQ(p.evicted, mbufs{mb(2)});
    EXPECT_EQ(p.by_cap, 0u);
    EXPECT_EQ(mbufs_of(s, 1), (mbufs{mb(1), mb(4)}));
    EXPECT_EQ(mbufs_of(s, 0), (mbufs{mb(3), mb(5)}));
}

TEST(retention_store, topic_under_keep_loses_its_own_oldest_to_the_cap) {
    retention_store s(3, 2);
    push(s, 0, 10, 1, mb(1));
    push(s, 1, 10, 1, mb(2));
    push(s, 1, 10, 2, mb(3));
    const pushed p = push(s, 0, 10, 2, mb(4));
    EXPECT_EQ(p.evicted, mbufs{mb(1)});
    EXPECT_EQ(p.by_cap, 1u);
    EXPECT_EQ(s.held(0), 1u);
    EXPECT_EQ(s.first_seq(0), 2u);
    EXPECT_EQ(mbufs_of(s, 1), (mbufs{mb(2), mb(3)}));
}

TEST(retention_store, counts_only_cap_evictions_as_by_cap) {
    retention_store s(4, 2);
    uint32_t by_cap = 0;
    uint32_t evicted = 0;
    const auto add = [&](uint32_t topic, uint64_t seq, uintptr_t id) {
        const pushed p = push(s, topic, 3, seq, mb(id));
        by_cap += p.by_cap;
        evicted += static_cast<uint32_t>(p.evicted.size());
        return p;
    };
    add(0, 1, 1);
    add(0, 2, 2);
    add(0, 3, 3);
    add(1, 1, 4);                                  // full
    EXPECT_EQ(add(1, 2, 5).evicted, mbufs{mb(1)}); // topic 1 under keep: the cap
    EXPECT_EQ(add(1, 3, 6).evicted, mbufs{mb(2)}); // the cap again
    EXPECT_EQ(add(1, 4, 7).evicted, mbufs{mb(4)}); // topic 1 at keep: its roll-over
    EXPECT_EQ(add(0, 4, 8).evicted, mbufs{mb(3)}); // topic 0 holds 1: the cap takes it
    EXPECT_EQ(by_cap, 3u);
    EXPECT_EQ(evicted, 4u);
    EXPECT_EQ(mbufs_of(s, 0), mbufs{mb(8)});
    EXPECT_EQ(mbufs_of(s, 1), (mbufs{mb(5), mb(6), mb(7)}));
}

TEST(retention_store, lowered_keep_sheds_as_many_as_the_span_holds_per_push) {
    retention_store s(16, 1);
    for (uintptr_t i = 1; i <= 5; ++i) {
        push(s, 0, 5, i, mb(i));
    }
    // keep 5 -> 2 with room for 2: 5 held, 4, 3, then 2.
    EXPECT_EQ(push(s, 0, 2, 6, mb(6)).evicted, (mbufs{mb(1), mb(2)}));
    EXPECT_EQ(s.held(0), 4u);
    EXPECT_EQ(push(s, 0, 2, 7, mb(7)).evicted, (mbufs{mb(3), mb(4)}));
    EXPECT_EQ(s.held(0), 3u);
    EXPECT_EQ(push(s, 0, 2, 8, mb(8)).evicted, (mbufs{mb(5), mb(6)}));
    EXPECT_EQ(s.held(0), 2u);
    EXPECT_EQ(push(s, 0, 2, 9, mb(9)).evicted, mbufs{mb(7)});
    EXPECT_EQ(s.held(0), 2u);
    EXPECT_EQ(seqs_from(s, 0, 0), (seqs{8, 9}));
    EXPECT_EQ(s.size(), 2u);
}

TEST(retention_store, lowered_keep_reaches_keep_at_once_with_a_larger_span) {
    retention_store s(16, 1);
    for (uintptr_t i = 1; i <= 6; ++i) {
        push(s, 0, 6, i, mb(i));
    }
    const pushed p = push(s, 0, 2, 7, mb(7), 8);
    EXPECT_EQ(p.evicted, (mbufs{mb(1), mb(2), mb(3), mb(4), mb(5)}));
    EXPECT_EQ(p.by_cap, 0u);
    EXPECT_EQ(seqs_from(s, 0, 0), (seqs{6, 7}));
}

TEST(retention_store, raised_keep_holds_more) {
    retention_store s(16, 1);
    push(s, 0, 2, 1, mb(1));
    push(s, 0, 2, 2, mb(2));
    EXPECT_TRUE(push(s, 0, 4, 3, mb(3)).evicted.empty());
    EXPECT_TRUE(push(s, 0, 4, 4, mb(4)).evicted.empty());
    EXPECT_EQ(push(s, 0, 4, 5, mb(5)).evicted, mbufs{mb(1)});
    EXPECT_EQ(seqs_from(s, 0, 0), (seqs{2, 3, 4, 5}));
}

TEST(retention_store, for_each_from_boundaries) {
    retention_store s(16, 2);
    for (uintptr_t seq = 1; seq <= 14; ++seq) {
        push(s, 0, 5, seq, mb(seq));
    }
    push(s, 1, 5, 100, mb(100)); // another topic, never visited
    ASSERT_EQ(s.first_seq(0), 10u);
    EXPECT_EQ(seqs_from(s, 0, 0), (seqs{10, 11, 12, 13, 14}));  // below the first
    EXPECT_EQ(seqs_from(s, 0, 9), (seqs{10, 11, 12, 13, 14}));  // just below
    EXPECT_EQ(seqs_from(s, 0, 10), (seqs{10, 11, 12, 13, 14})); // equal to the first
    EXPECT_EQ(seqs_from(s, 0, 12), (seqs{12, 13, 14}));         // inside
    EXPECT_EQ(seqs_from(s, 0, 14), (seqs{14}));                 // the last
    EXPECT_TRUE(seqs_from(s, 0, 15).empty());                   // above the last
    EXPECT_TRUE(seqs_from(s, 0, UINT64_MAX).empty());
    EXPECT_EQ(seqs_from(s, 1, 0), seqs{100}); // topic 1 sees only its own
}

TEST(retention_store, for_each_from_stops_when_f_returns_false) {
    retention_store s(16, 1);
    for (uintptr_t seq = 1; seq <= 6; ++seq) {
        push(s, 0, 10, seq, mb(seq));
    }
    std::vector<uint64_t> seen;
    s.for_each_from(0, 3, [&](const ringcast::retained_msg& r) {
        seen.push_back(r.seq);
        return seen.size() < 2;
    });
    EXPECT_EQ(seen, (seqs{3, 4})); // called once more for the one that said stop
    seen.clear();
    s.for_each_from(0, 0, [&](const ringcast::retained_msg& r) {
        seen.push_back(r.seq);
        return false;
    });
    EXPECT_EQ(seen, seqs{1});
}

TEST(retention_store, for_each_from_hands_out_seq_and_mbuf_together) {
    retention_store s(8, 1);
    push(s, 0, 8, 41, mb(7));
    push(s, 0, 8, 42, mb(3));
    std::vector<std::pair<uint64_t, rte_mbuf*>> seen;
    s.for_each_from(0, 0, [&](const ringcast::retained_msg& r) {
        seen.emplace_back(r.seq, r.m);
        return true;
    });
    const std::vector<std::pair<uint64_t, rte_mbuf*>> want = {{41, mb(7)}, {42, mb(3)}};
    EXPECT_EQ(seen, want);
}

TEST(retention_store, clear_returns_each_mbuf_once_and_frees_room) {
    retention_store s(6, 3);
    push(s, 0, 10, 1, mb(1));
    push(s, 1, 10, 1, mb(2));
    push(s, 0, 10, 2, mb(3));
    push(s, 1, 10, 2, mb(4));
    push(s, 0, 10, 3, mb(5));
    push(s, 1, 10, 3, mb(6));
    ASSERT_EQ(s.size(), 6u);

    EXPECT_EQ(clear(s, 0), (mbufs{mb(1), mb(3), mb(5)}));
    EXPECT_EQ(s.held(0), 0u);
    EXPECT_EQ(s.first_seq(0), 0u);
    EXPECT_TRUE(seqs_from(s, 0, 0).empty());
    EXPECT_EQ(s.size(), 3u);
    EXPECT_TRUE(clear(s, 0).empty()); // nothing twice
    EXPECT_TRUE(clear(s, 2).empty()); // never used

    // The three freed slots take three more without touching topic 1.
    for (uintptr_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(push(s, 2, 10, i + 1, mb(10 + i)).evicted.empty());
    }
    EXPECT_EQ(s.size(), 6u);
    EXPECT_EQ(mbufs_of(s, 1), (mbufs{mb(2), mb(4), mb(6)}));
    // Full again: the oldest now is topic 1's first.
    EXPECT_EQ(push(s, 2, 10, 4, mb(13)).evicted, mbufs{mb(2)});

    // A cleared topic starts over from whatever seq comes next.
    push(s, 0, 10, 9, mb(20));
    EXPECT_EQ(s.first_seq(0), 9u);
}

TEST(retention_store, capacity_zero_hands_the_message_straight_back) {
    retention_store s(0, 2);
    EXPECT_EQ(s.capacity(), 0u);
    const pushed p = push(s, 1, 4, 1, mb(1));
    EXPECT_EQ(p.evicted, mbufs{mb(1)});
    EXPECT_EQ(p.by_cap, 1u);
    EXPECT_EQ(s.size(), 0u);
    EXPECT_EQ(s.held(1), 0u);
    EXPECT_EQ(s.first_seq(1), 0u);
    EXPECT_TRUE(clear(s, 1).empty());
}

// A second, plain implementation: one deque per topic, each message stamped
// with its push order so the store-wide oldest is the smallest stamp at a head.
struct model {
    struct msg {
        uint64_t seq;
        rte_mbuf* m;
        uint64_t stamp;
    };
    std::vector<std::deque<msg>> topics;
    size_t capacity;
    size_t size = 0;
    uint64_t next_stamp = 0;

    model(size_t cap, size_t n) : topics(n), capacity(cap) {}

    pushed push(uint32_t topic, uint32_t keep, uint64_t seq, rte_mbuf* m, size_t room) {
        pushed out;
        auto& q = topics[topic];
        while (q.size() >= std::max(keep, 1U) && out.evicted.size() < room) {
            out.evicted.push_back(q.front().m);
            q.pop_front();
            --size;
        }
        if (size == capacity) {
            std::deque<msg>* oldest = nullptr;
            for (auto& t : topics) {
                if (!t.empty() && (oldest == nullptr || t.front().stamp < oldest->front().stamp)) {
                    oldest = &t;
                }
            }
            out.evicted.push_back(oldest->front().m);
            oldest->pop_front();
            --size;
            ++out.by_cap;
        }
        q.push_back(msg{seq, m, next_stamp++});
        ++size;
        return out;
    }
};

TEST(retention_store, randomized_run_matches_a_model_and_returns_every_mbuf_once) {
    constexpr uint32_t topics = 8;
    constexpr uint32_t cap = 64;
    constexpr uint32_t pushes = 200000;
    retention_store s(cap, topics);
    model ref(cap, topics);
    std::mt19937 rng(12345);
    std::array<uint32_t, topics> keep{};
    std::array<uint64_t, topics> next_seq{};
    for (uint32_t t = 0; t < topics; ++t) {
        keep[t] = 1 + rng() % 16;
        next_seq[t] = 1;
    }
    std::vector<uint32_t> returned(pushes, 0);
    const auto give_back = [&](rte_mbuf* m) {
        const uintptr_t id = reinterpret_cast<uintptr_t>(m) - 0x1000;
        ASSERT_LT(id, pushes);
        ++returned[id];
    };
    uint64_t by_cap = 0;
    for (uint32_t i = 0; i < pushes; ++i) {
        const uint32_t t = rng() % topics;
        const uint32_t r = rng() % 1000;
        if (r < 5) { // a topic's keep changes now and then, up or down
            keep[t] = 1 + rng() % 16;
        } else if (r < 7) { // a topic is deleted
            for (rte_mbuf* m : clear(s, t)) {
                give_back(m);
            }
            ref.size -= ref.topics[t].size();
            ref.topics[t].clear();
        }
        const size_t room = r % 3 == 0 ? 4 : 2;
        const pushed got = push(s, t, keep[t], next_seq[t], mb(i), room);
        const pushed want = ref.push(t, keep[t], next_seq[t], mb(i), room);
        ++next_seq[t];
        ASSERT_EQ(got.evicted, want.evicted) << "push " << i;
        ASSERT_EQ(got.by_cap, want.by_cap) << "push " << i;
        by_cap += got.by_cap;
        for (rte_mbuf* m : got.evicted) {
            give_back(m);
        }
        ASSERT_EQ(s.size(), ref.size);
        if (i % 97 == 0) {
            for (uint32_t u = 0; u < topics; ++u) {
                mbufs want_m;
                for (const auto& m : ref.topics[u]) {
                    want_m.push_back(m.m);
                }
                ASSERT_EQ(mbufs_of(s, u), want_m) << "push " << i << " topic " << u;
                ASSERT_EQ(s.held(u), ref.topics[u].size());
                ASSERT_EQ(s.first_seq(u), ref.topics[u].empty() ? 0 : ref.topics[u].front().seq);
            }
        }
    }
    EXPECT_GT(by_cap, 0u); // the cap was exercised, not only roll-over
    for (uint32_t t = 0; t < topics; ++t) {
        for (rte_mbuf* m : clear(s, t)) {
            give_back(m);
        }
    }
    EXPECT_EQ(s.size(), 0u);
    for (uint32_t i = 0; i < pushes; ++i) {
        ASSERT_EQ(returned[i], 1u) << "mbuf " << i;
    }
}
