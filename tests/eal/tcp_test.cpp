// TCP-lite through the whole data plane, stepped by hand: a client played
// by the test, whose segments are built here byte by byte (IPv4 and TCP
// checksums computed here, the TCP one over the pseudo-header), and whose
// view of the appliance's stream is put together here from the segments
// drain() hands back, every checksum checked on the way. Deliveries to a TCP
// subscriber are references to the received frames, held until the client
// acknowledges them: the pools' in-use counts say so. EAL runs with
// --no-huge --no-pci --no-shconf.
#include <pipeline_fixture.hpp>

#include <ringcast/datapath/io_loop.hpp>
#include <ringcast/datapath/tcp_lite.hpp>

#include <rte_cycles.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace ringcast;
using namespace ringcast::testing;

namespace {

constexpr uint16_t client_port = 40000;
constexpr uint16_t tcp_port = 7700;
constexpr uint32_t client_isn = 0xfffff000; // near the wrap: sequence arithmetic must be modular
constexpr uint16_t client_window = 65535;   // no window scale: the peer sends at most this much unacked
constexpr uint16_t publisher_port = 6000;

namespace fl {
constexpr uint8_t fin = 0x01;
constexpr uint8_t syn = 0x02;
constexpr uint8_t rst = 0x04;
constexpr uint8_t psh = 0x08;
constexpr uint8_t ack = 0x10;
} // namespace fl

uint16_t get16(const std::string& b, size_t off) {
    return uint16_t(uint8_t(b[off]) << 8 | uint8_t(b[off + 1]));
}
uint32_t get32(const std::string& b, size_t off) {
    return uint32_t(get16(b, off)) << 16 | get16(b, off + 2);
}

// The TCP checksum as RFC 793 defines it: the pseudo-header (source and
// destination address, zero, protocol 6, TCP length) then the segment.
uint16_t tcp_csum(uint32_t src, uint32_t dst, const std::vector<uint8_t>& seg) {
    std::vector<uint8_t> p(12);
    put32(p, 0, src);
    put32(p, 4, dst);
    p[9] = 6;
    put16(p, 10, uint16_t(seg.size()));
    p.insert(p.end(), seg.begin(), seg.end());
    return csum(p, 0, p.size());
}

// One segment from the client to the appliance, `mss` 0: no option.
std::vector<uint8_t> tcp_packet(const mac_addr& dst_mac, uint32_t seq, uint32_t ack, uint8_t flags,
                                const std::vector<uint8_t>& data, uint16_t mss = 0,
                                uint16_t window = client_window) {
    const size_t th = mss != 0 ? 24 : 20;
    std::vector<uint8_t> seg(th + data.size());
    put16(seg, 0, client_port);
    put16(seg, 2, tcp_port);
    put32(seg, 4, seq);
    put32(seg, 8, ack);
    seg[12] = uint8_t(th / 4 << 4);
    seg[13] = flags;
    put16(seg, 14, window);
    if (mss != 0) {
        seg[20] = 2; // kind MSS
        seg[21] = 4;
        put16(seg, 22, mss);
    }
    std::copy(data.begin(), data.end(), seg.begin() + long(th));
    put16(seg, 16, tcp_csum(client_ip, app_ip, seg));

    std::vector<uint8_t> b(34 + seg.size());
    std::memcpy(b.data(), dst_mac.data(), 6);
    std::memcpy(b.data() + 6, client_mac.data(), 6);
    put16(b, 12, 0x0800);
    b[14] = 0x45;
    put16(b, 16, uint16_t(20 + seg.size()));
    put16(b, 20, 0x4000); // DF
    b[22] = 64;
    b[23] = 6;
    put32(b, 26, client_ip);
    put32(b, 30, app_ip);
    put16(b, 24, csum(b, 14, 20));
    std::copy(seg.begin(), seg.end(), b.begin() + 34);
    return b;
}

// A segment the appliance sent, as parsed here.
struct segment {
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint8_t flags = 0;
    uint16_t window = 0;
    uint16_t mss = 0; // 0: no MSS option
    bool wscale = false;
    std::string data;

