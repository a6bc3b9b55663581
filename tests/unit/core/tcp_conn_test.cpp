// TCP-lite's state machine as scripted exchanges: a fake peer's segments in,
// the connection's actions checked field by field. Time is an argument in
// milliseconds (hz 1000), so every timer is stepped by hand.
#include <ringcast/core/tcp_conn.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace ringcast {
namespace {

using op = tcp_timer_request::op;

constexpr tcp_tuple default_tuple{
    .peer_ip = 0xC0000242, .local_ip = 0xC0000201, .peer_port = 40001, .local_port = 7700};
constexpr syn_cookie_secret secret{0x1111222233334444ULL, 0x5555666677778888ULL};
constexpr uint32_t default_irs = 1000;  // the peer's ISN
constexpr uint32_t default_counter = 9; // the SYN cookie clock
constexpr uint32_t max_age = 2;         // cookie counter steps accepted
constexpr uint16_t peer_wnd = 512;      // the peer's window field, scaled by its shift

struct syn_options {
    uint16_t mss = 1460;
    bool wscale = true;
    uint8_t shift = 7;
};

class tcp_conn_test : public ::testing::Test {
protected:
    // The peer: its 4-tuple, its ISN and the cookie clock its SYN meets.
    tcp_tuple tuple = default_tuple;
    uint32_t irs = default_irs;
    uint32_t counter = default_counter;
    tcp_config cfg;
    tcp_params p;
    tcp_conn c;
    tcp_actions out;
    tcp_header syn_ack;
    uint32_t iss = 0;
    uint64_t now = 0;
    std::deque<std::vector<std::byte>> payloads; // keep each segment's bytes alive

    // A segment from the peer; `len` payload bytes, each the low byte of its sequence number.
    tcp_segment_view seg(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len = 0,
                         uint16_t window = peer_wnd) {
        auto& b = payloads.emplace_back(len);
        for (uint32_t i = 0; i < len; ++i) {
            b[i] = std::byte(static_cast<uint8_t>(seq + i));
        }
        tcp_segment_view v;
        v.hdr.src_port = tuple.peer_port;
        v.hdr.dst_port = tuple.local_port;
        v.hdr.seq = seq;
        v.hdr.ack = ack;
        v.hdr.flags = flags;
        v.hdr.window = window;
        v.header_len = tcp_hdr_len;
        v.payload = b;
        return v;
    }

    tcp_segment_view syn(const syn_options& o) {
        tcp_segment_view v = seg(irs, 0, tcp_flags::syn, 0, 64240);
        v.hdr.mss = o.mss;
        v.hdr.has_wscale = o.wscale;
        v.hdr.wscale = o.shift;
        return v;
    }

    // SYN, SYN-ACK, ACK: the connection established at `now`.
    void handshake(const syn_options& o = {}) {
        p = make_tcp_params(cfg);
        syn_ack = syn_ack_for(p, syn(o), tuple, secret, counter);
        iss = syn_ack.seq;
        const tcp_segment_view ack = seg(irs + 1, iss + 1, tcp_flags::ack);
        const auto fields = accept_cookie(ack, tuple, secret, counter, max_age);
        ASSERT_TRUE(fields.has_value());
        out.clear();
        c.open(p, tuple, ack, *fields, now, out);
        ASSERT_EQ(c.state(), tcp_state::established);
        ASSERT_TRUE(out.established);
        out.clear();
    }

    // The peer's next in-order sequence number and our first unsent one.
    [[nodiscard]] uint32_t peer_seq() const { return c.rcv_nxt(); }

    void deliver(const tcp_segment_view& v) {
        out.clear();
        c.on_segment(v, now, out);
    }

    void fire(tcp_timer k) {
        ASSERT_EQ(out.timer(k).what, op::arm) << "no timer armed to fire";
        now = out.timer(k).at;
        out.clear();
        c.on_timer(k, now, out);
    }

    void ack_from_peer(uint32_t ack, uint16_t window = peer_wnd) {
        deliver(seg(peer_seq(), ack, tcp_flags::ack, 0, window));
    }

    [[nodiscard]] const tcp_out_segment& only_segment() const {
        EXPECT_EQ(out.n_segments, 1u);
        return out.segments[0];
    }
};

TEST_F(tcp_conn_test, handshake_with_window_scale_echoes_it_and_honours_mss) {
    handshake({.mss = 1460, .wscale = true, .shift = 7});
    EXPECT_EQ(syn_ack.flags, tcp_flags::syn | tcp_flags::ack);
    EXPECT_EQ(syn_ack.ack, irs + 1);
    EXPECT_EQ(syn_ack.mss, cfg.mss);
    EXPECT_TRUE(syn_ack.has_wscale);
    EXPECT_EQ(syn_ack.wscale, 3) << "the least shift that reaches rcv_buf 256 KiB";
    EXPECT_EQ(syn_ack.window, 65535) << "a SYN's window is not scaled";
    EXPECT_EQ(c.snd_wscale(), 7);
    EXPECT_EQ(c.rcv_wscale(), 3);
    EXPECT_EQ(c.snd_wnd(), uint32_t{peer_wnd} << 7);
    EXPECT_EQ(c.mss(), 1460);
    EXPECT_EQ(c.rcv_nxt(), irs + 1);
    EXPECT_EQ(c.snd_una(), iss + 1);
    EXPECT_EQ(out.n_segments, 0u) << "nothing owed for a bare ACK";
    // Our windows are scaled from now on: 256 KiB >> 3.
    ASSERT_EQ(c.send(10), 10u);
    c.poll_send(now, out);
    EXPECT_EQ(only_segment().hdr.window, 32768);
}

TEST_F(tcp_conn_test, handshake_without_window_scale_scales_neither_way) {
    handshake({.mss = 1460, .wscale = false});
    EXPECT_FALSE(syn_ack.has_wscale) << "echoed only when the SYN carried it";
    EXPECT_EQ(c.snd_wscale(), 0);
    EXPECT_EQ(c.rcv_wscale(), 0);
    EXPECT_EQ(c.snd_wnd(), peer_wnd);
    ASSERT_EQ(c.send(10), 10u);
    c.poll_send(now, out);
    EXPECT_EQ(only_segment().hdr.window, 65535) << "256 KiB of room, capped by the 16-bit field";
}

TEST_F(tcp_conn_test, segments_never_exceed_the_peers_mss) {
    handshake({.mss = 536});
    EXPECT_EQ(c.mss(), 536);
    ASSERT_EQ(c.send(2000), 2000u);
    c.poll_send(now, out);
    ASSERT_EQ(out.n_segments, 4u);
    const uint32_t lens[] = {536, 536, 536, 392};
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(out.segments[i].data_len, lens[i]);
        EXPECT_EQ(out.segments[i].data_off, uint64_t{536} * i);
        EXPECT_EQ(out.segments[i].hdr.seq, iss + 1 + 536 * i);
        EXPECT_EQ(out.segments[i].hdr.ack, irs + 1);
        EXPECT_TRUE(out.segments[i].hdr.has(tcp_flags::ack));
    }
    EXPECT_TRUE(out.segments[3].hdr.has(tcp_flags::psh)) << "the last of what was queued";
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::arm);
    EXPECT_EQ(out.timer(tcp_timer::rto).at, now + 1000) << "initial RTO 1 s";
}

