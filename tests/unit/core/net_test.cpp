// Ethernet/ARP/IPv4/ICMP/UDP handling on byte spans. Every frame is built
// byte by byte here, and every checksum is computed by the plain RFC 1071
// loop below, never by the code under test.
#include <ringcast/core/net.hpp>
#include <ringcast/core/tcp_conn.hpp>
#include <ringcast/core/tcp_wire.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

using frame_bytes = std::vector<uint8_t>;

static const ringcast::mac_addr our_mac = {0x02, 0x52, 0x43, 0x00, 0x00, 0x01};
static const ringcast::mac_addr peer_mac = {0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
static constexpr uint32_t our_ip = 0xC0A80A01;  // 192.168.10.1
static constexpr uint32_t peer_ip = 0xC0A80A42; // 192.168.10.66
static constexpr uint16_t our_port = 7700;
static constexpr uint16_t peer_port = 40001;

static ringcast::port_identity me() {
    ringcast::port_identity id;
    id.mac = our_mac;
    id.ipv4 = our_ip;
    id.udp_port = our_port;
    id.verify_udp_checksum = true;
    return id;
}

static std::span<const std::byte> view(const frame_bytes& f) {
    return std::as_bytes(std::span(f));
}

static std::span<std::byte> mut(frame_bytes& f) {
    return std::as_writable_bytes(std::span(f));
}

// RFC 1071: 16-bit big-endian words, odd byte padded with zero, end-around
// carry, complement.
static uint16_t rfc1071(const uint8_t* p, size_t n, uint32_t sum = 0) {
    for (size_t i = 0; i < n; i += 2) {
        uint32_t word = static_cast<uint32_t>(p[i]) << 8;
        if (i + 1 < n) {
            word |= p[i + 1];
        }
        sum += word;
        while (sum > 0xFFFF) {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
    }
    return static_cast<uint16_t>(~sum & 0xFFFF);
}

static uint16_t get16(const frame_bytes& f, size_t off) {
    return static_cast<uint16_t>((f[off] << 8) | f[off + 1]);
}

static uint32_t get32(const frame_bytes& f, size_t off) {
    return (uint32_t{f[off]} << 24) | (uint32_t{f[off + 1]} << 16) | (uint32_t{f[off + 2]} << 8) | f[off + 3];
}

static void set16(frame_bytes& f, size_t off, uint16_t v) {
    f[off] = static_cast<uint8_t>(v >> 8);
    f[off + 1] = static_cast<uint8_t>(v);
}

static void push16(frame_bytes& f, uint16_t v) {
    f.push_back(static_cast<uint8_t>(v >> 8));
    f.push_back(static_cast<uint8_t>(v));
}

static void push32(frame_bytes& f, uint32_t v) {
    push16(f, static_cast<uint16_t>(v >> 16));
    push16(f, static_cast<uint16_t>(v));
}

static void push_mac(frame_bytes& f, const ringcast::mac_addr& m) {
    f.insert(f.end(), m.begin(), m.end());
}

static ringcast::mac_addr mac_at(const frame_bytes& f, size_t off) {
    ringcast::mac_addr m;
    for (size_t i = 0; i < 6; ++i) {
        m[i] = f[off + i];
    }
    return m;
}

static void push_eth(frame_bytes& f, const ringcast::mac_addr& dst, const ringcast::mac_addr& src,
                     uint16_t type) {
    push_mac(f, dst);
    push_mac(f, src);
    push16(f, type);
}

struct ip_fields {
    uint32_t src = peer_ip;
    uint32_t dst = our_ip;
    uint8_t proto = 17;
    uint16_t frag = 0x4000; // DF
    uint8_t ttl = 64;
    uint16_t id = 0x1234;
    std::vector<uint8_t> options; // a multiple of 4 bytes
};

// Appends an IPv4 header with a correct checksum, then `l4`.
static void push_ipv4(frame_bytes& f, const ip_fields& ip, const frame_bytes& l4) {
    const size_t start = f.size();
    const size_t hdr_len = 20 + ip.options.size();
    f.push_back(static_cast<uint8_t>(0x40 | (hdr_len / 4)));
    f.push_back(0); // DSCP/ECN
    push16(f, static_cast<uint16_t>(hdr_len + l4.size()));
    push16(f, ip.id);
    push16(f, ip.frag);
    f.push_back(ip.ttl);
    f.push_back(ip.proto);
    push16(f, 0); // checksum, filled below
    push32(f, ip.src);
    push32(f, ip.dst);
    f.insert(f.end(), ip.options.begin(), ip.options.end());
    set16(f, start + 10, rfc1071(f.data() + start, hdr_len));
    f.insert(f.end(), l4.begin(), l4.end());
}

// A UDP datagram with its checksum over the pseudo-header (or 0).
static frame_bytes udp_datagram(uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport,
                                std::string_view payload, bool with_checksum = true) {
    frame_bytes u;
    push16(u, sport);
    push16(u, dport);
    push16(u, static_cast<uint16_t>(8 + payload.size()));
    push16(u, 0);
    for (char c : payload) {
        u.push_back(static_cast<uint8_t>(c));
    }
    if (with_checksum) {
        frame_bytes pseudo;
        push32(pseudo, src_ip);
        push32(pseudo, dst_ip);
        pseudo.push_back(0);
        pseudo.push_back(17);
        push16(pseudo, static_cast<uint16_t>(u.size()));
        pseudo.insert(pseudo.end(), u.begin(), u.end());
        uint16_t c = rfc1071(pseudo.data(), pseudo.size());
        set16(u, 6, c == 0 ? 0xFFFF : c); // 0 means "no checksum" on the wire
    }
    return u;
}

static frame_bytes udp_frame(std::string_view payload, const ip_fields& ip = {}, uint16_t dport = our_port,
                             bool with_checksum = true) {
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    push_ipv4(f, ip, udp_datagram(ip.src, ip.dst, peer_port, dport, payload, with_checksum));
    return f;
}

static frame_bytes icmp_message(uint8_t type, uint8_t code, uint16_t ident, uint16_t seq,
                                std::string_view data) {
    frame_bytes m;
    m.push_back(type);
    m.push_back(code);
    push16(m, 0);
    push16(m, ident);
    push16(m, seq);
    for (char c : data) {
        m.push_back(static_cast<uint8_t>(c));
    }
    set16(m, 2, rfc1071(m.data(), m.size()));
    return m;
}

static frame_bytes icmp_frame(const frame_bytes& icmp, uint8_t ttl = 64) {
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    ip_fields ip;
    ip.proto = 1;
    ip.ttl = ttl;
    push_ipv4(f, ip, icmp);
    return f;
}

static frame_bytes arp_frame(uint16_t oper, uint32_t target_ip, const ringcast::mac_addr& eth_dst) {
    frame_bytes f;
    push_eth(f, eth_dst, peer_mac, 0x0806);
    push16(f, 1);      // htype Ethernet
    push16(f, 0x0800); // ptype IPv4
    f.push_back(6);
    f.push_back(4);
    push16(f, oper);
    push_mac(f, peer_mac);                                   // sha
    push32(f, peer_ip);                                      // spa
    push_mac(f, oper == 1 ? ringcast::mac_addr{} : our_mac); // tha
    push32(f, target_ip);                                    // tpa
    return f;
}

static const ringcast::mac_addr broadcast = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// A broadcast request from our address for `target_ip`.
static frame_bytes arp_frame_from_us(uint32_t target_ip) {
    frame_bytes f;
    push_eth(f, broadcast, our_mac, 0x0806);
    push16(f, 1);
    push16(f, 0x0800);
    f.push_back(6);
    f.push_back(4);
    push16(f, 1);
    push_mac(f, our_mac);
    push32(f, our_ip);
    push_mac(f, ringcast::mac_addr{});
    push32(f, target_ip);
    return f;
}

static void expect_drop(const frame_bytes& f, ringcast::drop why, const ringcast::port_identity& id = me()) {
    const auto p = ringcast::classify(view(f), id);
    EXPECT_EQ(p.kind, ringcast::packet_kind::drop);
    EXPECT_EQ(p.reason, why) << "got " << ringcast::drop_names[static_cast<size_t>(p.reason)] << ", want "
                             << ringcast::drop_names[static_cast<size_t>(why)];
}

TEST(net, header_lengths) {
    EXPECT_EQ(ringcast::l2l4_len, 42u);
    EXPECT_EQ(ringcast::arp_len, 28u);
}

TEST(net, inet_checksum_matches_rfc1071_loop) {
    frame_bytes data;
    for (size_t n = 0; n < 70; ++n) {
        EXPECT_EQ(ringcast::inet_checksum(view(data)), rfc1071(data.data(), data.size())) << n;
        data.push_back(static_cast<uint8_t>(n * 37 + 11));
    }
    const frame_bytes ones(100, 0xFF);
    EXPECT_EQ(ringcast::inet_checksum(view(ones)), rfc1071(ones.data(), ones.size()));
    // RFC 1071's own example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
    const frame_bytes example = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ringcast::inet_checksum(view(example)), static_cast<uint16_t>(~0xddf2));
}

TEST(net, classifies_arp_request_for_us) {
    for (const auto& dst : {broadcast, our_mac}) {
        const auto p = ringcast::classify(view(arp_frame(1, our_ip, dst)), me());
        EXPECT_EQ(p.kind, ringcast::packet_kind::arp_request);
    }
    // Ethernet pads ARP to 60 bytes.
    frame_bytes padded = arp_frame(1, our_ip, broadcast);
    padded.resize(60, 0);
    EXPECT_EQ(ringcast::classify(view(padded), me()).kind, ringcast::packet_kind::arp_request);
}

TEST(net, ignores_arp_for_another_address) {
    expect_drop(arp_frame(1, our_ip + 1, broadcast), ringcast::drop::arp_ignored);
}

TEST(net, classifies_arp_reply_to_us_with_the_sender) {
    const auto p = ringcast::classify(view(arp_frame(2, our_ip, our_mac)), me());
    EXPECT_EQ(p.kind, ringcast::packet_kind::arp_reply);
    EXPECT_EQ(p.src_mac, peer_mac);
    EXPECT_EQ(p.src.ip, peer_ip);
}

TEST(net, ignores_arp_reply_to_another_address_other_opers_and_non_ethernet_ipv4_arp) {
    expect_drop(arp_frame(2, our_ip + 1, our_mac), ringcast::drop::arp_ignored);
    expect_drop(arp_frame(3, our_ip, our_mac), ringcast::drop::arp_ignored); // RARP request
    frame_bytes f = arp_frame(1, our_ip, broadcast);
    set16(f, 14, 6); // htype IEEE 802
    expect_drop(f, ringcast::drop::arp_ignored);
    f = arp_frame(1, our_ip, broadcast);
    set16(f, 16, 0x86DD); // ptype IPv6
    expect_drop(f, ringcast::drop::arp_ignored);
}

TEST(net, short_arp_is_a_runt) {
    frame_bytes f = arp_frame(1, our_ip, broadcast);
    f.pop_back();
    expect_drop(f, ringcast::drop::runt);
}

TEST(net, refuses_ipv6_ethertype) {
    frame_bytes f = udp_frame("x");
    set16(f, 12, 0x86DD);
    expect_drop(f, ringcast::drop::not_ipv4);
    set16(f, 12, 0x8100); // VLAN tag
    expect_drop(f, ringcast::drop::not_ipv4);
}

TEST(net, short_frames_are_runts) {
    for (size_t n : {0u, 1u, 13u}) {
        expect_drop(frame_bytes(n, 0), ringcast::drop::runt);
    }
    frame_bytes f = udp_frame("x");
    f.resize(33); // IPv4 ethertype, header cut short
    expect_drop(f, ringcast::drop::runt);
}

TEST(net, refuses_bad_ipv4_header) {
    frame_bytes f = udp_frame("x");
    f[14] = 0x65; // version 6
    expect_drop(f, ringcast::drop::ip_bad_header);
    f = udp_frame("x");
    set16(f, 16, static_cast<uint16_t>(f.size() - 14 + 1)); // total length past the frame
    expect_drop(f, ringcast::drop::ip_bad_header);
}

TEST(net, refuses_ip_options) {
    ip_fields ip;
    ip.options = {0x01, 0x01, 0x01, 0x00}; // NOP NOP NOP EOL: ihl 6, checksum valid
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    push_ipv4(f, ip, udp_datagram(ip.src, ip.dst, peer_port, our_port, "hello"));
    ASSERT_EQ(f[14], 0x46);
    expect_drop(f, ringcast::drop::ip_options);
}

TEST(net, refuses_fragments) {
    for (uint16_t frag :
         {uint16_t{0x2000}, uint16_t{0x0001}, uint16_t{0x0100}, uint16_t{0x3FFF}, uint16_t{0x6000}}) {
        ip_fields ip;
        ip.frag = frag;
        expect_drop(udp_frame("hello", ip), ringcast::drop::ip_fragment);
    }
    ip_fields df_only;
    df_only.frag = 0x4000;
    EXPECT_EQ(ringcast::classify(view(udp_frame("hello", df_only)), me()).kind, ringcast::packet_kind::udp);
    ip_fields none;
    none.frag = 0;
    EXPECT_EQ(ringcast::classify(view(udp_frame("hello", none)), me()).kind, ringcast::packet_kind::udp);
}

TEST(net, refuses_bad_ip_checksum) {
    frame_bytes f = udp_frame("hello");
    f[24] ^= 0x01;
    expect_drop(f, ringcast::drop::ip_bad_checksum);
    f = udp_frame("hello");
    f[22] ^= 0x01; // TTL changed, checksum not updated
    expect_drop(f, ringcast::drop::ip_bad_checksum);
}

TEST(net, refuses_other_destination) {
    ip_fields ip;
    ip.dst = our_ip + 1;
    expect_drop(udp_frame("hello", ip), ringcast::drop::ip_not_ours);
    ip.dst = 0xFFFFFFFF;
    expect_drop(udp_frame("hello", ip), ringcast::drop::ip_not_ours);
}

// A SYN from the peer to port 7700: seq 1000, MSS option.
static frame_bytes tcp_syn_frame() {
    frame_bytes tcp = {0x9c, 0x40, 0x1e, 0x14, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0,
                       2, 4, 0x05, 0xb4};
    ip_fields ip;
    ip.proto = 6;
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    push_ipv4(f, ip, tcp);
    return f;
}

TEST(net, classifies_tcp_to_us_with_its_ports_and_segment) {
    const frame_bytes f = tcp_syn_frame();
    const ringcast::packet_info p = ringcast::classify(view(f), me());
    ASSERT_EQ(p.kind, ringcast::packet_kind::tcp);
    EXPECT_EQ(p.src.ip, peer_ip);
    EXPECT_EQ(p.src.port, 40000);
    EXPECT_EQ(p.dst_port, 7700);
    EXPECT_EQ(p.payload_off, 34u);
    EXPECT_EQ(p.payload_len, 24u);
    EXPECT_EQ(mac_at(f, 6), peer_mac);
}

TEST(net, tcp_reply_is_the_segment_back_to_the_sender_with_good_checksums) {
    frame_bytes f = tcp_syn_frame();
    ringcast::tcp_segment_view syn;
    ASSERT_EQ(ringcast::parse_tcp(view(f).subspan(34), syn), ringcast::tcp_parse_status::ok);
    const auto rst = ringcast::reset_for(syn);
    ASSERT_TRUE(rst.has_value());
    const size_t n = ringcast::make_tcp_reply(std::as_writable_bytes(std::span(f.data(), f.size())), *rst);
    ASSERT_EQ(n, 54u);
    f.resize(n);
    EXPECT_EQ(mac_at(f, 0), peer_mac);
    EXPECT_EQ(mac_at(f, 6), our_mac);
    EXPECT_EQ(rfc1071(f.data() + 14, 20), 0) << "IPv4 header checksum";
    EXPECT_EQ(ringcast::tcp_checksum(our_ip, peer_ip, view(f).subspan(34)), 0);
    ringcast::tcp_segment_view back;
    ASSERT_EQ(ringcast::parse_tcp(view(f).subspan(34), back), ringcast::tcp_parse_status::ok);
    EXPECT_EQ(back.hdr.src_port, 7700);
    EXPECT_EQ(back.hdr.dst_port, 40000);
    EXPECT_EQ(back.hdr.flags, ringcast::tcp_flags::rst | ringcast::tcp_flags::ack);
    EXPECT_EQ(back.hdr.ack, 1001u); // the SYN's seq + 1
    EXPECT_TRUE(back.payload.empty());
}

TEST(net, refuses_other_protocols) {
    frame_bytes gre(8, 0);
    ip_fields ip;
    ip.proto = 47;
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    push_ipv4(f, ip, gre);
    expect_drop(f, ringcast::drop::ip_proto);
}

TEST(net, refuses_udp_length_that_disagrees_with_ip_length) {
    frame_bytes longer = udp_frame("hello");
    set16(longer, 38, static_cast<uint16_t>(get16(longer, 38) + 1));
    expect_drop(longer, ringcast::drop::udp_bad_length);
    frame_bytes shorter = udp_frame("hello");
    set16(shorter, 38, static_cast<uint16_t>(get16(shorter, 38) - 1));
    expect_drop(shorter, ringcast::drop::udp_bad_length);
    frame_bytes tiny = udp_frame("hello");
    set16(tiny, 38, 4);
    expect_drop(tiny, ringcast::drop::udp_bad_length);
}

TEST(net, refuses_ip_payload_shorter_than_udp_header) {
    ip_fields ip;
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    push_ipv4(f, ip, frame_bytes{0x9C, 0x41, 0x1E, 0x14}); // 4 bytes of a UDP header
    expect_drop(f, ringcast::drop::udp_bad_length);
}

TEST(net, refuses_other_udp_port) {
    expect_drop(udp_frame("hello", {}, our_port + 1), ringcast::drop::udp_port);
    expect_drop(udp_frame("hello", {}, 53), ringcast::drop::udp_port);
}

TEST(net, udp_port_zero_takes_any_destination_port_and_says_which) {
    ringcast::port_identity any = me();
    any.udp_port = 0;
    for (uint16_t port : {uint16_t{53}, uint16_t{20000}, our_port}) {
        const auto p = ringcast::classify(view(udp_frame("hello", {}, port)), any);
        EXPECT_EQ(p.kind, ringcast::packet_kind::udp);
        EXPECT_EQ(p.dst_port, port);
        EXPECT_EQ(p.src.port, peer_port);
    }
}

TEST(net, refuses_bad_udp_checksum) {
    frame_bytes f = udp_frame("hello");
    f.back() ^= 0x20; // payload changed after the checksum
    expect_drop(f, ringcast::drop::udp_bad_checksum);
    frame_bytes g = udp_frame("hello");
    set16(g, 40, static_cast<uint16_t>(get16(g, 40) + 1));
    expect_drop(g, ringcast::drop::udp_bad_checksum);
}

// Payloads of every length up to 300 bytes, of 0xFF bytes (sums that carry
// the most) and of mixed bytes: the checksum the test computes is accepted,
// and one flipped bit is refused.
TEST(net, verifies_udp_checksums_of_every_length) {
    for (const char fill : {'\xff', '\x5a'}) {
        for (size_t n = 0; n <= 300; ++n) {
            std::string payload(n, fill);
            for (size_t i = 0; fill != '\xff' && i < n; ++i) {
                payload[i] = static_cast<char>(i * 31 + 7);
            }
            frame_bytes f = udp_frame(payload);
            EXPECT_EQ(ringcast::classify(view(f), me()).kind, ringcast::packet_kind::udp) << n;
            if (n > 0) {
                f.back() ^= 0x01;
                expect_drop(f, ringcast::drop::udp_bad_checksum);
            }
        }
    }
}

TEST(net, accepts_bad_udp_checksum_when_not_verifying) {
    frame_bytes f = udp_frame("hello");
    f.back() ^= 0x20;
    ringcast::port_identity id = me();
    id.verify_udp_checksum = false;
    const auto p = ringcast::classify(view(f), id);
    EXPECT_EQ(p.kind, ringcast::packet_kind::udp);
    EXPECT_EQ(p.payload_len, 5u);
}

TEST(net, accepts_udp_checksum_zero) {
    const frame_bytes f = udp_frame("hello", {}, our_port, false);
    ASSERT_EQ(get16(f, 40), 0);
    const auto p = ringcast::classify(view(f), me());
    EXPECT_EQ(p.kind, ringcast::packet_kind::udp);
    EXPECT_EQ(p.payload_len, 5u);
}

TEST(net, accepts_good_udp_with_source_and_payload) {
    for (std::string_view payload : {std::string_view("RCP frame bytes"), std::string_view("odd"),
                                     std::string_view(""), std::string_view("\xC5\x14\x00\x01", 4)}) {
        SCOPED_TRACE(payload.size());
        const frame_bytes f = udp_frame(payload);
        const auto p = ringcast::classify(view(f), me());
        ASSERT_EQ(p.kind, ringcast::packet_kind::udp);
        EXPECT_EQ(p.src_mac, peer_mac);
        EXPECT_EQ(p.src.ip, peer_ip);
        EXPECT_EQ(p.src.port, peer_port);
        EXPECT_EQ(p.src.port_id, 0);
        EXPECT_EQ(p.payload_off, 42u);
        EXPECT_EQ(p.payload_len, payload.size());
        ASSERT_EQ(f.size(), p.payload_off + p.payload_len);
        EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.begin() + 42,
                               [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; }));
    }
}

