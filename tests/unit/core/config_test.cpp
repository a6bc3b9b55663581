#include <ringcast/core/config.hpp>

#include <config_errors.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace ringcast {
namespace {

constexpr const char* file = "test.toml";

// Appended to cases that are not about ports, so that a case's line numbers
// count from the top of its own text.
std::string with_port(std::string_view text) {
    return std::string(text) + "\n[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1\"\n";
}

TEST(config, round_trips_every_field_of_a_full_config) {
    const config_result r = parse_config(R"(
[eal]
main_lcore = 1
file_prefix = "rc-test_1"
hugepages = "on"
memory_mb = 2048
vdevs = ["net_null0", "net_af_packet0,iface=rc0,qpairs=2"]
allow = ["0000:01:00.0"]
args = ["--log-level=pmd.net.af_packet:debug"]

[lcores]
io = [2, 3]
worker = [6, 4, 5]

[[port]]
device = "0000:01:00.0"
ipv4 = "192.0.2.10"
rx_desc = 2048
tx_desc = 512
verify_udp_checksum = false

[[port]]
device = "net_null0"
ipv4 = "198.51.100.255"

[mempool]
mbufs = 65535
cache = 128
headers = 32767
indirect = 4095

[rings]
size = 1024

[rcp]
udp_port = 9000
lease_s = 60
require_auth = true
err_per_s = 0
err_global_per_s = 77

[[identity]]
name = "feed"
token = "s3cret"
publish = ["md/", ""]
subscribe = ["md/#", "ops/+/status"]

[[identity]]
name = "ops.team-2"
token_sha256 = "D9298A10D1B0735837DC4BD85DAC641B0F3CEF27A47E5D53A54F2F3F5B2FCFFA"

[limits]
topics = 1000
subscriptions = 2000
subscribers = 300
topic_len = 64
filters = 500
groups = 20
topic_idle_s = 600
delivery_rate = 50000
delivery_burst = 256

[retention]
keep = 16
prefixes = { "md/" = 1024, "md/slow/" = 0 }
max_messages = 1500
last_values = 500

[qos]
dedup_window_ms = 250
dedup_entries = 4096

[repair]
nack_rate = 0
nack_burst = 1

[tx]
coalesce = false
mtu = 9000
copy_below = 0

[debug]
inject_loss = 0.05
)",
                                         file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    const config& c = r.cfg;
    EXPECT_EQ(c.path, file);

    EXPECT_EQ(c.eal.main_lcore, 1u);
    EXPECT_EQ(c.eal.file_prefix, "rc-test_1");
    EXPECT_EQ(c.eal.hugepages, hugepage_mode::on);
    EXPECT_EQ(c.eal.memory_mb, 2048u);
    EXPECT_EQ(c.eal.vdevs, (std::vector<std::string>{"net_null0", "net_af_packet0,iface=rc0,qpairs=2"}));
    EXPECT_EQ(c.eal.allow, std::vector<std::string>{"0000:01:00.0"});
    EXPECT_EQ(c.eal.args, std::vector<std::string>{"--log-level=pmd.net.af_packet:debug"});

    EXPECT_EQ(c.lcores.io, (std::vector<uint32_t>{2, 3}));
    EXPECT_EQ(c.lcores.worker, (std::vector<uint32_t>{6, 4, 5}));

    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_EQ(c.ports[0].device, "0000:01:00.0");
    EXPECT_EQ(c.ports[0].ipv4, 0xc000020au);
    EXPECT_EQ(c.ports[0].rx_desc, 2048);
    EXPECT_EQ(c.ports[0].tx_desc, 512);
    EXPECT_FALSE(c.ports[0].verify_udp_checksum);
    EXPECT_EQ(c.ports[1].device, "net_null0");
    EXPECT_EQ(c.ports[1].ipv4, 0xc63364ffu);
    EXPECT_EQ(c.ports[1].rx_desc, 1024);
    EXPECT_TRUE(c.ports[1].verify_udp_checksum);

    EXPECT_EQ(c.mempool.mbufs, 65535u);
    EXPECT_EQ(c.mempool.cache, 128u);
    EXPECT_EQ(c.mempool.headers, 32767u);
    EXPECT_EQ(c.mempool.indirect, 4095u);

    EXPECT_EQ(c.rings.size, 1024u);

    EXPECT_EQ(c.rcp.udp_port, 9000);
    EXPECT_EQ(c.rcp.lease_s, 60u);
    EXPECT_TRUE(c.rcp.require_auth);
    EXPECT_EQ(c.rcp.err_per_s, 0u);
    EXPECT_EQ(c.rcp.err_global_per_s, 77u);
    ASSERT_EQ(c.identities.size(), 2u);
    EXPECT_EQ(c.identities[0].name, "feed");
    // sha256sum of "s3cret".
    EXPECT_EQ(to_hex(c.identities[0].token_sha256),
              "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
    EXPECT_EQ(c.identities[0].publish, (std::vector<std::string>{"md/", ""}));
    EXPECT_EQ(c.identities[0].subscribe, (std::vector<std::string>{"md/#", "ops/+/status"}));
    EXPECT_EQ(c.identities[1].name, "ops.team-2");
    EXPECT_EQ(to_hex(c.identities[1].token_sha256), "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"); // capitals read
    EXPECT_TRUE(c.identities[1].publish.empty());

    EXPECT_EQ(c.limits.topics, 1000u);
    EXPECT_EQ(c.limits.subscriptions, 2000u);
    EXPECT_EQ(c.limits.subscribers, 300u);
    EXPECT_EQ(c.limits.topic_len, 64u);
    EXPECT_EQ(c.limits.filters, 500u);
    EXPECT_EQ(c.limits.groups, 20u);
    EXPECT_EQ(c.limits.topic_idle_s, 600u);
    EXPECT_EQ(c.limits.delivery_rate, 50000u);
    EXPECT_EQ(c.limits.delivery_burst, 256u);

    EXPECT_EQ(c.retention.keep, 16u);
    std::vector<retention_prefix> prefixes = c.retention.prefixes;
    std::sort(prefixes.begin(), prefixes.end(),
              [](const retention_prefix& a, const retention_prefix& b) { return a.prefix < b.prefix; });
    EXPECT_EQ(prefixes, (std::vector<retention_prefix>{{"md/", 1024}, {"md/slow/", 0}}));
    EXPECT_EQ(c.retention.max_messages, 1500u);
    EXPECT_EQ(c.retention.last_values, 500u);

    EXPECT_EQ(c.qos.dedup_window_ms, 250u);
    EXPECT_EQ(c.qos.dedup_entries, 4096u);

    EXPECT_EQ(c.repair.nack_rate, 0u);
    EXPECT_EQ(c.repair.nack_burst, 1u);
    EXPECT_EQ(c.tx, (tx_config{.coalesce = false, .mtu = 9000, .copy_below = 0}));

    EXPECT_EQ(c.debug.inject_loss_ppm, 50000u);
}

TEST(config, keeps_struct_defaults_for_absent_keys) {
    const config_result r =
        parse_config(with_port("[eal]\n[lcores]\n[mempool]\n[retention]\n[qos]\n[repair]\n[tx]\n[debug]\n"), file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    const config defaults;
    EXPECT_EQ(r.cfg.eal, defaults.eal);
    EXPECT_EQ(r.cfg.lcores, defaults.lcores);
    EXPECT_EQ(r.cfg.mempool, defaults.mempool);
    EXPECT_EQ(r.cfg.rings, defaults.rings);
    EXPECT_EQ(r.cfg.rcp, defaults.rcp);
    EXPECT_EQ(r.cfg.limits, defaults.limits);
    EXPECT_EQ(r.cfg.retention, defaults.retention);
    EXPECT_EQ(r.cfg.qos, defaults.qos);
    EXPECT_EQ(r.cfg.repair, defaults.repair);
    EXPECT_EQ(r.cfg.debug, defaults.debug);
    ASSERT_EQ(r.cfg.ports.size(), 1u);
    EXPECT_EQ(r.cfg.ports[0], (port_config{.device = "net_null0", .ipv4 = 0xc0000201}));
}

// The defaults the docs and the daemon promise, written out independently.
TEST(config, defaults_keep_nothing_and_inject_no_loss) {
    const config c;
    EXPECT_EQ(c.limits.filters, 16384u);
    EXPECT_EQ(c.limits.groups, 4096u);
    EXPECT_EQ(c.limits.topic_idle_s, 60u);
    EXPECT_EQ(c.limits.delivery_rate, 0u);
    EXPECT_EQ(c.limits.delivery_burst, 1024u);
    EXPECT_EQ(c.retention.keep, 0u);
    EXPECT_TRUE(c.retention.prefixes.empty());
    EXPECT_EQ(c.retention.max_messages, 2048u);
    EXPECT_EQ(c.retention.last_values, 1024u);
    EXPECT_EQ(c.qos.dedup_window_ms, 5000u);
    EXPECT_EQ(c.qos.dedup_entries, 65536u);
    EXPECT_EQ(c.repair.nack_rate, 20000u);
    EXPECT_EQ(c.repair.nack_burst, 4096u);
    EXPECT_EQ(c.debug.inject_loss_ppm, 0u);
}

class config_error_test : public testing::TestWithParam<test::error_case> {};

TEST_P(config_error_test, reports_file_line_key_and_reason) {
    const test::error_case& c = GetParam();
    const config_result r = parse_config(c.text, file);
    test::expect_one_error(r.errors, c, file);
}

// `n` valid [[port]] tables with distinct devices and addresses, three lines each.
std::string ports(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        s += "[[port]]\ndevice = \"net_null" + std::to_string(i) + "\"\nipv4 = \"192.0.2." +
             std::to_string(i + 1) + "\"\n";
    }
    return s;
}

const std::vector<test::error_case> error_cases = {
    // Unknown names.
    {"rejects_unknown_key_at_top_level", with_port("bogus = 1\n"), 1, "bogus", "unknown key"},
    {"rejects_unknown_key_in_table", with_port("[eal]\nmemory_mb = 512\nmemroy_mb = 64\n"), 3,
     "eal.memroy_mb", "unknown key"},
    {"rejects_unknown_key_in_port", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1\"\nmtu = 9000\n", 4,
     "port[0].mtu", "unknown key"},
    {"rejects_unknown_table", with_port("[telemetry]\nenabled = true\n"), 1, "telemetry", "unknown table"},
    {"rejects_unknown_sub_table", with_port("[eal.extra]\nx = 1\n"), 1, "eal.extra", "unknown table"},
    // Wrong types.
    {"rejects_string_where_integer_expected", with_port("[eal]\nmemory_mb = \"512\"\n"), 2, "eal.memory_mb",
     "expected an integer, got a string"},
    {"rejects_float_where_integer_expected", with_port("[rings]\nsize = 1024.0\n"), 2, "rings.size",
     "expected an integer, got a floating-point number"},
    {"rejects_negative_number", with_port("[rcp]\nlease_s = -1\n"), 2, "rcp.lease_s",
     "must be between 1 and 86400, got -1"},
    {"rejects_integer_where_boolean_expected",
     "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1\"\nverify_udp_checksum = 1\n", 4,
     "port[0].verify_udp_checksum", "expected a boolean, got an integer"},
    {"rejects_value_where_table_expected", with_port("eal = 5\n"), 1, "eal",
     "expected a table, got an integer"},
    {"rejects_integer_in_string_array", with_port("[eal]\nargs = [\"--foo\", 1]\n"), 2, "eal.args[1]",
     "expected a string, got an integer"},
    {"rejects_string_in_lcore_list", with_port("[lcores]\nio = [\"1\"]\n"), 2, "lcores.io[0]",
     "expected an integer, got a string"},
    {"rejects_port_as_plain_table", "[port]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1\"\n", 1, "port",
     "expected an array, got a table"},
    {"rejects_port_array_of_integers", "port = [1]\n", 1, "port[0]", "expected a table, got an integer"},
    // Out of range.
    {"rejects_tcp_time_wait_above_connections", with_port("[tcp]\nconnections = 8\ntime_wait = 9\n"), 3,
     "tcp.time_wait", "must not exceed tcp.connections (8)"},
    {"rejects_an_mqtt_port_that_is_tcp_lites", with_port("[mqtt]\nport = 7700\n"), 2, "mqtt.port",
     "must differ from tcp.port (7700)"},
    {"rejects_a_client_id_limit_below_the_specs_23", with_port("[mqtt]\nclient_id_max = 8\n"), 2,
     "mqtt.client_id_max", "must be between 23 and 256, got 8"},
    {"rejects_an_unknown_slow_consumer_policy", with_port("[tcp]\nslow_consumer = \"block\"\n"), 2,
     "tcp.slow_consumer", "\"drop\" or \"close\""},
    {"rejects_an_rto_below_200_ms", with_port("[tcp]\nrto_initial_ms = 100\n"), 2, "tcp.rto_initial_ms",
     "must be between 200 and 60000, got 100"},
    {"rejects_a_send_queue_below_4096", with_port("[tcp]\nsend_queue = 1000\n"), 2, "tcp.send_queue",
     "must be between 4096"},
    {"rejects_memory_below_minimum", with_port("[eal]\nmemory_mb = 3\n"), 2, "eal.memory_mb",
     "must be between 64 and 1048576, got 3"},
    {"rejects_main_lcore_beyond_rte_max_lcore", with_port("[eal]\nmain_lcore = 128\n"), 2, "eal.main_lcore",
     "must be between 0 and 127, got 128"},
    {"rejects_lcore_beyond_rte_max_lcore", with_port("[lcores]\nworker = [1, 200]\n"), 2, "lcores.worker[1]",
     "must be between 0 and 127, got 200"},
    {"rejects_udp_port_zero", with_port("[rcp]\nudp_port = 0\n"), 2, "rcp.udp_port",
     "must be between 1 and 65535, got 0"},
    {"rejects_err_rate_above_maximum", with_port("[rcp]\nerr_per_s = 1000001\n"), 2, "rcp.err_per_s",
     "must be between 0 and 1000000"},
    {"rejects_topic_len_beyond_wire_limit", with_port("[limits]\ntopic_len = 256\n"), 2, "limits.topic_len",
     "must be between 1 and 255, got 256"},
    {"rejects_cache_beyond_dpdk_maximum", with_port("[mempool]\ncache = 513\n"), 2, "mempool.cache",
     "must be between 0 and 512, got 513"},
    {"rejects_token_over_255_bytes",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"" + std::string(256, 'x') + "\"\n"), 3,
     "identity[0].token",
     "must be 1 to 255 bytes, got 256"},
    {"rejects_identity_without_token", with_port("[[identity]]\nname = \"a\"\n"), 2,
     "identity[0].token_sha256",
     "missing: give token_sha256 (or token)"},
    {"rejects_both_token_forms",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\ntoken_sha256 = \"" + std::string(64, '0') + "\"\n"), 3,
     "identity[0].token", "give token or token_sha256, not both"},
    {"rejects_short_digest", with_port("[[identity]]\nname = \"a\"\ntoken_sha256 = \"abc\"\n"), 3,
     "identity[0].token_sha256", "expected 64 hex digits"},
    {"rejects_identity_name_with_space", with_port("[[identity]]\nname = \"a b\"\ntoken = \"x\"\n"), 2,
     "identity[0].name", "expected a name of 1 to 64"},
    {"rejects_duplicate_identity_name",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\n[[identity]]\nname = \"a\"\ntoken = \"y\"\n"), 5,
     "identity[1].name", "duplicate identity name \"a\""},
    {"rejects_two_identities_with_one_token",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\n[[identity]]\nname = \"b\"\ntoken = \"x\"\n"), 6,
     "identity[1].token", "same token as identity \"a\""},
    {"rejects_wildcard_in_publish_prefix",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\npublish = [\"md/+/\"]\n"), 4,
     "identity[0].publish[0]",
     "not the start of a valid topic"},
    {"rejects_bad_subscribe_filter",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\nsubscribe = [\"md/#/x\"]\n"), 4,
     "identity[0].subscribe[0]", "not a valid filter"},
    {"rejects_share_in_subscribe_acl",
     with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\nsubscribe = [\"$share/g/md/#\"]\n"), 4,
     "identity[0].subscribe[0]", "a $share filter"},
    {"rejects_require_auth_without_identities", with_port("[rcp]\nrequire_auth = true\n"), 2, "rcp.require_auth",
     "needs at least one [[identity]]"},
    {"rejects_unknown_identity_key", with_port("[[identity]]\nname = \"a\"\ntoken = \"x\"\nacl = 1\n"), 4,
     "identity[0].acl", "unknown key"},
    // Strings with a shape.
    {"rejects_unknown_hugepage_mode", with_port("[eal]\nhugepages = \"yes\"\n"), 2, "eal.hugepages",
     "expected \"auto\", \"on\" or \"off\", got \"yes\""},
    {"rejects_file_prefix_with_slash", with_port("[eal]\nfile_prefix = \"a/b\"\n"), 2, "eal.file_prefix",
     "got \"a/b\""},
    {"rejects_empty_file_prefix", with_port("[eal]\nfile_prefix = \"\"\n"), 2, "eal.file_prefix", "got \"\""},
    {"rejects_empty_vdev", with_port("[eal]\nvdevs = [\"\"]\n"), 2, "eal.vdevs[0]", "must not be empty"},
    // Ports.
    {"rejects_config_without_port", "[eal]\nmemory_mb = 512\n", 0, "port", "at least one [[port]] table"},
    {"rejects_empty_port_array", "port = []\n", 1, "port", "must have 1 to 8 [[port]] tables, got 0"},
    {"rejects_nine_ports", ports(9), 1, "port", "must have 1 to 8 [[port]] tables, got 9"},
    {"rejects_port_without_device", "\n[[port]]\nipv4 = \"192.0.2.1\"\n", 2, "port[0].device", "missing"},
    {"rejects_port_without_ipv4", "\n[[port]]\ndevice = \"net_null0\"\n", 2, "port[0].ipv4", "missing"},
    {"rejects_empty_device", "[[port]]\ndevice = \"\"\nipv4 = \"192.0.2.1\"\n", 2, "port[0].device",
     "expected a non-empty ethdev name"},
    {"rejects_ipv4_with_three_parts", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2\"\n", 3,
     "port[0].ipv4", "expected a unicast dotted-quad IPv4 address such as \"192.0.2.1\", got \"192.0.2\""},
    {"rejects_ipv4_part_over_255", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"256.1.1.1\"\n", 3,
     "port[0].ipv4", "got \"256.1.1.1\""},
    {"rejects_ipv4_of_letters", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"a.b.c.d\"\n", 3, "port[0].ipv4",
     "got \"a.b.c.d\""},
    {"rejects_ipv4_with_leading_zero", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.01\"\n", 3,
     "port[0].ipv4", "got \"192.0.2.01\""},
    {"rejects_ipv4_with_trailing_text", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1/24\"\n", 3,
     "port[0].ipv4", "got \"192.0.2.1/24\""},
    {"rejects_unspecified_ipv4", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"0.0.0.0\"\n", 3, "port[0].ipv4",
     "got \"0.0.0.0\""},
    {"rejects_multicast_ipv4", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"224.0.0.1\"\n", 3, "port[0].ipv4",
     "got \"224.0.0.1\""},
    {"rejects_broadcast_ipv4", "[[port]]\ndevice = \"net_null0\"\nipv4 = \"255.255.255.255\"\n", 3,
     "port[0].ipv4", "got \"255.255.255.255\""},
    {"rejects_duplicate_port_device", ports(1) + "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.9\"\n",
     5, "port[1].device", "duplicate of port[0].device \"net_null0\""},
    {"rejects_duplicate_port_ipv4", ports(1) + "[[port]]\ndevice = \"net_null9\"\nipv4 = \"192.0.2.1\"\n", 6,
     "port[1].ipv4", "duplicate of port[0].ipv4 \"192.0.2.1\""},
    {"rejects_non_power_of_two_descriptors",
     "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1\"\nrx_desc = 1000\n", 4, "port[0].rx_desc",
     "must be a power of two between 64 and 4096, got 1000"},
    // Lcores.
    {"rejects_duplicate_lcore", with_port("[lcores]\nio = [1, 2, 1]\n"), 2, "lcores.io[2]",
     "lcore 1 is listed twice"},
    {"rejects_empty_lcore_list", with_port("[lcores]\nworker = []\n"), 2, "lcores.worker",
     "must list at least one lcore"},
    // Cross-key rules.
    {"rejects_cache_too_large_for_a_pool",
     with_port("[mempool]\ncache = 512\nindirect = 511\n[retention]\nmax_messages = 255\nlast_values = 0\n"),
     2, "mempool.cache", "512 is too large for mempool.indirect = 511"},
    {"rejects_default_cache_too_large_for_a_small_pool_at_the_pool",
     with_port("[mempool]\nindirect = 255\n[retention]\nmax_messages = 127\nlast_values = 0\n"), 2,
     "mempool.cache",
     "256 is too large for mempool.indirect = 255 (DPDK needs cache * 1.5 <= pool size): at most 170"},
    {"rejects_non_power_of_two_ring_size", with_port("[rings]\nsize = 1000\n"), 2, "rings.size",
     "must be a power of two between 64 and 65536, got 1000"},
    // Messaging limits.
    {"rejects_zero_filters", with_port("[limits]\nfilters = 0\n"), 2, "limits.filters",
     "must be between 1 and 16777216, got 0"},
    {"rejects_groups_above_maximum", with_port("[limits]\ngroups = 16777217\n"), 2, "limits.groups",
     "must be between 1 and 16777216, got 16777217"},
    {"rejects_topic_idle_over_a_day", with_port("[limits]\ntopic_idle_s = 86401\n"), 2, "limits.topic_idle_s",
     "must be between 1 and 86400, got 86401"},
    {"rejects_zero_topic_idle", with_port("[limits]\ntopic_idle_s = 0\n"), 2, "limits.topic_idle_s",
     "must be between 1 and 86400, got 0"},
    {"rejects_delivery_rate_above_maximum", with_port("[limits]\ndelivery_rate = 100000001\n"), 2,
     "limits.delivery_rate", "must be between 0 and 100000000, got 100000001"},
    {"rejects_zero_delivery_burst", with_port("[limits]\ndelivery_burst = 0\n"), 2, "limits.delivery_burst",
     "must be between 1 and 16777216, got 0"},
    {"rejects_float_delivery_rate", with_port("[limits]\ndelivery_rate = 1.5\n"), 2, "limits.delivery_rate",
     "expected an integer, got a floating-point number"},
    // Retention.
    {"rejects_keep_above_maximum", with_port("[retention]\nkeep = 1048577\n"), 2, "retention.keep",
     "must be between 0 and 1048576, got 1048577"},
    {"rejects_max_messages_above_maximum", with_port("[retention]\nmax_messages = 16777217\n"), 2,
     "retention.max_messages", "must be between 0 and 16777216, got 16777217"},
    {"rejects_negative_last_values", with_port("[retention]\nlast_values = -1\n"), 2, "retention.last_values",
     "must be between 0 and 16777216, got -1"},
    {"rejects_string_keep", with_port("[retention]\nkeep = \"1024\"\n"), 2, "retention.keep",
     "expected an integer, got a string"},
    {"rejects_prefixes_as_integer", with_port("[retention]\nprefixes = 5\n"), 2, "retention.prefixes",
     "expected a table, got an integer"},
    {"rejects_prefixes_as_array", with_port("[retention]\nprefixes = [\"md/\"]\n"), 2, "retention.prefixes",
     "expected a table, got an array"},
    {"rejects_prefix_keep_above_maximum", with_port("[retention]\nprefixes = { \"md/\" = 1048577 }\n"), 2,
     "retention.prefixes.\"md/\"", "must be between 0 and 1048576, got 1048577"},
    {"rejects_prefix_keep_as_string", with_port("[retention.prefixes]\n\"md/\" = \"all\"\n"), 2,
     "retention.prefixes.\"md/\"", "expected an integer, got a string"},
    {"rejects_empty_prefix", with_port("[retention.prefixes]\n\"\" = 4\n"), 2, "retention.prefixes.\"\"",
     "must not be empty"},
    {"rejects_prefix_with_plus", with_port("[retention.prefixes]\n\"md/+/x\" = 4\n"), 2,
     "retention.prefixes.\"md/+/x\"", "not the start of a valid topic: wildcard in topic"},
    {"rejects_prefix_with_hash", with_port("[retention.prefixes]\n\"md/#\" = 4\n"), 2,
     "retention.prefixes.\"md/#\"", "not the start of a valid topic: wildcard in topic"},
    {"rejects_prefix_starting_with_dollar", with_port("[retention.prefixes]\n\"$SYS/\" = 4\n"), 2,
     "retention.prefixes.\"$SYS/\"", "not the start of a valid topic: reserved '$' topic"},
    {"rejects_prefix_with_nul", with_port("[retention.prefixes]\n\"md\\u0000\" = 4\n"), 2,
     "retention.prefixes.\"md\\u0000\"", "not the start of a valid topic: NUL in topic"},
    {"rejects_prefix_no_topic_can_start_with", with_port("[retention.prefixes]\n\"/md\" = 4\n"), 2,
     "retention.prefixes.\"/md\"", "not the start of a valid topic: empty topic level"},
    {"rejects_prefix_longer_than_topic_len",
     with_port("[limits]\ntopic_len = 4\n[retention.prefixes]\n\"abcde\" = 4\n"), 4,
     "retention.prefixes.\"abcde\"", "longer than limits.topic_len = 4 bytes"},
    {"rejects_keep_without_max_messages", with_port("[retention]\nkeep = 8\nmax_messages = 0\n"), 2,
     "retention.keep", "needs retention.max_messages > 0"},
    {"rejects_prefix_keep_without_max_messages",
     with_port("[retention]\nmax_messages = 0\nprefixes = { \"md/\" = 0, \"ev/\" = 8 }\n"), 3,
     "retention.prefixes", "\"ev/\" = 8 needs retention.max_messages > 0"},
    // QoS and repair.
    {"rejects_zero_dedup_window", with_port("[qos]\ndedup_window_ms = 0\n"), 2, "qos.dedup_window_ms",
     "must be between 1 and 3600000, got 0"},
    {"rejects_dedup_window_over_an_hour", with_port("[qos]\ndedup_window_ms = 3600001\n"), 2,
     "qos.dedup_window_ms", "must be between 1 and 3600000, got 3600001"},
    {"rejects_zero_dedup_entries", with_port("[qos]\ndedup_entries = 0\n"), 2, "qos.dedup_entries",
     "must be between 1 and 16777216, got 0"},
    {"rejects_nack_rate_above_maximum", with_port("[repair]\nnack_rate = 100000001\n"), 2, "repair.nack_rate",
     "must be between 0 and 100000000, got 100000001"},
    {"rejects_zero_nack_burst", with_port("[repair]\nnack_burst = 0\n"), 2, "repair.nack_burst",
     "must be between 1 and 16777216, got 0"},
    {"rejects_unknown_key_in_repair", with_port("[repair]\nnack_ratee = 5\n"), 2, "repair.nack_ratee",
     "unknown key"},
    // Loss injection: [debug] only, 0.0..0.5.
    {"rejects_inject_loss_above_half", with_port("[debug]\ninject_loss = 0.6\n"), 2, "debug.inject_loss",
     "must be between 0.0 and 0.5, got 0.6"},
    {"rejects_negative_inject_loss", with_port("[debug]\ninject_loss = -0.1\n"), 2, "debug.inject_loss",
     "must be between 0.0 and 0.5, got -0.1"},
    {"rejects_integer_inject_loss_other_than_zero", with_port("[debug]\ninject_loss = 1\n"), 2,
     "debug.inject_loss", "must be between 0.0 and 0.5, got 1"},
    {"rejects_nan_inject_loss", with_port("[debug]\ninject_loss = nan\n"), 2, "debug.inject_loss",
     "must be between 0.0 and 0.5, got nan"},
    {"rejects_inject_loss_as_string", with_port("[debug]\ninject_loss = \"5%\"\n"), 2, "debug.inject_loss",
     "expected a floating-point number, got a string"},
    {"rejects_inject_loss_in_rcp", with_port("[rcp]\ninject_loss = 0.1\n"), 2, "rcp.inject_loss",
     "only accepted in [debug]"},
    {"rejects_inject_loss_at_top_level", with_port("inject_loss = 0.1\n"), 1, "inject_loss",
     "only accepted in [debug]"},
    {"rejects_inject_loss_in_retention", with_port("[retention]\ninject_loss = 0.0\n"), 2,
     "retention.inject_loss", "only accepted in [debug]"},
    {"rejects_inject_loss_in_a_port",
     "[[port]]\ndevice = \"net_null0\"\nipv4 = \"192.0.2.1\"\ninject_loss = 0.1\n", 4, "port[0].inject_loss",
     "only accepted in [debug]"},
    {"rejects_unknown_key_in_debug", with_port("[debug]\ninject_los = 0.1\n"), 2, "debug.inject_los",
     "unknown key"},
    // TOML itself.
    {"rejects_toml_syntax_error", with_port("[eal]\nmemory_mb = \n"), 2, "invalid TOML", "expected value"},
    {"rejects_key_defined_twice", with_port("[rings]\nsize = 64\nsize = 128\n"), 3, "invalid TOML",
     "cannot redefine existing integer 'size'"},
};

