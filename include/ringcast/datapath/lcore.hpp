// The loop every role lcore runs. An lcore may hold the io role, the worker
// role, or both (one-lcore deployments); each role's state is owned by its
// lcore alone and handed over, with the lcore's TX buffers and counters, as
// the rte_eal_remote_launch argument.
#pragma once

#include <ringcast/core/counters.hpp>
#include <ringcast/datapath/port.hpp>
#include <ringcast/datapath/tx.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace ringcast {

struct io_state;     // io_loop.hpp
struct worker_state; // worker_loop.hpp

// For the io lcore that owns a TCP-lite connection (tcp_io_index(to)): one
// reference to a frame for its stream (a delivery, or a reply), in one
// segment and trimmed to the frame. With m null, a worker saying it has
// handled the connection's BYE: everything it sends the connection before
// that is ahead of it on the ring.
struct tcp_item {
    rte_mbuf* m = nullptr;
    endpoint to;
};
static_assert(sizeof(tcp_item) == 16);

// Items bound for one io lcore's TCP-lite inbox (a multi-producer ring).
struct tcp_stage {
    rte_ring* ring = nullptr;
    uint16_t n = 0;
    std::array<tcp_item, burst_size> items{};
};

struct alignas(64) lcore_ctx {
    unsigned lcore_id = 0;
    io_state* io = nullptr;         // null when the lcore has no io role
    worker_state* worker = nullptr; // null when it has no worker role
    std::span<const port_info> ports;
    std::array<tx_buffer, max_ports> tx{}; // one per port
    std::vector<tcp_stage> tcp_out;        // one per io lcore (empty with TCP-lite off)
    lcore_counters counters;
    counter heartbeat; // TSC at the loop's last housekeeping: its age tells a stuck loop
    uint32_t work_since_housekeeping = 0;
    const std::atomic<bool>* quit = nullptr;
    uint64_t hz = 0;
};

// Hands `m` (one reference) to the io lcore of TCP-lite connection `to`;
// staged, sent at a full burst or by tcp_flush. A full inbox drops it, counted.
void tcp_send(lcore_ctx& lc, const endpoint& to, rte_mbuf* m) noexcept;
void tcp_flush(lcore_ctx& lc) noexcept;

// A reply frame for a TCP-lite connection: the frame alone in a fresh mbuf
// of `pool`, for its stream.
void tcp_reply(lcore_ctx& lc, rte_mempool* pool, const endpoint& to, op code, uint8_t flag_bits, uint64_t seq,
               std::span<const std::byte> topic, std::span<const std::byte> payload) noexcept;

// A reply frame (ACK, ERR, PONG, GAP_LOST) from this lcore to `to`, built in
// a fresh mbuf of `pool` and queued on the TX buffer of the port it came in
// on, or on its TCP-lite connection's stream.
inline void reply(lcore_ctx& lc, rte_mempool* pool, const reply_to& to, op code, uint8_t flag_bits, uint64_t seq,
                  std::span<const std::byte> topic = {}, std::span<const std::byte> payload = {}) noexcept {
    if (is_tcp(to.ep)) {
        tcp_reply(lc, pool, to.ep, code, flag_bits, seq, topic, payload);
        return;
    }
    send_frame(lc.tx[to.ep.port_id], lc.counters, pool, lc.ports[to.ep.port_id], to, code, flag_bits, seq, topic,
               payload);
}

// One pass of the loop: io, worker, TX flush, and housekeeping when asked.
// Returns the packets and items handled. Tests step the pipeline with it.
uint32_t poll_once(lcore_ctx& lc, uint64_t now, bool housekeeping) noexcept;

// rte_eal_remote_launch entry: polls until *quit, then flushes TX.
int lcore_main(void* arg);

// After every loop stopped: frees what rings, stages, TX buffers and
// retention still hold, so every pool is back at its idle count.
void drain_lcore(lcore_ctx& lc) noexcept;

} // namespace ringcast
