// What each lcore role needs from the configuration, in TSC ticks where it
// is a time and in per-worker shares where the config gives a global cap.
// Derived once at start-up, on the main lcore, before any table is built.
#pragma once

#include <ringcast/core/coalesce.hpp>
#include <ringcast/core/config.hpp>
#include <ringcast/core/keep_policy.hpp>
#include <ringcast/core/lease_table.hpp>
#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/target_plan.hpp>

#include <cstdint>
#include <string>

namespace ringcast {

struct io_settings {
    uint32_t topic_len = 255;
    uint32_t max_pub_frame = 1472; // a PUB frame longer cannot leave as one MSG datagram (tx.mtu - 28)
    uint64_t hz = 0;               // ticks per second
};

struct worker_settings {
    uint64_t hz = 0;
    keep_policy keep;             // retention.keep and its prefixes; keeps 0 when retain_capacity is 0
    uint32_t retain_capacity = 0; // this worker's share of retention.max_messages
    uint32_t last_values = 0;     // this worker's share of retention.last_values
    uint64_t topic_idle_ticks = 0;
    uint32_t dedup_entries = 1;
    uint64_t dedup_ticks = 0;
    delivery_policy delivery;
    uint32_t nack_rate = 0;
    uint32_t nack_burst = 1;
};

struct lcore_settings {
    lease_params leases; // per io lcore
    sub_limits tables;   // per worker
    io_settings io;
    worker_settings worker;
};

// `cfg` is valid (parse_config accepted it); `hz` is the TSC rate.
[[nodiscard]] lcore_settings derive_settings(const config& cfg, uint64_t hz);

// Segments a coalesced datagram may have at most, whatever the port allows:
// past this a chain costs the TX more than copies would.
inline constexpr uint32_t max_tx_segments = 32;

// What one port allows a coalesced datagram: `tx` ([tx]), the port's own
// segment limit (1 without multi-segment TX) and the bytes one copy
// segment holds (the header pool's data room).
[[nodiscard]] coalesce_limits tx_limits_for(const tx_config& tx, uint32_t port_max_segments,
                                            uint32_t copy_room) noexcept;

} // namespace ringcast
