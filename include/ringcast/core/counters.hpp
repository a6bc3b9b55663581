// Per-lcore counters: one writer (the owning lcore), relaxed atomics, summed
// on read by the telemetry thread. Drop reasons are one list that defines the
// enum, the counter slots and the telemetry keys together.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcast {

// X(name, what it means)
#define RINGCAST_DROP_REASONS(X)                                                                             \
    X(runt, "frame shorter than its Ethernet/IPv4/UDP headers")                                              \
    X(rx_multi_seg, "received packet in several segments")                                                   \
    X(not_ipv4, "ethertype neither IPv4 nor ARP")                                                            \
    X(arp_ignored, "ARP that is not a request for our address")                                              \
    X(ip_bad_header, "IPv4 version, header or total length wrong")                                           \
    X(ip_options, "IPv4 header with options")                                                                \
    X(ip_fragment, "IPv4 fragment")                                                                          \
    X(ip_bad_checksum, "IPv4 header checksum wrong")                                                         \
    X(ip_not_ours, "IPv4 destination is not the port's address")                                             \
    X(ip_proto, "IPv4 protocol neither UDP, TCP nor ICMP")                                                   \
    X(tcp_bad_segment, "TCP segment truncated, with a bad data offset or option, or a wrong checksum")       \
    X(tcp_unserved, "TCP segment to a port TCP-lite does not serve: answered with RST unless it is one")     \
    X(tcp_no_connection, "TCP segment for no connection with neither SYN nor ACK: answered with RST unless one") \
    X(tcp_bad_cookie, "ACK for no connection that is no valid SYN cookie (stray, or too old): answered with RST")              \
    X(tcp_table_full, "handshake completed with every connection slot live: answered with RST")             \
    X(tcp_stale, "delivery or reply for a TCP-lite connection that has gone")                               \
    X(tcp_slow_consumer, "delivery not queued: its connection's send queue was full (tcp.send_queue)")      \
    X(tcp_queue_full, "delivery not queued: the io lcore's queue entries were all used (tcp.queue_entries)")\
    X(icmp_ignored, "ICMP other than a well-formed echo request")                                            \
    X(udp_bad_length, "UDP length disagrees with the IPv4 length")                                           \
    X(udp_bad_checksum, "UDP checksum wrong")                                                                \
    X(udp_port, "UDP destination port not served")                                                           \
    X(malformed, "RCP frame refused by the parser (ERR sent, rest of datagram dropped)")                     \
    X(unexpected_op, "MSG, ACK, PONG or ERR sent to the appliance")                                          \
    X(not_authorized, "HELLO with a token no [[identity]] has")                                              \
    X(not_authenticated, "op other than HELLO from a source not bound to an identity (rcp.require_auth)")    \
    X(acl_denied, "PUB, SUB or NACK outside the ACL of the source's identity")                               \
    X(bad_topic, "topic or filter refused")                                                                  \
    X(bad_flags, "PUB with QoS 3, which RCP/1 does not define")                                              \
    X(pub_too_big, "PUB frame longer than tx.mtu - 28: its MSG could not leave in one datagram")             \
    X(bad_nack, "NACK whose payload is not a u32 count of 1..1024")                                          \
    X(limit, "topic, subscription, filter, group or subscriber table full")                                  \
    X(source_limit, "SUB over the source's caps (limits.source_subscriptions, limits.source_topics_per_s)")  \
    X(nack_unknown, "NACK from a source with no subscription on the topic's worker")                         \
    X(rate_capped, "delivery over the subscriber's rate cap (limits.delivery_rate)")                         \
    X(nack_limited, "retransmission or replay over the subscriber's repair rate (repair.nack_rate)")         \
    X(injected_loss, "delivery dropped on purpose by debug.inject_loss")                                     \
    X(retain_full, "RETAIN value not kept: the last-value table is full")                                    \
    X(ring_full, "io to worker ring full")                                                                   \
    X(pool_empty, "mempool empty (receive, header or indirect)")                                             \
    X(tx_full, "TX queue refused the packet")                                                                \
    X(err_rate_limited, "ERR reply suppressed by the per-source rate limit")                                 \
    X(err_global_limited, "ERR reply suppressed by the global rate limit (rcp.err_global_per_s)")            \
    X(err_too_big, "ERR reply not sent: it would be larger than the datagram that caused it")

