// The running appliance: mempools, ports, rings and one context per lcore,
// built from a validated config after rte_eal_init. Main lcore only.
#pragma once

#include <ringcast/control/xdp_steering.hpp>
#include <ringcast/core/access_policy.hpp>
#include <ringcast/core/config.hpp>
#include <ringcast/datapath/io_loop.hpp>
#include <ringcast/datapath/lcore.hpp>
#include <ringcast/datapath/worker_loop.hpp>

#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ringcast {

class appliance {
public:
    // Creates pools, opens and starts ports, creates rings. Throws
    // std::runtime_error naming what failed; what was made is released.
    explicit appliance(const config& cfg);
    ~appliance();
    appliance(const appliance&) = delete;
    appliance& operator=(const appliance&) = delete;

    // Launches every role lcore and returns when all have seen `quit`.
    // While it runs, a control thread reloads the config file whenever
    // `reload` is set (SIGHUP), and frees policies no lcore holds any more.
    void run(std::atomic<bool>& quit, std::atomic<bool>* reload = nullptr);

    // Takes the identities, ACLs and per-source limits of `next` (which
    // parse_config accepted) into service: each lcore adopts them at its next
    // housekeeping, and each worker then drops the subscriptions they no
    // longer allow. Refused, with the reason, when `next` differs from the
    // running config in anything else. Control thread only.
    [[nodiscard]] std::string reload(const config& next);
    // Reads the config file again and reloads it; errors are printed and
    // counted, and the running config stays.
    void reload_file() noexcept;
    // Frees the policies every lcore has moved past.
    void retire_policies() noexcept;

    // For telemetry: the running config (reloads included) and policy, read
    // under the lock that reload and retire take.
    template <class F> void with_policy(F&& f) const {
        const std::lock_guard lock(_policy_mutex);
        f(_running, *_policies.back(), _reloads, _reload_failures, _reload_error);
    }
    // After run: frees what loops, rings and retention still hold, closes
    // the ports and frees the pools. Returns the mbufs still in use before
    // the pools went beyond their idle count at start (a leak when not 0).
    // The destructor does it otherwise.
    [[nodiscard]] unsigned shutdown() noexcept { return release(); }

    [[nodiscard]] const config& cfg() const noexcept { return _cfg; }
    [[nodiscard]] const std::vector<port_info>& ports() const noexcept { return _ports; }
    [[nodiscard]] const std::vector<std::unique_ptr<lcore_ctx>>& lcores() const noexcept { return _lcores; }
    // For tests that step the loops with poll_once instead of run().
    [[nodiscard]] lcore_ctx& lcore(size_t i) noexcept { return *_lcores[i]; }
    [[nodiscard]] const std::vector<rte_mempool*>& pools() const noexcept { return _pools; }
    [[nodiscard]] const std::vector<rte_ring*>& rings() const noexcept { return _rings; }
    // The XDP steering program on port i, or null (not AF_XDP, or not ours).
    [[nodiscard]] const xdp_steering* steering(size_t i) const noexcept { return _steering[i].get(); }

private:
    unsigned release() noexcept;

    config _cfg;
    std::vector<rte_mempool*> _pools; // receive pools (one per port), then headers, then indirect
    // in_use of each pool once the ports started: what the PMDs keep in their
    // RX rings (net_af_xdp does not give its fill ring back at close).
    std::vector<unsigned> _idle_in_use;
    std::vector<port_info> _ports;
    std::vector<std::unique_ptr<xdp_steering>> _steering; // one per port
    std::vector<rte_ring*> _rings;
    std::vector<std::unique_ptr<io_state>> _io;
    std::vector<std::unique_ptr<worker_state>> _workers;
    std::vector<std::unique_ptr<lcore_ctx>> _lcores;
    std::atomic<bool> _never{false}; // quit flag before run() hands the real one

    mutable std::mutex _policy_mutex;
    config _running; // _cfg with the reloaded parts of the last good reload
    // The current policy last; older ones until every lcore holds a newer one.
    std::vector<std::unique_ptr<access_policy>> _policies;
    std::atomic<const access_policy*> _latest{nullptr};
    uint64_t _reloads = 0;
    uint64_t _reload_failures = 0;
    std::string _reload_error; // of the last refused reload; empty after a good one
};

} // namespace ringcast