TEST_F(tcp_conn_test, a_final_ack_without_a_valid_cookie_gets_a_reset) {
    p = make_tcp_params(cfg);
    const tcp_header sa = syn_ack_for(p, syn({}), tuple, secret, counter);
    const tcp_segment_view forged = seg(irs + 1, sa.seq + 2, tcp_flags::ack);
    EXPECT_FALSE(accept_cookie(forged, tuple, secret, counter, max_age).has_value());
    EXPECT_FALSE(accept_cookie(seg(irs + 1, sa.seq + 1, tcp_flags::ack | tcp_flags::rst), tuple, secret,
                               counter, max_age)
                     .has_value());
    const auto rst = reset_for(forged);
    ASSERT_TRUE(rst.has_value());
    EXPECT_EQ(rst->flags, tcp_flags::rst);
    EXPECT_EQ(rst->seq, sa.seq + 2) << "seq = the segment's ack";
    EXPECT_EQ(rst->src_port, tuple.local_port);
    // Without ACK: seq 0, ack covers the segment.
    const auto rst2 = reset_for(seg(5000, 0, tcp_flags::syn));
    ASSERT_TRUE(rst2.has_value());
    EXPECT_EQ(rst2->flags, tcp_flags::rst | tcp_flags::ack);
    EXPECT_EQ(rst2->ack, 5001u);
    EXPECT_FALSE(reset_for(seg(5000, 0, tcp_flags::rst)).has_value()) << "a RST is never answered";
}

TEST_F(tcp_conn_test, an_old_or_foreign_cookie_is_refused) {
    p = make_tcp_params(cfg);
    const tcp_header sa = syn_ack_for(p, syn({}), tuple, secret, counter);
    const tcp_segment_view ack = seg(irs + 1, sa.seq + 1, tcp_flags::ack);
    EXPECT_TRUE(accept_cookie(ack, tuple, secret, counter + max_age, max_age).has_value())
        << "as old as allowed";
    EXPECT_FALSE(accept_cookie(ack, tuple, secret, counter + max_age + 1, max_age).has_value()) << "too old";
    EXPECT_FALSE(accept_cookie(ack, tuple, secret, counter - 1, max_age).has_value()) << "from the future";
    tcp_tuple other = tuple;
    other.peer_port += 1;
    EXPECT_FALSE(accept_cookie(ack, other, secret, counter, max_age).has_value()) << "another peer's";
    EXPECT_FALSE(accept_cookie(ack, tuple, syn_cookie_secret{1, 2}, counter, max_age).has_value())
        << "another secret's";
    EXPECT_FALSE(
        accept_cookie(seg(irs + 2, sa.seq + 1, tcp_flags::ack), tuple, secret, counter, max_age).has_value())
        << "another ISN";
    EXPECT_FALSE(accept_cookie(seg(irs + 1, sa.seq + 1, tcp_flags::ack | tcp_flags::syn), tuple, secret,
                               counter, max_age)
                     .has_value())
        << "a SYN is no final ACK";
    EXPECT_FALSE(
        accept_cookie(seg(irs + 1, sa.seq + 1, tcp_flags::psh), tuple, secret, counter, max_age).has_value())
        << "without ACK";
}

TEST_F(tcp_conn_test, the_peers_mss_caps_every_segment_whatever_its_syn_offered) {
    struct mss_case {
        uint16_t ours;
        uint16_t offered; // 0: no MSS option
        uint16_t sent;
    };
    // No option means 536 (RFC 9293 §3.7.1); the cookie keeps the largest
    // table entry not above the offer; never more than ours.
    for (const auto m : {mss_case{1460, 0, 536}, mss_case{1460, 1400, 1220}, mss_case{1460, 1460, 1460},
                         mss_case{1460, 9000, 1460}, mss_case{1000, 1460, 1000}}) {
        SCOPED_TRACE(m.offered);
        c = tcp_conn{};
        cfg.mss = m.ours;
        ASSERT_NO_FATAL_FAILURE(handshake({.mss = m.offered}));
        EXPECT_EQ(syn_ack.mss, m.ours) << "the SYN-ACK offers ours, whatever the peer's";
        EXPECT_EQ(c.mss(), m.sent);
        ASSERT_EQ(c.send(4000), 4000u);
        c.poll_send(now, out);
        ASSERT_GE(out.n_segments, 3u);
        uint64_t off = 0;
        for (uint32_t i = 0; i < out.n_segments; ++i) {
            EXPECT_LE(out.segments[i].data_len, m.sent);
            EXPECT_EQ(out.segments[i].data_off, off);
            off += out.segments[i].data_len;
        }
        EXPECT_EQ(out.segments[0].data_len, m.sent) << "full-sized while there is more";
        EXPECT_EQ(off, 4000u);
    }
}

TEST_F(tcp_conn_test, the_final_ack_may_carry_data) {
    p = make_tcp_params(cfg);
    syn_ack = syn_ack_for(p, syn({}), tuple, secret, counter);
    const tcp_segment_view ack = seg(irs + 1, syn_ack.seq + 1, tcp_flags::ack | tcp_flags::psh, 100);
    const auto fields = accept_cookie(ack, tuple, secret, counter, max_age);
    ASSERT_TRUE(fields.has_value());
    c.open(p, tuple, ack, *fields, now, out);
    EXPECT_TRUE(out.established);
    EXPECT_EQ(out.deliver_off, 0u);
    EXPECT_EQ(out.deliver_len, 100u);
    EXPECT_EQ(c.rcv_nxt(), irs + 101);
}

TEST_F(tcp_conn_test, receives_in_order_data_across_segments_with_delayed_acks) {
    handshake();
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack, 1000));
    EXPECT_EQ(out.deliver_off, 0u);
    EXPECT_EQ(out.deliver_len, 1000u);
    EXPECT_EQ(out.n_segments, 0u) << "the first segment's ACK is delayed";
    EXPECT_EQ(out.timer(tcp_timer::delayed_ack).what, op::arm);
    EXPECT_EQ(out.timer(tcp_timer::delayed_ack).at, now + 40);
    deliver(seg(s0 + 1000, iss + 1, tcp_flags::ack, 500));
    EXPECT_EQ(out.deliver_len, 500u);
    ASSERT_EQ(out.n_segments, 1u) << "every second segment is ACKed at once";
    EXPECT_EQ(out.segments[0].hdr.ack, s0 + 1500);
    EXPECT_EQ(out.segments[0].data_len, 0u);
    EXPECT_EQ(out.timer(tcp_timer::delayed_ack).what, op::cancel);
    EXPECT_EQ(c.rcv_wnd(), cfg.rcv_buf - 1500) << "delivered bytes fill the buffer until consumed";

    // One more, then the delayed ACK timer sends its ACK.
    deliver(seg(s0 + 1500, iss + 1, tcp_flags::ack, 10));
    EXPECT_EQ(out.n_segments, 0u);
    fire(tcp_timer::delayed_ack);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 1510);
}

TEST_F(tcp_conn_test, a_retransmission_overlapping_new_data_delivers_only_the_new_part) {
    handshake();
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack, 100));
    deliver(seg(s0 + 50, iss + 1, tcp_flags::ack, 100));
    EXPECT_EQ(out.deliver_off, 50u);
    EXPECT_EQ(out.deliver_len, 50u);
    EXPECT_EQ(c.rcv_nxt(), s0 + 150);
    // A segment wholly old: nothing delivered, the ACK repeated at once.
    deliver(seg(s0, iss + 1, tcp_flags::ack, 100));
    EXPECT_EQ(out.deliver_len, 0u);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 150);
}

