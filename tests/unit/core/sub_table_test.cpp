// The worker's subscription table (exact topics, wildcard filters, shared
// groups) and the hash index under it: behaviour cases, limits, and a
// randomized test against a std::map model with filter_matches as the
// reference matcher.
#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/topic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using ringcast::no_id;
using ringcast::sub_result;
using ringcast::sub_table;

static std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

static ringcast::endpoint ep(uint32_t ip, uint16_t port, uint16_t port_id = 0) {
    return ringcast::endpoint{.ip = ip, .port = port, .port_id = port_id};
}

static ringcast::mac_addr mac(uint8_t last) {
    return {0x02, 0x00, 0x00, 0x00, 0x00, last};
}

// What the io lcore hands the table: the filter parsed once (and valid).
static ringcast::filter_spec spec_of(std::string_view filter) {
    ringcast::filter_spec spec;
    EXPECT_EQ(ringcast::parse_filter(bytes_of(filter), 255, spec), ringcast::topic_check::ok) << filter;
    return spec;
}

static ringcast::sub_outcome subscribe(sub_table& t, std::string_view filter, const ringcast::endpoint& e,
                                       const ringcast::mac_addr& m = mac(1), uint64_t now = 0,
                                       uint32_t keep = 0) {
    return t.subscribe(spec_of(filter), e, m, now, keep);
}

static sub_result sub(sub_table& t, std::string_view filter, const ringcast::endpoint& e,
                      const ringcast::mac_addr& m = mac(1)) {
    return subscribe(t, filter, e, m).result;
}

static sub_result unsub(sub_table& t, std::string_view filter, const ringcast::endpoint& e,
                        uint64_t now = 0) {
    return t.unsubscribe(spec_of(filter), e, now);
}

static uint32_t find(const sub_table& t, std::string_view topic) {
    return t.find_topic(bytes_of(topic), ringcast::topic_hash(bytes_of(topic)));
}

static uint32_t ensure(sub_table& t, std::string_view topic, uint32_t keep = 0) {
    return t.ensure_topic(bytes_of(topic), ringcast::topic_hash(bytes_of(topic)), keep);
}

// What one message on `topic` reaches: the ip of the subscriber of every
// plain call and the id of every shared call, each sorted, repeats kept.
struct reach {
    std::vector<uint32_t> plain;
    std::vector<uint32_t> groups;
};

static reach deliver(sub_table& t, std::string_view topic) {
    reach r;
    t.for_each_target(
        find(t, topic), bytes_of(topic), [&](ringcast::subscriber_record& s) { r.plain.push_back(s.ep.ip); },
        [&](uint32_t g) { r.groups.push_back(g); });
    std::ranges::sort(r.plain);
    std::ranges::sort(r.groups);
    return r;
}

static std::vector<uint32_t> plain_of(sub_table& t, std::string_view topic) {
    return deliver(t, topic).plain;
}

// The one group a message on `topic` reaches, or no_id.
static uint32_t group_of(sub_table& t, std::string_view topic) {
    const auto g = deliver(t, topic).groups;
    EXPECT_EQ(g.size(), 1u) << topic;
    return g.size() == 1 ? g[0] : no_id;
}

// The ips of `n` picks from the group, every member accepted (0: none picked).
static std::vector<uint32_t> picks(sub_table& t, uint32_t group, size_t n) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < n; ++i) {
        const auto* r = t.pick(group, [](ringcast::subscriber_record&) { return true; });
        out.push_back(r != nullptr ? r->ep.ip : 0);
    }
    return out;
}

// The group's members, sorted: a pick that refuses everyone offers each once.
static std::vector<uint32_t> members_of(sub_table& t, uint32_t group) {
    std::vector<uint32_t> out;
    EXPECT_EQ(t.pick(group,
                     [&](ringcast::subscriber_record& r) {
                         out.push_back(r.ep.ip);
                         return false;
                     }),
              nullptr);
    std::ranges::sort(out);
    return out;
}

static ringcast::sub_limits small_limits(uint32_t topics, uint32_t subscriptions, uint32_t subscribers) {
    ringcast::sub_limits lim;
    lim.topics = topics;
    lim.subscriptions = subscriptions;
    lim.subscribers = subscribers;
    lim.topic_len = 32;
    lim.filters = 16;
    lim.groups = 8;
    return lim;
}

static void expect_counts(const sub_table& t, uint32_t topics, uint32_t subscriptions, uint32_t subscribers) {
    EXPECT_EQ(t.topics(), topics);
    EXPECT_EQ(t.subscriptions(), subscriptions);
    EXPECT_EQ(t.subscribers(), subscribers);
}

static void expect_filter_counts(const sub_table& t, uint32_t filters, uint32_t groups) {
    EXPECT_EQ(t.filters(), filters);
    EXPECT_EQ(t.groups(), groups);
}

using ips = std::vector<uint32_t>;

// --- Exact topics -------------------------------------------------------

TEST(sub_table, starts_empty) {
    sub_table t(small_limits(8, 8, 8));
    expect_counts(t, 0, 0, 0);
    expect_filter_counts(t, 0, 0);
    EXPECT_EQ(find(t, "a"), no_id);
    EXPECT_EQ(t.find_subscriber(ep(1, 1)), no_id);
    EXPECT_FALSE(t.wildcard_match(bytes_of("a")));
    EXPECT_TRUE(plain_of(t, "a").empty());
}

TEST(sub_table, subscribe_adds_then_reports_exists) {
    sub_table t(small_limits(8, 8, 8));
    const auto added = subscribe(t, "a/b", ep(10, 1000));
    EXPECT_EQ(added.result, sub_result::added);
    EXPECT_FALSE(added.wildcard);
    EXPECT_FALSE(added.shared);
    expect_counts(t, 1, 1, 1);
    const auto again = subscribe(t, "a/b", ep(10, 1000));
    EXPECT_EQ(again.result, sub_result::exists);
    expect_counts(t, 1, 1, 1);
    const uint32_t tid = find(t, "a/b");
    ASSERT_NE(tid, no_id);
    EXPECT_EQ(added.topic, tid);
    EXPECT_EQ(again.topic, tid);
    EXPECT_EQ(t.topic(tid).n_subs, 1u);
    EXPECT_EQ(t.topic(tid).hash, ringcast::topic_hash(bytes_of("a/b")));
    const uint32_t sid = t.find_subscriber(ep(10, 1000));
    ASSERT_NE(sid, no_id);
    EXPECT_EQ(added.subscriber, sid);
    EXPECT_EQ(again.subscriber, sid);
    EXPECT_EQ(t.subscriber(sid).ep, ep(10, 1000));
    EXPECT_EQ(t.subscriber(sid).n_subs, 1u);
}

TEST(sub_table, outcome_tells_the_kind_of_filter) {
    sub_table t(small_limits(8, 8, 8));
    const auto wild = subscribe(t, "a/+", ep(1, 1));
    EXPECT_EQ(wild.result, sub_result::added);
    EXPECT_TRUE(wild.wildcard);
    EXPECT_FALSE(wild.shared);
    EXPECT_EQ(wild.topic, no_id);
    EXPECT_EQ(wild.subscriber, t.find_subscriber(ep(1, 1)));
    const auto shared_exact = subscribe(t, "$share/g/a/b", ep(1, 1));
    EXPECT_EQ(shared_exact.result, sub_result::added);
    EXPECT_FALSE(shared_exact.wildcard);
    EXPECT_TRUE(shared_exact.shared);
    EXPECT_EQ(shared_exact.topic, no_id);
    EXPECT_EQ(shared_exact.subscriber, wild.subscriber);
    const auto shared_wild = subscribe(t, "$share/g/a/#", ep(2, 2));
    EXPECT_EQ(shared_wild.result, sub_result::added);
    EXPECT_TRUE(shared_wild.wildcard);
    EXPECT_TRUE(shared_wild.shared);
    EXPECT_EQ(shared_wild.topic, no_id);
    EXPECT_EQ(shared_wild.subscriber, t.find_subscriber(ep(2, 2)));
    // Only the shared exact filter made a topic record; groups count as filters.
    expect_counts(t, 1, 3, 2);
    expect_filter_counts(t, 3, 2);
    EXPECT_EQ(t.subscriber(wild.subscriber).n_subs, 2u);
}

TEST(sub_table, subscribe_creates_the_topic_with_keep_and_stamps_activity) {
    sub_table t(small_limits(8, 8, 8));
    const auto o = subscribe(t, "k", ep(1, 1), mac(1), 7, 16);
    ASSERT_EQ(o.result, sub_result::added);
    EXPECT_EQ(t.topic(o.topic).keep, 16u);
    EXPECT_EQ(t.topic(o.topic).last_active, 7u);
    // An existing topic keeps its R; SUB and UNSUB stamp its activity.
    ASSERT_EQ(subscribe(t, "k", ep(2, 2), mac(2), 8, 99).result, sub_result::added);
    EXPECT_EQ(t.topic(o.topic).keep, 16u);
    EXPECT_EQ(t.topic(o.topic).last_active, 8u);
    ASSERT_EQ(unsub(t, "k", ep(2, 2), 12), sub_result::removed);
    EXPECT_EQ(t.topic(o.topic).last_active, 12u);
    // A group on an exact filter creates the topic the same way.
    ASSERT_EQ(subscribe(t, "$share/g/k2", ep(1, 1), mac(1), 20, 5).result, sub_result::added);
    const uint32_t k2 = find(t, "k2");
    ASSERT_NE(k2, no_id);
    EXPECT_EQ(t.topic(k2).keep, 5u);
    EXPECT_EQ(t.topic(k2).last_active, 20u);
    // A wildcard filter makes no topic.
    ASSERT_EQ(subscribe(t, "k/+", ep(1, 1), mac(1), 30, 5).result, sub_result::added);
    EXPECT_EQ(t.topics(), 2u);
    EXPECT_EQ(t.topic(o.topic).last_active, 12u);
}

