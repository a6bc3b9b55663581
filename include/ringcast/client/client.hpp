// RCP/1 client over a kernel UDP socket or a kernel TCP connection: HELLO,
// SUB/UNSUB, PUB, PING, BYE and the MSG frames the appliance delivers, with
// gap repair (NACK) and acknowledged publishing (QoS 1 and 2, retried). No
// DPDK, no threads: one object is used by one thread at a time, and the
// caller's calls drive everything (requests wait for their reply, receive()
// waits for a message, and both read the socket meanwhile).
//
// Every request carries a fresh seq from one counter starting at 1, so a
// reply (ACK, PONG, ERR) matches exactly one request; the exceptions are set
// by the protocol: a retried PUB repeats its seq, a SUB with REPLAY carries
// the topic seq to replay from, a NACK the first topic seq it asks for.
// Frames that arrive while a request waits for its reply are queued, never
// dropped; a datagram holding several frames is split into them in order.
//
// The transports differ only at the edges: UDP sends each frame (or batch)
// as one datagram and reads frames out of each datagram; TCP writes the same
// bytes to the stream and cuts what it reads into frames with rcp_stream.
// Everything between (seqs, reply matching, QoS retries, gap repair, HELLO)
// is the same code. A TCP connection ends for good when the appliance closes
// or resets it or its stream breaks RCP/1 framing: requests then come back
// `closed` at once, receive() returns nothing at once, and closed() says so
// and close_reason() why; a new client connects again.
//
// Setup errors throw std::system_error naming the call. At run time, send
// errors, an unreachable server and a closed connection come back in
// results; only a poll() or recv() failure that means a broken host or a
// bug throws.
#pragma once

#include <ringcast/client/gap_tracker.hpp>
#include <ringcast/core/rcp_stream.hpp>
#include <ringcast/core/wire.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace ringcast {

inline constexpr uint16_t rcp_default_port = 7700;
inline constexpr std::chrono::milliseconds default_request_timeout{1000};
// Batches fill a datagram up to this: below a 1500-byte MTU less IPv4 and UDP
// headers (1472), with room for tunnels, so nothing is fragmented.
inline constexpr size_t batch_datagram_limit = 1400;

enum class transport_kind : uint8_t {
    udp, // one socket, frames in datagrams; the appliance keeps a lease per source address and port
    tcp, // one connection, frames back to back in the stream; the connection is the identity, no lease
};

// Why a TCP connection ended, when the kernel gave no errno for it.
enum class client_errc : int {
    closed_by_server = 1, // the appliance closed the connection (EOF)
    broken_stream,        // the appliance's byte stream broke RCP/1 framing
};
[[nodiscard]] const std::error_category& client_category() noexcept;
[[nodiscard]] std::error_code make_error_code(client_errc e) noexcept;

struct client_options {
    transport_kind transport = transport_kind::udp;
    // tcp: how long the constructor waits for the connection to be accepted.
    std::chrono::milliseconds connect_timeout{3000};
    std::string local_addr;  // dotted IPv4 to bind; empty: any
    uint16_t local_port = 0; // 0: the kernel picks
    // The appliance's lease_s; keepalive PINGs every third. Over TCP the
    // connection needs no lease; the PINGs are harmless there and find a
    // connection that died silently sooner.
    std::chrono::milliseconds lease{30'000};
    gap_tracker_options repair; // receive_ordered's gap repair
    // Sent in a HELLO before the first request or publish, and again when
    // the appliance answers NOT_AUTHORIZED (the lease, and with it the
    // binding, lapsed). Empty: no HELLO unless hello() is called.
    std::string token;
};

enum class request_status : uint8_t {
    ok,       // ACK (or PONG for ping) with the request's seq arrived
    refused,  // ERR with the request's seq arrived
    timeout,  // neither arrived in time
    io_error, // the kernel refused the send, or reported the server unreachable
    closed,   // tcp: the connection is gone (before or while waiting); error says why
};

struct request_result {
    request_status status = request_status::timeout;
    err_code code{};                // refused: the ERR's code
    std::string payload;            // refused: the ERR's reason; ping: the PONG's echo
    std::error_code error;          // io_error: what the kernel said; closed: client::close_reason()
    std::chrono::nanoseconds rtt{}; // ok or refused: from the send to the reply

    [[nodiscard]] bool ok() const noexcept { return status == request_status::ok; }
};

// An acknowledged PUB: like a request, and the topic seq the message got.
struct publish_result : request_result {
    uint64_t topic_seq = 0; // ok: from the ACK's payload (0 when it carried none)
    uint32_t attempts = 0;  // PUB frames sent, the first included; rtt runs from the first
};

// How publish_acked waits: `first_wait` for the ACK of the first PUB, twice
// as long after each retry, `attempts` PUBs in all.
struct retry_policy {
    std::chrono::milliseconds first_wait{50};
    uint32_t attempts = 6; // 50 + 100 + ... + 1600 ms: about 3 s before giving up; 0 counts as 1
};

// One PUB of a batch.
struct outgoing {
    std::string_view topic;
    std::span<const std::byte> payload;
    uint8_t flags = 0;
    // 0: the client's next seq. Else sent as it is and the counter left
    // alone: a publisher whose seqs come from its source (ringcast-bridge
    // repeats a JetStream stream seq, so a QoS 2 PUB resent after a restart
    // meets the dedup window).
    uint64_t seq = 0;
};

class client {
public:
    using clock = std::chrono::steady_clock;

