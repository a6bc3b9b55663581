// The text views of `ringcast stats` and `ringcast top` on canned telemetry
// replies, written here in the shape DPDK 22.11's telemetry socket gives.
#include <ringcast/client/telemetry_views.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace ringcast {
namespace {

using namespace std::chrono_literals;

const char* const stats_json = R"({"rx_packets": 1000, "rx_bursts": 40, "rx_frames": 1200, "pub_frames": 900,
  "deliveries": 4500, "datagrams": 1200, "tx_packets": 4600, "malformed": 2, "subscriptions": 7, "topics": 3,
  "frames_per_datagram": {"1": 700, "2_3": 300, "4_7": 150, "8_15": 50, "16_up": 0},
  "frames_per_datagram_milli": 3750,
  "drops": {"malformed": 2, "ring_full": 30, "tx_full": 0, "pool_empty": 5},
  "drops_total": 37,
  "mempools": {"rc_rx_0": {"size": 16383, "in_use": 512}, "rc_hdr": {"size": 1000, "in_use": 0}}})";
const char* const config_json =
    R"({"path": "config/testbed.toml", "file_prefix": "rc-testbed", "udp_port": 7700, "lease_s": 30})";
const char* const lcores_json = R"({"lcore0": {"role": "io+worker", "packets": 1000, "bursts": 40,
  "deliveries": 4500, "busy_permille": 250, "busy_cycles": 250, "total_cycles": 1000, "ring_depth": 3}})";
const char* const ports_json = R"({"net_af_packet0": {"device": "net_af_packet0", "driver": "net_af_packet",
  "port_id": 0, "mac": "02:00:00:00:00:01", "ipv4": "192.0.2.1", "udp_port": 7700, "multi_seg_tx": 1,
  "link_up": 1, "speed_mbps": 10000, "ipackets": 1000, "opackets": 4600, "ibytes": 64000, "obytes": 300000,
  "imissed": 4, "ierrors": 1, "oerrors": 2, "rx_nombuf": 0}})";

// n topics "t0".."t{n-1}", topic i with i subscribers and seq 10 * i.
std::string topics_json(int n, int seq_step = 10) {
    std::string s = "{";
    for (int i = 0; i < n; ++i) {
        s += (i ? ", " : "") + std::string("\"t") + std::to_string(i) +
             "\": {\"subscribers\": " + std::to_string(i) + ", \"seq\": " + std::to_string(seq_step * i) +
             ", \"retained\": 0, \"worker_lcore\": 0, \"topic\": \"t" + std::to_string(i) + "\"}";
    }
    return s + "}";
}

const char* const subscribers_json = R"({"192_0_2_2_5000": {"address": "192.0.2.2:5000", "port": 0,
  "filters": 2, "deliveries": 10, "drops": 1, "nacks_served": 0, "replayed": 0, "rate_capped": 1,
  "injected_loss": 0, "nack_limited": 0},
  "192_0_2_3_6000": {"address": "192.0.2.3:6000", "port": 0, "filters": 1, "deliveries": 99, "drops": 0,
  "nacks_served": 3, "replayed": 4, "rate_capped": 0, "injected_loss": 0, "nack_limited": 0}})";

