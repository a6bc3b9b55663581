// MQTT 3.1.1 on an io lcore's TCP-lite connections (port mqtt.port): each
// client's session, kept apart from its connection, speaks RCP/1 to the
// workers for it. A SUBSCRIBE becomes one SUB per filter, a PUBLISH one PUB,
// each checked and routed as any RCP/1 frame is (io_stream_frame), from the
// session's own endpoint: one that outlives the connection, so with clean
// session 0 the workers keep delivering while the client is away. What the
// workers send that endpoint comes back through the inbox: ACKs become
// PUBACK, PUBREC or SUBACK, in the order the client sent the packets; each
// MSG becomes a PUBLISH whose payload rides by reference on the shared
// frame. QoS 1/2 state, packet ids and the queue behind them are
// core/mqtt_session's. Owned by its io lcore alone; nothing allocates after
// start-up.
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/mqtt_session.hpp>
#include <ringcast/core/mqtt_stream.hpp>
#include <ringcast/datapath/lcore.hpp>

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <vector>

namespace ringcast {

struct io_state; // io_loop.hpp
class tcp_lite;  // tcp_lite.hpp

struct mqtt_settings {
    mqtt_config cfg;
    mqtt::session_limits limits; // from cfg
    uint64_t ticks_per_ms = 1;   // TSC
};

[[nodiscard]] mqtt_settings mqtt_settings_for(const config& cfg);

// A session's own endpoint, which the workers know it by: no peer has
// address 0 (TCP-lite refuses one), and the port is the session's slot.
[[nodiscard]] constexpr endpoint mqtt_session_endpoint(uint32_t slot, uint16_t io_index) noexcept {
    return tcp_endpoint(0, static_cast<uint16_t>(slot), 0, io_index);
}
[[nodiscard]] constexpr bool is_mqtt_session(const endpoint& e) noexcept { return is_tcp(e) && e.ip == 0; }

class mqtt_gateway {
public:
    mqtt_gateway(const mqtt_settings& s, uint16_t io_index, rte_mempool* headers);
    mqtt_gateway(const mqtt_gateway&) = delete;
    mqtt_gateway& operator=(const mqtt_gateway&) = delete;


    // One whole packet from connection `link`'s stream.
    void packet(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, const mqtt::packet_view& p,
                uint64_t now) noexcept;
    // Connection `link` is ending (the peer's FIN or RST, a timeout, a
    // broken stream): its session is left, the will published when due.
    void ended(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, mqtt::close_reason why,
               uint64_t now) noexcept;
    // A frame from the inbox for a session endpoint (takes `m`).
    void inbox(io_state& io, lcore_ctx& lc, tcp_lite& tcp, const endpoint& to, rte_mbuf* m,
               uint64_t now) noexcept;
    // Keep-alive and answer timeouts (a slice of sessions per call), the
    // workers' notices that did not fit, gauges.
    void housekeeping(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint64_t now) noexcept;
    // The inbox burst is over: the QoS 0 header shared by one message's
    // subscribers is let go (a fan-out arrives within one burst).
    void end_of_burst() noexcept;
    // Shutdown: every held reference freed.
    void drain() noexcept;

private:
    struct slot {
        slot(const mqtt::session_limits& l, size_t max_filters, size_t max_unanswered)
            : s(l), subs(max_filters), answers(max_unanswered) {}
        mqtt::session s;
        mqtt::subscription_set subs;
        mqtt::answer_queue answers; // owed to the connection
        std::array<char, 256> id{};
        uint16_t id_len = 0;
        bool used = false;
        bool clean = false;
        bool notice_pending = false; // discarded; the workers are yet to hear it went
        uint32_t link = no_id;       // the connection, or none: offline
        source_record source;        // identity, ERR bucket, has_subs
        uint16_t port = 0;           // the port its connection came in on (receive pool)
        rte_mbuf* will = nullptr;    // its PUB frame, ready to route
        mqtt::keep_alive alive{0, {}};
        [[nodiscard]] std::string_view client_id() const noexcept { return {id.data(), id_len}; }
        // In the index by client id, and the endpoint's deliveries its own.
        [[nodiscard]] bool live() const noexcept { return used && !notice_pending; }
    };