// What each list expands to: an enum value, its name, its meaning.
#define RINGCAST_ENUM_VALUE(name, ...) name,
#define RINGCAST_NAME(name, ...) std::string_view{#name},
#define RINGCAST_DOC(name, doc) std::string_view{doc},

enum class drop : uint8_t { RINGCAST_DROP_REASONS(RINGCAST_ENUM_VALUE) };
inline constexpr std::array drop_names = {RINGCAST_DROP_REASONS(RINGCAST_NAME)};
inline constexpr std::array drop_docs = {RINGCAST_DROP_REASONS(RINGCAST_DOC)};
inline constexpr size_t drop_count = drop_names.size();
static_assert(drop_docs.size() == drop_count);

// A counter written by one lcore and read by others: a relaxed load and
// store, no locked read-modify-write on the hot path.
class counter {
public:
    void add(uint64_t n = 1) noexcept {
        _v.store(_v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void set(uint64_t n) noexcept { _v.store(n, std::memory_order_relaxed); }
    [[nodiscard]] uint64_t get() const noexcept { return _v.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> _v{0};
    static_assert(std::atomic<uint64_t>::is_always_lock_free);
};

// X(name) for the totals /ringcast/stats reports besides drops.
#define RINGCAST_STATS(X)                                                                                    \
    X(rx_packets)                                                                                            \
    X(rx_bursts)                                                                                             \
    X(rx_frames)                                                                                             \
    X(pub_frames)                                                                                            \
    X(deliveries)                                                                                            \
    X(datagrams)                                                                                             \
    X(frames_copied)                                                                                         \
    X(frames_referenced)                                                                                     \
    X(in_place)                                                                                              \
    X(tx_packets)                                                                                            \
    X(arp_replies)                                                                                           \
    X(icmp_replies)                                                                                          \
    X(copy_fallbacks)                                                                                        \
    X(leases_expired)                                                                                        \
    X(qos_acks)                                                                                              \
    X(qos2_duplicates)                                                                                       \
    X(dedup_evicted)                                                                                         \
    X(nacks)                                                                                                 \
    X(retransmits)                                                                                           \
    X(replayed)                                                                                              \
    X(gap_lost)                                                                                              \
    X(retain_evicted)                                                                                        \
    X(topics_reclaimed)                                                                                      \
    X(hellos)                                                                                                \
    X(acl_revoked)                                                                                           \
    X(tcp_resets)

enum class metric : uint8_t { RINGCAST_STATS(RINGCAST_ENUM_VALUE) };
inline constexpr std::array metric_names = {RINGCAST_STATS(RINGCAST_NAME)};
inline constexpr size_t metric_count = metric_names.size();

// X(name) for the levels a worker reports (summed over workers).
#define RINGCAST_GAUGES(X)                                                                                   \
    X(subscriptions)                                                                                         \
    X(filters)                                                                                               \
    X(groups)                                                                                                \
    X(topics)                                                                                                \
    X(subscribers)                                                                                           \
    X(retained)                                                                                              \
    X(last_values)

// X(name, what it counts) for /ringcast/tcp: TCP-lite's events on an io lcore.
#define RINGCAST_TCP_STATS(X)                                                                                \
    X(syns, "SYNs answered with a SYN-ACK carrying a cookie")                                                \
    X(established, "connections made from a valid cookie")                                                   \
    X(closed, "connections ended by FIN both ways")                                                           \
    X(resets_received, "connections ended by the peer's RST")                                                 \
    X(aborted, "connections we reset: retries or probes exhausted, FIN_WAIT_2 timeout")       \
    X(slow_consumer_closes, "connections reset because their send queue was full (tcp.slow_consumer = close)")\
    X(idle_closes, "connections closed after tcp.idle_timeout_s unheard")                                     \
    X(time_wait_evicted, "TIME_WAIT connections ended early to make room")                                    \
    X(segments_in, "segments received on connections")                                                         \
    X(segments_out, "segments sent on connections, retransmissions included")                                 \
    X(bytes_in, "stream bytes received in order")                                                              \
    X(bytes_out, "stream bytes acknowledged by peers")                                                         \
    X(retransmits, "segments sent again (fast retransmits included)")                                         \
    X(fast_retransmits, "retransmissions on three duplicate ACKs")                                             \
    X(timeouts, "retransmission timer expiries")                                                               \
    X(zero_window_probes, "probes sent into a zero window")                                                    \
    X(out_of_order, "segments that arrived beyond a hole (answered with a duplicate ACK)")                    \
    X(out_of_order_kept, "of those, segments kept and taken once the hole was filled")                        \
    X(challenge_acks, "challenge ACKs sent (RFC 5961)")

// X(name, what it counts) for /ringcast/mqtt: MQTT's events on an io lcore.
#define RINGCAST_MQTT_STATS(X)                                                                               \
    X(connects, "CONNECTs accepted (CONNACK 0)")                                                             \
    X(connects_refused, "CONNECTs answered with a refusing CONNACK (protocol level, client id, credentials, no session slot)") \
    X(sessions_resumed, "CONNECTs with clean session 0 that found their session (session present)")          \
    X(takeovers, "connections closed by a new CONNECT with the same client id")                             \
    X(disconnects, "connections ended by DISCONNECT")                                                        \
    X(keep_alive_expiries, "connections closed after 1.5 times their keep-alive unheard")                    \
    X(protocol_errors, "connections closed for a malformed or out-of-turn packet")                           \
    X(too_large, "connections closed for a packet over mqtt.max_packet, or a PUBLISH that cannot leave in one MSG") \
    X(unanswered_full, "connections closed with mqtt.max_unanswered packets awaiting the workers, or as many QoS 2 ids unreleased") \
    X(ack_timeouts, "connections closed because a PUBLISH or SUBSCRIBE did not get through the workers in mqtt.ack_timeout_ms") \
    X(wills_sent, "will messages published (the connection ended without DISCONNECT)")                       \
    X(publish_in, "PUBLISH packets received and handed to the workers")                                      \
    X(publish_refused, "PUBLISH packets acknowledged but not delivered: a $ topic, or outside the identity's ACL") \
    X(publish_out, "PUBLISH packets sent to clients, redeliveries included")                                 \
    X(redelivered, "PUBLISH (DUP) and PUBREL sent again on reconnect")                                       \
    X(qos2_duplicates, "QoS 2 PUBLISH packets whose id was not yet released: answered PUBREC, not delivered again") \
    X(subscribe_refused, "SUBSCRIBE filters answered 0x80: invalid, outside the ACL, or mqtt.max_filters held") \
    X(queue_dropped, "QoS 1/2 messages dropped from a full session queue (mqtt.max_queued; the oldest first)") \
    X(queue_full, "QoS 1/2 messages not queued: mqtt.queued_total were queued on the io lcore")             \
    X(offline_dropped, "QoS 0 messages for a session whose client is not connected")                         \
    X(not_sent, "PUBLISH packets that did not fit the connection's send queue (QoS 0 lost; QoS 1/2 sent again on reconnect)")

enum class mqtt_stat : uint8_t { RINGCAST_MQTT_STATS(RINGCAST_ENUM_VALUE) };
inline constexpr std::array mqtt_stat_names = {RINGCAST_MQTT_STATS(RINGCAST_NAME)};
inline constexpr std::array mqtt_stat_docs = {RINGCAST_MQTT_STATS(RINGCAST_DOC)};
inline constexpr size_t mqtt_stat_count = mqtt_stat_names.size();

// X(name, what it holds) for /ringcast/mqtt: levels an io lcore sets.
#define RINGCAST_MQTT_GAUGES(X)                                                                              \
    X(sessions_connected, "sessions with a connected client")                                                \
    X(sessions_offline, "sessions kept for a client not connected (clean session 0)")                        \
    X(in_flight, "QoS 1/2 messages sent and not yet acknowledged")                                           \
    X(queued, "QoS 1/2 messages queued behind them or for offline clients")

enum class mqtt_gauge : uint8_t { RINGCAST_MQTT_GAUGES(RINGCAST_ENUM_VALUE) };
inline constexpr std::array mqtt_gauge_names = {RINGCAST_MQTT_GAUGES(RINGCAST_NAME)};
inline constexpr std::array mqtt_gauge_docs = {RINGCAST_MQTT_GAUGES(RINGCAST_DOC)};
inline constexpr size_t mqtt_gauge_count = mqtt_gauge_names.size();

enum class tcp_stat : uint8_t { RINGCAST_TCP_STATS(RINGCAST_ENUM_VALUE) };
inline constexpr std::array tcp_stat_names = {RINGCAST_TCP_STATS(RINGCAST_NAME)};
inline constexpr std::array tcp_stat_docs = {RINGCAST_TCP_STATS(RINGCAST_DOC)};
inline constexpr size_t tcp_stat_count = tcp_stat_names.size();

// Connections of an io lcore by state (tcp_state's order, closed first: unused).
inline constexpr size_t tcp_state_count = 8;

enum class gauge : uint8_t { RINGCAST_GAUGES(RINGCAST_ENUM_VALUE) };
inline constexpr std::array gauge_names = {RINGCAST_GAUGES(RINGCAST_NAME)};
inline constexpr size_t gauge_count = gauge_names.size();

// Frames per delivery datagram, as a small histogram: bucket b holds the
// datagrams of up to datagram_frame_bounds[b] frames.
inline constexpr std::array<uint32_t, 5> datagram_frame_bounds = {1, 3, 7, 15, UINT32_MAX};
inline constexpr std::array<std::string_view, 5> datagram_frame_names = {"1", "2_3", "4_7", "8_15", "16_up"};
[[nodiscard]] constexpr size_t datagram_frame_bucket(uint32_t frames) noexcept {
    size_t b = 0;
    while (frames > datagram_frame_bounds[b]) {
        ++b;
    }
    return b;
}

// One per lcore, cache-aligned so lcores never share a line.
struct alignas(64) lcore_counters {
    std::array<counter, metric_count> stats;
    std::array<counter, drop_count> drops;
    counter busy_cycles;                     // TSC cycles spent in iterations that did work
    counter total_cycles;                    // TSC cycles in the loop
    std::array<counter, gauge_count> gauges; // set by a worker lcore
    std::array<counter, datagram_frame_bounds.size()> datagram_frames;
    std::array<counter, tcp_stat_count> tcp;          // set by an io lcore
    std::array<counter, tcp_state_count> tcp_states;  // connections per state, by an io lcore
    std::array<counter, mqtt_stat_count> mqtt;        // by an io lcore
    std::array<counter, mqtt_gauge_count> mqtt_levels; // by an io lcore

    void count(metric s, uint64_t n = 1) noexcept { stats[static_cast<size_t>(s)].add(n); }
    void count(drop d, uint64_t n = 1) noexcept { drops[static_cast<size_t>(d)].add(n); }
    void count(tcp_stat t, uint64_t n = 1) noexcept { tcp[static_cast<size_t>(t)].add(n); }
    void count(mqtt_stat m, uint64_t n = 1) noexcept { mqtt[static_cast<size_t>(m)].add(n); }
    void set(mqtt_gauge g, uint64_t n) noexcept { mqtt_levels[static_cast<size_t>(g)].set(n); }
    [[nodiscard]] uint64_t get(tcp_stat t) const noexcept { return tcp[static_cast<size_t>(t)].get(); }
    [[nodiscard]] uint64_t get(metric s) const noexcept { return stats[static_cast<size_t>(s)].get(); }
    void set(gauge g, uint64_t n) noexcept { gauges[static_cast<size_t>(g)].set(n); }
    [[nodiscard]] uint64_t get(drop d) const noexcept { return drops[static_cast<size_t>(d)].get(); }
    [[nodiscard]] uint64_t get(gauge g) const noexcept { return gauges[static_cast<size_t>(g)].get(); }
    // `n` delivery datagrams of `frames` MSG frames each sent.
    void count_datagrams(uint32_t frames, uint64_t n = 1) noexcept {
        count(metric::datagrams, n);
        count(metric::deliveries, frames * n);
        datagram_frames[datagram_frame_bucket(frames)].add(n);
    }
};

} // namespace ringcast