TEST(net, ignores_ethernet_padding_beyond_ip_total_length) {
    // 48 bytes of packet padded to the 60-byte Ethernet minimum, with junk.
    frame_bytes f = udp_frame("abcdef");
    ASSERT_EQ(f.size(), 48u);
    f.resize(60, 0xA5);
    const auto p = ringcast::classify(view(f), me());
    ASSERT_EQ(p.kind, ringcast::packet_kind::udp);
    EXPECT_EQ(p.payload_off, 42u);
    EXPECT_EQ(p.payload_len, 6u);
    // Zero padding too, and with an odd payload (the checksum's last byte).
    frame_bytes g = udp_frame("abc");
    g.resize(60, 0);
    const auto q = ringcast::classify(view(g), me());
    ASSERT_EQ(q.kind, ringcast::packet_kind::udp);
    EXPECT_EQ(q.payload_len, 3u);
}

TEST(net, classifies_icmp_echo_request) {
    const frame_bytes f = icmp_frame(icmp_message(8, 0, 0x4242, 7, "ping data 0123456789"));
    const auto p = ringcast::classify(view(f), me());
    EXPECT_EQ(p.kind, ringcast::packet_kind::icmp_echo);
    EXPECT_EQ(p.src_mac, peer_mac);
    EXPECT_EQ(p.src.ip, peer_ip);
}

