// MQTT 3.1.1 (OASIS standard) packets: the fixed header with its remaining
// length (2.2), the variable headers and payloads the appliance reads
// (CONNECT, PUBLISH, the acknowledgements, SUBSCRIBE, UNSUBSCRIBE), and the
// packets it writes. Decoding works in place: strings and payloads are
// views into the packet's bytes. Every refusal names the rule it breaks;
// the caller closes the connection and counts it. No DPDK, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringcast::mqtt {

enum class packet_type : uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
};

enum class decode_status : uint8_t {
    ok,
    need_more,        // the bytes end inside the packet (or its fixed header)
    bad_length,       // a remaining length of more than 4 bytes (2.2.3)
    too_long,         // a remaining length beyond the caller's limit
    bad_type,         // type 0 or 15 (reserved, 2.2.1)
    reserved_flags,   // fixed-header flags other than the type's (2.2.2), or PUBLISH QoS 3
    malformed,        // the body is shorter or longer than its fields, or a field breaks a rule
    bad_utf8,         // a string that is not well-formed UTF-8, or holds U+0000 (1.5.3)
    bad_protocol,     // CONNECT: not "MQTT" level 4 (CONNACK return code 1)
    bad_topic,        // PUBLISH: an empty topic or one with wildcards (3.3.2-2)
    zero_packet_id,   // PUBLISH QoS 1/2, SUBSCRIBE, UNSUBSCRIBE with packet id 0 (2.3.1-1)
};

[[nodiscard]] std::string_view decode_status_name(decode_status s) noexcept;

// The longest remaining length the 4-byte encoding carries (2.2.3).
inline constexpr uint32_t max_remaining_length = 268'435'455;
// A fixed header is at most 1 + 4 bytes.
inline constexpr size_t max_fixed_header = 5;

struct fixed_header {
    packet_type type = packet_type::connect;
    uint8_t flags = 0;        // the low nibble of the first byte
    uint32_t remaining = 0;   // the bytes after the fixed header
    uint8_t header_size = 0;  // 2..5
    [[nodiscard]] size_t packet_size() const noexcept { return header_size + size_t{remaining}; }
};

// The fixed header at the front of `bytes`. need_more while it is cut off;
// too_long when the remaining length passes `max_remaining`.
[[nodiscard]] decode_status parse_fixed_header(std::span<const std::byte> bytes, uint32_t max_remaining,
                                               fixed_header& out) noexcept;

// Writes the remaining length's encoding into `out` (4 bytes at most) and
// returns its size; 0 when `value` is beyond max_remaining_length.
size_t encode_remaining_length(uint32_t value, std::span<std::byte, 4> out) noexcept;

enum class connack_code : uint8_t {
    accepted = 0,
    bad_protocol = 1,
    identifier_rejected = 2,
    server_unavailable = 3,
    bad_credentials = 4,
    not_authorized = 5,
};

struct connect_packet {
    std::string_view client_id;
    bool clean_session = false;
    uint16_t keep_alive_s = 0;
    bool will = false;
    uint8_t will_qos = 0;
    bool will_retain = false;
    std::string_view will_topic;
    std::span<const std::byte> will_payload;
    bool has_username = false;
    std::string_view username;
    bool has_password = false;
    std::span<const std::byte> password;
};

// CONNECT's body (the bytes after the fixed header). bad_protocol means the
// caller answers CONNACK 1 and closes; any other refusal closes at once.
// The client identifier's rules (3.1.3-7, -8) are the session layer's.
[[nodiscard]] decode_status parse_connect(std::span<const std::byte> body, connect_packet& out) noexcept;

struct publish_packet {
    std::string_view topic;
    uint8_t qos = 0;
    bool dup = false;
    bool retain = false;
    uint16_t packet_id = 0; // QoS 1 and 2 only
    std::span<const std::byte> payload;
};

[[nodiscard]] decode_status parse_publish(uint8_t flags, std::span<const std::byte> body,
                                          publish_packet& out) noexcept;

// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: a packet id and nothing else.
[[nodiscard]] decode_status parse_packet_id(std::span<const std::byte> body, uint16_t& id) noexcept;

// SUBSCRIBE: the packet id, then (filter, requested QoS) pairs, at least
// one. The filters' own syntax (wildcards, $share) is the topic tables'.
struct subscribe_packet {
    uint16_t packet_id = 0;
    std::span<const std::byte> entries; // checked: for_each_subscription walks them

    template <class F> void for_each_subscription(F&& f) const; // f(std::string_view filter, uint8_t qos)
};
[[nodiscard]] decode_status parse_subscribe(std::span<const std::byte> body, subscribe_packet& out) noexcept;

struct unsubscribe_packet {
    uint16_t packet_id = 0;
    std::span<const std::byte> entries;

    template <class F> void for_each_filter(F&& f) const; // f(std::string_view filter)
};
[[nodiscard]] decode_status parse_unsubscribe(std::span<const std::byte> body, unsubscribe_packet& out) noexcept;

// The packets the appliance writes. Each returns the bytes written into
// `out`, or 0 when `out` is too small.
size_t encode_connack(bool session_present, connack_code code, std::span<std::byte> out) noexcept;
// PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP, UNSUBACK.
size_t encode_packet_id(packet_type type, uint16_t id, std::span<std::byte> out) noexcept;
// SUBACK with one return code per filter: the granted QoS, or 0x80.
size_t encode_suback(uint16_t id, std::span<const uint8_t> codes, std::span<std::byte> out) noexcept;
size_t encode_pingresp(std::span<std::byte> out) noexcept;
inline constexpr uint8_t suback_failure = 0x80;
// PUBLISH up to its payload, which goes after it by reference: the fixed
// header (sized for `payload_size`), the topic and the packet id (QoS 1, 2).
size_t encode_publish_header(std::string_view topic, uint8_t qos, bool dup, bool retain, uint16_t packet_id,
                             size_t payload_size, std::span<std::byte> out) noexcept;
// The size encode_publish_header needs, at most.
inline constexpr size_t publish_header_size(size_t topic_size) noexcept { return max_fixed_header + 2 + topic_size + 2; }

// Whether `s` is an MQTT UTF-8 string: well-formed, no U+0000 (1.5.3).
[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

namespace detail {
inline uint16_t be16(const std::byte* p) noexcept {
    return static_cast<uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
} // namespace detail

template <class F> void subscribe_packet::for_each_subscription(F&& f) const {
    for (size_t at = 0; at + 2 <= entries.size();) {
        const size_t len = detail::be16(entries.data() + at);
        const std::string_view filter(reinterpret_cast<const char*>(entries.data() + at + 2), len);
        const auto qos = std::to_integer<uint8_t>(entries[at + 2 + len]);
        f(filter, qos);
        at += 2 + len + 1;
    }
}

template <class F> void unsubscribe_packet::for_each_filter(F&& f) const {
    for (size_t at = 0; at + 2 <= entries.size();) {
        const size_t len = detail::be16(entries.data() + at);
        f(std::string_view(reinterpret_cast<const char*>(entries.data() + at + 2), len));
        at += 2 + len;
    }
}

} // namespace ringcast::mqtt
