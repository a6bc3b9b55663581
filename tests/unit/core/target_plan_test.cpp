// Target planning: who gets a message, once each, one member per group, under
// the per-subscriber cap and loss injection, with time passed in.
#include <ringcast/core/target_plan.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace ringcast {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

endpoint ep(uint32_t ip) {
    return endpoint{.ip = ip, .port = 5000, .port_id = 0};
}

class target_plan : public ::testing::Test {
protected:
    void make(const delivery_policy& p) { _planner.emplace(p); }
    // SUB as the worker applies it, the new subscriber getting its cap.
    void sub(std::string_view filter, uint32_t ip, uint64_t now = 0) {
        filter_spec spec;
        ASSERT_EQ(parse_filter(bytes_of(filter), 255, spec), topic_check::ok);
        const sub_outcome o = _table.subscribe(spec, ep(ip), mac_addr{}, now);
        ASSERT_TRUE(o.result == sub_result::added || o.result == sub_result::exists);
        subscriber_record& s = _table.subscriber(o.subscriber);
        if (o.result == sub_result::added && s.n_subs == 1) {
            s.delivery_cap = _planner->delivery_cap(now);
        }
    }
    // The ips one message on `topic` reaches, in the order planned.
    std::vector<uint32_t> plan(std::string_view topic, uint64_t now = 0) {
        std::vector<uint32_t> got;
        const auto t = bytes_of(topic);
        _planner->plan(_table, _table.find_topic(t, topic_hash(t)), t, now, _c,
                       [&](subscriber_record& s) { got.push_back(s.ep.ip); });
        return got;
    }
    std::vector<uint32_t> sorted(std::vector<uint32_t> v) {
        std::ranges::sort(v);
        return v;
    }
    const subscriber_record& record(uint32_t ip) const {
        return _table.subscriber(_table.find_subscriber(ep(ip)));
    }

    sub_table _table{sub_limits{
        .topics = 16, .subscriptions = 64, .subscribers = 16, .topic_len = 64, .filters = 16, .groups = 4}};
    std::optional<target_planner> _planner;
    lcore_counters _c;
};

TEST_F(target_plan, every_plain_subscriber_gets_a_message_once_however_many_filters_match) {
    make({});
    sub("a/b", 1);
    sub("a/+", 1);
    sub("#", 1);
    sub("a/b", 2);
    sub("a/#", 3);
    EXPECT_EQ(sorted(plan("a/b")), (std::vector<uint32_t>{1, 2, 3}));
    EXPECT_EQ(sorted(plan("a/c")), (std::vector<uint32_t>{1, 3}));
    EXPECT_EQ(plan("z"), (std::vector<uint32_t>{1}));
}

TEST_F(target_plan, a_topic_nobody_listens_to_has_no_targets) {
    make({});
    sub("a/b", 1);
    EXPECT_TRUE(plan("a/c").empty());
    EXPECT_EQ(_c.get(drop::rate_capped), 0u);
}

TEST_F(target_plan, a_group_gives_each_message_to_one_member_in_turn) {
    make({});
    sub("$share/g/t", 1);
    sub("$share/g/t", 2);
    sub("$share/g/t", 3);
    std::vector<uint32_t> got;
    for (int i = 0; i < 6; ++i) {
        const auto one = plan("t");
        ASSERT_EQ(one.size(), 1u);
        got.push_back(one[0]);
    }
    EXPECT_EQ(sorted({got[0], got[1], got[2]}), (std::vector<uint32_t>{1, 2, 3}));
    EXPECT_EQ((std::vector<uint32_t>{got[3], got[4], got[5]}),
              (std::vector<uint32_t>{got[0], got[1], got[2]}));
}

TEST_F(target_plan, a_group_member_with_a_plain_filter_gets_the_message_through_both) {
    make({});
    sub("$share/g/t", 1);
    sub("t", 1);
    EXPECT_EQ(plan("t"), (std::vector<uint32_t>{1, 1}));
}

TEST_F(target_plan, the_cap_refuses_what_is_over_it_and_refills_with_time) {
    make({.hz = 1000, .rate = 1, .burst = 2});
    sub("t", 1);
    EXPECT_EQ(plan("t", 0).size(), 1u);
    EXPECT_EQ(plan("t", 0).size(), 1u);
    EXPECT_TRUE(plan("t", 0).empty()); // burst spent
    EXPECT_EQ(_c.get(drop::rate_capped), 1u);
    EXPECT_EQ(record(1).stats.rate_capped, 1u);
    EXPECT_EQ(record(1).stats.drops, 1u);
    EXPECT_TRUE(plan("t", 999).empty()); // not a whole token yet
    EXPECT_EQ(plan("t", 1000).size(), 1u);
    EXPECT_EQ(_c.get(drop::rate_capped), 2u);
}

TEST_F(target_plan, a_capped_group_member_passes_its_turn_on) {
    make({.hz = 1000, .rate = 1, .burst = 1});
    sub("$share/g/t", 1);
    sub("$share/g/t", 2);
    const auto first = plan("t", 0);
    ASSERT_EQ(first.size(), 1u);
    const auto second = plan("t", 0); // the first member's token is spent: the other one
    ASSERT_EQ(second.size(), 1u);
    EXPECT_NE(second[0], first[0]);
    EXPECT_EQ(_c.get(drop::rate_capped), 0u);
    EXPECT_TRUE(plan("t", 0).empty()); // both spent: counted once, for the message
    EXPECT_EQ(_c.get(drop::rate_capped), 1u);
}

TEST_F(target_plan, loss_injection_takes_exactly_its_share_evenly_spread) {
    make({.loss_ppm = 250'000}); // one in four
    sub("t", 1);
    std::vector<size_t> got;
    for (int i = 0; i < 12; ++i) {
        got.push_back(plan("t").size());
    }
    EXPECT_EQ(got, (std::vector<size_t>{1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0}));
    EXPECT_EQ(_c.get(drop::injected_loss), 3u);
    EXPECT_EQ(record(1).stats.injected_loss, 3u);
    EXPECT_EQ(record(1).stats.drops, 3u);
}

TEST_F(target_plan, loss_injection_applies_to_group_picks_too) {
    make({.loss_ppm = 500'000});
    sub("$share/g/t", 1);
    size_t delivered = 0;
    for (int i = 0; i < 10; ++i) {
        delivered += plan("t").size();
    }
    EXPECT_EQ(delivered, 5u);
    EXPECT_EQ(_c.get(drop::injected_loss), 5u);
}

} // namespace
} // namespace ringcast
