#include <ringcast/core/config.hpp>
#include <ringcast/core/sha256.hpp>
#include <ringcast/core/toml_reader.hpp>
#include <ringcast/core/topic.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <utility>

namespace ringcast {

namespace {

using namespace toml_reader;

// Debian's DPDK 22.11 is built with RTE_MAX_LCORE = 128.
constexpr uint32_t max_lcore = 128;
// A token is a HELLO's payload: a bound keeps the digest cheap and the frame small.
constexpr size_t max_token_len = 255;
constexpr size_t max_identity_name_len = 64;
// Loss injection drops live deliveries on purpose; the key is refused by
// name anywhere but [debug] (error_sink::set_debug_only_key).
constexpr std::string_view debug_only_key = "inject_loss";
// More than half lost shows nothing about repair that half does not, and
// would have retransmissions outnumber live deliveries.
constexpr double max_inject_loss = 0.5;

// Strict a.b.c.d: four decimal parts 0..255 without leading zeros, which
// inet_aton would read as octal.
std::optional<uint32_t> parse_ipv4(std::string_view s) {
    uint32_t addr = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (s.empty() || s.front() != '.') {
                return std::nullopt;
            }
            s.remove_prefix(1);
        }
        size_t digits = 0;
        uint32_t v = 0;
        while (digits < s.size() && digits < 4 && s[digits] >= '0' && s[digits] <= '9') {
            v = v * 10 + static_cast<uint32_t>(s[digits] - '0');
            ++digits;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s.front() == '0')) {
            return std::nullopt;
        }
        addr = addr << 8 | v;
        s.remove_prefix(digits);
    }
    if (!s.empty()) {
        return std::nullopt;
    }
    return addr;
}

// A port's own address: not 0/8, loopback, multicast, or 240/4 (which holds
// the broadcast address), none of which a host may answer ARP for.
std::optional<uint32_t> parse_unicast_ipv4(std::string_view s) {
    const auto addr = parse_ipv4(s);
    if (!addr) {
        return std::nullopt;
    }
    const uint32_t first = *addr >> 24;
    if (first == 0 || first == 127 || first >= 224) {
        return std::nullopt;
    }
    return addr;
}

// The prefix names files under /var/run/dpdk and hugetlbfs, and the
// telemetry socket directory: keep it to characters safe in a path.
std::optional<std::string> parse_file_prefix(std::string_view s) {
    const auto safe = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    };
    if (s.empty() || !std::all_of(s.begin(), s.end(), safe)) {
        return std::nullopt;
    }
    return std::string(s);
}

std::optional<hugepage_mode> parse_hugepage_mode(std::string_view s) {
    if (s == "auto") {
        return hugepage_mode::automatic;
    }
    if (s == "on") {
        return hugepage_mode::on;
    }
    if (s == "off") {
        return hugepage_mode::off;
    }
    return std::nullopt;
}

std::optional<std::string> non_empty(std::string_view s) {
    if (s.empty()) {
        return std::nullopt;
    }
    return std::string(s);
}

// Each reader below is the schema of one table: key, range, and (through
// the field it fills) the default.

void read_eal(section& s, eal_config& e) {
    s.integer("main_lcore", e.main_lcore, 0, max_lcore - 1);
    s.string_as("file_prefix", e.file_prefix, "a non-empty name of A-Z a-z 0-9 _ -", parse_file_prefix);
    s.string_as("hugepages", e.hugepages, "\"auto\", \"on\" or \"off\"", parse_hugepage_mode);
    s.integer("memory_mb", e.memory_mb, 64, 1'048'576);
    s.strings("vdevs", e.vdevs);
    s.strings("allow", e.allow);
    s.strings("args", e.args);
}

void read_lcores(section& s, lcore_config& l) {
    s.lcores("io", l.io, max_lcore);
    s.lcores("worker", l.worker, max_lcore);
}

