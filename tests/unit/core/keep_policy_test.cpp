// retention.keep and its prefixes: the longest matching prefix wins, as a
// table of cases, and against a linear scan over random prefixes and topics.
#include <ringcast/core/keep_policy.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ringcast {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(keep_policy, default_policy_keeps_nothing) {
    EXPECT_EQ(keep_policy{}.keep_for(bytes_of("a/b")), 0u);
}

TEST(keep_policy, without_prefixes_every_topic_gets_keep) {
    const keep_policy p(7, {});
    EXPECT_EQ(p.keep_for(bytes_of("a")), 7u);
    EXPECT_EQ(p.keep_for(bytes_of("md/x/y")), 7u);
}

TEST(keep_policy, longest_matching_prefix_wins) {
    const std::vector<retention_prefix> prefixes = {
        {"md/", 100}, {"md/eq/", 1000}, {"ops/", 0}, {"md/eq/AAPL", 5}, {"m", 3},
    };
    const keep_policy p(10, prefixes);
    struct keep_case {
        std::string topic;
        uint32_t want;
    };
    const std::vector<keep_case> cases = {
        {"md/fx/EURUSD", 100}, // md/
        {"md/eq/MSFT", 1000},  // md/eq/ beats md/ and m
        {"md/eq/AAPL", 5},     // the whole topic is a prefix
        {"md/eq/AAPLX", 5},    // a prefix need not end at a level
        {"md/eq", 100},        // shorter than md/eq/: md/ still matches
        {"md", 3},             // only "m"
        {"mx/y", 3},           // only "m"
        {"ops/alerts", 0},     // a prefix may keep nothing where the default keeps 10
        {"op", 10},            // a prefix of a prefix is no match
        {"x/md/eq/", 10},      // prefixes match at the start only
        {"", 10},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(p.keep_for(bytes_of(c.topic)), c.want) << c.topic;
    }
}

TEST(keep_policy, a_prefix_given_twice_keeps_the_later_value) {
    const keep_policy p(1, std::vector<retention_prefix>{{"a/", 4}, {"a/", 9}});
    EXPECT_EQ(p.keep_for(bytes_of("a/b")), 9u);
}

TEST(keep_policy, agrees_with_a_linear_scan_over_random_prefixes) {
    std::mt19937 rng(5);
    const std::string alphabet = "ab/";
    const auto random_text = [&](size_t max_len) {
        std::string s(1 + rng() % max_len, 'a');
        for (char& c : s) {
            c = alphabet[rng() % alphabet.size()];
        }
        return s;
    };
    for (int round = 0; round < 50; ++round) {
        std::vector<retention_prefix> prefixes;
        for (int i = 0; i < 20; ++i) {
            prefixes.push_back({random_text(6), static_cast<uint32_t>(rng() % 1000)});
        }
        const keep_policy p(42, prefixes);
        for (int i = 0; i < 200; ++i) {
            const std::string topic = random_text(10);
            uint32_t want = 42;
            size_t best = 0;
            for (const auto& pre : prefixes) {
                if (pre.prefix.size() >= best && topic.starts_with(pre.prefix)) {
                    best = pre.prefix.size();
                    want = pre.keep;
                }
            }
            ASSERT_EQ(p.keep_for(bytes_of(topic)), want) << topic;
        }
    }
}

} // namespace
} // namespace ringcast
