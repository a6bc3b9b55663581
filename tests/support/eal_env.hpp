// EAL for a test or benchmark program: no hugepages, no PCI, no shared
// config, no telemetry, quiet, and a private file prefix whose runtime
// directory goes away with the object, so a run leaves nothing behind.
#pragma once

#include <rte_eal.h>
#include <rte_errno.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::test_support {

class eal_env {
public:
    // `lcores`: an EAL --lcores map such as "0@0,1@0".
    eal_env(std::string_view name, std::string_view memory_mb, std::string_view lcores) {
        std::vector<std::string> args = {std::string(name),
                                         "--no-huge",
                                         "-m",
                                         std::string(memory_mb),
                                         "--no-pci",
                                         "--no-shconf",
                                         "--no-telemetry",
                                         "--log-level=4",
                                         "--lcores=" + std::string(lcores),
                                         "--file-prefix=rc_" + std::string(name) + "_" +
                                             std::to_string(getpid())};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        _ok = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
        if (!_ok) {
            std::fprintf(stderr, "%s: rte_eal_init: %s\n", args[0].c_str(), rte_strerror(rte_errno));
        }
    }
    ~eal_env() {
        if (_ok) {
            const std::string runtime_dir = rte_eal_get_runtime_dir();
            rte_eal_cleanup();
            std::filesystem::remove_all(runtime_dir);
        }
    }
    eal_env(const eal_env&) = delete;
    eal_env& operator=(const eal_env&) = delete;

    [[nodiscard]] bool ok() const noexcept { return _ok; }

private:
    bool _ok = false;
};

} // namespace ringcast::test_support