    [[nodiscard]] bool has(uint8_t f) const { return (flags & f) != 0; }
};

// One RCP/1 frame of the appliance's stream, read by hand.
struct stream_frame {
    uint8_t op;
    uint8_t flags;
    uint64_t seq;
    std::string topic;
    std::string payload;
    uint32_t end; // stream offset just past it
};

std::string payload_of(int i) {
    // >= 1000 bytes, each message its own length and contents.
    std::string p = "msg " + std::to_string(i) + ":";
    p.append(size_t(1000 + 7 * i), char('a' + i % 26));
    return p;
}

class tcp_lite_eal : public pipeline {
protected:
    // The appliance with a small TCP-lite and nothing retained: at the end of
    // a test every pool is back at its exact idle count.
    void start_tcp(std::vector<uint32_t> workers, uint16_t n_tx) {
        start(std::move(workers), n_tx, 256, [](config& cfg) {
            cfg.tcp.enabled = true;
            cfg.tcp.connections = 16;
            cfg.tcp.time_wait = 4;
            cfg.tcp.queue_entries = 1024;
            cfg.retention.keep = 0;
            cfg.retention.prefixes.clear();
        });
        _hz = rte_get_tsc_hz();
        // TCP-lite's clock and its timer wheel start at the TSC of start-up:
        // the test's `now` counts on from there.
        _now = rte_get_tsc_cycles();
    }

    [[nodiscard]] uint64_t ms(uint64_t n) const { return n * (_hz / 1000); }

    lcore_ctx& io() { return _app->lcore(0); }
    uint64_t tcp(tcp_stat s) const {
        uint64_t n = 0;
        for (const auto& lc : _app->lcores()) {
            n += lc->counters.get(s);
        }
        return n;
    }
    const tcp_table& table() { return io().io->tcp->table(); }

    void step_now(int times = 2) { step(times, _now); }

    // The client sends: seq is its next, ack the appliance's stream so far.
    void client_send(uint8_t flags, const std::vector<uint8_t>& data = {}, uint16_t mss = 0) {
        inject(tcp_packet(_mac, _snd_nxt, (flags & fl::ack) != 0 ? _rcv_nxt : 0, flags, data, mss));
        _snd_nxt += uint32_t(data.size()) + ((flags & (fl::syn | fl::fin)) != 0 ? 1 : 0);
    }

    // Everything sent since the last call: TCP segments parsed and checked,
    // UDP frames kept in _udp.
    std::vector<segment> collect() {
        std::vector<segment> segs;
        for (const out_frame& f : drain()) {
            if (f.frame_addr != nullptr) {
                _udp.push_back(f);
                continue;
            }
            const std::string& b = f.payload;
            EXPECT_GE(b.size(), 54u);
            if (b.size() < 54 || get16(b, 12) != 0x0800 || uint8_t(b[23]) != 6) {
                ADD_FAILURE() << "not TCP/IPv4: " << b.size() << " bytes";
                continue;
            }
            std::vector<uint8_t> v(b.begin(), b.end());
            EXPECT_EQ(std::memcmp(b.data(), client_mac.data(), 6), 0) << "destination MAC";
            EXPECT_EQ(std::memcmp(b.data() + 6, _mac.data(), 6), 0) << "source MAC";
            EXPECT_EQ(uint8_t(b[14]), 0x45);
            EXPECT_EQ(csum(v, 14, 20), 0) << "IPv4 header checksum";
            EXPECT_EQ(get32(b, 26), app_ip);
            EXPECT_EQ(get32(b, 30), client_ip);
            const size_t ip_len = get16(b, 16);
            EXPECT_EQ(ip_len + 14, b.size()) << "IPv4 total length against the frame";
            if (ip_len + 14 > b.size() || ip_len < 40) {
                continue;
            }
            const std::vector<uint8_t> tcp_bytes(v.begin() + 34, v.begin() + long(14 + ip_len));
            EXPECT_EQ(tcp_csum(app_ip, client_ip, tcp_bytes), 0) << "TCP checksum";
            EXPECT_EQ(get16(b, 34), tcp_port);
            EXPECT_EQ(get16(b, 36), client_port);
            segment s;
            s.seq = get32(b, 38);
            s.ack = get32(b, 42);
            const size_t doff = size_t(uint8_t(b[46]) >> 4) * 4;
            s.flags = uint8_t(b[47]);
            s.window = get16(b, 48);
            EXPECT_GE(doff, 20u);
            EXPECT_LE(34 + doff, 14 + ip_len);
            for (size_t o = 54; o < 34 + doff;) {
                const uint8_t kind = uint8_t(b[o]);
                if (kind == 0) {
                    break;
                }
                if (kind == 1) {
                    ++o;
                    continue;
                }
                const uint8_t len = uint8_t(b[o + 1]);
                if (kind == 2 && len == 4) {
                    s.mss = get16(b, o + 2);
                } else if (kind == 3 && len == 3) {
                    s.wscale = true;
                }
                o += std::max<uint8_t>(len, 2);
            }
            s.data = b.substr(34 + doff, 14 + ip_len - 34 - doff);
            segs.push_back(std::move(s));
        }
        return segs;
    }

