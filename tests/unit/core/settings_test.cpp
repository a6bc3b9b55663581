// The config-to-settings step the appliance takes before it builds tables:
// ticks from seconds, per-worker shares of global caps, the keep policy.
#include <ringcast/core/settings.hpp>

#include <gtest/gtest.h>

namespace ringcast {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

config two_workers() {
    config c;
    c.lcores.io = {0};
    c.lcores.worker = {1, 2};
    c.rcp.lease_s = 30;
    c.rcp.err_per_s = 50;
    c.limits = limits_config{.topics = 100,
                             .subscriptions = 200,
                             .subscribers = 300,
                             .topic_len = 64,
                             .filters = 40,
                             .groups = 8,
                             .topic_idle_s = 60,
                             .delivery_rate = 5000,
                             .delivery_burst = 64};
    c.retention =
        retention_config{.keep = 16, .prefixes = {{"md/", 256}}, .max_messages = 2049, .last_values = 11};
    c.qos = qos_config{.dedup_window_ms = 5000, .dedup_entries = 1000};
    c.repair = repair_config{.nack_rate = 20000, .nack_burst = 4096};
    c.debug.inject_loss_ppm = 1000;
    return c;
}

TEST(settings, times_become_ticks) {
    const lcore_settings s = derive_settings(two_workers(), 2'000'000'000);
    EXPECT_EQ(s.leases.lease_ticks, 60'000'000'000u);
    EXPECT_EQ(s.leases.hz, 2'000'000'000u);
    EXPECT_EQ(s.worker.topic_idle_ticks, 120'000'000'000u);
    EXPECT_EQ(s.worker.dedup_ticks, 10'000'000'000u);
    EXPECT_EQ(s.worker.hz, 2'000'000'000u);
    EXPECT_EQ(s.io.hz, 2'000'000'000u);
    EXPECT_EQ(s.worker.delivery.hz, 2'000'000'000u);
}

TEST(settings, limits_and_rates_carry_over) {
    const lcore_settings s = derive_settings(two_workers(), 1000);
    EXPECT_EQ(s.leases.max_sources, 300u);
    EXPECT_EQ(s.leases.err_per_s, 50u);
    EXPECT_EQ(s.tables.topics, 100u);
    EXPECT_EQ(s.tables.subscriptions, 200u);
    EXPECT_EQ(s.tables.subscribers, 300u);
    EXPECT_EQ(s.tables.topic_len, 64u);
    EXPECT_EQ(s.tables.filters, 40u);
    EXPECT_EQ(s.tables.groups, 8u);
    EXPECT_EQ(s.io.topic_len, 64u);
    EXPECT_EQ(s.worker.delivery, (delivery_policy{.hz = 1000, .rate = 5000, .burst = 64, .loss_ppm = 1000}));
    EXPECT_EQ(s.worker.dedup_entries, 1000u);
    EXPECT_EQ(s.worker.nack_rate, 20000u);
    EXPECT_EQ(s.worker.nack_burst, 4096u);
}

TEST(settings, global_retention_caps_are_split_among_workers) {
    const lcore_settings s = derive_settings(two_workers(), 1000);
    EXPECT_EQ(s.worker.retain_capacity, 1024u); // 2049 / 2, rounded down
    EXPECT_EQ(s.worker.last_values, 5u);        // 11 / 2
}

TEST(settings, keep_policy_comes_from_keep_and_prefixes) {
    const lcore_settings s = derive_settings(two_workers(), 1000);
    EXPECT_EQ(s.worker.keep.keep_for(bytes_of("md/x")), 256u);
    EXPECT_EQ(s.worker.keep.keep_for(bytes_of("ops/x")), 16u);
}

TEST(settings, a_worker_without_room_for_history_keeps_nothing) {
    config c = two_workers();
    c.retention.max_messages = 1; // less than one message per worker
    const lcore_settings s = derive_settings(c, 1000);
    EXPECT_EQ(s.worker.retain_capacity, 0u);
    EXPECT_EQ(s.worker.keep.keep_for(bytes_of("md/x")), 0u);
    EXPECT_EQ(s.worker.keep.keep_for(bytes_of("ops/x")), 0u);
}

} // namespace
} // namespace ringcast
