// One MQTT 3.1.1 client's session, apart from any connection: the QoS 1 and
// 2 messages it has in flight to the client and those queued behind them
// (4.3, 4.4), the QoS 2 packet ids it has sent us and not yet released
// (4.3.3, method B: delivered onward once, on the first PUBLISH), and the
// rules for keep-alive (3.1.2.10) and the will (3.1.2.5). Messages are the
// caller's handles (an mbuf reference each): nothing here copies a payload,
// and storage is fixed when the session is made, so nothing allocates
// after. Time is an argument. Also the session's subscriptions with their
// granted QoS, and the acknowledgements it owes its client in order. No DPDK.
#pragma once

#include <ringcast/core/mqtt_codec.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ringcast::mqtt {

using msg_ref = uint64_t; // the caller's handle on a message

struct session_limits {
    uint16_t max_in_flight = 32;    // QoS 1/2 messages sent to the client and not yet acknowledged
    uint32_t max_queued = 1000;     // behind them (and all of them while offline); the oldest goes first
    uint16_t max_inbound_qos2 = 64; // QoS 2 packet ids from the client awaiting PUBREL
};

// Where an outgoing QoS 1/2 message stands (4.3.2, 4.3.3).
enum class out_state : uint8_t {
    wait_puback,  // QoS 1, PUBLISH sent
    wait_pubrec,  // QoS 2, PUBLISH sent
    wait_pubcomp, // QoS 2, PUBREL sent: the message itself is done
};

struct in_flight_entry {
    uint16_t id = 0;
    uint8_t qos = 0;
    out_state state = out_state::wait_puback;
    msg_ref msg = 0; // released by the caller once the state is wait_pubcomp or the entry is gone
    bool unsent = false; // the caller could not put it on the connection: to be sent again
};

class session {
public:
    // Throws std::invalid_argument for a limit of 0.
    explicit session(const session_limits& limits);

    // A message for this client at `qos` (1 or 2: the lower of the
    // publish's and the subscription's). With room in flight and the
    // client connected, it goes now: `id` is its packet id. Otherwise it is
    // queued; when the queue is full the oldest queued message is dropped
    // (`dropped` is the caller's to release and count).
    struct offer_result {
        bool send = false;
        uint16_t id = 0;
        std::optional<msg_ref> dropped;
    };
    offer_result offer(msg_ref msg, uint8_t qos, bool connected);

    // The client's acknowledgements. Each returns the message now done (the
    // caller releases it), or nothing for an id not awaited in that state
    // (a late or repeated one: ignored, 4.3). PUBREC is answered by PUBREL
    // whether known or not; PUBCOMP frees the id.
    std::optional<msg_ref> on_puback(uint16_t id);
    std::optional<msg_ref> on_pubrec(uint16_t id);
    bool on_pubcomp(uint16_t id);

    // After an acknowledgement freed room: the next queued message to send
    // now, with its packet id and QoS.
    struct ready {
        uint16_t id;
        uint8_t qos;
        msg_ref msg;
    };
    std::optional<ready> next_queued();

    // On reconnect (clean session 0): what is in flight, oldest first, to
    // send again: PUBLISH with DUP for wait_puback and wait_pubrec, PUBREL
    // for wait_pubcomp (4.4).
    [[nodiscard]] const std::vector<in_flight_entry>& in_flight() const noexcept { return _in_flight; }

    // The PUBLISH (or PUBREL) of `id` did not leave: send(const
    // in_flight_entry&) -> bool is called for it, and every other one so
    // marked, by resend_unsent, oldest first, until one fails again.
    void mark_unsent(uint16_t id) noexcept;
    // Reconnected: everything in flight goes again.
    void mark_all_unsent() noexcept;
    template <class Send> void resend_unsent(Send&& send);
    [[nodiscard]] bool has_unsent() const noexcept { return _unsent != 0; }
    [[nodiscard]] size_t queued() const noexcept { return _queued_count; }