TEST_F(tcp_conn_test, sends_data_across_segments_and_releases_it_on_ack) {
    handshake();
    ASSERT_EQ(c.send(5000), 5000u);
    EXPECT_EQ(c.queued(), 5000u);
    c.poll_send(now, out);
    ASSERT_EQ(out.n_segments, 4u);
    EXPECT_EQ(out.segments[3].data_off, 4380u);
    EXPECT_EQ(out.segments[3].data_len, 620u);
    now = 30;
    ack_from_peer(iss + 1 + 2920);
    EXPECT_EQ(out.acked, 2920u);
    EXPECT_EQ(c.una_offset(), 2920u);
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::arm) << "restarted for what is still out";
    now = 40;
    ack_from_peer(iss + 1 + 5000);
    EXPECT_EQ(out.acked, 2080u);
    EXPECT_EQ(c.queued(), 0u);
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::cancel) << "nothing outstanding";
    // More data continues the stream offsets.
    ASSERT_EQ(c.send(10), 10u);
    out.clear();
    c.poll_send(now, out);
    EXPECT_EQ(only_segment().data_off, 5000u);
}

TEST_F(tcp_conn_test, segments_are_bounded_by_the_peers_window_and_partial_acks_release_bytes) {
    handshake({.wscale = false}); // the peer's window: 512 bytes, below MSS and cwnd
    ASSERT_EQ(c.send(2000), 2000u);
    c.poll_send(now, out);
    EXPECT_EQ(only_segment().data_len, 512u);
    EXPECT_EQ(c.snd_nxt(), iss + 513);
    out.clear();
    c.poll_send(now, out);
    EXPECT_EQ(out.n_segments, 0u) << "the window is full";
    // An ACK in the middle of the segment: 100 bytes released, the edge moves by 100.
    ack_from_peer(iss + 101);
    EXPECT_EQ(out.acked, 100u);
    EXPECT_EQ(c.una_offset(), 100u);
    EXPECT_EQ(c.queued(), 1900u);
    EXPECT_EQ(only_segment().data_off, 512u);
    EXPECT_EQ(only_segment().data_len, 100u);
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::arm) << "restarted: data still out";
    // The window opens wide: the rest at once, MSS-sized.
    ack_from_peer(iss + 613, 4000);
    EXPECT_EQ(out.acked, 512u);
    ASSERT_EQ(out.n_segments, 1u);
    EXPECT_EQ(out.segments[0].hdr.seq, iss + 613);
    EXPECT_EQ(out.segments[0].data_off, 612u);
    EXPECT_EQ(out.segments[0].data_len, 1388u);
    EXPECT_TRUE(out.segments[0].hdr.has(tcp_flags::psh));
}

TEST_F(tcp_conn_test, segments_are_bounded_by_the_congestion_window) {
    handshake(); // the peer's window 64 KiB, cwnd 10 segments
    ASSERT_EQ(c.send(30 * 1460), 30u * 1460);
    uint32_t sent = 0;
    do {
        out.clear();
        c.poll_send(now, out);
        sent += out.n_segments;
    } while (out.more);
    EXPECT_EQ(sent, cfg.initial_cwnd);
    EXPECT_EQ(c.snd_nxt() - c.snd_una(), c.cwnd());
    // Slow start: each ACK of a full segment lets two more go.
    ack_from_peer(iss + 1 + 1460);
    EXPECT_EQ(c.cwnd(), 11u * 1460);
    EXPECT_EQ(out.n_segments, 2u);
}

TEST_F(tcp_conn_test, a_segment_acknowledging_what_we_never_sent_is_dropped_and_answered) {
    handshake();
    ASSERT_EQ(c.send(100), 100u);
    c.poll_send(now, out);
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1 + 5000, tcp_flags::ack, 200));
    EXPECT_EQ(out.deliver_len, 0u) << "its data is not taken (RFC 5961 §5.2)";
    EXPECT_EQ(out.acked, 0u);
    EXPECT_EQ(c.rcv_nxt(), s0);
    EXPECT_EQ(c.snd_una(), iss + 1);
    EXPECT_EQ(only_segment().hdr.ack, s0) << "an ACK with our numbers";
    EXPECT_EQ(only_segment().data_len, 0u);
    // The genuine segment is taken.
    deliver(seg(s0, iss + 101, tcp_flags::ack, 200));
    EXPECT_EQ(out.deliver_len, 200u);
    EXPECT_EQ(out.acked, 100u);
}

TEST_F(tcp_conn_test, an_rtt_sample_sets_the_rto_within_its_floor) {
    handshake();
    ASSERT_EQ(c.send(100), 100u);
    c.poll_send(now, out);
    now = 50;
    ack_from_peer(iss + 101);
    // SRTT 50, RTTVAR 25: 50 + 4 * 25 = 150, below the 200 ms floor.
    EXPECT_EQ(c.rto(), 200u);
    ASSERT_EQ(c.send(100), 100u);
    out.clear();
    c.poll_send(now, out);
    now += 400;
    ack_from_peer(iss + 201);
    // RTTVAR (3 * 25 + 350) / 4 = 106, SRTT (7 * 50 + 400) / 8 = 93: 93 + 424.
    EXPECT_EQ(c.rto(), 517u);
}

TEST_F(tcp_conn_test, out_of_order_data_is_dropped_and_answered_with_a_duplicate_ack) {
    handshake();
    const uint32_t s0 = peer_seq();
    deliver(seg(s0 + 1000, iss + 1, tcp_flags::ack, 500));
    EXPECT_EQ(out.deliver_len, 0u);
    EXPECT_EQ(only_segment().hdr.ack, s0) << "where the hole is";
    EXPECT_EQ(c.stats().out_of_order, 1u);
    EXPECT_TRUE(out.beyond_hole) << "the caller may keep it";
    EXPECT_EQ(c.rcv_nxt(), s0);
    // The hole filled, then the rest again: each in order.
    deliver(seg(s0, iss + 1, tcp_flags::ack, 1000));
    EXPECT_EQ(out.deliver_len, 1000u);
    EXPECT_FALSE(out.beyond_hole);
    deliver(seg(s0 + 1000, iss + 1, tcp_flags::ack, 500));
    EXPECT_EQ(out.deliver_len, 500u);
    EXPECT_EQ(c.rcv_nxt(), s0 + 1500);
}

TEST_F(tcp_conn_test, three_duplicate_acks_retransmit_the_first_unacknowledged_segment) {
    handshake();
    ASSERT_EQ(c.send(5 * 1460), 5u * 1460);
    c.poll_send(now, out);
    ASSERT_EQ(out.n_segments, 5u);
    ack_from_peer(iss + 1 + 1460); // the first arrived; the second was lost
    EXPECT_EQ(out.acked, 1460u);
    for (int i = 0; i < 2; ++i) {
        ack_from_peer(iss + 1 + 1460);
        EXPECT_EQ(out.n_segments, 0u) << "duplicate " << i + 1;
    }
    ack_from_peer(iss + 1 + 1460);
    const tcp_out_segment& r = only_segment();
    EXPECT_EQ(r.hdr.seq, iss + 1 + 1460);
    EXPECT_EQ(r.data_off, 1460u);
    EXPECT_EQ(r.data_len, 1460u);
    EXPECT_EQ(c.stats().fast_retransmits, 1u);
    EXPECT_EQ(c.stats().retransmits, 1u);
    // More duplicates inflate the window but resend nothing again.
    ack_from_peer(iss + 1 + 1460);
    EXPECT_EQ(c.stats().fast_retransmits, 1u);
    // A partial ACK (the hole filled up to the fourth) resends the next hole.
    ack_from_peer(iss + 1 + 3 * 1460);
    EXPECT_EQ(out.acked, 2u * 1460);
    ASSERT_GE(out.n_segments, 1u);
    EXPECT_EQ(out.segments[0].hdr.seq, iss + 1 + 3 * 1460);
    // The full ACK ends recovery.
    ack_from_peer(iss + 1 + 5 * 1460);
    EXPECT_EQ(c.queued(), 0u);
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::cancel);
}

