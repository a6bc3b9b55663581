// TCP-lite's per-connection state machine as plain code: segments, timer
// expiries and the reader's progress in; segments to send, timer requests,
// in-order data and close notices out, through `tcp_actions`. Time is an
// argument (ticks at tcp_config::hz), so tests script whole exchanges.
//
// The core tracks sequence numbers and byte counts only. The send queue's
// bytes live in the caller's buffers (mbuf references): a segment to send
// names its payload by stream offset and length, and `acked` says how many
// bytes from the queue's head the peer has acknowledged, for the caller to
// release. Received data is handed back as a byte range of the segment the
// caller passed in.
//
// Policies, each the simplest one Linux peers accept:
//  - Handshake: SYN cookies only (syn_ack_for, then open on the final ACK):
//    no SYN_RECEIVED state and no half-open table. LISTEN is the caller's
//    port, not a state here.
//  - Out-of-order segments are dropped and answered at once with a duplicate
//    ACK (`beyond_hole`); the peer's fast retransmit fills the hole. The
//    caller may keep a few and hand them in again in order.
//  - RTO per RFC 6298: initial 1 s, minimum 200 ms (Linux's, not the RFC's
//    1 s), maximum 60 s, doubling per expiry, RST after max_retries.
//  - Fast retransmit on the third duplicate ACK with NewReno recovery
//    (RFC 6582); congestion window per RFC 5681, initial 10 segments (RFC 6928).
//  - Zero window: a persist timer sends a probe carrying one byte (Linux
//    ignores empty ones), backing off as the RTO; RST after max_retries
//    unanswered probes.
//  - Delayed ACK: every second data segment at once, else after delayed_ack_ms.
//  - RST (RFC 5961): exactly rcv_nxt resets, elsewhere in the window draws a
//    challenge ACK. A SYN on a synchronized connection draws a challenge ACK.
//  - TIME_WAIT lasts time_wait_ms (2 MSL, small). A SYN onto it with a
//    sequence number above the old rcv_nxt ends it at once (RFC 6191 without
//    timestamps): `reused`, and the caller hands that SYN to syn_ack_for.
//    FIN_WAIT_2 is bounded by fin_wait_2_ms, then RST.
// Owned by the lcore that owns the 4-tuple; nothing here allocates, throws or
// reads a clock.
#pragma once

#include <ringcast/core/syn_cookie.hpp>
#include <ringcast/core/tcp_wire.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringcast {

// Sequence-number order modulo 2^32 (RFC 9293 §3.4).
[[nodiscard]] constexpr bool seq_lt(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }
[[nodiscard]] constexpr bool seq_leq(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) <= 0; }
[[nodiscard]] constexpr bool seq_gt(uint32_t a, uint32_t b) noexcept { return seq_lt(b, a); }
[[nodiscard]] constexpr bool seq_geq(uint32_t a, uint32_t b) noexcept { return seq_leq(b, a); }