    // A QoS 2 PUBLISH from the client with `id`.
    enum class inbound : uint8_t {
        fresh,     // deliver it onward, answer PUBREC
        duplicate, // already delivered: answer PUBREC only
        full,      // max_inbound_qos2 ids unreleased: the client breaks flow control; close
    };
    inbound on_publish_qos2(uint16_t id);
    // PUBREL from the client: the id is free again; answer PUBCOMP (known or not).
    void on_pubrel(uint16_t id);

    // Everything the session holds, handed to `release` (clean session, or
    // the session discarded).
    template <class Release> void clear(Release&& release);

private:
    uint16_t take_id() noexcept;
    in_flight_entry* find(uint16_t id) noexcept;
    void erase(uint16_t id) noexcept;

    session_limits _limits;
    std::vector<in_flight_entry> _in_flight; // oldest first, at most max_in_flight
    struct queued_msg {
        msg_ref msg;
        uint8_t qos;
    };
    std::vector<queued_msg> _queue; // a ring of max_queued
    size_t _queue_head = 0;
    size_t _queued_count = 0;
    std::vector<uint16_t> _inbound_qos2; // ids awaiting PUBREL
    uint16_t _next_id = 1;
    size_t _unsent = 0; // in-flight entries marked unsent
};

template <class Send> void session::resend_unsent(Send&& send) {
    for (in_flight_entry& e : _in_flight) {
        if (_unsent == 0) {
            return;
        }
        if (!e.unsent) {
            continue;
        }
        if (!send(static_cast<const in_flight_entry&>(e))) {
            return; // still no room: the rest wait behind it
        }
        e.unsent = false;
        --_unsent;
    }
}

template <class Release> void session::clear(Release&& release) {
    for (const in_flight_entry& e : _in_flight) {
        if (e.state != out_state::wait_pubcomp) {
            release(e.msg);
        }
    }
    _in_flight.clear();
    _unsent = 0;
    for (size_t i = 0; i < _queued_count; ++i) {
        release(_queue[(_queue_head + i) % _queue.size()].msg);
    }
    _queue_head = 0;
    _queued_count = 0;
    _inbound_qos2.clear();
}

// The filters a session holds and the QoS granted to each (3.8.4). Filters
// are at most 255 bytes (RCP/1's topic field), valid per parse_filter (the
// caller's check). Storage is fixed when it is made.
class subscription_set {
public:
    explicit subscription_set(size_t max_filters);

    enum class add_result : uint8_t { added, updated, full };
    add_result add(std::string_view filter, uint8_t qos);
    bool remove(std::string_view filter) noexcept;
    void clear() noexcept;
    [[nodiscard]] size_t size() const noexcept { return _filters.size(); }

    // The QoS a message on `topic` is delivered at: the highest granted by
    // the filters that match it (overlapping subscriptions deliver it once,
    // 3.3.5), or nothing when none does. When every filter grants the same,
    // the worker's match is taken as it is and no filter is matched here.
    [[nodiscard]] std::optional<uint8_t> granted(std::span<const std::byte> topic) const noexcept;

private:
    struct entry {
        std::array<char, 255> text{};
        uint8_t len = 0;
        uint8_t qos = 0;
        [[nodiscard]] std::string_view view() const noexcept { return {text.data(), len}; }
    };
    void recount() noexcept;

    size_t _max;
    std::vector<entry> _filters;
    uint8_t _low = 0, _high = 0; // over _filters
};

// At most this many filters in one SUBSCRIBE or UNSUBSCRIBE.
inline constexpr size_t max_filters_per_request = 32;

// An acknowledgement the session owes its client (PUBACK, PUBREC, SUBACK,
// UNSUBACK), due once the requests made for it are all answered. 24 bytes:
// a session may owe many (a client may pipeline as many as it likes).
struct owed_answer {
    uint32_t serial = 0;   // the caller's name for it, in the requests it made
    uint32_t since_ms = 0; // when it was owed (the low 32 bits of ms: only differences are read)
    uint64_t codes = 0;    // SUBACK's return codes, 2 bits each (3 stands for 0x80)
    uint16_t id = 0;
    packet_type type = packet_type::puback;
    uint8_t waiting = 0;     // answers still to come
    uint8_t n_codes = 0;
    bool qos2_fresh = false; // a QoS 2 PUBLISH delivered onward: its id was recorded