INSTANTIATE_TEST_SUITE_P(config, config_error_test, testing::ValuesIn(error_cases),
                         [](const testing::TestParamInfo<test::error_case>& p) { return p.param.name; });

TEST(config, reads_the_tcp_table) {
    const config_result r = parse_config(with_port(R"([tcp]
enabled = false
port = 7800
connections = 100
time_wait = 100
send_queue = 65536
queue_entries = 1000
receive_buffer = 8192
slow_consumer = "close"
idle_timeout_s = 0
rto_initial_ms = 300
max_retries = 3
delayed_ack_ms = 10
time_wait_ms = 500
)"),
                                         file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    const tcp_lite_config want{.enabled = false,
                               .port = 7800,
                               .connections = 100,
                               .time_wait = 100,
                               .send_queue = 65536,
                               .queue_entries = 1000,
                               .receive_buffer = 8192,
                               .slow_consumer = slow_consumer_policy::close,
                               .idle_timeout_s = 0,
                               .rto_initial_ms = 300,
                               .max_retries = 3,
                               .delayed_ack_ms = 10,
                               .time_wait_ms = 500};
    EXPECT_EQ(r.cfg.tcp, want);
}

TEST(config, serves_tcp_lite_on_7700_by_default) {
    const config_result r = parse_config(with_port(""), file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_TRUE(r.cfg.tcp.enabled);
    EXPECT_EQ(r.cfg.tcp.port, 7700);
    EXPECT_EQ(r.cfg.tcp.slow_consumer, slow_consumer_policy::drop);
}

TEST(config, reads_retention_prefixes_as_a_sub_table) {
    const config_result r = parse_config(with_port(R"([retention]
keep = 4
[retention.prefixes]
"md/" = 1024
"md/slow/" = 0
"inject_loss" = 2
)"),
                                         file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.retention.keep, 4u);
    // A prefix is a topic, not a config key: "inject_loss" is a fine one.
    std::vector<retention_prefix> prefixes = r.cfg.retention.prefixes;
    std::sort(prefixes.begin(), prefixes.end(),
              [](const retention_prefix& a, const retention_prefix& b) { return a.prefix < b.prefix; });
    EXPECT_EQ(prefixes, (std::vector<retention_prefix>{{"inject_loss", 2}, {"md/", 1024}, {"md/slow/", 0}}));
}

TEST(config, accepts_a_prefix_of_exactly_topic_len_bytes) {
    const config_result r =
        parse_config(with_port("[limits]\ntopic_len = 4\n[retention.prefixes]\n\"abcd\" = 1\n"), file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.retention.prefixes, (std::vector<retention_prefix>{{"abcd", 1}}));
}

TEST(config, reports_every_bad_prefix_and_keeps_none) {
    const config_result r =
        parse_config(with_port("[retention.prefixes]\n\"ok/\" = 1\n\"+\" = 1\n\"$x\" = 1\n"), file);
    EXPECT_EQ(r.errors.size(), 2u) << test::all_errors(r.errors);
    EXPECT_TRUE(r.cfg.retention.prefixes.empty());
}

TEST(config, allows_last_values_without_max_messages) {
    const config_result r =
        parse_config(with_port("[retention]\nmax_messages = 0\nlast_values = 100\n"), file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.retention.max_messages, 0u);
    EXPECT_EQ(r.cfg.retention.last_values, 100u);
}

TEST(config, refuses_retention_over_half_the_receive_pool) {
    const config_result r = parse_config(
        with_port("[mempool]\nmbufs = 4095\n[retention]\nmax_messages = 2000\nlast_values = 48\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].to_string(),
              "test.toml:4:16: retention.max_messages + retention.last_values: 2048 is more than half of "
              "mempool.mbufs = 4095 (at most 2047): retained messages hold these mbufs, and the receive path "
              "needs the rest");
}

TEST(config, accepts_retention_of_exactly_half_the_smallest_pool) {
    const config_result r = parse_config(
        with_port("[mempool]\nmbufs = 4095\n[retention]\nmax_messages = 2000\nlast_values = 47\n"), file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
}

TEST(config, refuses_default_retention_over_half_a_small_indirect_pool_at_the_pool) {
    // No [retention]: its defaults (2048 + 1024) still have to fit.
    const config_result r = parse_config(with_port("[mempool]\nindirect = 4095\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].to_string(),
              "test.toml:2:12: retention.max_messages + retention.last_values: 3072 is more than half of "
              "mempool.indirect = 4095 (at most 2047): retained messages hold these mbufs, and the receive "
              "path needs the rest");
}

TEST(config, reports_retention_over_both_pools_twice) {
    const config_result r = parse_config(
        with_port("[mempool]\nmbufs = 1023\nindirect = 1023\n[retention]\nlast_values = 0\n"), file);
    ASSERT_EQ(r.errors.size(), 2u) << test::all_errors(r.errors);
    EXPECT_NE(r.errors[0].message.find("mempool.mbufs = 1023 (at most 511)"), std::string::npos)
        << test::all_errors(r.errors);
    EXPECT_NE(r.errors[1].message.find("mempool.indirect = 1023 (at most 511)"), std::string::npos)
        << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].line, 5u); // at retention.last_values: max_messages is not written
}

TEST(config, converts_inject_loss_to_parts_per_million) {
    const std::pair<std::string, uint32_t> cases[] = {
        {"0.05", 50'000},       {"0.0", 0},  {"0", 0}, {"0.5", 500'000}, {"1e-6", 1},
        {"0.1234567", 123'457}, {"4e-7", 0},
    };
    for (const auto& [text, ppm] : cases) {
        const config_result r = parse_config(with_port("[debug]\ninject_loss = " + text + "\n"), file);
        ASSERT_TRUE(r.ok()) << text << "\n" << test::all_errors(r.errors);
        EXPECT_EQ(r.cfg.debug.inject_loss_ppm, ppm) << text;
    }
}

TEST(config, refuses_inject_loss_outside_debug_even_when_debug_sets_it) {
    const config_result r =
        parse_config(with_port("[debug]\ninject_loss = 0.1\n[limits]\ninject_loss = 0.1\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].to_string(),
              "test.toml:4:1: limits.inject_loss: only accepted in [debug] (a switch "
              "for tests and demos)");
}

TEST(config, knows_the_messaging_keys) {
    const std::vector<std::string> keys = known_config_keys();
    for (const char* k :
         {"limits.filters", "limits.groups", "limits.topic_idle_s", "limits.delivery_rate",
          "limits.delivery_burst", "retention.keep", "retention.prefixes", "retention.max_messages",
          "retention.last_values", "qos.dedup_window_ms", "qos.dedup_entries", "repair.nack_rate",
          "repair.nack_burst", "debug.inject_loss"}) {
        EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
    }
    for (const char* k : {"retention", "debug", "rcp.inject_loss"}) {
        EXPECT_EQ(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
    }
}

TEST(config, reports_line_and_column_of_the_value) {
    const config_result r = parse_config(with_port("[eal]\nmemory_mb = 3\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].to_string(),
              "test.toml:2:13: eal.memory_mb: must be between 64 and 1048576, got 3");
}

TEST(config, reports_every_error_in_file_order) {
    const config_result r = parse_config(R"([eal]
memory_mb = 3
bogus = true
[lcores]
io = [1, 1]
[[port]]
device = "net_null0"
ipv4 = "192.0.2"
[rings]
size = 100
[extra]
)",
                                         file);
    const std::vector<std::pair<uint32_t, std::string>> expected = {{2, "eal.memory_mb"}, {3, "eal.bogus"},
                                                                    {5, "lcores.io[1]"},  {8, "port[0].ipv4"},
                                                                    {10, "rings.size"},   {11, "extra"}};
    ASSERT_EQ(r.errors.size(), expected.size()) << test::all_errors(r.errors);
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(r.errors[i].line, expected[i].first) << test::all_errors(r.errors);
        EXPECT_TRUE(r.errors[i].message.starts_with(expected[i].second + ": ")) << r.errors[i].message;
    }
}

TEST(config, names_duplicate_ports_by_their_index_in_the_file) {
    const config_result r = parse_config(R"(port = [
    1,
    {device = "net_null0", ipv4 = "192.0.2.1"},
    {device = "net_null0", ipv4 = "192.0.2.2"},
]
)",
                                         file);
    ASSERT_EQ(r.errors.size(), 2u) << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].to_string(), "test.toml:2:5: port[0]: expected a table, got an integer");
    EXPECT_EQ(r.errors[1].to_string(),
              "test.toml:4:15: port[2].device: duplicate of port[1].device \"net_null0\"");
}

TEST(config, never_echoes_a_token) {
    const std::string token(300, 'k');
    const config_result r = parse_config(with_port("[[identity]]\nname = \"a\"\ntoken = \"" + token + "\"\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r.errors);
    EXPECT_EQ(r.errors[0].to_string().find("kkk"), std::string::npos) << r.errors[0].to_string();
}

TEST(config, keeps_defaults_where_a_value_is_rejected) {
    const config_result r = parse_config(with_port("[eal]\nmemory_mb = 3\n[lcores]\nio = [1, 1]\n"), file);
    EXPECT_EQ(r.errors.size(), 2u) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.eal.memory_mb, eal_config{}.memory_mb);
    EXPECT_EQ(r.cfg.lcores.io, lcore_config{}.io);
}

TEST(config, formats_error_without_position_as_path_and_message) {
    EXPECT_EQ((config_error{"a.toml", 0, 0, "port: missing"}.to_string()), "a.toml: port: missing");
    EXPECT_EQ((config_error{"a.toml", 3, 7, "x: bad"}.to_string()), "a.toml:3:7: x: bad");
}

TEST(config, formats_ipv4_from_host_order) {
    EXPECT_EQ(format_ipv4(0xc0000201), "192.0.2.1");
    EXPECT_EQ(format_ipv4(0), "0.0.0.0");
    EXPECT_EQ(format_ipv4(0xffffffff), "255.255.255.255");
}

TEST(config, load_reports_a_missing_file_with_strerror) {
    const config_result r = load_config("/nonexistent/ringcast.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "/nonexistent/ringcast.toml: cannot read: No such file or directory");
    EXPECT_EQ(r.cfg.path, "/nonexistent/ringcast.toml");
}

TEST(config, load_reports_a_directory_as_unreadable) {
    const config_result r = load_config("/");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "/: cannot read: Is a directory");
}

TEST(config, load_parses_the_file_and_records_its_path) {
    const std::filesystem::path p = std::filesystem::temp_directory_path() /
                                    ("ringcast_config_test_" + std::to_string(::getpid()) + ".toml");
    std::ofstream(p) << with_port("[rings]\nsize = 128\n");
    const config_result r = load_config(p.string());
    std::filesystem::remove(p);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.path, p.string());
    EXPECT_EQ(r.cfg.rings.size, 128u);
}

// The shipped examples must stay valid: scripts and integration tests use them.
TEST(config, accepts_the_shipped_testbed_config) {
    const config_result r = load_config((test::source_root() / "config/testbed.toml").string());
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.eal.file_prefix, "rc-testbed");
    EXPECT_EQ(r.cfg.eal.vdevs, std::vector<std::string>{"net_af_packet0,iface=rc0,qpairs=1,framecnt=8192"});
    ASSERT_EQ(r.cfg.ports.size(), 1u);
    EXPECT_EQ(r.cfg.ports[0].device, "net_af_packet0");
    EXPECT_EQ(format_ipv4(r.cfg.ports[0].ipv4), "192.0.2.1");
    EXPECT_EQ(r.cfg.rcp.udp_port, 7700);
    // Replay and NACK work on the test bed out of the box; loss only on purpose.
    EXPECT_EQ(r.cfg.retention.keep, 1024u);
    EXPECT_GE(r.cfg.retention.max_messages, 1024u);
    EXPECT_EQ(r.cfg.debug.inject_loss_ppm, 0u);
}

TEST(config, accepts_the_shipped_ringcastd_config) {
    const config_result r = load_config((test::source_root() / "config/ringcastd.toml").string());
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    EXPECT_EQ(r.cfg.eal.hugepages, hugepage_mode::on);
    EXPECT_EQ(r.cfg.eal.allow, std::vector<std::string>{"0000:01:00.0"});
}

} // namespace
} // namespace ringcast
