// ringcastd configuration: the TOML schema as a struct, parsed from a string
// with every error reported as "path:line:col: reason". Start-up only.
#pragma once

#include <ringcast/core/sha256.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

enum class hugepage_mode : uint8_t {
    automatic, // use hugepages when reserved and mounted, else --no-huge
    on,        // require them
    off,       // always --no-huge
};

struct eal_config {
    uint32_t main_lcore = 0;
    std::string file_prefix = "ringcast";
    hugepage_mode hugepages = hugepage_mode::automatic;
    uint32_t memory_mb = 512;       // -m / --socket-mem size
    std::vector<std::string> vdevs; // --vdev each
    std::vector<std::string> allow; // PCI addresses, -a each; none = --no-pci when vdevs only
    std::vector<std::string> args;  // extra EAL arguments, appended verbatim

    bool operator==(const eal_config&) const = default;
};

struct lcore_config {
    std::vector<uint32_t> io{0};
    std::vector<uint32_t> worker{0};

    bool operator==(const lcore_config&) const = default;
};

// [[port]] tables at most. Queues and rings are sized per port at start-up,
// and the loops keep a TX buffer and a fan-out batch per port: eight covers
// any host this appliance is meant for and bounds that memory.
inline constexpr size_t max_ports = 8;

struct port_config {
    std::string device; // ethdev name: vdev name ("net_af_packet0") or PCI address
    uint32_t ipv4 = 0;  // host byte order
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    bool verify_udp_checksum = true;

    bool operator==(const port_config&) const = default;
};

struct mempool_config {
    uint32_t mbufs = 16383; // receive pool, per port
    uint32_t cache = 256;
    uint32_t headers = 16383; // header mbufs for fan-out and replies
    uint32_t indirect = 8191; // views on frames of multi-frame datagrams

    bool operator==(const mempool_config&) const = default;
};

struct ring_config {
    uint32_t size = 4096; // per io->worker ring, power of two

    bool operator==(const ring_config&) const = default;
};

struct rcp_config {
    uint16_t udp_port = 7700;
    uint32_t lease_s = 30;
    bool require_auth = false;         // every op but HELLO needs a source bound to an [[identity]]
    uint32_t err_per_s = 100;          // ERR replies per source per second
    uint32_t err_global_per_s = 10000; // ERR replies per io lcore per second, over all sources

    bool operator==(const rcp_config&) const = default;
};

struct limits_config {
    uint32_t topics = 65536;         // per worker
    uint32_t subscriptions = 262144; // per worker
    uint32_t subscribers = 65536;    // per worker, and sources tracked per io lcore
    uint32_t topic_len = 255;
    uint32_t filters = 16384;    // wildcard and shared-group subscriptions, per worker
    uint32_t groups = 4096;      // shared groups ($share/GROUP/FILTER), per worker
    uint32_t topic_idle_s = 60;  // a topic with no subscriber and nothing retained is forgotten after this
    uint32_t delivery_rate = 0;  // per subscriber deliveries per second; 0: no cap
    uint32_t delivery_burst = 1024;
    uint32_t source_subscriptions = 100000; // per source, per worker; 0: no cap
    uint32_t source_topics_per_s = 10000;  // topics a source's SUBs may create per second, per worker; 0: no cap

    bool operator==(const limits_config&) const = default;
};

// [[identity]] tables at most: HELLO compares a token with every one.
inline constexpr size_t max_identities = 1024;

// One [[identity]]: who a HELLO's token makes a source, and its ACL.
struct identity_config {
    std::string name;
    sha256_digest token_sha256{}; // token_sha256 as written, or the digest of token
    std::vector<std::string> publish;   // topic prefixes it may publish to ("" = any)
    std::vector<std::string> subscribe; // filters it may subscribe under ("#" = any)

    bool operator==(const identity_config&) const = default;
};

// Messages a topic keeps for NACK, replay and last value: references to the
// received mbufs, never copies.
struct retention_prefix {
    std::string prefix; // topics starting with it
    uint32_t keep = 0;

    bool operator==(const retention_prefix&) const = default;
};

struct retention_config {
    uint32_t keep = 0;                      // R: last messages kept per topic
    std::vector<retention_prefix> prefixes; // overrides of keep; the longest matching prefix wins
    uint32_t max_messages = 2048;           // cap over all topics, oldest evicted first (split among workers)
    uint32_t last_values = 1024;            // RETAIN last values kept (split among workers)

    bool operator==(const retention_config&) const = default;
};

struct qos_config {
    uint32_t dedup_window_ms = 5000; // a QoS 2 retry inside it is ACKed, not delivered again
    uint32_t dedup_entries = 65536;  // per worker

    bool operator==(const qos_config&) const = default;
};

struct repair_config {
    uint32_t nack_rate = 20000; // retransmitted messages per subscriber per second (NACK and REPLAY)
    uint32_t nack_burst = 4096;

    bool operator==(const repair_config&) const = default;
};

