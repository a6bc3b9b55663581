// RCP/1 frames out of a byte stream (TCP-lite): core/packet_stream with
// RCP/1's framing, a fixed 16-byte header whose topic and payload lengths
// give the frame's size. A stream that breaks framing (bad magic, version
// or op, a frame longer than allowed) is dead: the caller answers ERR and
// closes the connection.
#pragma once

#include <ringcast/core/packet_stream.hpp>
#include <ringcast/core/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringcast {

enum class stream_status : uint8_t {
    ok,
    bad_frame, // parse_frame refused a header: `frame_error` says why
    too_long,  // a header announced more than max_frame bytes
};

struct stream_result {
    stream_status status = stream_status::ok;
    parse_status frame_error = parse_status::ok;
    uint64_t err_seq = 0; // the offending frame's seq, for the ERR
    [[nodiscard]] bool ok() const noexcept { return status == stream_status::ok; }
};

struct rcp_framing {
    using result = stream_result;
    using packet = frame_view;
    static constexpr size_t min_header = frame_header_size;
    static constexpr size_t max_header = frame_header_size;

    stream_result size_of(std::span<const std::byte> head, size_t max_frame, size_t& total, bool& need_more) const noexcept;
    frame_view view(std::span<const std::byte> whole) const noexcept { return parse_frame(whole, 0).frame; }
};

// `rcp_stream(max_frame)`: the longest frame accepted, header included (at least 16).
using rcp_stream = packet_stream<rcp_framing>;

} // namespace ringcast
