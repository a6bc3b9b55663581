#include <ringcast/core/rcp_stream.hpp>

namespace ringcast {

stream_result rcp_framing::size_of(std::span<const std::byte> head, size_t max_frame, size_t& total,
                                   bool& need_more) const noexcept {
    need_more = false;
    const auto header = head.first(frame_header_size);
    // parse_frame checks magic, version and op first; on a header alone
    // it can only say truncated (or ok for a frame of 16 bytes).
    const parse_result r = parse_frame(header, 0);
    if (r.status != parse_status::ok && r.status != parse_status::truncated) {
        return {stream_status::bad_frame, r.status, r.err_seq};
    }
    // In 64 bits: a lying payload_len near 2^32 must not wrap.
    const uint64_t n = uint64_t{frame_header_size} + load_be<uint8_t>(header, frame_off::topic_len) +
                       load_be<uint32_t>(header, frame_off::payload_len);
    if (n > max_frame) {
        return {stream_status::too_long, parse_status::ok, r.err_seq};
    }
    total = static_cast<size_t>(n);
    return {};
}

} // namespace ringcast
