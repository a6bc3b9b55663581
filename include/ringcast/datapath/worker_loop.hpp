// The worker role: owns the topics whose hash maps to it and every wildcard
// filter, with their subscriptions, seqs, retained messages and QoS 2 dedup
// window. It takes items from each io lcore's ring in order, applies control
// items (SUB, UNSUB, BYE, lapsed leases, NACK) one by one, and takes each run
// of PUBs through sequence -> plan targets -> emit -> finish as one batch.
#pragma once

#include <ringcast/core/access_policy.hpp>
#include <ringcast/core/coalesce.hpp>
#include <ringcast/core/dedup_window.hpp>
#include <ringcast/core/retention.hpp>
#include <ringcast/core/settings.hpp>
#include <ringcast/core/snapshot.hpp>
#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/target_plan.hpp>
#include <ringcast/datapath/lcore.hpp>
#include <ringcast/datapath/ring_item.hpp>

#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <vector>

namespace ringcast {

struct worker_state {
    worker_state(const sub_limits& lim, const worker_settings& s, const access_policy& p)
        : settings(s), table(lim), retained(s.retain_capacity, lim.topics),
          dedup(s.dedup_entries, s.dedup_ticks), planner(s.delivery), plan(plan_frames, plan_datagrams),
          policy(&p) {
        link.held.store(p.generation());
    }
    // A plan's room: a batch bigger than this (a wide fan-out) is sent in
    // several plans; 4096 frames is 32 messages to 128 subscribers.
    static constexpr uint32_t plan_frames = 4096;
    static constexpr uint32_t plan_datagrams = 4096;
    std::vector<rte_ring*> from_io; // one per io lcore
    // The burst being worked on, dequeued here so no pass pays to zero it.
    std::array<ring_item, burst_size> burst;
    worker_settings settings;
    sub_table table;
    retention_store retained;
    dedup_window dedup;
    target_planner planner;
    coalescer plan;                                     // the batch's deliveries as datagrams
    std::array<coalesce_limits, max_ports> tx_limits{}; // per port, from [tx] and the port's TX
    const access_policy* policy; // the per-source caps, and the ACLs a reload checks against
    policy_link link;
    uint32_t last_values = 0;                           // topics holding a RETAIN value
    uint32_t sweep_cursor = 0;                          // idle-topic sweep
    rte_mempool* headers = nullptr;                     // fan-out headers and replies
    rte_mempool* indirect = nullptr;                    // views past a retained frame's header, for replays
    // Telemetry's top lists: each goes round its table at most once a second.
    uint64_t next_topic_round = 0;
    uint64_t next_subscriber_round = 0;
    topic_snapshot topics;
    subscriber_snapshot subscribers;
};

// dequeue_burst -> apply control items / sequence, plan, emit and finish
// PUBs, until each ring is empty or a ring's size of items was handled.
// Returns items handled. TX is flushed by the caller (poll_once).
uint32_t worker_poll(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept;

// Idle topics forgotten and the telemetry lists advanced, a slice per call.
void worker_housekeeping(worker_state& w, lcore_ctx& lc, uint64_t now) noexcept;

// Frees every retained message and RETAIN value of the worker (shutdown).
void release_retained(worker_state& w) noexcept;

} // namespace ringcast
