// Whole packets of a length-framed protocol out of a byte stream (TCP-lite):
// the in-order bytes of each segment go in as they come, packets come out
// in order. A packet that lies within one segment is handed on in place, as
// a view into that segment; only a packet split across segments is copied,
// into one buffer of the longest packet allowed, so the copy is bounded. A
// stream that breaks framing is dead: every later call returns the refusal.
// No DPDK here; owned by the connection's lcore.
//
// `Framing` says how a packet's size is read from its first bytes:
//   using result = ...;  // default-constructed: fine; `ok()` says which
//   using packet = ...;  // what on_packet gets
//   static constexpr size_t min_header, max_header; // bytes before the size can be known
//   // The packet's size from the first bytes of `head` (all it has, at
//   // least min_header): sets `total` and returns fine, or returns a
//   // refusal; `need_more` when the size needs more bytes than `head` has.
//   result size_of(std::span<const std::byte> head, size_t max_packet, size_t& total, bool& need_more) const noexcept;
//   // A whole packet's view (its bytes, exactly `total`).
//   packet view(std::span<const std::byte> whole) const noexcept;
// RCP/1 (core/rcp_stream) and MQTT (core/mqtt_stream) are its framings.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>

namespace ringcast {

template <class Framing> class packet_stream {
public:
    using result = typename Framing::result;
    using packet = typename Framing::packet;

    // `max_packet`: the longest packet accepted, header included.
    explicit packet_stream(size_t max_packet, Framing framing = {}) : _framing(framing), _buf(max_packet) {
        if (max_packet < Framing::max_header) {
            throw std::invalid_argument("packet_stream: the longest packet is below a header");
        }
    }

    // The next bytes of the stream. Calls on_packet(const packet&) for each
    // whole packet, in order; a view into `bytes` or into the split buffer,
    // valid during the call only. After a refusal nothing more is parsed.
    template <class OnPacket> result feed(std::span<const std::byte> bytes, OnPacket&& on_packet) noexcept;

    // A new stream on the same buffer (the connection's slot was reused).
    void reset() noexcept {
        _held = 0;
        _need = 0;
        _dead = {};
    }

    [[nodiscard]] size_t buffered() const noexcept { return _held; } // bytes of a split packet held
    [[nodiscard]] bool dead() const noexcept { return !_dead.ok(); }

private:
    // Reads the held bytes' size when enough are held: false on a refusal.
    bool size_held() noexcept {
        if (_need != 0 || _held < Framing::min_header) {
            return true;
        }
        bool more = false;
        size_t total = 0;
        if (const result r = _framing.size_of(std::span<const std::byte>(_buf).first(_held), _buf.size(), total, more);
            !r.ok()) {
            _dead = r;
            return false;
        }
        if (!more) {
            _need = total;
        }
        return true;
    }

    Framing _framing;
    std::vector<std::byte> _buf; // one split packet
    size_t _held = 0;
    size_t _need = 0; // the held packet's size once its header is known; 0 before
    result _dead;
};

template <class Framing>
template <class OnPacket>
typename packet_stream<Framing>::result packet_stream<Framing>::feed(std::span<const std::byte> bytes,
                                                                     OnPacket&& on_packet) noexcept {
    if (dead()) {
        return _dead;
    }
    // First finish a packet split over earlier segments. While its size is
    // unknown, bytes come one at a time past min_header: a short packet must
    // not take the next one's.
    while (_held != 0 && !bytes.empty()) {
        const size_t want = _need != 0                       ? _need - _held
                            : _held < Framing::min_header ? Framing::min_header - _held
                                                             : 1;
        const size_t take = std::min(want, bytes.size());
        std::copy_n(bytes.begin(), take, _buf.begin() + static_cast<std::ptrdiff_t>(_held));
        _held += take;
        bytes = bytes.subspan(take);
        if (!size_held()) {
            return _dead;
        }
        if (_need == 0 || _held < _need) {
            continue;
        }
        on_packet(_framing.view(std::span<const std::byte>(_buf).first(_need)));
        _held = 0;
        _need = 0;
    }
    // Then the packets that lie whole in this segment, in place.
    size_t off = 0;
    while (bytes.size() - off >= Framing::min_header) {
        bool more = false;
        size_t total = 0;
        if (const result r = _framing.size_of(bytes.subspan(off), _buf.size(), total, more); !r.ok()) {
            return _dead = r;
        }
        if (more || bytes.size() - off < total) {
            break;
        }
        on_packet(_framing.view(bytes.subspan(off, total)));
        off += total;
    }
    // What is left starts a split packet.
    const auto rest = bytes.subspan(off);
    if (!rest.empty()) {
        std::copy(rest.begin(), rest.end(), _buf.begin());
        _held = rest.size();
        _need = 0;
        if (!size_held()) {
            return _dead;
        }
    }
    return {};
}

} // namespace ringcast
