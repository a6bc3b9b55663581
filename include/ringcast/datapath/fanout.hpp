// Building deliveries, the payload never copied per subscriber. A lone
// frame's deliveries are a 42-byte header mbuf each chained in front of the
// shared frame mbuf, whose refcount is raised once for all of them
// (build_deliveries, fanout_batch); a datagram of several frames has its
// small frames copied after the header and the others referenced
// (build_datagram). Ports without multi-segment TX get counted copies.
// Called by worker lcores.
#pragma once

#include <ringcast/core/coalesce.hpp>
#include <ringcast/core/config.hpp>
#include <ringcast/core/counters.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/port.hpp>
#include <ringcast/datapath/tx.hpp>

#include <rte_mbuf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ringcast {

// Trivially constructible on purpose: the worker keeps arrays of these on
// its stack per PUB, and zeroing them would cost more than filling them.
struct delivery_target {
    mac_addr mac;
    uint32_t ip;
    uint16_t port;
};

// Builds one packet per target into out[0..n) and returns n (0 when a pool
// ran empty; the caller counts those). Header mbufs come from `headers`;
// copies, on ports without multi-segment TX, from the port's receive pool.
// `frame` holds exactly the MSG frame (data_off/data_len trimmed to it) in
// one segment; the caller keeps its own reference and frees it afterwards.
// out.size() >= targets.size().
[[nodiscard]] uint16_t build_deliveries(const port_info& port, rte_mempool* headers, rte_mbuf* frame,
                                        std::span<const delivery_target> targets, std::span<rte_mbuf*> out,
                                        lcore_counters& c) noexcept;

// One frame of a datagram being built: its bytes as the coalescer planned
// them (the first part.copy copied, the part.ref after them referenced),
// with `or_flags` or-ed into the flags byte of the copied header (a replay's
// REPLAYED: the shared frame itself is never written).
struct datagram_piece {
    rte_mbuf* frame; // holds exactly one MSG frame, in one segment
    frame_part part;
    uint8_t or_flags;
};

// Frames one datagram can hold at most: the largest MTU of the smallest frames.
inline constexpr size_t max_datagram_frames = max_mtu / frame_header_size + 1;

// The pieces of planned datagram `d` into `out`, in order: frame_of(msg)
// gives the mbuf of the caller's frame `msg`, each flagged with `or_flags`.
template <class FrameOf>
[[nodiscard]] std::span<const datagram_piece>
pieces_of(const coalescer& plan, const planned_datagram& d, FrameOf&& frame_of, uint8_t or_flags,
          std::span<datagram_piece, max_datagram_frames> out) noexcept {
    size_t n = 0;
    for (uint16_t f = d.first_frame; f != coalescer::end_of_frames; f = plan.frame(f).next) {
        out[n++] = datagram_piece{frame_of(plan.frame(f).msg), plan.frame(f).part, or_flags};
    }
    return out.first(n);
}

// Builds one datagram of several MSG frames to `to`: a first segment with
// the Ethernet, IPv4 and UDP headers and the copied frames after them (a
// mbuf of `headers` when they fit it, else of the port's receive pool, as
// every further copy segment); each referenced part an indirect mbuf (from
// `indirect`) on its frame, or, when it ends the packet and is the whole
// frame, the frame mbuf itself with one more reference.
// Counts frames_copied and frames_referenced (and copy_fallbacks on a port
// without multi-segment TX). Returns null when a pool ran empty: everything
// taken was given back. The caller keeps its own references on the frames.
[[nodiscard]] rte_mbuf* build_datagram(const port_info& port, rte_mempool* headers, rte_mempool* indirect,
                                       const delivery_target& to, std::span<const datagram_piece> pieces,
                                       lcore_counters& c) noexcept;

// The deliveries of one frame at a time, gathered per port and built a
// burst at a time by build_deliveries, then queued on the lcore's TX buffers;
// each subscriber's stats count its delivery or its loss to an empty pool.
// Lives on the worker lcore's stack for one pass.
class fanout_batch {
public:
    fanout_batch(std::span<const port_info> ports, std::span<tx_buffer> tx, rte_mempool* headers,
                 lcore_counters& c) noexcept
        : _ports(ports), _tx(tx), _headers(headers), _c(c) {}

    // One delivery of `frame` to `s`; the same frame until flush().
    void add(rte_mbuf* frame, subscriber_record& s) noexcept {
        port_batch& b = _batches[s.ep.port_id];
        b.targets[b.n] = delivery_target{s.mac, s.ep.ip, s.ep.port};
        b.subs[b.n] = &s;
        _used |= uint16_t(1u << s.ep.port_id);
        if (++b.n == burst_size) {
            build(frame, s.ep.port_id);
        }
    }
    // Builds and queues what is gathered for every port.
    void flush(rte_mbuf* frame) noexcept;

private:
    struct port_batch {
        uint16_t n = 0;
        std::array<delivery_target, burst_size> targets;
        std::array<subscriber_record*, burst_size> subs;
    };
    void build(rte_mbuf* frame, uint16_t port) noexcept;

    std::span<const port_info> _ports;
    std::span<tx_buffer> _tx;
    rte_mempool* _headers;
    lcore_counters& _c;
    std::array<port_batch, max_ports> _batches;
    uint16_t _used = 0; // a bit per port with gathered targets
};

} // namespace ringcast
