// Ethernet, ARP, IPv4, ICMP and UDP on byte spans: classifying a received
// frame, answering ARP and ping in place, and writing the 42-byte header of a
// delivery. No DPDK here; the io loop hands in rte_pktmbuf_mtod spans.
#pragma once

#include <ringcast/core/counters.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ringcast {

using mac_addr = std::array<uint8_t, 6>;

inline constexpr size_t eth_hdr_len = 14;
inline constexpr size_t ipv4_hdr_len = 20;
inline constexpr size_t udp_hdr_len = 8;
inline constexpr size_t l2l4_len = eth_hdr_len + ipv4_hdr_len + udp_hdr_len; // 42
inline constexpr size_t arp_len = 28;
inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint16_t ethertype_arp = 0x0806;
inline constexpr uint8_t ipproto_icmp = 1;
inline constexpr uint8_t ipproto_udp = 17;

struct tcp_header; // tcp_wire.hpp

// A UDP peer: address and port (host order) and the port it came in on.
struct endpoint {
    uint32_t ip = 0;
    uint16_t port = 0;
    uint16_t port_id = 0;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

// A TCP-lite connection as a source or subscriber: the peer's address and
// port, and in port_id the port's index with this bit set and the io lcore
// that owns the connection above it, so a worker knows where its deliveries
// go. UDP sources never have the bit (port indexes are below max_ports).
inline constexpr uint16_t tcp_endpoint_bit = 0x8000;
[[nodiscard]] constexpr endpoint tcp_endpoint(uint32_t ip, uint16_t port, uint16_t port_index,
                                              uint16_t io_index) noexcept {
    return endpoint{ip, port, static_cast<uint16_t>(tcp_endpoint_bit | io_index << 4 | port_index)};
}
[[nodiscard]] constexpr bool is_tcp(const endpoint& e) noexcept { return (e.port_id & tcp_endpoint_bit) != 0; }
[[nodiscard]] constexpr uint16_t port_index(const endpoint& e) noexcept {
    return is_tcp(e) ? e.port_id & 0xf : e.port_id;
}
[[nodiscard]] constexpr uint16_t tcp_io_index(const endpoint& e) noexcept { return (e.port_id >> 4) & 0x7ff; }

[[nodiscard]] inline uint64_t endpoint_hash(const endpoint& e) noexcept {
    uint64_t h = (uint64_t{e.ip} << 32) | (uint64_t{e.port} << 16) | e.port_id;
    h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
    h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

// RFC 1071 one's-complement sum, folded and inverted.
[[nodiscard]] uint16_t inet_checksum(std::span<const std::byte> data, uint32_t initial = 0) noexcept;

enum class packet_kind : uint8_t {
    drop,        // `reason` says why
    arp_request, // a request for our address
    arp_reply,   // a reply to us: `src_mac` and `src.ip` are the sender's
    icmp_echo,   // an echo request to our address
    udp,         // to our address and UDP port; `payload` is the datagram's data
    tcp,         // to our address; `payload` is the whole TCP segment (header included), unchecked
};

struct packet_info {
    packet_kind kind = packet_kind::drop;
    drop reason = drop::runt;
    mac_addr src_mac{};
    endpoint src;             // for udp and tcp (port_id left 0 for the caller to set); arp_reply: ip only
    uint16_t dst_port = 0;    // for udp and tcp
    uint32_t payload_off = 0; // UDP payload (or TCP segment) offset in the frame
    uint32_t payload_len = 0;
};

struct port_identity {
    mac_addr mac{};
    uint32_t ipv4 = 0;     // host order
    uint16_t udp_port = 0; // 0: any destination port (the load generator's many subscriber identities)
    bool verify_udp_checksum = true;
};

// Looks at one received frame. Drops IP options, fragments, bad checksums,
// other addresses, ports and protocols, each with its reason.
[[nodiscard]] packet_info classify(std::span<const std::byte> frame, const port_identity& me) noexcept;

// Turns an ARP request for our address into the reply, in place.
void make_arp_reply(std::span<std::byte> frame, const port_identity& me) noexcept;

// Writes a broadcast ARP request from `me` for `target_ip` into the first
// eth_hdr_len + arp_len bytes of `out`.
void make_arp_request(std::span<std::byte> out, const port_identity& me, uint32_t target_ip) noexcept;

// Turns an ICMP echo request into the reply, in place (frame length unchanged).
void make_icmp_echo_reply(std::span<std::byte> frame) noexcept;

// Turns a received TCP frame (classify said tcp) into the segment `h`
// without payload, sent back to its source, in place; returns the frame's
// new length (34 + tcp_header_size(h) bytes, which `frame` must hold). The
// TCP checksum is computed; `h` says the rest.
[[nodiscard]] size_t make_tcp_reply(std::span<std::byte> frame, const tcp_header& h) noexcept;

// Writes Ethernet + IPv4 + UDP headers for a datagram of `payload_len` bytes.
// IPv4 checksum in software (no vdev offers the offload); UDP checksum 0, legal for IPv4.
void write_udp_headers(std::span<std::byte> out, const mac_addr& src_mac, const mac_addr& dst_mac,
                       uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
                       uint16_t payload_len) noexcept;

// Ethernet, IPv4 and the TCP header `h` (checksum 0) in front of
// `payload_len` bytes; returns the header bytes written (out holds at
// least 34 + tcp_header_size(h)). The caller sets the TCP checksum once the
// payload is in place.
size_t write_tcp_headers(std::span<std::byte> out, const mac_addr& src_mac, const mac_addr& dst_mac,
                         uint32_t src_ip, uint32_t dst_ip, const tcp_header& h, size_t payload_len) noexcept;

} // namespace ringcast
