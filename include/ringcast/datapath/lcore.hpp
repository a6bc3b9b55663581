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

namespace ringcast {

struct io_state;     // io_loop.hpp
struct worker_state; // worker_loop.hpp

struct alignas(64) lcore_ctx {
    unsigned lcore_id = 0;
    io_state* io = nullptr;         // null when the lcore has no io role
    worker_state* worker = nullptr; // null when it has no worker role
    std::span<const port_info> ports;
    std::array<tx_buffer, max_ports> tx{}; // one per port
    lcore_counters counters;
    counter heartbeat; // TSC at the loop's last housekeeping: its age tells a stuck loop
    uint32_t work_since_housekeeping = 0;
    const std::atomic<bool>* quit = nullptr;
    uint64_t hz = 0;
};

// A reply frame (ACK, ERR, PONG, GAP_LOST) from this lcore to `to`, built in
// a fresh mbuf of `pool` and queued on the TX buffer of the port it came in on.
inline void reply(lcore_ctx& lc, rte_mempool* pool, const reply_to& to, op code, uint8_t flag_bits, uint64_t seq,
                  std::span<const std::byte> topic = {}, std::span<const std::byte> payload = {}) noexcept {
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
