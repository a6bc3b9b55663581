// The worker's exact-topic subscription table and the hash index under it:
// behaviour cases, limits, and a randomized test against a std::map model.
#include <ringcast/hash_index.hpp>
#include <ringcast/sub_table.hpp>
#include <ringcast/topic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

static std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

static ringcast::endpoint ep(uint32_t ip, uint16_t port, uint16_t port_id = 0) {
    return ringcast::endpoint{.ip = ip, .port = port, .port_id = port_id};
}

static ringcast::mac_addr mac(uint8_t last) {
    return {0x02, 0x00, 0x00, 0x00, 0x00, last};
}

static ringcast::sub_result sub(ringcast::sub_table& t, std::string_view topic, const ringcast::endpoint& e,
                                const ringcast::mac_addr& m = mac(1)) {
    return t.subscribe(bytes_of(topic), ringcast::topic_hash(bytes_of(topic)), e, m);
}

static ringcast::sub_result unsub(ringcast::sub_table& t, std::string_view topic,
                                  const ringcast::endpoint& e) {
    return t.unsubscribe(bytes_of(topic), ringcast::topic_hash(bytes_of(topic)), e);
}

static uint32_t find(const ringcast::sub_table& t, std::string_view topic) {
    return t.find_topic(bytes_of(topic), ringcast::topic_hash(bytes_of(topic)));
}

static std::vector<ringcast::endpoint> subscribers_of(ringcast::sub_table& t, uint32_t topic_id) {
    std::vector<ringcast::endpoint> out;
    t.for_each_subscriber(topic_id, [&](ringcast::subscriber_record& r) { out.push_back(r.ep); });
    return out;
}

static ringcast::sub_limits small_limits(uint32_t topics, uint32_t subscriptions, uint32_t subscribers) {
    ringcast::sub_limits lim;
    lim.topics = topics;
    lim.subscriptions = subscriptions;
    lim.subscribers = subscribers;
    lim.topic_len = 32;
    return lim;
}

static void expect_counts(const ringcast::sub_table& t, uint32_t topics, uint32_t subscriptions,
                          uint32_t subscribers) {
    EXPECT_EQ(t.topics(), topics);
    EXPECT_EQ(t.subscriptions(), subscriptions);
    EXPECT_EQ(t.subscribers(), subscribers);
}

TEST(sub_table, starts_empty) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    expect_counts(t, 0, 0, 0);
    EXPECT_EQ(find(t, "a"), ringcast::no_id);
    EXPECT_EQ(t.find_subscriber(ep(1, 1)), ringcast::no_id);
}

TEST(sub_table, subscribe_adds_then_reports_exists) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    EXPECT_EQ(sub(t, "a/b", ep(10, 1000)), ringcast::sub_result::added);
    expect_counts(t, 1, 1, 1);
    EXPECT_EQ(sub(t, "a/b", ep(10, 1000)), ringcast::sub_result::exists);
    expect_counts(t, 1, 1, 1);
    const uint32_t tid = find(t, "a/b");
    ASSERT_NE(tid, ringcast::no_id);
    EXPECT_EQ(t.topic(tid).n_subs, 1u);
    EXPECT_EQ(t.topic(tid).hash, ringcast::topic_hash(bytes_of("a/b")));
    const uint32_t sid = t.find_subscriber(ep(10, 1000));
    ASSERT_NE(sid, ringcast::no_id);
    EXPECT_EQ(t.subscriber(sid).ep, ep(10, 1000));
    EXPECT_EQ(t.subscriber(sid).n_subs, 1u);
}

TEST(sub_table, subscribe_again_refreshes_the_mac) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(10, 1000), mac(1)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(10, 1000), mac(2)), ringcast::sub_result::exists);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(10, 1000))).mac, mac(2));
    ASSERT_EQ(sub(t, "b", ep(10, 1000), mac(3)), ringcast::sub_result::added);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(10, 1000))).mac, mac(3));
}