TEST(net, ignores_non_echo_icmp) {
    expect_drop(icmp_frame(icmp_message(0, 0, 1, 1, "reply")), ringcast::drop::icmp_ignored); // echo reply
    expect_drop(icmp_frame(icmp_message(3, 3, 0, 0, "unreach")), ringcast::drop::icmp_ignored);
    expect_drop(icmp_frame(icmp_message(8, 1, 1, 1, "bad code")), ringcast::drop::icmp_ignored);
    frame_bytes bad_sum = icmp_frame(icmp_message(8, 0, 1, 1, "data"));
    bad_sum.back() ^= 0x01;
    expect_drop(bad_sum, ringcast::drop::icmp_ignored);
    frame_bytes f;
    push_eth(f, our_mac, peer_mac, 0x0800);
    ip_fields ip;
    ip.proto = 1;
    push_ipv4(f, ip, frame_bytes{8, 0, 0xF7, 0xFF}); // shorter than an echo header
    expect_drop(f, ringcast::drop::icmp_ignored);
}

TEST(net, make_arp_reply_answers_every_field) {
    frame_bytes f = arp_frame(1, our_ip, broadcast);
    f.resize(60, 0x5A); // padding stays as it was
    const frame_bytes before = f;
    ringcast::make_arp_reply(mut(f), me());
    ASSERT_EQ(f.size(), 60u);
    EXPECT_EQ(mac_at(f, 0), peer_mac); // Ethernet destination: the asker
    EXPECT_EQ(mac_at(f, 6), our_mac);
    EXPECT_EQ(get16(f, 12), 0x0806);
    EXPECT_EQ(get16(f, 14), 1);      // htype
    EXPECT_EQ(get16(f, 16), 0x0800); // ptype
    EXPECT_EQ(f[18], 6);
    EXPECT_EQ(f[19], 4);
    EXPECT_EQ(get16(f, 20), 2);         // reply
    EXPECT_EQ(mac_at(f, 22), our_mac);  // sha
    EXPECT_EQ(get32(f, 28), our_ip);    // spa
    EXPECT_EQ(mac_at(f, 32), peer_mac); // tha
    EXPECT_EQ(get32(f, 38), peer_ip);   // tpa
    for (size_t i = 42; i < 60; ++i) {
        EXPECT_EQ(f[i], before[i]) << i;
    }
}