enum class tcp_state : uint8_t {
    closed,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
[[nodiscard]] std::string_view to_string(tcp_state s) noexcept;

// Sizes in bytes, times in milliseconds; make_tcp_params turns them into ticks.
struct tcp_config {
    uint64_t hz = 1000;              // ticks per second of every `now`
    uint16_t mss = 1460;             // advertised, and the most we send in one segment
    uint32_t rcv_buf = 256 * 1024;   // the most a connection buffers for its reader
    uint32_t snd_queue = 1024 * 1024; // the most bytes queued unacknowledged
    uint32_t rto_initial_ms = 1000;
    uint32_t rto_min_ms = 200;
    uint32_t rto_max_ms = 60000;
    uint32_t max_retries = 8; // expiries (or unanswered probes) in a row, then RST: about 4 minutes
    uint32_t delayed_ack_ms = 40;
    uint32_t time_wait_ms = 2000; // 2 MSL
    uint32_t fin_wait_2_ms = 10000;
    uint32_t initial_cwnd = 10; // segments
};

// A tcp_config in ticks, made once and shared by every connection of an lcore.
struct tcp_params {
    tcp_config cfg;
    uint8_t wscale = 0; // ours: the least shift that lets the window reach rcv_buf
    uint64_t rto_initial = 0;
    uint64_t rto_min = 0;
    uint64_t rto_max = 0;
    uint64_t delayed_ack = 0;
    uint64_t time_wait = 0;
    uint64_t fin_wait_2 = 0;
};
[[nodiscard]] tcp_params make_tcp_params(const tcp_config& cfg) noexcept;

enum class tcp_timer : uint8_t {
    rto,
    delayed_ack,
    zero_window_probe,
    time_wait, // also bounds FIN_WAIT_2
};
inline constexpr size_t tcp_timer_kinds = 4;

// One segment to send. Payload: `data_len` bytes of the send queue from
// stream offset `data_off` (bytes since the connection's first), or none.
struct tcp_out_segment {
    tcp_header hdr;
    uint64_t data_off = 0;
    uint32_t data_len = 0;
};

struct tcp_timer_request {
    enum class op : uint8_t { none, arm, cancel };
    op what = op::none;
    uint64_t at = 0; // for arm: replaces any timer of this kind
};

enum class tcp_close_reason : uint8_t {
    none,
    normal,         // both FINs acknowledged (or TIME_WAIT over)
    reset_by_peer,  // the peer's RST
    aborted,        // we sent RST: abort(), retries or probes exhausted, FIN_WAIT_2 timeout
    reused,         // a new SYN ended TIME_WAIT: hand it to syn_ack_for
};

struct tcp_conn_stats {
    uint64_t retransmits = 0; // segments sent again, fast retransmits included
    uint64_t fast_retransmits = 0;
    uint64_t timeouts = 0;
    uint64_t zero_window_probes = 0;
    uint64_t out_of_order = 0; // segments dropped for a hole before them
    uint64_t challenge_acks = 0;
};

// What one call asks of the caller. Calls append; the caller acts on it and
// clears it before the next call.
struct tcp_actions {
    static constexpr uint32_t max_segments = 8;
    std::array<tcp_out_segment, max_segments> segments{};
    uint32_t n_segments = 0;
    std::array<tcp_timer_request, tcp_timer_kinds> timers{}; // by tcp_timer
    // In-order data of the segment just handled: payload.subspan(deliver_off, deliver_len).
    uint32_t deliver_off = 0;
    uint32_t deliver_len = 0;
    uint64_t acked = 0;       // send-queue bytes acknowledged: release them from the head
    bool established = false; // open() made the connection
    bool peer_fin = false;    // the peer has sent everything (end of stream after the delivery)
    bool beyond_hole = false; // the segment's data starts past rcv_nxt: dropped here, the caller
                              // may keep it and hand it in again once rcv_nxt reaches it
    bool closed = false;      // the connection is over: its timers are cancelled, free its slot
    bool more = false;        // `segments` filled up with more to send: call poll_send again
    tcp_close_reason reason = tcp_close_reason::none;

    void clear() noexcept { *this = tcp_actions{}; }
    [[nodiscard]] const tcp_timer_request& timer(tcp_timer k) const noexcept {
        return timers[static_cast<size_t>(k)];
    }
};

// The SYN-ACK answering `syn` at a listening port: its sequence number the
// cookie, MSS ours, window scale ours only when the SYN carried the option.
[[nodiscard]] tcp_header syn_ack_for(const tcp_params& p, const tcp_segment_view& syn, const tcp_tuple& t,
                                     const syn_cookie_secret& key, uint32_t counter) noexcept;

// The final ACK of a cookie handshake: an ACK without SYN or RST whose
// acknowledgement number returns a valid cookie. What its SYN carried, or nullopt.
[[nodiscard]] std::optional<cookie_fields> accept_cookie(const tcp_segment_view& seg, const tcp_tuple& t,
                                                         const syn_cookie_secret& key, uint32_t counter,
                                                         uint32_t max_age) noexcept;

// The RST answering a segment that no connection wants (RFC 9293 §3.10.7.1);
// nullopt for a RST, which is never answered.
[[nodiscard]] std::optional<tcp_header> reset_for(const tcp_segment_view& seg) noexcept;

class tcp_conn {
public:
    tcp_conn() = default; // closed

    // Makes the connection ESTABLISHED from a final ACK that accept_cookie
    // passed, then handles that ACK (it may carry data) as on_segment does.
    void open(const tcp_params& p, const tcp_tuple& t, const tcp_segment_view& ack, const cookie_fields& syn,
              uint64_t now, tcp_actions& out) noexcept;