TEST_F(tcp_conn_test, newreno_recovery_ends_on_the_ack_of_everything_sent_before_it) {
    handshake();
    ASSERT_EQ(c.send(4 * 1460), 4u * 1460);
    c.poll_send(now, out);
    ASSERT_EQ(out.n_segments, 4u);
    // The first is lost; the other three each draw a duplicate ACK.
    for (int i = 0; i < 3; ++i) {
        ack_from_peer(iss + 1);
    }
    EXPECT_EQ(only_segment().hdr.seq, iss + 1);
    EXPECT_EQ(c.stats().fast_retransmits, 1u);
    const uint32_t ssthresh = 2 * 1460; // half the flight of four
    EXPECT_EQ(c.cwnd(), ssthresh + 3 * 1460) << "inflated by the three that left the network";
    ack_from_peer(iss + 1);
    EXPECT_EQ(c.cwnd(), ssthresh + 4 * 1460);
    EXPECT_EQ(out.n_segments, 0u) << "nothing resent twice";
    // The inflated window lets new data go during recovery.
    ASSERT_EQ(c.send(2 * 1460), 2u * 1460);
    out.clear();
    c.poll_send(now, out);
    ASSERT_EQ(out.n_segments, 2u);
    EXPECT_EQ(out.segments[0].hdr.seq, iss + 1 + 4 * 1460);
    // The ACK of all four (the recovery point): recovery over, cwnd deflated to ssthresh.
    ack_from_peer(iss + 1 + 4 * 1460);
    EXPECT_EQ(out.acked, 4u * 1460);
    EXPECT_EQ(c.cwnd(), ssthresh);
    EXPECT_EQ(out.n_segments, 0u) << "a full ACK resends nothing";
    EXPECT_EQ(c.stats().retransmits, 1u);
    // Out of recovery, three new duplicates are a new loss: fast retransmit again.
    for (int i = 0; i < 3; ++i) {
        ack_from_peer(iss + 1 + 4 * 1460);
    }
    EXPECT_EQ(c.stats().fast_retransmits, 2u);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1 + 4 * 1460);
    EXPECT_EQ(only_segment().data_off, 4u * 1460);
}

TEST_F(tcp_conn_test, a_window_update_is_not_a_duplicate_ack) {
    handshake();
    ASSERT_EQ(c.send(3 * 1460), 3u * 1460);
    c.poll_send(now, out);
    for (uint16_t w = 600; w < 603; ++w) {
        ack_from_peer(iss + 1, w); // same ack, each a new window
    }
    EXPECT_EQ(c.stats().fast_retransmits, 0u);
}

TEST_F(tcp_conn_test, data_both_ways_each_segment_carrying_the_other_sides_ack) {
    handshake();
    const uint32_t s0 = peer_seq();
    ASSERT_EQ(c.send(300), 300u);
    c.poll_send(now, out);
    ASSERT_EQ(only_segment().data_len, 300u);
    // The peer's reply carries 200 bytes and ACKs 100 of ours.
    deliver(seg(s0, iss + 101, tcp_flags::ack, 200));
    EXPECT_EQ(out.acked, 100u);
    EXPECT_EQ(out.deliver_len, 200u);
    // Our next data carries the ACK of those 200 bytes; no bare ACK besides.
    ASSERT_EQ(c.send(50), 50u);
    out.clear();
    c.poll_send(now, out);
    const tcp_out_segment& d = only_segment();
    EXPECT_EQ(d.hdr.seq, iss + 301);
    EXPECT_EQ(d.hdr.ack, s0 + 200);
    EXPECT_EQ(d.data_off, 300u);
    EXPECT_EQ(d.data_len, 50u);
    EXPECT_EQ(out.timer(tcp_timer::delayed_ack).what, op::cancel) << "the ACK it owed went with the data";
}

TEST_F(tcp_conn_test, a_full_actions_array_says_there_is_more) {
    handshake();
    ASSERT_EQ(c.send(20 * 1460), 20u * 1460);
    EXPECT_TRUE(c.poll_send(now, out));
    EXPECT_TRUE(out.more);
    EXPECT_EQ(out.n_segments, tcp_actions::max_segments);
    out.clear();
    EXPECT_FALSE(c.poll_send(now, out));
    EXPECT_EQ(out.n_segments, 2u) << "the initial congestion window: 10 segments";
    EXPECT_EQ(out.segments[0].data_off, 8u * 1460);
}

TEST_F(tcp_conn_test, a_bare_fin_is_taken_into_a_zero_window) {
    cfg.rcv_buf = 1000;
    handshake({.wscale = false});
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack, 1000));
    EXPECT_EQ(c.rcv_wnd(), 0u);
    deliver(seg(s0 + 1000, iss + 1, tcp_flags::ack | tcp_flags::fin));
    EXPECT_TRUE(out.peer_fin);
    EXPECT_EQ(c.state(), tcp_state::close_wait);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 1001);
}

// A peer that loses segments: every byte still arrives, by fast retransmit
// and the RTO, with the timers driven only by what the actions asked for.
TEST_F(tcp_conn_test, every_byte_arrives_over_a_lossy_path) {
    handshake();
    std::array<uint64_t, tcp_timer_kinds> timers;
    timers.fill(UINT64_MAX);
    uint32_t peer_rcv = iss + 1; // what the peer has in order
    uint32_t rng = 7;
    const auto lost = [&] {
        rng = rng * 1664525u + 1013904223u;
        return (rng >> 24) < 40; // about one in six
    };
    const auto track = [&] {
        for (size_t k = 0; k < tcp_timer_kinds; ++k) {
            if (out.timers[k].what == op::arm) {
                timers[k] = out.timers[k].at;
            } else if (out.timers[k].what == op::cancel) {
                timers[k] = UINT64_MAX;
            }
        }
    };
    constexpr uint32_t total = 300'000;
    uint32_t queued = 0;
    std::deque<uint32_t> acks; // the peer's ACKs in flight back to us
    for (int step = 0; step < 100'000 && c.una_offset() < total; ++step) {
        if (queued < total) {
            queued += c.send(total - queued);
        }
        out.clear();
        c.poll_send(now, out);
        track();
        for (uint32_t i = 0; i < out.n_segments; ++i) {
            const tcp_out_segment& s = out.segments[i];
            if (lost()) {
                continue;
            }
            // In order (or overlapping what it has): taken; else a duplicate ACK.
            if (seq_leq(s.hdr.seq, peer_rcv) && seq_gt(s.hdr.seq + s.data_len, peer_rcv)) {
                peer_rcv = s.hdr.seq + s.data_len;
            }
            acks.push_back(peer_rcv);
        }
        if (!acks.empty()) {
            now += 1;
            const uint32_t a = acks.front();
            acks.pop_front();
            if (!lost()) {
                ack_from_peer(a, 0xffff);
                track();
            }
            continue;
        }
        // Nothing in flight back: the earliest timer fires.
        const auto next = std::min_element(timers.begin(), timers.end());
        ASSERT_NE(*next, UINT64_MAX) << "stuck with nothing armed at offset " << c.una_offset();
        const auto kind = static_cast<tcp_timer>(next - timers.begin());
        now = std::max(now, *next);
        *next = UINT64_MAX;
        out.clear();
        c.on_timer(kind, now, out);
        ASSERT_FALSE(out.closed) << "gave up at offset " << c.una_offset();
        track();
        for (uint32_t i = 0; i < out.n_segments; ++i) {
            const tcp_out_segment& s = out.segments[i];
            if (!lost() && seq_leq(s.hdr.seq, peer_rcv) && seq_gt(s.hdr.seq + s.data_len, peer_rcv)) {
                peer_rcv = s.hdr.seq + s.data_len;
            }
            acks.push_back(peer_rcv);
        }
    }
    EXPECT_EQ(c.una_offset(), total);
    EXPECT_EQ(peer_rcv, iss + 1 + total);
    EXPECT_GT(c.stats().retransmits, 0u);
    EXPECT_GT(c.stats().fast_retransmits, 0u);
}

