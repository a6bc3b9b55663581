// ringcastd's side of the XDP steering program (bpf/xdp_steer.c) on an
// AF_XDP port: the af_xdp PMD loads and attaches the program (vdev devarg
// xdp_prog=); this finds it on the interface, writes the steering rule into
// its rc_config map and reads its per-CPU rc_stats counters through libbpf.
// Main lcore and telemetry thread only: every call is a bpf() syscall.
#pragma once

#include <cstdint>
#include <memory>

namespace ringcast {

struct xdp_counts {
    uint64_t redirected = 0; // to the appliance's AF_XDP socket
    uint64_t passed = 0;     // to the kernel
};

class xdp_steering {
public:
    // Finds the program attached to `ifindex`. Returns null when none is,
    // or when it is not ours (no rc_config/rc_stats maps: the PMD's default
    // program, which redirects everything). Throws std::runtime_error naming
    // the failing call when libbpf refuses.
    [[nodiscard]] static std::unique_ptr<xdp_steering> find(unsigned ifindex);

    ~xdp_steering();
    xdp_steering(const xdp_steering&) = delete;
    xdp_steering& operator=(const xdp_steering&) = delete;

    // Steers ARP for `ipv4`, and ICMP, UDP to `udp_port` and TCP to
    // `tcp_port` (0: none) sent to `ipv4`, to the socket. Host byte order.
    void configure(uint32_t ipv4, uint16_t udp_port, uint16_t tcp_port);

    // Sums the per-CPU counters; zeros when the maps cannot be read.
    [[nodiscard]] xdp_counts counts() const noexcept;

    [[nodiscard]] uint32_t prog_id() const noexcept { return _prog_id; }

private:
    xdp_steering(uint32_t prog_id, int config_fd, int stats_fd) noexcept
        : _prog_id(prog_id), _config_fd(config_fd), _stats_fd(stats_fd) {}

    uint32_t _prog_id;
    int _config_fd;
    int _stats_fd;
};

} // namespace ringcast
