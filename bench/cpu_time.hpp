// CPU time for the drivers' results: a broker's (by pid) and the driver's own.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ringcast::bench {

// The process's CPU time so far (all its threads), from /proc/PID/stat.
inline double process_cpu_s(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    // The command name (field 2) may hold spaces: count fields after its ')'.
    const size_t close = stat.rfind(')');
    if (!in || close == std::string::npos) {
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/stat");
    }
    std::istringstream fields(stat.substr(close + 2));
    std::string f;
    uint64_t utime = 0;
    uint64_t stime = 0;
    for (int field = 3; field <= 15 && fields >> f; ++field) {
        if (field == 14) {
            utime = std::stoull(f);
        } else if (field == 15) {
            stime = std::stoull(f);
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline double own_cpu_s() noexcept {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

} // namespace ringcast::bench