// Arbitrary segments near the connection's numbers: whatever arrives, what
// comes out stays inside what was queued and what was received.
TEST_F(tcp_conn_test, arbitrary_segments_keep_the_actions_in_bounds) {
    handshake();
    uint32_t rng = 99;
    const auto next = [&](uint32_t n) {
        rng = rng * 1664525u + 1013904223u;
        return (rng >> 8) % n;
    };
    uint64_t queued_total = 0;
    int steps = 0;
    for (int i = 0; i < 20'000 && c.state() != tcp_state::closed; ++i) {
        queued_total += c.send(next(3000));
        const uint32_t seq = c.rcv_nxt() + next(8000) - 4000;
        const uint32_t ack = c.snd_una() + next(8000) - 2000;
        const auto flags = static_cast<uint8_t>(next(64) & (next(4) == 0 ? 0x3f : 0x18));
        now += next(300);
        const tcp_segment_view v = seg(seq, ack, flags, next(4) == 0 ? next(2000) : 0,
                                       static_cast<uint16_t>(next(4) == 0 ? 0 : next(65536)));
        deliver(v);
        if (next(8) == 0) {
            const auto k = static_cast<tcp_timer>(next(tcp_timer_kinds));
            out.clear();
            c.on_timer(k, now, out);
        }
        ASSERT_LE(out.n_segments, tcp_actions::max_segments);
        ASSERT_LE(uint64_t{out.deliver_off} + out.deliver_len, v.payload.size());
        for (uint32_t j = 0; j < out.n_segments; ++j) {
            const tcp_out_segment& s = out.segments[j];
            ASSERT_LE(s.data_off + s.data_len, queued_total);
            ASSERT_LE(s.data_len, c.mss());
        }
        ASSERT_LE(c.una_offset(), queued_total);
        payloads.clear();
        steps = i;
    }
    EXPECT_GT(steps, 1000) << "a stray RST or RTO ended it too early to mean much";
    EXPECT_GT(c.una_offset(), 0u);
}

TEST_F(tcp_conn_test, rto_backs_off_and_ends_in_a_reset_after_max_retries) {
    cfg.max_retries = 3;
    handshake();
    ASSERT_EQ(c.send(100), 100u);
    c.poll_send(now, out);
    EXPECT_EQ(out.timer(tcp_timer::rto).at, 1000u);
    // A stale expiry (before the deadline) does nothing.
    tcp_actions early;
    c.on_timer(tcp_timer::rto, 999, early);
    EXPECT_EQ(early.n_segments, 0u);
    uint64_t expect_at = 1000;
    for (uint64_t backoff = 2000; backoff <= 8000; backoff *= 2) {
        fire(tcp_timer::rto);
        EXPECT_EQ(now, expect_at);
        const tcp_out_segment& r = only_segment();
        EXPECT_EQ(r.hdr.seq, iss + 1);
        EXPECT_EQ(r.data_len, 100u);
        EXPECT_EQ(c.rto(), backoff);
        EXPECT_EQ(out.timer(tcp_timer::rto).at, now + backoff);
        expect_at = now + backoff;
    }
    EXPECT_EQ(c.stats().timeouts, 3u);
    fire(tcp_timer::rto); // the fourth expiry: more than max_retries
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::aborted);
    EXPECT_EQ(c.state(), tcp_state::closed);
    EXPECT_TRUE(only_segment().hdr.has(tcp_flags::rst));
}

TEST_F(tcp_conn_test, the_rto_backoff_stops_at_rto_max) {
    cfg.rto_max_ms = 3000;
    handshake();
    ASSERT_EQ(c.send(100), 100u);
    c.poll_send(now, out);
    for (const uint64_t rto : {2000u, 3000u, 3000u}) {
        fire(tcp_timer::rto);
        EXPECT_EQ(c.rto(), rto);
        EXPECT_EQ(out.timer(tcp_timer::rto).at, now + rto);
    }
    EXPECT_EQ(c.stats().retransmits, 3u);
}

TEST_F(tcp_conn_test, after_a_timeout_an_ack_restores_the_rto_and_the_rest_follows) {
    handshake();
    ASSERT_EQ(c.send(3 * 1460), 3u * 1460);
    c.poll_send(now, out);
    fire(tcp_timer::rto);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1);
    EXPECT_EQ(c.cwnd(), 1460u) << "one segment after a timeout";
    ack_from_peer(iss + 1 + 1460);
    EXPECT_EQ(c.rto(), 1000u) << "no sample yet: back to the initial RTO";
    // Go-back-N: the next two segments again, as the window allows.
    ASSERT_GE(out.n_segments, 1u);
    EXPECT_EQ(out.segments[0].hdr.seq, iss + 1 + 1460);
    EXPECT_GE(c.stats().retransmits, 2u);
}

TEST_F(tcp_conn_test, a_zero_window_is_probed_with_one_byte) {
    handshake();
    ack_from_peer(iss + 1, 0); // the peer's window closes
    EXPECT_EQ(c.snd_wnd(), 0u);
    ASSERT_EQ(c.send(100), 100u);
    out.clear();
    c.poll_send(now, out);
    EXPECT_EQ(out.n_segments, 0u);
    EXPECT_EQ(out.timer(tcp_timer::zero_window_probe).what, op::arm);
    EXPECT_EQ(out.timer(tcp_timer::zero_window_probe).at, now + 1000);
    fire(tcp_timer::zero_window_probe);
    const tcp_out_segment probe = only_segment();
    EXPECT_EQ(probe.data_len, 1u) << "Linux ignores empty probes";
    EXPECT_EQ(probe.hdr.seq, iss + 1);
    EXPECT_EQ(probe.data_off, 0u);
    EXPECT_EQ(c.stats().zero_window_probes, 1u);
    const tcp_timer_request next_probe = out.timer(tcp_timer::zero_window_probe);
    EXPECT_EQ(next_probe.at, now + 2000) << "backed off";
    // Still closed: the next probe comes later, and no duplicate ACKs counted.
    ack_from_peer(iss + 1, 0);
    EXPECT_EQ(out.n_segments, 0u);
    out.timers[static_cast<size_t>(tcp_timer::zero_window_probe)] = next_probe; // the caller's wheel keeps it
    fire(tcp_timer::zero_window_probe);
    EXPECT_EQ(only_segment().data_len, 1u);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1) << "the same byte again";
    EXPECT_EQ(out.timer(tcp_timer::zero_window_probe).at, now + 4000);
    EXPECT_EQ(c.stats().fast_retransmits, 0u);
    // The peer takes the byte and opens: the rest goes at once.
    ack_from_peer(iss + 2, 100);
    EXPECT_EQ(out.acked, 1u);
    EXPECT_EQ(out.timer(tcp_timer::zero_window_probe).what, op::cancel);
    ASSERT_EQ(out.n_segments, 1u);
    EXPECT_EQ(out.segments[0].hdr.seq, iss + 2);
    EXPECT_EQ(out.segments[0].data_off, 1u);
    EXPECT_EQ(out.segments[0].data_len, 99u);
}

