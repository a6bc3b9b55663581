// ringcastd: the appliance. Reads its TOML config, starts EAL, serves until
// SIGINT or SIGTERM, then releases everything and exits 0.
#include <ringcast/control/appliance.hpp>
#include <ringcast/control/telemetry.hpp>
#include <ringcast/core/config.hpp>
#include <ringcast/core/config_command.hpp>
#include <ringcast/core/eal_args.hpp>

#include <rte_eal.h>
#include <rte_errno.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr const char* usage = R"(Usage: ringcastd -c FILE.toml [--check]

Options:
  -c, --config FILE   configuration (TOML); see config/*.toml for every key
      --check         validate the configuration and exit (0: valid, 1: errors)
  -h, --help          show this help

Signals: SIGINT and SIGTERM stop the appliance; it exits 0. SIGHUP reloads
[[identity]], rcp.require_auth, rcp.err_per_s, rcp.err_global_per_s and
limits.source_*; a file with errors, or other changes, is refused and the
running config stays.
Telemetry: dpdk-telemetry.py -f FILE_PREFIX, or ringcast stats -f FILE_PREFIX.
)";

std::atomic<bool> g_quit{false};
std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) {
    g_quit.store(true, std::memory_order_relaxed);
}

void on_hangup(int) {
    g_reload.store(true, std::memory_order_relaxed);
}

// A port on a real NIC (not a vdev over a kernel interface) with nobody
// asked for a token: anyone on that network may subscribe and publish.
void warn_if_open(const ringcast::config& cfg) {
    if (cfg.rcp.require_auth) {
        return;
    }
    for (const auto& p : cfg.ports) {
        if (!p.device.starts_with("net_")) {
            std::fprintf(stderr,
                         "ringcastd: warning: port %s is a NIC and rcp.require_auth is off: any host that reaches "
                         "it may subscribe and publish; add [[identity]] tables and set require_auth = true\n",
                         p.device.c_str());
        }
    }
}

int serve(const ringcast::config& cfg) {
    const auto args = ringcast::build_eal_args(cfg, ringcast::hugepages_usable(cfg.eal.memory_mb));
    std::string line;
    std::vector<char*> argv;
    for (const auto& a : args) {
        line += " " + a;
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    std::fprintf(stderr, "ringcastd: EAL%s\n", line.c_str());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        std::fprintf(stderr, "ringcastd: rte_eal_init: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    struct sigaction hup {};
    hup.sa_handler = on_hangup;
    sigaction(SIGHUP, &hup, nullptr);
    warn_if_open(cfg);
    int rc = 0;
    try {
        ringcast::appliance app(cfg);
        if (cfg.debug.inject_loss_ppm != 0) {
            std::fprintf(stderr, "ringcastd: warning: debug.inject_loss drops %u of every million deliveries\n",
                         cfg.debug.inject_loss_ppm);
        }
        ringcast::attach_telemetry(&app);
        app.run(g_quit, &g_reload);
        ringcast::attach_telemetry(nullptr);
        if (app.shutdown() != 0) {
            rc = 1; // a leak: the tests watch this exit status
        }
    } catch (const std::exception& e) {
        ringcast::attach_telemetry(nullptr);
        std::fprintf(stderr, "ringcastd: %s\n", e.what());
        rc = 1;
    }
    rte_eal_cleanup();
    if (rc == 0) {
        std::fprintf(stderr, "ringcastd: stopped\n");
    }
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    ringcast::config_command cmd;
    if (const auto stop = ringcast::parse_config_command("ringcastd", argc, argv, usage, cmd)) {
        return *stop;
    }
    const auto loaded = ringcast::load_config(cmd.path);
    if (const auto stop = ringcast::finish_config_check(cmd, loaded.errors)) {
        return *stop;
    }
    try {
        return serve(loaded.cfg);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringcastd: %s\n", e.what());
        return 1;
    }
}