stats_replies canned(int topics = 3) {
    return stats_replies{.stats = parse_json(stats_json),
                         .config = parse_json(config_json),
                         .lcores = parse_json(lcores_json),
                         .ports = parse_json(ports_json),
                         .topics = parse_json(topics_json(topics)),
                         .subscribers = parse_json(subscribers_json),
                         .tcp = json_value{},
                         .mqtt = json_value{}};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

// The first line holding every one of `parts`, or "".
std::string line_with(const std::string& text, std::initializer_list<std::string_view> parts) {
    for (const std::string& l : lines_of(text)) {
        bool all = true;
        for (const auto p : parts) {
            all = all && l.find(p) != std::string::npos;
        }
        if (all) {
            return l;
        }
    }
    return "";
}

TEST(telemetry_views, summary_starts_with_the_configuration) {
    const std::string s = stats_summary(canned());
    EXPECT_EQ(lines_of(s).at(0),
              "ringcastd config/testbed.toml  file prefix rc-testbed  UDP port 7700  lease 30 s");
}

TEST(telemetry_views, summary_totals_leave_out_what_has_its_own_section) {
    const std::string s = stats_summary(canned());
    // Keys padded to the longest ("subscriptions"), numbers right-aligned.
    EXPECT_EQ(line_with(s, {"rx_packets"}), "  rx_packets     1000");
    EXPECT_EQ(line_with(s, {"deliveries", "4500"}), "  deliveries     4500");
    EXPECT_EQ(line_with(s, {"drops_total"}), "");
    const std::string totals = s.substr(0, s.find("\nDrops"));
    EXPECT_EQ(totals.find("malformed"), std::string::npos); // only under Drops
}

TEST(telemetry_views, summary_shows_frames_per_datagram) {
    const std::string s = stats_summary(canned());
    EXPECT_EQ(line_with(s, {"Frames per datagram"}),
              "Frames per datagram: mean 3.75 (1: 700, 2_3: 300, 4_7: 150, 8_15: 50, 16_up: 0)");
    EXPECT_EQ(line_with(s, {"16_up"}).find("  16_up"), std::string::npos); // not among the totals
}

TEST(telemetry_views, summary_lists_drops_largest_first_with_their_meaning) {
    const std::string s = stats_summary(canned());
    const auto l = lines_of(s);
    const auto head = std::find(l.begin(), l.end(), "Drops: 37 in all");
    ASSERT_NE(head, l.end());
    EXPECT_NE(head[1].find("reason"), std::string::npos);
    EXPECT_EQ(head[2].rfind("  ring_full ", 0), 0u) << head[2];
    EXPECT_NE(head[2].find("io to worker ring full"), std::string::npos);
    EXPECT_EQ(head[3].rfind("  pool_empty ", 0), 0u) << head[3];
    EXPECT_EQ(head[4].rfind("  malformed ", 0), 0u) << head[4];
    EXPECT_EQ(line_with(s, {"tx_full"}), ""); // zero: not listed
}

TEST(telemetry_views, summary_says_when_nothing_was_dropped) {
    stats_replies r = canned();
    r.stats = parse_json(R"({"rx_packets": 1, "drops": {"ring_full": 0}, "drops_total": 0, "mempools": {}})");
    EXPECT_NE(stats_summary(r).find("\nDrops: none\n"), std::string::npos);
}

TEST(telemetry_views, summary_shows_pools_lcores_and_ports) {
    const std::string s = stats_summary(canned());
    EXPECT_EQ(line_with(s, {"rc_rx_0"}), "  rc_rx_0     512  16383  3.1%");
    EXPECT_EQ(line_with(s, {"rc_hdr"}), "  rc_hdr        0   1000  0.0%");
    EXPECT_EQ(line_with(s, {"lcore0"}),
              "  lcore0  io+worker     1000      40        4500  25.0%           3");
    EXPECT_EQ(line_with(s, {"net_af_packet0"}), "  net_af_packet0 (net_af_packet)  link up 10000 Mb/s  mac "
                                                "02:00:00:00:00:01  192.0.2.1:7700  zero-copy TX");
    EXPECT_EQ(line_with(s, {"rx 1000 packets"}),
              "    rx 1000 packets 64000 bytes, missed 4, errors 1, no mbuf 0");
}

TEST(telemetry_views, summary_lists_topics_by_subscribers_and_cuts_the_rest) {
    const std::string s = stats_summary(canned(12));
    const auto l = lines_of(s);
    const auto head = std::find(l.begin(), l.end(), "Top topics");
    ASSERT_NE(head, l.end());
    EXPECT_EQ(head[2].rfind("  t11 ", 0), 0u) << head[2]; // most subscribers first
    EXPECT_EQ(head[3].rfind("  t10 ", 0), 0u) << head[3];
    EXPECT_EQ(head[11].rfind("  t2 ", 0), 0u) << head[11];
    EXPECT_EQ(head[12], "  ... and 2 more");
}

TEST(telemetry_views, summary_lists_subscribers_by_deliveries) {
    const std::string s = stats_summary(canned());
    const auto l = lines_of(s);
    const auto head = std::find(l.begin(), l.end(), "Top subscribers");
    ASSERT_NE(head, l.end());
    EXPECT_EQ(head[2].rfind("  192.0.2.3:6000 ", 0), 0u) << head[2];
    EXPECT_EQ(head[3].rfind("  192.0.2.2:5000 ", 0), 0u) << head[3];
}

TEST(telemetry_views, summary_of_missing_replies_is_empty_sections) {
    stats_replies r;
    r.stats = parse_json(stats_json);
    const std::string s = stats_summary(r);
    EXPECT_NE(s.find("Top topics: none"), std::string::npos);
    EXPECT_NE(s.find("Top subscribers: none"), std::string::npos);
    EXPECT_EQ(s.find("Lcores"), std::string::npos);
    EXPECT_EQ(s.find("ringcastd "), std::string::npos);
}

top_sample sample(std::chrono::steady_clock::time_point at, uint64_t rx, uint64_t busy, uint64_t total,
                  int topic_seq_step, uint64_t ring_full) {
    top_sample s;
    s.at = at;
    s.stats =
        parse_json(R"({"rx_packets": )" + std::to_string(rx) +
                   R"(, "pub_frames": 0, "deliveries": 0, "tx_packets": 0, "drops_total": )" +
                   std::to_string(ring_full) + R"(, "drops": {"ring_full": )" + std::to_string(ring_full) +
                   R"(, "tx_full": 0}, "subscriptions": 1, "topics": 2, "subscribers": 1, "mempools": {}})");
    s.lcores =
        parse_json(R"({"lcore1": {"role": "worker", "packets": )" + std::to_string(rx) +
                   R"(, "deliveries": 0, "busy_permille": 999, "busy_cycles": )" + std::to_string(busy) +
                   R"(, "total_cycles": )" + std::to_string(total) + R"(, "ring_depth": 0}})");
    s.ports = parse_json(ports_json);
    s.topics = parse_json(topics_json(3, topic_seq_step));
    return s;
}

TEST(telemetry_views, first_top_frame_has_no_rates_yet) {
    const auto t0 = std::chrono::steady_clock::time_point{} + 10s;
    const std::string f = top_frame(sample(t0, 1000, 10, 100, 10, 0), nullptr, "rc-testbed", 1.0, "12:34:56");
    EXPECT_EQ(lines_of(f).at(0), "ringcast top  rc-testbed  every 1.0 s  12:34:56  (Ctrl-C quits)");
    EXPECT_EQ(lines_of(f).at(1), "rx - pkt/s  pub -/s  deliveries -/s  tx - pkt/s  drops -/s");
    // Busy from the since-start ratio, and said so.
    EXPECT_NE(line_with(f, {"lcore1", "worker", "99.9%"}), "");
    EXPECT_NE(f.find("(BUSY: share of loop time on work since start)"), std::string::npos);
    EXPECT_NE(f.find("DROPS: none"), std::string::npos);
}

TEST(telemetry_views, top_frame_rates_come_from_two_samples) {
    const auto t0 = std::chrono::steady_clock::time_point{} + 10s;
    const top_sample a = sample(t0, 1000, 100, 1000, 10, 5);
    const top_sample b = sample(t0 + 2s, 5000, 400, 2000, 20, 25);
    const std::string f = top_frame(b, &a, "p", 2.0, "00:00:00");
    EXPECT_EQ(lines_of(f).at(1), "rx 2.0k pkt/s  pub 0.0/s  deliveries 0.0/s  tx 0.0 pkt/s  drops 10.0/s");
    // Busy over the interval: 300 of 1000 cycles.
    EXPECT_NE(line_with(f, {"lcore1", "worker", "30.0%", "2.0k"}), "") << f;
    EXPECT_EQ(f.find("since start"), std::string::npos);
    // Topics by message rate: t2's seq went 20 -> 40 in 2 s.
    EXPECT_NE(line_with(f, {"t2", "10.0", "40"}), "") << f;
    const auto l = lines_of(f);
    const auto topics =
        std::find_if(l.begin(), l.end(), [](const std::string& x) { return x.rfind("TOPIC", 0) == 0; });
    ASSERT_NE(topics, l.end());
    EXPECT_EQ(topics[1].rfind("t2 ", 0), 0u) << topics[1];
    EXPECT_NE(line_with(f, {"ring_full", "10.0", "25"}), "") << f;
}

std::string tcp_json(uint64_t syns, uint64_t retransmits) {
    return R"({"enabled": 1, "port": 7700, "connections": 5,
      "states": {"established": 3, "fin_wait_1": 0, "time_wait": 2},
      "syns": )" + std::to_string(syns) + R"(, "established": 5, "closed": 1, "resets_received": 2, "aborted": 1,
      "resets_sent": 9, "retransmits": )" + std::to_string(retransmits) + R"(, "fast_retransmits": 4,
      "timeouts": 3, "zero_window_probes": 6, "tcp_slow_consumer": 11, "slow_consumer_closes": 1})";
}