TEST(sub_table, subscribe_again_refreshes_the_mac) {
    sub_table t(small_limits(8, 8, 8));
    const auto a = ep(10, 1000);
    ASSERT_EQ(sub(t, "a", a, mac(1)), sub_result::added);
    EXPECT_EQ(sub(t, "a", a, mac(2)), sub_result::exists);
    EXPECT_EQ(t.subscriber(t.find_subscriber(a)).mac, mac(2));
    ASSERT_EQ(sub(t, "b", a, mac(3)), sub_result::added);
    EXPECT_EQ(t.subscriber(t.find_subscriber(a)).mac, mac(3));
    // The same for a wildcard filter and for a group membership.
    ASSERT_EQ(sub(t, "c/+", a, mac(4)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/c/#", a, mac(5)), sub_result::added);
    EXPECT_EQ(sub(t, "c/+", a, mac(6)), sub_result::exists);
    EXPECT_EQ(t.subscriber(t.find_subscriber(a)).mac, mac(6));
    EXPECT_EQ(sub(t, "$share/g/c/#", a, mac(7)), sub_result::exists);
    EXPECT_EQ(t.subscriber(t.find_subscriber(a)).mac, mac(7));
    expect_counts(t, 2, 4, 1);
    expect_filter_counts(t, 2, 1);
}

TEST(sub_table, tells_endpoints_apart_by_ip_port_and_port_id) {
    sub_table t(small_limits(8, 8, 8));
    EXPECT_EQ(sub(t, "a", ep(10, 1000, 0)), sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(11, 1000, 0)), sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(10, 1001, 0)), sub_result::added);
    EXPECT_EQ(sub(t, "a", ep(10, 1000, 1)), sub_result::added);
    expect_counts(t, 1, 4, 4);
}

TEST(sub_table, unsubscribe_removes_then_reports_not_found) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a/b", ep(10, 1000)), sub_result::added);
    EXPECT_EQ(unsub(t, "a/b", ep(10, 1000)), sub_result::removed);
    // The topic stays (its seq with it) until the worker forgets it.
    expect_counts(t, 1, 0, 0);
    const uint32_t tid = find(t, "a/b");
    ASSERT_NE(tid, no_id);
    EXPECT_FALSE(t.topic_in_use(tid));
    EXPECT_TRUE(plain_of(t, "a/b").empty());
    EXPECT_EQ(t.find_subscriber(ep(10, 1000)), no_id);
    EXPECT_EQ(unsub(t, "a/b", ep(10, 1000)), sub_result::not_found);
}

TEST(sub_table, unsubscribe_of_what_was_never_subscribed_is_not_found_and_changes_nothing) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "b", ep(2, 2)), sub_result::added);
    EXPECT_EQ(unsub(t, "c", ep(1, 1)), sub_result::not_found); // unknown topic
    EXPECT_EQ(unsub(t, "a", ep(3, 3)), sub_result::not_found); // unknown subscriber
    EXPECT_EQ(unsub(t, "a", ep(2, 2)), sub_result::not_found); // both known, not joined
    EXPECT_EQ(unsub(t, "b", ep(1, 1)), sub_result::not_found);
    expect_counts(t, 2, 2, 2);
}

TEST(sub_table, visits_each_subscriber_of_a_topic_once) {
    sub_table t(small_limits(8, 16, 8));
    std::vector<ringcast::endpoint> eps;
    for (uint16_t i = 0; i < 5; ++i) {
        eps.push_back(ep(0x0A000001 + i, static_cast<uint16_t>(5000 + i)));
        ASSERT_EQ(sub(t, "news", eps.back(), mac(static_cast<uint8_t>(i))), sub_result::added);
    }
    ASSERT_EQ(sub(t, "other", eps[0], mac(0)), sub_result::added);
    ASSERT_EQ(sub(t, "other", ep(99, 99)), sub_result::added);

    const uint32_t tid = find(t, "news");
    ASSERT_NE(tid, no_id);
    EXPECT_EQ(t.topic(tid).n_subs, 5u);
    std::map<uint32_t, int> seen;
    int shared_calls = 0;
    t.for_each_target(
        tid, bytes_of("news"),
        [&](ringcast::subscriber_record& r) {
            ++seen[r.ep.ip];
            EXPECT_EQ(r.mac, mac(static_cast<uint8_t>(r.ep.ip - 0x0A000001)));
        },
        [&](uint32_t) { ++shared_calls; });
    EXPECT_EQ(shared_calls, 0);
    ASSERT_EQ(seen.size(), 5u);
    for (const auto& e : eps) {
        EXPECT_EQ(seen[e.ip], 1) << e.ip;
    }

    // After one leaves, the others are still visited once each.
    ASSERT_EQ(unsub(t, "news", eps[2]), sub_result::removed);
    EXPECT_EQ(plain_of(t, "news"), (ips{eps[0].ip, eps[1].ip, eps[3].ip, eps[4].ip}));
}

TEST(sub_table, for_each_target_may_update_delivery_counts) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "a", ep(2, 2)), sub_result::added);
    for (int i = 0; i < 2; ++i) {
        t.for_each_target(
            find(t, "a"), bytes_of("a"), [](ringcast::subscriber_record& r) { ++r.stats.deliveries; },
            [](uint32_t) {});
    }
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(1, 1))).stats.deliveries, 2u);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(2, 2))).stats.deliveries, 2u);
}

TEST(sub_table, remove_subscriber_drops_all_its_subscriptions) {
    sub_table t(small_limits(16, 16, 8));
    const auto a = ep(1, 1);
    const auto b = ep(2, 2);
    for (const char* topic : {"t0", "t1", "t2", "t3", "t4"}) {
        ASSERT_EQ(sub(t, topic, a), sub_result::added);
    }
    ASSERT_EQ(sub(t, "t/+", a), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/t/#", a), sub_result::added);
    ASSERT_EQ(sub(t, "t1", b), sub_result::added);
    ASSERT_EQ(sub(t, "t3", b), sub_result::added);
    expect_counts(t, 5, 9, 2);
    expect_filter_counts(t, 2, 1);

    EXPECT_EQ(t.remove_subscriber(a), 7u);
    expect_counts(t, 5, 2, 1);
    expect_filter_counts(t, 0, 0);
    EXPECT_EQ(t.find_subscriber(a), no_id);
    EXPECT_FALSE(t.wildcard_match(bytes_of("t/x")));
    for (const char* gone : {"t0", "t2", "t4"}) {
        const uint32_t tid = find(t, gone);
        ASSERT_NE(tid, no_id) << gone;
        EXPECT_FALSE(t.topic_in_use(tid)) << gone;
        EXPECT_TRUE(plain_of(t, gone).empty()) << gone;
    }
    for (const char* kept : {"t1", "t3"}) {
        const uint32_t tid = find(t, kept);
        ASSERT_NE(tid, no_id) << kept;
        EXPECT_TRUE(t.topic_in_use(tid)) << kept;
        EXPECT_EQ(plain_of(t, kept), ips{b.ip}) << kept;
    }

    EXPECT_EQ(t.remove_subscriber(b), 2u);
    expect_counts(t, 5, 0, 0);
    EXPECT_FALSE(t.topic_in_use(find(t, "t1")));
    EXPECT_EQ(t.remove_subscriber(b), 0u);
    EXPECT_EQ(t.remove_subscriber(ep(7, 7)), 0u);
}

TEST(sub_table, removed_subscriber_can_subscribe_again_from_scratch) {
    sub_table t(small_limits(8, 8, 8));
    const auto a = ep(1, 1);
    ASSERT_EQ(sub(t, "x", a), sub_result::added);
    t.subscriber(t.find_subscriber(a)).stats.deliveries = 42;
    t.subscriber(t.find_subscriber(a)).stats.drops = 3;
    ASSERT_EQ(t.remove_subscriber(a), 1u);
    ASSERT_EQ(sub(t, "y", a), sub_result::added);
    const uint32_t sid = t.find_subscriber(a);
    ASSERT_NE(sid, no_id);
    EXPECT_EQ(t.subscriber(sid).n_subs, 1u);
    EXPECT_EQ(t.subscriber(sid).stats.deliveries, 0u);
    EXPECT_EQ(t.subscriber(sid).stats.drops, 0u);
}

TEST(sub_table, topic_seq_survives_subscribers_coming_and_going) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "t", ep(1, 1)), sub_result::added);
    const uint32_t tid = find(t, "t");
    EXPECT_EQ(t.topic(tid).seq, 0u);
    t.topic(tid).seq = 5; // the worker routed five messages
    ASSERT_EQ(sub(t, "t", ep(2, 2)), sub_result::added);
    ASSERT_EQ(unsub(t, "t", ep(1, 1)), sub_result::removed);
    ASSERT_EQ(find(t, "t"), tid);
    EXPECT_EQ(t.topic(tid).seq, 5u);
    // Even with no subscriber left, until the worker forgets the topic.
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    ASSERT_EQ(find(t, "t"), tid);
    EXPECT_EQ(t.topic(tid).seq, 5u);
    ASSERT_EQ(sub(t, "t", ep(1, 1)), sub_result::added);
    EXPECT_EQ(find(t, "t"), tid);
    EXPECT_EQ(t.topic(tid).seq, 5u);
}

TEST(sub_table, forgotten_topic_recreated_starts_at_seq_0) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "t", ep(1, 1)), sub_result::added);
    t.topic(find(t, "t")).seq = 9;
    ASSERT_EQ(unsub(t, "t", ep(1, 1)), sub_result::removed);
    t.forget_topic(find(t, "t"));
    EXPECT_EQ(find(t, "t"), no_id);
    EXPECT_EQ(t.topics(), 0u);
    ASSERT_EQ(sub(t, "t", ep(2, 2)), sub_result::added);
    EXPECT_EQ(t.topic(find(t, "t")).seq, 0u);

    // The same through remove_subscriber, and for a different topic reusing the id.
    t.topic(find(t, "t")).seq = 4;
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    t.forget_topic(find(t, "t"));
    ASSERT_EQ(sub(t, "u", ep(3, 3)), sub_result::added);
    EXPECT_EQ(t.topic(find(t, "u")).seq, 0u);
    ASSERT_EQ(sub(t, "t", ep(3, 3)), sub_result::added);
    EXPECT_EQ(t.topic(find(t, "t")).seq, 0u);
}

