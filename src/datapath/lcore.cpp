#include <ringcast/datapath/lcore.hpp>

#include <ringcast/datapath/io_loop.hpp>
#include <ringcast/datapath/worker_loop.hpp>

#include <rte_cycles.h>
#include <rte_ring_elem.h>

namespace ringcast {

namespace {

// Housekeeping (lease sweep, telemetry snapshot) is looked at once every
// this many iterations, off the per-packet path.
constexpr uint32_t housekeeping_every = 64;

void flush_all(lcore_ctx& lc) noexcept {
    for (size_t p = 0; p < lc.ports.size(); ++p) {
        tx_flush(lc.tx[p], lc.counters);
    }
}

} // namespace

void tcp_flush(lcore_ctx& lc) noexcept {
    for (tcp_stage& s : lc.tcp_out) {
        if (s.n == 0) {
            continue;
        }
        const unsigned sent = rte_ring_enqueue_burst_elem(s.ring, s.items.data(), sizeof(tcp_item), s.n, nullptr);
        for (unsigned i = sent; i < s.n; ++i) {
            rte_pktmbuf_free(s.items[i].m);
        }
        lc.counters.count(drop::ring_full, s.n - sent);
        s.n = 0;
    }
}

void tcp_send(lcore_ctx& lc, const endpoint& to, rte_mbuf* m) noexcept {
    tcp_stage& s = lc.tcp_out[tcp_io_index(to)];
    s.items[s.n++] = tcp_item{m, to};
    if (s.n == burst_size) {
        tcp_flush(lc);
    }
}

void tcp_reply(lcore_ctx& lc, rte_mempool* pool, const endpoint& to, op code, uint8_t flag_bits, uint64_t seq,
               std::span<const std::byte> topic, std::span<const std::byte> payload) noexcept {
    const size_t len = frame_size(topic.size(), payload.size());
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    auto* p = m != nullptr ? rte_pktmbuf_append(m, static_cast<uint16_t>(len)) : nullptr;
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        lc.counters.count(drop::pool_empty);
        return;
    }
    (void)write_frame({reinterpret_cast<std::byte*>(p), len}, code, flag_bits, seq, topic, payload);
    tcp_send(lc, to, m);
}

uint32_t poll_once(lcore_ctx& lc, uint64_t now, bool housekeeping) noexcept {
    uint32_t work = 0;
    if (lc.io != nullptr) {
        work += io_poll(*lc.io, lc, now);
    }
    if (lc.worker != nullptr) {
        work += worker_poll(*lc.worker, lc, now);
    }
    tcp_flush(lc);
    if (lc.io != nullptr && lc.io->tcp != nullptr) {
        work += lc.io->tcp->poll(*lc.io, lc, now);
    }
    // Nothing is held back for batching: a lone message leaves at once.
    flush_all(lc);
    lc.work_since_housekeeping += work;
    if (housekeeping) {
        if (lc.work_since_housekeeping == 0) {
            for (size_t p = 0; p < lc.ports.size(); ++p) {
                tx_reap(lc.tx[p]);
            }
        }
        lc.work_since_housekeeping = 0;
        if (lc.io != nullptr) {
            io_housekeeping(*lc.io, lc, now);
            if (lc.io->tcp != nullptr) {
                lc.io->tcp->housekeeping(*lc.io, lc, now);
            }
        }
        if (lc.worker != nullptr) {
            worker_housekeeping(*lc.worker, lc, now);
        }
    }
    return work;
}

int lcore_main(void* arg) {
    auto& lc = *static_cast<lcore_ctx*>(arg);
    uint32_t iter = 0;
    while (!lc.quit->load(std::memory_order_relaxed)) {
        const uint64_t start = rte_rdtsc();
        const bool housekeeping = ++iter == housekeeping_every;
        if (housekeeping) {
            iter = 0;
            lc.heartbeat.set(start);
        }
        const uint32_t work = poll_once(lc, start, housekeeping);
        const uint64_t spent = rte_rdtsc() - start;
        lc.counters.total_cycles.add(spent);
        if (work != 0) {
            lc.counters.busy_cycles.add(spent);
        }
    }
    flush_all(lc);
    return 0;
}

namespace {

// Frees what stages hold that was never enqueued (item_stage or tcp_stage).
template <typename Stages> void free_staged(Stages& stages) noexcept {
    for (auto& s : stages) {
        for (uint16_t i = 0; i < s.n; ++i) {
            rte_pktmbuf_free(s.items[i].m);
        }
        s.n = 0;
    }
}

} // namespace

void drain_lcore(lcore_ctx& lc) noexcept {
    free_staged(lc.tcp_out);
    if (lc.io != nullptr) {
        if (lc.io->tcp != nullptr) {
            lc.io->tcp->drain();
        }
        free_staged(lc.io->to_worker);
    }
    if (lc.worker != nullptr) {
        for (rte_ring* r : lc.worker->from_io) {
            ring_item item;
            while (rte_ring_dequeue_elem(r, &item, sizeof(item)) == 0) {
                rte_pktmbuf_free(item.m);
            }
        }
        release_retained(*lc.worker);
    }
    for (size_t p = 0; p < lc.ports.size(); ++p) {
        tx_discard(lc.tx[p]);
    }
}

} // namespace ringcast
