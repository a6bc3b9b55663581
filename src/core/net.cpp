#include <ringcast/core/net.hpp>
#include <ringcast/core/tcp_wire.hpp>
#include <ringcast/core/wire.hpp>

#include <algorithm>
#include <cstring>

namespace ringcast {

namespace {

// Field offsets within the frame.
constexpr size_t eth_type = 12;
constexpr size_t ip = eth_hdr_len;
constexpr size_t ip_total_len = ip + 2;
constexpr size_t ip_frag = ip + 6;
constexpr size_t ip_ttl = ip + 8;
constexpr size_t ip_proto = ip + 9;
constexpr size_t ip_csum = ip + 10;
constexpr size_t ip_src = ip + 12;
constexpr size_t ip_dst = ip + 16;
constexpr size_t l4 = ip + ipv4_hdr_len;
constexpr size_t arp = eth_hdr_len;
constexpr size_t arp_oper = arp + 6;
constexpr size_t arp_sender_mac = arp + 8;
constexpr size_t arp_sender_ip = arp + 14;
constexpr size_t arp_target_mac = arp + 18;
constexpr size_t arp_target_ip = arp + 24;
constexpr uint16_t ip_mf = 0x2000;
constexpr uint16_t ip_offset_mask = 0x1fff;
constexpr uint8_t default_ttl = 64;

// The RFC 1071 sum of `d`'s big-endian 16-bit words (an odd last byte padded
// with zero) added to `acc`, folded to at most 17 bits. Four bytes a step:
// 2^16 = 1 modulo 0xffff, so a 32-bit word counts as its two halves. About
// a third of the instructions of a 16-bit loop on a 20-byte IPv4 header.
uint32_t sum16(std::span<const std::byte> d, uint32_t acc) noexcept {
    uint64_t sum = acc;
    size_t i = 0;
    for (; i + 4 <= d.size(); i += 4) {
        sum += load_be<uint32_t>(d, i);
    }
    if (i + 2 <= d.size()) {
        sum += load_be<uint16_t>(d, i);
        i += 2;
    }
    if (i < d.size()) {
        sum += uint32_t(d[i]) << 8;
    }
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint32_t>((sum & 0xffff) + (sum >> 16));
}

uint16_t fold(uint32_t acc) noexcept {
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return static_cast<uint16_t>(acc);
}

void copy_mac(std::span<std::byte> f, size_t off, const mac_addr& m) noexcept {
    std::memcpy(f.data() + off, m.data(), m.size());
}

void swap_bytes(std::span<std::byte> f, size_t a, size_t b, size_t n) noexcept {
    std::swap_ranges(f.begin() + a, f.begin() + a + n, f.begin() + b);
}

packet_info dropped(drop why) noexcept {
    packet_info p;
    p.reason = why;
    return p;
}

packet_info classify_arp(std::span<const std::byte> f, const port_identity& me) noexcept {
    if (f.size() < eth_hdr_len + arp_len) {
        return dropped(drop::runt);
    }
    // Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4) for our address;
    // oper 1 is a request, 2 a reply.
    const bool ipv4_over_ethernet = load_be<uint16_t>(f, arp) == 1 &&
                                    load_be<uint16_t>(f, arp + 2) == ethertype_ipv4 &&
                                    load_be<uint8_t>(f, arp + 4) == 6 && load_be<uint8_t>(f, arp + 5) == 4;
    const uint16_t oper = load_be<uint16_t>(f, arp_oper);
    if (!ipv4_over_ethernet || (oper != 1 && oper != 2) || load_be<uint32_t>(f, arp_target_ip) != me.ipv4) {
        return dropped(drop::arp_ignored);
    }
    packet_info p;
    p.kind = oper == 1 ? packet_kind::arp_request : packet_kind::arp_reply;
    std::memcpy(p.src_mac.data(), f.data() + arp_sender_mac, p.src_mac.size());
    p.src.ip = load_be<uint32_t>(f, arp_sender_ip);
    return p;
}

} // namespace

uint16_t inet_checksum(std::span<const std::byte> data, uint32_t initial) noexcept {
    return static_cast<uint16_t>(~fold(sum16(data, initial)));
}

packet_info classify(std::span<const std::byte> f, const port_identity& me) noexcept {
    if (f.size() < eth_hdr_len) {
        return dropped(drop::runt);
    }
    const uint16_t type = load_be<uint16_t>(f, eth_type);
    if (type == ethertype_arp) {
        return classify_arp(f, me);
    }
    if (type != ethertype_ipv4) {
        return dropped(drop::not_ipv4);
    }
    if (f.size() < l4) {
        return dropped(drop::runt);
    }
    const uint8_t ver_ihl = load_be<uint8_t>(f, ip);
    const uint16_t total = load_be<uint16_t>(f, ip_total_len);
    if ((ver_ihl >> 4) != 4 || (ver_ihl & 0x0f) < 5 || total < ipv4_hdr_len ||
        eth_hdr_len + total > f.size()) {
        return dropped(drop::ip_bad_header);
    }
    if ((ver_ihl & 0x0f) != 5) {
        return dropped(drop::ip_options);
    }
    const uint16_t frag = load_be<uint16_t>(f, ip_frag);
    if ((frag & ip_mf) != 0 || (frag & ip_offset_mask) != 0) {
        return dropped(drop::ip_fragment);
    }
    if (inet_checksum(f.subspan(ip, ipv4_hdr_len)) != 0) {
        return dropped(drop::ip_bad_checksum);
    }
    if (load_be<uint32_t>(f, ip_dst) != me.ipv4) {
        return dropped(drop::ip_not_ours);
    }
    // Ethernet pads short frames: the IPv4 length, not the frame's, ends the packet.
    const auto pkt = f.first(eth_hdr_len + total);
    const uint8_t proto = load_be<uint8_t>(pkt, ip_proto);
    packet_info p;
    std::memcpy(p.src_mac.data(), pkt.data() + 6, 6);
    p.src.ip = load_be<uint32_t>(pkt, ip_src);
    if (proto == ipproto_icmp) {
        // Type 8 code 0, and a checksum that holds over the whole message.
        const auto icmp = pkt.subspan(l4);
        if (icmp.size() < 8 || load_be<uint8_t>(icmp, 0) != 8 || load_be<uint8_t>(icmp, 1) != 0 ||
            inet_checksum(icmp) != 0) {
            return dropped(drop::icmp_ignored);
        }
        p.kind = packet_kind::icmp_echo;
        return p;
    }
    if (proto == ipproto_tcp) {
        // Parsed and checked by its user: the segment's header is TCP-lite's business.
        p.kind = packet_kind::tcp;
        const auto seg = pkt.subspan(l4);
        if (seg.size() >= 4) {
            p.src.port = load_be<uint16_t>(seg, 0);
            p.dst_port = load_be<uint16_t>(seg, 2);
        }
        p.payload_off = static_cast<uint32_t>(l4);
        p.payload_len = static_cast<uint32_t>(seg.size());
        return p;
    }
    if (proto != ipproto_udp) {
        return dropped(drop::ip_proto);
    }
    const auto udp = pkt.subspan(l4);
    if (udp.size() < udp_hdr_len || load_be<uint16_t>(udp, 4) != udp.size()) {
        return dropped(drop::udp_bad_length);
    }
    const uint16_t dst_port = load_be<uint16_t>(udp, 2);
    if (me.udp_port != 0 && dst_port != me.udp_port) {
        return dropped(drop::udp_port);
    }
    const uint16_t csum = load_be<uint16_t>(udp, 6);
    if (me.verify_udp_checksum && csum != 0) {
        // Pseudo-header: source, destination, protocol, UDP length.
        uint32_t acc = sum16(pkt.subspan(ip_src, 8), 0) + ipproto_udp + static_cast<uint32_t>(udp.size());
        if (fold(sum16(udp, acc)) != 0xffff) {
            return dropped(drop::udp_bad_checksum);
        }
    }
    p.kind = packet_kind::udp;
    p.src.port = load_be<uint16_t>(udp, 0);
    p.dst_port = dst_port;
    p.payload_off = static_cast<uint32_t>(l4 + udp_hdr_len);
    p.payload_len = static_cast<uint32_t>(udp.size() - udp_hdr_len);
    return p;
}

void make_arp_reply(std::span<std::byte> f, const port_identity& me) noexcept {
    // Target <- sender, sender <- us, oper 2; Ethernet back to the asker.
    std::memcpy(f.data(), f.data() + 6, 6);
    copy_mac(f, 6, me.mac);
    store_be<uint16_t>(f, arp_oper, 2);
    std::memcpy(f.data() + arp_target_mac, f.data() + arp_sender_mac, 10);
    copy_mac(f, arp_sender_mac, me.mac);
    store_be<uint32_t>(f, arp_sender_ip, me.ipv4);
}

void make_arp_request(std::span<std::byte> out, const port_identity& me, uint32_t target_ip) noexcept {
    std::memset(out.data(), 0xff, 6); // broadcast
    copy_mac(out, 6, me.mac);
    store_be<uint16_t>(out, eth_type, ethertype_arp);
    store_be<uint16_t>(out, arp, 1);
    store_be<uint16_t>(out, arp + 2, ethertype_ipv4);
    store_be<uint8_t>(out, arp + 4, 6);
    store_be<uint8_t>(out, arp + 5, 4);
    store_be<uint16_t>(out, arp_oper, 1);
    copy_mac(out, arp_sender_mac, me.mac);
    store_be<uint32_t>(out, arp_sender_ip, me.ipv4);
    std::memset(out.data() + arp_target_mac, 0, 6);
    store_be<uint32_t>(out, arp_target_ip, target_ip);
}

void make_icmp_echo_reply(std::span<std::byte> f) noexcept {
    swap_bytes(f, 0, 6, 6);
    swap_bytes(f, ip_src, ip_dst, 4);
    store_be<uint8_t>(f, ip_ttl, default_ttl);
    store_be<uint16_t>(f, ip_csum, 0);
    store_be<uint16_t>(f, ip_csum, inet_checksum(f.subspan(ip, ipv4_hdr_len)));
    const uint16_t total = load_be<uint16_t>(f, ip_total_len);
    auto icmp = f.subspan(l4, total - ipv4_hdr_len);
    store_be<uint8_t>(icmp, 0, 0); // echo reply
    store_be<uint16_t>(icmp, 2, 0);
    store_be<uint16_t>(icmp, 2, inet_checksum(icmp));
}

size_t make_tcp_reply(std::span<std::byte> f, const tcp_header& h) noexcept {
    swap_bytes(f, 0, 6, 6);
    swap_bytes(f, ip_src, ip_dst, 4);
    const size_t tcp_len = tcp_header_size(h);
    store_be<uint16_t>(f, ip_total_len, static_cast<uint16_t>(ipv4_hdr_len + tcp_len));
    store_be<uint16_t>(f, ip + 4, 0);
    store_be<uint16_t>(f, ip_frag, 0x4000); // DF
    store_be<uint8_t>(f, ip_ttl, default_ttl);
    store_be<uint16_t>(f, ip_csum, 0);
    store_be<uint16_t>(f, ip_csum, inet_checksum(f.subspan(ip, ipv4_hdr_len)));
    const auto seg = f.subspan(l4, tcp_len);
    (void)write_tcp_header(seg, h);
    set_tcp_checksum(seg, load_be<uint32_t>(f, ip_src), load_be<uint32_t>(f, ip_dst));
    return l4 + tcp_len;
}

namespace {

// Ethernet and IPv4 (DF, no options) in front of `l4_len` bytes of `proto`.
void write_eth_ipv4(std::span<std::byte> out, const mac_addr& src_mac, const mac_addr& dst_mac, uint32_t src_ip,
                    uint32_t dst_ip, uint8_t proto, size_t l4_len) noexcept {
    copy_mac(out, 0, dst_mac);
    copy_mac(out, 6, src_mac);
    store_be<uint16_t>(out, eth_type, ethertype_ipv4);
    store_be<uint8_t>(out, ip, 0x45);
    store_be<uint8_t>(out, ip + 1, 0);
    store_be<uint16_t>(out, ip_total_len, static_cast<uint16_t>(ipv4_hdr_len + l4_len));
    store_be<uint16_t>(out, ip + 4, 0);
    store_be<uint16_t>(out, ip_frag, 0x4000); // DF
    store_be<uint8_t>(out, ip_ttl, default_ttl);
    store_be<uint8_t>(out, ip_proto, proto);
    store_be<uint16_t>(out, ip_csum, 0);
    store_be<uint32_t>(out, ip_src, src_ip);
    store_be<uint32_t>(out, ip_dst, dst_ip);
    store_be<uint16_t>(out, ip_csum, inet_checksum(out.subspan(ip, ipv4_hdr_len)));
}

} // namespace

void write_udp_headers(std::span<std::byte> out, const mac_addr& src_mac, const mac_addr& dst_mac,
                       uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
                       uint16_t payload_len) noexcept {
    write_eth_ipv4(out, src_mac, dst_mac, src_ip, dst_ip, ipproto_udp, udp_hdr_len + payload_len);
    store_be<uint16_t>(out, l4, src_port);
    store_be<uint16_t>(out, l4 + 2, dst_port);
    store_be<uint16_t>(out, l4 + 4, static_cast<uint16_t>(udp_hdr_len + payload_len));
    store_be<uint16_t>(out, l4 + 6, 0);
}

size_t write_tcp_headers(std::span<std::byte> out, const mac_addr& src_mac, const mac_addr& dst_mac,
                         uint32_t src_ip, uint32_t dst_ip, const tcp_header& h, size_t payload_len) noexcept {
    const size_t tcp_len = tcp_header_size(h);
    write_eth_ipv4(out, src_mac, dst_mac, src_ip, dst_ip, ipproto_tcp, tcp_len + payload_len);
    (void)write_tcp_header(out.subspan(l4, tcp_len), h);
    return l4 + tcp_len;
}

} // namespace ringcast
