#include <ringcast/core/mqtt_codec.hpp>

#include <cstring>

namespace ringcast::mqtt {

namespace {

using bytes = std::span<const std::byte>;
using detail::be16;

uint8_t byte_at(bytes b, size_t i) noexcept { return std::to_integer<uint8_t>(b[i]); }

// The fixed-header flags each type must carry (2.2.2); PUBLISH's are its own.
constexpr std::array<uint8_t, 16> required_flags = {0, 0, 0, 0, 0, 0, 0b0010, 0, 0b0010, 0, 0b0010, 0, 0, 0, 0, 0};

// Reads a length-prefixed field (1.5.3, and binary data) at `at`, moving it on.
bool take_field(bytes body, size_t& at, bytes& out) noexcept {
    if (body.size() - at < 2) {
        return false;
    }
    const size_t len = be16(body.data() + at);
    if (body.size() - at - 2 < len) {
        return false;
    }
    out = body.subspan(at + 2, len);
    at += 2 + len;
    return true;
}

std::string_view as_text(bytes b) noexcept { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

decode_status take_string(bytes body, size_t& at, std::string_view& out) noexcept {
    bytes f;
    if (!take_field(body, at, f)) {
        return decode_status::malformed;
    }
    out = as_text(f);
    return valid_utf8(out) ? decode_status::ok : decode_status::bad_utf8;
}

bool has_wildcard(std::string_view topic) noexcept { return topic.find_first_of("+#") != std::string_view::npos; }

void put16(std::byte* p, uint16_t v) noexcept {
    p[0] = std::byte(v >> 8);
    p[1] = std::byte(v & 0xFF);
}

} // namespace

std::string_view decode_status_name(decode_status s) noexcept {
    switch (s) {
    case decode_status::ok: return "ok";
    case decode_status::need_more: return "need_more";
    case decode_status::bad_length: return "bad_length";
    case decode_status::too_long: return "too_long";
    case decode_status::bad_type: return "bad_type";
    case decode_status::reserved_flags: return "reserved_flags";
    case decode_status::malformed: return "malformed";
    case decode_status::bad_utf8: return "bad_utf8";
    case decode_status::bad_protocol: return "bad_protocol";
    case decode_status::bad_topic: return "bad_topic";
    case decode_status::zero_packet_id: return "zero_packet_id";
    }
    return "unknown";
}

decode_status parse_fixed_header(bytes b, uint32_t max_remaining, fixed_header& out) noexcept {
    if (b.empty()) {
        return decode_status::need_more;
    }
    const uint8_t first = byte_at(b, 0);
    const uint8_t type = first >> 4;
    const uint8_t flags = first & 0x0F;
    if (type == 0 || type == 15) {
        return decode_status::bad_type;
    }
    if (type == static_cast<uint8_t>(packet_type::publish)) {
        if ((flags & 0x06) == 0x06) {
            return decode_status::reserved_flags; // QoS 3 (3.3.1-4)
        }
    } else if (flags != required_flags[type]) {
        return decode_status::reserved_flags;
    }
    uint32_t value = 0;
    for (size_t i = 1;; ++i) {
        if (i == max_fixed_header) {
            return decode_status::bad_length; // a fifth length byte
        }
        if (i >= b.size()) {
            return decode_status::need_more;
        }
        const uint8_t d = byte_at(b, i);
        value |= static_cast<uint32_t>(d & 0x7F) << (7 * (i - 1));
        if ((d & 0x80) == 0) {
            if (value > max_remaining) {
                return decode_status::too_long;
            }
            out = fixed_header{static_cast<packet_type>(type), flags, value, static_cast<uint8_t>(i + 1)};
            return decode_status::ok;
        }
    }
}

size_t encode_remaining_length(uint32_t value, std::span<std::byte, 4> out) noexcept {
    if (value > max_remaining_length) {
        return 0;
    }
    size_t n = 0;
    do {
        uint8_t d = value & 0x7F;
        value >>= 7;
        if (value != 0) {
            d |= 0x80;
        }
        out[n++] = std::byte(d);
    } while (value != 0);
    return n;
}

decode_status parse_connect(bytes body, connect_packet& out) noexcept {
    size_t at = 0;
    bytes name;
    if (!take_field(body, at, name) || body.size() - at < 4) {
        return decode_status::malformed;
    }
    const uint8_t level = byte_at(body, at);
    const uint8_t cflags = byte_at(body, at + 1);
    out = connect_packet{};
    out.keep_alive_s = be16(body.data() + at + 2);
    at += 4;
    if (as_text(name) != "MQTT" || level != 4) {
        return decode_status::bad_protocol;
    }
    if ((cflags & 0x01) != 0) {
        return decode_status::malformed; // the reserved flag (3.1.2-3)
    }
    out.clean_session = (cflags & 0x02) != 0;
    out.will = (cflags & 0x04) != 0;
    out.will_qos = (cflags >> 3) & 0x03;
    out.will_retain = (cflags & 0x20) != 0;
    out.has_password = (cflags & 0x40) != 0;
    out.has_username = (cflags & 0x80) != 0;
    if (out.will_qos == 3 || (!out.will && (out.will_qos != 0 || out.will_retain)) ||
        (out.has_password && !out.has_username)) {
        return decode_status::malformed; // 3.1.2-11, -13, -14, -15, -22
    }
    if (const decode_status s = take_string(body, at, out.client_id); s != decode_status::ok) {
        return s;
    }
    if (out.will) {
        if (const decode_status s = take_string(body, at, out.will_topic); s != decode_status::ok) {
            return s;
        }
        if (out.will_topic.empty() || has_wildcard(out.will_topic)) {
            return decode_status::bad_topic;
        }
        if (!take_field(body, at, out.will_payload)) {
            return decode_status::malformed;
        }
    }
    if (out.has_username) {
        if (const decode_status s = take_string(body, at, out.username); s != decode_status::ok) {
            return s;
        }
    }
    if (out.has_password && !take_field(body, at, out.password)) {
        return decode_status::malformed;
    }
    return at == body.size() ? decode_status::ok : decode_status::malformed;
}

decode_status parse_publish(uint8_t flags, bytes body, publish_packet& out) noexcept {
    out = publish_packet{};
    out.qos = (flags >> 1) & 0x03;
    out.dup = (flags & 0x08) != 0;
    out.retain = (flags & 0x01) != 0;
    if (out.qos == 3) {
        return decode_status::reserved_flags;
    }
    if (out.qos == 0 && out.dup) {
        return decode_status::malformed; // 3.3.1-2
    }
    size_t at = 0;
    if (const decode_status s = take_string(body, at, out.topic); s != decode_status::ok) {
        return s;
    }
    if (out.topic.empty() || has_wildcard(out.topic)) {
        return decode_status::bad_topic;
    }
    if (out.qos != 0) {
        if (body.size() - at < 2) {
            return decode_status::malformed;
        }
        out.packet_id = be16(body.data() + at);
        at += 2;
        if (out.packet_id == 0) {
            return decode_status::zero_packet_id;
        }
    }
    out.payload = body.subspan(at);
    return decode_status::ok;
}

decode_status parse_packet_id(bytes body, uint16_t& id) noexcept {
    if (body.size() != 2) {
        return decode_status::malformed;
    }
    id = be16(body.data());
    return decode_status::ok;
}

namespace {

// SUBSCRIBE's and UNSUBSCRIBE's shape: a packet id, then one filter or
// more (3.8.3-3, 3.10.3-2), each followed by a QoS byte when `with_qos`
// (0..2, the upper bits 0: 3.8.3-4).
decode_status parse_filter_list(bytes body, bool with_qos, uint16_t& id, bytes& entries) noexcept {
    if (body.size() < 2) {
        return decode_status::malformed;
    }
    id = be16(body.data());
    if (id == 0) {
        return decode_status::zero_packet_id;
    }
    entries = body.subspan(2);
    if (entries.empty()) {
        return decode_status::malformed;
    }
    for (size_t at = 0; at < entries.size();) {
        std::string_view filter;
        if (const decode_status s = take_string(entries, at, filter); s != decode_status::ok) {
            return s;
        }
        if (with_qos) {
            if (at >= entries.size() || byte_at(entries, at) > 2) {
                return decode_status::malformed;
            }
            ++at;
        }
    }
    return decode_status::ok;
}

} // namespace

decode_status parse_subscribe(bytes body, subscribe_packet& out) noexcept {
    return parse_filter_list(body, true, out.packet_id, out.entries);
}

decode_status parse_unsubscribe(bytes body, unsubscribe_packet& out) noexcept {
    return parse_filter_list(body, false, out.packet_id, out.entries);
}

size_t encode_connack(bool session_present, connack_code code, std::span<std::byte> out) noexcept {
    if (out.size() < 4) {
        return 0;
    }
    out[0] = std::byte(static_cast<uint8_t>(packet_type::connack) << 4);
    out[1] = std::byte(2);
    out[2] = std::byte(session_present ? 1 : 0);
    out[3] = std::byte(static_cast<uint8_t>(code));
    return 4;
}

size_t encode_packet_id(packet_type type, uint16_t id, std::span<std::byte> out) noexcept {
    if (out.size() < 4) {
        return 0;
    }
    const auto t = static_cast<uint8_t>(type);
    out[0] = std::byte((t << 4) | required_flags[t]);
    out[1] = std::byte(2);
    put16(out.data() + 2, id);
    return 4;
}

size_t encode_suback(uint16_t id, std::span<const uint8_t> codes, std::span<std::byte> out) noexcept {
    std::array<std::byte, 4> len{};
    const size_t remaining = 2 + codes.size();
    const size_t n = remaining <= max_remaining_length
                         ? encode_remaining_length(static_cast<uint32_t>(remaining), std::span<std::byte, 4>(len))
                         : 0;
    if (n == 0 || out.size() < 1 + n + remaining) {
        return 0;
    }
    out[0] = std::byte(static_cast<uint8_t>(packet_type::suback) << 4);
    std::memcpy(out.data() + 1, len.data(), n);
    put16(out.data() + 1 + n, id);
    for (size_t i = 0; i < codes.size(); ++i) {
        out[1 + n + 2 + i] = std::byte(codes[i]);
    }
    return 1 + n + remaining;
}

size_t encode_pingresp(std::span<std::byte> out) noexcept {
    if (out.size() < 2) {
        return 0;
    }
    out[0] = std::byte(static_cast<uint8_t>(packet_type::pingresp) << 4);
    out[1] = std::byte(0);
    return 2;
}

size_t encode_publish_header(std::string_view topic, uint8_t qos, bool dup, bool retain, uint16_t packet_id,
                             size_t payload_size, std::span<std::byte> out) noexcept {
    if (topic.size() > 0xFFFF || qos > 2) {
        return 0;
    }
    const size_t variable = 2 + topic.size() + (qos != 0 ? 2 : 0);
    const size_t remaining = variable + payload_size;
    if (remaining > max_remaining_length) {
        return 0;
    }
    std::array<std::byte, 4> len{};
    const size_t n = encode_remaining_length(static_cast<uint32_t>(remaining), std::span<std::byte, 4>(len));
    if (out.size() < 1 + n + variable) {
        return 0;
    }
    out[0] = std::byte((static_cast<uint8_t>(packet_type::publish) << 4) | (dup ? 0x08 : 0) | (qos << 1) |
                       (retain ? 0x01 : 0));
    std::memcpy(out.data() + 1, len.data(), n);
    std::byte* p = out.data() + 1 + n;
    put16(p, static_cast<uint16_t>(topic.size()));
    std::memcpy(p + 2, topic.data(), topic.size());
    p += 2 + topic.size();
    if (qos != 0) {
        put16(p, packet_id);
    }
    return 1 + n + variable;
}

bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        const unsigned c = p[i];
        if (c == 0) {
            return false;
        }
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        uint32_t min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len) {
            return false;
        }
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return false;
        }
        i += len;
    }
    return true;
}

} // namespace ringcast::mqtt