TEST(sub_table, tells_endpoints_apart_by_ip_port_and_port_id) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    EXPECT_EQ(sub(t, "a", ep(10, 1000, 0)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(11, 1000, 0)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(10, 1001, 0)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(10, 1000, 1)), ringcast::sub_result::added);
    expect_counts(t, 1, 4, 4);
}

TEST(sub_table, unsubscribe_removes_then_reports_not_found) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a/b", ep(10, 1000)), ringcast::sub_result::added);
    EXPECT_EQ(unsub(t, "a/b", ep(10, 1000)), ringcast::sub_result::removed);
    expect_counts(t, 0, 0, 0);
    EXPECT_EQ(find(t, "a/b"), ringcast::no_id);
    EXPECT_EQ(t.find_subscriber(ep(10, 1000)), ringcast::no_id);
    EXPECT_EQ(unsub(t, "a/b", ep(10, 1000)), ringcast::sub_result::not_found);
}

TEST(sub_table, unsubscribe_of_what_was_never_subscribed_is_not_found_and_changes_nothing) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "b", ep(2, 2)), ringcast::sub_result::added);
    EXPECT_EQ(unsub(t, "c", ep(1, 1)), ringcast::sub_result::not_found); // unknown topic
    EXPECT_EQ(unsub(t, "a", ep(3, 3)), ringcast::sub_result::not_found); // unknown subscriber
    EXPECT_EQ(unsub(t, "a", ep(2, 2)), ringcast::sub_result::not_found); // both known, not joined
    EXPECT_EQ(unsub(t, "b", ep(1, 1)), ringcast::sub_result::not_found);
    expect_counts(t, 2, 2, 2);
}

TEST(sub_table, visits_each_subscriber_of_a_topic_once) {
    ringcast::sub_table t(small_limits(8, 16, 8));
    std::vector<ringcast::endpoint> eps;
    for (uint16_t i = 0; i < 5; ++i) {
        eps.push_back(ep(0x0A000001 + i, static_cast<uint16_t>(5000 + i)));
        ASSERT_EQ(sub(t, "news", eps.back(), mac(static_cast<uint8_t>(i))), ringcast::sub_result::added);
    }
    ASSERT_EQ(sub(t, "other", eps[0], mac(0)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "other", ep(99, 99)), ringcast::sub_result::added);

    const uint32_t tid = find(t, "news");
    ASSERT_NE(tid, ringcast::no_id);
    EXPECT_EQ(t.topic(tid).n_subs, 5u);
    std::map<uint32_t, int> seen;
    t.for_each_subscriber(tid, [&](ringcast::subscriber_record& r) {
        ++seen[r.ep.ip];
        EXPECT_EQ(r.mac, mac(static_cast<uint8_t>(r.ep.ip - 0x0A000001)));
    });
    ASSERT_EQ(seen.size(), 5u);
    for (const auto& e : eps) {
        EXPECT_EQ(seen[e.ip], 1) << e.ip;
    }

    // After one leaves, the others are still visited once each.
    ASSERT_EQ(unsub(t, "news", eps[2]), ringcast::sub_result::removed);
    auto rest = subscribers_of(t, tid);
    EXPECT_EQ(rest.size(), 4u);
    EXPECT_EQ(std::count(rest.begin(), rest.end(), eps[2]), 0);
}

TEST(sub_table, for_each_subscriber_may_update_delivery_counts) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "a", ep(2, 2)), ringcast::sub_result::added);
    t.for_each_subscriber(find(t, "a"), [](ringcast::subscriber_record& r) { ++r.deliveries; });
    t.for_each_subscriber(find(t, "a"), [](ringcast::subscriber_record& r) { ++r.deliveries; });
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(1, 1))).deliveries, 2u);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(2, 2))).deliveries, 2u);
}

