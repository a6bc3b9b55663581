#include <ringcast/control/appliance.hpp>

#include <ringcast/core/settings.hpp>
#include <ringcast/datapath/port.hpp>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace ringcast {

namespace {

// Replies are at most 42 + 16 + 255 (topic) + 64 (PONG echo) bytes; a
// delivery's headers and a few copied frames fit too. Bigger copy segments
// come from the port's receive pool. Small mbufs: fan-out touches many.
constexpr uint16_t header_data_room = 512;

rte_mempool* make_pool(const std::string& name, uint32_t n, uint32_t cache, uint16_t data_room) {
    rte_mempool* mp =
        rte_pktmbuf_pool_create(name.c_str(), n, cache, 0, data_room, static_cast<int>(rte_socket_id()));
    if (mp == nullptr) {
        throw std::runtime_error("rte_pktmbuf_pool_create(" + name + ", " + std::to_string(n) + " mbufs): " +
                                 rte_strerror(rte_errno) + " (raise eal.memory_mb or lower mempool sizes)");
    }
    return mp;
}

// On an AF_XDP port, hands our XDP program (if the PMD loaded it) the rule
// that keeps the host's own traffic with the kernel.
std::unique_ptr<xdp_steering> find_steering(const port_info& port) {
    if (port.driver != "net_af_xdp" || port.if_index == 0) {
        return nullptr;
    }
    auto s = xdp_steering::find(port.if_index);
    if (s == nullptr) {
        std::fprintf(stderr,
                     "ringcastd: port %s: AF_XDP without ringcast's steering program, so every packet on the "
                     "interface comes here; add xdp_prog=PATH/xdp_steer.o to the vdev\n",
                     port.name.c_str());
        return nullptr;
    }
    s->configure(port.id.ipv4, port.id.udp_port, 0);
    return s;
}

} // namespace

