#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/fanout.hpp>

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

rte_mbuf* build_replay(const port_info& port, rte_mempool* headers, rte_mempool* indirect, rte_mbuf* frame,
                       const delivery_target& to, lcore_counters& c) noexcept {
    const uint16_t flen = rte_pktmbuf_data_len(frame);
    const auto* src = rte_pktmbuf_mtod(frame, const std::byte*);
    const uint8_t replayed = static_cast<uint8_t>(src[frame_off::flags]) | flags::replayed;
    rte_mbuf* out = nullptr;
    if (!port.multi_seg_tx) {
        if (build_copies(port, frame, std::span{&to, 1}, std::span{&out, 1}, c) == 0) {
            return nullptr;
        }
        rte_pktmbuf_mtod_offset(out, std::byte*, l2l4_len)[frame_off::flags] = std::byte{replayed};
        return out;
    }
    rte_mbuf* h = rte_pktmbuf_alloc(headers);
    if (h == nullptr) {
        return nullptr;
    }
    rte_mbuf* body = rte_pktmbuf_clone(frame, indirect);
    if (body == nullptr) {
        rte_pktmbuf_free(h);
        return nullptr;
    }
    rte_pktmbuf_adj(body, frame_header_size);
    auto bytes = mbuf_bytes(h, l2l4_len + frame_header_size);
    write_udp_headers(bytes, port.id.mac, to.mac, port.id.ipv4, to.ip, port.id.udp_port, to.port, flen);
    std::memcpy(bytes.data() + l2l4_len, src, frame_header_size);
    bytes[l2l4_len + frame_off::flags] = std::byte{replayed};
    h->data_len = l2l4_len + frame_header_size;
    h->pkt_len = l2l4_len + flen;
    h->nb_segs = 2;
    h->next = body;
    return h;
}

rte_mbuf* build_datagram(const port_info& port, rte_mempool* headers, rte_mempool* indirect,
                         const delivery_target& to, std::span<const datagram_piece> pieces,
                         lcore_counters& c) noexcept {
    rte_mbuf* h = rte_pktmbuf_alloc(headers);
    if (h == nullptr) {
        return nullptr;
    }
    h->data_len = l2l4_len; // written last, once the length is known
    rte_mbuf* tail = h;
    bool tail_copies = true; // the tail takes copies: the header mbuf, or a copy segment
    uint32_t bytes = 0;
    uint32_t copied = 0;
    uint32_t referenced = 0;
    const auto fail = [&]() noexcept {
        rte_pktmbuf_free(h); // the chain so far, the references it took with it
        return nullptr;
    };
    for (size_t i = 0; i < pieces.size(); ++i) {
        const datagram_piece& p = pieces[i];
        const auto* src = rte_pktmbuf_mtod(p.frame, const std::byte*);
        if (p.part.copy != 0) {
            if (!tail_copies || rte_pktmbuf_tailroom(tail) < p.part.copy) {
                rte_mbuf* seg = rte_pktmbuf_alloc(headers);
                if (seg == nullptr) {
                    return fail();
                }
                tail->next = seg;
                tail = seg;
                ++h->nb_segs;
                tail_copies = true;
            }
            auto* dst = rte_pktmbuf_mtod_offset(tail, std::byte*, tail->data_len);
            std::memcpy(dst, src, p.part.copy);
            if (p.or_flags != 0) { // a whole header was copied
                dst[frame_off::flags] |= std::byte{p.or_flags};
            }
            tail->data_len = static_cast<uint16_t>(tail->data_len + p.part.copy);
            ++copied;
        }
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
            tail->next = seg;
            tail = seg;
            ++h->nb_segs;
            tail_copies = false;
            ++referenced;
        }
        bytes += p.part.copy + p.part.ref;
    }
    h->pkt_len = l2l4_len + bytes;
    write_udp_headers(mbuf_bytes(h, l2l4_len), port.id.mac, to.mac, port.id.ipv4, to.ip, port.id.udp_port,
                      to.port, static_cast<uint16_t>(bytes));
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
    _c.count(metric::deliveries, built);
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