TEST(telemetry_views, summary_shows_tcp_lite_connections_by_state_and_its_events) {
    stats_replies r = canned(3);
    r.tcp = parse_json(tcp_json(8, 12));
    const std::string s = stats_summary(r);
    EXPECT_NE(s.find("TCP-lite on port 7700"), std::string::npos) << s;
    EXPECT_NE(s.find("tcp connections 5 (established 3, time_wait 2)"), std::string::npos) << s;
    EXPECT_NE(line_with(s, {"syns 8", "resets sent 9"}), "") << s;
    EXPECT_NE(line_with(s, {"retransmits 12 (fast 4, timeouts 3)", "zero-window probes 6",
                            "11 deliveries dropped, 1 closed"}),
              "")
        << s;
}

TEST(telemetry_views, summary_leaves_tcp_lite_out_when_it_is_not_served) {
    stats_replies r = canned(3);
    EXPECT_EQ(stats_summary(r).find("TCP-lite"), std::string::npos);
    r.tcp = parse_json(R"({"enabled": 0, "port": 7700, "connections": 0, "states": {}})");
    EXPECT_EQ(stats_summary(r).find("TCP-lite"), std::string::npos);
}

TEST(telemetry_views, top_frame_shows_tcp_connections_and_their_rates) {
    const auto t0 = std::chrono::steady_clock::time_point{} + 10s;
    top_sample a = sample(t0, 1000, 100, 1000, 10, 0);
    top_sample b = sample(t0 + 2s, 1000, 100, 1000, 10, 0);
    a.tcp = parse_json(tcp_json(8, 12));
    b.tcp = parse_json(tcp_json(28, 16));
    const std::string f = top_frame(b, &a, "p", 2.0, "00:00:00");
    EXPECT_NE(line_with(f, {"tcp connections 5 (established 3, time_wait 2)", "syns 10.0/s",
                            "retransmits 2.0/s"}),
              "")
        << f;
}