// Returns which of device and ipv4 were read, for the duplicate checks.
std::pair<bool, bool> read_port(section& s, port_config& p) {
    const bool device = s.string_as("device", p.device, "a non-empty ethdev name", non_empty, true);
    const bool ipv4 = s.string_as("ipv4", p.ipv4, "a unicast dotted-quad IPv4 address such as \"192.0.2.1\"",
                                  parse_unicast_ipv4, true);
    s.integer("rx_desc", p.rx_desc, 64, 4096, must::be_power_of_two);
    s.integer("tx_desc", p.tx_desc, 64, 4096, must::be_power_of_two);
    s.boolean("verify_udp_checksum", p.verify_udp_checksum);
    return {device, ipv4};
}

void read_mempool(section& s, mempool_config& m) {
    s.integer("mbufs", m.mbufs, 1023, 16'777'215);
    s.integer("cache", m.cache, 0, 512);
    s.integer("headers", m.headers, 1023, 16'777'215);
    s.integer("indirect", m.indirect, 255, 16'777'215);
    // The one cache size serves every pool, and rte_mempool_create refuses a
    // cache whose flush threshold (cache * 3 / 2) exceeds the pool.
    const std::pair<std::string_view, uint32_t> pools[] = {
        {"mbufs", m.mbufs}, {"headers", m.headers}, {"indirect", m.indirect}};
    for (const auto& [key, size] : pools) {
        if (m.cache * 3 / 2 > size) {
            s.fail("cache",
                   std::to_string(m.cache) + " is too large for mempool." + std::string(key) + " = " +
                       std::to_string(size) + " (DPDK needs cache * 1.5 <= pool size): at most " +
                       std::to_string((2 * size + 1) / 3),
                   key);
        }
    }
}