TEST(net, make_arp_request_asks_for_the_target_from_us) {
    frame_bytes f(42, 0x77);
    ringcast::make_arp_request(mut(f), me(), peer_ip);
    EXPECT_EQ(f, arp_frame_from_us(peer_ip)) << "byte for byte the request the test builds";
    // The peer sees a request for its address, and our own port does not.
    ringcast::port_identity peer = me();
    peer.mac = peer_mac;
    peer.ipv4 = peer_ip;
    EXPECT_EQ(ringcast::classify(view(f), peer).kind, ringcast::packet_kind::arp_request);
    expect_drop(f, ringcast::drop::arp_ignored);
    // Its answer, made by the peer, tells us the peer's MAC.
    ringcast::make_arp_reply(mut(f), peer);
    const auto p = ringcast::classify(view(f), me());
    EXPECT_EQ(p.kind, ringcast::packet_kind::arp_reply);
    EXPECT_EQ(p.src_mac, peer_mac);
    EXPECT_EQ(p.src.ip, peer_ip);
}

TEST(net, make_icmp_echo_reply_swaps_addresses_and_fixes_checksums) {
    const std::string_view data = "0123456789abcdefghijklmnopq"; // odd length
    frame_bytes f = icmp_frame(icmp_message(8, 0, 0xBEEF, 0x0102, data), 5);
    const size_t len = f.size();
    f.resize(len + 7, 0xC3); // padding must not enter the ICMP checksum
    const frame_bytes req = f;
    ringcast::make_icmp_echo_reply(mut(f));
    ASSERT_EQ(f.size(), req.size());

    EXPECT_EQ(mac_at(f, 0), peer_mac);
    EXPECT_EQ(mac_at(f, 6), our_mac);
    EXPECT_EQ(get16(f, 12), 0x0800);
    EXPECT_EQ(f[14], 0x45);
    EXPECT_EQ(get16(f, 16), get16(req, 16)); // total length
    EXPECT_EQ(f[23], 1);                     // protocol ICMP
    EXPECT_GT(f[22], 0);                     // a usable TTL
    EXPECT_EQ(get16(f, 20) & 0x3FFF, 0);     // not a fragment
    EXPECT_EQ(get32(f, 26), our_ip);
    EXPECT_EQ(get32(f, 30), peer_ip);
    EXPECT_EQ(rfc1071(f.data() + 14, 20), 0) << "IPv4 header checksum";

    EXPECT_EQ(f[34], 0); // echo reply
    EXPECT_EQ(f[35], 0);
    EXPECT_EQ(get16(f, 38), 0xBEEF); // identifier
    EXPECT_EQ(get16(f, 40), 0x0102); // sequence
    for (size_t i = 42; i < len; ++i) {
        EXPECT_EQ(f[i], req[i]) << "data byte " << i;
    }
    EXPECT_EQ(rfc1071(f.data() + 34, len - 34), 0) << "ICMP checksum";
    for (size_t i = len; i < f.size(); ++i) {
        EXPECT_EQ(f[i], 0xC3) << "padding byte " << i;
    }
}