    // A segment for this connection's 4-tuple, checksum already checked.
    void on_segment(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept;
    // A timer this connection asked for has fired; a stale one is ignored.
    void on_timer(tcp_timer kind, uint64_t now, tcp_actions& out) noexcept;

    // Appends up to `bytes` to the send queue; returns how many fit under
    // snd_queue (0 once closing). The caller queues that many bytes'
    // references and calls poll_send; what did not fit is its slow-consumer policy.
    [[nodiscard]] uint32_t send(uint32_t bytes) noexcept;
    // Emits what the peer's window, the congestion window and the MSS allow.
    // True when the actions filled up and more could be sent at once.
    bool poll_send(uint64_t now, tcp_actions& out) noexcept;
    // The reader has consumed `bytes` of delivered data: room again in the
    // receive buffer, announced when the window grows enough (RFC 1122 SWS).
    void consumed(uint32_t bytes, uint64_t now, tcp_actions& out) noexcept;

    // FIN after the queued data (ESTABLISHED or CLOSE_WAIT; else nothing).
    void close(uint64_t now, tcp_actions& out) noexcept;
    // RST now, and closed.
    void abort(uint64_t now, tcp_actions& out) noexcept;

    [[nodiscard]] tcp_state state() const noexcept { return _state; }
    [[nodiscard]] const tcp_tuple& tuple() const noexcept { return _tuple; }
    [[nodiscard]] const tcp_conn_stats& stats() const noexcept { return _stats; }
    [[nodiscard]] uint32_t snd_una() const noexcept { return _snd_una; }
    [[nodiscard]] uint32_t snd_nxt() const noexcept { return _snd_nxt; }
    [[nodiscard]] uint32_t snd_wnd() const noexcept { return _snd_wnd; } // bytes, scaled
    [[nodiscard]] uint32_t rcv_nxt() const noexcept { return _rcv_nxt; }
    [[nodiscard]] uint32_t rcv_wnd() const noexcept { return _rcv_space; } // bytes we may still take
    [[nodiscard]] uint16_t mss() const noexcept { return _mss; }           // what we send, at most
    [[nodiscard]] uint8_t snd_wscale() const noexcept { return _snd_wscale; }
    [[nodiscard]] uint8_t rcv_wscale() const noexcept { return _rcv_wscale; }
    [[nodiscard]] uint64_t rto() const noexcept { return _rto; }
    [[nodiscard]] uint32_t cwnd() const noexcept { return _cwnd; }
    [[nodiscard]] uint32_t queued() const noexcept; // unacknowledged bytes in the send queue
    [[nodiscard]] uint64_t una_offset() const noexcept { return _una_off; } // stream offset of snd_una

private:
    static constexpr uint64_t unarmed = UINT64_MAX;

    // False: the segment acknowledges what was never sent and is dropped.
    bool process_ack(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept;
    void new_ack(uint32_t ack, uint64_t now, tcp_actions& out) noexcept;
    void process_data(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept;
    void on_time_wait_segment(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept;
    bool emit(uint64_t now, tcp_actions& out) noexcept;
    void retransmit_head(uint64_t now, tcp_actions& out) noexcept;
    void flush_ack(tcp_actions& out) noexcept;
    bool push(uint32_t seq, uint8_t flags, uint32_t data_len, tcp_actions& out) noexcept;
    void rtt_sample(uint64_t r) noexcept;
    void arm(tcp_timer k, uint64_t at, tcp_actions& out) noexcept;
    void cancel(tcp_timer k, tcp_actions& out) noexcept;
    [[nodiscard]] bool armed(tcp_timer k) const noexcept { return _timer_at[static_cast<size_t>(k)] != unarmed; }
    void finish(tcp_close_reason why, tcp_actions& out) noexcept;
    void send_reset(tcp_actions& out) noexcept;
    void enter_time_wait(uint64_t now, tcp_actions& out) noexcept;
    [[nodiscard]] uint16_t window_field() const noexcept;
    [[nodiscard]] bool fin_sent() const noexcept { return _fin_queued && _snd_max == _snd_end + 1; }
    [[nodiscard]] uint32_t flight() const noexcept { return _snd_nxt - _snd_una; }

    const tcp_params* _p = nullptr;
    tcp_tuple _tuple;
    tcp_state _state = tcp_state::closed;

    // Send side. Data occupies [iss + 1, _snd_end); the FIN, once queued, _snd_end.
    uint32_t _snd_una = 0;
    uint32_t _snd_nxt = 0;
    uint32_t _snd_max = 0; // highest sequence sent, probe byte included
    uint32_t _snd_end = 0;
    uint32_t _snd_wnd = 0;
    uint32_t _snd_wl1 = 0; // seq and ack of the segment that last set _snd_wnd
    uint32_t _snd_wl2 = 0;
    uint64_t _una_off = 0;
    uint32_t _cwnd = 0;
    uint32_t _ssthresh = 0;
    uint32_t _recover = 0; // NewReno: _snd_max when recovery began
    uint16_t _mss = 0;
    uint8_t _snd_wscale = 0;
    uint8_t _rcv_wscale = 0;
    uint8_t _dupacks = 0;
    bool _in_recovery = false;
    bool _fin_queued = false;
    bool _probing = false; // the byte past the zero window is out

    // Receive side.
    uint32_t _rcv_nxt = 0;
    uint32_t _rcv_space = 0; // buffer left; the window we offer
    uint32_t _rcv_adv = 0;   // right edge last advertised
    uint8_t _segs_unacked = 0;
    bool _ack_now = false;

    // RFC 6298 state, in ticks.
    uint64_t _srtt = 0;
    uint64_t _rttvar = 0;
    uint64_t _rto = 0;
    uint64_t _persist = 0; // the probe interval, backing off as the RTO
    uint32_t _rtt_seq = 0; // timed segment's end; valid while _rtt_at != unarmed
    uint64_t _rtt_at = unarmed;
    uint32_t _retries = 0;

    std::array<uint64_t, tcp_timer_kinds> _timer_at{unarmed, unarmed, unarmed, unarmed};
    tcp_conn_stats _stats;
};

} // namespace ringcast
