// RCP/1 client over a kernel UDP socket: HELLO, SUB/UNSUB, PUB, PING, BYE
// and the MSG frames the appliance delivers. No DPDK, no threads: one object
// is used by one thread at a time, and the caller's calls drive everything
// (requests wait for their reply, receive() waits for a message, and both
// read the socket meanwhile).
//
// Every frame the client sends carries a fresh seq from one counter starting
// at 1, so a reply (ACK, PONG, ERR) matches exactly one request. Frames that
// arrive while a request waits for its reply are queued for receive(), never
// dropped; a datagram holding several frames is split into them in order.
//
// Setup errors throw std::system_error naming the call. At run time, send
// errors and an unreachable server come back in results; only a poll() or
// recv() failure that means a broken host or a bug throws.
#pragma once

#include <ringcast/wire.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace ringcast {

inline constexpr uint16_t rcp_default_port = 7700;
inline constexpr std::chrono::milliseconds default_request_timeout{1000};
// Batches fill a datagram up to this: below a 1500-byte MTU less IPv4 and UDP
// headers (1472), with room for tunnels, so nothing is fragmented.
inline constexpr size_t batch_datagram_limit = 1400;

struct client_options {
    std::string local_addr;                  // dotted IPv4 to bind; empty: any
    uint16_t local_port = 0;                 // 0: the kernel picks
    std::chrono::milliseconds lease{30'000}; // the appliance's lease_s; keepalive PINGs every third
};

// A frame the appliance sent that no waiting request consumed.
struct message {
    op code = op::msg; // msg; or err (e.g. GAP_LOST, or the answer to send_raw);
                       // or ack answering no waiting request (a QoS 1 PUB's, a late one)
    uint8_t flags = 0; // MSG: flags::replayed etc.; ERR: the err_code
    uint64_t seq = 0;  // MSG: the topic's seq; ACK/ERR: the request's seq
    std::string topic;
    std::string payload; // bytes, not necessarily text; ERR: the reason

    [[nodiscard]] err_code error() const noexcept { return static_cast<err_code>(flags); }
};

enum class request_status : uint8_t {
    ok,       // ACK (or PONG for ping) with the request's seq arrived
    refused,  // ERR with the request's seq arrived
    timeout,  // neither arrived in time
    io_error, // the kernel refused the send, or reported the server unreachable
};

struct request_result {
    request_status status = request_status::timeout;
    err_code code{};                // refused: the ERR's code
    std::string payload;            // refused: the ERR's reason; ping: the PONG's echo
    std::error_code error;          // io_error: what the kernel said
    std::chrono::nanoseconds rtt{}; // ok or refused: from the send to the reply

    [[nodiscard]] bool ok() const noexcept { return status == request_status::ok; }
};

// One PUB of a batch.
struct outgoing {
    std::string_view topic;
    std::span<const std::byte> payload;
    uint8_t flags = 0;
};

class client {
public:
    using clock = std::chrono::steady_clock;

    // Opens a UDP socket, binds it when opt.local_addr or opt.local_port is
    // set, and connects it to the server so the kernel passes only the
    // server's datagrams. Throws std::system_error naming the failed call
    // (socket, bind, connect) or the address that did not parse (inet_pton).
    client(std::string_view server_addr, uint16_t server_port, const client_options& opt = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Requests: send, then read the socket until the reply with the same seq
    // arrives or `timeout` passes. Other frames read meanwhile are queued.
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

    // Sends one PUB and returns without waiting (with QoS 1 or 2 in
    // flag_bits the ACK reaches receive() as a message with code ack and
    // seq == last_seq()). Returns the kernel's error, or invalid_argument
    // for a topic longer than 255 bytes.
    [[nodiscard]] std::error_code publish(std::string_view topic, std::span<const std::byte> payload,
                                          uint8_t flag_bits = 0);
    // Sends the PUBs in order, packing consecutive frames into datagrams of
    // at most batch_datagram_limit bytes (a larger frame goes alone). Stops
    // at the first kernel error and returns it; earlier datagrams were sent.
    // A topic longer than 255 bytes sends nothing: invalid_argument.
    [[nodiscard]] std::error_code publish_batch(std::span<const outgoing> pubs);

    // Next queued frame, reading the socket for at most `timeout` when none
    // is queued. Sends keep-alive PINGs while it waits. PONGs answering no
    // waiting ping are dropped. An unreachable server is not reported here
    // (nothing comes, as from an idle one); requests report it.
    [[nodiscard]] std::optional<message> receive(std::chrono::milliseconds timeout);

    // Sends a PING when a third of the lease has passed at `now` since the
    // last frame sent; returns whether it sent one. A failed PING is retried
    // a third of a lease later, not at once.
    bool keepalive(clock::time_point now);

    // Sends `bytes` as one datagram as they are, for tests of bad input. Does
    // not count as a frame sent for keep-alive: the appliance may not treat
    // it as one.
    [[nodiscard]] std::error_code send_raw(std::span<const std::byte> bytes);

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
                           std::chrono::milliseconds timeout);
    std::error_code send_frame(op code, uint8_t flag_bits, uint64_t seq, std::string_view topic,
                               std::span<const std::byte> payload);
    std::error_code send_datagram(std::span<const std::byte> bytes);
    // Waits for a datagram until `deadline` and handles its frames; false
    // when none came.
    bool read_datagram(clock::time_point deadline, waiting* w);
    void dispatch(std::span<const std::byte> dgram, waiting* w);

    int _fd = -1;
    uint64_t _next_seq = 1;
    clock::duration _keepalive_interval;
    clock::time_point _last_sent;
    std::deque<message> _inbox;
    std::vector<std::byte> _rx;
    std::vector<std::byte> _tx;
};

} // namespace ringcast
