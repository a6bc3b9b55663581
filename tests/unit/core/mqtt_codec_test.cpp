#include <ringcast/core/mqtt_codec.hpp>

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

using namespace ringcast::mqtt;

namespace {

using buf = std::vector<std::byte>;

buf b(std::initializer_list<int> v) {
    buf out;
    for (const int x : v) {
        out.push_back(std::byte(x));
    }
    return out;
}

buf operator+(buf a, const buf& c) {
    a.insert(a.end(), c.begin(), c.end());
    return a;
}

buf str(std::string_view s) {
    buf out = b({static_cast<int>(s.size() >> 8), static_cast<int>(s.size() & 0xFF)});
    for (const char ch : s) {
        out.push_back(std::byte(static_cast<unsigned char>(ch)));
    }
    return out;
}

std::string text(std::span<const std::byte> s) { return {reinterpret_cast<const char*>(s.data()), s.size()}; }

// CONNECT's variable header: "MQTT", level, flags, keep-alive.
buf connect_head(int flags, int keep_alive = 60, std::string_view name = "MQTT", int level = 4) {
    return str(name) + b({level, flags, keep_alive >> 8, keep_alive & 0xFF});
}

} // namespace

TEST(mqtt_fixed_header, everyRemainingLengthEdge) {
    // 2.2.3's table: the first and last value of each encoding size.
    const struct {
        buf bytes;
        uint32_t value;
        uint8_t header_size;
    } cases[] = {
        {b({0x00}), 0, 2},
        {b({0x7F}), 127, 2},
        {b({0x80, 0x01}), 128, 3},
        {b({0xFF, 0x7F}), 16'383, 3},
        {b({0x80, 0x80, 0x01}), 16'384, 4},
        {b({0xFF, 0xFF, 0x7F}), 2'097'151, 4},
        {b({0x80, 0x80, 0x80, 0x01}), 2'097'152, 5},
        {b({0xFF, 0xFF, 0xFF, 0x7F}), 268'435'455, 5},
        {b({0x80, 0x00}), 0, 3}, // not minimal, and 3.1.1 allows it
    };
    for (const auto& c : cases) {
        const buf packet = b({0xC0}) + c.bytes; // PINGREQ
        fixed_header h;
        ASSERT_EQ(parse_fixed_header(packet, max_remaining_length, h), decode_status::ok) << c.value;
        EXPECT_EQ(h.remaining, c.value);
        EXPECT_EQ(h.header_size, c.header_size);
        EXPECT_EQ(h.type, packet_type::pingreq);

        std::array<std::byte, 4> enc{};
        if (c.header_size - 1 == static_cast<int>(c.bytes.size()) && !(c.bytes.size() == 2 && c.value == 0)) {
            const size_t n = encode_remaining_length(c.value, enc);
            EXPECT_EQ(buf(enc.begin(), enc.begin() + static_cast<std::ptrdiff_t>(n)), c.bytes) << c.value;
        }
    }
}

TEST(mqtt_fixed_header, refusals) {
    const struct {
        buf bytes;
        decode_status want;
        const char* why;
    } cases[] = {
        {b({}), decode_status::need_more, "nothing yet"},
        {b({0x30}), decode_status::need_more, "no length byte yet"},
        {b({0x30, 0x80}), decode_status::need_more, "a length that goes on"},
        {b({0x30, 0xFF, 0xFF, 0xFF}), decode_status::need_more, "four length bytes, the last to come"},
        {b({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), decode_status::bad_length, "a fifth length byte"},
        {b({0x00, 0x00}), decode_status::bad_type, "type 0"},
        {b({0xF0, 0x00}), decode_status::bad_type, "type 15"},
        {b({0x36, 0x00}), decode_status::reserved_flags, "PUBLISH QoS 3"},
        {b({0x60, 0x02}), decode_status::reserved_flags, "PUBREL without 0010"},
        {b({0x80, 0x02}), decode_status::reserved_flags, "SUBSCRIBE without 0010"},
        {b({0xA0, 0x02}), decode_status::reserved_flags, "UNSUBSCRIBE without 0010"},
        {b({0x11, 0x00}), decode_status::reserved_flags, "CONNECT with a flag"},
        {b({0xC8, 0x00}), decode_status::reserved_flags, "PINGREQ with a flag"},
        {b({0xE2, 0x00}), decode_status::reserved_flags, "DISCONNECT with a flag"},
    };
    for (const auto& c : cases) {
        fixed_header h;
        EXPECT_EQ(parse_fixed_header(c.bytes, max_remaining_length, h), c.want) << c.why;
    }
}

TEST(mqtt_fixed_header, aLengthPastTheLimitIsTooLong) {
    fixed_header h;
    EXPECT_EQ(parse_fixed_header(b({0x30, 0x80, 0x08}), 1024, h), decode_status::ok) << "exactly the limit";
    EXPECT_EQ(parse_fixed_header(b({0x30, 0x81, 0x08}), 1024, h), decode_status::too_long);
}

TEST(mqtt_fixed_header, theFlagsEachTypeMustCarryAreAccepted) {
    for (const int first : {0x10, 0x20, 0x30, 0x3B, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xA2, 0xB0, 0xC0, 0xD0, 0xE0}) {
        fixed_header h;
        EXPECT_EQ(parse_fixed_header(b({first, 0x00}), max_remaining_length, h), decode_status::ok) << first;
        EXPECT_EQ(h.flags, first & 0x0F);
    }
}

TEST(mqtt_remaining_length, beyondTheLimitIsNotEncoded) {
    std::array<std::byte, 4> enc{};
    EXPECT_EQ(encode_remaining_length(max_remaining_length + 1, enc), 0U);
}

TEST(mqtt_connect, aFullConnectIsRead) {
    // clean session, will QoS 1 retained, username and password.
    const buf body = connect_head(0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80, 30) + str("dev-1") + str("last/will") +
                     str("gone") + str("alice") + str("s3cret");
    connect_packet c;
    ASSERT_EQ(parse_connect(body, c), decode_status::ok);
    EXPECT_EQ(c.client_id, "dev-1");
    EXPECT_TRUE(c.clean_session);
    EXPECT_EQ(c.keep_alive_s, 30);
    EXPECT_TRUE(c.will);
    EXPECT_EQ(c.will_qos, 1);
    EXPECT_TRUE(c.will_retain);
    EXPECT_EQ(c.will_topic, "last/will");
    EXPECT_EQ(text(c.will_payload), "gone");
    EXPECT_TRUE(c.has_username);
    EXPECT_EQ(c.username, "alice");
    EXPECT_TRUE(c.has_password);
    EXPECT_EQ(text(c.password), "s3cret");
}

TEST(mqtt_connect, aBareConnectWithAnEmptyIdIsRead) {
    connect_packet c;
    ASSERT_EQ(parse_connect(connect_head(0x02, 0) + str(""), c), decode_status::ok);
    EXPECT_EQ(c.client_id, "");
    EXPECT_FALSE(c.will);
    EXPECT_FALSE(c.has_username);
    EXPECT_EQ(c.keep_alive_s, 0);
}

TEST(mqtt_connect, refusals) {
    const struct {
        buf body;
        decode_status want;
        const char* why;
    } cases[] = {
        {connect_head(0x02, 60, "MQIsdp", 3) + str("x"), decode_status::bad_protocol, "MQTT 3.1"},
        {connect_head(0x02, 60, "MQTT", 5) + str("x"), decode_status::bad_protocol, "MQTT 5"},
        {connect_head(0x02, 60, "mqtt") + str("x"), decode_status::bad_protocol, "the name's case"},
        {connect_head(0x03) + str("x"), decode_status::malformed, "the reserved flag (3.1.2-3)"},
        {connect_head(0x02 | 0x18) + str("x"), decode_status::malformed, "no will, will QoS 3"},
        {connect_head(0x02 | 0x08) + str("x"), decode_status::malformed, "no will, a will QoS (3.1.2-13)"},
        {connect_head(0x02 | 0x20) + str("x"), decode_status::malformed, "no will, will retain (3.1.2-15)"},
        {connect_head(0x02 | 0x04 | 0x18) + str("x") + str("t") + str("p"), decode_status::malformed, "will QoS 3"},
        {connect_head(0x02 | 0x40) + str("x") + str("pw"), decode_status::malformed, "a password, no username"},
        {connect_head(0x02) + str("x") + b({0x00}), decode_status::malformed, "a byte after the last field"},
        {connect_head(0x02) + b({0x00, 0x05, 'a'}), decode_status::malformed, "an id longer than the packet"},
        {connect_head(0x02), decode_status::malformed, "no id at all"},
        {connect_head(0x02 | 0x04) + str("x") + str("t"), decode_status::malformed, "a will topic, no message"},
        {connect_head(0x02 | 0x04) + str("x") + str("t/+") + str("m"), decode_status::bad_topic, "a will topic with +"},
        {connect_head(0x02 | 0x04) + str("x") + str("") + str("m"), decode_status::bad_topic, "an empty will topic"},
        {connect_head(0x02 | 0x80) + str("x"), decode_status::malformed, "a username flag, no username"},
        {connect_head(0x02) + b({0x00, 0x02, 0xC3, 0x28}), decode_status::bad_utf8, "an id that is not UTF-8"},
        {connect_head(0x02) + b({0x00, 0x01, 0x00}), decode_status::bad_utf8, "an id holding U+0000"},
        {b({0x00, 0x04, 'M', 'Q'}), decode_status::malformed, "cut inside the protocol name"},
        {str("MQTT") + b({0x04, 0x02}), decode_status::malformed, "cut before the keep-alive"},
    };
    for (const auto& c : cases) {
        connect_packet p;
        EXPECT_EQ(parse_connect(c.body, p), c.want) << c.why;
    }
}

TEST(mqtt_publish, qos0And2AreRead) {
    // The packets outlive the views into them.
    const buf qos0 = str("a/b") + b({'h', 'i'});
    const buf qos2 = str("a") + b({0x12, 0x34});
    publish_packet p;
    ASSERT_EQ(parse_publish(0x01, qos0, p), decode_status::ok);
    EXPECT_EQ(p.topic, "a/b");
    EXPECT_EQ(p.qos, 0);
    EXPECT_TRUE(p.retain);
    EXPECT_FALSE(p.dup);
    EXPECT_EQ(text(p.payload), "hi");

    ASSERT_EQ(parse_publish(0x0C, qos2, p), decode_status::ok);
    EXPECT_EQ(p.qos, 2);
    EXPECT_TRUE(p.dup);
    EXPECT_EQ(p.packet_id, 0x1234);
    EXPECT_TRUE(p.payload.empty()) << "an empty payload is fine (and clears a retained message)";
}

TEST(mqtt_publish, refusals) {
    const struct {
        uint8_t flags;
        buf body;
        decode_status want;
        const char* why;
    } cases[] = {
        {0x00, str("a/+"), decode_status::bad_topic, "+ in a PUBLISH topic (3.3.2-2)"},
        {0x00, str("a/#"), decode_status::bad_topic, "# in a PUBLISH topic"},
        {0x00, str(""), decode_status::bad_topic, "an empty topic"},
        {0x08, str("a"), decode_status::malformed, "DUP at QoS 0 (3.3.1-2)"},
        {0x02, str("a") + b({0x00, 0x00}), decode_status::zero_packet_id, "QoS 1 with packet id 0"},
        {0x02, str("a") + b({0x01}), decode_status::malformed, "QoS 1 cut inside the packet id"},
        {0x00, b({0x00, 0x09, 'a'}), decode_status::malformed, "a topic longer than the packet"},
        {0x00, b({0x00}), decode_status::malformed, "cut inside the topic length"},
        {0x00, b({0x00, 0x01, 0xFF}), decode_status::bad_utf8, "a topic that is not UTF-8"},
        {0x06, str("a") + b({0x00, 0x01}), decode_status::reserved_flags, "QoS 3"},
    };
    for (const auto& c : cases) {
        publish_packet p;
        EXPECT_EQ(parse_publish(c.flags, c.body, p), c.want) << c.why;
    }
}

TEST(mqtt_packet_id, exactlyTwoBytes) {
    uint16_t id = 0;
    EXPECT_EQ(parse_packet_id(b({0xAB, 0xCD}), id), decode_status::ok);
    EXPECT_EQ(id, 0xABCD);
    EXPECT_EQ(parse_packet_id(b({0xAB}), id), decode_status::malformed);
    EXPECT_EQ(parse_packet_id(b({0xAB, 0xCD, 0x00}), id), decode_status::malformed);
}

TEST(mqtt_subscribe, filtersAndQosAreWalkedInOrder) {
    const buf body = b({0x00, 0x07}) + str("a/+") + b({1}) + str("$share/g/b/#") + b({2});
    subscribe_packet s;
    ASSERT_EQ(parse_subscribe(body, s), decode_status::ok);
    EXPECT_EQ(s.packet_id, 7);
    std::vector<std::pair<std::string, int>> got;
    s.for_each_subscription([&](std::string_view f, uint8_t q) { got.emplace_back(std::string(f), q); });
    EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"a/+", 1}, {"$share/g/b/#", 2}}));
}

