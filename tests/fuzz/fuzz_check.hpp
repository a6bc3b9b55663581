// What the fuzz targets share. An invariant that does not hold aborts, so
// libFuzzer keeps the input as a crash; `build-san/tests/fuzz/<target> FILE`
// replays one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

// Checked in every build type: a fuzz target is its assertions.
#define RC_FUZZ_CHECK(cond)                                                                               \
    do {                                                                                                  \
        if (!(cond)) {                                                                                    \
            std::fprintf(stderr, "%s:%d: invariant does not hold: %s\n", __FILE__, __LINE__, #cond);      \
            std::abort();                                                                                 \
        }                                                                                                 \
    } while (false)

namespace ringcast::fuzz {

inline std::span<const std::byte> input(const uint8_t* data, size_t size) noexcept {
    return {reinterpret_cast<const std::byte*>(data), size};
}

// Whether `inner` lies within `outer` (an empty span anywhere counts).
inline bool within(std::span<const std::byte> inner, std::span<const std::byte> outer) noexcept {
    return inner.empty() || (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

// The same bytes of the same buffer (any two empty spans are the same).
inline bool same(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
    return a.size() == b.size() && (a.empty() || a.data() == b.data());
}

inline std::string_view text(std::span<const std::byte> s) noexcept {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// Feeds `stream` to a core/packet_stream in pieces of 1 to `max_piece`
// bytes drawn from `seed` (0: all at once), as TCP segments would bring it;
// returns the last piece's verdict.
template <class Stream, class OnPacket>
typename Stream::result feed_pieces(Stream& s, std::span<const std::byte> stream, uint8_t seed, size_t max_piece,
                                    OnPacket&& on_packet) {
    typename Stream::result last{};
    uint32_t x = seed * 2654435761u + 1;
    for (size_t at = 0; at < stream.size();) {
        x = x * 1103515245u + 12345u;
        const size_t len = seed == 0 ? stream.size() : std::min<size_t>(stream.size() - at, 1 + (x >> 16) % max_piece);
        last = s.feed(stream.subspan(at, len), on_packet);
        at += len;
    }
    return last;
}

} // namespace ringcast::fuzz
