#include <ringcast/bridge/bridge_config.hpp>
#include <ringcast/core/toml_reader.hpp>

#include <arpa/inet.h>

#include <cstring>

namespace ringcast {

namespace {

using namespace toml_reader;

constexpr size_t max_forward_rules = 256;

std::optional<std::string> non_empty(std::string_view s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

std::optional<std::string> any_string(std::string_view s) { return std::string(s); }

std::optional<std::string> ipv4_text(std::string_view s) {
    in_addr a{};
    const std::string text(s);
    return inet_pton(AF_INET, text.c_str(), &a) == 1 ? std::optional<std::string>(text) : std::nullopt;
}

// A NATS server URL as the C client takes it: nats://HOST:PORT or HOST:PORT.
std::optional<std::string> server_url(std::string_view s) {
    if (s.empty() || s.find_first_of(" \t\r\n,") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::string(s);
}

std::optional<bridge_transport> parse_transport(std::string_view s) {
    if (s == "udp") {
        return bridge_transport::udp;
    }
    if (s == "tcp") {
        return bridge_transport::tcp;
    }
    return std::nullopt;
}

std::optional<jetstream_deliver> parse_deliver(std::string_view s) {
    if (s == "all") {
        return jetstream_deliver::all;
    }
    if (s == "last") {
        return jetstream_deliver::last;
    }
    if (s == "new") {
        return jetstream_deliver::new_only;
    }
    return std::nullopt;
}

// JetStream names: no whitespace, '.', '*', '>' (they become subject tokens).
std::optional<std::string> js_name(std::string_view s) {
    if (s.empty() || s.size() > 64 || s.find_first_of(" \t\r\n.*>/\\") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::string(s);
}

void read_servers(section& s, std::vector<std::string>& out) {
    std::vector<std::string> servers;
    if (!s.strings("servers", servers)) {
        return;
    }
    for (const std::string& url : servers) {
        if (!server_url(url)) {
            s.fail("servers", "expected nats://HOST:PORT without spaces or commas, got " + quote(escaped(url)));
            return;
        }
    }
    if (servers.empty()) {
        s.fail("servers", "must list at least one server");
        return;
    }
    out = std::move(servers);
}

void read_nats(section& s, bridge_nats_config& n) {
    read_servers(s, n.servers);
    s.string_as("name", n.name, "a non-empty name", non_empty);
    s.integer("connect_timeout_ms", n.connect_timeout_ms, 100, 60'000);
    s.integer("reconnect_wait_ms", n.reconnect_wait_ms, 10, 60'000);
    s.integer("pending_messages", n.pending_messages, 1024, 16'777'216);
}

void read_appliance(section& s, bridge_appliance_config& a) {
    s.string_as("address", a.address, "a dotted IPv4 address", ipv4_text);
    s.integer("port", a.port, 1, 65535);
    s.string_as("transport", a.transport, "\"udp\" or \"tcp\"", parse_transport);
    s.integer("local_port", a.local_port, 0, 65535);
    s.string_as("token", a.token, "a string", any_string);
    s.integer("qos", a.qos, 0, 2);
    s.integer("max_in_flight", a.max_in_flight, 1, 65536);
    s.integer("ack_timeout_ms", a.ack_timeout_ms, 1, 10'000);
    s.integer("attempts", a.attempts, 1, 100);
    s.integer("lease_s", a.lease_s, 1, 3600);
}

void read_jetstream(section& s, bridge_jetstream_config& j) {
    s.string_as("stream", j.stream, "a stream name (no spaces, '.', '*', '>', '/')", js_name, true);
    s.string_as("durable", j.durable, "a consumer name (no spaces, '.', '*', '>', '/')", js_name);
    s.string_as("deliver", j.deliver, "\"all\", \"last\" or \"new\"", parse_deliver);
    s.integer("ack_wait_ms", j.ack_wait_ms, 100, 3'600'000);
}

// Reads one [[forward]] table; false when it is unusable.
bool read_forward(section& s, forward_rule& r) {
    const bool subject_ok = s.string_as("subject", r.filter, "a NATS subject filter", non_empty, true);
    const bool prefix_ok = s.string_as("topic_prefix", r.prefix, "a string", any_string) || !s.has("topic_prefix");
    if (subject_ok && prefix_ok) {
        if (const std::string why = check_forward_rule(r); !why.empty()) {
            s.fail("subject", why);
            return false;
        }
        return true;
    }
    return false;
}

void read_forwards(section& root, std::vector<forward_rule>& out) {
    if (root.sink().recording()) {
        (void)root.take("forward", toml::node_type::array);
        const toml::table empty;
        section s(root.sink(), empty, "forward", toml::source_position{});
        forward_rule r;
        (void)read_forward(s, r);
        return;
    }
    if (!root.has("forward")) {
        root.fail("forward", "at least one [[forward]] table is required (a subject filter and its topic prefix)");
        return;
    }
    const toml::node* n = root.take("forward", toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& tables = *n->as_array();
    if (tables.empty() || tables.size() > max_forward_rules) {
        root.fail("forward", "must have 1 to " + std::to_string(max_forward_rules) + " [[forward]] tables, got " +
                                 std::to_string(tables.size()));
        return;
    }
    std::vector<size_t> read_from;
    for (size_t i = 0; i < tables.size(); ++i) {
        const toml::node& e = tables[i];
        const std::string name = indexed("forward", i);
        if (!e.is_table()) {
            root.sink().add(e.source().begin, name + ": expected a table, got " + std::string(type_name(e.type())));
            continue;
        }
        section s(root.sink(), *e.as_table(), name, e.source().begin);
        forward_rule r;
        const bool ok = read_forward(s, r);
        s.reject_unknown();
        if (!ok) {
            continue;
        }
        bool overlaps = false;
        for (size_t j = 0; j < out.size(); ++j) {
            // NATS hands a message to every matching subscription: it would be forwarded twice.
            if (subjects_overlap(out[j].filter, r.filter)) {
                s.fail("subject", quote(r.filter) + " overlaps " + indexed("forward", read_from[j]) + ".subject " +
                                      quote(out[j].filter) + ": a message matching both would be forwarded twice");
                overlaps = true;
                break;
            }
        }
        if (!overlaps) {
            out.push_back(std::move(r));
            read_from.push_back(i);
        }
    }
}

void read_root(error_sink& sink, const toml::table& table, bridge_config& cfg) {
    section root(sink, table, "", toml::source_position{});
    root.table("bridge", [&](section& s) { s.string_as("stats_socket", cfg.stats_socket, "a path", any_string); });
    root.table("nats", [&](section& s) { read_nats(s, cfg.nats); });
    root.table("appliance", [&](section& s) { read_appliance(s, cfg.appliance); });
    if (root.has("jetstream") || sink.recording()) {
        cfg.jetstream.emplace();
        root.table("jetstream", [&](section& s) { read_jetstream(s, *cfg.jetstream); });
    }
    read_forwards(root, cfg.forward);
    root.reject_unknown();
    if (sink.recording() || !cfg.jetstream) {
        return;
    }
    const auto at = [&](std::string_view t, std::string_view k) {
        // The key, else its table, else [jetstream], which asked for it.
        for (const toml::node* n : {table[t][k].node(), table[t].node(), table["jetstream"].node()}) {
            if (n != nullptr) {
                return n->source().begin;
            }
        }
        return toml::source_position{};
    };
    // One durable consumer has one filter subject (nats-server 2.9); a bridge per rule otherwise.
    if (cfg.forward.size() > 1) {
        sink.add(at("forward", ""), "forward: JetStream mode takes one [[forward]] table (one durable consumer), got " +
                                        std::to_string(cfg.forward.size()));
    }
    if (cfg.appliance.qos == 0) {
        sink.add(at("appliance", "qos"),
                 "appliance.qos: JetStream mode acknowledges a message only after ringcastd's ACK: needs 1 or 2");
    }
    if (cfg.appliance.transport == bridge_transport::udp && cfg.appliance.local_port == 0) {
        sink.add(at("appliance", "local_port"),
                 "appliance.local_port: JetStream mode over UDP needs a fixed source port, so that a restarted "
                 "bridge's resends meet the QoS 2 dedup window");
    }
}

} // namespace

bridge_config_result parse_bridge_config(std::string_view text, std::string_view path) {
    bridge_config_result result;
    result.cfg.path = std::string(path);
    result.errors = read_toml(text, path,
                              [&](error_sink& sink, const toml::table& table) { read_root(sink, table, result.cfg); });
    return result;
}

bridge_config_result load_bridge_config(const std::string& path) {
    std::string text;
    if (const int err = read_file(path, text); err != 0) {
        bridge_config_result result;
        result.cfg.path = path;
        result.errors.push_back(config_error{path, 0, 0, std::string("cannot read: ") + std::strerror(err)});
        return result;
    }
    return parse_bridge_config(text, path);
}

std::vector<std::string> known_bridge_config_keys() {
    bridge_config cfg;
    return known_keys([&](error_sink& sink, const toml::table& table) { read_root(sink, table, cfg); });
}

} // namespace ringcast
