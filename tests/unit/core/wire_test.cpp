// RCP/1 frames: parse_frame on good and bad datagrams, write_frame and
// rewrite_header. Expected bytes are built by hand here, never by the code
// under test.
#include <ringcast/core/wire.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using bytes = std::vector<std::byte>;

struct raw_header {
    uint8_t magic = 0xC5;
    uint8_t ver_op = 0x14; // version 1, PUB
    uint8_t flags = 0;
    uint8_t topic_len = 0;
    uint32_t payload_len = 0;
    uint64_t seq = 0;
};

static void put_u8(bytes& b, uint8_t v) {
    b.push_back(std::byte{v});
}

static void put_be(bytes& b, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
        put_u8(b, static_cast<uint8_t>(v >> (8 * i)));
    }
}

static void put_str(bytes& b, std::string_view s) {
    for (char c : s) {
        put_u8(b, static_cast<uint8_t>(c));
    }
}

// Appends a header with exactly the given fields, then the given topic and
// payload bytes (which may disagree with the lengths in the header).
static void append_raw(bytes& b, const raw_header& h, std::string_view topic, std::string_view payload) {
    put_u8(b, h.magic);
    put_u8(b, h.ver_op);
    put_u8(b, h.flags);
    put_u8(b, h.topic_len);
    put_be(b, h.payload_len, 4);
    put_be(b, h.seq, 8);
    put_str(b, topic);
    put_str(b, payload);
}

// Appends a well-formed frame.
static void append_frame(bytes& b, uint8_t op, uint8_t flags, uint64_t seq, std::string_view topic,
                         std::string_view payload) {
    raw_header h;
    h.ver_op = static_cast<uint8_t>(0x10 | op);
    h.flags = flags;
    h.topic_len = static_cast<uint8_t>(topic.size());
    h.payload_len = static_cast<uint32_t>(payload.size());
    h.seq = seq;
    append_raw(b, h, topic, payload);
}

static bytes frame(uint8_t op, uint8_t flags, uint64_t seq, std::string_view topic,
                   std::string_view payload) {
    bytes b;
    append_frame(b, op, flags, seq, topic, payload);
    return b;
}