TEST_F(tcp_conn_test, a_window_update_without_the_probe_byte_sends_it_as_data) {
    handshake();
    ack_from_peer(iss + 1, 0);
    ASSERT_EQ(c.send(50), 50u);
    out.clear();
    c.poll_send(now, out);
    fire(tcp_timer::zero_window_probe);
    ack_from_peer(iss + 1, 100); // the window opens; the probe byte was not kept
    ASSERT_EQ(out.n_segments, 1u);
    EXPECT_EQ(out.segments[0].hdr.seq, iss + 1);
    EXPECT_EQ(out.segments[0].data_len, 50u);
}

TEST_F(tcp_conn_test, unanswered_probes_end_in_a_reset) {
    cfg.max_retries = 2;
    handshake();
    ack_from_peer(iss + 1, 0);
    ASSERT_EQ(c.send(50), 50u);
    out.clear();
    c.poll_send(now, out);
    fire(tcp_timer::zero_window_probe);
    fire(tcp_timer::zero_window_probe);
    EXPECT_FALSE(out.closed);
    fire(tcp_timer::zero_window_probe);
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::aborted);
    EXPECT_EQ(c.state(), tcp_state::closed);
    EXPECT_TRUE(only_segment().hdr.has(tcp_flags::rst));
    EXPECT_EQ(c.stats().zero_window_probes, 2u);
}

TEST_F(tcp_conn_test, zero_window_probes_back_off_as_the_rto_and_answered_ones_never_abort) {
    cfg.max_retries = 2;
    cfg.rto_max_ms = 10'000;
    handshake();
    ack_from_peer(iss + 1, 0);
    ASSERT_EQ(c.send(50), 50u);
    out.clear();
    c.poll_send(now, out);
    EXPECT_EQ(out.timer(tcp_timer::zero_window_probe).at, now + 1000) << "the first after one RTO";
    uint64_t interval = 1000;
    for (uint32_t i = 1; i <= 6; ++i) {
        fire(tcp_timer::zero_window_probe);
        const tcp_out_segment probe = only_segment();
        EXPECT_EQ(probe.hdr.seq, iss + 1);
        EXPECT_EQ(probe.data_off, 0u);
        EXPECT_EQ(probe.data_len, 1u);
        interval = std::min<uint64_t>(interval * 2, cfg.rto_max_ms);
        const tcp_timer_request next_probe = out.timer(tcp_timer::zero_window_probe);
        EXPECT_EQ(next_probe.at, now + interval) << "probe " << i;
        // The peer answers with its window still shut: alive, so more probes than max_retries.
        ack_from_peer(iss + 1, 0);
        EXPECT_FALSE(out.closed);
        EXPECT_EQ(out.n_segments, 0u);
        out.timers[static_cast<size_t>(tcp_timer::zero_window_probe)] = next_probe;
    }
    EXPECT_EQ(c.stats().zero_window_probes, 6u);
    EXPECT_EQ(c.stats().fast_retransmits, 0u) << "answers to probes are not duplicate ACKs";
    EXPECT_EQ(c.state(), tcp_state::established);
}

TEST_F(tcp_conn_test, our_receive_window_closes_and_reopens_as_the_reader_consumes) {
    cfg.rcv_buf = 4096;
    handshake({.wscale = false});
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack, 1460));
    deliver(seg(s0 + 1460, iss + 1, tcp_flags::ack, 1460));
    EXPECT_EQ(only_segment().hdr.window, 4096 - 2920);
    // More than the window: the part that fits is taken, and ACKed at once.
    deliver(seg(s0 + 2920, iss + 1, tcp_flags::ack, 1460));
    EXPECT_EQ(out.deliver_len, 1176u);
    EXPECT_EQ(only_segment().hdr.window, 0);
    EXPECT_EQ(c.rcv_wnd(), 0u);
    // The peer's own probe: refused, answered with the zero window.
    deliver(seg(s0 + 4096, iss + 1, tcp_flags::ack, 1));
    EXPECT_EQ(out.deliver_len, 0u);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 4096);
    EXPECT_EQ(only_segment().hdr.window, 0);
    // The reader frees a little: too little to announce (SWS avoidance).
    out.clear();
    c.consumed(100, now, out);
    EXPECT_EQ(out.n_segments, 0u);
    out.clear();
    c.consumed(2000, now, out);
    EXPECT_EQ(only_segment().hdr.window, 2100);
}

TEST_F(tcp_conn_test, the_send_queue_is_bounded) {
    cfg.snd_queue = 4000;
    handshake();
    EXPECT_EQ(c.send(3000), 3000u);
    EXPECT_EQ(c.send(3000), 1000u) << "what did not fit is the caller's slow-consumer policy";
    EXPECT_EQ(c.send(1), 0u);
    c.poll_send(now, out);
    ack_from_peer(iss + 1 + 1460);
    EXPECT_EQ(c.send(3000), 1460u);
}

TEST_F(tcp_conn_test, a_fin_from_the_peer_then_ours) {
    handshake();
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack | tcp_flags::fin, 10));
    EXPECT_EQ(out.deliver_len, 10u);
    EXPECT_TRUE(out.peer_fin);
    EXPECT_EQ(c.state(), tcp_state::close_wait);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 11) << "the FIN ACKed at once";
    // Half-closed: we may still send.
    ASSERT_EQ(c.send(20), 20u);
    out.clear();
    c.close(now, out);
    EXPECT_EQ(c.state(), tcp_state::last_ack);
    const tcp_out_segment& f = only_segment();
    EXPECT_EQ(f.data_len, 20u);
    EXPECT_TRUE(f.hdr.has(tcp_flags::fin)) << "the FIN rides on the last data";
    deliver(seg(s0 + 11, iss + 22, tcp_flags::ack));
    EXPECT_EQ(out.acked, 20u);
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::normal);
    EXPECT_EQ(c.state(), tcp_state::closed);
}

