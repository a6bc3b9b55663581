// RCP/1 wire format: frame header, ops, flags, error codes, and the parser
// that walks the frames of one datagram in place. No DPDK here.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace ringcast {

inline constexpr uint8_t rcp_magic = 0xC5;
inline constexpr uint8_t rcp_version = 1;
inline constexpr size_t frame_header_size = 16;
inline constexpr size_t max_topic_len = 255;
// PONG echoes at most this much of a PING's payload; ERR reasons are at most this long.
inline constexpr size_t max_ping_echo = 64;
inline constexpr size_t max_err_reason = 32;
// A NACK asks for at most this many messages; clients split longer gaps.
inline constexpr uint32_t max_nack_count = 1024;

enum class op : uint8_t {
    hello = 1,
    sub = 2,
    unsub = 3,
    pub = 4,
    msg = 5,
    ack = 6,
    nack = 7,
    ping = 8,
    pong = 9,
    err = 10,
    bye = 11,
};

enum class err_code : uint8_t {
    malformed = 1,
    version = 2,
    bad_topic = 3,
    not_authorized = 4,
    limit = 5,
    gap_lost = 6,
    overload = 7,
    unknown_op = 8,
};

namespace flags {
inline constexpr uint8_t qos_mask = 0x03;
inline constexpr uint8_t replay = 0x04;
inline constexpr uint8_t retain = 0x08;
inline constexpr uint8_t replayed = 0x10;
} // namespace flags

// Byte offsets of the header fields.
namespace frame_off {
inline constexpr size_t magic = 0;
inline constexpr size_t ver_op = 1;
inline constexpr size_t flags = 2;
inline constexpr size_t topic_len = 3;
inline constexpr size_t payload_len = 4;
inline constexpr size_t seq = 8;
inline constexpr size_t topic = 16;
} // namespace frame_off

// std::byteswap is C++23; the builtins compile to one bswap instruction.
template <class T> [[nodiscard]] constexpr T byteswap(T v) noexcept {
    if constexpr (sizeof(T) == 2) {
        return static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(v)));
    } else if constexpr (sizeof(T) == 4) {
        return static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(v)));
    } else if constexpr (sizeof(T) == 8) {
        return static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(v)));
    } else {
        return v;
    }
}

// Wire fields are read and written through these, never through a cast onto
// the buffer: after a 42-byte L2-L4 header the u64 seq is misaligned.
template <class T> [[nodiscard]] inline T load_be(std::span<const std::byte> s, size_t off) noexcept {
    T v;
    std::memcpy(&v, s.data() + off, sizeof(T));
    if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
        v = byteswap(v);
    }
    return v;
}

template <class T> inline void store_be(std::span<std::byte> s, size_t off, T v) noexcept {
    if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
        v = byteswap(v);
    }
    std::memcpy(s.data() + off, &v, sizeof(T));
}

// Why a frame (or the rest of a datagram) was refused.
enum class parse_status : uint8_t {
    ok,
    truncated, // fewer than 16 header bytes, or topic/payload past the datagram
    bad_magic,
    bad_version,
    unknown_op,
};

struct frame_view {
    op code;
    uint8_t flags;
    uint64_t seq;
    std::span<const std::byte> topic;
    std::span<const std::byte> payload;
    uint32_t offset; // of the frame within the datagram
    uint32_t size;   // header + topic + payload

    [[nodiscard]] std::string_view topic_str() const noexcept {
        return {reinterpret_cast<const char*>(topic.data()), topic.size()};
    }
    [[nodiscard]] uint8_t qos() const noexcept { return flags & flags::qos_mask; }
};

struct parse_result {
    parse_status status;
    frame_view frame; // valid when status == ok
    // seq of the offending frame when at least 16 bytes arrived, else 0 (for ERR).
    uint64_t err_seq;
};

// Parses the frame starting at `off` in `dgram` (off < dgram.size()).
// Never reads past the span; a lying length is reported as truncated.
[[nodiscard]] parse_result parse_frame(std::span<const std::byte> dgram, size_t off) noexcept;

// Size of a frame with this topic and payload.
[[nodiscard]] constexpr size_t frame_size(size_t topic_len, size_t payload_len) noexcept {
    return frame_header_size + topic_len + payload_len;
}

// Writes one frame into `out`; returns its size, or 0 when it does not fit or
// the topic is longer than 255 bytes.
[[nodiscard]] size_t write_frame(std::span<std::byte> out, op code, uint8_t flag_bits, uint64_t seq,
                                 std::span<const std::byte> topic,
                                 std::span<const std::byte> payload) noexcept;

// Rewrites a received frame header in place (PUB -> MSG with the topic seq).
inline void rewrite_header(std::span<std::byte> frame, op code, uint8_t flag_bits, uint64_t seq) noexcept {
    frame[frame_off::ver_op] = std::byte((rcp_version << 4) | static_cast<uint8_t>(code));
    frame[frame_off::flags] = std::byte(flag_bits);
    store_be<uint64_t>(frame, frame_off::seq, seq);
}

[[nodiscard]] err_code to_err_code(parse_status s) noexcept;
[[nodiscard]] std::string_view to_string(op code) noexcept;
[[nodiscard]] std::string_view to_string(err_code code) noexcept;

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

} // namespace ringcast