TEST(sub_table, remove_subscriber_drops_all_its_subscriptions) {
    ringcast::sub_table t(small_limits(16, 16, 8));
    const auto a = ep(1, 1);
    const auto b = ep(2, 2);
    for (const char* topic : {"t0", "t1", "t2", "t3", "t4"}) {
        ASSERT_EQ(sub(t, topic, a), ringcast::sub_result::added);
    }
    ASSERT_EQ(sub(t, "t1", b), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "t3", b), ringcast::sub_result::added);
    expect_counts(t, 5, 7, 2);

    EXPECT_EQ(t.remove_subscriber(a), 5u);
    expect_counts(t, 2, 2, 1);
    EXPECT_EQ(t.find_subscriber(a), ringcast::no_id);
    for (const char* gone : {"t0", "t2", "t4"}) {
        EXPECT_EQ(find(t, gone), ringcast::no_id) << gone;
    }
    for (const char* kept : {"t1", "t3"}) {
        const uint32_t tid = find(t, kept);
        ASSERT_NE(tid, ringcast::no_id) << kept;
        EXPECT_EQ(subscribers_of(t, tid), std::vector<ringcast::endpoint>{b}) << kept;
    }

    EXPECT_EQ(t.remove_subscriber(b), 2u);
    expect_counts(t, 0, 0, 0);
    EXPECT_EQ(find(t, "t1"), ringcast::no_id);
    EXPECT_EQ(find(t, "t3"), ringcast::no_id);
    EXPECT_EQ(t.remove_subscriber(b), 0u);
    EXPECT_EQ(t.remove_subscriber(ep(7, 7)), 0u);
}

TEST(sub_table, removed_subscriber_can_subscribe_again_from_scratch) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    const auto a = ep(1, 1);
    ASSERT_EQ(sub(t, "x", a), ringcast::sub_result::added);
    t.subscriber(t.find_subscriber(a)).deliveries = 42;
    ASSERT_EQ(t.remove_subscriber(a), 1u);
    ASSERT_EQ(sub(t, "y", a), ringcast::sub_result::added);
    const uint32_t sid = t.find_subscriber(a);
    ASSERT_NE(sid, ringcast::no_id);
    EXPECT_EQ(t.subscriber(sid).n_subs, 1u);
    EXPECT_EQ(t.subscriber(sid).deliveries, 0u);
    EXPECT_EQ(t.subscriber(sid).drops, 0u);
}

TEST(sub_table, topic_seq_survives_while_topic_has_subscribers) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "t", ep(1, 1)), ringcast::sub_result::added);
    const uint32_t tid = find(t, "t");
    EXPECT_EQ(t.topic(tid).seq, 0u);
    t.topic(tid).seq = 5; // the worker routed five messages
    ASSERT_EQ(sub(t, "t", ep(2, 2)), ringcast::sub_result::added);
    ASSERT_EQ(unsub(t, "t", ep(1, 1)), ringcast::sub_result::removed);
    ASSERT_EQ(find(t, "t"), tid);
    EXPECT_EQ(t.topic(tid).seq, 5u);
    ASSERT_EQ(sub(t, "t", ep(1, 1)), ringcast::sub_result::added);
    EXPECT_EQ(t.topic(find(t, "t")).seq, 5u);
}

TEST(sub_table, topic_freed_then_recreated_starts_at_seq_0) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "t", ep(1, 1)), ringcast::sub_result::added);
    t.topic(find(t, "t")).seq = 9;
    ASSERT_EQ(unsub(t, "t", ep(1, 1)), ringcast::sub_result::removed);
    EXPECT_EQ(find(t, "t"), ringcast::no_id);
    ASSERT_EQ(sub(t, "t", ep(2, 2)), ringcast::sub_result::added);
    EXPECT_EQ(t.topic(find(t, "t")).seq, 0u);

    // The same through remove_subscriber, and for a different topic reusing the id.
    t.topic(find(t, "t")).seq = 4;
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    ASSERT_EQ(sub(t, "u", ep(3, 3)), ringcast::sub_result::added);
    EXPECT_EQ(t.topic(find(t, "u")).seq, 0u);
    ASSERT_EQ(sub(t, "t", ep(3, 3)), ringcast::sub_result::added);
    EXPECT_EQ(t.topic(find(t, "t")).seq, 0u);
}

