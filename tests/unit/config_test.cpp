#include <ringcast/config.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
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

std::string all_errors(const config_result& r) {
    std::string s;
    for (const config_error& e : r.errors) {
        s += e.to_string() + "\n";
    }
    return s;
}

std::filesystem::path source_root() {
    if (const char* root = std::getenv("RINGCAST_SOURCE_ROOT")) {
        return root;
    }
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
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
auth_token = "s3cret"
err_per_s = 0

[limits]
topics = 1000
subscriptions = 2000
subscribers = 300
topic_len = 64
)",
                                         file);
    ASSERT_TRUE(r.ok()) << all_errors(r);
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
    EXPECT_EQ(c.rcp.auth_token, "s3cret");
    EXPECT_EQ(c.rcp.err_per_s, 0u);

    EXPECT_EQ(c.limits.topics, 1000u);
    EXPECT_EQ(c.limits.subscriptions, 2000u);
    EXPECT_EQ(c.limits.subscribers, 300u);
    EXPECT_EQ(c.limits.topic_len, 64u);
}

TEST(config, keeps_struct_defaults_for_absent_keys) {
    const config_result r = parse_config(with_port("[eal]\n[lcores]\n[mempool]\n"), file);
    ASSERT_TRUE(r.ok()) << all_errors(r);
    const config defaults;
    EXPECT_EQ(r.cfg.eal, defaults.eal);
    EXPECT_EQ(r.cfg.lcores, defaults.lcores);
    EXPECT_EQ(r.cfg.mempool, defaults.mempool);
    EXPECT_EQ(r.cfg.rings, defaults.rings);
    EXPECT_EQ(r.cfg.rcp, defaults.rcp);
    EXPECT_EQ(r.cfg.limits, defaults.limits);
    ASSERT_EQ(r.cfg.ports.size(), 1u);
    EXPECT_EQ(r.cfg.ports[0], (port_config{.device = "net_null0", .ipv4 = 0xc0000201}));
}

struct error_case {
    std::string name; // the behaviour, as the test's name
    std::string text;
    uint32_t line;      // 0: the error has no position
    std::string key;    // full key the message must name
    std::string reason; // part of the message
};

class config_error_test : public testing::TestWithParam<error_case> {};

TEST_P(config_error_test, reports_file_line_key_and_reason) {
    const error_case& c = GetParam();
    const config_result r = parse_config(c.text, file);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const std::string e = r.errors[0].to_string();
    const std::string where = std::string(file) + (c.line == 0 ? ": " : ":" + std::to_string(c.line) + ":");
    EXPECT_TRUE(e.starts_with(where)) << e << "\nexpected it to start with " << where;
    EXPECT_NE(e.find(" " + c.key + ": "), std::string::npos) << e;
    EXPECT_NE(e.find(c.reason), std::string::npos) << e;
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

const std::vector<error_case> error_cases = {
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
    {"rejects_auth_token_over_255_bytes",
     with_port("[rcp]\nauth_token = \"" + std::string(256, 'x') + "\"\n"), 2, "rcp.auth_token",
     "must be at most 255 bytes, got 256"},
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
    {"rejects_cache_too_large_for_a_pool", with_port("[mempool]\ncache = 512\nindirect = 511\n"), 2,
     "mempool.cache", "512 is too large for mempool.indirect = 511"},
    {"rejects_default_cache_too_large_for_a_small_pool_at_the_pool", with_port("[mempool]\nindirect = 255\n"),
     2, "mempool.cache",
     "256 is too large for mempool.indirect = 255 (DPDK needs cache * 1.5 <= pool size): at most 170"},
    {"rejects_non_power_of_two_ring_size", with_port("[rings]\nsize = 1000\n"), 2, "rings.size",
     "must be a power of two between 64 and 65536, got 1000"},
    // TOML itself.
    {"rejects_toml_syntax_error", with_port("[eal]\nmemory_mb = \n"), 2, "invalid TOML", "expected value"},
    {"rejects_key_defined_twice", with_port("[rings]\nsize = 64\nsize = 128\n"), 3, "invalid TOML",
     "cannot redefine existing integer 'size'"},
};

INSTANTIATE_TEST_SUITE_P(config, config_error_test, testing::ValuesIn(error_cases),
                         [](const testing::TestParamInfo<error_case>& p) { return p.param.name; });

TEST(config, reports_line_and_column_of_the_value) {
    const config_result r = parse_config(with_port("[eal]\nmemory_mb = 3\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
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
    ASSERT_EQ(r.errors.size(), expected.size()) << all_errors(r);
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(r.errors[i].line, expected[i].first) << all_errors(r);
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
    ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
    EXPECT_EQ(r.errors[0].to_string(), "test.toml:2:5: port[0]: expected a table, got an integer");
    EXPECT_EQ(r.errors[1].to_string(),
              "test.toml:4:15: port[2].device: duplicate of port[1].device \"net_null0\"");
}

TEST(config, never_echoes_the_auth_token) {
    const std::string token(300, 'k');
    const config_result r = parse_config(with_port("[rcp]\nauth_token = \"" + token + "\"\n"), file);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].to_string().find("kkk"), std::string::npos) << r.errors[0].to_string();
}

TEST(config, keeps_defaults_where_a_value_is_rejected) {
    const config_result r = parse_config(with_port("[eal]\nmemory_mb = 3\n[lcores]\nio = [1, 1]\n"), file);
    EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
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
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.cfg.path, p.string());
    EXPECT_EQ(r.cfg.rings.size, 128u);
}

// The shipped examples must stay valid: scripts and integration tests use them.
TEST(config, accepts_the_shipped_testbed_config) {
    const config_result r = load_config((source_root() / "config/testbed.toml").string());
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.cfg.eal.file_prefix, "rc-testbed");
    EXPECT_EQ(r.cfg.eal.vdevs, std::vector<std::string>{"net_af_packet0,iface=rc0,qpairs=1"});
    ASSERT_EQ(r.cfg.ports.size(), 1u);
    EXPECT_EQ(r.cfg.ports[0].device, "net_af_packet0");
    EXPECT_EQ(format_ipv4(r.cfg.ports[0].ipv4), "192.0.2.1");
    EXPECT_EQ(r.cfg.rcp.udp_port, 7700);
}

TEST(config, accepts_the_shipped_ringcastd_config) {
    const config_result r = load_config((source_root() / "config/ringcastd.toml").string());
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.cfg.eal.hugepages, hugepage_mode::on);
    EXPECT_EQ(r.cfg.eal.allow, std::vector<std::string>{"0000:01:00.0"});
}

} // namespace
} // namespace ringcast