TEST(sub_table, topic_name_returns_the_bytes) {
    ringcast::sub_limits lim = small_limits(8, 8, 8);
    lim.topic_len = 255;
    sub_table t(lim);
    const std::string long_topic(255, 'L');
    const std::vector<std::string> topics = {"a", "sensors/x", "sensors/y", long_topic, "z"};
    for (const auto& s : topics) {
        ASSERT_EQ(sub(t, s, ep(1, 1)), sub_result::added);
    }
    for (const auto& s : topics) {
        const uint32_t tid = find(t, s);
        ASSERT_NE(tid, no_id);
        EXPECT_EQ(t.topic_name(tid), s);
        EXPECT_EQ(t.topic(tid).len, s.size());
    }
}

TEST(sub_table, topic_name_at_the_configured_length_limit) {
    ringcast::sub_limits lim = small_limits(4, 4, 4);
    lim.topic_len = 8;
    sub_table t(lim);
    ASSERT_EQ(sub(t, "12345678", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "abcdefgh", ep(1, 1)), sub_result::added);
    EXPECT_EQ(t.topic_name(find(t, "12345678")), "12345678");
    EXPECT_EQ(t.topic_name(find(t, "abcdefgh")), "abcdefgh");
}

TEST(sub_table, finds_topics_by_bytes_not_by_hash_alone) {
    sub_table t(small_limits(8, 8, 8));
    // Two topics given the same hash: the index must compare the bytes.
    const uint64_t h = 0x1234;
    const uint32_t l = t.ensure_topic(bytes_of("left"), h, 0);
    const uint32_t r = t.ensure_topic(bytes_of("right"), h, 0);
    ASSERT_NE(l, no_id);
    ASSERT_NE(r, no_id);
    EXPECT_NE(l, r);
    EXPECT_EQ(t.topics(), 2u);
    EXPECT_EQ(t.find_topic(bytes_of("left"), h), l);
    EXPECT_EQ(t.find_topic(bytes_of("right"), h), r);
    EXPECT_EQ(t.ensure_topic(bytes_of("right"), h, 0), r);
    EXPECT_EQ(t.topic_name(l), "left");
    EXPECT_EQ(t.topic_name(r), "right");
    EXPECT_EQ(t.find_topic(bytes_of("lef"), h), no_id);
    t.forget_topic(l);
    EXPECT_EQ(t.find_topic(bytes_of("left"), h), no_id);
    EXPECT_EQ(t.find_topic(bytes_of("right"), h), r);
}

TEST(sub_table, for_each_topic_and_subscriber_record_visit_live_entries) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "b", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "c", ep(2, 2)), sub_result::added);
    ASSERT_NE(ensure(t, "d"), no_id);
    ASSERT_EQ(unsub(t, "b", ep(1, 1)), sub_result::removed);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    t.forget_topic(find(t, "b"));
    t.forget_topic(find(t, "c"));
    std::set<std::string> names;
    t.for_each_topic([&](uint32_t id) { names.insert(std::string(t.topic_name(id))); });
    EXPECT_EQ(names, (std::set<std::string>{"a", "d"}));
    std::vector<ringcast::endpoint> subs;
    for (uint32_t id = 0; id < t.subscriber_capacity(); ++id) {
        if (t.subscriber(id).n_subs != 0) {
            subs.push_back(t.subscriber(id).ep);
        }
    }
    EXPECT_EQ(subs, std::vector<ringcast::endpoint>{ep(1, 1)});
}

// --- ensure_topic, forget_topic, topic_in_use -----------------------------

TEST(sub_table, ensure_topic_creates_with_keep_then_finds_the_existing_one) {
    sub_table t(small_limits(2, 8, 8));
    const uint32_t a = ensure(t, "a", 7);
    ASSERT_NE(a, no_id);
    EXPECT_EQ(find(t, "a"), a);
    EXPECT_EQ(t.topic(a).keep, 7u);
    EXPECT_EQ(t.topic(a).seq, 0u);
    EXPECT_EQ(t.topic_name(a), "a");
    EXPECT_FALSE(t.topic_in_use(a));
    EXPECT_EQ(t.topics(), 1u);
    // Found again, its R unchanged; a subscriber joins the same record.
    EXPECT_EQ(ensure(t, "a", 99), a);
    EXPECT_EQ(t.topic(a).keep, 7u);
    const auto o = subscribe(t, "a", ep(1, 1), mac(1), 0, 50);
    EXPECT_EQ(o.topic, a);
    EXPECT_EQ(t.topic(a).keep, 7u);
    EXPECT_EQ(t.topics(), 1u);
    // Full: a new topic is refused, an existing one still found.
    ASSERT_NE(ensure(t, "b"), no_id);
    EXPECT_EQ(ensure(t, "c"), no_id);
    EXPECT_EQ(find(t, "c"), no_id);
    EXPECT_EQ(t.topics(), 2u);
    EXPECT_EQ(ensure(t, "a"), a);
}

TEST(sub_table, forget_topic_frees_the_record_and_its_id_is_reused) {
    sub_table t(small_limits(4, 8, 8));
    const uint32_t a = ensure(t, "a", 3);
    const uint32_t b = ensure(t, "b", 3);
    ASSERT_NE(a, no_id);
    ASSERT_NE(b, no_id);
    t.topic(a).seq = 11;
    t.topic(a).last_active = 5;
    t.forget_topic(a);
    EXPECT_EQ(find(t, "a"), no_id);
    EXPECT_EQ(t.topics(), 1u);
    EXPECT_EQ(find(t, "b"), b);
    bool visited = false;
    t.for_each_topic([&](uint32_t id) { visited = visited || id == a; });
    EXPECT_FALSE(visited);
    // The freed id goes to the next new topic, which starts afresh.
    const uint32_t c = ensure(t, "c", 1);
    EXPECT_EQ(c, a);
    EXPECT_EQ(t.topic_name(c), "c");
    EXPECT_EQ(t.topic(c).seq, 0u);
    EXPECT_EQ(t.topic(c).last_active, 0u);
    EXPECT_EQ(t.topic(c).keep, 1u);
    const uint32_t again = ensure(t, "a", 2);
    ASSERT_NE(again, no_id);
    EXPECT_EQ(t.topic(again).seq, 0u);
    EXPECT_EQ(t.topic(again).keep, 2u);
}

TEST(sub_table, topic_in_use_counts_plain_subscriptions_and_groups_only) {
    sub_table t(small_limits(8, 8, 8));
    const uint32_t tid = ensure(t, "a/b");
    EXPECT_FALSE(t.topic_in_use(tid));
    // Wildcard filters matching the topic do not hold it.
    ASSERT_EQ(sub(t, "a/+", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/w/a/#", ep(1, 1)), sub_result::added);
    EXPECT_FALSE(t.topic_in_use(tid));
    ASSERT_EQ(sub(t, "a/b", ep(2, 2)), sub_result::added);
    EXPECT_TRUE(t.topic_in_use(tid));
    ASSERT_EQ(sub(t, "$share/g/a/b", ep(3, 3)), sub_result::added);
    ASSERT_EQ(unsub(t, "a/b", ep(2, 2)), sub_result::removed);
    EXPECT_TRUE(t.topic_in_use(tid)); // only a group now
    EXPECT_EQ(t.topic(tid).n_subs, 0u);
    ASSERT_EQ(unsub(t, "$share/g/a/b", ep(3, 3)), sub_result::removed);
    EXPECT_FALSE(t.topic_in_use(tid));
    EXPECT_EQ(find(t, "a/b"), tid);
}

// --- Wildcards and once per subscriber ------------------------------------

TEST(sub_table, a_subscriber_with_overlapping_filters_gets_a_message_once) {
    sub_table t(small_limits(8, 8, 8));
    const auto a = ep(1, 1);
    for (const char* f : {"a/b", "a/+", "a/#", "#"}) {
        ASSERT_EQ(sub(t, f, a), sub_result::added) << f;
    }
    expect_counts(t, 1, 4, 1);
    expect_filter_counts(t, 3, 0);
    int plain_calls = 0;
    int shared_calls = 0;
    t.for_each_target(
        find(t, "a/b"), bytes_of("a/b"),
        [&](ringcast::subscriber_record& r) {
            ++plain_calls;
            EXPECT_EQ(r.ep, a);
        },
        [&](uint32_t) { ++shared_calls; });
    EXPECT_EQ(plain_calls, 1);
    EXPECT_EQ(shared_calls, 0);
    // Topics matched by fewer of the filters, with and without a record.
    EXPECT_EQ(plain_of(t, "a/c"), ips{1});
    EXPECT_EQ(plain_of(t, "a"), ips{1});
    EXPECT_EQ(plain_of(t, "z"), ips{1});
    ASSERT_NE(ensure(t, "a/c"), no_id);
    EXPECT_EQ(plain_of(t, "a/c"), ips{1});
}

TEST(sub_table, two_subscribers_with_overlapping_filters_each_get_a_message_once) {
    sub_table t(small_limits(8, 8, 8));
    for (const char* f : {"a/+", "a/#"}) {
        ASSERT_EQ(sub(t, f, ep(1, 1)), sub_result::added);
    }
    for (const char* f : {"a/b", "#", "+/b"}) {
        ASSERT_EQ(sub(t, f, ep(2, 2)), sub_result::added);
    }
    EXPECT_EQ(plain_of(t, "a/b"), (ips{1, 2}));
    EXPECT_EQ(plain_of(t, "a/c"), (ips{1, 2}));
    EXPECT_EQ(plain_of(t, "x/b"), ips{2});
}

TEST(sub_table, the_once_stamp_is_fresh_for_every_message) {
    sub_table t(small_limits(8, 8, 8));
    // Only wildcard filters: every delivery goes through the stamp check.
    ASSERT_EQ(sub(t, "a/+", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "#", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "a/b", ep(2, 2)), sub_result::added);
    ASSERT_EQ(sub(t, "+/b", ep(2, 2)), sub_result::added);
    const std::vector<std::pair<std::string, ips>> messages = {
        {"a/b", {1, 2}}, {"a/b", {1, 2}}, {"x", {1}}, {"a/b", {1, 2}}, {"x/b", {1, 2}}, {"x/b", {1, 2}},
    };
    for (size_t i = 0; i < messages.size(); ++i) {
        t.for_each_target(
            find(t, messages[i].first), bytes_of(messages[i].first),
            [](ringcast::subscriber_record& r) { ++r.stats.deliveries; }, [](uint32_t) {});
    }
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(1, 1))).stats.deliveries, 6u);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(2, 2))).stats.deliveries, 5u);
    for (const auto& [topic, want] : messages) {
        EXPECT_EQ(plain_of(t, topic), want) << topic;
    }
}