TEST(sub_table, topic_name_returns_the_bytes) {
    ringcast::sub_limits lim = small_limits(8, 8, 8);
    lim.topic_len = 255;
    ringcast::sub_table t(lim);
    const std::string long_topic(255, 'L');
    const std::vector<std::string> topics = {"a", "sensors/x", "sensors/y", long_topic, "z"};
    for (const auto& s : topics) {
        ASSERT_EQ(sub(t, s, ep(1, 1)), ringcast::sub_result::added);
    }
    for (const auto& s : topics) {
        const uint32_t tid = find(t, s);
        ASSERT_NE(tid, ringcast::no_id);
        EXPECT_EQ(t.topic_name(tid), s);
        EXPECT_EQ(t.topic(tid).len, s.size());
    }
}

TEST(sub_table, topic_name_at_the_configured_length_limit) {
    ringcast::sub_limits lim = small_limits(4, 4, 4);
    lim.topic_len = 8;
    ringcast::sub_table t(lim);
    ASSERT_EQ(sub(t, "12345678", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "abcdefgh", ep(1, 1)), ringcast::sub_result::added);
    EXPECT_EQ(t.topic_name(find(t, "12345678")), "12345678");
    EXPECT_EQ(t.topic_name(find(t, "abcdefgh")), "abcdefgh");
}

TEST(sub_table, finds_topics_by_bytes_not_by_hash_alone) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    // Two topics given the same hash: the index must compare the bytes.
    const uint64_t h = 0x1234;
    ASSERT_EQ(t.subscribe(bytes_of("left"), h, ep(1, 1), mac(1)), ringcast::sub_result::added);
    ASSERT_EQ(t.subscribe(bytes_of("right"), h, ep(1, 1), mac(1)), ringcast::sub_result::added);
    EXPECT_EQ(t.topics(), 2u);
    const uint32_t l = t.find_topic(bytes_of("left"), h);
    const uint32_t r = t.find_topic(bytes_of("right"), h);
    ASSERT_NE(l, ringcast::no_id);
    ASSERT_NE(r, ringcast::no_id);
    EXPECT_NE(l, r);
    EXPECT_EQ(t.topic_name(l), "left");
    EXPECT_EQ(t.topic_name(r), "right");
    EXPECT_EQ(t.find_topic(bytes_of("lef"), h), ringcast::no_id);
    ASSERT_EQ(t.unsubscribe(bytes_of("left"), h, ep(1, 1)), ringcast::sub_result::removed);
    EXPECT_EQ(t.find_topic(bytes_of("right"), h), r);
}

TEST(sub_table, for_each_topic_and_subscriber_record_visit_live_entries) {
    ringcast::sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "b", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "c", ep(2, 2)), ringcast::sub_result::added);
    ASSERT_EQ(unsub(t, "b", ep(1, 1)), ringcast::sub_result::removed);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    std::set<std::string> names;
    t.for_each_topic([&](uint32_t id) { names.insert(std::string(t.topic_name(id))); });
    EXPECT_EQ(names, std::set<std::string>{"a"});
    std::vector<ringcast::endpoint> subs;
    t.for_each_subscriber_record([&](const ringcast::subscriber_record& r) { subs.push_back(r.ep); });
    EXPECT_EQ(subs, std::vector<ringcast::endpoint>{ep(1, 1)});
}

