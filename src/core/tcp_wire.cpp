#include <ringcast/core/net.hpp>
#include <ringcast/core/tcp_wire.hpp>
#include <ringcast/core/wire.hpp>

#include <algorithm>

namespace ringcast {

namespace {

// Field offsets within the TCP header.
constexpr size_t off_src_port = 0;
constexpr size_t off_dst_port = 2;
constexpr size_t off_seq = 4;
constexpr size_t off_ack = 8;
constexpr size_t off_data_off = 12;
constexpr size_t off_flags = 13;
constexpr size_t off_window = 14;
constexpr size_t off_checksum = 16;
constexpr size_t off_urgent = 18;

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018) and their fixed lengths.
constexpr uint8_t opt_end = 0;
constexpr uint8_t opt_nop = 1;
constexpr uint8_t opt_mss = 2;
constexpr uint8_t opt_wscale = 3;
constexpr uint8_t opt_sack_permitted = 4;
constexpr uint8_t opt_sack = 5;
constexpr uint8_t opt_timestamps = 8;
constexpr uint8_t len_mss = 4;
constexpr uint8_t len_wscale = 3;
constexpr uint8_t len_sack_permitted = 2;
constexpr uint8_t len_timestamps = 10;

// Walks the options between the fixed header and the data offset. A kind we
// do not know is skipped by its length; a length that cannot be right ends
// the parse, since everything after it would be read out of step.
tcp_parse_status parse_options(std::span<const std::byte> opts, tcp_header& h) noexcept {
    size_t i = 0;
    while (i < opts.size()) {
        const auto kind = load_be<uint8_t>(opts, i);
        if (kind == opt_end) {
            break;
        }
        if (kind == opt_nop) {
            ++i;
            continue;
        }
        if (i + 1 >= opts.size()) {
            return tcp_parse_status::bad_option;
        }
        const auto len = load_be<uint8_t>(opts, i + 1);
        if (len < 2 || i + len > opts.size()) {
            return tcp_parse_status::bad_option;
        }
        const auto body = opts.subspan(i + 2, len - 2u);
        switch (kind) {
        case opt_mss:
            if (len != len_mss) {
                return tcp_parse_status::bad_option;
            }
            h.mss = load_be<uint16_t>(body, 0);
            break;
        case opt_wscale:
            if (len != len_wscale) {
                return tcp_parse_status::bad_option;
            }
            h.has_wscale = true;
            h.wscale = std::min(load_be<uint8_t>(body, 0), tcp_max_wscale);
            break;
        case opt_sack_permitted:
            if (len != len_sack_permitted) {
                return tcp_parse_status::bad_option;
            }
            h.sack_permitted = true;
            break;
        case opt_timestamps:
            if (len != len_timestamps) {
                return tcp_parse_status::bad_option;
            }
            h.has_timestamps = true;
            break;
        case opt_sack: // blocks we never asked for (we do not send SACK-permitted)
        default:
            break;
        }
        i += len;
    }
    return tcp_parse_status::ok;
}

} // namespace

tcp_parse_status parse_tcp(std::span<const std::byte> seg, tcp_segment_view& out) noexcept {
    if (seg.size() < tcp_hdr_len) {
        return tcp_parse_status::truncated;
    }
    const size_t hlen = (size_t{load_be<uint8_t>(seg, off_data_off)} >> 4) * 4; // in 32-bit words
    if (hlen < tcp_hdr_len || hlen > seg.size()) {
        return tcp_parse_status::bad_data_offset;
    }
    tcp_header h;
    h.src_port = load_be<uint16_t>(seg, off_src_port);
    h.dst_port = load_be<uint16_t>(seg, off_dst_port);
    h.seq = load_be<uint32_t>(seg, off_seq);
    h.ack = load_be<uint32_t>(seg, off_ack);
    // ECE and CWR (0x40, 0x80) are not used: we never negotiate ECN.
    h.flags = load_be<uint8_t>(seg, off_flags) & 0x3f;
    h.window = load_be<uint16_t>(seg, off_window);
    if (const auto st = parse_options(seg.subspan(tcp_hdr_len, hlen - tcp_hdr_len), h);
        st != tcp_parse_status::ok) {
        return st;
    }
    out.hdr = h;
    out.header_len = static_cast<uint32_t>(hlen);
    out.payload = seg.subspan(hlen);
    return tcp_parse_status::ok;
}

size_t write_tcp_header(std::span<std::byte> out, const tcp_header& h) noexcept {
    const size_t hlen = tcp_header_size(h);
    store_be<uint16_t>(out, off_src_port, h.src_port);
    store_be<uint16_t>(out, off_dst_port, h.dst_port);
    store_be<uint32_t>(out, off_seq, h.seq);
    store_be<uint32_t>(out, off_ack, h.ack);
    store_be<uint8_t>(out, off_data_off, static_cast<uint8_t>((hlen / 4) << 4));
    store_be<uint8_t>(out, off_flags, h.flags);
    store_be<uint16_t>(out, off_window, h.window);
    store_be<uint16_t>(out, off_checksum, 0);
    store_be<uint16_t>(out, off_urgent, 0);
    size_t i = tcp_hdr_len;
    if (h.mss != 0) {
        store_be<uint8_t>(out, i, opt_mss);
        store_be<uint8_t>(out, i + 1, len_mss);
        store_be<uint16_t>(out, i + 2, h.mss);
        i += len_mss;
    }
    if (h.has_wscale) {
        // NOP first, as Linux lays it out, so the next option starts on a word.
        store_be<uint8_t>(out, i, opt_nop);
        store_be<uint8_t>(out, i + 1, opt_wscale);
        store_be<uint8_t>(out, i + 2, len_wscale);
        store_be<uint8_t>(out, i + 3, std::min(h.wscale, tcp_max_wscale));
        i += 4;
    }
    return i;
}

uint16_t tcp_checksum(uint32_t src_ip, uint32_t dst_ip, std::span<const std::byte> seg) noexcept {
    return inet_checksum(seg, tcp_pseudo_sum(src_ip, dst_ip, static_cast<uint32_t>(seg.size())));
}

void set_tcp_checksum(std::span<std::byte> seg, uint32_t src_ip, uint32_t dst_ip) noexcept {
    store_be<uint16_t>(seg, off_checksum, 0);
    store_be<uint16_t>(seg, off_checksum, tcp_checksum(src_ip, dst_ip, seg));
}

} // namespace ringcast
