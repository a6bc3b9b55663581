// Per-lcore TX buffering and the small replies (ACK, ERR, PONG) the io and
// worker loops send. Called only by the lcore that owns the buffer.
#pragma once

#include <ringcast/core/counters.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/port.hpp>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringcast {

// The one burst size: RX, ring dequeue, TX and fan-out batches.
inline constexpr uint16_t burst_size = 32;

// One TX queue of one port, owned by one lcore.
struct tx_buffer {
    uint16_t port_id = 0; // DPDK's
    uint16_t queue = 0;
    uint16_t n = 0;
    std::array<rte_mbuf*, burst_size> pkts{};
};

// Sends what is buffered, offering TX what it refused up to `tries` times in
// all; the rest is freed and counted as tx_full. The appliance's lcores never
// wait (tries 1); a tool that may, the load generator, waits for room a while.
void tx_flush(tx_buffer& tx, lcore_counters& c, unsigned tries = 1) noexcept;

// Buffers one packet (the buffer now owns it), flushing at a full burst.
inline void tx_push(tx_buffer& tx, rte_mbuf* m, lcore_counters& c, unsigned tries = 1) noexcept {
    tx.pkts[tx.n++] = m;
    if (tx.n == burst_size) {
        tx_flush(tx, c, tries);
    }
}

// An empty TX burst, for an idle lcore: some PMDs (net_af_xdp in 22.11) free
// transmitted mbufs only on their next TX call and offer no tx_done_cleanup,
// so without this a pool stays above its idle count until traffic resumes.
inline void tx_reap(const tx_buffer& tx) noexcept {
    (void)rte_eth_tx_burst(tx.port_id, tx.queue, nullptr, 0);
}

// Frees what is buffered without sending (shutdown).
void tx_discard(tx_buffer& tx) noexcept;

// A reply's addressee: where the request came from.
struct reply_to {
    endpoint ep;
    mac_addr mac{};
};

// Builds one RCP frame (Ethernet + IPv4 + UDP + frame) in a fresh mbuf from
// `pool` and queues it on `tx`. An empty pool is counted, nothing else.
void send_frame(tx_buffer& tx, lcore_counters& c, rte_mempool* pool, const port_info& port,
                const reply_to& to, op code, uint8_t flag_bits, uint64_t seq,
                std::span<const std::byte> topic, std::span<const std::byte> payload) noexcept;

inline void send_err(tx_buffer& tx, lcore_counters& c, rte_mempool* pool, const port_info& port,
                     const reply_to& to, err_code code, uint64_t seq, std::string_view reason) noexcept {
    send_frame(tx, c, pool, port, to, op::err, static_cast<uint8_t>(code), seq, {},
               as_bytes(reason.substr(0, max_err_reason)));
}

} // namespace ringcast