TEST(mqtt_subscribe, refusals) {
    const struct {
        buf body;
        decode_status want;
        const char* why;
    } cases[] = {
        {b({0x00, 0x01}), decode_status::malformed, "no filter (3.8.3-3)"},
        {b({0x00, 0x00}) + str("a") + b({0}), decode_status::zero_packet_id, "packet id 0"},
        {b({0x00, 0x01}) + str("a") + b({3}), decode_status::malformed, "QoS 3"},
        {b({0x00, 0x01}) + str("a") + b({0x40}), decode_status::malformed, "reserved QoS bits (3.8.3-4)"},
        {b({0x00, 0x01}) + str("a"), decode_status::malformed, "a filter without its QoS byte"},
        {b({0x00, 0x01}) + str("a") + b({0, 0x00}), decode_status::malformed, "a stray byte after the last pair"},
        {b({0x00, 0x01}) + b({0x00, 0x02, 0xC0, 0xAF}) + b({0}), decode_status::bad_utf8, "an overlong '/'"},
        {b({0x00}), decode_status::malformed, "cut inside the packet id"},
    };
    for (const auto& c : cases) {
        subscribe_packet s;
        EXPECT_EQ(parse_subscribe(c.body, s), c.want) << c.why;
    }
}

TEST(mqtt_unsubscribe, filtersAreWalkedAndRefusalsNamed) {
    const buf body = b({0x01, 0x00}) + str("a/#") + str("b");
    unsubscribe_packet u;
    ASSERT_EQ(parse_unsubscribe(body, u), decode_status::ok);
    EXPECT_EQ(u.packet_id, 256);
    std::vector<std::string> got;
    u.for_each_filter([&](std::string_view f) { got.emplace_back(f); });
    EXPECT_EQ(got, (std::vector<std::string>{"a/#", "b"}));

    EXPECT_EQ(parse_unsubscribe(b({0x00, 0x01}), u), decode_status::malformed) << "no filter (3.10.3-2)";
    EXPECT_EQ(parse_unsubscribe(b({0x00, 0x00}) + str("a"), u), decode_status::zero_packet_id);
    EXPECT_EQ(parse_unsubscribe(b({0x00, 0x01}) + str("a") + b({0x00}), u), decode_status::malformed);
}

