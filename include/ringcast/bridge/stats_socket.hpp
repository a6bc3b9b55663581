// ringcast-bridge's counters on a UNIX socket that speaks DPDK telemetry's
// protocol (SOCK_SEQPACKET; a JSON greeting on connect, then one JSON reply
// per command), so dpdk-telemetry.py and scripts/ringcast-exporter.py read
// it as they read ringcastd's. Commands: "/", "/info", "/bridge/stats".
// One thread of its own; `stats` is called on it and must be safe there.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace ringcast {

class stats_socket {
public:
    // Binds `path` (an old socket file there is replaced) and starts
    // serving. `stats` returns the JSON object /bridge/stats answers. Throws
    // std::system_error naming the call that failed.
    stats_socket(std::string path, std::function<std::string()> stats);
    ~stats_socket(); // stops the thread and removes the socket file
    stats_socket(const stats_socket&) = delete;
    stats_socket& operator=(const stats_socket&) = delete;

private:
    void serve();
    void answer(int fd);

    std::string _path;
    std::function<std::string()> _stats;
    int _listen = -1;
    int _stop_fd = -1;
    std::thread _thread;
};

} // namespace ringcast