struct isolation_case {
    std::string_view filter;
    std::string_view topic;
    bool reached;
};

TEST(sub_table, wildcards_reach_exactly_the_topics_they_match) {
    const std::vector<isolation_case> cases = {
        {"a/+", "a/b", true},     {"a/+", "a/b/c", false},   {"a/+", "a", false},     {"a/#", "a", true},
        {"a/#", "a/b", true},     {"a/#", "a/b/c", true},    {"a/#", "ab", false},    {"a/#", "b/a", false},
        {"+/b", "a/b", true},     {"+/b", "a/c", false},     {"+/b", "a/b/c", false}, {"+", "a", true},
        {"+", "a/b", false},      {"#", "a/b/c", true},      {"+/+", "a", false},     {"+/+", "a/b", true},
        {"a/+/c", "a/x/c", true}, {"a/+/c", "a/x/d", false}, {"+/#", "a", true},      {"+/#", "a/b/c", true},
        {"a/b/#", "a/b", true},   {"a/b/#", "a/c", false},   {"a/+/+", "a/b", false}, {"x/+", "a/b", false},
    };
    for (const auto& c : cases) {
        ringcast::sub_limits lim = small_limits(8, 8, 8);
        sub_table t(lim);
        ASSERT_EQ(sub(t, c.filter, ep(1, 1)), sub_result::added) << c.filter;
        ASSERT_EQ(sub(t, std::string("$share/g/") + std::string(c.filter), ep(2, 2)), sub_result::added);
        const reach r = deliver(t, c.topic);
        EXPECT_EQ(r.plain, c.reached ? ips{1} : ips{}) << c.filter << " on " << c.topic;
        EXPECT_EQ(r.groups.size(), c.reached ? 1u : 0u) << c.filter << " on " << c.topic;
        EXPECT_EQ(t.wildcard_match(bytes_of(c.topic)), c.reached) << c.filter << " on " << c.topic;
    }
}

TEST(sub_table, wildcard_filters_are_kept_apart_from_topics_of_the_same_name) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "a/+", ep(1, 1)), sub_result::added);
    // A filter makes no topic record; unsubscribing it leaves the trie empty.
    EXPECT_EQ(find(t, "a/+"), no_id);
    EXPECT_EQ(t.topics(), 0u);
    ASSERT_EQ(unsub(t, "a/+", ep(1, 1)), sub_result::removed);
    EXPECT_FALSE(t.wildcard_match(bytes_of("a/b")));
    EXPECT_TRUE(plain_of(t, "a/b").empty());
}