void read_rings(section& s, ring_config& r) {
    s.integer("size", r.size, 64, 65'536, must::be_power_of_two);
}

void read_rcp(section& s, rcp_config& r) {
    s.integer("udp_port", r.udp_port, 1, 65'535);
    s.integer("lease_s", r.lease_s, 1, 86'400);
    s.boolean("require_auth", r.require_auth);
    s.integer("err_per_s", r.err_per_s, 0, 1'000'000);
    s.integer("err_global_per_s", r.err_global_per_s, 0, 10'000'000);
}

void read_limits(section& s, limits_config& l) {
    s.integer("topics", l.topics, 1, 16'777'216);
    s.integer("subscriptions", l.subscriptions, 1, 67'108'864);
    s.integer("subscribers", l.subscribers, 1, 16'777'216);
    s.integer("topic_len", l.topic_len, 1, 255);
    s.integer("filters", l.filters, 1, 16'777'216);
    s.integer("groups", l.groups, 1, 16'777'216);
    s.integer("topic_idle_s", l.topic_idle_s, 1, 86'400);
    s.integer("delivery_rate", l.delivery_rate, 0, 100'000'000);
    s.integer("delivery_burst", l.delivery_burst, 1, 16'777'216);
    s.integer("source_subscriptions", l.source_subscriptions, 0, 67'108'864);
    s.integer("source_topics_per_s", l.source_topics_per_s, 0, 16'777'216);
}

std::optional<std::string> parse_identity_name(std::string_view s) {
    const auto safe = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == '.';
    };
    if (s.empty() || s.size() > max_identity_name_len || !std::all_of(s.begin(), s.end(), safe)) {
        return std::nullopt;
    }
    return std::string(s);
}

// Why a non-empty topic prefix (retention.prefixes, identity.publish) is
// refused, or "" when it is good. A prefix must be the start of some valid
// PUB topic: that topic checked with one more byte appended is exactly the
// prefix's own check ("md/" is fine, "/md" and "a//" could never match).
std::string bad_topic_prefix(std::string_view prefix, uint32_t topic_len) {
    if (prefix.size() > topic_len) {
        return "longer than limits.topic_len = " + std::to_string(topic_len) + " bytes";
    }
    std::string topic(prefix);
    topic += 'x';
    const topic_check c = check_pub_topic(std::as_bytes(std::span(topic)), topic.size());
    return c == topic_check::ok ? std::string{} : "not the start of a valid topic: " + std::string(to_string(c));
}

// A publish ACL entry: "" (every topic) or the start of a valid topic.
std::string bad_publish_prefix(std::string_view prefix, uint32_t topic_len) {
    return prefix.empty() ? std::string{} : bad_topic_prefix(prefix, topic_len);
}

// A subscribe ACL entry: a filter, not a $share (groups are the subscriber's choice).
std::string bad_subscribe_filter(std::string_view filter, uint32_t topic_len) {
    filter_spec spec;
    const topic_check c = parse_filter(std::as_bytes(std::span(filter)), topic_len, spec);
    if (c != topic_check::ok) {
        return "not a valid filter: " + std::string(to_string(c));
    }
    if (spec.shared()) {
        return "a $share filter; list the filter alone (any group may use it)";
    }
    return {};
}

// Strings each refused when `bad(s)` gives a reason; empty strings allowed.
template <class Bad>
void acl_list(section& s, std::string_view key, std::vector<std::string>& out, Bad bad) {
    const toml::node* n = s.take(key, toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& a = *n->as_array();
    std::vector<std::string> values;
    for (size_t i = 0; i < a.size(); ++i) {
        const std::string name = indexed(s.full(key), i);
        if (!a[i].is_string()) {
            s.sink().add(a[i].source().begin, name + ": expected a string, got " + std::string(type_name(a[i].type())));
            continue;
        }
        const std::string& v = a[i].as_string()->get();
        if (const std::string reason = bad(v); !reason.empty()) {
            s.sink().add(a[i].source().begin, name + ": " + reason + ", got " + quote(escaped(v)));
            continue;
        }
        values.push_back(v);
    }
    if (values.size() == a.size()) {
        out = std::move(values);
    }
}

// Returns whether a digest was read, for the duplicate check.
bool read_identity(section& s, identity_config& id, uint32_t topic_len) {
    s.string_as("name", id.name, "a name of 1 to 64 A-Z a-z 0-9 _ - .", parse_identity_name, true);
    bool have = false;
    if (s.has("token") && s.has("token_sha256")) {
        s.fail("token", "give token or token_sha256, not both");
    }
    if (const toml::node* n = s.take("token", toml::node_type::string)) {
        const std::string& token = n->as_string()->get();
        if (token.empty() || token.size() > max_token_len) {
            // The token is a secret: say how long it is, never what it is.
            s.fail("token", "must be 1 to " + std::to_string(max_token_len) + " bytes, got " +
                                std::to_string(token.size()));
        } else {
            id.token_sha256 = sha256(std::as_bytes(std::span(token)));
            have = true;
        }
    }
    have = s.string_as("token_sha256", id.token_sha256, "64 hex digits (sha256sum of the token)", digest_from_hex) ||
           have;
    if (!have && !s.has("token") && !s.has("token_sha256") && !s.sink().recording()) {
        s.fail("token_sha256", "missing: give token_sha256 (or token)", "name");
    }
    acl_list(s, "publish", id.publish, [&](std::string_view p) { return bad_publish_prefix(p, topic_len); });
    acl_list(s, "subscribe", id.subscribe, [&](std::string_view f) { return bad_subscribe_filter(f, topic_len); });
    return have;
}

void read_identities(section& root, std::vector<identity_config>& out, uint32_t topic_len) {
    if (root.sink().recording()) {
        (void)root.take("identity", toml::node_type::array);
        const toml::table empty;
        section s(root.sink(), empty, "identity", toml::source_position{});
        identity_config id;
        (void)read_identity(s, id, topic_len);
        return;
    }
    const toml::node* n = root.take("identity", toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& tables = *n->as_array();
    if (tables.size() > max_identities) {
        root.fail("identity", "at most " + std::to_string(max_identities) + " [[identity]] tables, got " +
                                  std::to_string(tables.size()));
        return;
    }
    for (size_t i = 0; i < tables.size(); ++i) {
        const toml::node& e = tables[i];
        const std::string name = indexed("identity", i);
        if (!e.is_table()) {
            root.sink().add(e.source().begin, name + ": expected a table, got " + std::string(type_name(e.type())));
            continue;
        }
        section s(root.sink(), *e.as_table(), name, e.source().begin);
        identity_config id;
        const bool have = read_identity(s, id, topic_len);
        s.reject_unknown();
        for (const identity_config& other : out) {
            if (!id.name.empty() && other.name == id.name) {
                s.fail("name", "duplicate identity name " + quote(id.name));
            }
            if (have && other.token_sha256 == id.token_sha256) {
                // A HELLO must name one identity.
                s.fail(s.has("token") ? "token" : "token_sha256", "same token as identity " + quote(other.name));
            }
        }
        out.push_back(std::move(id));
    }
}

std::string bad_retention_prefix(std::string_view prefix, uint32_t topic_len) {
    if (prefix.empty()) {
        return "must not be empty (retention.keep is the default for every topic)";
    }
    return bad_topic_prefix(prefix, topic_len);
}

void read_retention(section& s, retention_config& r, uint32_t topic_len) {
    s.integer("keep", r.keep, 0, 1'048'576);
    std::vector<std::pair<std::string, uint32_t>> prefixes;
    s.named_integers("prefixes", prefixes, 0, 1'048'576,
                     [&](std::string_view p) { return bad_retention_prefix(p, topic_len); });
    for (auto& [prefix, keep] : prefixes) {
        r.prefixes.push_back(retention_prefix{std::move(prefix), keep});
    }
    s.integer("max_messages", r.max_messages, 0, 16'777'216);
    s.integer("last_values", r.last_values, 0, 16'777'216);
    // Per-topic rings draw from the global cap: with none, nothing is kept.
    if (r.max_messages == 0) {
        if (r.keep > 0) {
            s.fail("keep", "needs retention.max_messages > 0", "max_messages");
        }
        for (const retention_prefix& p : r.prefixes) {
            if (p.keep > 0) {
                s.fail("prefixes", quote(p.prefix) + " = " + std::to_string(p.keep) +
                                       " needs retention.max_messages > 0");
            }
        }
    }
}

void read_qos(section& s, qos_config& q) {
    s.integer("dedup_window_ms", q.dedup_window_ms, 1, 3'600'000);
    s.integer("dedup_entries", q.dedup_entries, 1, 16'777'216);
}

void read_repair(section& s, repair_config& r) {
    s.integer("nack_rate", r.nack_rate, 0, 100'000'000);
    s.integer("nack_burst", r.nack_burst, 1, 16'777'216);
}

void read_tx(section& s, tx_config& t) {
    s.boolean("coalesce", t.coalesce);
    s.integer("mtu", t.mtu, 576, max_mtu);
    s.integer("copy_below", t.copy_below, 0, max_mtu);
}

std::optional<slow_consumer_policy> parse_slow_consumer(std::string_view s) {
    if (s == "drop") {
        return slow_consumer_policy::drop;
    }
    if (s == "close") {
        return slow_consumer_policy::close;
    }
    return std::nullopt;
}

void read_tcp(section& s, tcp_lite_config& t) {
    s.boolean("enabled", t.enabled);
    s.integer("port", t.port, 1, 65'535);
    s.integer("connections", t.connections, 1, 1'048'576);
    s.integer("time_wait", t.time_wait, 1, 1'048'576);
    s.integer("send_queue", t.send_queue, 4096, 1 << 30);
    s.integer("queue_entries", t.queue_entries, 64, 1 << 26);
    s.integer("receive_buffer", t.receive_buffer, 4096, 1 << 30);
    s.string_as("slow_consumer", t.slow_consumer, "\"drop\" or \"close\"", parse_slow_consumer);
    s.integer("idle_timeout_s", t.idle_timeout_s, 0, 86'400 * 7);
    s.integer("rto_initial_ms", t.rto_initial_ms, 200, 60'000);
    s.integer("max_retries", t.max_retries, 1, 30);
    s.integer("delayed_ack_ms", t.delayed_ack_ms, 1, 500);
    s.integer("time_wait_ms", t.time_wait_ms, 1, 240'000);
    if (t.time_wait > t.connections) {
        s.fail("time_wait", "must not exceed tcp.connections (" + std::to_string(t.connections) + ")");
    }
}

void read_mqtt(section& s, mqtt_config& m, const tcp_lite_config& tcp) {
    s.boolean("enabled", m.enabled);
    s.integer("port", m.port, 1, 65'535);
    s.integer("sessions", m.sessions, 1, 65'535);
    s.integer("max_packet", m.max_packet, 128, 65'536);
    s.integer("client_id_max", m.client_id_max, 23, 256);
    s.integer("max_filters", m.max_filters, 1, 1024);
    s.integer("max_in_flight", m.max_in_flight, 1, 65'535);
    s.integer("max_queued", m.max_queued, 1, 1 << 20);
    s.integer("queued_total", m.queued_total, 1, 1 << 24);
    s.integer("max_unanswered", m.max_unanswered, 16, 65'535);
    s.integer("ack_timeout_ms", m.ack_timeout_ms, 100, 60'000);
    if (m.enabled && m.port == tcp.port) {
        s.fail("port", "must differ from tcp.port (" + std::to_string(tcp.port) + ")");
    }
}

void read_debug(section& s, debug_config& d) {
    s.fraction_ppm(debug_only_key, d.inject_loss_ppm, max_inject_loss);
}

// A retained message holds an mbuf of a receive pool and, for a frame of a
// multi-frame datagram, an indirect mbuf too. Capped at half of each pool,
// retention can never starve the receive path it depends on. Checked on the
// whole file, since either table may be absent and keep its defaults.
void check_retention_fits_pools(error_sink& sink, const toml::table& table, const config& cfg) {
    const uint64_t held = uint64_t{cfg.retention.max_messages} + cfg.retention.last_values;
    const std::pair<std::string_view, uint32_t> pools[] = {{"mbufs", cfg.mempool.mbufs},
                                                           {"indirect", cfg.mempool.indirect}};
    for (const auto& [key, size] : pools) {
        if (2 * held <= size) {
            continue;
        }
        // At the retention keys when written, else at the pool's size.
        const toml::node* near[] = {table["retention"]["max_messages"].node(),
                                    table["retention"]["last_values"].node(), table["mempool"][key].node(),
                                    table["retention"].node()};
        const auto at =
            std::find_if(std::begin(near), std::end(near), [](const toml::node* n) { return n != nullptr; });
        sink.add(at != std::end(near) ? (*at)->source().begin : toml::source_position{},
                 "retention.max_messages + retention.last_values: " + std::to_string(held) +
                     " is more than half of mempool." + std::string(key) + " = " + std::to_string(size) +
                     " (at most " + std::to_string(size / 2) +
                     "): retained messages hold these mbufs, and the receive path needs the rest");
    }
}

void read_ports(section& root, std::vector<port_config>& ports) {
    if (root.sink().recording()) {
        // Schema walk: one empty [[port]] table, its keys named "port.KEY".
        (void)root.take("port", toml::node_type::array);
        const toml::table empty;
        section s(root.sink(), empty, "port", toml::source_position{});
        port_config p;
        (void)read_port(s, p);
        return;
    }
    if (!root.has("port")) {
        root.fail("port", "at least one [[port]] table is required");
        return;
    }
    const toml::node* n = root.take("port", toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& tables = *n->as_array();
    if (tables.empty() || tables.size() > max_ports) {
        root.fail("port", "must have 1 to " + std::to_string(max_ports) + " [[port]] tables, got " +
                              std::to_string(tables.size()));
        return;
    }
    std::vector<size_t> read_from; // for each entry of `ports`, its index in the file
    for (size_t i = 0; i < tables.size(); ++i) {
        const toml::node& e = tables[i];
        const std::string name = indexed("port", i);
        if (!e.is_table()) {
            root.sink().add(e.source().begin,
                            name + ": expected a table, got " + std::string(type_name(e.type())));
            continue;
        }
        section s(root.sink(), *e.as_table(), name, e.source().begin);
        port_config p;
        const auto [device_ok, ipv4_ok] = read_port(s, p);
        s.reject_unknown();
        for (size_t j = 0; j < ports.size(); ++j) {
            const std::string other = indexed("port", read_from[j]);
            if (device_ok && ports[j].device == p.device) {
                s.fail("device", "duplicate of " + other + ".device " + quote(p.device));
            }
            if (ipv4_ok && ports[j].ipv4 == p.ipv4) {
                s.fail("ipv4", "duplicate of " + other + ".ipv4 " + quote(format_ipv4(p.ipv4)));
            }
        }
        ports.push_back(std::move(p));
        read_from.push_back(i);
    }
}

void read_root(error_sink& sink, const toml::table& table, config& cfg) {
    // The root's "header" is the whole file: a missing key there has no line.
    section root(sink, table, "", toml::source_position{});
    root.table("eal", [&](section& s) { read_eal(s, cfg.eal); });
    root.table("lcores", [&](section& s) { read_lcores(s, cfg.lcores); });
    read_ports(root, cfg.ports);
    root.table("mempool", [&](section& s) { read_mempool(s, cfg.mempool); });
    root.table("rings", [&](section& s) { read_rings(s, cfg.rings); });
    root.table("rcp", [&](section& s) { read_rcp(s, cfg.rcp); });
    root.table("limits", [&](section& s) { read_limits(s, cfg.limits); });
    // After [limits]: ACL prefixes and filters are checked against limits.topic_len.
    read_identities(root, cfg.identities, cfg.limits.topic_len);
    if (cfg.rcp.require_auth && cfg.identities.empty()) {
        sink.add(table["rcp"]["require_auth"].node() != nullptr ? table["rcp"]["require_auth"].node()->source().begin
                                                                : toml::source_position{},
                 "rcp.require_auth: needs at least one [[identity]] table, or nobody could get in");
    }
    // After [limits]: prefixes are checked against limits.topic_len.
    root.table("retention", [&](section& s) { read_retention(s, cfg.retention, cfg.limits.topic_len); });
    root.table("qos", [&](section& s) { read_qos(s, cfg.qos); });
    root.table("repair", [&](section& s) { read_repair(s, cfg.repair); });
    root.table("tx", [&](section& s) { read_tx(s, cfg.tx); });
    root.table("tcp", [&](section& s) { read_tcp(s, cfg.tcp); });
    root.table("mqtt", [&](section& s) { read_mqtt(s, cfg.mqtt, cfg.tcp); });
    root.table("debug", [&](section& s) { read_debug(s, cfg.debug); });
    root.reject_unknown();
    check_retention_fits_pools(sink, table, cfg);
}

} // namespace

std::string config_error::to_string() const {
    if (line == 0) {
        return path + ": " + message;
    }
    return path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

config_result parse_config(std::string_view text, std::string_view path) {
    config_result result;
    result.cfg.path = std::string(path);
    result.errors = read_toml(
        text, path, [&](error_sink& sink, const toml::table& table) { read_root(sink, table, result.cfg); },
        debug_only_key);
    return result;
}

config_result load_config(const std::string& path) {
    std::string text;
    if (const int err = read_file(path, text); err != 0) {
        config_result result;
        result.cfg.path = path;
        result.errors.push_back(config_error{path, 0, 0, std::string("cannot read: ") + std::strerror(err)});
        return result;
    }
    return parse_config(text, path);
}

std::vector<std::string> known_config_keys() {
    config cfg;
    return known_keys([&](error_sink& sink, const toml::table& table) { read_root(sink, table, cfg); });
}

std::string restart_needed(const config& a, const config& b) {
    std::string out;
    const auto differs = [&](bool same, std::string_view table) {
        if (!same) {
            out += out.empty() ? "" : ", ";
            out += table;
        }
    };
    differs(a.eal == b.eal, "[eal]");
    differs(a.lcores == b.lcores, "[lcores]");
    differs(a.ports == b.ports, "[[port]]");
    differs(a.mempool == b.mempool, "[mempool]");
    differs(a.rings == b.rings, "[rings]");
    differs(a.rcp == b.rcp, "[rcp]");
    differs(a.identities == b.identities, "[[identity]]");
    differs(a.limits == b.limits, "[limits]");
    differs(a.retention == b.retention, "[retention]");
    differs(a.qos == b.qos, "[qos]");
    differs(a.repair == b.repair, "[repair]");
    differs(a.tx == b.tx, "[tx]");
    differs(a.tcp == b.tcp, "[tcp]");
    differs(a.mqtt == b.mqtt, "[mqtt]");
    differs(a.debug == b.debug, "[debug]");
    return out;
}

std::string format_ipv4(uint32_t host_order) {
    return std::to_string(host_order >> 24) + "." + std::to_string(host_order >> 16 & 0xff) + "." +
           std::to_string(host_order >> 8 & 0xff) + "." + std::to_string(host_order & 0xff);
}

} // namespace ringcast
