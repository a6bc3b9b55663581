// Per-lcore state and the poll loops. An lcore may hold the io role, the
// worker role, or both (one-lcore deployments); each role's state is owned by
// its lcore alone and handed over as the rte_eal_remote_launch argument.
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/core/counters.hpp>
#include <ringcast/core/dedup_window.hpp>
#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/retention.hpp>
#include <ringcast/core/sub_table.hpp>
#include <ringcast/datapath/fanout.hpp>
#include <ringcast/datapath/tx.hpp>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace ringcast {

inline constexpr size_t max_ports = 8;

enum class item_kind : uint8_t {
    frame,  // `m` holds exactly one RCP frame (SUB, UNSUB, PUB or NACK)
    // The same SUB or UNSUB of a wildcard filter to every worker: `m`'s
    // refcount is one per worker, and the worker that drops it to zero
    // replies, so the ACK leaves once the filter is active everywhere.
    all_workers,
    bye,    // the source said BYE: drop its subscriptions
    lapsed, // the source's lease lapsed: the same
};

// What an io lcore hands a worker over their ring: 32 bytes, by value.
struct ring_item {
    rte_mbuf* m = nullptr; // owned by the ring item; null for bye/lapsed
    uint64_t hash = 0;     // topic hash
    uint32_t src_ip = 0;
    uint16_t src_port = 0;
    uint16_t port_id = 0; // index into lcore_ctx::ports
    mac_addr src_mac{};
    item_kind kind = item_kind::frame;
    uint8_t pad = 0;
};
static_assert(sizeof(ring_item) == 32);

struct io_settings {
    uint16_t udp_port = 7700;
    uint32_t topic_len = 255;
    std::string auth_token;
    uint64_t hz = 0; // TSC ticks per second
};

struct rx_queue {
    uint16_t port; // index into lcore_ctx::ports
    uint16_t queue;
};

// Items bound for one worker, sent as one enqueue burst.
struct item_stage {
    rte_ring* ring = nullptr;
    uint16_t n = 0;
    std::array<ring_item, burst_size> items{};
};

struct io_state {
    io_state(const lease_params& lp) : leases(lp) {}
    io_settings settings;
    std::vector<rx_queue> rx;
    std::vector<item_stage> to_worker; // index = worker number
    lease_table leases;
    rte_mempool* replies = nullptr;  // reply frames
    rte_mempool* indirect = nullptr; // views on frames of multi-frame datagrams
    uint64_t next_sweep = 0;
};

// Top topics of one worker, published for the telemetry thread under a
// sequence lock: the worker is the only writer.
struct topic_snapshot {
    static constexpr size_t max_entries = 16;
    struct entry {
        uint64_t seq;
        uint32_t subscribers;
        uint32_t retained;
        uint16_t len;
        std::array<char, 255> name;
    };
    std::atomic<uint32_t> version{0};
    uint32_t n = 0;
    std::array<entry, max_entries> top{};
};

// Top subscribers of one worker, published like topic_snapshot.
struct subscriber_snapshot {
    static constexpr size_t max_entries = 16;
    struct entry {
        endpoint ep;
        uint32_t filters;
        subscriber_stats stats;
    };
    std::atomic<uint32_t> version{0};
    uint32_t n = 0;
    std::array<entry, max_entries> top{};
};

// What a worker needs from the configuration, in ticks where it is a time.
struct worker_settings {
    uint64_t hz = 0;
    uint32_t keep = 0; // retention.keep, and its per-prefix overrides
    std::vector<retention_prefix> keep_prefixes;
    uint32_t retain_capacity = 0; // this worker's share of retention.max_messages
    uint32_t last_values = 0;     // this worker's share of retention.last_values
    uint64_t topic_idle_ticks = 0;
    uint32_t dedup_entries = 1;
    uint64_t dedup_ticks = 0;
    uint32_t delivery_rate = 0; // 0: no per-subscriber cap
    uint32_t delivery_burst = 1;
    uint32_t nack_rate = 0;
    uint32_t nack_burst = 1;
    uint32_t loss_ppm = 0;
};

struct worker_state {
    worker_state(const sub_limits& lim, const worker_settings& s)
        : settings(s), table(lim), retained(s.retain_capacity, lim.topics),
          dedup(s.dedup_entries, s.dedup_ticks) {}
    std::vector<rte_ring*> from_io;
    worker_settings settings;
    sub_table table;
    retention_store retained;
    dedup_window dedup;
    uint32_t last_values = 0; // topics holding a RETAIN value
    uint64_t loss_credit = 0; // debug loss injection: drops when it passes a million
    uint32_t sweep_cursor = 0;
    rte_mempool* headers = nullptr;  // fan-out headers and replies
    rte_mempool* indirect = nullptr; // views past a retained frame's header, for replays
    uint64_t next_snapshot = 0;
    topic_snapshot snapshot;
    subscriber_snapshot subscriber_top;
};

struct alignas(64) lcore_ctx {
    unsigned lcore_id = 0;
    io_state* io = nullptr;
    worker_state* worker = nullptr;
    std::span<const port_info> ports;
    std::array<tx_buffer, max_ports> tx{}; // one per port
    lcore_counters counters;
    uint32_t work_since_housekeeping = 0;
    const std::atomic<bool>* quit = nullptr;
    uint64_t hz = 0;
};

// The io role's step: rx_burst -> classify -> answer or stage -> enqueue.
// Returns the packets received.
uint16_t io_poll(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;
// Lease sweep, at most every millisecond.
void io_housekeeping(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;

// The worker role's step: dequeue_burst -> apply -> fan_out, until each ring
// is empty or a ring's size of items was handled. Returns items handled.
uint32_t worker_poll(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept;
// Idle topics forgotten, a slice per call; telemetry snapshots about once a second.
void worker_housekeeping(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept;

// Frees every retained message and RETAIN value of the worker (shutdown).
void release_retained(worker_state& w) noexcept;

// One pass of the loop: io, worker, TX flush, and housekeeping when asked.
// Returns the packets and items handled. Tests step the pipeline with it.
uint32_t poll_once(lcore_ctx& lc, uint64_t now, bool housekeeping) noexcept;

// rte_eal_remote_launch entry: polls until *quit, then flushes TX.
int lcore_main(void* arg);

// After every loop stopped: frees what rings, stages, TX buffers and
// retention still hold, so every pool is back at its idle count.
void drain_lcore(lcore_ctx& lc) noexcept;

} // namespace ringcast