TEST_F(tcp_conn_test, our_fin_first_then_the_peers_and_time_wait_ends) {
    handshake();
    c.close(now, out);
    EXPECT_EQ(c.state(), tcp_state::fin_wait_1);
    const tcp_out_segment& f = only_segment();
    EXPECT_TRUE(f.hdr.has(tcp_flags::fin));
    EXPECT_EQ(f.hdr.seq, iss + 1);
    EXPECT_EQ(c.send(10), 0u) << "nothing after close";
    ack_from_peer(iss + 2);
    EXPECT_EQ(c.state(), tcp_state::fin_wait_2);
    EXPECT_EQ(out.timer(tcp_timer::time_wait).at, now + cfg.fin_wait_2_ms);
    // The peer still sends, then closes.
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 2, tcp_flags::ack, 5));
    EXPECT_EQ(out.deliver_len, 5u);
    deliver(seg(s0 + 5, iss + 2, tcp_flags::ack | tcp_flags::fin));
    EXPECT_EQ(c.state(), tcp_state::time_wait);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 6);
    EXPECT_EQ(out.timer(tcp_timer::time_wait).at, now + cfg.time_wait_ms);
    // The FIN again (our ACK lost): ACKed again, the wait restarted.
    now += 500;
    deliver(seg(s0 + 5, iss + 2, tcp_flags::ack | tcp_flags::fin));
    EXPECT_EQ(only_segment().hdr.ack, s0 + 6);
    EXPECT_EQ(out.timer(tcp_timer::time_wait).at, now + cfg.time_wait_ms);
    fire(tcp_timer::time_wait);
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::normal);
}

TEST_F(tcp_conn_test, our_fin_acked_with_the_peers_goes_straight_to_time_wait) {
    handshake();
    c.close(now, out);
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 2, tcp_flags::ack | tcp_flags::fin));
    EXPECT_TRUE(out.peer_fin);
    EXPECT_EQ(c.state(), tcp_state::time_wait);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 1);
    EXPECT_EQ(out.timer(tcp_timer::time_wait).at, now + cfg.time_wait_ms) << "not FIN_WAIT_2's bound";
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::cancel);
}

TEST_F(tcp_conn_test, simultaneous_close_goes_through_closing) {
    handshake();
    c.close(now, out);
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack | tcp_flags::fin)); // crosses our FIN
    EXPECT_EQ(c.state(), tcp_state::closing);
    EXPECT_TRUE(out.peer_fin);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 1) << "their FIN ACKed at once";
    EXPECT_FALSE(only_segment().hdr.has(tcp_flags::fin)) << "ours is not sent twice";
    ack_from_peer(iss + 2);
    EXPECT_EQ(c.state(), tcp_state::time_wait);
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::cancel);
    EXPECT_EQ(out.timer(tcp_timer::time_wait).at, now + cfg.time_wait_ms);
    fire(tcp_timer::time_wait);
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::normal);
}

TEST_F(tcp_conn_test, a_lost_fin_is_retransmitted_by_the_rto) {
    handshake();
    c.close(now, out);
    fire(tcp_timer::rto);
    const tcp_out_segment& f = only_segment();
    EXPECT_TRUE(f.hdr.has(tcp_flags::fin));
    EXPECT_EQ(f.hdr.seq, iss + 1);
    EXPECT_EQ(f.data_len, 0u);
}

TEST_F(tcp_conn_test, fin_wait_2_is_bounded_in_time) {
    handshake();
    c.close(now, out);
    ack_from_peer(iss + 2);
    fire(tcp_timer::time_wait);
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::aborted);
    EXPECT_TRUE(only_segment().hdr.has(tcp_flags::rst));
}

TEST_F(tcp_conn_test, a_reset_at_rcv_nxt_closes_elsewhere_in_the_window_it_is_challenged) {
    handshake();
    deliver(seg(peer_seq() + 100, 0, tcp_flags::rst));
    EXPECT_FALSE(out.closed);
    EXPECT_EQ(only_segment().hdr.ack, peer_seq()) << "the challenge ACK";
    EXPECT_EQ(c.stats().challenge_acks, 1u);
    deliver(seg(peer_seq() + 10'000'000, 0, tcp_flags::rst));
    EXPECT_EQ(out.n_segments, 0u) << "outside the window: dropped, never answered";
    deliver(seg(peer_seq(), 0, tcp_flags::rst));
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::reset_by_peer);
    EXPECT_EQ(out.n_segments, 0u);
}

TEST_F(tcp_conn_test, reset_for_answers_what_no_connection_wants_but_never_a_reset) {
    struct reset_case {
        uint32_t seq;
        uint32_t ack;
        uint8_t flags;
        uint32_t len;
        uint32_t want_seq;
        uint32_t want_ack;
        uint8_t want_flags;
    };
    namespace f = tcp_flags; // `syn` alone is the fixture's
    // With ACK: <SEQ=SEG.ACK><CTL=RST>; without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    for (const auto r : {reset_case{7000, 123456, f::ack, 0, 123456, 0, f::rst},
                         reset_case{7000, 123456, f::ack | f::psh, 100, 123456, 0, f::rst},
                         reset_case{7000, 0, f::syn, 0, 0, 7001, f::rst | f::ack},
                         reset_case{0xffffffff, 0, f::syn, 0, 0, 0, f::rst | f::ack},
                         reset_case{10, 0, f::fin | f::psh, 5, 0, 16, f::rst | f::ack},
                         reset_case{10, 0, 0, 5, 0, 15, f::rst | f::ack}}) {
        SCOPED_TRACE(r.seq);
        const auto h = reset_for(seg(r.seq, r.ack, r.flags, r.len));
        ASSERT_TRUE(h.has_value());
        EXPECT_EQ(h->seq, r.want_seq);
        EXPECT_EQ(h->ack, r.want_ack);
        EXPECT_EQ(h->flags, r.want_flags);
        EXPECT_EQ(h->src_port, tuple.local_port);
        EXPECT_EQ(h->dst_port, tuple.peer_port);
        EXPECT_EQ(h->mss, 0) << "no options on a RST";
        EXPECT_FALSE(h->has_wscale);
    }
    EXPECT_FALSE(reset_for(seg(7000, 123456, f::rst)).has_value());
    EXPECT_FALSE(reset_for(seg(7000, 123456, f::rst | f::ack)).has_value());
    EXPECT_FALSE(reset_for(seg(7000, 0, f::rst | f::syn)).has_value());
}

TEST_F(tcp_conn_test, a_reset_cancels_every_timer) {
    handshake();
    ASSERT_EQ(c.send(100), 100u);
    c.poll_send(now, out);
    deliver(seg(peer_seq(), iss + 1, tcp_flags::ack, 1)); // arms the delayed ACK
    deliver(seg(peer_seq(), 0, tcp_flags::rst));
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::cancel);
    EXPECT_EQ(out.timer(tcp_timer::delayed_ack).what, op::cancel);
}

TEST_F(tcp_conn_test, a_syn_on_an_established_connection_draws_a_challenge_ack) {
    handshake();
    deliver(seg(peer_seq(), 0, tcp_flags::syn));
    EXPECT_EQ(c.state(), tcp_state::established);
    EXPECT_FALSE(out.closed);
    EXPECT_EQ(only_segment().hdr.flags, tcp_flags::ack);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1);
    EXPECT_EQ(only_segment().hdr.ack, irs + 1) << "our numbers: a peer that restarted answers with a RST";
    EXPECT_EQ(c.stats().challenge_acks, 1u);
    // A SYN elsewhere in the window: challenged too, never taken as data.
    deliver(seg(peer_seq() + 5000, 0, tcp_flags::syn, 10));
    EXPECT_EQ(out.deliver_len, 0u);
    EXPECT_EQ(only_segment().hdr.ack, irs + 1);
    EXPECT_EQ(c.stats().challenge_acks, 2u);
    EXPECT_EQ(c.rcv_nxt(), irs + 1);
}

TEST_F(tcp_conn_test, abort_sends_a_reset) {
    handshake();
    c.abort(now, out);
    EXPECT_EQ(only_segment().hdr.flags, tcp_flags::rst | tcp_flags::ack);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1);
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::aborted);
}