    // Takes the appliance's data and FIN into the client's view of its
    // stream: in order, a resent piece checked against what came before.
    void absorb(const std::vector<segment>& segs) {
        for (const segment& s : segs) {
            if (s.has(fl::syn)) {
                continue;
            }
            if (!s.data.empty()) {
                const auto off = int32_t(s.seq - _rcv_nxt);
                ASSERT_LE(off, 0) << "a hole before seq " << s.seq;
                const auto back = size_t(-off);
                ASSERT_LE(back, _stream.size()) << "data before the stream's start";
                const size_t start = _stream.size() - back;
                const size_t same = std::min(back, s.data.size());
                EXPECT_EQ(_stream.compare(start, same, s.data, 0, same), 0)
                    << "resent bytes differ at " << s.seq;
                _stream.append(s.data, same, std::string::npos);
                _rcv_nxt += uint32_t(s.data.size() - same);
            }
            if (s.has(fl::fin) && s.seq + uint32_t(s.data.size()) == _rcv_nxt) {
                _fin_seen = true;
                _rcv_nxt += 1;
            }
        }
    }

    // Frames of the stream not read yet.
    std::vector<stream_frame> frames() {
        std::vector<stream_frame> out;
        while (_stream.size() - _read >= 16) {
            const size_t o = _read;
            EXPECT_EQ(uint8_t(_stream[o]), 0xC5) << "magic at stream offset " << o;
            EXPECT_EQ(uint8_t(_stream[o + 1]) >> 4, 1) << "version";
            const size_t topic_len = uint8_t(_stream[o + 3]);
            const size_t payload_len = get32(_stream, o + 4);
            const size_t size = 16 + topic_len + payload_len;
            if (_stream.size() - o < size) {
                break;
            }
            out.push_back(stream_frame{uint8_t(uint8_t(_stream[o + 1]) & 0x0f), uint8_t(_stream[o + 2]),
                                       uint64_t(get32(_stream, o + 8)) << 32 | get32(_stream, o + 12),
                                       _stream.substr(o + 16, topic_len),
                                       _stream.substr(o + 16 + topic_len, payload_len), uint32_t(o + size)});
            _read = o + size;
        }
        return out;
    }

    // Bytes of the appliance's stream the client has acknowledged.
    [[nodiscard]] uint32_t acked_bytes() const { return _acked - (_iss + 1); }

    void ack_all() {
        client_send(fl::ack);
        _acked = _rcv_nxt;
    }

    // SYN with MSS 1460, the SYN-ACK checked, the final ACK: established.
    void connect() {
        const uint64_t before = tcp(tcp_stat::established);
        _snd_nxt = client_isn;
        client_send(fl::syn, {}, 1460);
        step_now();
        const auto syn_ack = collect();
        ASSERT_EQ(syn_ack.size(), 1u);
        const segment& s = syn_ack[0];
        EXPECT_EQ(s.flags, fl::syn | fl::ack);
        EXPECT_EQ(s.ack, client_isn + 1);
        EXPECT_NE(s.mss, 0) << "SYN-ACK without MSS option";
        EXPECT_LE(s.mss, 1460);
        EXPECT_FALSE(s.wscale) << "window scale offered to a SYN without it";
        EXPECT_NE(s.window, 0);
        EXPECT_TRUE(s.data.empty());
        _iss = s.seq; // the cookie
        _rcv_nxt = _iss + 1;
        _acked = _rcv_nxt;
        EXPECT_EQ(table().size(), 0u) << "a SYN alone holds no state";
        client_send(fl::ack);
        step_now();
        EXPECT_TRUE(collect().empty()) << "the final ACK is not answered";
        EXPECT_EQ(tcp(tcp_stat::established), before + 1);
        EXPECT_EQ(table().size(), 1u);
    }

