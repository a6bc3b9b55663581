// libFuzzer: TCP-lite's segment parser (core/tcp_wire) on any IPv4 payload.
// What it accepts has its payload inside the input after a header of the
// length it says; writing the parsed header back (MSS and window scale only,
// as TCP-lite sends) and parsing that again gives the same fields; and the
// checksum set on a copy checks to 0.
#include "fuzz_check.hpp"

#include <ringcast/core/tcp_wire.hpp>

#include <array>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringcast;
    const auto seg = fuzz::input(data, size);
    tcp_segment_view v;
    if (parse_tcp(seg, v) != tcp_parse_status::ok) {
        return 0;
    }
    RC_FUZZ_CHECK(v.header_len >= tcp_hdr_len && v.header_len <= tcp_max_hdr_len && v.header_len <= seg.size());
    RC_FUZZ_CHECK(v.payload.size() == seg.size() - v.header_len);
    RC_FUZZ_CHECK(fuzz::within(v.payload, seg));
    RC_FUZZ_CHECK(!v.hdr.has_wscale || v.hdr.wscale <= tcp_max_wscale);

    std::vector<std::byte> out(tcp_header_size(v.hdr) + v.payload.size());
    const size_t n = write_tcp_header(out, v.hdr);
    RC_FUZZ_CHECK(n == tcp_header_size(v.hdr));
    std::copy(v.payload.begin(), v.payload.end(), out.begin() + static_cast<std::ptrdiff_t>(n));
    tcp_segment_view again;
    RC_FUZZ_CHECK(parse_tcp(out, again) == tcp_parse_status::ok);
    const tcp_header& a = v.hdr;
    const tcp_header& b = again.hdr;
    RC_FUZZ_CHECK(a.src_port == b.src_port && a.dst_port == b.dst_port && a.seq == b.seq && a.ack == b.ack);
    RC_FUZZ_CHECK(a.flags == b.flags && a.window == b.window && a.mss == b.mss);
    RC_FUZZ_CHECK(a.has_wscale == b.has_wscale && (!a.has_wscale || a.wscale == b.wscale));
    RC_FUZZ_CHECK(again.payload.size() == v.payload.size());

    set_tcp_checksum(out, 0xc0000202, 0xc0000201);
    RC_FUZZ_CHECK(tcp_checksum(0xc0000202, 0xc0000201, out) == 0);
    return 0;
}
