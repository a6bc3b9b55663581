// MQTT 3.1.1 packets out of a TCP-lite byte stream: core/packet_stream with
// MQTT's framing, the 2-to-5-byte fixed header (core/mqtt_codec) whose
// remaining length gives the packet's size. A stream that breaks framing
// (a bad fixed header, a packet longer than allowed) is dead: the caller
// counts it and closes the connection.
#pragma once

#include <ringcast/core/mqtt_codec.hpp>
#include <ringcast/core/packet_stream.hpp>

#include <cstddef>
#include <span>

namespace ringcast::mqtt {

struct stream_verdict {
    decode_status status = decode_status::ok;
    [[nodiscard]] bool ok() const noexcept { return status == decode_status::ok; }
};

// One whole packet: its fixed header and the bytes after it.
struct packet_view {
    fixed_header header;
    std::span<const std::byte> body;
};

struct mqtt_framing {
    using result = stream_verdict;
    using packet = packet_view;
    static constexpr size_t min_header = 2;
    static constexpr size_t max_header = max_fixed_header;

    stream_verdict size_of(std::span<const std::byte> head, size_t max_packet, size_t& total,
                           bool& need_more) const noexcept;
    packet_view view(std::span<const std::byte> whole) const noexcept;
};

// `mqtt_stream(max_packet)`: the longest packet accepted, fixed header included.
using mqtt_stream = packet_stream<mqtt_framing>;

} // namespace ringcast::mqtt
