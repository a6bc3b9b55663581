#include <ringcast/core/rcp_stream.hpp>

#include <stdexcept>

namespace ringcast {

rcp_stream::rcp_stream(size_t max_frame) : _buf(max_frame) {
    if (max_frame < frame_header_size) {
        throw std::invalid_argument("rcp_stream: max_frame below a frame header");
    }
}

stream_result rcp_stream::check_header(std::span<const std::byte> header, size_t& total) noexcept {
    // parse_frame checks magic, version and op first; on a header alone
    // it can only say truncated (or ok for a frame of 16 bytes).
    const parse_result r = parse_frame(header, 0);
    if (r.status != parse_status::ok && r.status != parse_status::truncated) {
        return {stream_status::bad_frame, r.status, r.err_seq};
    }
    // In 64 bits: a lying payload_len near 2^32 must not wrap.
    const uint64_t n = uint64_t{frame_header_size} + load_be<uint8_t>(header, frame_off::topic_len) +
                       load_be<uint32_t>(header, frame_off::payload_len);
    if (n > _buf.size()) {
        return {stream_status::too_long, parse_status::ok, r.err_seq};
    }
    total = static_cast<size_t>(n);
    return {};
}

} // namespace ringcast
