// ringcast-bridge configuration: the TOML schema as a struct, read and
// refused like ringcastd's (core/toml_reader): every error as
// "path:line:col: reason", unknown keys by name. Start-up only.
#pragma once

#include <ringcast/bridge/subject_map.hpp>
#include <ringcast/core/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

enum class bridge_transport : uint8_t { udp, tcp };

struct bridge_nats_config {
    std::vector<std::string> servers{"nats://127.0.0.1:4222"}; // any node of the cluster; the client tries them all
    std::string name = "ringcast-bridge";                      // the connection's name, as NATS monitoring shows it
    uint32_t connect_timeout_ms = 2000;
    uint32_t reconnect_wait_ms = 250; // between rounds over the server list
    uint32_t pending_messages = 65536; // a core subscription's buffer; beyond it NATS drops, and the bridge counts
    bool operator==(const bridge_nats_config&) const = default;
};

struct bridge_appliance_config {
    std::string address = "127.0.0.1"; // ringcastd's IPv4 address
    uint16_t port = 7700;
    bridge_transport transport = bridge_transport::udp;
    // The bridge's source port; 0: the kernel picks. JetStream mode needs a
    // fixed one over UDP: the QoS 2 dedup window knows a publisher by its
    // address and port, so only then does a restarted bridge's resend of what
    // was already delivered meet it.
    uint16_t local_port = 0;
    std::string token;             // HELLO token when ringcastd requires authentication
    uint8_t qos = 2;               // 0: batched, unacknowledged; 1 or 2: acknowledged, resent
    uint32_t max_in_flight = 1024; // PUBs sent and not yet ACKed
    uint32_t ack_timeout_ms = 100; // the first wait for an ACK; doubles per resend up to 2 s
    uint32_t attempts = 8;         // core NATS mode: sends of one PUB before it is dropped and counted
    uint32_t lease_s = 30;         // ringcastd's rcp.lease_s: the keep-alive PINGs go every third
    bool operator==(const bridge_appliance_config&) const = default;
};

enum class jetstream_deliver : uint8_t { all, last, new_only };

// Present: the bridge reads a stream through a durable push consumer, and a
// NATS message is acknowledged only once ringcastd has ACKed its PUB.
struct bridge_jetstream_config {
    std::string stream;
    std::string durable = "ringcast-bridge";
    jetstream_deliver deliver = jetstream_deliver::all; // where a consumer that does not exist yet starts
    uint32_t ack_wait_ms = 30000;
    bool operator==(const bridge_jetstream_config&) const = default;
};

struct bridge_config {
    std::string stats_socket; // a DPDK-telemetry-style socket with /bridge/stats; "" none
    bridge_nats_config nats;
    bridge_appliance_config appliance;
    std::optional<bridge_jetstream_config> jetstream;
    std::vector<forward_rule> forward; // [[forward]]: subject filter -> topic prefix; none overlap
    std::string path;
    bool operator==(const bridge_config&) const = default;
};

struct bridge_config_result {
    bridge_config cfg;
    std::vector<config_error> errors;
    [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
};

[[nodiscard]] bridge_config_result parse_bridge_config(std::string_view text, std::string_view path);
[[nodiscard]] bridge_config_result load_bridge_config(const std::string& path);
// Every key parse_bridge_config accepts ("forward.subject" for the [[forward]] tables).
[[nodiscard]] std::vector<std::string> known_bridge_config_keys();

} // namespace ringcast
