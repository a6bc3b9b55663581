// The io role: receive, answer ARP, ICMP echo, HELLO and PING on the spot,
// check every other frame, and hand each SUB, UNSUB, PUB and NACK to the
// worker that owns its topic (a wildcard SUB or UNSUB to every worker) over
// the io lcore's SPSC ring to that worker. Owns the lease table.
#pragma once

#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/settings.hpp>
#include <ringcast/datapath/lcore.hpp>
#include <ringcast/datapath/ring_item.hpp>

#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <vector>

namespace ringcast {

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
    io_state(const io_settings& s, const lease_params& lp) : settings(s), leases(lp) {}
    io_settings settings;
    std::vector<rx_queue> rx;
    std::vector<item_stage> to_worker; // index = worker number
    lease_table leases;
    rte_mempool* replies = nullptr;  // reply frames
    rte_mempool* indirect = nullptr; // views on frames of multi-frame datagrams
    uint64_t next_sweep = 0;
};

// rx_burst -> classify -> answer or check and stage -> enqueue, for every
// RX queue of the lcore. Returns the packets received.
uint16_t io_poll(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;
// Lease sweep, at most every millisecond: lapsed sources' notices to every worker.
void io_housekeeping(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;

} // namespace ringcast