std::string mqtt_json(uint64_t publish_in) {
    return R"({"enabled": 1, "port": 1883, "sessions_connected": 4, "sessions_offline": 2, "in_flight": 7,
      "queued": 30, "connects": 9, "connects_refused": 1, "sessions_resumed": 3, "takeovers": 1, "disconnects": 5,
      "wills_sent": 2, "publish_in": )" + std::to_string(publish_in) + R"(, "publish_refused": 1, "publish_out": 40,
      "redelivered": 6, "not_sent": 0, "queue_dropped": 8, "queue_full": 0, "keep_alive_expiries": 1,
      "protocol_errors": 2, "too_large": 0, "ack_timeouts": 0})";
}

TEST(telemetry_views, summary_shows_mqtt_sessions_and_why_connections_closed) {
    stats_replies r = canned(3);
    EXPECT_EQ(stats_summary(r).find("MQTT"), std::string::npos);
    r.mqtt = parse_json(mqtt_json(20));
    const std::string s = stats_summary(r);
    EXPECT_NE(s.find("MQTT on port 1883"), std::string::npos) << s;
    EXPECT_NE(s.find("mqtt sessions 4 connected, 2 offline  in flight 7  queued 30"), std::string::npos) << s;
    EXPECT_NE(line_with(s, {"connects 9 (refused 1, resumed 3)", "takeovers 1", "wills sent 2"}), "") << s;
    EXPECT_NE(line_with(s, {"publish in 20 (refused 1)", "redelivered 6", "queue drops 8"}), "") << s;
    EXPECT_NE(line_with(s, {"keep-alive 1", "protocol errors 2"}), "") << s;
}

TEST(telemetry_views, top_frame_shows_mqtt_sessions_and_publish_rates) {
    const auto t0 = std::chrono::steady_clock::time_point{} + 10s;
    top_sample a = sample(t0, 1000, 100, 1000, 10, 0);
    top_sample b = sample(t0 + 2s, 1000, 100, 1000, 10, 0);
    a.mqtt = parse_json(mqtt_json(20));
    b.mqtt = parse_json(mqtt_json(60));
    const std::string f = top_frame(b, &a, "p", 2.0, "00:00:00");
    EXPECT_NE(line_with(f, {"mqtt sessions 4 connected, 2 offline", "publish in 20.0/s"}), "") << f;
}

TEST(telemetry_views, display_shows_printable_text_and_hex_otherwise) {
    EXPECT_EQ(display("hello 1"), "hello 1");
    EXPECT_EQ(display(std::string("a\0b", 3)), "0x610062");
    EXPECT_EQ(display("\x7f"), "0x7f");
    EXPECT_EQ(display(""), "");
}

} // namespace
} // namespace ringcast
