// TCP headers on byte spans for TCP-lite: parsing a received segment (ports,
// sequence numbers, flags, window and the options a Linux peer sends), writing
// the header of a segment we send, and the checksum over the IPv4
// pseudo-header. No DPDK here; the io loop hands in the bytes after the IPv4
// header. We send only MSS and window scale; SACK-permitted and timestamps
// are recognised and ignored, as Seastar's native stack does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringcast {

inline constexpr uint8_t ipproto_tcp = 6;
inline constexpr size_t tcp_hdr_len = 20;     // without options
inline constexpr size_t tcp_max_hdr_len = 60; // data offset is 4 bits of 32-bit words
// RFC 7323 §2.3: a shift above 14 is taken as 14.
inline constexpr uint8_t tcp_max_wscale = 14;

namespace tcp_flags {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
inline constexpr uint8_t urg = 0x20;
} // namespace tcp_flags

// Header fields in host order. `mss` 0: the option was absent.
struct tcp_header {
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint8_t flags = 0;
    uint16_t window = 0; // as on the wire, not scaled
    uint16_t mss = 0;
    bool has_wscale = false;
    uint8_t wscale = 0; // clamped to tcp_max_wscale
    // Recognised so that they are not mistaken for garbage; never used.
    bool sack_permitted = false;
    bool has_timestamps = false;

    [[nodiscard]] bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
};

// One received segment: its header and its payload, a view into the caller's bytes.
struct tcp_segment_view {
    tcp_header hdr;
    uint32_t header_len = 0;
    std::span<const std::byte> payload;

    // Sequence space the segment occupies: payload, plus one each for SYN and FIN.
    [[nodiscard]] uint32_t seq_len() const noexcept {
        return static_cast<uint32_t>(payload.size()) + (hdr.has(tcp_flags::syn) ? 1u : 0u) +
               (hdr.has(tcp_flags::fin) ? 1u : 0u);
    }
};

enum class tcp_parse_status : uint8_t {
    ok,
    truncated,       // fewer than 20 bytes
    bad_data_offset, // data offset below 5 words or past the segment
    bad_option,      // an option length of 0 or 1, past the header, or wrong for its kind
};

// Parses the TCP segment `seg` (the IPv4 payload, IPv4 length already
// applied). Never reads past the span. Does not check the checksum.
[[nodiscard]] tcp_parse_status parse_tcp(std::span<const std::byte> seg, tcp_segment_view& out) noexcept;

// Header bytes write_tcp_header writes for `h`: 20, plus 4 with MSS, plus 4
// with window scale (a NOP pads it to a word).
[[nodiscard]] constexpr size_t tcp_header_size(const tcp_header& h) noexcept {
    return tcp_hdr_len + (h.mss != 0 ? 4 : 0) + (h.has_wscale ? 4 : 0);
}

// Writes `h` into `out` (at least tcp_header_size(h) bytes) with the
// checksum field 0; returns the bytes written. Only the MSS (when h.mss != 0)
// and window scale (when h.has_wscale) options: the caller sets them on a
// SYN-ACK only, window scale only when the peer's SYN carried it.
size_t write_tcp_header(std::span<std::byte> out, const tcp_header& h) noexcept;

// The one's-complement sum of the IPv4 pseudo-header (addresses in host
// order, protocol 6, TCP length), to be the `initial` of inet_checksum.
[[nodiscard]] constexpr uint32_t tcp_pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint32_t tcp_len) noexcept {
    return (src_ip >> 16) + (src_ip & 0xffff) + (dst_ip >> 16) + (dst_ip & 0xffff) + ipproto_tcp + tcp_len;
}

// The checksum to store in a segment whose checksum field is 0; a received
// segment whose field is intact checks to 0.
[[nodiscard]] uint16_t tcp_checksum(uint32_t src_ip, uint32_t dst_ip, std::span<const std::byte> seg) noexcept;

// Writes the checksum of `seg` (header written by write_tcp_header, payload after it) into it.
void set_tcp_checksum(std::span<std::byte> seg, uint32_t src_ip, uint32_t dst_ip) noexcept;

} // namespace ringcast
