#include <ringcast/core/coalesce.hpp>

#include <algorithm>

namespace ringcast {

coalescer::coalescer(uint32_t max_frames, uint32_t max_datagrams)
    : _frames(std::min<uint32_t>(max_frames, end_of_frames)),
      _datagrams(std::min<uint32_t>(max_datagrams, end_of_frames)) {}

void coalescer::reset(std::span<const coalesce_limits> limits) noexcept {
    std::copy_n(limits.begin(), std::min(limits.size(), _limits.size()), _limits.begin());
    _n_frames = 0;
    _n_datagrams = 0;
    ++_plan;
}

bool coalescer::open(subscriber_record& s, const coalesce_limits& l, uint16_t msg, uint32_t size,
                     frame_part part) noexcept {
    if (_n_frames == _frames.size() || _n_datagrams == _datagrams.size()) {
        return false;
    }
    const auto f = static_cast<uint16_t>(_n_frames++);
    _frames[f] = planned_frame{msg, end_of_frames, part};
    // The first segment is a copy segment that starts with the headers.
    planned_datagram d{.to = &s,
                       .first_frame = f,
                       .last_frame = f,
                       .n_frames = 1,
                       .segments = 1,
                       .bytes = size,
                       .tail_copy = true,
                       .tail_fill = static_cast<uint32_t>(l2l4_len)};
    uint32_t fill = 0;
    d.segments = static_cast<uint16_t>(d.segments + extra_segments(l, d, part, fill));
    // A copy that overflowed the first segment's room took a new one above.
    d.tail_copy = part.ref == 0;
    d.tail_fill = fill;
    s.plan = _plan;
    s.plan_datagram = _n_datagrams;
    _datagrams[_n_datagrams++] = d;
    return true;
}

} // namespace ringcast