    void connect(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, const mqtt::packet_view& p,
                 uint64_t now) noexcept;
    void publish_in(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, const mqtt::packet_view& p,
                    uint64_t now) noexcept;
    void subscribe(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, const mqtt::packet_view& p,
                   uint64_t now) noexcept;
    void unsubscribe(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, const mqtt::packet_view& p,
                     uint64_t now) noexcept;
    // A MSG for the session: PUBLISH now, queued, or dropped (takes `m`).
    void deliver(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, rte_mbuf* m) noexcept;
    // The RCP/1 answer to request `seq` (ACK, or ERR with `refused`).
    void answered(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, uint64_t seq, bool refused) noexcept;
    // A place in the session's answers, in the order owed; null when full.
    mqtt::owed_answer* owe(uint32_t sid, mqtt::packet_type type, uint16_t id, uint64_t now) noexcept;
    // What a SUBSCRIBE or UNSUBSCRIBE of `n` filters (0: it did not parse)
    // is owed; null, and the connection closed, when it cannot be.
    mqtt::owed_answer* owe_request(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, mqtt::packet_type type,
                                   uint16_t id, size_t n, uint64_t now) noexcept;
    // The answers at the head that the workers have all answered, sent.
    void send_answers(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept;
    // An RCP/1 frame in a receive mbuf of `port`; null when the pool is empty (counted).
    static rte_mbuf* make_frame(lcore_ctx& lc, uint16_t port, op code, uint8_t flags, uint64_t seq,
                                std::string_view topic, std::span<const std::byte> payload) noexcept;
    // An RCP/1 frame from the session, checked and routed as a stream's frame.
    void route(io_state& io, lcore_ctx& lc, uint32_t sid, op code, uint8_t flags, uint64_t seq,
               std::string_view topic, std::span<const std::byte> payload, uint64_t now) noexcept;
    void route_frame(io_state& io, lcore_ctx& lc, uint32_t sid, rte_mbuf* m, uint64_t now) noexcept;
    // Small packets (CONNACK, the acknowledgements, PINGRESP) to the client.
    bool send_small(lcore_ctx& lc, tcp_lite& tcp, uint32_t link, std::span<const std::byte> bytes) noexcept;
    // A PUBLISH of the MSG frame `m` (the caller's reference stays its own).
    bool send_publish(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, rte_mbuf* m, uint8_t qos, uint16_t id,
                      bool dup) noexcept;
    // Sends what the session has in flight again (reconnect), then what is queued.
    void resume(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept;
    // Sends what is in flight and marked unsent, until one fails again.
    void resend(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept;
    void drain_queue(lcore_ctx& lc, tcp_lite& tcp, uint32_t sid) noexcept;
    // The connection is gone from the session: the will when due, then
    // offline (clean session 0) or discarded.
    void detach(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t sid, mqtt::close_reason why,
                uint64_t now) noexcept;
    void discard(io_state& io, lcore_ctx& lc, uint32_t sid) noexcept;
    void free_slot(uint32_t sid) noexcept;
    [[nodiscard]] uint32_t find(std::string_view client_id) const noexcept;
    [[nodiscard]] uint64_t ms(uint64_t now) const noexcept { return now / _s.ticks_per_ms; }
    // The connection closed on our side, counted under `why`.
    void close(io_state& io, lcore_ctx& lc, tcp_lite& tcp, uint32_t link, mqtt_stat why, uint64_t now) noexcept;
    static void release(mqtt::msg_ref ref) noexcept;

    mqtt_settings _s;
    uint16_t _io_index;
    rte_mempool* _headers;
    std::vector<slot> _slots;
    std::vector<uint32_t> _free; // slots
    hash_index _by_id;           // client id -> slot
    uint32_t _serial = 0;
    uint32_t _generated = 0;     // ids made for zero-length client ids
    uint64_t _queued = 0;        // over all sessions: at most queued_total
    uint32_t _cursor = 0;        // housekeeping's slice
    uint64_t _next_gauges = 0;
    rte_mbuf* _shared_for = nullptr;    // the MSG frame whose QoS 0 PUBLISH header is
    rte_mbuf* _shared_header = nullptr; // this one (a reference held on both)
};

} // namespace ringcast