    // Opens a UDP socket (or, with transport_kind::tcp, a TCP socket with
    // TCP_NODELAY), binds it when opt.local_addr or opt.local_port is set,
    // and connects it to the server: UDP so the kernel passes only the
    // server's datagrams, TCP waiting at most opt.connect_timeout for the
    // handshake. Throws std::system_error naming the failed call (socket,
    // setsockopt, bind, connect; ETIMEDOUT for a TCP connect that took too
    // long) or the address that did not parse (inet_pton);
    // std::invalid_argument for opt.repair with a zero cap (gap_tracker).
    client(std::string_view server_addr, uint16_t server_port, const client_options& opt = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Requests: send, then read the socket until the reply with the same seq
    // arrives or `timeout` passes. Other frames read meanwhile are queued.
    // With client_options::token set, a request first says HELLO when the
    // client is not bound yet, and one refused NOT_AUTHORIZED is sent once
    // more after a new HELLO.
    [[nodiscard]] request_result hello(std::string_view token,
                                       std::chrono::milliseconds timeout = default_request_timeout);
    [[nodiscard]] request_result subscribe(std::string_view filter,
                                           std::chrono::milliseconds timeout = default_request_timeout);
    [[nodiscard]] request_result unsubscribe(std::string_view filter,
                                             std::chrono::milliseconds timeout = default_request_timeout);
    // Reply PONG; result.payload holds the echo (the appliance echoes at most 64 bytes).
    [[nodiscard]] request_result ping(std::span<const std::byte> payload,
                                      std::chrono::milliseconds timeout = default_request_timeout);
    // Drops every subscription of this client at the appliance.
    request_result bye(std::chrono::milliseconds timeout = default_request_timeout);

    // SUB with REPLAY: the appliance sends the retained messages of the
    // matching topics from topic seq `from` on (GAP_LOST first when the
    // oldest it holds is newer), then live traffic. For a filter without
    // wildcards (and not $share/...) receive_ordered expects that topic from
    // `from`, so the replay is ordered and repaired like live traffic (unless
    // it already follows that topic: then replayed seqs it has passed are
    // duplicates to it).
    [[nodiscard]] request_result
    subscribe_replay(std::string_view filter, uint64_t from,
                     std::chrono::milliseconds timeout = default_request_timeout);

    // Sends one PUB and returns without waiting (with QoS 1 or 2 in
    // flag_bits the ACK reaches receive() as a message with code ack and
    // seq == last_seq()). Returns the kernel's error, or invalid_argument
    // for a topic longer than 255 bytes.
    [[nodiscard]] std::error_code publish(std::string_view topic, std::span<const std::byte> payload,
                                          uint8_t flag_bits = 0);
    // Sends the PUBs in order, packing consecutive frames into datagrams of
    // at most batch_datagram_limit bytes (a larger frame goes alone); over
    // TCP the same chunks are written to the stream one after another. Stops
    // at the first kernel error and returns it; earlier datagrams were sent.
    // A topic longer than 255 bytes sends nothing: invalid_argument.
    [[nodiscard]] std::error_code publish_batch(std::span<const outgoing> pubs);
    // Sends a PUB with QoS `qos` (1 or 2; the QoS bits of flag_bits are
    // replaced) and waits for its ACK, sending the same frame with the same
    // seq again each time a wait as `retry` says passes. With QoS 2 the
    // appliance delivers a retried PUB once; with QoS 1 a retry may be
    // delivered twice. An ERR answering it ends the wait (refused, no
    // retry). A qos other than 1 or 2, or a topic longer than 255 bytes, is
    // io_error with invalid_argument, and nothing is sent.
    [[nodiscard]] publish_result publish_acked(std::string_view topic, std::span<const std::byte> payload,
                                               uint8_t qos, uint8_t flag_bits = 0,
                                               const retry_policy& retry = {});

    // Next queued frame, reading the socket for at most `timeout` when none
    // is queued. Sends keep-alive PINGs while it waits. PONGs answering no
    // waiting ping are dropped. An unreachable server is not reported here
    // (nothing comes, as from an idle one); requests report it. Over TCP,
    // once the frames read before the end are taken, a closed connection
    // returns nothing at once: check closed().
    [[nodiscard]] std::optional<message> receive(std::chrono::milliseconds timeout);

    // As receive(), with gap repair (see gap_tracker.hpp): MSGs of each topic
    // come out in seq order, without duplicates; a gap is NACKed (again after
    // a timeout) and what follows it is held back until the retransmission
    // fills it or it is given up as lost (GAP_LOST, NACKs spent, buffer
    // full). GAP_LOST ERRs are consumed here; other ERRs and stray ACKs come
    // out as they arrive. Use either this or receive() on one client. On a
    // closed connection it returns nothing at once when nothing is released:
    // give_up_gaps() then hands out what waited behind a gap.
    [[nodiscard]] std::optional<message> receive_ordered(std::chrono::milliseconds timeout);
    // Gives up every gap still open (counted lost), so that what
    // receive_ordered held back comes out of its next calls: at the end of a
    // session.
    void give_up_gaps();
    // What receive_ordered has delivered, repaired, lost, dropped as
    // duplicates, and the NACKs it sent.
    [[nodiscard]] const gap_counters& repair_counters() const noexcept { return _tracker.counters(); }

    // Sends a PING when a third of the lease has passed at `now` since the
    // last frame sent; returns whether it sent one. A failed PING is retried
    // a third of a lease later, not at once.
    bool keepalive(clock::time_point now);

    // Sends `bytes` as one datagram (over TCP: writes them to the stream)
    // as they are, for tests of bad input. Does not count as a frame sent
    // for keep-alive: the appliance may not treat it as one.
    [[nodiscard]] std::error_code send_raw(std::span<const std::byte> bytes);

    // TCP: whether the connection has ended (never true over UDP), and why:
    // client_errc::closed_by_server for an EOF, client_errc::broken_stream
    // for bytes that are not RCP/1 frames, else the kernel's errno
    // (ECONNRESET for a reset, EPIPE, ETIMEDOUT). Empty while open.
    [[nodiscard]] bool closed() const noexcept { return static_cast<bool>(_close_reason); }
    [[nodiscard]] std::error_code close_reason() const noexcept { return _close_reason; }

    // The socket, for a caller that polls it with other descriptors and then
    // calls receive() with no wait when it is readable; -1 once closed.
    [[nodiscard]] int native_handle() const noexcept { return _fd; }

    // Seq of the last frame sent.
    [[nodiscard]] uint64_t last_seq() const noexcept { return _next_seq - 1; }

private:
    struct waiting {
        uint64_t seq;
        op reply;
        clock::time_point sent_at;
        std::optional<request_result> result;
    };

    request_result request(op code, std::string_view topic, std::span<const std::byte> payload, op reply,
                           std::chrono::milliseconds timeout, uint8_t flag_bits = 0,
                           std::optional<uint64_t> seq = std::nullopt);
    request_result request_once(op code, std::string_view topic, std::span<const std::byte> payload, op reply,
                                std::chrono::milliseconds timeout, uint8_t flag_bits, std::optional<uint64_t> seq);
    // With a token and not bound: HELLO. The HELLO's result when it failed.
    std::optional<request_result> bind(std::chrono::milliseconds timeout = default_request_timeout);
    // Reads the socket until w has its result or `deadline` passes; false then.
    bool wait_reply(waiting& w, clock::time_point deadline);
    // Feeds what _inbox holds to the tracker and sends the NACKs it asks for.
    void repair_inbox();
    void take_repair_output();
    std::error_code send_frame(op code, uint8_t flag_bits, uint64_t seq, std::string_view topic,
                               std::span<const std::byte> payload);
    // The sending edge: `bytes` as one datagram (UDP) or written whole to
    // the stream (TCP). Counts as a frame sent for keep-alive.
    std::error_code send_datagram(std::span<const std::byte> bytes);
    // A failed request: io_error, or closed when the error ended the connection.
    [[nodiscard]] request_result failed(std::error_code ec) const;
    // The receiving edge: waits for input until `deadline` and hands its
    // frames to on_frame, cut out of the datagram (UDP) or out of the stream
    // (TCP); false when none came or the connection is closed.
    bool read_input(clock::time_point deadline, waiting* w);
    void read_datagram(std::span<const std::byte> dgram, waiting* w);
    void read_stream(std::span<const std::byte> bytes, waiting* w);
    // TCP, after a send failed: takes the frames the kernel still holds.
    void drain_stream();
    // One frame from the appliance: the reply w waits for, or into _inbox.
    void on_frame(const frame_view& f, waiting* w);
    // TCP: the connection is over; the socket is closed, and w (if any) fails.
    void close_connection(std::error_code why, waiting* w);

    transport_kind _transport;
    int _fd = -1;
    std::error_code _close_reason;
    std::optional<rcp_stream> _stream; // tcp: frames out of the byte stream
    std::string _token;
    bool _bound = false; // a HELLO with _token was ACKed and no NOT_AUTHORIZED came since
    uint64_t _next_seq = 1;
    clock::duration _keepalive_interval;
    clock::time_point _last_sent;
    std::deque<message> _inbox;
    gap_tracker _tracker;
    gap_output _repair_out;
    std::deque<message> _ordered; // released by the tracker, for receive_ordered
    std::vector<std::byte> _rx;
    std::vector<std::byte> _tx;
};

} // namespace ringcast

template <> struct std::is_error_code_enum<ringcast::client_errc> : std::true_type {};
