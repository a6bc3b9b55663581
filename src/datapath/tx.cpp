#include <ringcast/datapath/tx.hpp>

namespace ringcast {

void tx_flush(tx_buffer& tx, lcore_counters& c, unsigned tries) noexcept {
    if (tx.n == 0) {
        return;
    }
    uint16_t sent = 0;
    for (unsigned t = 0; t < tries && sent < tx.n; ++t) {
        sent += rte_eth_tx_burst(tx.port_id, tx.queue, tx.pkts.data() + sent, tx.n - sent);
    }
    c.count(metric::tx_packets, sent);
    if (sent < tx.n) {
        rte_pktmbuf_free_bulk(tx.pkts.data() + sent, tx.n - sent);
        c.count(drop::tx_full, tx.n - sent);
    }
    tx.n = 0;
}

void tx_discard(tx_buffer& tx) noexcept {
    rte_pktmbuf_free_bulk(tx.pkts.data(), tx.n);
    tx.n = 0;
}

void send_frame(tx_buffer& tx, lcore_counters& c, rte_mempool* pool, const port_info& port,
                const reply_to& to, op code, uint8_t flag_bits, uint64_t seq,
                std::span<const std::byte> topic, std::span<const std::byte> payload) noexcept {
    const size_t len = frame_size(topic.size(), payload.size());
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
        c.count(drop::pool_empty);
        return;
    }
    auto* p = rte_pktmbuf_append(m, static_cast<uint16_t>(l2l4_len + len));
    if (p == nullptr) {
        // Replies are small by construction (topic <= 255, payload <= 64); a
        // pool whose buffers cannot hold one is a start-up mistake.
        rte_pktmbuf_free(m);
        c.count(drop::pool_empty);
        return;
    }
    std::span<std::byte> out{reinterpret_cast<std::byte*>(p), l2l4_len + len};
    write_udp_headers(out, port.id.mac, to.mac, port.id.ipv4, to.ep.ip, port.id.udp_port, to.ep.port,
                      static_cast<uint16_t>(len));
    (void)write_frame(out.subspan(l2l4_len), code, flag_bits, seq, topic, payload);
    tx_push(tx, m, c);
}

} // namespace ringcast
