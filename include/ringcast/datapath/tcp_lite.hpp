// TCP-lite on an io lcore: the connections whose segments it receives
// (RSS and af_packet fanout keep a 4-tuple on one RX queue, so on one io
// lcore), their handshakes by SYN cookie, timers on a wheel, and RCP/1 over
// each stream. The state machine is core code (tcp_conn); this is the glue:
// segments in from RX, frames out to io_stream_frame (checked and routed as
// a datagram's), deliveries and replies in from the inbox ring as mbuf
// references queued on the connection (send_queue), segments built from
// those references and sent. A connection's data stays referenced until the
// peer acknowledges it. Owned by its io lcore alone.
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/mqtt_stream.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/rcp_stream.hpp>
#include <ringcast/core/send_queue.hpp>
#include <ringcast/core/syn_cookie.hpp>
#include <ringcast/core/tcp_conn.hpp>
#include <ringcast/core/tcp_table.hpp>
#include <ringcast/core/timer_wheel.hpp>
#include <ringcast/datapath/lcore.hpp>
#include <ringcast/datapath/mqtt_gateway.hpp>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace ringcast {

struct io_state; // io_loop.hpp

struct tcp_lite_settings {
    tcp_config conn;              // in milliseconds: TCP-lite's clock is the io lcore's TSC in ms
    tcp_table_limits table;
    uint16_t port = 7700;
    uint32_t queue_entries = 262144;
    slow_consumer_policy slow = slow_consumer_policy::drop;
    uint64_t idle_ms = 0;         // 0: never
    uint32_t max_frame = 1472;    // longest frame a stream may carry (the longest PUB allowed)
    uint32_t copy_below = 2048;   // queued frames shorter are copied into segments, longer referenced
    uint32_t loss_ppm = 0;        // debug.inject_loss: data segments not sent, per million
    uint32_t max_held = 1024;     // segments kept beyond holes, over all connections (receive mbufs)
    uint64_t ticks_per_ms = 1;    // TSC
    mqtt_settings mqtt_s;         // MQTT on mqtt.port too, when mqtt_s.cfg.enabled
};

[[nodiscard]] tcp_lite_settings tcp_settings_for(const config& cfg, uint64_t hz);

// A segment that arrived beyond a hole, kept (its mbuf) to be handed to
// the connection again once the hole is filled.
struct held_segment {
    rte_mbuf* m = nullptr;
    uint32_t seq = 0;
    uint16_t off = 0; // the TCP header within the mbuf
    uint16_t len = 0; // TCP header and payload
};
inline constexpr size_t max_held_per_connection = 16;

// One connection's glue beside its tcp_conn (same id in the tcp_table).
struct tcp_link {
    tcp_link(size_t max_frame, size_t max_packet) : stream(max_frame), packets(max_packet) {}
    send_queue queue;
    rcp_stream stream;
    mqtt::mqtt_stream packets;    // an MQTT connection's
    uint32_t session = no_id;     // an MQTT connection's session in the gateway, once CONNECT made one
    bool mqtt = false;            // came to mqtt.port
    source_record source;         // who HELLO made it, its ERR bucket
    reply_to from;                // its tcp_endpoint and MAC
    std::array<timer_handle, tcp_timer_kinds> timers{};
    std::array<held_segment, max_held_per_connection> held{}; // by seq
    uint8_t n_held = 0;
    uint64_t last_heard = 0;      // ms
    tcp_conn_stats seen;          // the connection's counts already added to the lcore's
    uint8_t byes_pending = 0;     // workers yet to confirm its BYE before our FIN
    bool dirty = false;           // new data queued: send after the inbox is read
    bool broken = false;          // the stream lost framing (ERR sent): the rest is ignored
    bool ending = false;          // workers told of its end: our FIN follows their answers
    bool in_time_wait = false;
    bool live = false;
};

// Bytes for a connection's stream: `len` bytes of `m` from byte `skip`.
struct tcp_piece {
    rte_mbuf* m;
    uint32_t len;
    uint32_t skip;
};

class tcp_lite {
public:
    tcp_lite(const tcp_lite_settings& s, uint16_t io_index, rte_ring* inbox, rte_mempool* headers,
             rte_mempool* indirect, uint64_t now);
    tcp_lite(const tcp_lite&) = delete;
    tcp_lite& operator=(const tcp_lite&) = delete;

    [[nodiscard]] uint16_t port() const noexcept { return _s.port; }
    [[nodiscard]] rte_ring* inbox() const noexcept { return _inbox; }

