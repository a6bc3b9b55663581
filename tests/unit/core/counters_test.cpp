// The counter lists (one X-macro each defines the enum, the slots and the
// telemetry keys) and the single-writer counter.
#include <ringcast/core/counters.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringcast {
namespace {

TEST(counters, every_name_is_unique_across_the_lists) {
    std::set<std::string_view> names;
    for (const auto n : drop_names) {
        EXPECT_TRUE(names.insert(n).second) << n;
    }
    for (const auto n : metric_names) {
        EXPECT_TRUE(names.insert(n).second) << n;
    }
    for (const auto n : gauge_names) {
        EXPECT_TRUE(names.insert(n).second) << n;
    }
}

TEST(counters, every_drop_reason_says_what_it_means) {
    for (size_t i = 0; i < drop_count; ++i) {
        EXPECT_FALSE(drop_docs[i].empty()) << drop_names[i];
    }
}

TEST(counters, enum_values_index_their_names) {
    EXPECT_EQ(drop_names[static_cast<size_t>(drop::ring_full)], "ring_full");
    EXPECT_EQ(metric_names[static_cast<size_t>(metric::deliveries)], "deliveries");
    EXPECT_EQ(gauge_names[static_cast<size_t>(gauge::retained)], "retained");
}

TEST(counters, lcore_counters_count_and_set) {
    lcore_counters c;
    c.count(drop::tx_full);
    c.count(drop::tx_full, 4);
    c.count(metric::deliveries, 10);
    c.set(gauge::topics, 7);
    c.set(gauge::topics, 3);
    EXPECT_EQ(c.get(drop::tx_full), 5u);
    EXPECT_EQ(c.get(drop::ring_full), 0u);
    EXPECT_EQ(c.get(metric::deliveries), 10u);
    EXPECT_EQ(c.get(gauge::topics), 3u);
}

} // namespace
} // namespace ringcast