TEST(sub_table, unsubscribe_of_wildcard_and_shared_filters) {
    sub_table t(small_limits(8, 8, 8));
    const auto a = ep(1, 1);
    ASSERT_EQ(sub(t, "a/+", a), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/a/#", a), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/x", a), sub_result::added);
    expect_filter_counts(t, 3, 2);
    // Each form is its own subscription: the wrong form or group is not found.
    EXPECT_EQ(unsub(t, "a/#", a), sub_result::not_found);
    EXPECT_EQ(unsub(t, "$share/g/a/+", a), sub_result::not_found);
    EXPECT_EQ(unsub(t, "$share/h/a/#", a), sub_result::not_found);
    EXPECT_EQ(unsub(t, "x", a), sub_result::not_found);
    EXPECT_EQ(unsub(t, "$share/g/a/#", ep(2, 2)), sub_result::not_found);
    EXPECT_EQ(unsub(t, "b/+", a), sub_result::not_found);
    expect_filter_counts(t, 3, 2);

    EXPECT_EQ(unsub(t, "a/+", a), sub_result::removed);
    EXPECT_TRUE(plain_of(t, "a/b").empty());
    EXPECT_EQ(deliver(t, "a/b").groups.size(), 1u);
    EXPECT_EQ(unsub(t, "a/+", a), sub_result::not_found);
    EXPECT_EQ(unsub(t, "$share/g/a/#", a), sub_result::removed);
    EXPECT_TRUE(deliver(t, "a/b").groups.empty());
    EXPECT_FALSE(t.wildcard_match(bytes_of("a/b")));
    EXPECT_EQ(unsub(t, "$share/g/x", a), sub_result::removed);
    EXPECT_TRUE(deliver(t, "x").groups.empty());
    expect_counts(t, 1, 0, 0);
    expect_filter_counts(t, 0, 0);
}

TEST(sub_table, the_same_wildcard_filter_held_by_many_subscribers) {
    sub_table t(small_limits(8, 8, 8));
    for (uint16_t i = 1; i <= 4; ++i) {
        ASSERT_EQ(sub(t, "s/+", ep(i, i)), sub_result::added);
    }
    EXPECT_EQ(plain_of(t, "s/1"), (ips{1, 2, 3, 4}));
    ASSERT_EQ(unsub(t, "s/+", ep(2, 2)), sub_result::removed);
    ASSERT_EQ(t.remove_subscriber(ep(4, 4)), 1u);
    EXPECT_EQ(plain_of(t, "s/1"), (ips{1, 3}));
    EXPECT_EQ(t.filters(), 2u);
}

// --- Shared groups --------------------------------------------------------

// Subscribes members 1..n (ip = port = i) to `filter` and returns its group.
static uint32_t make_group(sub_table& t, std::string_view filter, std::string_view topic, uint16_t n) {
    for (uint16_t i = 1; i <= n; ++i) {
        EXPECT_EQ(sub(t, filter, ep(i, i)), sub_result::added) << filter;
    }
    return group_of(t, topic);
}

TEST(sub_table, group_picks_rotate_round_robin_over_its_members) {
    for (const char* filter : {"$share/g/a/b", "$share/g/a/+", "$share/g/#"}) {
        sub_table t(small_limits(8, 8, 8));
        const uint32_t g = make_group(t, filter, "a/b", 3);
        ASSERT_NE(g, no_id);
        EXPECT_EQ(t.groups(), 1u);
        EXPECT_EQ(members_of(t, g), (ips{1, 2, 3})) << filter;
        const auto got = picks(t, g, 9);
        std::map<uint32_t, int> count;
        for (uint32_t ip : got) {
            ++count[ip];
        }
        EXPECT_EQ(count, (std::map<uint32_t, int>{{1, 3}, {2, 3}, {3, 3}})) << filter;
        // A fixed cyclic order: every round of three the same.
        for (size_t i = 3; i < got.size(); ++i) {
            EXPECT_EQ(got[i], got[i - 3]) << filter << " pick " << i;
        }
    }
}

TEST(sub_table, group_with_one_member_always_picks_it) {
    sub_table t(small_limits(8, 8, 8));
    const uint32_t g = make_group(t, "$share/g/a", "a", 1);
    EXPECT_EQ(picks(t, g, 3), (ips{1, 1, 1}));
}

TEST(sub_table, a_member_joining_takes_part_in_the_rotation) {
    sub_table t(small_limits(8, 8, 8));
    const uint32_t g = make_group(t, "$share/g/a/+", "a/b", 2);
    (void)picks(t, g, 1);
    ASSERT_EQ(sub(t, "$share/g/a/+", ep(3, 3)), sub_result::added);
    EXPECT_EQ(group_of(t, "a/b"), g);
    const auto got = picks(t, g, 6);
    EXPECT_EQ(std::ranges::count(got, 1u), 2);
    EXPECT_EQ(std::ranges::count(got, 2u), 2);
    EXPECT_EQ(std::ranges::count(got, 3u), 2);
}

// Removes a member of a 3-member group in some way, at some point of the
// rotation, and checks that the rotation goes on among the other two.
enum class leave_by { unsubscribe, remove_subscriber };

static void check_member_leaving(const char* filter, leave_by how, size_t picks_before,
                                 size_t leaver_offset) {
    SCOPED_TRACE(std::string(filter) +
                 (how == leave_by::unsubscribe ? " unsubscribe" : " remove_subscriber") + " after " +
                 std::to_string(picks_before) + " offset " + std::to_string(leaver_offset));
    sub_table t(small_limits(8, 8, 8));
    const uint32_t g = make_group(t, filter, "a/b", 3);
    ASSERT_NE(g, no_id);
    ASSERT_EQ(sub(t, "other", ep(1, 1)), sub_result::added); // so remove_subscriber drops two
    const auto cycle = picks(t, g, 3);
    (void)picks(t, g, picks_before);
    // The member whose turn is `leaver_offset` picks ahead.
    const uint32_t leaver = cycle[(picks_before + leaver_offset) % 3];
    if (how == leave_by::unsubscribe) {
        ASSERT_EQ(unsub(t, filter, ep(leaver, static_cast<uint16_t>(leaver))), sub_result::removed);
    } else {
        ASSERT_EQ(t.remove_subscriber(ep(leaver, static_cast<uint16_t>(leaver))), leaver == 1 ? 2u : 1u);
    }
    EXPECT_EQ(t.groups(), 1u);
    ips rest;
    for (size_t i = 0; i < 3; ++i) {
        const uint32_t m = cycle[(picks_before + i) % 3];
        if (m != leaver) {
            rest.push_back(m);
        }
    }
    // Skipped at once; the others keep their order, no one twice in a row.
    EXPECT_EQ(picks(t, g, 4), (ips{rest[0], rest[1], rest[0], rest[1]}));
}

TEST(sub_table, a_member_leaving_is_skipped_at_once_without_doubling_anyone) {
    for (const char* filter : {"$share/g/a/b", "$share/g/a/+"}) {
        for (const leave_by how : {leave_by::unsubscribe, leave_by::remove_subscriber}) {
            for (size_t before = 0; before < 3; ++before) {
                for (size_t offset = 0; offset < 3; ++offset) {
                    check_member_leaving(filter, how, before, offset);
                }
            }
        }
    }
}

TEST(sub_table, a_refused_member_passes_its_turn_on) {
    sub_table t(small_limits(8, 8, 8));
    const uint32_t g = make_group(t, "$share/g/a/+", "a/b", 3);
    const auto cycle = picks(t, g, 3);
    const uint32_t lapsed = cycle[1];
    auto all_but_lapsed = [&](ringcast::subscriber_record& r) { return r.ep.ip != lapsed; };
    std::vector<uint32_t> got;
    for (int i = 0; i < 4; ++i) {
        const auto* r = t.pick(g, all_but_lapsed);
        ASSERT_NE(r, nullptr);
        got.push_back(r->ep.ip);
    }
    EXPECT_EQ(got, (ips{cycle[0], cycle[2], cycle[0], cycle[2]}));
    // When it accepts again it is back in turn.
    EXPECT_EQ(picks(t, g, 3), (ips{cycle[0], cycle[1], cycle[2]}));
}

TEST(sub_table, a_pick_that_everyone_refuses_offers_each_member_once_and_keeps_the_turn) {
    sub_table t(small_limits(8, 8, 8));
    const uint32_t g = make_group(t, "$share/g/a", "a", 3);
    const auto cycle = picks(t, g, 3);
    (void)picks(t, g, 1);
    int offered = 0;
    EXPECT_EQ(t.pick(g,
                     [&](ringcast::subscriber_record&) {
                         ++offered;
                         return false;
                     }),
              nullptr);
    EXPECT_EQ(offered, 3);
    EXPECT_EQ(picks(t, g, 3), (ips{cycle[1], cycle[2], cycle[0]}));
}

TEST(sub_table, the_last_member_leaving_frees_an_exact_group) {
    sub_table t(small_limits(8, 8, 8));
    (void)make_group(t, "$share/g/a", "a", 2);
    const uint32_t tid = find(t, "a");
    ASSERT_NE(tid, no_id);
    ASSERT_EQ(unsub(t, "$share/g/a", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(t.groups(), 1u);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    expect_filter_counts(t, 0, 0);
    EXPECT_EQ(t.topic(tid).groups, no_id);
    EXPECT_FALSE(t.topic_in_use(tid));
    EXPECT_TRUE(deliver(t, "a").groups.empty());
    // A new group of the same name starts afresh.
    ASSERT_EQ(sub(t, "$share/g/a", ep(3, 3)), sub_result::added);
    const uint32_t g = group_of(t, "a");
    ASSERT_NE(g, no_id);
    EXPECT_EQ(members_of(t, g), ips{3});
    EXPECT_EQ(picks(t, g, 2), (ips{3, 3}));
}

TEST(sub_table, the_last_member_leaving_frees_a_wildcard_group_and_its_trie_nodes) {
    // 21-level filters, distinct from the first level: the trie, sized for
    // filters of a few levels, holds two of them but not three.
    ringcast::sub_limits lim = small_limits(8, 8, 16);
    lim.topic_len = 64;
    lim.filters = 16;
    sub_table t(lim);
    auto deep = [](char c) {
        std::string f(1, c);
        for (int i = 0; i < 19; ++i) {
            f += std::string("/") + c;
        }
        return f + "/+";
    };
    const std::string group = "$share/g/" + deep('a');
    ASSERT_EQ(sub(t, group, ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, group, ep(2, 2)), sub_result::added);
    ASSERT_EQ(sub(t, deep('b'), ep(9, 9)), sub_result::added);
    ASSERT_EQ(sub(t, deep('c'), ep(9, 9)), sub_result::filter_limit) << "the trie took three deep filters";
    ASSERT_LT(t.filters(), lim.filters); // refused for want of nodes, not for the count
    const std::string topic_a = deep('a').substr(0, deep('a').size() - 1) + "x";
    ASSERT_TRUE(t.wildcard_match(bytes_of(topic_a)));

    ASSERT_EQ(unsub(t, group, ep(1, 1)), sub_result::removed);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    expect_filter_counts(t, 1, 0);
    EXPECT_FALSE(t.wildcard_match(bytes_of(topic_a)));
    EXPECT_TRUE(deliver(t, topic_a).groups.empty());
    // The group's nodes came back: the third deep filter fits now.
    ASSERT_EQ(sub(t, deep('c'), ep(9, 9)), sub_result::added);
    // And the group can be made again once there is room.
    EXPECT_EQ(sub(t, group, ep(1, 1)), sub_result::filter_limit);
    ASSERT_EQ(unsub(t, deep('c'), ep(9, 9)), sub_result::removed);
    ASSERT_EQ(sub(t, group, ep(1, 1)), sub_result::added);
    const uint32_t g = group_of(t, topic_a);
    ASSERT_NE(g, no_id);
    EXPECT_EQ(members_of(t, g), ips{1});
    EXPECT_EQ(picks(t, g, 2), (ips{1, 1}));
}

TEST(sub_table, a_member_on_a_plain_matching_filter_too_gets_both) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "$share/g/a/+", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "a/#", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "a/b", ep(1, 1)), sub_result::added);
    const reach r = deliver(t, "a/b");
    EXPECT_EQ(r.plain, ips{1});
    ASSERT_EQ(r.groups.size(), 1u);
    EXPECT_EQ(picks(t, r.groups[0], 1), ips{1});
    // Leaving the group leaves the plain filters in place, and back.
    ASSERT_EQ(unsub(t, "$share/g/a/+", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(plain_of(t, "a/b"), ips{1});
    EXPECT_TRUE(deliver(t, "a/b").groups.empty());
}

TEST(sub_table, two_groups_on_the_same_filter_each_get_one_pick) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "$share/g1/a/+", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g1/a/+", ep(2, 2)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g2/a/+", ep(3, 3)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g2/a/+", ep(1, 1)), sub_result::added); // in both groups
    EXPECT_EQ(t.groups(), 2u);
    const reach r = deliver(t, "a/b");
    EXPECT_TRUE(r.plain.empty());
    ASSERT_EQ(r.groups.size(), 2u);
    ASSERT_NE(r.groups[0], r.groups[1]);
    std::set<ips> member_sets = {members_of(t, r.groups[0]), members_of(t, r.groups[1])};
    EXPECT_EQ(member_sets, (std::set<ips>{{1, 2}, {1, 3}}));
    // Each group rotates on its own.
    for (uint32_t g : r.groups) {
        const ips m = members_of(t, g);
        const auto got = picks(t, g, 4);
        EXPECT_EQ(std::ranges::count(got, m[0]), 2);
        EXPECT_EQ(std::ranges::count(got, m[1]), 2);
    }
}

TEST(sub_table, groups_on_an_exact_and_on_a_wildcard_filter_are_different) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "$share/g/a/b", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/a/+", ep(2, 2)), sub_result::added);
    EXPECT_EQ(t.groups(), 2u);
    const uint32_t tid = find(t, "a/b");
    ASSERT_NE(tid, no_id);
    EXPECT_NE(t.topic(tid).groups, no_id);
    const reach on_b = deliver(t, "a/b");
    ASSERT_EQ(on_b.groups.size(), 2u);
    std::set<ips> member_sets = {members_of(t, on_b.groups[0]), members_of(t, on_b.groups[1])};
    EXPECT_EQ(member_sets, (std::set<ips>{{1}, {2}}));
    const uint32_t wild = group_of(t, "a/c");
    EXPECT_EQ(members_of(t, wild), ips{2});
    EXPECT_EQ(t.topic(tid).groups, on_b.groups[0] == wild ? on_b.groups[1] : on_b.groups[0]);
}

