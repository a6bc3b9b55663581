// What peer_driver and mqtt_driver share: the clock, numbers from the
// command line, and CPU time for their results (a broker's by pid, their own).
#pragma once

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ringcast::bench {

inline uint64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

template <class T> bool to_number(std::string_view text, T& v) noexcept {
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    return r.ec == std::errc{} && r.ptr == text.data() + text.size();
}

// A number on the command line: a usage error when it is not one.
template <class T> T parse_number(std::string_view what, std::string_view text) {
    T v{};
    if (!to_number(text, v)) {
        throw std::invalid_argument(std::string(what) + ": not a number: '" + std::string(text) + "'");
    }
    return v;
}

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
