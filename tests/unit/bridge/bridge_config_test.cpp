#include <ringcast/bridge/bridge_config.hpp>

#include <config_errors.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace ringcast {
namespace {

constexpr const char* file = "bridge.toml";

// Appended to cases that are not about [[forward]], so that a case's line
// numbers count from the top of its own text.
std::string with_forward(std::string_view text) {
    return std::string(text) + "\n[[forward]]\nsubject = \"md.>\"\ntopic_prefix = \"market\"\n";
}

TEST(bridge_config, reads_every_field) {
    const bridge_config_result r = parse_bridge_config(R"(
[bridge]
stats_socket = "/tmp/b.sock"
[nats]
servers = ["nats://10.0.0.1:4222", "10.0.0.2:4222"]
name = "edge-1"
connect_timeout_ms = 500
reconnect_wait_ms = 100
pending_messages = 4096
[appliance]
address = "192.0.2.1"
port = 7800
transport = "tcp"
local_port = 0
token = "s3cret"
qos = 1
max_in_flight = 64
ack_timeout_ms = 20
attempts = 3
lease_s = 10
[jetstream]
stream = "MD"
durable = "edge-1"
deliver = "new"
ack_wait_ms = 5000
[[forward]]
subject = "md.eq.>"
topic_prefix = "eq"
)",
                                                       file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    const bridge_config& c = r.cfg;
    EXPECT_EQ(c.stats_socket, "/tmp/b.sock");
    EXPECT_EQ(c.nats.servers, (std::vector<std::string>{"nats://10.0.0.1:4222", "10.0.0.2:4222"}));
    EXPECT_EQ(c.nats.name, "edge-1");
    EXPECT_EQ(c.nats.connect_timeout_ms, 500u);
    EXPECT_EQ(c.nats.reconnect_wait_ms, 100u);
    EXPECT_EQ(c.nats.pending_messages, 4096u);
    EXPECT_EQ(c.appliance.address, "192.0.2.1");
    EXPECT_EQ(c.appliance.port, 7800);
    EXPECT_EQ(c.appliance.transport, bridge_transport::tcp);
    EXPECT_EQ(c.appliance.token, "s3cret");
    EXPECT_EQ(c.appliance.qos, 1);
    EXPECT_EQ(c.appliance.max_in_flight, 64u);
    EXPECT_EQ(c.appliance.ack_timeout_ms, 20u);
    EXPECT_EQ(c.appliance.attempts, 3u);
    EXPECT_EQ(c.appliance.lease_s, 10u);
    ASSERT_TRUE(c.jetstream.has_value());
    EXPECT_EQ(c.jetstream->stream, "MD");
    EXPECT_EQ(c.jetstream->durable, "edge-1");
    EXPECT_EQ(c.jetstream->deliver, jetstream_deliver::new_only);
    EXPECT_EQ(c.jetstream->ack_wait_ms, 5000u);
    ASSERT_EQ(c.forward.size(), 1u);
    EXPECT_EQ(c.forward[0], (forward_rule{"md.eq.>", "eq"}));
    EXPECT_EQ(c.path, file);
}

TEST(bridge_config, keeps_defaults_and_core_nats_mode_without_jetstream) {
    const bridge_config_result r = parse_bridge_config(with_forward(""), file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    bridge_config expected;
    expected.forward = {forward_rule{"md.>", "market"}};
    expected.path = file;
    EXPECT_EQ(r.cfg, expected);
    EXPECT_FALSE(r.cfg.jetstream.has_value());
}

TEST(bridge_config, takes_several_disjoint_forwards_in_core_mode) {
    const bridge_config_result r = parse_bridge_config(
        "[[forward]]\nsubject = \"md.eq.*\"\ntopic_prefix = \"eq\"\n"
        "[[forward]]\nsubject = \"md.fx.>\"\ntopic_prefix = \"fx\"\n"
        "[[forward]]\nsubject = \"news\"\n",
        file);
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    ASSERT_EQ(r.cfg.forward.size(), 3u);
    EXPECT_EQ(r.cfg.forward[2], (forward_rule{"news", ""}));
}

class bridge_config_error_test : public testing::TestWithParam<test::error_case> {};

TEST_P(bridge_config_error_test, reports_file_line_key_and_reason) {
    const test::error_case& c = GetParam();
    const bridge_config_result r = parse_bridge_config(c.text, file);
    test::expect_one_error(r.errors, c, file);
}

// JetStream mode with what it needs, so a case breaks one thing.
std::string js(std::string_view appliance, std::string_view forwards = "[[forward]]\nsubject = \"md.>\"\n") {
    return "[appliance]\nlocal_port = 47700\n" + std::string(appliance) + "[jetstream]\nstream = \"MD\"\n" +
           std::string(forwards);
}

const std::vector<test::error_case> error_cases = {
    // Unknown names, by position.
    {"rejects_an_unknown_key", with_forward("[appliance]\nport = 7700\nspeed = 10\n"), 3, "appliance.speed",
     "unknown key"},
    {"rejects_an_unknown_table", with_forward("[cluster]\nx = 1\n"), 1, "cluster", "unknown table"},
    {"rejects_an_unknown_key_in_a_forward", "[[forward]]\nsubject = \"a\"\nprefix = \"b\"\n", 3, "forward[0].prefix",
     "unknown key"},
    // Types and ranges.
    {"rejects_a_string_port", with_forward("[appliance]\nport = \"7700\"\n"), 2, "appliance.port",
     "expected an integer, got a string"},
    {"rejects_qos_3", with_forward("[appliance]\nqos = 3\n"), 2, "appliance.qos", "must be between 0 and 2, got 3"},
    {"rejects_a_hostname_for_the_appliance", with_forward("[appliance]\naddress = \"ringcast.local\"\n"), 2,
     "appliance.address", "a dotted IPv4 address"},
    {"rejects_an_unknown_transport", with_forward("[appliance]\ntransport = \"quic\"\n"), 2, "appliance.transport",
     "\"udp\" or \"tcp\""},
    {"rejects_an_empty_server_list", with_forward("[nats]\nservers = []\n"), 2, "nats.servers",
     "at least one server"},
    {"rejects_a_server_list_in_one_string", with_forward("[nats]\nservers = [\"a:4222,b:4222\"]\n"), 2,
     "nats.servers", "without spaces or commas"},
    {"rejects_servers_as_a_string", with_forward("[nats]\nservers = \"nats://a:4222\"\n"), 2, "nats.servers",
     "expected an array, got a string"},
    {"rejects_a_tiny_pending_buffer", with_forward("[nats]\npending_messages = 10\n"), 2, "nats.pending_messages",
     "must be between 1024 and"},
    // [[forward]].
    {"requires_a_forward", "[nats]\nname = \"x\"\n", 0, "forward", "at least one [[forward]]"},
    {"rejects_forward_as_a_plain_table", "[forward]\nsubject = \"md.>\"\n", 1, "forward",
     "expected an array, got a table"},
    {"requires_a_subject", "[[forward]]\ntopic_prefix = \"market\"\n", 1, "forward[0].subject", "required"},
    {"rejects_a_gt_before_the_end", "[[forward]]\nsubject = \"md.>.x\"\n", 2, "forward[0].subject",
     "'>' must be the subject filter's last token"},
    {"rejects_a_token_that_is_no_topic_level", "[[forward]]\nsubject = \"md.a/b\"\n", 2, "forward[0].subject",
     "cannot be a ringcast topic level"},
    {"rejects_a_dollar_prefix", "[[forward]]\nsubject = \"md.>\"\ntopic_prefix = \"$SYS\"\n", 2,
     "forward[0].subject", "starts with '$'"},
    {"rejects_dollar_subjects_without_a_prefix", "[[forward]]\nsubject = \"$JS.>\"\n", 2, "forward[0].subject",
     "'$' topics"},
    {"rejects_overlapping_forwards",
     "[[forward]]\nsubject = \"md.>\"\ntopic_prefix = \"a\"\n[[forward]]\nsubject = \"md.*.x\"\ntopic_prefix = "
     "\"b\"\n",
     5, "forward[1].subject", "overlaps forward[0].subject"},
    // JetStream mode.
    {"requires_a_stream", "[appliance]\nlocal_port = 1\n[jetstream]\ndurable = \"d\"\n[[forward]]\nsubject = \"md.>\"\n",
     3, "jetstream.stream", "required"},
    {"rejects_a_stream_name_with_a_dot",
     with_forward("[appliance]\nlocal_port = 1\n[jetstream]\nstream = \"M.D\"\n"), 4, "jetstream.stream",
     "a stream name"},
    {"rejects_qos_0_with_jetstream", js("qos = 0\n"), 3, "appliance.qos", "needs 1 or 2"},
    {"rejects_udp_without_a_local_port_with_jetstream",
     "[appliance]\nqos = 2\n[jetstream]\nstream = \"MD\"\n[[forward]]\nsubject = \"md.>\"\n", 1,
     "appliance.local_port", "fixed source port"},
    {"points_at_jetstream_when_there_is_no_appliance_table",
     "[jetstream]\nstream = \"MD\"\n[[forward]]\nsubject = \"md.>\"\n", 1, "appliance.local_port",
     "fixed source port"},
    {"rejects_two_forwards_with_jetstream",
     js("", "[[forward]]\nsubject = \"md.>\"\n[[forward]]\nsubject = \"fx.>\"\n"), 5, "forward",
     "one [[forward]] table"},
    {"rejects_an_unknown_deliver_policy",
     "[appliance]\nlocal_port = 47700\n[jetstream]\nstream = \"MD\"\ndeliver = \"first\"\n[[forward]]\nsubject = "
     "\"md.>\"\n",
     5, "jetstream.deliver", "\"all\", \"last\" or \"new\""},
};

INSTANTIATE_TEST_SUITE_P(bridge_config, bridge_config_error_test, testing::ValuesIn(error_cases),
                         [](const testing::TestParamInfo<test::error_case>& p) { return p.param.name; });

TEST(bridge_config, accepts_tcp_without_a_local_port_in_jetstream_mode) {
    const bridge_config_result r = parse_bridge_config(
        "[appliance]\ntransport = \"tcp\"\n[jetstream]\nstream = \"MD\"\n[[forward]]\nsubject = \"md.>\"\n", file);
    EXPECT_TRUE(r.ok()) << test::all_errors(r.errors);
}

TEST(bridge_config, reports_every_error_in_one_pass) {
    const bridge_config_result r =
        parse_bridge_config("[appliance]\nport = 0\nqos = 9\n[[forward]]\nsubject = \"\"\n", file);
    EXPECT_EQ(r.errors.size(), 3u) << test::all_errors(r.errors);
}

TEST(bridge_config, never_echoes_a_token) {
    const bridge_config_result r = parse_bridge_config(with_forward("[appliance]\ntoken = 12345678\n"), file);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(test::all_errors(r.errors).find("12345678"), std::string::npos) << test::all_errors(r.errors);
}

TEST(bridge_config, knows_every_key_once) {
    const std::vector<std::string> keys = known_bridge_config_keys();
    for (const char* k :
         {"bridge.stats_socket", "nats.servers", "nats.name", "nats.connect_timeout_ms", "nats.reconnect_wait_ms",
          "nats.pending_messages", "appliance.address", "appliance.port", "appliance.transport",
          "appliance.local_port", "appliance.token", "appliance.qos", "appliance.max_in_flight",
          "appliance.ack_timeout_ms", "appliance.attempts", "appliance.lease_s", "jetstream.stream",
          "jetstream.durable", "jetstream.deliver", "jetstream.ack_wait_ms", "forward.subject",
          "forward.topic_prefix"}) {
        EXPECT_EQ(std::count(keys.begin(), keys.end(), k), 1) << k;
    }
    EXPECT_EQ(keys.size(), 22u);
}

TEST(bridge_config, load_reports_a_missing_file) {
    const bridge_config_result r = load_bridge_config("/nonexistent/bridge.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "/nonexistent/bridge.toml: cannot read: No such file or directory");
}

// Scripts, the docs and the systemd unit point at it.
TEST(bridge_config, accepts_the_shipped_config) {
    const bridge_config_result r = load_bridge_config((test::source_root() / "config/bridge.toml").string());
    ASSERT_TRUE(r.ok()) << test::all_errors(r.errors);
    ASSERT_TRUE(r.cfg.jetstream.has_value());
    EXPECT_EQ(r.cfg.jetstream->stream, "MD");
    EXPECT_EQ(topic_filter_of(r.cfg.forward.at(0)), "market/#");
}

} // namespace
} // namespace ringcast