    // SUB over the stream, its ACK frame read back out of the segments and acknowledged.
    void subscribe_tcp(std::string_view topic, uint64_t seq) {
        client_send(fl::psh | fl::ack, rcp(2, topic, "", seq));
        step_now();
        const auto segs = collect();
        ASSERT_FALSE(segs.empty());
        for (const segment& s : segs) {
            EXPECT_EQ(s.ack, _snd_nxt) << "the SUB's bytes acknowledged";
        }
        absorb(segs);
        const auto f = frames();
        ASSERT_EQ(f.size(), 1u);
        EXPECT_EQ(f[0].op, uint8_t(op::ack));
        EXPECT_EQ(f[0].seq, seq);
        ack_all();
        step_now();
        EXPECT_TRUE(collect().empty());
    }

    void publish(int first, int n) {
        for (int i = first; i < first + n; ++i) {
            send(publisher_port, rcp(4, "t/x", payload_of(i), uint64_t(i)));
        }
    }

    // The client's FIN, the appliance's ACK and (after every worker has
    // answered the BYE) its FIN, our ACK of it: closed both ways.
    void close_from_client() {
        const uint64_t closed = tcp(tcp_stat::closed);
        client_send(fl::fin | fl::ack);
        const uint32_t fin_end = _snd_nxt;
        bool acked = false;
        for (int i = 0; i < 10 && !_fin_seen; ++i) {
            step_now();
            const auto segs = collect();
            for (const segment& s : segs) {
                EXPECT_FALSE(s.has(fl::rst));
                EXPECT_TRUE(s.has(fl::ack));
                acked = acked || s.ack == fin_end;
            }
            absorb(segs);
        }
        EXPECT_TRUE(acked) << "our FIN acknowledged";
        ASSERT_TRUE(_fin_seen) << "the appliance's FIN";
        EXPECT_TRUE(frames().empty());
        ack_all();
        step_now();
        EXPECT_TRUE(collect().empty());
        EXPECT_EQ(tcp(tcp_stat::closed), closed + 1);
        EXPECT_EQ(table().size(), 0u) << "the passive closer keeps no TIME_WAIT";
    }

    uint64_t _hz = 0;
    uint64_t _now = 0;
    uint32_t _snd_nxt = 0;
    uint32_t _iss = 0;     // the appliance's: its SYN-ACK's seq
    uint32_t _rcv_nxt = 0; // the appliance's stream received in order so far
    uint32_t _acked = 0;   // what the client has acknowledged of it
    std::string _stream;   // the appliance's stream bytes
    size_t _read = 0;      // of _stream, parsed into frames
    bool _fin_seen = false;
    std::vector<out_frame> _udp;
};

TEST_F(tcp_lite_eal, answers_a_syn_with_a_cookie_syn_ack_and_establishes_on_the_final_ack) {
    start_tcp({0}, 1);
    connect();
    EXPECT_EQ(tcp(tcp_stat::syns), 1u);
    // The stream carries RCP/1 both ways: a PING answered with its PONG.
    client_send(fl::psh | fl::ack, rcp(8, "", "echo", 7));
    step_now();
    absorb(collect());
    const auto f = frames();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].op, uint8_t(op::pong));
    EXPECT_EQ(f[0].seq, 7u);
    EXPECT_EQ(f[0].payload, "echo");
    ack_all();
    close_from_client();
    expect_pools_at_baseline();
}

// The SYN-ACK is written over the SYN's bytes, and a SYN without options
// (hping3's) is 4 bytes shorter than a SYN-ACK with MSS: the reply must grow.
TEST_F(tcp_lite_eal, answers_a_syn_without_options_with_a_whole_syn_ack) {
    // hping3's SYN, in a frame no NIC padded (veth, af_packet): 54 bytes, the SYN-ACK 58.
    start_tcp({0}, 1);
    _snd_nxt = client_isn;
    client_send(fl::syn);
    step_now();
    const auto segs = collect();
    ASSERT_EQ(segs.size(), 1u);
    EXPECT_EQ(segs[0].flags, fl::syn | fl::ack);
    EXPECT_EQ(segs[0].ack, client_isn + 1);
    EXPECT_NE(segs[0].mss, 0);
    expect_pools_at_baseline();
}