TEST(mqtt_encode, connackPacketIdsSubackAndPingresp) {
    std::array<std::byte, 64> out{};
    ASSERT_EQ(encode_connack(true, connack_code::accepted, out), 4U);
    EXPECT_EQ(buf(out.begin(), out.begin() + 4), b({0x20, 0x02, 0x01, 0x00}));
    ASSERT_EQ(encode_connack(false, connack_code::bad_protocol, out), 4U);
    EXPECT_EQ(buf(out.begin(), out.begin() + 4), b({0x20, 0x02, 0x00, 0x01}));

    ASSERT_EQ(encode_packet_id(packet_type::pubrel, 0x0102, out), 4U);
    EXPECT_EQ(buf(out.begin(), out.begin() + 4), b({0x62, 0x02, 0x01, 0x02})) << "PUBREL carries 0010";
    ASSERT_EQ(encode_packet_id(packet_type::puback, 9, out), 4U);
    EXPECT_EQ(buf(out.begin(), out.begin() + 4), b({0x40, 0x02, 0x00, 0x09}));

    const uint8_t codes[] = {0, 2, suback_failure};
    ASSERT_EQ(encode_suback(5, codes, out), 7U);
    EXPECT_EQ(buf(out.begin(), out.begin() + 7), b({0x90, 0x05, 0x00, 0x05, 0x00, 0x02, 0x80}));

    ASSERT_EQ(encode_pingresp(out), 2U);
    EXPECT_EQ(buf(out.begin(), out.begin() + 2), b({0xD0, 0x00}));

    std::array<std::byte, 3> small{};
    EXPECT_EQ(encode_connack(false, connack_code::accepted, small), 0U) << "too small: nothing written";
}

