// libFuzzer: the L2-L4 classifier (core/net) on any received frame, and the
// in-place ARP and echo replies on a copy when it asks for them. The first
// input byte picks options, the rest is the frame: bit 0 fixes the IPv4
// header checksum and bit 1 the ICMP or UDP checksum before classifying (so
// that mutations get past them), bit 2 turns off UDP checksum checking,
// bit 3 listens on any UDP port.
#include "fuzz_check.hpp"

#include <ringcast/core/net.hpp>
#include <ringcast/core/tcp_conn.hpp>
#include <ringcast/core/tcp_wire.hpp>
#include <ringcast/core/wire.hpp>

#include <vector>

namespace {

using namespace ringcast;

constexpr size_t ip = eth_hdr_len;
constexpr size_t l4 = eth_hdr_len + ipv4_hdr_len;

port_identity me(uint8_t opts) {
    port_identity p;
    p.mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    p.ipv4 = 0xc0000201; // 192.0.2.1
    p.udp_port = (opts & 8) != 0 ? 0 : 5555;
    p.verify_udp_checksum = (opts & 4) == 0;
    return p;
}

// Makes the checksums hold where the frame is long enough to have them.
void fix_checksums(std::vector<std::byte>& f, uint8_t opts) {
    if (f.size() < l4 || load_be<uint16_t>(f, 12) != ethertype_ipv4) {
        return;
    }
    if ((opts & 1) != 0) {
        store_be<uint16_t>(f, ip + 10, 0);
        store_be<uint16_t>(f, ip + 10, inet_checksum(std::span(f).subspan(ip, ipv4_hdr_len)));
    }
    const size_t end = std::min(f.size(), eth_hdr_len + load_be<uint16_t>(f, ip + 2));
    if ((opts & 2) == 0 || end < l4 + 8) {
        return;
    }
    const auto seg = std::span(f).subspan(l4, end - l4);
    const uint8_t proto = load_be<uint8_t>(f, ip + 9);
    if (proto == ipproto_icmp) {
        store_be<uint16_t>(seg, 2, 0);
        store_be<uint16_t>(seg, 2, inet_checksum(seg));
    } else if (proto == ipproto_udp) {
        // The pseudo-header's sum, then the segment's.
        store_be<uint16_t>(seg, 6, 0);
        const uint16_t pseudo = static_cast<uint16_t>(~inet_checksum(std::span(f).subspan(ip + 12, 8)));
        const uint16_t sum = inet_checksum(seg, uint32_t{pseudo} + ipproto_udp + static_cast<uint32_t>(seg.size()));
        store_be<uint16_t>(seg, 6, sum == 0 ? 0xffff : sum);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const uint8_t opts = data[0];
    const port_identity id = me(opts);
    // An exact-size heap copy: ASan sees any read past the frame's end.
    std::vector<std::byte> frame(reinterpret_cast<const std::byte*>(data) + 1,
                                 reinterpret_cast<const std::byte*>(data) + size);
    fix_checksums(frame, opts);

    const packet_info p = classify(frame, id);
    switch (p.kind) {
    case packet_kind::drop:
        RC_FUZZ_CHECK(static_cast<size_t>(p.reason) < drop_count); // it has a counter slot
        break;
    case packet_kind::arp_request: {
        RC_FUZZ_CHECK(frame.size() >= eth_hdr_len + arp_len);
        std::vector<std::byte> reply = frame;
        make_arp_reply(reply, id);
        // The reply goes back to the asker, from us, and is one we would ignore (not a request to us).
        RC_FUZZ_CHECK(std::equal(reply.begin(), reply.begin() + 6, frame.begin() + 6));
        const packet_info again = classify(reply, id);
        RC_FUZZ_CHECK(again.kind != packet_kind::arp_request);
        break;
    }
    case packet_kind::arp_reply:
        RC_FUZZ_CHECK(frame.size() >= eth_hdr_len + arp_len);
        break;
    case packet_kind::icmp_echo: {
        RC_FUZZ_CHECK(frame.size() >= l4 + 8);
        std::vector<std::byte> reply = frame;
        make_icmp_echo_reply(reply);
        RC_FUZZ_CHECK(reply.size() == frame.size());
        // Addresses swapped; both checksums hold over the reply.
        RC_FUZZ_CHECK(load_be<uint32_t>(reply, ip + 12) == id.ipv4);
        RC_FUZZ_CHECK(inet_checksum(std::span(reply).subspan(ip, ipv4_hdr_len)) == 0);
        const size_t end = eth_hdr_len + load_be<uint16_t>(reply, ip + 2);
        RC_FUZZ_CHECK(inet_checksum(std::span(reply).subspan(l4, end - l4)) == 0);
        RC_FUZZ_CHECK(load_be<uint8_t>(reply, l4) == 0);
        break;
    }
    case packet_kind::tcp: {
        RC_FUZZ_CHECK(p.payload_off == l4);
        RC_FUZZ_CHECK(size_t{p.payload_off} + p.payload_len <= frame.size());
        // What the io lcore does with it: the RST answering it, on a copy.
        tcp_segment_view seg;
        if (parse_tcp(std::span<const std::byte>(frame).subspan(p.payload_off, p.payload_len), seg) !=
            tcp_parse_status::ok) {
            break;
        }
        const auto rst = reset_for(seg);
        if (!rst) {
            break;
        }
        std::vector<std::byte> reply = frame;
        const size_t n = make_tcp_reply(reply, *rst);
        RC_FUZZ_CHECK(n == l4 + tcp_hdr_len && n <= frame.size());
        RC_FUZZ_CHECK(load_be<uint32_t>(reply, ip + 12) == id.ipv4);
        RC_FUZZ_CHECK(inet_checksum(std::span(reply).subspan(ip, ipv4_hdr_len)) == 0);
        RC_FUZZ_CHECK(tcp_checksum(id.ipv4, p.src.ip, std::span(reply).subspan(l4, n - l4)) == 0);
        break;
    }
    case packet_kind::udp:
        RC_FUZZ_CHECK(p.payload_off == l2l4_len);
        RC_FUZZ_CHECK(size_t{p.payload_off} + p.payload_len <= frame.size());
        RC_FUZZ_CHECK(id.udp_port == 0 || p.dst_port == id.udp_port);
        break;
    }
    return 0;
}
