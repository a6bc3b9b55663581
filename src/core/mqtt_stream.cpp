#include <ringcast/core/mqtt_stream.hpp>

namespace ringcast::mqtt {

stream_verdict mqtt_framing::size_of(std::span<const std::byte> head, size_t max_packet, size_t& total,
                                     bool& need_more) const noexcept {
    need_more = false;
    fixed_header h;
    const decode_status s = parse_fixed_header(head, max_remaining_length, h);
    if (s == decode_status::need_more) {
        need_more = true;
        return {};
    }
    if (s != decode_status::ok) {
        return {s};
    }
    if (h.packet_size() > max_packet) {
        return {decode_status::too_long};
    }
    total = h.packet_size();
    return {};
}

packet_view mqtt_framing::view(std::span<const std::byte> whole) const noexcept {
    fixed_header h;
    (void)parse_fixed_header(whole, max_remaining_length, h); // size_of passed it
    return {h, whole.subspan(h.header_size)};
}

} // namespace ringcast::mqtt
