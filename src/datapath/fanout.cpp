#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/fanout.hpp>

#include <algorithm>
#include <cstring>

namespace ringcast {

namespace {

std::span<std::byte> mbuf_bytes(rte_mbuf* m, size_t len) noexcept {
    return {rte_pktmbuf_mtod(m, std::byte*), len};
}

// The copy fallback: header and frame written into one fresh mbuf.
uint16_t build_copies(const port_info& port, rte_mbuf* frame, std::span<const delivery_target> targets,
                      std::span<rte_mbuf*> out, lcore_counters& c) noexcept {
    const uint16_t flen = rte_pktmbuf_data_len(frame);
    const auto* src = rte_pktmbuf_mtod(frame, const std::byte*);
    const auto n = static_cast<uint16_t>(targets.size());
    if (rte_pktmbuf_alloc_bulk(port.rx_pool, out.data(), n) != 0) {
        return 0;
    }
    for (uint16_t i = 0; i < n; ++i) {
        auto* p = rte_pktmbuf_append(out[i], static_cast<uint16_t>(l2l4_len + flen));
        auto bytes = std::span<std::byte>{reinterpret_cast<std::byte*>(p), l2l4_len + flen};
        write_udp_headers(bytes, port.id.mac, targets[i].mac, port.id.ipv4, targets[i].ip, port.id.udp_port,
                          targets[i].port, flen);
        std::memcpy(bytes.data() + l2l4_len, src, flen);
    }
    c.count(metric::copy_fallbacks, n);
    return n;
}

} // namespace

uint16_t build_deliveries(const port_info& port, rte_mempool* headers, rte_mbuf* frame,
                          std::span<const delivery_target> targets, std::span<rte_mbuf*> out,
                          lcore_counters& c) noexcept {
    if (targets.empty()) {
        return 0;
    }
    if (!port.multi_seg_tx) {
        return build_copies(port, frame, targets, out, c);
    }
    const auto n = static_cast<uint16_t>(targets.size());
    // All or nothing: a partial bulk allocation is refused by the mempool anyway.
    if (rte_pktmbuf_alloc_bulk(headers, out.data(), n) != 0) {
        return 0;
    }
    const uint16_t flen = rte_pktmbuf_data_len(frame);
    // One refcount update for every delivery; each freed chain drops one.
    rte_mbuf_refcnt_update(frame, static_cast<int16_t>(n));
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* h = out[i];
        auto bytes = mbuf_bytes(h, l2l4_len);
        write_udp_headers(bytes, port.id.mac, targets[i].mac, port.id.ipv4, targets[i].ip, port.id.udp_port,
                          targets[i].port, flen);
        h->data_len = l2l4_len;
        h->pkt_len = l2l4_len + flen;
        h->nb_segs = 2;
        h->next = frame;
    }
    return n;
}

namespace {

// Copy bytes from piece `i` on until the next referenced part: what the
// copy segment starting there will hold.
uint32_t copy_run(std::span<const datagram_piece> pieces, size_t i) noexcept {
    uint32_t n = 0;
    for (; i < pieces.size(); ++i) {
        n += pieces[i].part.copy;
        if (pieces[i].part.ref != 0) {
            break;
        }
    }
    return n;
}

// A segment for `bytes` of headers and copies: a small header mbuf when they
// fit one, else a receive-pool mbuf (as large as a received frame).
rte_mbuf* copy_segment(const port_info& port, rte_mempool* headers, uint32_t bytes) noexcept {
    const uint32_t header_room = rte_pktmbuf_data_room_size(headers) - RTE_PKTMBUF_HEADROOM;
    return rte_pktmbuf_alloc(bytes <= header_room ? headers : port.rx_pool);
}

} // namespace

