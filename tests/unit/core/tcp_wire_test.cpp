// TCP headers on byte spans: every segment is built byte by byte here, and
// the checksum is checked against the plain RFC 1071 loop below, never
// against the code under test.
#include <ringcast/core/tcp_wire.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

using ringcast::tcp_parse_status;
using ringcast::tcp_segment_view;
namespace tcp_flags = ringcast::tcp_flags;

using bytes = std::vector<uint8_t>;

static std::span<const std::byte> view(const bytes& b) {
    return std::as_bytes(std::span(b));
}

// A 20-byte header, then `options` (padded by the caller), then `payload`.
static bytes segment(std::initializer_list<uint8_t> options, std::initializer_list<uint8_t> payload = {},
                     int data_off_words = -1) {
    const auto hlen = static_cast<uint8_t>(20 + options.size());
    bytes b = {0x9c, 0x41,             // src port 40001
               0x1e, 0x14,             // dst port 7700
               0x12, 0x34, 0x56, 0x78, // seq
               0x9a, 0xbc, 0xde, 0xf0, // ack
               static_cast<uint8_t>((data_off_words >= 0 ? data_off_words : hlen / 4) << 4),
               0x12,                   // SYN|ACK
               0xfa, 0xf0,             // window 64240
               0x00, 0x00,             // checksum
               0x00, 0x00};            // urgent
    b.insert(b.end(), options);
    b.insert(b.end(), payload);
    return b;
}

