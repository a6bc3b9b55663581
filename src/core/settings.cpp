#include <ringcast/core/settings.hpp>

#include <algorithm>

namespace ringcast {

lcore_settings derive_settings(const config& cfg, uint64_t hz) {
    // Global retention caps are split evenly: each worker owns its topics' history.
    const auto n_workers = static_cast<uint32_t>(cfg.lcores.worker.size());
    const uint32_t retain_capacity = cfg.retention.max_messages / n_workers;
    lcore_settings s;
    s.leases = lease_params{.max_sources = cfg.limits.subscribers,
                            .lease_ticks = hz * cfg.rcp.lease_s,
                            .hz = hz,
                            .err_per_s = cfg.rcp.err_per_s};
    s.tables = sub_limits{.topics = cfg.limits.topics,
                          .subscriptions = cfg.limits.subscriptions,
                          .subscribers = cfg.limits.subscribers,
                          .topic_len = cfg.limits.topic_len,
                          .filters = cfg.limits.filters,
                          .groups = cfg.limits.groups};
    s.io = io_settings{.topic_len = cfg.limits.topic_len,
                       .max_pub_frame = cfg.tx.mtu - static_cast<uint32_t>(ipv4_hdr_len + udp_hdr_len),
                       .hz = hz};
    s.worker = worker_settings{
        .hz = hz,
        // A worker with no room for history keeps none, whatever a topic asks for.
        .keep =
            retain_capacity == 0 ? keep_policy{} : keep_policy(cfg.retention.keep, cfg.retention.prefixes),
        .retain_capacity = retain_capacity,
        .last_values = cfg.retention.last_values / n_workers,
        .topic_idle_ticks = hz * cfg.limits.topic_idle_s,
        .dedup_entries = cfg.qos.dedup_entries,
        .dedup_ticks = hz / 1000 * cfg.qos.dedup_window_ms,
        .delivery = delivery_policy{.hz = hz,
                                    .rate = cfg.limits.delivery_rate,
                                    .burst = cfg.limits.delivery_burst,
                                    .loss_ppm = cfg.debug.inject_loss_ppm},
        .nack_rate = cfg.repair.nack_rate,
        .nack_burst = cfg.repair.nack_burst,
    };
    return s;
}

coalesce_limits tx_limits_for(const tx_config& tx, uint32_t port_max_segments, uint32_t copy_room) noexcept {
    return coalesce_limits{.enabled = tx.coalesce,
                           .max_bytes = tx.mtu - static_cast<uint32_t>(ipv4_hdr_len + udp_hdr_len),
                           .max_segments = std::clamp<uint32_t>(port_max_segments, 1, max_tx_segments),
                           .copy_room = copy_room,
                           .copy_below = tx.copy_below};
}

} // namespace ringcast