TEST(sub_table, refuses_new_topic_at_topic_limit_and_changes_nothing) {
    ringcast::sub_table t(small_limits(2, 16, 16));
    ASSERT_EQ(sub(t, "t1", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "t2", ep(1, 1)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "t3", ep(1, 1)), ringcast::sub_result::topic_limit);
    EXPECT_EQ(sub(t, "t3", ep(2, 2)), ringcast::sub_result::topic_limit);
    expect_counts(t, 2, 2, 1);
    EXPECT_EQ(find(t, "t3"), ringcast::no_id);
    EXPECT_EQ(t.find_subscriber(ep(2, 2)), ringcast::no_id);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(1, 1))).n_subs, 2u);
    // Existing topics still take subscribers; a freed topic makes room.
    EXPECT_EQ(sub(t, "t1", ep(2, 2)), ringcast::sub_result::added);
    ASSERT_EQ(unsub(t, "t2", ep(1, 1)), ringcast::sub_result::removed);
    EXPECT_EQ(sub(t, "t3", ep(1, 1)), ringcast::sub_result::added);
    expect_counts(t, 2, 3, 2);
}

TEST(sub_table, refuses_new_subscription_at_subscription_limit_and_changes_nothing) {
    ringcast::sub_table t(small_limits(16, 3, 16));
    ASSERT_EQ(sub(t, "t1", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "t2", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "t3", ep(1, 1)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "t1", ep(2, 2)), ringcast::sub_result::subscription_limit); // new subscriber
    EXPECT_EQ(sub(t, "t4", ep(1, 1)), ringcast::sub_result::subscription_limit); // new topic
    expect_counts(t, 3, 3, 1);
    EXPECT_EQ(t.find_subscriber(ep(2, 2)), ringcast::no_id);
    EXPECT_EQ(find(t, "t4"), ringcast::no_id);
    EXPECT_EQ(t.topic(find(t, "t1")).n_subs, 1u);
    // What already exists is still reported as such at the limit.
    EXPECT_EQ(sub(t, "t1", ep(1, 1)), ringcast::sub_result::exists);
    ASSERT_EQ(unsub(t, "t3", ep(1, 1)), ringcast::sub_result::removed);
    EXPECT_EQ(sub(t, "t1", ep(2, 2)), ringcast::sub_result::added);
    expect_counts(t, 2, 3, 2);
}