TEST_F(tcp_lite_eal,
       a_stream_of_msg_frames_to_a_tcp_subscriber_holds_references_until_acked_and_pools_return_to_baseline) {
    // Two workers: the close waits for both to answer the BYE.
    start_tcp({0, 1}, 2);
    connect();
    subscribe_tcp("t/x", 1);
    expect_pools_at_baseline();

    constexpr int n = 20;
    publish(1, n);
    step_now();
    auto segs = collect();
    ASSERT_FALSE(segs.empty());
    EXPECT_TRUE(_udp.empty()) << "the publisher gets nothing back";
    absorb(segs);
    std::vector<stream_frame> got = frames();
    // Every delivery still queued on the connection, each one a reference to
    // the received frame (the test's input pool stands in for the RX pool
    // here): none freed, none copied.
    EXPECT_EQ(rte_mempool_in_use_count(g_input), unsigned(n));
    // The segments' headers and their indirect views went with TX.
    for (rte_mempool* mp : _app->pools()) {
        EXPECT_EQ(rte_mempool_in_use_count(mp), _baseline[mp]) << mp->name;
    }
    const uint64_t timeouts = tcp(tcp_stat::timeouts);
    // The window and cwnd let out only part at first: each ACK lets out more,
    // and each frame acknowledged whole is freed.
    for (int round = 0; round < 50 && got.size() < size_t(n); ++round) {
        ack_all();
        step_now();
        const auto acked_whole = std::count_if(got.begin(), got.end(), [&](const stream_frame& f) {
            return f.end <= acked_bytes(); // offsets from the stream's first byte, as acked_bytes
        });
        EXPECT_EQ(rte_mempool_in_use_count(g_input), unsigned(n - acked_whole))
            << "each frame freed once acknowledged whole, round " << round;
        segs = collect();
        ASSERT_FALSE(segs.empty()) << "nothing more sent after an ACK, " << got.size() << " frames so far";
        absorb(segs);
        for (auto& f : frames()) {
            got.push_back(std::move(f));
        }
    }
    ASSERT_EQ(got.size(), size_t(n));
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(got[size_t(i)].op, uint8_t(op::msg));
        EXPECT_EQ(got[size_t(i)].seq, uint64_t(i + 1)) << "in order, from 1";
        EXPECT_EQ(got[size_t(i)].topic, "t/x");
        EXPECT_EQ(got[size_t(i)].payload, payload_of(i + 1)) << "frame " << i + 1 << " intact";
    }
    EXPECT_EQ(tcp(tcp_stat::timeouts), timeouts) << "no retransmission: nothing was lost";
    // Not yet acknowledged: the frames of the last flight are still held.
    const auto unacked = size_t(
        std::count_if(got.begin(), got.end(), [&](const stream_frame& f) { return f.end > acked_bytes(); }));
    EXPECT_GT(unacked, 0u);
    EXPECT_EQ(rte_mempool_in_use_count(g_input), unsigned(unacked));
    ack_all();
    step_now();
    EXPECT_TRUE(collect().empty());
    EXPECT_EQ(tcp(tcp_stat::bytes_out), uint64_t(acked_bytes()));
    expect_pools_at_baseline();

    close_from_client();
    EXPECT_EQ(tcp(tcp_stat::closed), 1u);
    // Its subscription went with it.
    publish(n + 1, 1);
    step_now();
    EXPECT_TRUE(collect().empty());
    EXPECT_EQ(drop_of(drop::tcp_stale), 0u);
    expect_pools_at_baseline();
}

TEST_F(tcp_lite_eal, unacked_data_is_retransmitted_on_the_rto_and_released_on_ack) {
    start_tcp({0}, 1);
    connect();
    // The SUB's ACK frame is left unacknowledged, as is all that follows: no
    // RTT sample yet, so the RTO is the initial one (tcp.rto_initial_ms, 1000
    // ms; a sample of ~0 ms would bring it down to rto_min, 200 ms).
    client_send(fl::psh | fl::ack, rcp(2, "t/x", "", 1));
    step_now();
    auto first = collect();
    constexpr int n = 3;
    publish(1, n);
    step_now();
    for (segment& s : collect()) {
        first.push_back(std::move(s));
    }
    absorb(first);
    const auto f = frames();
    ASSERT_EQ(f.size(), size_t(n + 1));
    EXPECT_EQ(f[0].op, uint8_t(op::ack));
    std::vector<segment> data;
    std::copy_if(first.begin(), first.end(), std::back_inserter(data),
                 [](const segment& s) { return !s.data.empty(); });
    ASSERT_FALSE(data.empty());
    EXPECT_EQ(data[0].seq, _iss + 1);
    EXPECT_EQ(rte_mempool_in_use_count(g_input), unsigned(n));
    EXPECT_EQ(tcp(tcp_stat::timeouts), 0u);

    // Short of the RTO: nothing again.
    _now += ms(900);
    step_now();
    housekeeping_at(_now);
    EXPECT_TRUE(collect().empty()) << "sent again before the RTO";
    // Past it: from the oldest unacknowledged byte, the same bytes again.
    _now += ms(200);
    step_now();
    housekeeping_at(_now);
    const auto again = collect();
    ASSERT_FALSE(again.empty()) << "no retransmission after the RTO";
    EXPECT_EQ(again[0].seq, data[0].seq);
    ASSERT_FALSE(again[0].data.empty());
    EXPECT_EQ(again[0].data, _stream.substr(0, again[0].data.size()));
    absorb(again);
    EXPECT_TRUE(frames().empty()) << "nothing new in a retransmission";
    EXPECT_EQ(tcp(tcp_stat::timeouts), 1u);
    EXPECT_GE(tcp(tcp_stat::retransmits), 1u);
    EXPECT_EQ(rte_mempool_in_use_count(g_input), unsigned(n)) << "still held until acknowledged";

    // Everything received acknowledged: every reference released, nothing more sent.
    ack_all();
    step_now();
    EXPECT_TRUE(collect().empty());
    EXPECT_EQ(tcp(tcp_stat::bytes_out), uint64_t(acked_bytes()));
    expect_pools_at_baseline();
    close_from_client();
    expect_pools_at_baseline();
}