// How deliveries leave: several MSG frames for one subscriber in one
// datagram, and which frames are copied into it rather than referenced.
// The largest tx.mtu: jumbo frames.
inline constexpr uint32_t max_mtu = 9000;

struct tx_config {
    bool coalesce = true;     // false: one frame per datagram
    uint32_t mtu = 1500;      // IPv4 MTU of the ports: a datagram's frames take at most mtu - 28 bytes
    uint32_t copy_below = 2048; // frames shorter than this are copied into the datagram, longer ones referenced

    bool operator==(const tx_config&) const = default;
};

// What TCP-lite does with a delivery its connection's send queue has no room for.
enum class slow_consumer_policy : uint8_t {
    drop,  // the delivery is dropped and counted; the connection stays
    close, // the connection is reset (NATS's slow-consumer cut-off)
};

// TCP-lite: RCP/1 over kernel TCP clients' connections, served by the io lcores.
struct tcp_lite_config {
    bool enabled = true;
    uint16_t port = 7700;
    uint32_t connections = 4096;         // per io lcore, TIME_WAIT included
    uint32_t time_wait = 1024;           // of those, at most this many in TIME_WAIT
    uint32_t send_queue = 1048576;       // bytes queued unacknowledged per connection
    uint32_t queue_entries = 262144;     // frames queued over all connections of an io lcore
    uint32_t receive_buffer = 262144;    // the window a connection offers
    slow_consumer_policy slow_consumer = slow_consumer_policy::drop;
    uint32_t idle_timeout_s = 300;       // a connection unheard this long is closed; 0: never
    uint32_t rto_initial_ms = 1000;
    uint32_t max_retries = 8;            // retransmission timeouts in a row, then RST
    uint32_t delayed_ack_ms = 40;
    uint32_t time_wait_ms = 2000;
    bool operator==(const tcp_lite_config&) const = default;
};

// MQTT 3.1.1 on TCP-lite: its own port beside tcp.port, the same topic tables.
struct mqtt_config {
    bool enabled = true;            // needs tcp.enabled
    uint16_t port = 1883;
    uint32_t sessions = 1024;       // per io lcore, connected and offline
    uint32_t max_packet = 4096;     // bytes, fixed header included; a longer packet closes the connection
    uint32_t client_id_max = 64;    // bytes (the spec lets a server take 23 or more)
    uint32_t max_filters = 32;      // subscriptions one session holds
    uint32_t max_in_flight = 32;    // QoS 1/2 messages sent to a client, not yet acknowledged
    uint32_t max_queued = 256;      // per session behind them (and while offline), oldest dropped first
    uint32_t queued_total = 4096;   // over all sessions of an io lcore; they hold receive mbufs
    uint32_t max_unanswered = 1024; // a client's QoS 1/2 PUBLISHes and SUBSCRIBEs awaiting the workers, and QoS 2 ids unreleased
    uint32_t ack_timeout_ms = 2000; // a PUBLISH or SUBSCRIBE not through the workers by then closes the connection

    bool operator==(const mqtt_config&) const = default;
};

// Only for tests and demos; refused anywhere but [debug].
struct debug_config {
    uint32_t inject_loss_ppm = 0; // live deliveries dropped, per million, deterministically

    bool operator==(const debug_config&) const = default;
};

struct config {
    eal_config eal;
    lcore_config lcores;
    std::vector<port_config> ports;
    mempool_config mempool;
    ring_config rings;
    rcp_config rcp;
    std::vector<identity_config> identities;
    limits_config limits;
    retention_config retention;
    qos_config qos;
    repair_config repair;
    tx_config tx;
    tcp_lite_config tcp;
    mqtt_config mqtt;
    debug_config debug;
    std::string path; // file it came from

    bool operator==(const config&) const = default;
};

struct config_error {
    std::string path;
    uint32_t line = 0; // 0 when the error has no position (unreadable file, no [[port]])
    uint32_t column = 0;
    std::string message; // names the key: "eal.memory_mb: must be between 64 and 1048576, got 3"

    [[nodiscard]] std::string to_string() const; // "path:line:col: message"
};

struct config_result {
    config cfg;
    std::vector<config_error> errors; // every error found, not only the first

    [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
};

// Parses and validates. Unknown keys, wrong types and out-of-range values are
// errors. Never throws.
[[nodiscard]] config_result parse_config(std::string_view text, std::string_view path);

// Reads the file, then parse_config; an unreadable file is one error.
[[nodiscard]] config_result load_config(const std::string& path);

// Every key parse_config accepts, as "table.key" ("port.device" for the
// [[port]] tables), in schema order. Walked from the same readers that parse,
// so it cannot drift from them; docs/config.md is checked against it.
[[nodiscard]] std::vector<std::string> known_config_keys();

// The tables in which two configs differ ("eal, limits"), or "" when equal
// (the file path aside): a reload checks that only what it may change did.
[[nodiscard]] std::string restart_needed(const config& running, const config& next);

[[nodiscard]] std::string format_ipv4(uint32_t host_order);

} // namespace ringcast