appliance::appliance(const config& cfg) : _cfg(cfg), _running(cfg) {
    _policies.push_back(std::make_unique<access_policy>(cfg, 1));
    _latest.store(_policies.back().get());
    try {
        const auto& io_lcores = cfg.lcores.io;
        const auto& worker_lcores = cfg.lcores.worker;
        std::set<uint32_t> roles(io_lcores.begin(), io_lcores.end());
        roles.insert(worker_lcores.begin(), worker_lcores.end());
        for (uint32_t l : roles) {
            if (!rte_lcore_is_enabled(l)) {
                throw std::runtime_error("lcore " + std::to_string(l) + " is not enabled in EAL");
            }
        }
        const auto n_rx = static_cast<uint16_t>(io_lcores.size());
        const auto n_tx = static_cast<uint16_t>(roles.size());
        for (size_t p = 0; p < cfg.ports.size(); ++p) {
            rte_mempool* mp = make_pool("rc_rx_" + std::to_string(p), cfg.mempool.mbufs, cfg.mempool.cache,
                                        RTE_MBUF_DEFAULT_BUF_SIZE);
            _pools.push_back(mp);
            _ports.push_back(open_port(cfg.ports[p], cfg.rcp.udp_port, n_rx, n_tx, mp));
            _steering.push_back(find_steering(_ports.back()));
        }
        rte_mempool* headers = make_pool("rc_hdr", cfg.mempool.headers, cfg.mempool.cache,
                                         RTE_PKTMBUF_HEADROOM + header_data_room);
        _pools.push_back(headers);
        rte_mempool* indirect = make_pool("rc_ind", cfg.mempool.indirect, cfg.mempool.cache, 0);
        _pools.push_back(indirect);

        const uint64_t hz = rte_get_tsc_hz();
        const lcore_settings settings = derive_settings(cfg, hz);
        for (size_t w = 0; w < worker_lcores.size(); ++w) {
            auto ws = std::make_unique<worker_state>(settings.tables, settings.worker, *_policies.back());
            ws->link.latest = &_latest;
            ws->headers = headers;
            ws->indirect = indirect;
            for (size_t p = 0; p < _ports.size(); ++p) {
                // Copy segments hold what a receive mbuf holds.
                ws->tx_limits[p] = tx_limits_for(cfg.tx, _ports[p].tx_max_segments, RTE_MBUF_DEFAULT_DATAROOM);
            }
            _workers.push_back(std::move(ws));
        }
        for (size_t i = 0; i < io_lcores.size(); ++i) {
            auto io = std::make_unique<io_state>(settings.io, settings.leases, *_policies.back());
            io->link.latest = &_latest;
            for (uint16_t p = 0; p < _ports.size(); ++p) {
                for (uint16_t q = static_cast<uint16_t>(i); q < _ports[p].rx_queues; q += n_rx) {
                    io->rx.push_back(rx_queue{.port = p, .queue = q});
                }
            }
            io->replies = headers;
            io->indirect = indirect;
            io->index = static_cast<uint16_t>(i);
            if (cfg.tcp.enabled) {
                // Every lcore's fan-out and replies for this io lcore's connections.
                const std::string name = "rc_tcp" + std::to_string(i);
                rte_ring* r = rte_ring_create_elem(name.c_str(), sizeof(tcp_item), cfg.rings.size,
                                                   static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
                if (r == nullptr) {
                    throw std::runtime_error("rte_ring_create_elem(" + name + "): " + rte_strerror(rte_errno));
                }
                _rings.push_back(r);
                io->tcp = std::make_unique<tcp_lite>(tcp_settings_for(cfg, hz), io->index, r, headers, indirect,
                                                     rte_get_tsc_cycles());
            }
            for (size_t w = 0; w < worker_lcores.size(); ++w) {
                // One single-producer single-consumer ring per io->worker pair.
                const std::string name = "rc_io" + std::to_string(i) + "_w" + std::to_string(w);
                rte_ring* r =
                    rte_ring_create_elem(name.c_str(), sizeof(ring_item), cfg.rings.size,
                                         static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
                if (r == nullptr) {
                    throw std::runtime_error("rte_ring_create_elem(" + name +
                                             "): " + rte_strerror(rte_errno));
                }
                _rings.push_back(r);
                io->to_worker.push_back(item_stage{.ring = r});
                _workers[w]->from_io.push_back(r);
            }
            _io.push_back(std::move(io));
        }
        uint16_t tx_queue = 0;
        for (uint32_t l : roles) {
            auto lc = std::make_unique<lcore_ctx>();
            lc->lcore_id = l;
            lc->ports = _ports;
            lc->quit = &_never;
            lc->hz = hz;
            if (auto it = std::find(io_lcores.begin(), io_lcores.end(), l); it != io_lcores.end()) {
                lc->io = _io[static_cast<size_t>(it - io_lcores.begin())].get();
            }
            if (auto it = std::find(worker_lcores.begin(), worker_lcores.end(), l);
                it != worker_lcores.end()) {
                lc->worker = _workers[static_cast<size_t>(it - worker_lcores.begin())].get();
            }
            for (size_t p = 0; p < _ports.size(); ++p) {
                lc->tx[p] = tx_buffer{.port_id = _ports[p].port_id, .queue = tx_queue};
            }
            for (const auto& io : _io) {
                if (io->tcp != nullptr) {
                    lc->tcp_out.push_back(tcp_stage{.ring = io->tcp->inbox()});
                }
            }
            ++tx_queue;
            _lcores.push_back(std::move(lc));
        }
        for (rte_mempool* mp : _pools) {
            _idle_in_use.push_back(rte_mempool_in_use_count(mp));
        }
    } catch (...) {
        release();
        throw;
    }
}

appliance::~appliance() {
    release();
}

void appliance::run(std::atomic<bool>& quit, std::atomic<bool>* reload) {
    lcore_ctx* on_main = nullptr;
    for (auto& lc : _lcores) {
        lc->quit = &quit;
        if (lc->lcore_id == rte_get_main_lcore()) {
            on_main = lc.get();
        } else if (int rc = rte_eal_remote_launch(lcore_main, lc.get(), lc->lcore_id); rc != 0) {
            quit.store(true);
            rte_eal_mp_wait_lcore();
            throw std::runtime_error("rte_eal_remote_launch(lcore " + std::to_string(lc->lcore_id) +
                                     "): " + std::to_string(rc));
        }
    }
    // Reloads parse files and allocate: never on an lcore that polls.
    std::thread control([&] {
        while (!quit.load(std::memory_order_relaxed)) {
            if (reload != nullptr && reload->exchange(false)) {
                reload_file();
            }
            retire_policies();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    std::printf("ringcastd: ready\n");
    std::fflush(stdout);
    if (on_main != nullptr) {
        lcore_main(on_main);
    } else {
        // The main lcore has no role: telemetry runs on its own thread, so
        // there is nothing to do here but wait.
        while (!quit.load(std::memory_order_relaxed)) {
            rte_delay_ms(20);
        }
    }
    control.join();
    rte_eal_mp_wait_lcore();
}

std::string appliance::reload(const config& next) {
    // What a reload may change, taken from `next`; everything else must match.
    config merged = _cfg;
    merged.path = next.path;
    merged.identities = next.identities;
    merged.rcp.require_auth = next.rcp.require_auth;
    merged.rcp.err_per_s = next.rcp.err_per_s;
    merged.rcp.err_global_per_s = next.rcp.err_global_per_s;
    merged.limits.source_subscriptions = next.limits.source_subscriptions;
    merged.limits.source_topics_per_s = next.limits.source_topics_per_s;
    const std::string differs = restart_needed(merged, next);
    const std::lock_guard lock(_policy_mutex);
    if (!differs.empty()) {
        ++_reload_failures;
        _reload_error = differs + " changed: only [[identity]], rcp.require_auth, rcp.err_per_s, "
                                  "rcp.err_global_per_s and limits.source_* reload; restart for the rest";
        return _reload_error;
    }
    const uint32_t generation = _policies.back()->generation() + 1;
    _policies.push_back(std::make_unique<access_policy>(merged, generation));
    _latest.store(_policies.back().get(), std::memory_order_release);
    _running = merged;
    ++_reloads;
    _reload_error.clear();
    return {};
}

void appliance::reload_file() noexcept {
    try {
        const config_result r = load_config(_cfg.path);
        if (!r.ok()) {
            for (const config_error& e : r.errors) {
                std::fprintf(stderr, "%s\n", e.to_string().c_str());
            }
            const std::lock_guard lock(_policy_mutex);
            ++_reload_failures;
            _reload_error = r.errors.front().to_string();
            std::fprintf(stderr, "ringcastd: reload refused (%zu errors); the running config stays\n",
                         r.errors.size());
            return;
        }
        if (const std::string why = reload(r.cfg); !why.empty()) {
            std::fprintf(stderr, "ringcastd: reload refused: %s\n", why.c_str());
            return;
        }
        std::fprintf(stderr, "ringcastd: reloaded %s: %zu identities, authentication %s\n", _cfg.path.c_str(),
                     r.cfg.identities.size(), r.cfg.rcp.require_auth ? "required" : "off");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringcastd: reload failed: %s\n", e.what());
    }
}

void appliance::retire_policies() noexcept {
    uint32_t held = UINT32_MAX;
    for (const auto& io : _io) {
        held = std::min(held, io->link.held.load(std::memory_order_acquire));
    }
    for (const auto& w : _workers) {
        held = std::min(held, w->link.held.load(std::memory_order_acquire));
    }
    const std::lock_guard lock(_policy_mutex);
    // The current one always stays, whatever the lcores say.
    const auto first_kept =
        std::find_if(_policies.begin(), _policies.end() - 1, [&](const auto& p) { return p->generation() >= held; });
    _policies.erase(_policies.begin(), first_kept);
}

unsigned appliance::release() noexcept {
    for (auto& lc : _lcores) {
        drain_lcore(*lc);
    }
    _steering.clear();
    for (const port_info& p : _ports) {
        close_port(p);
    }
    _ports.clear();
    for (rte_ring* r : _rings) {
        rte_ring_free(r);
    }
    _rings.clear();
    // drain_lcore released the workers' retained mbufs; the tables go with them.
    _lcores.clear();
    _io.clear();
    _workers.clear();
    unsigned leaked = 0;
    for (size_t i = 0; i < _pools.size(); ++i) {
        rte_mempool* mp = _pools[i];
        const unsigned used = rte_mempool_in_use_count(mp);
        const unsigned idle = i < _idle_in_use.size() ? _idle_in_use[i] : 0;
        if (used > idle) {
            std::fprintf(stderr, "ringcastd: mempool %s: %u mbufs still in use at exit (%u at start)\n", mp->name,
                         used, idle);
            leaked += used - idle;
        }
        rte_mempool_free(mp);
    }
    _pools.clear();
    _idle_in_use.clear();
    return leaked;
}

} // namespace ringcast