TEST_F(tcp_lite_eal, a_segment_beyond_a_hole_is_kept_and_taken_once_the_hole_is_filled) {
    start_tcp({0}, 1);
    connect();
    const auto a = rcp(8, "", "first", 7);
    const auto b = rcp(8, "", "second", 8);
    const uint32_t base = _snd_nxt;
    // b first: a duplicate ACK for the hole, nothing answered yet.
    _snd_nxt = base + uint32_t(a.size());
    client_send(fl::psh | fl::ack, b);
    step_now();
    const auto dup = collect();
    ASSERT_EQ(dup.size(), 1u);
    EXPECT_EQ(dup[0].ack, base) << "the duplicate ACK names the hole";
    EXPECT_TRUE(dup[0].data.empty());
    EXPECT_EQ(tcp(tcp_stat::out_of_order), 1u);
    EXPECT_EQ(rte_mempool_in_use_count(g_input), 1u) << "the segment beyond the hole is kept";
    // a fills the hole: both are taken, in order, and acknowledged together.
    _snd_nxt = base;
    client_send(fl::psh | fl::ack, a);
    _snd_nxt = base + uint32_t(a.size() + b.size());
    step_now();
    const auto segs = collect();
    ASSERT_FALSE(segs.empty());
    EXPECT_EQ(segs.back().ack, _snd_nxt);
    absorb(segs);
    const auto f = frames();
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].op, uint8_t(op::pong));
    EXPECT_EQ(f[0].seq, 7u);
    EXPECT_EQ(f[1].op, uint8_t(op::pong));
    EXPECT_EQ(f[1].seq, 8u);
    EXPECT_EQ(tcp(tcp_stat::out_of_order_kept), 1u);
    ack_all();
    step_now();
    close_from_client();
    expect_pools_at_baseline();
}

TEST_F(tcp_lite_eal, a_rst_from_the_client_drops_the_connection_and_its_subscription) {
    start_tcp({0}, 1);
    connect();
    subscribe_tcp("t/x", 1);
    publish(1, 2);
    step_now();
    absorb(collect());
    EXPECT_EQ(frames().size(), 2u);
    EXPECT_EQ(rte_mempool_in_use_count(g_input), 2u);
    // Unacknowledged data, then the client resets: in window, seq exactly rcv_nxt.
    client_send(fl::rst);
    step_now();
    EXPECT_TRUE(collect().empty()) << "a RST is never answered";
    EXPECT_EQ(tcp(tcp_stat::resets_received), 1u);
    EXPECT_EQ(table().size(), 0u);
    expect_pools_at_baseline();
    EXPECT_EQ(_app->lcore(0).counters.get(gauge::subscriptions), 0u);
    const uint64_t deliveries = stat_of(metric::deliveries);
    publish(3, 2);
    step_now();
    EXPECT_TRUE(collect().empty()) << "nothing goes to a reset connection";
    EXPECT_EQ(stat_of(metric::deliveries), deliveries);
    EXPECT_EQ(drop_of(drop::tcp_stale), 0u);
    expect_pools_at_baseline();
}

} // namespace

int main(int argc, char** argv) {
    return ringcast::testing::run_pipeline_tests(argc, argv, "tcp_test");
}
