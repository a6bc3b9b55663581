// The stream tests' feeding: a byte stream handed to a core/packet_stream
// in pieces cut at chosen offsets, as TCP segments would bring it.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace ringcast::test {

// Feeds `bytes` to `s` cut at `cuts` (ascending offsets); returns the verdict of the last piece.
template <class Stream, class OnPacket>
typename Stream::result feed_at_cuts(Stream& s, std::span<const std::byte> bytes, const std::vector<size_t>& cuts,
                                     OnPacket&& on_packet) {
    typename Stream::result last{};
    size_t at = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(bytes.size());
    for (const size_t end : ends) {
        last = s.feed(bytes.subspan(at, end - at), on_packet);
        at = end;
    }
    return last;
}

// Cuts after every byte of a stream of `size` bytes.
inline std::vector<size_t> every_byte(size_t size) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < size; ++i) {
        cuts.push_back(i);
    }
    return cuts;
}

} // namespace ringcast::test
