// libFuzzer: MQTT 3.1.1 packets (core/mqtt_codec) read one after another
// from a byte stream, as a connection would. Every field a decoder hands
// back lies within its packet; strings are MQTT UTF-8; a PUBLISH written
// again from what was read reads back the same; a refusal ends the stream.
// Through core/mqtt_stream, the stream cut into segments anywhere (the first
// input byte seeds where) gives the same packets and verdict as whole.
#include "fuzz_check.hpp"

#include <ringcast/core/mqtt_codec.hpp>
#include <ringcast/core/mqtt_stream.hpp>

#include <array>
#include <string>
#include <vector>

namespace {

using namespace ringcast;
using namespace ringcast::mqtt;

constexpr uint32_t max_remaining = 4096;

void check_publish(const publish_packet& p, std::span<const std::byte> body) {
    RC_FUZZ_CHECK(valid_utf8(p.topic) && !p.topic.empty());
    RC_FUZZ_CHECK(p.qos <= 2 && (p.qos != 0 || p.packet_id == 0));
    RC_FUZZ_CHECK(fuzz::within(p.payload, body));
    std::vector<std::byte> again(publish_header_size(p.topic.size()));
    const size_t n = encode_publish_header(p.topic, p.qos, p.dup, p.retain, p.packet_id, p.payload.size(), again);
    RC_FUZZ_CHECK(n != 0);
    again.resize(n);
    again.insert(again.end(), p.payload.begin(), p.payload.end());
    fixed_header h;
    RC_FUZZ_CHECK(parse_fixed_header(again, max_remaining_length, h) == decode_status::ok);
    RC_FUZZ_CHECK(h.packet_size() == again.size());
    publish_packet q;
    RC_FUZZ_CHECK(parse_publish(h.flags, std::span(again).subspan(h.header_size), q) == decode_status::ok);
    RC_FUZZ_CHECK(q.topic == p.topic && q.qos == p.qos && q.dup == p.dup && q.retain == p.retain &&
                  q.packet_id == p.packet_id && fuzz::text(q.payload) == fuzz::text(p.payload));
}

void check_body(const fixed_header& h, std::span<const std::byte> body) {
    switch (h.type) {
    case packet_type::connect: {
        connect_packet c;
        if (parse_connect(body, c) == decode_status::ok) {
            RC_FUZZ_CHECK(valid_utf8(c.client_id) && c.will_qos <= 2);
            RC_FUZZ_CHECK(fuzz::within(c.will_payload, body) && fuzz::within(c.password, body));
            RC_FUZZ_CHECK(!c.has_password || c.has_username);
        }
        break;
    }
    case packet_type::publish: {
        publish_packet p;
        if (parse_publish(h.flags, body, p) == decode_status::ok) {
            check_publish(p, body);
        }
        break;
    }
    case packet_type::subscribe: {
        subscribe_packet s;
        if (parse_subscribe(body, s) == decode_status::ok) {
            size_t n = 0;
            s.for_each_subscription([&](std::string_view f, uint8_t qos) {
                RC_FUZZ_CHECK(valid_utf8(f) && qos <= 2);
                RC_FUZZ_CHECK(f.data() >= reinterpret_cast<const char*>(body.data()) &&
                              f.data() + f.size() <= reinterpret_cast<const char*>(body.data() + body.size()));
                ++n;
            });
            RC_FUZZ_CHECK(n >= 1);
            std::vector<uint8_t> codes(n, 0);
            std::vector<std::byte> out(8 + n);
            RC_FUZZ_CHECK(encode_suback(s.packet_id, codes, out) == 4 + n + (n + 2 > 127 ? 1 : 0));
        }
        break;
    }
    case packet_type::unsubscribe: {
        unsubscribe_packet u;
        if (parse_unsubscribe(body, u) == decode_status::ok) {
            size_t n = 0;
            u.for_each_filter([&](std::string_view f) {
                RC_FUZZ_CHECK(valid_utf8(f));
                ++n;
            });
            RC_FUZZ_CHECK(n >= 1);
        }
        break;
    }
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp: {
        uint16_t id = 0;
        RC_FUZZ_CHECK((parse_packet_id(body, id) == decode_status::ok) == (body.size() == 2));
        break;
    }
    default:
        break;
    }
}

struct run {
    std::vector<std::string> packets;
    decode_status verdict = decode_status::ok;
};

run feed(std::span<const std::byte> stream, uint8_t seed) {
    mqtt_stream s(max_remaining + max_fixed_header);
    run out;
    // Pieces of up to 13 bytes: fixed headers (2 to 5 bytes) are often split.
    out.verdict = fuzz::feed_pieces(s, stream, seed, 13, [&](const packet_view& p) {
        RC_FUZZ_CHECK(p.body.size() == p.header.remaining);
        out.packets.emplace_back(fuzz::text(p.body));
    }).status;
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size >= 2) {
        const auto cut_me = fuzz::input(data + 1, size - 1);
        const run whole = feed(cut_me, 0);
        const run cut = feed(cut_me, data[0] == 0 ? 1 : data[0]);
        RC_FUZZ_CHECK(whole.packets == cut.packets && whole.verdict == cut.verdict);
    }
    auto stream = fuzz::input(data, size);
    while (!stream.empty()) {
        fixed_header h;
        const decode_status s = parse_fixed_header(stream, max_remaining, h);
        if (s != decode_status::ok) {
            RC_FUZZ_CHECK(s != decode_status::need_more || stream.size() < max_fixed_header);
            return 0;
        }
        RC_FUZZ_CHECK(h.header_size >= 2 && h.header_size <= max_fixed_header && h.remaining <= max_remaining);
        if (h.packet_size() > stream.size()) {
            return 0; // cut off: a connection waits for the rest
        }
        check_body(h, stream.subspan(h.header_size, h.remaining));
        stream = stream.subspan(h.packet_size());
    }
    return 0;
}