// RFC 1071 with the IPv4 pseudo-header, 16 bits at a time.
static uint16_t reference_checksum(uint32_t src, uint32_t dst, const bytes& seg) {
    uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 +
                   static_cast<uint32_t>(seg.size());
    for (size_t i = 0; i < seg.size(); i += 2) {
        sum += uint32_t{seg[i]} << 8 | (i + 1 < seg.size() ? seg[i + 1] : 0);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

TEST(tcp_wire, parses_the_fixed_header) {
    const bytes b = segment({}, {'h', 'i'});
    tcp_segment_view v;
    ASSERT_EQ(ringcast::parse_tcp(view(b), v), tcp_parse_status::ok);
    EXPECT_EQ(v.hdr.src_port, 40001);
    EXPECT_EQ(v.hdr.dst_port, 7700);
    EXPECT_EQ(v.hdr.seq, 0x12345678u);
    EXPECT_EQ(v.hdr.ack, 0x9abcdef0u);
    EXPECT_EQ(v.hdr.flags, tcp_flags::syn | tcp_flags::ack);
    EXPECT_EQ(v.hdr.window, 64240);
    EXPECT_EQ(v.hdr.mss, 0);
    EXPECT_FALSE(v.hdr.has_wscale);
    EXPECT_EQ(v.header_len, 20u);
    ASSERT_EQ(v.payload.size(), 2u);
    EXPECT_EQ(v.payload[0], std::byte{'h'});
    EXPECT_EQ(v.seq_len(), 3u); // two bytes and the SYN
}

TEST(tcp_wire, parses_what_a_linux_syn_carries) {
    // Linux's SYN: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
    const bytes b = segment({2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7});
    tcp_segment_view v;
    ASSERT_EQ(ringcast::parse_tcp(view(b), v), tcp_parse_status::ok);
    EXPECT_EQ(v.hdr.mss, 1460);
    EXPECT_TRUE(v.hdr.has_wscale);
    EXPECT_EQ(v.hdr.wscale, 7);
    EXPECT_TRUE(v.hdr.sack_permitted);
    EXPECT_TRUE(v.hdr.has_timestamps);
    EXPECT_EQ(v.header_len, 40u);
    EXPECT_TRUE(v.payload.empty());
}

TEST(tcp_wire, clamps_a_window_scale_above_14_and_skips_unknown_options) {
    const bytes b = segment({30, 4, 0xaa, 0xbb, 1, 3, 3, 15});
    tcp_segment_view v;
    ASSERT_EQ(ringcast::parse_tcp(view(b), v), tcp_parse_status::ok);
    EXPECT_EQ(v.hdr.wscale, 14);
}

TEST(tcp_wire, stops_at_the_end_of_options_option) {
    // After kind 0 the rest is padding, even bytes that would not parse.
    const bytes b = segment({2, 4, 0x02, 0x18, 0, 0xff, 0xff, 0xff});
    tcp_segment_view v;
    ASSERT_EQ(ringcast::parse_tcp(view(b), v), tcp_parse_status::ok);
    EXPECT_EQ(v.hdr.mss, 536);
}

struct bad_case {
    const char* what;
    bytes seg;
    tcp_parse_status want;
};

TEST(tcp_wire, refuses_bad_input) {
    bytes short_header = segment({});
    short_header.resize(19);
    const std::vector<bad_case> cases = {
        {"empty", {}, tcp_parse_status::truncated},
        {"19 bytes", short_header, tcp_parse_status::truncated},
        {"data offset 4", segment({}, {}, 4), tcp_parse_status::bad_data_offset},
        {"data offset 0", segment({}, {}, 0), tcp_parse_status::bad_data_offset},
        {"data offset past the segment", segment({1, 1, 1, 1}, {}, 7), tcp_parse_status::bad_data_offset},
        {"option length 0", segment({2, 0, 1, 1}), tcp_parse_status::bad_option},
        {"option length 1", segment({30, 1, 1, 1}), tcp_parse_status::bad_option},
        {"option past the header", segment({1, 1, 30, 4}), tcp_parse_status::bad_option},
        {"kind without a length byte", segment({1, 1, 1, 2}), tcp_parse_status::bad_option},
        {"MSS of length 3", segment({2, 3, 5, 1}), tcp_parse_status::bad_option},
        {"window scale of length 4", segment({3, 4, 7, 0}), tcp_parse_status::bad_option},
        {"SACK-permitted of length 3", segment({4, 3, 0, 1}), tcp_parse_status::bad_option},
        {"timestamps of length 6", segment({8, 6, 0, 0, 0, 0, 1, 1}), tcp_parse_status::bad_option},
    };
    for (const auto& c : cases) {
        tcp_segment_view v;
        EXPECT_EQ(ringcast::parse_tcp(view(c.seg), v), c.want) << c.what;
    }
}

TEST(tcp_wire, a_payload_beside_options_is_what_follows_the_data_offset) {
    const bytes b = segment({2, 4, 0x05, 0xb4}, {1, 2, 3});
    tcp_segment_view v;
    ASSERT_EQ(ringcast::parse_tcp(view(b), v), tcp_parse_status::ok);
    EXPECT_EQ(v.header_len, 24u);
    ASSERT_EQ(v.payload.size(), 3u);
    EXPECT_EQ(v.payload[2], std::byte{3});
}

TEST(tcp_wire, writes_and_parses_back_a_syn_ack) {
    ringcast::tcp_header h;
    h.src_port = 7700;
    h.dst_port = 40001;
    h.seq = 0xfffffff0;
    h.ack = 7;
    h.flags = tcp_flags::syn | tcp_flags::ack;
    h.window = 65535;
    h.mss = 1460;
    h.has_wscale = true;
    h.wscale = 3;
    bytes b(ringcast::tcp_header_size(h), 0xee);
    ASSERT_EQ(b.size(), 28u);
    EXPECT_EQ(ringcast::write_tcp_header(std::as_writable_bytes(std::span(b)), h), 28u);
    // Byte for byte: data offset 7 words; MSS, then NOP and window scale.
    EXPECT_EQ(b[12], 0x70);
    EXPECT_EQ(b[13], 0x12);
    EXPECT_EQ((bytes{b.begin() + 20, b.end()}), (bytes{2, 4, 0x05, 0xb4, 1, 3, 3, 3}));
    tcp_segment_view v;
    ASSERT_EQ(ringcast::parse_tcp(view(b), v), tcp_parse_status::ok);
    EXPECT_EQ(v.hdr.src_port, h.src_port);
    EXPECT_EQ(v.hdr.dst_port, h.dst_port);
    EXPECT_EQ(v.hdr.seq, h.seq);
    EXPECT_EQ(v.hdr.ack, h.ack);
    EXPECT_EQ(v.hdr.flags, h.flags);
    EXPECT_EQ(v.hdr.window, h.window);
    EXPECT_EQ(v.hdr.mss, 1460);
    EXPECT_TRUE(v.hdr.has_wscale);
    EXPECT_EQ(v.hdr.wscale, 3);
    EXPECT_FALSE(v.hdr.sack_permitted);
    EXPECT_FALSE(v.hdr.has_timestamps);
}

TEST(tcp_wire, writes_no_options_unless_asked) {
    ringcast::tcp_header h;
    h.flags = tcp_flags::ack;
    EXPECT_EQ(ringcast::tcp_header_size(h), 20u);
    h.mss = 536;
    EXPECT_EQ(ringcast::tcp_header_size(h), 24u); // MSS without window scale: the SYN had none
    bytes b(24);
    EXPECT_EQ(ringcast::write_tcp_header(std::as_writable_bytes(std::span(b)), h), 24u);
    EXPECT_EQ(b[12], 0x60);
}

TEST(tcp_wire, checksum_matches_rfc_1071_and_verifies_to_zero) {
    constexpr uint32_t src = 0xC0000201; // 192.0.2.1
    constexpr uint32_t dst = 0xC0000242;
    for (const bytes& payload : {bytes{}, bytes{'a'}, bytes{'a', 'b', 'c', 'd', 'e'}}) {
        bytes b = segment({2, 4, 0x05, 0xb4});
        b.insert(b.end(), payload.begin(), payload.end());
        const uint16_t want = reference_checksum(src, dst, b);
        EXPECT_EQ(ringcast::tcp_checksum(src, dst, view(b)), want);
        ringcast::set_tcp_checksum(std::as_writable_bytes(std::span(b)), src, dst);
        EXPECT_EQ((uint16_t{b[16]} << 8) | b[17], want);
        EXPECT_EQ(ringcast::tcp_checksum(src, dst, view(b)), 0) << "a stored checksum verifies to 0";
        b[21] ^= 0x01;
        EXPECT_NE(ringcast::tcp_checksum(src, dst, view(b)), 0);
    }
}

TEST(tcp_wire, random_bytes_never_parse_past_the_span) {
    uint32_t rng = 1;
    for (int i = 0; i < 20000; ++i) {
        rng = rng * 1664525u + 1013904223u;
        bytes b((rng >> 8) % 80);
        for (auto& x : b) {
            rng = rng * 1664525u + 1013904223u;
            x = static_cast<uint8_t>(rng >> 24);
        }
        if (b.size() > 12 && (i & 1) == 0) {
            b[12] = static_cast<uint8_t>((5 + i % 11) << 4); // a plausible data offset, so options are walked
        }
        tcp_segment_view v;
        if (ringcast::parse_tcp(view(b), v) == tcp_parse_status::ok) {
            ASSERT_GE(v.header_len, 20u);
            ASSERT_EQ(v.header_len + v.payload.size(), b.size());
            ASSERT_LE(v.hdr.wscale, 14);
        }
    }
}