TEST(sub_table, refuses_new_subscriber_at_subscriber_limit_and_changes_nothing) {
    ringcast::sub_table t(small_limits(16, 16, 2));
    ASSERT_EQ(sub(t, "t1", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(sub(t, "t1", ep(2, 2)), ringcast::sub_result::added);
    EXPECT_EQ(sub(t, "t1", ep(3, 3)), ringcast::sub_result::subscriber_limit);
    EXPECT_EQ(sub(t, "t2", ep(3, 3)), ringcast::sub_result::subscriber_limit);
    expect_counts(t, 1, 2, 2);
    EXPECT_EQ(t.find_subscriber(ep(3, 3)), ringcast::no_id);
    EXPECT_EQ(find(t, "t2"), ringcast::no_id);
    EXPECT_EQ(subscribers_of(t, find(t, "t1")).size(), 2u);
    // Known subscribers still subscribe; one leaving makes room.
    EXPECT_EQ(sub(t, "t2", ep(1, 1)), ringcast::sub_result::added);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    EXPECT_EQ(sub(t, "t1", ep(3, 3)), ringcast::sub_result::added);
    expect_counts(t, 2, 3, 2);
}

TEST(sub_table, fills_every_table_to_its_limit) {
    ringcast::sub_table t(small_limits(4, 4, 4));
    for (uint16_t i = 0; i < 4; ++i) {
        ASSERT_EQ(sub(t, "t" + std::to_string(i), ep(i, i)), ringcast::sub_result::added);
    }
    expect_counts(t, 4, 4, 4);
    for (uint16_t i = 0; i < 4; ++i) {
        EXPECT_EQ(t.remove_subscriber(ep(i, i)), 1u);
    }
    expect_counts(t, 0, 0, 0);
    for (uint16_t i = 0; i < 4; ++i) {
        ASSERT_EQ(sub(t, "u" + std::to_string(i), ep(i + 10, i)), ringcast::sub_result::added);
    }
    expect_counts(t, 4, 4, 4);
}

// hash_index on its own, with hashes chosen to collide and to wrap around
// the end of the slot array (16 slots for 8 entries).
TEST(hash_index, backward_shift_keeps_colliding_and_wrapped_entries_findable) {
    ringcast::hash_index idx(8);
    // id -> hash; homes: 14, 14, 15, 14, 0  => slots 14, 15, 0, 1, 2
    const std::vector<uint64_t> hash_of = {14, 14 + 16, 15, 14 + 32, 0};
    auto find_id = [&](uint32_t want) {
        return idx.find(hash_of[want], [&](uint32_t id) { return id == want; });
    };
    for (uint32_t id = 0; id < hash_of.size(); ++id) {
        idx.insert(hash_of[id], id);
    }
    for (uint32_t id = 0; id < hash_of.size(); ++id) {
        EXPECT_EQ(find_id(id), id);
    }
    // Remove from the front of the run; everything after must stay reachable.
    for (uint32_t gone : {0u, 2u, 1u}) {
        EXPECT_EQ(idx.erase(hash_of[gone], [&](uint32_t id) { return id == gone; }), gone);
        EXPECT_EQ(find_id(gone), ringcast::no_id);
        for (uint32_t id = 0; id < hash_of.size(); ++id) {
            if (id == 0 || id == 2 || (id == 1 && gone == 1u)) {
                continue;
            }
            EXPECT_EQ(find_id(id), id) << "after erasing " << gone;
        }
    }
    EXPECT_EQ(find_id(3), 3u);
    EXPECT_EQ(find_id(4), 4u);
    EXPECT_EQ(idx.erase(99, [](uint32_t) { return true; }), ringcast::no_id);
}

TEST(hash_index, erase_of_missing_id_with_same_hash_changes_nothing) {
    ringcast::hash_index idx(4);
    idx.insert(5, 1);
    idx.insert(5, 2);
    EXPECT_EQ(idx.erase(5, [](uint32_t id) { return id == 3; }), ringcast::no_id);
    EXPECT_EQ(idx.find(5, [](uint32_t id) { return id == 1; }), 1u);
    EXPECT_EQ(idx.find(5, [](uint32_t id) { return id == 2; }), 2u);
}

TEST(hash_index, matches_a_map_under_random_inserts_and_erases) {
    constexpr uint32_t max_entries = 32; // 64 slots
    ringcast::hash_index idx(max_entries);
    std::mt19937 rng(1234);
    std::map<uint32_t, uint64_t> model; // id -> hash
    std::vector<uint32_t> free_ids;
    for (uint32_t i = 0; i < max_entries; ++i) {
        free_ids.push_back(i);
    }
    for (int step = 0; step < 20000; ++step) {
        const bool do_insert = !free_ids.empty() && (model.empty() || rng() % 2 == 0);
        if (do_insert) {
            const uint32_t id = free_ids.back();
            free_ids.pop_back();
            // Few distinct homes, clustered at the end of the array, so runs wrap.
            const uint64_t h = 60 + rng() % 8 + 64 * (rng() % 3);
            idx.insert(h, id);
            model[id] = h;
        } else {
            auto it = model.begin();
            std::advance(it, rng() % model.size());
            const uint32_t id = it->first;
            ASSERT_EQ(idx.erase(it->second, [&](uint32_t x) { return x == id; }), id) << "step " << step;
            model.erase(it);
            free_ids.push_back(id);
        }
        for (uint32_t id = 0; id < max_entries; ++id) {
            const auto m = model.find(id);
            const uint64_t h = m == model.end() ? 60 + id % 8 : m->second;
            const uint32_t want = m == model.end() ? ringcast::no_id : id;
            ASSERT_EQ(idx.find(h, [&](uint32_t x) { return x == id; }), want)
                << "step " << step << " id " << id;
        }
    }
}

TEST(id_pool, hands_out_lowest_first_and_reports_exhaustion) {
    ringcast::id_pool pool(3);
    EXPECT_EQ(pool.available(), 3u);
    EXPECT_EQ(pool.take(), 0u);
    EXPECT_EQ(pool.take(), 1u);
    EXPECT_EQ(pool.take(), 2u);
    EXPECT_EQ(pool.available(), 0u);
    EXPECT_EQ(pool.take(), ringcast::no_id);
    pool.give(1);
    EXPECT_EQ(pool.available(), 1u);
    EXPECT_EQ(pool.take(), 1u);
}

// Randomized test against a std::map/std::set model. `clustered` gives topics
// hashes from a handful of values near the end of the topic index's slot
// array, so deletions shift long, wrapping probe runs backwards.
static void run_model_test(bool clustered, uint32_t seed) {
    const ringcast::sub_limits lim = small_limits(24, 60, 12);
    ringcast::sub_table t(lim);
    std::mt19937 rng(seed);

    std::vector<std::string> topics;
    for (int i = 0; i < 40; ++i) {
        topics.push_back("t/" + std::to_string(i));
    }
    std::vector<ringcast::endpoint> eps;
    for (uint16_t i = 0; i < 16; ++i) {
        // Some share an address, some a port, two differ only in port_id.
        eps.push_back(ep(0x0A000000 + i / 2, static_cast<uint16_t>(7000 + i % 5), i == 15 ? 1 : 0));
    }
    eps[14] = ep(0x0A000007, 7004, 0);
    eps[15] = ep(0x0A000007, 7004, 1);
    auto hash = [&](const std::string& s) {
        const uint64_t h = ringcast::topic_hash(bytes_of(s));
        // The topic index has 64 slots for 24 topics: homes 61, 62, 63, 0, 1.
        return clustered ? 61 + h % 5 : h;
    };

    std::map<std::string, std::set<size_t>> model; // topic -> endpoint indexes
    std::map<std::string, uint64_t> model_seq;     // live topic -> seq
    std::map<size_t, uint32_t> model_subs_of;      // endpoint index -> subscriptions
    uint32_t model_subs = 0;

    auto check = [&](int step) {
        ASSERT_EQ(t.topics(), model.size()) << "step " << step;
        ASSERT_EQ(t.subscriptions(), model_subs) << "step " << step;
        ASSERT_EQ(t.subscribers(), model_subs_of.size()) << "step " << step;
        for (const auto& name : topics) {
            const uint32_t tid = t.find_topic(bytes_of(name), hash(name));
            const auto m = model.find(name);
            if (m == model.end()) {
                ASSERT_EQ(tid, ringcast::no_id) << "step " << step << " " << name;
                continue;
            }
            ASSERT_NE(tid, ringcast::no_id) << "step " << step << " " << name;
            ASSERT_EQ(t.topic_name(tid), name);
            ASSERT_EQ(t.topic(tid).n_subs, m->second.size());
            ASSERT_EQ(t.topic(tid).seq, model_seq[name]) << "step " << step << " " << name;
            std::multiset<size_t> got;
            t.for_each_subscriber(tid, [&](ringcast::subscriber_record& r) {
                got.insert(static_cast<size_t>(std::find(eps.begin(), eps.end(), r.ep) - eps.begin()));
            });
            ASSERT_EQ(got, std::multiset<size_t>(m->second.begin(), m->second.end()))
                << "step " << step << " " << name;
        }
        for (size_t e = 0; e < eps.size(); ++e) {
            const uint32_t sid = t.find_subscriber(eps[e]);
            const auto m = model_subs_of.find(e);
            if (m == model_subs_of.end()) {
                ASSERT_EQ(sid, ringcast::no_id) << "step " << step << " ep " << e;
            } else {
                ASSERT_NE(sid, ringcast::no_id) << "step " << step << " ep " << e;
                ASSERT_EQ(t.subscriber(sid).n_subs, m->second) << "step " << step << " ep " << e;
                ASSERT_EQ(t.subscriber(sid).ep, eps[e]);
            }
        }
    };

    auto model_remove = [&](const std::string& name, size_t e) {
        model[name].erase(e);
        if (model[name].empty()) {
            model.erase(name);
            model_seq.erase(name);
        }
        if (--model_subs_of[e] == 0) {
            model_subs_of.erase(e);
        }
        --model_subs;
    };

    int refused = 0;
    int removed_subscribers = 0;
    for (int step = 0; step < 5000; ++step) {
        const std::string& name = topics[rng() % topics.size()];
        const size_t e = rng() % eps.size();
        const uint32_t action = rng() % 100;
        if (action < 50) {
            const auto got = t.subscribe(bytes_of(name), hash(name), eps[e], mac(static_cast<uint8_t>(e)));
            const auto m = model.find(name);
            if (m != model.end() && m->second.count(e) != 0) {
                ASSERT_EQ(got, ringcast::sub_result::exists) << "step " << step;
            } else {
                std::set<ringcast::sub_result> limits;
                if (model_subs == lim.subscriptions) {
                    limits.insert(ringcast::sub_result::subscription_limit);
                }
                if (m == model.end() && model.size() == lim.topics) {
                    limits.insert(ringcast::sub_result::topic_limit);
                }
                if (model_subs_of.count(e) == 0 && model_subs_of.size() == lim.subscribers) {
                    limits.insert(ringcast::sub_result::subscriber_limit);
                }
                if (!limits.empty()) {
                    ASSERT_EQ(limits.count(got), 1u) << "step " << step << " got " << int(got);
                    ++refused;
                } else {
                    ASSERT_EQ(got, ringcast::sub_result::added) << "step " << step;
                    if (m == model.end()) {
                        model_seq[name] = 0;
                    }
                    model[name].insert(e);
                    ++model_subs_of[e];
                    ++model_subs;
                }
            }
        } else if (action < 85) {
            const auto got = t.unsubscribe(bytes_of(name), hash(name), eps[e]);
            const auto m = model.find(name);
            if (m != model.end() && m->second.count(e) != 0) {
                ASSERT_EQ(got, ringcast::sub_result::removed) << "step " << step;
                model_remove(name, e);
            } else {
                ASSERT_EQ(got, ringcast::sub_result::not_found) << "step " << step;
            }
        } else if (action < 93) {
            const uint32_t got = t.remove_subscriber(eps[e]);
            const auto m = model_subs_of.find(e);
            const uint32_t want = m == model_subs_of.end() ? 0 : m->second;
            ASSERT_EQ(got, want) << "step " << step;
            if (want != 0) {
                ++removed_subscribers;
                std::vector<std::string> of_e;
                for (const auto& [topic_name, members] : model) {
                    if (members.count(e) != 0) {
                        of_e.push_back(topic_name);
                    }
                }
                for (const auto& topic_name : of_e) {
                    model_remove(topic_name, e);
                }
            }
        } else if (!model.empty()) {
            // The worker routes a message on a live topic.
            auto it = model.begin();
            std::advance(it, rng() % model.size());
            const uint32_t tid = t.find_topic(bytes_of(it->first), hash(it->first));
            ASSERT_NE(tid, ringcast::no_id);
            ++t.topic(tid).seq;
            ++model_seq[it->first];
        }
        check(step);
        if (testing::Test::HasFatalFailure()) {
            return;
        }
    }
    // The run must have reached the limits and emptied subscribers, or it
    // tested less than it claims.
    EXPECT_GT(refused, 0);
    EXPECT_GT(removed_subscribers, 0);
}

TEST(sub_table, matches_a_model_under_random_operations) {
    run_model_test(false, 20240601);
}

TEST(sub_table, matches_a_model_when_topic_hashes_collide_and_wrap) {
    run_model_test(true, 7);
}
