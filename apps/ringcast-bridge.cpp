// ringcast-bridge: feeds ringcastd from a NATS cluster. Reads its TOML
// config, forwards until SIGINT or SIGTERM, waits a moment for the ACKs of
// what is in flight, and exits 0.
#include <ringcast/bridge/bridge_config.hpp>
#include <ringcast/bridge/nats_bridge.hpp>
#include <ringcast/bridge/stats_socket.hpp>
#include <ringcast/core/config_command.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

namespace {

constexpr const char* usage = R"(Usage: ringcast-bridge -c FILE.toml [--check]

Options:
  -c, --config FILE   configuration (TOML); see config/bridge.toml for every key
      --check         validate the configuration and exit (0: valid, 1: errors)
  -h, --help          show this help

Signals: SIGINT and SIGTERM stop it: PUBs in flight get 2 s for their ACKs
(JetStream delivers whatever is left unacknowledged again), then it exits 0.

Counters: the [bridge] stats_socket, read with
  scripts/ringcast-exporter.py --bridge SOCKET  (Prometheus), or dpdk-telemetry.py.
)";

std::atomic<bool> g_quit{false};

void on_signal(int) { g_quit.store(true, std::memory_order_relaxed); }

std::string stats_json(const ringcast::bridge_counters& c, bool jetstream) {
    std::string out = "{";
    const auto add = [&](const char* name, const std::atomic<uint64_t>& v) {
        out += out.size() > 1 ? ", " : "";
        out += "\"" + std::string(name) + "\": " + std::to_string(v.load(std::memory_order_relaxed));
    };
    out += std::string("\"mode\": \"") + (jetstream ? "jetstream" : "core") + "\"";
    add("received", c.received);
    add("forwarded", c.forwarded);
    add("sent", c.sent);
    add("resent", c.resent);
    add("refused", c.refused);
    add("unmappable", c.unmappable);
    add("given_up", c.given_up);
    add("send_failed", c.send_failed);
    add("nats_dropped", c.nats_dropped);
    add("redelivered", c.redelivered);
    add("resyncs", c.resyncs);
    add("delivery_gaps", c.delivery_gaps);
    add("nats_disconnects", c.nats_disconnects);
    add("nats_reconnects", c.nats_reconnects);
    add("appliance_reconnects", c.appliance_reconnects);
    add("in_flight", c.in_flight);
    add("queued", c.queued);
    add("lag", c.lag);
    add("acked_stream_seq", c.acked_stream_seq);
    return out + "}";
}

} // namespace

int main(int argc, char** argv) {
    ringcast::config_command cmd;
    if (const auto stop = ringcast::parse_config_command("ringcast-bridge", argc, argv, usage, cmd)) {
        return *stop;
    }
    const auto loaded = ringcast::load_bridge_config(cmd.path);
    if (const auto stop = ringcast::finish_config_check(cmd, loaded.errors)) {
        return *stop;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    try {
        ringcast::nats_bridge bridge(loaded.cfg);
        std::unique_ptr<ringcast::stats_socket> stats;
        if (!loaded.cfg.stats_socket.empty()) {
            const bool js = loaded.cfg.jetstream.has_value();
            stats = std::make_unique<ringcast::stats_socket>(
                loaded.cfg.stats_socket, [&bridge, js] { return stats_json(bridge.counters(), js); });
        }
        for (const ringcast::forward_rule& r : loaded.cfg.forward) {
            std::fprintf(stderr, "ringcast-bridge: forwarding %s as %s (%s mode) to %s:%u\n", r.filter.c_str(),
                         ringcast::topic_filter_of(r).c_str(), loaded.cfg.jetstream ? "JetStream" : "core NATS",
                         loaded.cfg.appliance.address.c_str(), loaded.cfg.appliance.port);
        }
        const int rc = bridge.run(g_quit);
        if (rc == 0) {
            std::fprintf(stderr, "ringcast-bridge: stopped\n");
        }
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringcast-bridge: %s\n", e.what());
        return 1;
    }
}