    // A segment to port() on port index `port`: takes `m`.
    void segment(io_state& io, lcore_ctx& lc, rte_mbuf* m, const packet_info& p, uint16_t port,
                 uint64_t now) noexcept;
    // The inbox (deliveries, replies, BYE confirmations), the timers due,
    // and what connections may send now. Returns the items and timers handled.
    uint32_t poll(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;
    // Idle connections closed, workers told of closed ones, gauges set: a slice per call.
    void housekeeping(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;
    // Shutdown: every queued reference freed.
    void drain() noexcept;

    [[nodiscard]] const tcp_table& table() const noexcept { return _table; }
    [[nodiscard]] uint16_t mqtt_port() const noexcept { return _mqtt != nullptr ? _s.mqtt_s.cfg.port : 0; }

    // For the MQTT gateway. Queues the pieces on connection `id` (each a
    // reference it takes), all or none: false, and every piece freed and
    // counted, when the connection cannot take them now.
    bool send(lcore_ctx& lc, uint32_t id, std::span<const tcp_piece> pieces) noexcept;
    // Closes connection `id` once the work at hand is done: the rest of its
    // input is ignored, what is queued goes out before the FIN.
    void finish(uint32_t id) noexcept;
    [[nodiscard]] tcp_link& link(uint32_t id) noexcept { return _links[id]; }

private:
    [[nodiscard]] uint64_t ms(uint64_t now) const noexcept { return now / _s.ticks_per_ms; }
    void listen(io_state& io, lcore_ctx& lc, rte_mbuf* m, const tcp_segment_view& seg, const tcp_tuple& t,
                const packet_info& p, uint16_t port, uint64_t now) noexcept;
    void open(io_state& io, lcore_ctx& lc, rte_mbuf* m, const tcp_segment_view& seg, const tcp_tuple& t,
              const cookie_fields& syn, const packet_info& p, uint16_t port, uint64_t now) noexcept;
    // Acts on what the connection asked: data to the stream, segments out,
    // timers, acknowledged bytes released, the end. `m` holds `seg` (or null).
    void act(io_state& io, lcore_ctx& lc, uint32_t id, rte_mbuf* m, const tcp_segment_view* seg,
             uint64_t now) noexcept;
    void deliver(io_state& io, lcore_ctx& lc, uint32_t id, rte_mbuf* m, const tcp_segment_view& seg,
                 uint64_t now) noexcept;
    void queue(io_state& io, lcore_ctx& lc, const tcp_item& item, uint64_t now) noexcept;
    // Why connection `id` cannot take `len` more bytes in `entries` more
    // references now (gone or closing, its send queue, the lcore's entries), or nothing.
    [[nodiscard]] std::optional<drop> refusal(uint32_t id, uint32_t len, size_t entries) noexcept;
    // Queues the pieces refusal() let through and marks the connection for sending.
    void enqueue(uint32_t id, std::span<const tcp_piece> pieces) noexcept;
    void mark_dirty(uint32_t id) noexcept;
    // The connections finish() was asked to close.
    void close_finished(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;
    [[nodiscard]] rte_mbuf* build(lcore_ctx& lc, uint32_t id, const tcp_out_segment& s) noexcept;
    // Releases the connection's slot: its references, timers, and the
    // workers' subscriptions (now, or from the pending list); `erase` when
    // the table still holds it.
    void release(io_state& io, lcore_ctx& lc, uint32_t id, bool erase, uint64_t now) noexcept;
    void release_queue(tcp_link& l) noexcept;
    // Keeps `m` (the segment beyond a hole) when there is room; true then.
    bool hold(tcp_link& l, rte_mbuf* m, uint32_t seq, const packet_info& p) noexcept;
    // Hands the connection the held segments that the hole no longer precedes.
    void replay_held(io_state& io, lcore_ctx& lc, uint32_t id, uint64_t now) noexcept;
    void free_held(tcp_link& l) noexcept;
    void count_stats(lcore_counters& c, tcp_link& l) noexcept;
    // Counts `why` and answers `seg` with a RST in `m` (within rcp.err_global_per_s), or frees it.
    void send_rst(io_state& io, lcore_ctx& lc, rte_mbuf* m, const tcp_segment_view& seg, uint16_t port, drop why,
                  uint64_t now) noexcept;
    [[nodiscard]] uint32_t cookie_counter(uint64_t now_ms) const noexcept;

    tcp_lite_settings _s;
    tcp_params _params;
    uint16_t _io_index;
    rte_ring* _inbox;
    rte_mempool* _headers;
    rte_mempool* _indirect;
    tcp_table _table;
    std::vector<tcp_link> _links;
    send_queue_pool _queues;
    timer_wheel _wheel;
    syn_cookie_secret _secret;
    tcp_actions _acts;
    std::vector<uint32_t> _dirty;
    std::vector<endpoint> _notices; // closed connections the workers are yet to hear of
    std::vector<uint32_t> _finished; // connections finish() asked to close
    std::unique_ptr<mqtt_gateway> _mqtt; // null without MQTT
    uint32_t _idle_cursor = 0;
    uint64_t _next_gauges = 0; // ms
    uint64_t _last_housekeeping = 0;
    uint64_t _loss_credit = 0;
    uint32_t _held = 0; // segments held over all connections, at most _s.max_held
    std::array<tcp_item, burst_size> _burst{};
};

} // namespace ringcast