// Sequence numbers are modulo 2^32 (RFC 9293 §3.4): both ISNs a few KB below
// the wrap, then data both ways, a loss, FIN and TIME_WAIT all across it.
TEST_F(tcp_conn_test, a_connection_works_across_the_sequence_number_wrap) {
    irs = 0xffffffffu - 700; // the peer's byte 700 is sequence number 0
    // Counter 15, MSS 1460 and window scale 14 make the cookie's top ten bits
    // ones (syn_cookie.hpp); the hash makes the rest, so a peer port is
    // searched for whose cookie puts our first byte 1000 to 3000 below 2^32.
    counter = 15;
    const syn_options o{.mss = 1460, .wscale = true, .shift = 14};
    p = make_tcp_params(cfg);
    bool found = false;
    for (uint32_t port = 1024; port <= 65535 && !found; ++port) {
        tuple.peer_port = static_cast<uint16_t>(port);
        const uint32_t first = syn_ack_for(p, syn(o), tuple, secret, counter).seq + 1;
        found = 0u - first >= 1000 && 0u - first < 3000;
        payloads.clear();
    }
    ASSERT_TRUE(found);
    ASSERT_NO_FATAL_FAILURE(handshake(o));
    EXPECT_EQ(c.snd_wnd(), uint32_t{peer_wnd} << 14);

    // Data in across the wrap, then a hole after it, then the hole filled.
    const uint32_t s0 = peer_seq();
    deliver(seg(s0, iss + 1, tcp_flags::ack, 1000));
    EXPECT_EQ(out.deliver_len, 1000u);
    EXPECT_LT(c.rcv_nxt(), s0) << "past the wrap";
    EXPECT_EQ(c.rcv_nxt(), s0 + 1000);
    deliver(seg(s0 + 2000, iss + 1, tcp_flags::ack, 500));
    EXPECT_EQ(out.deliver_len, 0u);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 1000);
    EXPECT_EQ(c.stats().out_of_order, 1u);
    deliver(seg(s0 + 1000, iss + 1, tcp_flags::ack, 1000));
    EXPECT_EQ(out.deliver_len, 1000u);
    fire(tcp_timer::delayed_ack);
    EXPECT_EQ(only_segment().hdr.ack, s0 + 2000);

    // Data out across the wrap: the second segment lost, fast retransmit, all acknowledged.
    ASSERT_EQ(c.send(4 * 1460), 4u * 1460);
    out.clear();
    c.poll_send(now, out);
    ASSERT_EQ(out.n_segments, 4u);
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(out.segments[i].hdr.seq, iss + 1 + 1460 * i);
        EXPECT_EQ(out.segments[i].data_off, uint64_t{1460} * i);
    }
    EXPECT_LT(out.segments[3].hdr.seq, out.segments[0].hdr.seq) << "the wrap falls inside what is sent";
    now += 20;
    ack_from_peer(iss + 1 + 1460);
    EXPECT_EQ(out.acked, 1460u);
    for (int i = 0; i < 3; ++i) {
        ack_from_peer(iss + 1 + 1460);
    }
    EXPECT_EQ(c.stats().fast_retransmits, 1u);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1 + 1460);
    EXPECT_EQ(only_segment().data_off, 1460u);
    ack_from_peer(iss + 1 + 4 * 1460);
    EXPECT_EQ(out.acked, 3u * 1460);
    EXPECT_EQ(c.queued(), 0u);
    EXPECT_EQ(c.una_offset(), 4u * 1460);
    EXPECT_EQ(out.timer(tcp_timer::rto).what, op::cancel);
    EXPECT_EQ(c.rto(), 200u) << "the 20 ms sample, at the floor";

    // Both FINs, and TIME_WAIT's SYN test across the wrap.
    out.clear();
    c.close(now, out);
    EXPECT_EQ(only_segment().hdr.seq, iss + 1 + 4 * 1460);
    ack_from_peer(iss + 2 + 4 * 1460);
    EXPECT_EQ(c.state(), tcp_state::fin_wait_2);
    deliver(seg(peer_seq(), iss + 2 + 4 * 1460, tcp_flags::ack | tcp_flags::fin));
    ASSERT_EQ(c.state(), tcp_state::time_wait);
    const uint32_t last = c.rcv_nxt();
    deliver(seg(s0, 0, tcp_flags::syn)); // numerically higher, but before the wrap
    EXPECT_FALSE(out.closed);
    EXPECT_EQ(only_segment().hdr.ack, last);
    deliver(seg(last + 100, 0, tcp_flags::syn));
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::reused);
}

class tcp_time_wait_test : public tcp_conn_test {
protected:
    uint32_t last_seq = 0; // the old incarnation's rcv_nxt

    void SetUp() override {
        handshake();
        c.close(now, out);
        ack_from_peer(iss + 2);
        deliver(seg(peer_seq(), iss + 2, tcp_flags::ack | tcp_flags::fin));
        ASSERT_EQ(c.state(), tcp_state::time_wait);
        last_seq = c.rcv_nxt();
    }
};

TEST_F(tcp_time_wait_test, a_syn_with_a_higher_sequence_number_ends_time_wait) {
    deliver(seg(last_seq + 100000, 0, tcp_flags::syn));
    EXPECT_TRUE(out.closed);
    EXPECT_EQ(out.reason, tcp_close_reason::reused) << "the caller hands the SYN to the listener";
    EXPECT_EQ(out.timer(tcp_timer::time_wait).what, op::cancel);
    EXPECT_EQ(out.n_segments, 0u);
}

TEST_F(tcp_time_wait_test, an_old_syn_gets_the_last_ack_again) {
    deliver(seg(last_seq - 1, 0, tcp_flags::syn));
    EXPECT_FALSE(out.closed);
    EXPECT_EQ(c.state(), tcp_state::time_wait);
    EXPECT_EQ(only_segment().hdr.ack, last_seq);
    deliver(seg(last_seq, 0, tcp_flags::syn)); // not higher: the same
    EXPECT_FALSE(out.closed);
}

TEST_F(tcp_time_wait_test, data_and_acks_are_ignored) {
    deliver(seg(last_seq, iss + 2, tcp_flags::ack, 10));
    EXPECT_EQ(out.n_segments, 0u);
    EXPECT_EQ(out.deliver_len, 0u);
    EXPECT_EQ(c.state(), tcp_state::time_wait);
}

TEST(tcp_seq, compares_across_the_wrap) {
    EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
    EXPECT_TRUE(seq_gt(0x10u, 0xfffffff0u));
    EXPECT_TRUE(seq_leq(5u, 5u));
    EXPECT_FALSE(seq_lt(5u, 5u));
}

TEST(tcp_params, converts_milliseconds_to_ticks) {
    tcp_config cfg;
    cfg.hz = 2'000'000'000; // a 2 GHz TSC
    const tcp_params p = make_tcp_params(cfg);
    EXPECT_EQ(p.rto_initial, 2'000'000'000u);
    EXPECT_EQ(p.rto_min, 400'000'000u);
    EXPECT_EQ(p.delayed_ack, 80'000'000u);
    EXPECT_EQ(p.wscale, 3);
    cfg.rcv_buf = 65535;
    EXPECT_EQ(make_tcp_params(cfg).wscale, 0);
}

TEST(tcp_state, has_a_name_for_each) {
    EXPECT_EQ(to_string(tcp_state::established), "established");
    EXPECT_EQ(to_string(tcp_state::time_wait), "time_wait");
}

} // namespace
} // namespace ringcast
