#include <ringcast/control/telemetry.hpp>

#include <ringcast/core/tcp_conn.hpp>
#include <ringcast/datapath/worker_loop.hpp>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include <array>
#include <cctype>
#include <atomic>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <thread>

namespace ringcast {

namespace {

// Telemetry callbacks take no user argument, hence the globals. A callback
// counts itself in before it looks at the appliance, and detaching waits for
// those in flight, so none reads an appliance being destroyed. Sequentially
// consistent on purpose: the count and the pointer must be seen in one order.
std::atomic<const appliance*> g_app{nullptr};
std::atomic<int> g_readers{0};

struct reader {
    reader() noexcept { g_readers.fetch_add(1); }
    ~reader() { g_readers.fetch_sub(1); }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;
    const appliance* app = g_app.load();
};

using tel = rte_tel_data;

// rte_tel_data names are limited (RTE_TEL_MAX_STRING_LEN); ours are short.
void add_u64(tel* d, std::string_view name, uint64_t v) {
    const std::string n(name);
    rte_tel_data_add_dict_u64(d, n.c_str(), v);
}

void add_str(tel* d, const char* name, const std::string& v) {
    rte_tel_data_add_dict_string(d, name, v.c_str());
}

// DPDK 22.11 refuses dict names with characters other than alphanumerics,
// '_' and '/' (a topic "a-b" or an address "1.2.3.4:5" would vanish): those
// become '_', and the entry carries the real name as a value.
std::string telemetry_key(std::string_view name) {
    std::string k(name.substr(0, RTE_TEL_MAX_STRING_LEN - 1));
    for (char& c : k) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_' && c != '/') {
            c = '_';
        }
    }
    return k;
}

// A child container into `d`; freed here when `d` has no room left (a dict
// holds at most RTE_TEL_MAX_DICT_ENTRIES), rather than leaked.
void add_child(tel* d, const char* name, tel* child) {
    if (rte_tel_data_add_dict_container(d, name, child, 0) != 0) {
        rte_tel_data_free(child);
    }
}

tel* child_dict() {
    tel* c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    return c;
}

