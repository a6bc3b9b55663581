// The io role: receive, answer ARP, ICMP echo, HELLO and PING on the spot,
// check every other frame (the source's identity and its ACL too), and hand
// each SUB, UNSUB, PUB and NACK to the worker that owns its topic (a
// wildcard SUB or UNSUB to every worker) over the io lcore's SPSC ring to
// that worker. Owns the lease table, and with it who each source is.
#pragma once

#include <ringcast/core/access_policy.hpp>
#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/settings.hpp>
#include <ringcast/datapath/lcore.hpp>
#include <ringcast/datapath/ring_item.hpp>
#include <ringcast/datapath/tcp_lite.hpp>

#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
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

// What the sources bound to one identity did, for /ringcast/subscribers;
// indexed like the io lcore's policy, zeroed when it adopts another.
struct identity_counters {
    counter hellos;     // HELLOs that bound a source to it
    counter pub_frames; // PUBs let through
    counter sub_frames; // SUBs let through
    counter denied;     // PUB, SUB or NACK outside its ACL
};

struct io_state {
    io_state(const io_settings& s, const lease_params& lp, const access_policy& p)
        : settings(s), leases(lp), policy(&p), err_global(p.err_global_per_s, p.err_global_per_s, s.hz, 0),
          per_identity(max_identities) {
        link.held.store(p.generation());
    }
    io_settings settings;
    std::vector<rx_queue> rx;
    std::vector<item_stage> to_worker; // index = worker number
    lease_table leases;
    const access_policy* policy;
    policy_link link;
    bool tell_workers = false; // a policy was adopted: workers still to be told
    token_bucket err_global;   // ERR replies over all sources
    std::vector<identity_counters> per_identity;
    rte_mempool* replies = nullptr;  // reply frames
    rte_mempool* indirect = nullptr; // views on frames of multi-frame datagrams
    uint64_t next_sweep = 0;
    uint16_t index = 0;              // among the io lcores: TCP-lite endpoints name it
    std::unique_ptr<tcp_lite> tcp;   // null with tcp.enabled false
};

// One frame of a TCP-lite connection's stream, checked, answered or routed
// as a datagram's frames are. `m` holds exactly the frame (a view on the
// segment or a copy) and is taken. `source` is the connection's.
void io_stream_frame(io_state& io, lcore_ctx& lc, uint64_t now, source_record& source, const reply_to& from,
                     rte_mbuf* m) noexcept;

// A notice (bye or lapsed) about `ep` to every worker; false, and nothing
// sent, when some ring has no room for it.
[[nodiscard]] bool io_tell_workers(io_state& io, lcore_ctx& lc, const endpoint& ep, item_kind kind) noexcept;

// rx_burst -> classify -> answer or check and stage -> enqueue, for every
// RX queue of the lcore. Returns the packets received.
uint16_t io_poll(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;
// Lease sweep, at most every millisecond: lapsed sources' notices to every
// worker; a newly published policy adopted, sources bound again under it,
// and every worker told (a policy item) so it checks what it holds.
void io_housekeeping(io_state& io, lcore_ctx& lc, uint64_t now) noexcept;

} // namespace ringcast
