// MQTT packets out of a byte stream: whole packets handed on in place,
// packets split anywhere (every cut of a stream, byte by byte) put together
// without a short packet taking the next one's bytes, and a stream that
// breaks framing dead.
#include <ringcast/core/mqtt_stream.hpp>

#include "stream_cuts.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

using namespace ringcast;
using namespace ringcast::mqtt;

namespace {

using buf = std::vector<std::byte>;

buf packet(int first, const std::string& body) {
    buf out{std::byte(first)};
    std::array<std::byte, 4> len{};
    const size_t n = encode_remaining_length(static_cast<uint32_t>(body.size()), len);
    out.insert(out.end(), len.begin(), len.begin() + static_cast<std::ptrdiff_t>(n));
    for (const char c : body) {
        out.push_back(std::byte(c));
    }
    return out;
}

struct seen {
    packet_type type;
    std::string body;
    bool operator==(const seen&) const = default;
};

std::vector<seen> feed_cut(mqtt_stream& s, std::span<const std::byte> stream, const std::vector<size_t>& cuts,
                           stream_verdict* last = nullptr) {
    std::vector<seen> out;
    const stream_verdict v = test::feed_at_cuts(s, stream, cuts, [&](const packet_view& p) {
        out.push_back({p.header.type, std::string(reinterpret_cast<const char*>(p.body.data()), p.body.size())});
    });
    if (last != nullptr) {
        *last = v;
    }
    return out;
}

// A PINGREQ (2 bytes, shorter than the longest fixed header), a PUBLISH
// with a 2-byte remaining length, a PUBACK, a DISCONNECT.
buf four_packets() {
    buf s;
    for (const buf& p : {packet(0xC0, ""), packet(0x30, std::string("\0\x03""a/b", 5) + std::string(300, 'p')),
                         packet(0x40, std::string("\0\x07", 2)), packet(0xE0, "")}) {
        s.insert(s.end(), p.begin(), p.end());
    }
    return s;
}

const std::vector<seen> four_seen = {{packet_type::pingreq, ""},
                                     {packet_type::publish, std::string("\0\x03""a/b", 5) + std::string(300, 'p')},
                                     {packet_type::puback, std::string("\0\x07", 2)},
                                     {packet_type::disconnect, ""}};

} // namespace

TEST(mqtt_stream, wholePacketsInOneSegmentAreHandedOnInPlace) {
    mqtt_stream s(1024);
    const buf stream = four_packets();
    std::vector<const std::byte*> where;
    const stream_verdict v = s.feed(stream, [&](const packet_view& p) { where.push_back(p.body.data()); });
    EXPECT_TRUE(v.ok());
    ASSERT_EQ(where.size(), 4U);
    EXPECT_EQ(where[1], stream.data() + 2 + 3) << "the PUBLISH's body is a view into the segment";
    EXPECT_EQ(s.buffered(), 0U);
}

TEST(mqtt_stream, everyCutOfTheStreamGivesTheSamePackets) {
    const buf stream = four_packets();
    for (size_t cut = 1; cut < stream.size(); ++cut) {
        mqtt_stream s(1024);
        EXPECT_EQ(feed_cut(s, stream, {cut}), four_seen) << "cut at " << cut;
        EXPECT_EQ(s.buffered(), 0U);
    }
}

TEST(mqtt_stream, byteByByteGivesTheSamePackets) {
    const buf stream = four_packets();
    mqtt_stream s(1024);
    EXPECT_EQ(feed_cut(s, stream, test::every_byte(stream.size())), four_seen);
}

TEST(mqtt_stream, aPacketBeyondTheLimitKillsTheStream) {
    mqtt_stream s(64);
    const buf big = packet(0x30, std::string("\0\x01""a", 3) + std::string(100, 'p'));
    stream_verdict v;
    EXPECT_TRUE(feed_cut(s, big, {3}, &v).empty());
    EXPECT_EQ(v.status, decode_status::too_long);
    EXPECT_TRUE(s.dead());
    EXPECT_EQ(s.feed(four_packets(), [](const packet_view&) { FAIL() << "nothing after death"; }).status,
              decode_status::too_long);
    s.reset();
    EXPECT_FALSE(s.dead());
    EXPECT_EQ(feed_cut(s, four_packets(), {}, &v), (std::vector<seen>{{packet_type::pingreq, ""}}))
        << "a new stream: the PINGREQ, then the PUBLISH is beyond 64 bytes too";
    EXPECT_EQ(v.status, decode_status::too_long);
}

TEST(mqtt_stream, aBadFixedHeaderKillsTheStreamAfterThePacketsBeforeIt) {
    const struct {
        buf bad;
        decode_status want;
    } cases[] = {
        {buf{std::byte(0x00), std::byte(0x00)}, decode_status::bad_type},
        {buf{std::byte(0x60), std::byte(0x02)}, decode_status::reserved_flags}, // PUBREL without 0010
        {buf{std::byte(0x31 | 0x06), std::byte(0x00)}, decode_status::reserved_flags},
        {buf{std::byte(0x30), std::byte(0xFF), std::byte(0xFF), std::byte(0xFF), std::byte(0xFF), std::byte(0x01)},
         decode_status::bad_length},
    };
    for (const auto& c : cases) {
        buf stream = packet(0xC0, "");
        stream.insert(stream.end(), c.bad.begin(), c.bad.end());
        for (size_t cut = 1; cut < stream.size(); ++cut) {
            mqtt_stream s(1024);
            stream_verdict v;
            const auto got = feed_cut(s, stream, {cut}, &v);
            EXPECT_EQ(got, (std::vector<seen>{{packet_type::pingreq, ""}})) << "cut at " << cut;
            EXPECT_EQ(v.status, c.want) << "cut at " << cut;
        }
    }
}