TEST(mqtt_encode, aPublishHeaderReadsBackWithItsPayload) {
    const std::string payload(300, 'p'); // a two-byte remaining length
    std::array<std::byte, publish_header_size(5)> head{};
    const size_t n = encode_publish_header("a/b/c", 1, true, false, 77, payload.size(), head);
    ASSERT_GT(n, 0U);
    buf packet(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(n));
    for (const char ch : payload) {
        packet.push_back(std::byte(ch));
    }
    fixed_header h;
    ASSERT_EQ(parse_fixed_header(packet, max_remaining_length, h), decode_status::ok);
    EXPECT_EQ(h.type, packet_type::publish);
    EXPECT_EQ(h.packet_size(), packet.size());
    publish_packet p;
    ASSERT_EQ(parse_publish(h.flags, std::span(packet).subspan(h.header_size), p), decode_status::ok);
    EXPECT_EQ(p.topic, "a/b/c");
    EXPECT_EQ(p.qos, 1);
    EXPECT_TRUE(p.dup);
    EXPECT_EQ(p.packet_id, 77);
    EXPECT_EQ(text(p.payload), payload);
}

TEST(mqtt_utf8, wellFormedOnly) {
    EXPECT_TRUE(valid_utf8("plain/ascii"));
    EXPECT_TRUE(valid_utf8("\xC3\xA9t\xC3\xA9"));      // é
    EXPECT_TRUE(valid_utf8("\xE2\x82\xAC"));           // €
    EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));       // U+1F600
    EXPECT_TRUE(valid_utf8("\xEF\xBF\xBF"));           // U+FFFF: a non-character, allowed (1.5.3-3)
    EXPECT_FALSE(valid_utf8(std::string_view("a\0b", 3)));
    EXPECT_FALSE(valid_utf8("\xC0\xAF"));              // overlong '/'
    EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));          // overlong, 3 bytes
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));          // a surrogate (1.5.3-1)
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));      // past U+10FFFF
    EXPECT_FALSE(valid_utf8("\xC3"));                  // cut off
    EXPECT_FALSE(valid_utf8("\x80"));                  // a lone continuation byte
    EXPECT_FALSE(valid_utf8("\xF8\x88\x80\x80\x80"));  // 5 bytes
}