std::string mac_string(const mac_addr& m) {
    std::array<char, 18> b{};
    std::snprintf(b.data(), b.size(), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b.data();
}

void fill_stats(const appliance& app, tel* d) {
    std::array<uint64_t, metric_count> stats{};
    std::array<uint64_t, drop_count> drops{};
    std::array<uint64_t, gauge_count> gauges{};
    std::array<uint64_t, datagram_frame_bounds.size()> per_datagram{};
    for (const auto& lc : app.lcores()) {
        for (size_t i = 0; i < per_datagram.size(); ++i) {
            per_datagram[i] += lc->counters.datagram_frames[i].get();
        }
        for (size_t i = 0; i < metric_count; ++i) {
            stats[i] += lc->counters.stats[i].get();
        }
        for (size_t i = 0; i < drop_count; ++i) {
            drops[i] += lc->counters.drops[i].get();
        }
        for (size_t i = 0; i < gauge_count; ++i) {
            gauges[i] += lc->counters.gauges[i].get();
        }
    }
    for (size_t i = 0; i < metric_count; ++i) {
        add_u64(d, metric_names[i], stats[i]);
    }
    add_u64(d, "malformed", drops[static_cast<size_t>(drop::malformed)]);
    for (size_t i = 0; i < gauge_count; ++i) {
        add_u64(d, gauge_names[i], gauges[i]);
    }
    tel* hist = child_dict();
    for (size_t i = 0; i < per_datagram.size(); ++i) {
        add_u64(hist, datagram_frame_names[i], per_datagram[i]);
    }
    add_child(d, "frames_per_datagram", hist);
    const uint64_t datagrams = stats[static_cast<size_t>(metric::datagrams)];
    const uint64_t deliveries = stats[static_cast<size_t>(metric::deliveries)];
    add_u64(d, "frames_per_datagram_milli", datagrams == 0 ? 0 : deliveries * 1000 / datagrams);
    tel* dd = child_dict();
    uint64_t total = 0;
    for (size_t i = 0; i < drop_count; ++i) {
        add_u64(dd, drop_names[i], drops[i]);
        total += drops[i];
    }
    add_child(d, "drops", dd);
    add_u64(d, "drops_total", total);
    tel* pools = child_dict();
    for (rte_mempool* mp : app.pools()) {
        tel* p = child_dict();
        add_u64(p, "size", mp->size);
        add_u64(p, "in_use", rte_mempool_in_use_count(mp));
        add_child(pools, mp->name, p);
    }
    add_child(d, "mempools", pools);
}

void fill_lcores(const appliance& app, tel* d) {
    for (const auto& lc : app.lcores()) {
        tel* l = child_dict();
        const char* role = lc->io != nullptr && lc->worker != nullptr ? "io+worker"
                           : lc->io != nullptr                        ? "io"
                                                                      : "worker";
        rte_tel_data_add_dict_string(l, "role", role);
        add_u64(l, "packets", lc->counters.get(metric::rx_packets));
        add_u64(l, "bursts", lc->counters.get(metric::rx_bursts));
        add_u64(l, "deliveries", lc->counters.get(metric::deliveries));
        const uint64_t total = lc->counters.total_cycles.get();
        const uint64_t busy = lc->counters.busy_cycles.get();
        // Per mille: telemetry has no float type in 22.11.
        add_u64(l, "busy_permille", total == 0 ? 0 : busy * 1000 / total);
        // The raw cycles too, so a watcher can compute the ratio over its own interval.
        add_u64(l, "busy_cycles", busy);
        add_u64(l, "total_cycles", total);
        // A loop that stopped coming round (stuck, or spinning in one call) shows here.
        const uint64_t beat = lc->heartbeat.get();
        const uint64_t tsc = rte_rdtsc();
        add_u64(l, "heartbeat_age_ms", beat == 0 || tsc < beat ? 0 : (tsc - beat) * 1000 / lc->hz);
        if (lc->worker != nullptr) {
            uint64_t depth = 0;
            for (rte_ring* r : lc->worker->from_io) {
                depth += rte_ring_count(r);
            }
            add_u64(l, "ring_depth", depth);
        }
        add_child(d, ("lcore" + std::to_string(lc->lcore_id)).c_str(), l);
    }
}

void fill_ports(const appliance& app, tel* d) {
    for (size_t i = 0; i < app.ports().size(); ++i) {
        const port_info& p = app.ports()[i];
        tel* t = child_dict();
        add_str(t, "device", p.name);
        add_str(t, "driver", p.driver);
        if (const xdp_steering* x = app.steering(i); x != nullptr) {
            const xdp_counts n = x->counts();
            add_u64(t, "xdp_prog_id", x->prog_id());
            add_u64(t, "xdp_redirected", n.redirected);
            add_u64(t, "xdp_passed", n.passed);
        }
        add_u64(t, "port_id", p.port_id);
        add_str(t, "mac", mac_string(p.id.mac));
        add_str(t, "ipv4", format_ipv4(p.id.ipv4));
        add_u64(t, "udp_port", p.id.udp_port);
        add_u64(t, "multi_seg_tx", p.multi_seg_tx ? 1 : 0);
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(p.port_id, &link) == 0) {
            add_u64(t, "link_up", link.link_status);
            add_u64(t, "speed_mbps", link.link_speed);
        }
        rte_eth_stats s{};
        if (rte_eth_stats_get(p.port_id, &s) == 0) {
            add_u64(t, "ipackets", s.ipackets);
            add_u64(t, "opackets", s.opackets);
            add_u64(t, "ibytes", s.ibytes);
            add_u64(t, "obytes", s.obytes);
            add_u64(t, "imissed", s.imissed);
            add_u64(t, "ierrors", s.ierrors);
            add_u64(t, "oerrors", s.oerrors);
            add_u64(t, "rx_nombuf", s.rx_nombuf);
        }
        add_child(d, p.name.c_str(), t);
    }
}