    void set_code(size_t i, uint8_t code) noexcept {
        const uint64_t bits = code == suback_failure ? 3 : code & 3;
        codes = (codes & ~(uint64_t{3} << 2 * i)) | bits << 2 * i;
    }
    [[nodiscard]] uint8_t code(size_t i) const noexcept {
        const auto bits = static_cast<uint8_t>(codes >> 2 * i & 3);
        return bits == 3 ? suback_failure : bits;
    }
};
static_assert(sizeof(owed_answer) == 24);

// The acknowledgements owed, in the order the client's packets came: sent
// from the head as each is due (4.6), however the answers interleave.
class answer_queue {
public:
    // Throws std::invalid_argument for a capacity of 0.
    explicit answer_queue(size_t capacity);

    // A new one at the back; null when `capacity` are owed.
    owed_answer* push(uint32_t serial, packet_type type, uint16_t id, uint64_t now_ms) noexcept;
    [[nodiscard]] owed_answer* find(uint32_t serial) noexcept;
    // f(const owed_answer&) for each due one at the head, which then goes.
    template <class F> void pop_due(F&& f);
    // Whether the oldest owed one still waits after `timeout_ms`.
    [[nodiscard]] bool stalled(uint64_t now_ms, uint64_t timeout_ms) const noexcept;
    // f(const owed_answer&) for each, then none is owed.
    template <class F> void clear(F&& f);
    [[nodiscard]] size_t size() const noexcept { return _n; }
    [[nodiscard]] size_t capacity() const noexcept { return _ring.size(); }

private:
    [[nodiscard]] owed_answer& at(size_t i) noexcept { return _ring[(_head + i) % _ring.size()]; }
    std::vector<owed_answer> _ring;
    size_t _head = 0, _n = 0;
};

template <class F> void answer_queue::pop_due(F&& f) {
    while (_n != 0 && _ring[_head].waiting == 0) {
        f(_ring[_head]);
        _head = (_head + 1) % _ring.size();
        --_n;
    }
}

template <class F> void answer_queue::clear(F&& f) {
    for (size_t i = 0; i < _n; ++i) {
        f(at(i));
    }
    _head = 0;
    _n = 0;
}

// Keep-alive (3.1.2.10): a client silent for one and a half times its
// keep-alive is gone. 0 turns it off.
class keep_alive {
public:
    using clock = std::chrono::steady_clock;
    keep_alive(uint16_t keep_alive_s, clock::time_point now) noexcept
        : _grace(std::chrono::milliseconds(uint32_t{keep_alive_s} * 1500)), _last(now), _on(keep_alive_s != 0) {}
    void on_packet(clock::time_point now) noexcept { _last = now; }
    [[nodiscard]] bool expired(clock::time_point now) const noexcept { return _on && now - _last > _grace; }
    [[nodiscard]] clock::time_point deadline() const noexcept { return _last + _grace; }

private:
    clock::duration _grace;
    clock::time_point _last;
    bool _on;
};

// How a connection ended.
enum class close_reason : uint8_t {
    disconnect,     // the client sent DISCONNECT
    keep_alive,     // silent past 1.5 times its keep-alive
    protocol_error, // a malformed packet or one out of turn
    network,        // the peer closed or reset the connection, or it timed out
    taken_over,     // a new connection with the same client id (3.1.4-2)
    shutdown,       // the appliance stopping
};

// Whether the will is published: on every end but DISCONNECT (3.1.2-8, 3.14.4-3).
[[nodiscard]] constexpr bool will_due(close_reason r) noexcept { return r != close_reason::disconnect; }

// CONNECT's client identifier (3.1.3-6..-9): a zero-length one only with a
// clean session, and at most `max_len` bytes (the spec allows servers 23 or
// more). Returns 0 (accepted) or 2 (identifier rejected), CONNACK's codes.
[[nodiscard]] uint8_t check_client_id(std::string_view id, bool clean_session, size_t max_len) noexcept;

} // namespace ringcast::mqtt