static std::string_view str(std::span<const std::byte> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

TEST(wire, header_is_sixteen_bytes_with_fields_at_design_offsets) {
    EXPECT_EQ(ringcast::frame_header_size, 16u);
    EXPECT_EQ(ringcast::frame_off::magic, 0u);
    EXPECT_EQ(ringcast::frame_off::ver_op, 1u);
    EXPECT_EQ(ringcast::frame_off::flags, 2u);
    EXPECT_EQ(ringcast::frame_off::topic_len, 3u);
    EXPECT_EQ(ringcast::frame_off::payload_len, 4u);
    EXPECT_EQ(ringcast::frame_off::seq, 8u);
    EXPECT_EQ(ringcast::frame_off::topic, 16u);
    EXPECT_EQ(ringcast::frame_size(3, 5), 24u);
}

TEST(wire, load_be_reads_big_endian_at_misaligned_offsets) {
    bytes b;
    for (int i = 0; i < 32; ++i) {
        put_u8(b, static_cast<uint8_t>(0x10 + i));
    }
    for (size_t off = 0; off < 9; ++off) {
        const auto v0 = static_cast<uint64_t>(0x10 + off);
        EXPECT_EQ(ringcast::load_be<uint8_t>(b, off), v0);
        EXPECT_EQ(ringcast::load_be<uint16_t>(b, off), (v0 << 8) | (v0 + 1)) << off;
        uint32_t want32 = 0;
        uint64_t want64 = 0;
        for (uint64_t i = 0; i < 8; ++i) {
            if (i < 4) {
                want32 = (want32 << 8) | static_cast<uint32_t>(v0 + i);
            }
            want64 = (want64 << 8) | (v0 + i);
        }
        EXPECT_EQ(ringcast::load_be<uint32_t>(b, off), want32) << off;
        EXPECT_EQ(ringcast::load_be<uint64_t>(b, off), want64) << off;
    }
}

TEST(wire, store_be_writes_big_endian_at_misaligned_offsets) {
    for (size_t off = 1; off < 8; off += 2) {
        bytes b(24, std::byte{0xEE});
        ringcast::store_be<uint64_t>(b, off, 0x0102030405060708ULL);
        for (size_t i = 0; i < b.size(); ++i) {
            const bool inside = i >= off && i < off + 8;
            const auto want = inside ? std::byte(i - off + 1) : std::byte{0xEE};
            EXPECT_EQ(b[i], want) << "off " << off << " byte " << i;
        }
        EXPECT_EQ(ringcast::load_be<uint64_t>(b, off), 0x0102030405060708ULL);
        ringcast::store_be<uint16_t>(b, off, 0xBEEF);
        EXPECT_EQ(b[off], std::byte{0xBE});
        EXPECT_EQ(b[off + 1], std::byte{0xEF});
    }
}

TEST(wire, parses_every_op) {
    for (uint8_t code = 1; code <= 11; ++code) {
        const bytes b = frame(code, 0, 7, "t", "p");
        const auto r = ringcast::parse_frame(b, 0);
        ASSERT_EQ(r.status, ringcast::parse_status::ok) << int(code);
        EXPECT_EQ(static_cast<uint8_t>(r.frame.code), code);
        EXPECT_NE(ringcast::to_string(r.frame.code), "?");
        EXPECT_EQ(r.frame.seq, 7u);
        EXPECT_EQ(r.err_seq, 7u);
    }
}

TEST(wire, op_names_follow_the_design) {
    EXPECT_EQ(ringcast::to_string(ringcast::op::hello), "HELLO");
    EXPECT_EQ(ringcast::to_string(ringcast::op::pub), "PUB");
    EXPECT_EQ(ringcast::to_string(ringcast::op::msg), "MSG");
    EXPECT_EQ(ringcast::to_string(ringcast::op::bye), "BYE");
    EXPECT_EQ(ringcast::to_string(static_cast<ringcast::op>(12)), "?");
    EXPECT_EQ(ringcast::to_string(ringcast::err_code::malformed), "MALFORMED");
    EXPECT_EQ(ringcast::to_string(ringcast::err_code::unknown_op), "UNKNOWN_OP");
    EXPECT_EQ(ringcast::to_string(static_cast<ringcast::err_code>(9)), "?");
}

TEST(wire, reports_flags_seq_topic_and_payload) {
    const bytes b = frame(4, 0x0A, 0x0102030405060708ULL, "sensors/temp", "21.5C");
    const auto r = ringcast::parse_frame(b, 0);
    ASSERT_EQ(r.status, ringcast::parse_status::ok);
    const auto& f = r.frame;
    EXPECT_EQ(f.code, ringcast::op::pub);
    EXPECT_EQ(f.flags, 0x0A);
    EXPECT_EQ(f.qos(), 2);
    EXPECT_TRUE(f.flags & ringcast::flags::retain);
    EXPECT_EQ(f.seq, 0x0102030405060708ULL);
    EXPECT_EQ(f.topic_str(), "sensors/temp");
    EXPECT_EQ(str(f.topic), "sensors/temp");
    EXPECT_EQ(str(f.payload), "21.5C");
    EXPECT_EQ(f.offset, 0u);
    EXPECT_EQ(f.size, 16u + 12u + 5u);
    // The views point into the datagram, not at copies.
    EXPECT_EQ(f.topic.data(), b.data() + 16);
    EXPECT_EQ(f.payload.data(), b.data() + 28);
}

TEST(wire, keeps_unknown_flag_bits) {
    const bytes b = frame(2, 0xE7, 1, "a", "");
    const auto r = ringcast::parse_frame(b, 0);
    ASSERT_EQ(r.status, ringcast::parse_status::ok);
    EXPECT_EQ(r.frame.flags, 0xE7);
    EXPECT_EQ(r.frame.qos(), 3);
}

TEST(wire, walks_frames_back_to_back_by_offset) {
    bytes b;
    append_frame(b, 2, 0, 1, "a", "");                       // 17 bytes: the next header is misaligned
    append_frame(b, 4, 1, 2, "bb", "payload");               // at 17
    append_frame(b, 8, 0, 0xFFFFFFFFFFFFFFFFULL, "", "xyz"); // at 42
    append_frame(b, 11, 0, 4, "", "");                       // at 61
    struct want {
        ringcast::op code;
        uint64_t seq;
        std::string_view topic;
        std::string_view payload;
        uint32_t offset;
    };
    const std::vector<want> wants = {
        {ringcast::op::sub, 1, "a", "", 0},
        {ringcast::op::pub, 2, "bb", "payload", 17},
        {ringcast::op::ping, 0xFFFFFFFFFFFFFFFFULL, "", "xyz", 42},
        {ringcast::op::bye, 4, "", "", 61},
    };
    size_t off = 0;
    size_t i = 0;
    while (off < b.size()) {
        const auto r = ringcast::parse_frame(b, off);
        ASSERT_EQ(r.status, ringcast::parse_status::ok) << "frame " << i;
        ASSERT_LT(i, wants.size());
        EXPECT_EQ(r.frame.code, wants[i].code);
        EXPECT_EQ(r.frame.seq, wants[i].seq);
        EXPECT_EQ(r.frame.topic_str(), wants[i].topic);
        EXPECT_EQ(str(r.frame.payload), wants[i].payload);
        EXPECT_EQ(r.frame.offset, wants[i].offset);
        off += r.frame.size;
        ++i;
    }
    EXPECT_EQ(i, wants.size());
    EXPECT_EQ(off, b.size());
}

TEST(wire, parses_frame_after_a_42_byte_l2_l4_header) {
    bytes b(42, std::byte{0});
    append_frame(b, 4, 0, 0x1122334455667788ULL, "t/1", "hi");
    const auto r = ringcast::parse_frame(b, 42);
    ASSERT_EQ(r.status, ringcast::parse_status::ok);
    EXPECT_EQ(r.frame.seq, 0x1122334455667788ULL);
    EXPECT_EQ(r.frame.offset, 42u);
    EXPECT_EQ(r.frame.topic_str(), "t/1");
    EXPECT_EQ(str(r.frame.payload), "hi");
}

TEST(wire, accepts_empty_topic_and_payload) {
    const bytes b = frame(8, 0, 9, "", "");
    const auto r = ringcast::parse_frame(b, 0);
    ASSERT_EQ(r.status, ringcast::parse_status::ok);
    EXPECT_TRUE(r.frame.topic.empty());
    EXPECT_TRUE(r.frame.payload.empty());
    EXPECT_EQ(r.frame.size, 16u);
}

TEST(wire, accepts_255_byte_topic) {
    const std::string topic(255, 'x');
    const bytes b = frame(4, 0, 1, topic, "p");
    const auto r = ringcast::parse_frame(b, 0);
    ASSERT_EQ(r.status, ringcast::parse_status::ok);
    EXPECT_EQ(r.frame.topic.size(), 255u);
    EXPECT_EQ(r.frame.topic_str(), topic);
    EXPECT_EQ(str(r.frame.payload), "p");
    EXPECT_EQ(r.frame.size, 16u + 255u + 1u);
}

TEST(wire, refuses_header_shorter_than_16_bytes_with_err_seq_0) {
    const bytes good = frame(4, 0, 0xABCDEF, "t", "p");
    for (size_t n = 0; n < 16; ++n) {
        const bytes b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
        const auto r = ringcast::parse_frame(b, 0);
        EXPECT_EQ(r.status, ringcast::parse_status::truncated) << n;
        EXPECT_EQ(r.err_seq, 0u) << n;
        EXPECT_EQ(ringcast::to_err_code(r.status), ringcast::err_code::malformed) << n;
    }
}

TEST(wire, refuses_short_header_after_a_good_frame) {
    for (size_t n = 1; n < 16; ++n) {
        bytes b = frame(2, 0, 5, "a", "");
        const size_t first = b.size();
        const bytes next = frame(4, 0, 0xABCDEF, "t", "p");
        b.insert(b.end(), next.begin(), next.begin() + static_cast<std::ptrdiff_t>(n));
        const auto r0 = ringcast::parse_frame(b, 0);
        ASSERT_EQ(r0.status, ringcast::parse_status::ok);
        ASSERT_EQ(r0.frame.size, first);
        const auto r1 = ringcast::parse_frame(b, first);
        EXPECT_EQ(r1.status, ringcast::parse_status::truncated) << n;
        EXPECT_EQ(r1.err_seq, 0u) << n;
    }
}

struct bad_case {
    const char* name;
    bytes datagram;
    ringcast::parse_status status;
    uint64_t err_seq;
    ringcast::err_code code;
};

static bytes raw(const raw_header& h, std::string_view topic, std::string_view payload) {
    bytes b;
    append_raw(b, h, topic, payload);
    return b;
}

static raw_header hdr(uint8_t ver_op, uint8_t topic_len, uint32_t payload_len, uint64_t seq) {
    raw_header h;
    h.ver_op = ver_op;
    h.topic_len = topic_len;
    h.payload_len = payload_len;
    h.seq = seq;
    return h;
}

static std::vector<bad_case> bad_corpus() {
    using ringcast::err_code;
    using ringcast::parse_status;
    raw_header bad_magic = hdr(0x14, 1, 1, 0x44);
    bad_magic.magic = 0xC4;
    raw_header zero_magic = hdr(0x14, 0, 0, 0x45);
    zero_magic.magic = 0x00;
    const std::string t255(255, 't');
    return {
        {"topic_len_past_datagram", raw(hdr(0x14, 10, 0, 0x11), "short", ""), parse_status::truncated, 0x11,
         err_code::malformed},
        {"topic_len_past_datagram_by_1", raw(hdr(0x12, 4, 0, 0x12), "abc", ""), parse_status::truncated, 0x12,
         err_code::malformed},
        {"topic_len_255_no_bytes", raw(hdr(0x12, 255, 0, 0x13), "", ""), parse_status::truncated, 0x13,
         err_code::malformed},
        {"payload_len_past_datagram_by_1", raw(hdr(0x14, 1, 5, 0x21), "t", "1234"), parse_status::truncated,
         0x21, err_code::malformed},
        {"payload_len_0xffffffff", raw(hdr(0x14, 1, 0xFFFFFFFFu, 0x22), "t", "abcdefgh"),
         parse_status::truncated, 0x22, err_code::malformed},
        // 16 + 255 + 0xFFFFFEF1 == 2^32: wraps to 0 in 32-bit arithmetic.
        {"total_exactly_2_pow_32", raw(hdr(0x14, 255, 0xFFFFFEF1u, 0x23), t255, "abc"),
         parse_status::truncated, 0x23, err_code::malformed},
        // 16 + 0 + 0xFFFFFFF0 == 2^32, payload_len alone wraps the sum.
        {"payload_len_wraps_header", raw(hdr(0x14, 0, 0xFFFFFFF0u, 0x24), "", "abcdefgh"),
         parse_status::truncated, 0x24, err_code::malformed},
        {"wrong_magic", raw(bad_magic, "t", "p"), parse_status::bad_magic, 0x44, err_code::malformed},
        {"zero_magic", raw(zero_magic, "", ""), parse_status::bad_magic, 0x45, err_code::malformed},
        {"version_0", raw(hdr(0x04, 1, 1, 0x50), "t", "p"), parse_status::bad_version, 0x50,
         err_code::version},
        {"version_2", raw(hdr(0x24, 1, 1, 0x51), "t", "p"), parse_status::bad_version, 0x51,
         err_code::version},
        {"version_15", raw(hdr(0xF4, 0, 0, 0x52), "", ""), parse_status::bad_version, 0x52,
         err_code::version},
        {"op_0", raw(hdr(0x10, 1, 1, 0x60), "t", "p"), parse_status::unknown_op, 0x60, err_code::unknown_op},
        {"op_12", raw(hdr(0x1C, 1, 1, 0x61), "t", "p"), parse_status::unknown_op, 0x61, err_code::unknown_op},
        {"op_15", raw(hdr(0x1F, 1, 1, 0x62), "t", "p"), parse_status::unknown_op, 0x62, err_code::unknown_op},
        {"op_12_empty", raw(hdr(0x1C, 0, 0, 0xFFFFFFFFFFFFFFFFULL), "", ""), parse_status::unknown_op,
         0xFFFFFFFFFFFFFFFFULL, err_code::unknown_op},
    };
}

TEST(wire, refuses_bad_frames_with_status_err_seq_and_code) {
    for (const auto& c : bad_corpus()) {
        SCOPED_TRACE(c.name);
        const auto r = ringcast::parse_frame(c.datagram, 0);
        EXPECT_EQ(r.status, c.status);
        EXPECT_EQ(r.err_seq, c.err_seq);
        EXPECT_EQ(ringcast::to_err_code(r.status), c.code);
    }
}

TEST(wire, refuses_bad_frame_after_good_frames) {
    // Earlier whole frames stand; the bad one is reported with its own seq.
    for (const auto& c : bad_corpus()) {
        SCOPED_TRACE(c.name);
        bytes b = frame(2, 0, 1, "a/b", "");
        append_frame(b, 4, 0, 2, "a/b", "x");
        const size_t bad_off = b.size();
        b.insert(b.end(), c.datagram.begin(), c.datagram.end());
        size_t off = 0;
        for (int i = 0; i < 2; ++i) {
            const auto r = ringcast::parse_frame(b, off);
            ASSERT_EQ(r.status, ringcast::parse_status::ok);
            off += r.frame.size;
        }
        ASSERT_EQ(off, bad_off);
        const auto r = ringcast::parse_frame(b, off);
        EXPECT_EQ(r.status, c.status);
        EXPECT_EQ(r.err_seq, c.err_seq);
    }
}

TEST(wire, refuses_payload_length_past_datagram) {
    bytes b = frame(4, 0, 3, "t", "12345");
    EXPECT_EQ(ringcast::parse_frame(b, 0).status, ringcast::parse_status::ok);
    b.pop_back();
    const auto r = ringcast::parse_frame(b, 0);
    EXPECT_EQ(r.status, ringcast::parse_status::truncated);
    EXPECT_EQ(r.err_seq, 3u);
}

TEST(wire, maps_every_parse_status_to_an_err_code) {
    EXPECT_EQ(ringcast::to_err_code(ringcast::parse_status::truncated), ringcast::err_code::malformed);
    EXPECT_EQ(ringcast::to_err_code(ringcast::parse_status::bad_magic), ringcast::err_code::malformed);
    EXPECT_EQ(ringcast::to_err_code(ringcast::parse_status::bad_version), ringcast::err_code::version);
    EXPECT_EQ(ringcast::to_err_code(ringcast::parse_status::unknown_op), ringcast::err_code::unknown_op);
}

TEST(wire, write_frame_matches_hand_built_bytes) {
    const bytes want = frame(5, 0x10, 0x0A0B0C0D0E0F1011ULL, "a/b", "hello");
    bytes out(64, std::byte{0xEE});
    const size_t n = ringcast::write_frame(out, ringcast::op::msg, 0x10, 0x0A0B0C0D0E0F1011ULL,
                                           ringcast::as_bytes("a/b"), ringcast::as_bytes("hello"));
    ASSERT_EQ(n, want.size());
    EXPECT_TRUE(std::equal(want.begin(), want.end(), out.begin()));
    EXPECT_EQ(out[n], std::byte{0xEE}); // nothing written past the frame
}

TEST(wire, write_frame_round_trips_through_parse_frame) {
    const std::string t255(255, 'z');
    const std::string big_payload(1000, 'q');
    struct rt_case {
        ringcast::op code;
        uint8_t flags;
        uint64_t seq;
        std::string_view topic;
        std::string_view payload;
    };
    const std::vector<rt_case> cases = {
        {ringcast::op::hello, 0, 0, "", "token"},
        {ringcast::op::sub, ringcast::flags::replay, 17, "a/+/c", ""},
        {ringcast::op::unsub, 0, 18, "a/#", ""},
        {ringcast::op::pub, 0x09, 0xFFFFFFFFFFFFFFFFULL, "sensors/t", "21.5"},
        {ringcast::op::msg, ringcast::flags::replayed, 1, t255, big_payload},
        {ringcast::op::ack, 0, 99, "", ""},
        {ringcast::op::nack, 0, 5, "x", std::string_view("\x00\x00\x00\x03", 4)},
        {ringcast::op::ping, 0, 7, "", "abc"},
        {ringcast::op::pong, 0, 7, "", "abc"},
        {ringcast::op::err, 2, 8, "", "bad version"},
        {ringcast::op::bye, 0, 9, "", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(ringcast::to_string(c.code)));
        bytes out(ringcast::frame_size(c.topic.size(), c.payload.size()));
        const size_t n = ringcast::write_frame(out, c.code, c.flags, c.seq, ringcast::as_bytes(c.topic),
                                               ringcast::as_bytes(c.payload));
        ASSERT_EQ(n, out.size());
        const auto r = ringcast::parse_frame(out, 0);
        ASSERT_EQ(r.status, ringcast::parse_status::ok);
        EXPECT_EQ(r.frame.code, c.code);
        EXPECT_EQ(r.frame.flags, c.flags);
        EXPECT_EQ(r.frame.seq, c.seq);
        EXPECT_EQ(r.frame.topic_str(), c.topic);
        EXPECT_EQ(str(r.frame.payload), c.payload);
        EXPECT_EQ(r.frame.size, n);
    }
}

TEST(wire, write_frame_refuses_buffer_one_byte_short) {
    bytes out(16 + 3 + 5 - 1);
    EXPECT_EQ(ringcast::write_frame(out, ringcast::op::pub, 0, 1, ringcast::as_bytes("a/b"),
                                    ringcast::as_bytes("hello")),
              0u);
    bytes exact(16 + 3 + 5);
    EXPECT_EQ(ringcast::write_frame(exact, ringcast::op::pub, 0, 1, ringcast::as_bytes("a/b"),
                                    ringcast::as_bytes("hello")),
              exact.size());
}

TEST(wire, write_frame_refuses_buffer_shorter_than_header) {
    for (size_t n = 0; n < 16; ++n) {
        bytes out(n);
        EXPECT_EQ(ringcast::write_frame(out, ringcast::op::ping, 0, 1, {}, {}), 0u) << n;
    }
}

TEST(wire, write_frame_refuses_topic_longer_than_255) {
    const std::string t256(256, 'x');
    bytes out(1024);
    EXPECT_EQ(ringcast::write_frame(out, ringcast::op::pub, 0, 1, ringcast::as_bytes(t256), {}), 0u);
    const std::string t255(255, 'x');
    EXPECT_EQ(ringcast::write_frame(out, ringcast::op::pub, 0, 1, ringcast::as_bytes(t255), {}), 16u + 255u);
}

TEST(wire, rewrite_header_turns_pub_into_msg_and_keeps_topic_and_payload) {
    bytes b(42, std::byte{0x5A}); // as after an L2-L4 header: seq misaligned
    append_frame(b, 4, 0x09, 0x77, "room/1/temp", "payload bytes");
    const bytes before = b;
    auto f = std::span<std::byte>(b).subspan(42);
    ringcast::rewrite_header(f, ringcast::op::msg, 0, 0x0000000100000002ULL);

    // Hand check of the header bytes.
    EXPECT_EQ(b[42 + 0], std::byte{0xC5});
    EXPECT_EQ(b[42 + 1], std::byte{0x15});
    EXPECT_EQ(b[42 + 2], std::byte{0x00});
    EXPECT_EQ(b[42 + 3], std::byte{11});
    for (size_t i = 4; i < 8; ++i) {
        EXPECT_EQ(b[42 + i], before[42 + i]) << "payload_len byte " << i;
    }
    const uint8_t seq_bytes[8] = {0, 0, 0, 1, 0, 0, 0, 2};
    for (size_t i = 0; i < 8; ++i) {
        EXPECT_EQ(b[42 + 8 + i], std::byte{seq_bytes[i]}) << "seq byte " << i;
    }
    // Everything before the frame and from the topic on is untouched.
    EXPECT_TRUE(std::equal(b.begin(), b.begin() + 42, before.begin()));
    EXPECT_TRUE(std::equal(b.begin() + 58, b.end(), before.begin() + 58));

    const auto r = ringcast::parse_frame(b, 42);
    ASSERT_EQ(r.status, ringcast::parse_status::ok);
    EXPECT_EQ(r.frame.code, ringcast::op::msg);
    EXPECT_EQ(r.frame.flags, 0);
    EXPECT_EQ(r.frame.seq, 0x0000000100000002ULL);
    EXPECT_EQ(r.frame.topic_str(), "room/1/temp");
    EXPECT_EQ(str(r.frame.payload), "payload bytes");
}
