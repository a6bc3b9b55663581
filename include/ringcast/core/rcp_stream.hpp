// RCP/1 frames out of a byte stream (TCP-lite): the in-order bytes of each
// segment go in as they come, whole frames come out in order. A frame that
// lies within one segment is handed on in place, as a view into that
// segment; only a frame split across segments is copied, into one buffer
// of the longest frame allowed, so the copy is bounded. A stream that
// breaks framing (bad magic, version or op, a frame longer than allowed)
// is dead: the caller answers ERR and closes the connection. No DPDK here;
// owned by the connection's lcore.
#pragma once

#include <ringcast/core/wire.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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
};

class rcp_stream {
public:
    // `max_frame`: the longest frame accepted, header included (at least 16).
    explicit rcp_stream(size_t max_frame);

    // The next bytes of the stream. Calls on_frame(const frame_view&) for
    // each whole frame, in order; a view into `bytes` or into the split
    // buffer, valid during the call only. After a refusal nothing more is
    // parsed and every later call returns it again.
    template <class OnFrame> stream_result feed(std::span<const std::byte> bytes, OnFrame&& on_frame) noexcept;

    // A new stream on the same buffer (the connection's slot was reused).
    void reset() noexcept {
        _held = 0;
        _need = frame_header_size;
        _dead = {};
    }

    [[nodiscard]] size_t buffered() const noexcept { return _held; } // bytes of a split frame held
    [[nodiscard]] bool dead() const noexcept { return _dead.status != stream_status::ok; }

private:
    // The frame's size from a whole header, or the refusal.
    stream_result check_header(std::span<const std::byte> header, size_t& total) noexcept;

    std::vector<std::byte> _buf; // one split frame
    size_t _held = 0;
    size_t _need = frame_header_size; // bytes the held frame has in all, once its header is known
    stream_result _dead;
};

template <class OnFrame>
stream_result rcp_stream::feed(std::span<const std::byte> bytes, OnFrame&& on_frame) noexcept {
    if (dead()) {
        return _dead;
    }
    // First finish a frame split over earlier segments.
    while (_held != 0 && !bytes.empty()) {
        const size_t take = std::min(_need - _held, bytes.size());
        std::copy_n(bytes.begin(), take, _buf.begin() + static_cast<std::ptrdiff_t>(_held));
        _held += take;
        bytes = bytes.subspan(take);
        if (_held < _need) {
            return {};
        }
        if (_need == frame_header_size) {
            // The header is whole: now the frame's size is known.
            size_t total = 0;
            if (const stream_result r = check_header(std::span(_buf).first(_held), total);
                r.status != stream_status::ok) {
                return _dead = r;
            }
            _need = total;
            if (_held < _need) {
                continue;
            }
        }
        on_frame(parse_frame(std::span<const std::byte>(_buf).first(_need), 0).frame);
        _held = 0;
        _need = frame_header_size;
    }
    // Then the frames that lie whole in this segment, in place.
    size_t off = 0;
    while (bytes.size() - off >= frame_header_size) {
        size_t total = 0;
        if (const stream_result r = check_header(bytes.subspan(off, frame_header_size), total);
            r.status != stream_status::ok) {
            return _dead = r;
        }
        if (bytes.size() - off < total) {
            break;
        }
        on_frame(parse_frame(bytes.first(off + total), off).frame);
        off += total;
    }
    // What is left starts a split frame.
    const auto rest = bytes.subspan(off);
    if (!rest.empty()) {
        std::copy(rest.begin(), rest.end(), _buf.begin());
        _held = rest.size();
        _need = frame_header_size;
        if (_held >= frame_header_size) {
            size_t total = 0;
            if (const stream_result r = check_header(std::span(_buf).first(frame_header_size), total);
                r.status != stream_status::ok) {
                return _dead = r;
            }
            _need = total;
        }
    }
    return {};
}

} // namespace ringcast