void fill_topics(const appliance& app, tel* d) {
    for (const auto& lc : app.lcores()) {
        if (lc->worker == nullptr) {
            continue;
        }
        const auto top = lc->worker->topics.out.read();
        for (const auto& e : std::span{top.top.data(), top.n}) {
            tel* t = child_dict();
            add_u64(t, "subscribers", e.subscribers);
            add_u64(t, "seq", e.seq);
            add_u64(t, "retained", e.retained);
            add_u64(t, "worker_lcore", lc->lcore_id);
            const std::string name(e.name.data(), e.len);
            add_str(t, "topic", name);
            add_child(d, telemetry_key(name).c_str(), t);
        }
    }
}

void fill_subscribers(const appliance& app, tel* d) {
    // A subscriber with filters on several workers has a record on each: summed here.
    std::map<std::string, subscriber_entry> merged;
    for (const auto& lc : app.lcores()) {
        if (lc->worker == nullptr) {
            continue;
        }
        const auto top = lc->worker->subscribers.out.read();
        for (const auto& e : std::span{top.top.data(), top.n}) {
            // A TCP connection and a UDP source may share an address and port.
            const std::string key = std::string(is_tcp(e.ep) ? "tcp:" : "") + format_ipv4(e.ep.ip) + ":" +
                                    std::to_string(e.ep.port);
            auto [it, fresh] = merged.try_emplace(key, e);
            if (!fresh) {
                it->second.filters += e.filters;
                it->second.stats += e.stats;
            }
        }
    }
    // Under the policy's lock once: each subscriber's identity by name, then
    // what each identity's sources did, summed over io lcores (since the
    // last reload: an io lcore starts them again when it adopts a policy),
    // under one key beside the subscribers' addresses.
    app.with_policy([&](const config&, const access_policy& p, uint64_t, uint64_t, const std::string&) {
        for (const auto& [key, e] : merged) {
            tel* t = child_dict();
            add_str(t, "address", key);
            add_str(t, "transport", is_tcp(e.ep) ? "tcp" : "udp");
            add_u64(t, "port", port_index(e.ep));
            add_u64(t, "filters", e.filters);
            add_u64(t, "deliveries", e.stats.deliveries);
            add_u64(t, "drops", e.stats.drops);
            add_u64(t, "nacks_served", e.stats.nacks_served);
            add_u64(t, "replayed", e.stats.replayed);
            add_u64(t, "rate_capped", e.stats.rate_capped);
            add_u64(t, "injected_loss", e.stats.injected_loss);
            add_u64(t, "nack_limited", e.stats.nack_limited);
            const uint32_t id = e.identity == 0 ? no_identity : p.find(e.identity);
            add_str(t, "identity", id == no_identity ? std::string{} : p.at(id).name);
            add_child(d, telemetry_key(key).c_str(), t);
        }
        if (p.size() == 0) {
            return;
        }
        tel* ids = child_dict();
        for (uint32_t i = 0; i < p.size(); ++i) {
            uint64_t hellos = 0, pubs = 0, subs = 0, denied = 0;
            for (const auto& lc : app.lcores()) {
                if (lc->io == nullptr || lc->io->policy != &p) {
                    continue;
                }
                const identity_counters& c = lc->io->per_identity[i];
                hellos += c.hellos.get();
                pubs += c.pub_frames.get();
                subs += c.sub_frames.get();
                denied += c.denied.get();
            }
            tel* t = child_dict();
            add_u64(t, "hellos", hellos);
            add_u64(t, "pub_frames", pubs);
            add_u64(t, "sub_frames", subs);
            add_u64(t, "denied", denied);
            add_str(t, "name", p.at(i).name);
            add_child(ids, telemetry_key(p.at(i).name).c_str(), t);
        }
        add_child(d, "identities", ids);
    });
}

