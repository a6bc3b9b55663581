// Coalescing: the deliveries of one worker batch gathered into datagrams, a
// subscriber's frames in the order they were added, each datagram within
// its port's MTU and TX segment limit. Each frame is either copied into the
// datagram (below the copy threshold, where a copy is cheaper than any mbuf
// bookkeeping) or referenced (a segment pointing at the shared frame, never
// copied). Nothing waits: the worker builds the plan's datagrams at the end
// of the batch, so a lone message leaves at once. Plain C++ over the
// worker's subscriber records; the worker builds the packets. Fixed
// capacity, sized at start-up; owned by one worker lcore.
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/core/sub_table.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace ringcast {

// What one port allows a datagram.
struct coalesce_limits {
    bool enabled = true;       // false: one frame per datagram, as without coalescing
    uint32_t max_bytes = 1472; // frames per datagram: the MTU less the IPv4 and UDP headers
    // Mbufs in one packet: the port's TX segment limit; 1 when the port has
    // no multi-segment TX, and then every frame is copied.
    uint32_t max_segments = 32;
    uint32_t copy_room = 2048; // bytes one copy segment holds (the first one also holds the 42-byte headers)
    uint32_t copy_below = 2048; // frames shorter than this are copied, longer ones referenced

    bool operator==(const coalesce_limits&) const = default;
};

// How a frame goes into its datagram: its first `copy` bytes copied, the
// remaining `ref` bytes referenced.
struct frame_part {
    uint32_t copy;
    uint32_t ref;
};

struct planned_frame {
    uint16_t msg;  // the caller's index of the frame (its place in the batch)
    uint16_t next; // the datagram's next frame, or end_of_frames
    frame_part part;
};

struct planned_datagram {
    subscriber_record* to;
    uint16_t first_frame;
    uint16_t last_frame;
    uint16_t n_frames;
    uint16_t segments;  // mbufs the packet will have
    uint32_t bytes;     // frames' bytes
    bool tail_copy;     // the last segment is a copy segment (the next copy can go there)
    uint32_t tail_fill; // bytes in that copy segment
};

class coalescer {
public:
    static constexpr uint16_t end_of_frames = UINT16_MAX;

    // Room for `max_frames` frames in `max_datagrams` datagrams per plan.
    coalescer(uint32_t max_frames, uint32_t max_datagrams);

    // Starts an empty plan; a datagram for a subscriber on port p follows limits[p].
    void reset(std::span<const coalesce_limits> limits) noexcept;

    // Frame `msg` of `size` bytes for `s`. `keep_copied` of its first bytes
    // are copied even when the rest is referenced (a replay copies the
    // 16-byte header to set REPLAYED: the shared frame is not written).
    // Goes in `s`'s datagram of this plan while it fits, else in a new one.
    // Returns false when the plan is full (nothing was added): build it,
    // reset, and add again.
    [[nodiscard]] bool add(subscriber_record& s, uint16_t msg, uint32_t size, uint32_t keep_copied = 0) noexcept {
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

    [[nodiscard]] bool empty() const noexcept { return _n_datagrams == 0; }
    [[nodiscard]] std::span<const planned_datagram> datagrams() const noexcept {
        return {_datagrams.data(), _n_datagrams};
    }
    [[nodiscard]] const planned_frame& frame(uint16_t i) const noexcept { return _frames[i]; }

    // How a frame of `size` bytes goes into a datagram under `l`.
    [[nodiscard]] static frame_part part_of(const coalesce_limits& l, uint32_t size,
                                            uint32_t keep_copied) noexcept {
        // Without multi-segment TX there is one segment: everything is copied.
        if (l.max_segments <= 1 || size < l.copy_below || keep_copied >= size) {
            return {size, 0};
        }
        return {keep_copied, size - keep_copied};
    }

private:
    // Segments `part` adds to `d`, and the copy segment fill after it.
    static uint32_t extra_segments(const coalesce_limits& l, const planned_datagram& d, frame_part part,
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
    bool open(subscriber_record& s, const coalesce_limits& l, uint16_t msg, uint32_t size,
              frame_part part) noexcept;

    std::vector<planned_frame> _frames;
    std::vector<planned_datagram> _datagrams;
    std::array<coalesce_limits, max_ports> _limits{}; // per port
    uint32_t _n_frames = 0;
    uint32_t _n_datagrams = 0;
    uint64_t _plan = 0; // stamps the subscriber records of the current plan
};

} // namespace ringcast
