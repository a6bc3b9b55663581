#include <ringcast/core/coalesce.hpp>

#include <algorithm>

namespace ringcast {

namespace {

constexpr uint32_t l2l4_bytes = 42; // Ethernet, IPv4 and UDP headers, in the first copy segment

} // namespace

coalescer::coalescer(uint32_t max_frames, uint32_t max_datagrams)
    : _frames(std::min<uint32_t>(max_frames, end_of_frames)),
      _datagrams(std::min<uint32_t>(max_datagrams, end_of_frames)) {}

void coalescer::reset(std::span<const coalesce_limits> limits) noexcept {
    std::copy_n(limits.begin(), std::min(limits.size(), _limits.size()), _limits.begin());
    _n_frames = 0;
    _n_datagrams = 0;
    ++_plan;
}

frame_part coalescer::part_of(const coalesce_limits& l, uint32_t size, uint32_t keep_copied) noexcept {
    // Without multi-segment TX there is one segment: everything is copied.
    if (l.max_segments <= 1 || size < l.copy_below || keep_copied >= size) {
        return {size, 0};
    }
    return {keep_copied, size - keep_copied};
}

uint32_t coalescer::extra_segments(const coalesce_limits& l, const planned_datagram& d, frame_part part,
                                   uint32_t& fill) noexcept {
    uint32_t extra = 0;
    fill = d.tail_copy ? d.tail_fill : 0;
    if (part.copy != 0) {
        if (!d.tail_copy || fill + part.copy > l.copy_room) {
            ++extra; // a new copy segment after a referenced one, or after a full one
            fill = 0;
        }
        fill += part.copy;
    }
    if (part.ref != 0) {
        ++extra;
        fill = 0;
    }
    return extra;
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
                       .tail_fill = l2l4_bytes};
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

bool coalescer::add(subscriber_record& s, uint16_t msg, uint32_t size, uint32_t keep_copied) noexcept {
    const coalesce_limits& l = _limits[s.ep.port_id];
    const frame_part part = part_of(l, size, keep_copied);
    if (l.enabled && s.plan == _plan) {
        planned_datagram& d = _datagrams[s.plan_datagram];
        uint32_t fill = 0;
        const uint32_t extra = extra_segments(l, d, part, fill);
        if (d.bytes + size <= l.max_bytes && d.segments + extra <= l.max_segments &&
            _n_frames < _frames.size()) {
            const auto f = static_cast<uint16_t>(_n_frames++);
            _frames[f] = planned_frame{msg, end_of_frames, part};
            _frames[d.last_frame].next = f;
            d.last_frame = f;
            ++d.n_frames;
            d.segments = static_cast<uint16_t>(d.segments + extra);
            d.bytes += size;
            d.tail_copy = part.ref == 0;
            d.tail_fill = fill;
            return true;
        }
    }
    return open(s, l, msg, size, part);
}

} // namespace ringcast