// TCP-lite: events summed over io lcores, connections by state, and the
// drops and RSTs that belong to TCP (also in /ringcast/stats).
void fill_tcp(const appliance& app, tel* d) {
    std::array<uint64_t, tcp_stat_count> stats{};
    std::array<uint64_t, tcp_state_count> states{};
    std::array<uint64_t, drop_count> drops{};
    uint64_t resets = 0;
    for (const auto& lc : app.lcores()) {
        for (size_t i = 0; i < tcp_stat_count; ++i) {
            stats[i] += lc->counters.tcp[i].get();
        }
        for (size_t i = 0; i < tcp_state_count; ++i) {
            states[i] += lc->counters.tcp_states[i].get();
        }
        for (size_t i = 0; i < drop_count; ++i) {
            drops[i] += lc->counters.drops[i].get();
        }
        resets += lc->counters.get(metric::tcp_resets);
    }
    add_u64(d, "enabled", app.cfg().tcp.enabled ? 1 : 0);
    add_u64(d, "port", app.cfg().tcp.port);
    tel* by_state = child_dict();
    uint64_t total = 0;
    for (size_t i = 1; i < tcp_state_count; ++i) { // closed is a free slot, not a connection
        add_u64(by_state, to_string(static_cast<tcp_state>(i)), states[i]);
        total += states[i];
    }
    add_child(d, "states", by_state);
    add_u64(d, "connections", total);
    for (size_t i = 0; i < tcp_stat_count; ++i) {
        add_u64(d, tcp_stat_names[i], stats[i]);
    }
    add_u64(d, "resets_sent", resets);
    for (const drop why : {drop::tcp_bad_segment, drop::tcp_unserved, drop::tcp_no_connection, drop::tcp_bad_cookie,
                           drop::tcp_table_full, drop::tcp_stale, drop::tcp_slow_consumer, drop::tcp_queue_full}) {
        add_u64(d, drop_names[static_cast<size_t>(why)], drops[static_cast<size_t>(why)]);
    }
}

// MQTT: sessions and what they hold (levels, set every 100 ms) and events,
// summed over io lcores.
void fill_mqtt(const appliance& app, tel* d) {
    std::array<uint64_t, mqtt_stat_count> stats{};
    std::array<uint64_t, mqtt_gauge_count> levels{};
    for (const auto& lc : app.lcores()) {
        for (size_t i = 0; i < mqtt_stat_count; ++i) {
            stats[i] += lc->counters.mqtt[i].get();
        }
        for (size_t i = 0; i < mqtt_gauge_count; ++i) {
            levels[i] += lc->counters.mqtt_levels[i].get();
        }
    }
    const config& c = app.cfg();
    add_u64(d, "enabled", c.tcp.enabled && c.mqtt.enabled ? 1 : 0);
    add_u64(d, "port", c.mqtt.port);
    for (size_t i = 0; i < mqtt_gauge_count; ++i) {
        add_u64(d, mqtt_gauge_names[i], levels[i]);
    }
    for (size_t i = 0; i < mqtt_stat_count; ++i) {
        add_u64(d, mqtt_stat_names[i], stats[i]);
    }
}