rte_mbuf* build_datagram(const port_info& port, rte_mempool* headers, rte_mempool* indirect,
                         const delivery_target& to, std::span<const datagram_piece> pieces,
                         lcore_counters& c) noexcept {
    rte_mbuf* h = copy_segment(port, headers, l2l4_len + copy_run(pieces, 0));
    if (h == nullptr) {
        return nullptr;
    }
    h->data_len = l2l4_len; // written last, once the length is known
    rte_mbuf* tail = h;
    bool tail_copies = true; // the tail takes copies: the first segment, or a copy segment
    uint32_t bytes = 0;
    uint32_t copied = 0;
    uint32_t referenced = 0;
    const auto fail = [&]() noexcept {
        rte_pktmbuf_free(h); // the chain so far, and the references it took
        return nullptr;
    };
    const auto chain = [&](rte_mbuf* seg) noexcept {
        tail->next = seg;
        tail = seg;
        ++h->nb_segs;
    };
    for (size_t i = 0; i < pieces.size(); ++i) {
        const datagram_piece& p = pieces[i];
        const auto* src = rte_pktmbuf_mtod(p.frame, const std::byte*);
        for (uint32_t done = 0; done < p.part.copy;) {
            if (!tail_copies || rte_pktmbuf_tailroom(tail) == 0) {
                rte_mbuf* seg = copy_segment(port, headers, copy_run(pieces, i) - done);
                if (seg == nullptr) {
                    return fail();
                }
                chain(seg);
                tail_copies = true;
            }
            const uint32_t n = std::min<uint32_t>(p.part.copy - done, rte_pktmbuf_tailroom(tail));
            auto* dst = rte_pktmbuf_mtod_offset(tail, std::byte*, tail->data_len);
            std::memcpy(dst, src + done, n);
            if (done == 0 && p.or_flags != 0) { // a whole header was copied: flag it
                dst[frame_off::flags] |= std::byte{p.or_flags};
            }
            tail->data_len = static_cast<uint16_t>(tail->data_len + n);
            done += n;
        }
        copied += p.part.copy != 0 ? 1 : 0;
        if (p.part.ref != 0) {
            rte_mbuf* seg = p.frame;
            if (i + 1 == pieces.size() && p.part.copy == 0) {
                rte_mbuf_refcnt_update(seg, 1); // the shared frame ends the packet: no view needed
            } else {
                seg = rte_pktmbuf_clone(p.frame, indirect);
                if (seg == nullptr) {
                    return fail();
                }
                rte_pktmbuf_adj(seg, static_cast<uint16_t>(p.part.copy));
            }
            chain(seg);
            tail_copies = false;
            ++referenced;
        }
        bytes += p.part.copy + p.part.ref;
    }
    h->pkt_len = l2l4_len + bytes;
    write_udp_headers(mbuf_bytes(h, l2l4_len), port.id.mac, to.mac, port.id.ipv4, to.ip, port.id.udp_port, to.port,
                      static_cast<uint16_t>(bytes));
    c.count(metric::frames_copied, copied);
    c.count(metric::frames_referenced, referenced);
    if (!port.multi_seg_tx) {
        c.count(metric::copy_fallbacks, copied);
    }
    return h;
}

void fanout_batch::build(rte_mbuf* frame, uint16_t port) noexcept {
    port_batch& b = _batches[port];
    std::array<rte_mbuf*, burst_size> pkts;
    const uint16_t built =
        build_deliveries(_ports[port], _headers, frame, std::span{b.targets.data(), b.n}, pkts, _c);
    for (uint16_t i = 0; i < built; ++i) {
        tx_push(_tx[port], pkts[i], _c);
        ++b.subs[i]->stats.deliveries;
    }
    for (uint16_t i = built; i < b.n; ++i) {
        ++b.subs[i]->stats.drops;
    }
    _c.count_datagrams(1, built);
    _c.count(_ports[port].multi_seg_tx ? metric::frames_referenced : metric::frames_copied, built);
    _c.count(drop::pool_empty, b.n - built);
    b.n = 0;
}

void fanout_batch::flush(rte_mbuf* frame) noexcept {
    for (uint16_t p = 0; _used != 0; ++p, _used >>= 1) {
        if ((_used & 1) != 0 && _batches[p].n != 0) {
            build(frame, p);
        }
    }
}

} // namespace ringcast