TEST(sub_table, the_same_group_name_on_different_filters_makes_different_groups) {
    sub_table t(small_limits(8, 8, 8));
    ASSERT_EQ(sub(t, "$share/g/a/b", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/c/d", ep(2, 2)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/x/+", ep(3, 3)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/y/+", ep(4, 4)), sub_result::added);
    EXPECT_EQ(t.groups(), 4u);
    std::set<uint32_t> ids;
    for (const auto& [topic, member] :
         std::vector<std::pair<std::string, uint32_t>>{{"a/b", 1}, {"c/d", 2}, {"x/1", 3}, {"y/1", 4}}) {
        const uint32_t g = group_of(t, topic);
        ASSERT_NE(g, no_id) << topic;
        ids.insert(g);
        EXPECT_EQ(members_of(t, g), ips{member}) << topic;
    }
    EXPECT_EQ(ids.size(), 4u);
}

// --- Limits ---------------------------------------------------------------

TEST(sub_table, refuses_new_topic_at_topic_limit_and_changes_nothing) {
    sub_table t(small_limits(2, 16, 16));
    ASSERT_EQ(sub(t, "t1", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "t2", ep(1, 1)), sub_result::added);
    EXPECT_EQ(sub(t, "t3", ep(1, 1)), sub_result::topic_limit);
    EXPECT_EQ(sub(t, "t3", ep(2, 2)), sub_result::topic_limit);
    EXPECT_EQ(sub(t, "$share/g/t3", ep(2, 2)), sub_result::topic_limit); // a group needs the topic too
    EXPECT_EQ(ensure(t, "t3"), no_id);
    expect_counts(t, 2, 2, 1);
    expect_filter_counts(t, 0, 0);
    EXPECT_EQ(find(t, "t3"), no_id);
    EXPECT_EQ(t.find_subscriber(ep(2, 2)), no_id);
    EXPECT_EQ(t.subscriber(t.find_subscriber(ep(1, 1))).n_subs, 2u);
    EXPECT_EQ(plain_of(t, "t1"), ips{1});
    // Existing topics still take subscribers and groups, wildcards need no
    // topic; a topic left without subscribers still counts until forgotten.
    EXPECT_EQ(sub(t, "t1", ep(2, 2)), sub_result::added);
    EXPECT_EQ(sub(t, "$share/g/t1", ep(2, 2)), sub_result::added);
    EXPECT_EQ(sub(t, "t3/+", ep(2, 2)), sub_result::added);
    ASSERT_EQ(unsub(t, "t2", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(sub(t, "t3", ep(1, 1)), sub_result::topic_limit);
    t.forget_topic(find(t, "t2"));
    EXPECT_EQ(sub(t, "t3", ep(1, 1)), sub_result::added);
    expect_counts(t, 2, 5, 2);
}

TEST(sub_table, refuses_new_subscription_at_subscription_limit_and_changes_nothing) {
    sub_table t(small_limits(16, 3, 16));
    ASSERT_EQ(sub(t, "t1", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "t2", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "t3", ep(1, 1)), sub_result::added);
    EXPECT_EQ(sub(t, "t1", ep(2, 2)), sub_result::subscription_limit); // new subscriber
    EXPECT_EQ(sub(t, "t4", ep(1, 1)), sub_result::subscription_limit); // new topic
    expect_counts(t, 3, 3, 1);
    EXPECT_EQ(t.find_subscriber(ep(2, 2)), no_id);
    EXPECT_EQ(find(t, "t4"), no_id);
    EXPECT_EQ(t.topic(find(t, "t1")).n_subs, 1u);
    EXPECT_EQ(plain_of(t, "t1"), ips{1});
    // What already exists is still reported as such at the limit; wildcard
    // filters and groups count against filters, not subscriptions.
    EXPECT_EQ(sub(t, "t1", ep(1, 1)), sub_result::exists);
    EXPECT_EQ(sub(t, "t/+", ep(1, 1)), sub_result::added);
    EXPECT_EQ(sub(t, "$share/g/t1", ep(2, 2)), sub_result::added);
    ASSERT_EQ(unsub(t, "t3", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(sub(t, "t1", ep(2, 2)), sub_result::added);
    expect_counts(t, 3, 5, 2);
    expect_filter_counts(t, 2, 1);
}

TEST(sub_table, refuses_new_subscriber_at_subscriber_limit_and_changes_nothing) {
    sub_table t(small_limits(16, 16, 2));
    ASSERT_EQ(sub(t, "t1", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "t1", ep(2, 2)), sub_result::added);
    EXPECT_EQ(sub(t, "t1", ep(3, 3)), sub_result::subscriber_limit);
    EXPECT_EQ(sub(t, "t2", ep(3, 3)), sub_result::subscriber_limit);
    EXPECT_EQ(sub(t, "t/+", ep(3, 3)), sub_result::subscriber_limit);
    EXPECT_EQ(sub(t, "$share/g/t/+", ep(3, 3)), sub_result::subscriber_limit);
    expect_counts(t, 1, 2, 2);
    expect_filter_counts(t, 0, 0);
    EXPECT_EQ(t.find_subscriber(ep(3, 3)), no_id);
    EXPECT_EQ(find(t, "t2"), no_id);
    EXPECT_FALSE(t.wildcard_match(bytes_of("t/x")));
    EXPECT_EQ(plain_of(t, "t1"), (ips{1, 2}));
    // Known subscribers still subscribe; one leaving makes room.
    EXPECT_EQ(sub(t, "t2", ep(1, 1)), sub_result::added);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    EXPECT_EQ(sub(t, "t1", ep(3, 3)), sub_result::added);
    expect_counts(t, 2, 3, 2);
}

TEST(sub_table, refuses_new_filter_at_filter_limit_and_changes_nothing) {
    ringcast::sub_limits lim = small_limits(8, 8, 8);
    lim.filters = 2;
    sub_table t(lim);
    ASSERT_EQ(sub(t, "a/+", ep(1, 1)), sub_result::added);
    ASSERT_EQ(sub(t, "$share/g/b", ep(2, 2)), sub_result::added);
    EXPECT_EQ(sub(t, "c/#", ep(1, 1)), sub_result::filter_limit);
    EXPECT_EQ(sub(t, "a/+", ep(3, 3)), sub_result::filter_limit);        // a held filter, new subscriber
    EXPECT_EQ(sub(t, "$share/g/b", ep(1, 1)), sub_result::filter_limit); // an existing group
    EXPECT_EQ(sub(t, "$share/h/b", ep(1, 1)), sub_result::filter_limit); // a new group
    expect_counts(t, 1, 2, 2);
    expect_filter_counts(t, 2, 1);
    EXPECT_EQ(t.find_subscriber(ep(3, 3)), no_id);
    EXPECT_FALSE(t.wildcard_match(bytes_of("c/x")));
    EXPECT_EQ(plain_of(t, "a/x"), ips{1});
    EXPECT_EQ(members_of(t, group_of(t, "b")), ips{2});
    // What exists is still reported; exact subscriptions have their own limit.
    EXPECT_EQ(sub(t, "a/+", ep(1, 1)), sub_result::exists);
    EXPECT_EQ(sub(t, "c", ep(1, 1)), sub_result::added);
    ASSERT_EQ(unsub(t, "a/+", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(sub(t, "c/#", ep(1, 1)), sub_result::added);
    expect_filter_counts(t, 2, 1);
}

TEST(sub_table, refuses_new_group_at_group_limit_and_changes_nothing) {
    ringcast::sub_limits lim = small_limits(8, 8, 8);
    lim.groups = 1;
    sub_table t(lim);
    ASSERT_EQ(sub(t, "$share/g/a", ep(1, 1)), sub_result::added);
    EXPECT_EQ(sub(t, "$share/h/a", ep(1, 1)), sub_result::group_limit);
    EXPECT_EQ(sub(t, "$share/g/b", ep(2, 2)), sub_result::group_limit); // same name, other filter
    EXPECT_EQ(sub(t, "$share/g/a/+", ep(2, 2)), sub_result::group_limit);
    expect_counts(t, 1, 1, 1);
    expect_filter_counts(t, 1, 1);
    EXPECT_EQ(find(t, "b"), no_id);
    EXPECT_EQ(t.find_subscriber(ep(2, 2)), no_id);
    EXPECT_FALSE(t.wildcard_match(bytes_of("a/x")));
    // Members still join the existing group; its leaving makes room.
    EXPECT_EQ(sub(t, "$share/g/a", ep(2, 2)), sub_result::added);
    const uint32_t g = group_of(t, "a");
    EXPECT_EQ(members_of(t, g), (ips{1, 2}));
    ASSERT_EQ(t.remove_subscriber(ep(1, 1)), 1u);
    ASSERT_EQ(t.remove_subscriber(ep(2, 2)), 1u);
    EXPECT_EQ(sub(t, "$share/h/a", ep(1, 1)), sub_result::added);
    expect_filter_counts(t, 1, 1);
}

TEST(sub_table, refuses_a_filter_when_the_trie_runs_out_and_changes_nothing) {
    // Thirty-level filters distinct from the first level: the trie is sized
    // for filters of a few levels, so it runs out before the filter count.
    ringcast::sub_limits lim = small_limits(8, 8, 8);
    lim.topic_len = 80; // room for "$share/g/" and a deep filter
    lim.filters = 8;
    sub_table t(lim);
    auto deep = [](int i) {
        std::string f = "f" + std::to_string(i);
        for (int level = 0; level < 28; ++level) {
            f += "/x";
        }
        return f + "/+";
    };
    int held = 0;
    while (held < 8 && sub(t, deep(held), ep(1, 1)) == sub_result::added) {
        ++held;
    }
    ASSERT_GT(held, 0);
    ASSERT_LT(held, 8) << "the trie took eight thirty-level filters";
    const auto topic = [&](int i) { return deep(i).substr(0, deep(i).size() - 1) + "t"; };
    // Refused for any subscriber, plain or as a group; nothing changed.
    EXPECT_EQ(sub(t, deep(held), ep(2, 2)), sub_result::filter_limit);
    EXPECT_EQ(sub(t, "$share/g/" + deep(held), ep(2, 2)), sub_result::filter_limit);
    expect_counts(t, 0, static_cast<uint32_t>(held), 1);
    expect_filter_counts(t, static_cast<uint32_t>(held), 0);
    EXPECT_EQ(t.find_subscriber(ep(2, 2)), no_id);
    EXPECT_FALSE(t.wildcard_match(bytes_of(topic(held))));
    for (int i = 0; i < held; ++i) {
        EXPECT_EQ(plain_of(t, topic(i)), ips{1}) << i;
    }
    // A held filter takes more subscribers and a group without new nodes.
    EXPECT_EQ(sub(t, deep(0), ep(2, 2)), sub_result::added);
    EXPECT_EQ(sub(t, "$share/g/" + deep(0), ep(3, 3)), sub_result::added);
    EXPECT_EQ(plain_of(t, topic(0)), (ips{1, 2}));
    EXPECT_EQ(members_of(t, group_of(t, topic(0))), ips{3});
    // Freeing a filter's last holder makes room.
    ASSERT_EQ(t.remove_subscriber(ep(3, 3)), 1u);
    ASSERT_EQ(unsub(t, deep(0), ep(2, 2)), sub_result::removed);
    ASSERT_EQ(unsub(t, deep(held - 1), ep(1, 1)), sub_result::removed);
    EXPECT_EQ(sub(t, deep(held), ep(2, 2)), sub_result::added);
    EXPECT_EQ(plain_of(t, topic(held)), ips{2});
}

TEST(sub_table, fills_every_table_to_its_limit) {
    ringcast::sub_limits lim = small_limits(4, 4, 4);
    lim.filters = 4;
    lim.groups = 2;
    sub_table t(lim);
    for (uint16_t i = 0; i < 4; ++i) {
        ASSERT_EQ(sub(t, "t" + std::to_string(i), ep(i, i)), sub_result::added);
        ASSERT_EQ(sub(t, i < 2 ? "w" + std::to_string(i) + "/+" : "$share/g/w" + std::to_string(i) + "/+",
                      ep(i, i)),
                  sub_result::added);
    }
    expect_counts(t, 4, 8, 4);
    expect_filter_counts(t, 4, 2);
    for (uint16_t i = 0; i < 4; ++i) {
        EXPECT_EQ(t.remove_subscriber(ep(i, i)), 2u);
        t.forget_topic(find(t, "t" + std::to_string(i)));
    }
    expect_counts(t, 0, 0, 0);
    expect_filter_counts(t, 0, 0);
    for (uint16_t i = 0; i < 4; ++i) {
        ASSERT_EQ(sub(t, "u" + std::to_string(i), ep(i + 10, i)), sub_result::added);
        ASSERT_EQ(sub(t, i < 2 ? "$share/h/v" + std::to_string(i) + "/#" : "v" + std::to_string(i) + "/#",
                      ep(i + 10, i)),
                  sub_result::added);
    }
    expect_counts(t, 4, 8, 4);
    expect_filter_counts(t, 4, 2);
}

// --- hash_index and id_pool -----------------------------------------------

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
        EXPECT_EQ(find_id(gone), no_id);
        for (uint32_t id = 0; id < hash_of.size(); ++id) {
            if (id == 0 || id == 2 || (id == 1 && gone == 1u)) {
                continue;
            }
            EXPECT_EQ(find_id(id), id) << "after erasing " << gone;
        }
    }
    EXPECT_EQ(find_id(3), 3u);
    EXPECT_EQ(find_id(4), 4u);
    EXPECT_EQ(idx.erase(99, [](uint32_t) { return true; }), no_id);
}

TEST(hash_index, erase_of_missing_id_with_same_hash_changes_nothing) {
    ringcast::hash_index idx(4);
    idx.insert(5, 1);
    idx.insert(5, 2);
    EXPECT_EQ(idx.erase(5, [](uint32_t id) { return id == 3; }), no_id);
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
            const uint32_t want = m == model.end() ? no_id : id;
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
    EXPECT_EQ(pool.take(), no_id);
    pool.give(1);
    EXPECT_EQ(pool.available(), 1u);
    EXPECT_EQ(pool.take(), 1u);
}

// --- Randomized model -----------------------------------------------------

// The second level of a topic ("t/12/x" -> "12").
static std::string second_level(const std::string& topic) {
    const size_t a = topic.find('/') + 1;
    const size_t b = topic.find('/', a);
    return topic.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

static bool is_shared(const std::string& f) {
    return f.starts_with("$share/");
}

// The FILTER part of a $share filter, or the filter itself.
static std::string inner_of(const std::string& f) {
    return is_shared(f) ? f.substr(f.find('/', 7) + 1) : f;
}

static bool is_wildcard(const std::string& f) {
    return f.find_first_of("+#") != std::string::npos;
}

// Randomized test against a std::map/std::set model: exact topics, wildcard
// filters and shared groups subscribed, unsubscribed and dropped with their
// subscriber, topics published to (ensure_topic) and forgotten, with every
// limit reached. After each step every topic's targets are checked against
// filter_matches. `clustered` uses only topic names whose hashes have their
// homes among a few slots at the end and start of the topic index's slot
// array, so deletions shift long, wrapping probe runs backwards.
static void run_model_test(bool clustered, uint32_t seed) {
    ringcast::sub_limits lim = small_limits(24, 24, 12);
    lim.filters = 20;
    lim.groups = 4;
    sub_table t(lim);
    std::mt19937 rng(seed);

    std::vector<std::string> topics;
    for (uint32_t i = 0; topics.size() < 40; ++i) {
        const std::string n = std::to_string(i);
        const std::string name = i % 3 == 0 ? "u/" + n : i % 3 == 1 ? "t/" + n : "t/" + n + "/x";
        // The topic index has 64 slots for 24 topics: homes 61, 62, 63, 0, 1.
        const uint32_t home = static_cast<uint32_t>(ringcast::topic_hash(bytes_of(name))) & 63;
        if (!clustered || home >= 61 || home <= 1) {
            topics.push_back(name);
        }
    }
    const std::vector<std::string> exact(topics.begin(), topics.end());
    const std::vector<std::string> wildcards = {
        "#",
        "t/#",
        "t/+",
        "+/+",
        "u/#",
        "+/+/x",
        "t/+/x",
        "+",
        "+/" + second_level(topics[1]),
        topics[2] + "/#",
        "u/+/+",
    };
    const std::vector<std::string> shared = {
        "$share/g1/t/+",          "$share/g2/t/+",          "$share/g1/#",
        "$share/g1/" + topics[0], "$share/g2/" + topics[0], "$share/g3/u/#",
        "$share/g4/" + topics[3],
    };
    std::vector<ringcast::endpoint> eps;
    for (uint16_t i = 0; i < 16; ++i) {
        // Some share an address, some a port, two differ only in port_id.
        eps.push_back(ep(0x0A000000 + i / 2, static_cast<uint16_t>(7000 + i % 5), i == 15 ? 1 : 0));
    }
    eps[14] = ep(0x0A000007, 7004, 0);
    eps[15] = ep(0x0A000007, 7004, 1);
    auto index_of = [&](const ringcast::endpoint& e) {
        return static_cast<size_t>(std::ranges::find(eps, e) - eps.begin());
    };

    std::map<std::string, std::set<size_t>> members; // filter -> endpoint indexes, never empty
    std::map<std::string, uint64_t> live_seq;        // live topic -> seq
    std::map<std::string, uint32_t> live_keep;       // live topic -> R given at creation
    std::map<size_t, uint32_t> subs_of;              // endpoint index -> subscriptions

    auto n_exact = [&] {
        uint32_t n = 0;
        for (const auto& [f, m] : members) {
            n += !is_shared(f) && !is_wildcard(f) ? static_cast<uint32_t>(m.size()) : 0;
        }
        return n;
    };
    auto n_filters = [&] {
        uint32_t n = 0;
        for (const auto& [f, m] : members) {
            n += is_shared(f) || is_wildcard(f) ? static_cast<uint32_t>(m.size()) : 0;
        }
        return n;
    };
    auto n_groups = [&] {
        return static_cast<uint32_t>(
            std::ranges::count_if(members, [](const auto& fm) { return is_shared(fm.first); }));
    };
    auto in_use = [&](const std::string& topic) {
        return std::ranges::any_of(members, [&](const auto& fm) {
            return !is_wildcard(inner_of(fm.first)) && inner_of(fm.first) == topic;
        });
    };

    auto check = [&](int step) {
        ASSERT_EQ(t.topics(), live_seq.size()) << "step " << step;
        ASSERT_EQ(t.subscriptions(), n_exact() + n_filters()) << "step " << step;
        ASSERT_EQ(t.filters(), n_filters()) << "step " << step;
        ASSERT_EQ(t.groups(), n_groups()) << "step " << step;
        ASSERT_EQ(t.subscribers(), subs_of.size()) << "step " << step;
        for (const auto& name : topics) {
            const uint32_t tid = find(t, name);
            const auto live = live_seq.find(name);
            if (live == live_seq.end()) {
                ASSERT_EQ(tid, no_id) << "step " << step << " " << name;
            } else {
                ASSERT_NE(tid, no_id) << "step " << step << " " << name;
                ASSERT_EQ(t.topic_name(tid), name);
                const auto m = members.find(name);
                ASSERT_EQ(t.topic(tid).n_subs, m == members.end() ? 0 : m->second.size()) << "step " << step;
                ASSERT_EQ(t.topic(tid).seq, live->second) << "step " << step << " " << name;
                ASSERT_EQ(t.topic(tid).keep, live_keep[name]) << "step " << step << " " << name;
                ASSERT_EQ(t.topic_in_use(tid), in_use(name)) << "step " << step << " " << name;
            }
            // What a message on this topic reaches, against the reference matcher.
            std::multiset<size_t> got_plain;
            std::vector<uint32_t> got_groups;
            t.for_each_target(
                tid, bytes_of(name),
                [&](ringcast::subscriber_record& r) {
                    const size_t e = index_of(r.ep);
                    got_plain.insert(e);
                    EXPECT_EQ(r.mac, mac(static_cast<uint8_t>(e)));
                },
                [&](uint32_t g) { got_groups.push_back(g); });
            std::set<size_t> want_plain;
            std::multiset<std::set<size_t>> want_groups;
            bool want_wildcard = false;
            for (const auto& [f, m] : members) {
                if (!ringcast::filter_matches(bytes_of(f), bytes_of(name))) {
                    continue;
                }
                want_wildcard = want_wildcard || is_wildcard(f);
                if (is_shared(f)) {
                    want_groups.insert(m);
                } else {
                    want_plain.insert(m.begin(), m.end());
                }
            }
            ASSERT_EQ(got_plain, std::multiset<size_t>(want_plain.begin(), want_plain.end()))
                << "step " << step << " " << name;
            ASSERT_EQ(std::set<uint32_t>(got_groups.begin(), got_groups.end()).size(), got_groups.size())
                << "step " << step << " " << name;
            std::multiset<std::set<size_t>> got_members;
            for (uint32_t g : got_groups) {
                std::set<size_t> m;
                (void)t.pick(g, [&](ringcast::subscriber_record& r) {
                    EXPECT_TRUE(m.insert(index_of(r.ep)).second) << "offered twice";
                    return false;
                });
                got_members.insert(m);
            }
            ASSERT_EQ(got_members, want_groups) << "step " << step << " " << name;
            ASSERT_EQ(t.wildcard_match(bytes_of(name)), want_wildcard) << "step " << step << " " << name;
        }
        for (size_t e = 0; e < eps.size(); ++e) {
            const uint32_t sid = t.find_subscriber(eps[e]);
            const auto m = subs_of.find(e);
            if (m == subs_of.end()) {
                ASSERT_EQ(sid, no_id) << "step " << step << " ep " << e;
            } else {
                ASSERT_NE(sid, no_id) << "step " << step << " ep " << e;
                ASSERT_EQ(t.subscriber(sid).n_subs, m->second) << "step " << step << " ep " << e;
                ASSERT_EQ(t.subscriber(sid).ep, eps[e]);
            }
        }
    };

    auto model_remove = [&](const std::string& f, size_t e) {
        auto m = members.find(f);
        m->second.erase(e);
        if (m->second.empty()) {
            members.erase(m);
        }
        if (--subs_of[e] == 0) {
            subs_of.erase(e);
        }
    };

    std::map<sub_result, int> refused;
    int removed_subscribers = 0;
    int forgotten = 0;
    int ensure_refused = 0;
    for (int step = 0; step < 5000; ++step) {
        const uint32_t kind = rng() % 10;
        const std::string& f = kind < 5   ? exact[rng() % exact.size()]
                               : kind < 8 ? wildcards[rng() % wildcards.size()]
                                          : shared[rng() % shared.size()];
        const size_t e = rng() % eps.size();
        const auto keep = static_cast<uint32_t>(rng() % 4);
        const uint32_t action = rng() % 100;
        const auto m = members.find(f);
        const bool joined = m != members.end() && m->second.count(e) != 0;
        if (action < 40) {
            const auto got = t.subscribe(spec_of(f), eps[e], mac(static_cast<uint8_t>(e)), step, keep);
            const std::string inner = inner_of(f);
            const bool plain_exact = !is_shared(f) && !is_wildcard(f);
            const bool needs_topic = !is_wildcard(inner) && live_seq.count(inner) == 0;
            std::set<sub_result> limits;
            if (plain_exact && n_exact() == lim.subscriptions) {
                limits.insert(sub_result::subscription_limit);
            }
            if (!plain_exact && n_filters() == lim.filters) {
                limits.insert(sub_result::filter_limit);
            }
            if (subs_of.count(e) == 0 && subs_of.size() == lim.subscribers) {
                limits.insert(sub_result::subscriber_limit);
            }
            if (needs_topic && live_seq.size() == lim.topics) {
                limits.insert(sub_result::topic_limit);
            }
            if (is_shared(f) && m == members.end() && n_groups() == lim.groups) {
                limits.insert(sub_result::group_limit);
            }
            if (joined) {
                ASSERT_EQ(got.result, sub_result::exists) << "step " << step;
                ASSERT_EQ(got.subscriber, t.find_subscriber(eps[e]));
            } else if (!limits.empty()) {
                ASSERT_EQ(limits.count(got.result), 1u) << "step " << step << " got " << int(got.result);
                ++refused[got.result];
            } else {
                ASSERT_EQ(got.result, sub_result::added) << "step " << step << " " << f;
                ASSERT_EQ(got.shared, is_shared(f));
                ASSERT_EQ(got.wildcard, is_wildcard(inner));
                if (needs_topic) {
                    live_seq[inner] = 0;
                    live_keep[inner] = keep;
                }
                members[f].insert(e);
                ++subs_of[e];
            }
        } else if (action < 65) {
            const auto got = t.unsubscribe(spec_of(f), eps[e], step);
            if (joined) {
                ASSERT_EQ(got, sub_result::removed) << "step " << step;
                model_remove(f, e);
            } else {
                ASSERT_EQ(got, sub_result::not_found) << "step " << step;
            }
        } else if (action < 72) {
            const uint32_t got = t.remove_subscriber(eps[e]);
            const auto s = subs_of.find(e);
            const uint32_t want = s == subs_of.end() ? 0 : s->second;
            ASSERT_EQ(got, want) << "step " << step;
            if (want != 0) {
                ++removed_subscribers;
                std::vector<std::string> of_e;
                for (const auto& [filter, ms] : members) {
                    if (ms.count(e) != 0) {
                        of_e.push_back(filter);
                    }
                }
                for (const auto& filter : of_e) {
                    model_remove(filter, e);
                }
            }
        } else if (action < 90) {
            // The worker routes a message: the topic's record is made if missing.
            const std::string& name = topics[rng() % topics.size()];
            const uint32_t before = find(t, name);
            const uint32_t tid = ensure(t, name, keep);
            if (live_seq.count(name) != 0) {
                ASSERT_EQ(tid, before) << "step " << step;
            } else if (live_seq.size() == lim.topics) {
                ASSERT_EQ(tid, no_id) << "step " << step;
                ++ensure_refused;
            } else {
                ASSERT_NE(tid, no_id) << "step " << step;
                live_seq[name] = 0;
                live_keep[name] = keep;
            }
            if (tid != no_id) {
                ++t.topic(tid).seq;
                ++live_seq[name];
            }
        } else if (!live_seq.empty()) {
            // The idle sweep: forgets a topic nothing refers to.
            auto it = live_seq.begin();
            std::advance(it, rng() % live_seq.size());
            const uint32_t tid = find(t, it->first);
            ASSERT_NE(tid, no_id);
            ASSERT_EQ(t.topic_in_use(tid), in_use(it->first)) << "step " << step << " " << it->first;
            if (!in_use(it->first)) {
                t.forget_topic(tid);
                live_keep.erase(it->first);
                live_seq.erase(it);
                ++forgotten;
            }
        }
        check(step);
        if (testing::Test::HasFatalFailure()) {
            return;
        }
    }
    // The run must have reached every limit, emptied subscribers and
    // forgotten topics, or it tested less than it claims.
    for (const sub_result r :
         {sub_result::subscription_limit, sub_result::filter_limit, sub_result::subscriber_limit,
          sub_result::topic_limit, sub_result::group_limit}) {
        EXPECT_GT(refused[r], 0) << int(r);
    }
    EXPECT_GT(removed_subscribers, 0);
    EXPECT_GT(forgotten, 0);
    EXPECT_GT(ensure_refused, 0);
}

TEST(sub_table, matches_a_model_under_random_operations) {
    run_model_test(false, 20240601);
}

TEST(sub_table, matches_a_model_when_topic_hashes_collide_and_wrap) {
    run_model_test(true, 7);
}

// Reclaim order: topics no subscription or group refers to, oldest first;
// a PUB's touch sends a topic to the back; refused ones go to the back too.
TEST(sub_table, oldest_unused_is_the_least_recently_active_unreferenced_topic) {
    sub_table t(ringcast::sub_limits{.topics = 8, .subscriptions = 8, .subscribers = 4, .topic_len = 32});
    const uint32_t a = ensure(t, "a");
    const uint32_t b = ensure(t, "b");
    const uint32_t c = ensure(t, "c");
    const auto any = [](uint32_t) { return true; };
    EXPECT_EQ(t.oldest_unused(4, any), a);
    t.touch_topic(a, 10); // a PUB on a: now b is the oldest
    EXPECT_EQ(t.oldest_unused(4, any), b);
    ASSERT_EQ(sub(t, "b", ep(1, 1)), sub_result::added); // held: never reclaimed
    EXPECT_EQ(t.oldest_unused(4, any), c);
    // Refused (say, it has a RETAIN value): looked past, and sent to the back.
    EXPECT_EQ(t.oldest_unused(4, [&](uint32_t id) { return id != c; }), a);
    EXPECT_EQ(t.oldest_unused(4, any), a);
    t.forget_topic(a);
    EXPECT_EQ(t.oldest_unused(4, any), c);
    // The last subscription going puts b back in line, behind c.
    ASSERT_EQ(unsub(t, "b", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(t.oldest_unused(4, [&](uint32_t id) { return id != c; }), b);
    // The budget bounds the look: nothing within 1 that is accepted.
    EXPECT_EQ(t.oldest_unused(1, [](uint32_t) { return false; }), no_id);
}

TEST(sub_table, a_group_on_an_exact_topic_keeps_it_from_reclaim) {
    sub_table t(ringcast::sub_limits{.topics = 4, .subscriptions = 4, .subscribers = 4, .topic_len = 32, .filters = 4,
                                     .groups = 4});
    ASSERT_EQ(sub(t, "$share/g/x", ep(1, 1)), sub_result::added);
    const uint32_t x = find(t, "x");
    EXPECT_EQ(t.oldest_unused(4, [](uint32_t) { return true; }), no_id);
    ASSERT_EQ(unsub(t, "$share/g/x", ep(1, 1)), sub_result::removed);
    EXPECT_EQ(t.oldest_unused(4, [](uint32_t) { return true; }), x);
}

TEST(sub_table, prune_subscriber_drops_only_the_filters_refused) {
    sub_table t(ringcast::sub_limits{.topics = 8, .subscriptions = 8, .subscribers = 4, .topic_len = 32, .filters = 8,
                                     .groups = 4});
    const auto e = ep(1, 1);
    for (const char* f : {"md/a", "ops/x", "md/+/bid", "$share/g/ops/#", "$share/h/md/b"}) {
        ASSERT_EQ(sub(t, f, e), sub_result::added) << f;
    }
    std::vector<std::string> seen;
    const uint32_t sid = t.find_subscriber(e);
    const uint32_t dropped = t.prune_subscriber(sid, [&](std::span<const std::byte> filter) {
        const std::string s(reinterpret_cast<const char*>(filter.data()), filter.size());
        seen.push_back(s);
        return s.starts_with("md/");
    });
    EXPECT_EQ(dropped, 2u);
    std::ranges::sort(seen);
    // A $share is judged by its FILTER alone.
    EXPECT_EQ(seen, (std::vector<std::string>{"md/+/bid", "md/a", "md/b", "ops/#", "ops/x"}));
    EXPECT_TRUE(t.holds(spec_of("md/a"), e));
    EXPECT_TRUE(t.holds(spec_of("md/+/bid"), e));
    EXPECT_TRUE(t.holds(spec_of("$share/h/md/b"), e));
    EXPECT_FALSE(t.holds(spec_of("ops/x"), e));
    EXPECT_FALSE(t.holds(spec_of("$share/g/ops/#"), e));
    EXPECT_EQ(t.subscriber(sid).n_subs, 3u);
    // Refusing everything frees the record with the last one.
    EXPECT_EQ(t.prune_subscriber(sid, [](std::span<const std::byte>) { return false; }), 3u);
    EXPECT_EQ(t.find_subscriber(e), no_id);
    EXPECT_EQ(t.subscriptions(), 0u);
}