void fill_config(const appliance& app, tel* d) {
    const config& c = app.cfg();
    add_str(d, "path", c.path);
    add_str(d, "file_prefix", c.eal.file_prefix);
    add_u64(d, "main_lcore", c.eal.main_lcore);
    add_u64(d, "io_lcores", c.lcores.io.size());
    add_u64(d, "worker_lcores", c.lcores.worker.size());
    add_u64(d, "ports", c.ports.size());
    add_u64(d, "udp_port", c.rcp.udp_port);
    add_u64(d, "lease_s", c.rcp.lease_s);
    app.with_policy([&](const config& running, const access_policy& p, uint64_t reloads, uint64_t failures,
                        const std::string& error) {
        add_u64(d, "err_per_s", running.rcp.err_per_s);
        add_u64(d, "err_global_per_s", running.rcp.err_global_per_s);
        add_u64(d, "require_auth", p.required() ? 1 : 0);
        add_u64(d, "identities", p.size());
        add_u64(d, "source_subscriptions", running.limits.source_subscriptions);
        add_u64(d, "source_topics_per_s", running.limits.source_topics_per_s);
        add_u64(d, "policy_generation", p.generation());
        add_u64(d, "reloads", reloads);
        add_u64(d, "reload_failures", failures);
        add_str(d, "reload_error", error);
    });
    add_u64(d, "ring_size", c.rings.size);
    add_u64(d, "mbufs", c.mempool.mbufs);
    add_u64(d, "header_mbufs", c.mempool.headers);
    add_u64(d, "indirect_mbufs", c.mempool.indirect);
    add_u64(d, "max_topics", c.limits.topics);
    add_u64(d, "max_subscriptions", c.limits.subscriptions);
    add_u64(d, "max_subscribers", c.limits.subscribers);
    add_u64(d, "max_topic_len", c.limits.topic_len);
    add_u64(d, "max_filters", c.limits.filters);
    add_u64(d, "max_groups", c.limits.groups);
    add_u64(d, "topic_idle_s", c.limits.topic_idle_s);
    add_u64(d, "delivery_rate", c.limits.delivery_rate);
    add_u64(d, "retention_keep", c.retention.keep);
    add_u64(d, "retention_prefixes", c.retention.prefixes.size());
    add_u64(d, "retention_max_messages", c.retention.max_messages);
    add_u64(d, "retention_last_values", c.retention.last_values);
    add_u64(d, "dedup_window_ms", c.qos.dedup_window_ms);
    add_u64(d, "nack_rate", c.repair.nack_rate);
    add_u64(d, "coalesce", c.tx.coalesce ? 1 : 0);
    add_u64(d, "mtu", c.tx.mtu);
    add_u64(d, "copy_below", c.tx.copy_below);
    add_u64(d, "inject_loss_ppm", c.debug.inject_loss_ppm);
}

// Every command: count in as a reader, then answer with a dict, or -1 while
// no appliance is attached.
template <void (*Fill)(const appliance&, tel*)> int command(const char*, const char*, tel* d) {
    const reader r;
    if (r.app == nullptr) {
        return -1;
    }
    rte_tel_data_start_dict(d);
    Fill(*r.app, d);
    return 0;
}

} // namespace

void attach_telemetry(const appliance* app) {
    static bool registered = false;
    g_app.store(app);
    while (app == nullptr && g_readers.load() != 0) {
        std::this_thread::yield();
    }
    if (registered || app == nullptr) {
        return;
    }
    registered = true;
    rte_telemetry_register_cmd("/ringcast/stats", command<fill_stats>,
                               "Totals: packets, frames, deliveries, drops by reason, mempools in use");
    rte_telemetry_register_cmd("/ringcast/lcores", command<fill_lcores>,
                               "Per lcore: role, packets, bursts, busy ratio");
    rte_telemetry_register_cmd("/ringcast/ports", command<fill_ports>,
                               "Per port: address, link, ethdev counters");
    rte_telemetry_register_cmd("/ringcast/topics", command<fill_topics>,
                               "Top topics: subscribers, seq, retained");
    rte_telemetry_register_cmd("/ringcast/subscribers", command<fill_subscribers>,
                               "Top subscribers: filters, deliveries, drops, NACKs served, replayed");
    rte_telemetry_register_cmd("/ringcast/config", command<fill_config>, "The running configuration");
    rte_telemetry_register_cmd("/ringcast/tcp", command<fill_tcp>,
                               "TCP-lite: connections by state, handshakes, retransmissions, resets, drops");
    rte_telemetry_register_cmd("/ringcast/mqtt", command<fill_mqtt>,
                               "MQTT: sessions connected and offline, in flight, queued, wills, errors");
}

} // namespace ringcast