TEST(net, write_udp_headers_fills_every_field) {
    constexpr uint16_t payload_len = 123;
    frame_bytes f(42 + payload_len, 0xEE);
    ringcast::write_udp_headers(mut(f), our_mac, peer_mac, our_ip, peer_ip, our_port, peer_port, payload_len);

    EXPECT_EQ(mac_at(f, 0), peer_mac);
    EXPECT_EQ(mac_at(f, 6), our_mac);
    EXPECT_EQ(get16(f, 12), 0x0800);
    EXPECT_EQ(f[14], 0x45);
    EXPECT_EQ(get16(f, 16), 20 + 8 + payload_len);
    EXPECT_EQ(get16(f, 20) & 0x3FFF, 0); // MF clear, offset 0
    EXPECT_GT(f[22], 0);                 // TTL
    EXPECT_EQ(f[23], 17);
    EXPECT_EQ(get32(f, 26), our_ip);
    EXPECT_EQ(get32(f, 30), peer_ip);
    EXPECT_EQ(rfc1071(f.data() + 14, 20), 0) << "IPv4 header checksum";
    EXPECT_EQ(get16(f, 34), our_port);
    EXPECT_EQ(get16(f, 36), peer_port);
    EXPECT_EQ(get16(f, 38), 8 + payload_len);
    EXPECT_EQ(get16(f, 40), 0);
    for (size_t i = 42; i < f.size(); ++i) {
        EXPECT_EQ(f[i], 0xEE) << "payload byte " << i;
    }
}

TEST(net, write_udp_headers_checksum_holds_for_other_lengths_and_addresses) {
    for (uint16_t payload_len : {uint16_t{0}, uint16_t{1}, uint16_t{1458}, uint16_t{65507}}) {
        frame_bytes f(42, 0);
        ringcast::write_udp_headers(mut(f), our_mac, broadcast, 0x0A000001, 0xFFFFFFFE, 1, 65535,
                                    payload_len);
        EXPECT_EQ(rfc1071(f.data() + 14, 20), 0) << payload_len;
        EXPECT_EQ(get16(f, 16), 28 + payload_len);
        EXPECT_EQ(get16(f, 38), 8 + payload_len);
    }
}

TEST(net, frame_written_by_write_udp_headers_is_accepted_by_the_peer) {
    const frame_bytes payload = {0xC5, 0x15, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07};
    frame_bytes f(42 + payload.size());
    std::copy(payload.begin(), payload.end(), f.begin() + 42);
    ringcast::write_udp_headers(mut(f), our_mac, peer_mac, our_ip, peer_ip, our_port, peer_port,
                                static_cast<uint16_t>(payload.size()));
    ringcast::port_identity peer;
    peer.mac = peer_mac;
    peer.ipv4 = peer_ip;
    peer.udp_port = peer_port;
    const auto p = ringcast::classify(view(f), peer);
    ASSERT_EQ(p.kind, ringcast::packet_kind::udp);
    EXPECT_EQ(p.src.ip, our_ip);
    EXPECT_EQ(p.src.port, our_port);
    EXPECT_EQ(p.src_mac, our_mac);
    EXPECT_EQ(p.payload_len, payload.size());
}
