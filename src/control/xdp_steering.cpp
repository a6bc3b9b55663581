#include <ringcast/control/xdp_steering.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ringcast {

namespace {

// Must match struct rc_config in bpf/xdp_steer.c (network byte order).
struct rc_config {
    uint32_t ipv4;
    uint16_t udp_port;
    uint16_t tcp_port;
};
static_assert(sizeof(rc_config) == 8);

constexpr uint32_t stat_redirected = 0;
constexpr uint32_t stat_passed = 1;

[[noreturn]] void fail(const std::string& call, int rc) {
    throw std::runtime_error(call + ": " + std::to_string(rc) + " (" + std::strerror(rc < 0 ? -rc : errno) + ")");
}

// An fd closed when it goes out of scope unless released.
struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0) {
            close(fd);
        }
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

} // namespace

std::unique_ptr<xdp_steering> xdp_steering::find(unsigned ifindex) {
    uint32_t prog_id = 0;
    if (int rc = bpf_xdp_query_id(static_cast<int>(ifindex), 0, &prog_id); rc != 0) {
        fail("bpf_xdp_query_id(ifindex " + std::to_string(ifindex) + ")", rc);
    }
    if (prog_id == 0) {
        return nullptr;
    }
    fd_guard prog{bpf_prog_get_fd_by_id(prog_id)};
    if (prog.fd < 0) {
        fail("bpf_prog_get_fd_by_id(" + std::to_string(prog_id) + ")", -errno);
    }
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (int rc = bpf_obj_get_info_by_fd(prog.fd, &info, &len); rc != 0) {
        fail("bpf_obj_get_info_by_fd(prog " + std::to_string(prog_id) + ")", rc);
    }
    std::vector<uint32_t> map_ids(info.nr_map_ids);
    info = bpf_prog_info{};
    info.nr_map_ids = static_cast<uint32_t>(map_ids.size());
    info.map_ids = reinterpret_cast<uintptr_t>(map_ids.data());
    len = sizeof(info);
    if (int rc = bpf_obj_get_info_by_fd(prog.fd, &info, &len); rc != 0) {
        fail("bpf_obj_get_info_by_fd(prog " + std::to_string(prog_id) + " maps)", rc);
    }
    fd_guard config;
    fd_guard stats;
    for (uint32_t id : map_ids) {
        fd_guard map{bpf_map_get_fd_by_id(id)};
        if (map.fd < 0) {
            continue;
        }
        bpf_map_info m{};
        uint32_t mlen = sizeof(m);
        if (bpf_obj_get_info_by_fd(map.fd, &m, &mlen) != 0) {
            continue;
        }
        if (std::strcmp(m.name, "rc_config") == 0 && m.value_size == sizeof(rc_config)) {
            config.fd = map.release();
        } else if (std::strcmp(m.name, "rc_stats") == 0 && m.value_size == sizeof(uint64_t)) {
            stats.fd = map.release();
        }
    }
    if (config.fd < 0 || stats.fd < 0) {
        return nullptr;
    }
    return std::unique_ptr<xdp_steering>(new xdp_steering(prog_id, config.release(), stats.release()));
}

xdp_steering::~xdp_steering() {
    close(_config_fd);
    close(_stats_fd);
}

void xdp_steering::configure(uint32_t ipv4, uint16_t udp_port, uint16_t tcp_port) {
    const rc_config c{htonl(ipv4), htons(udp_port), htons(tcp_port)};
    const uint32_t key = 0;
    if (int rc = bpf_map_update_elem(_config_fd, &key, &c, BPF_ANY); rc != 0) {
        fail("bpf_map_update_elem(rc_config)", rc);
    }
}

xdp_counts xdp_steering::counts() const noexcept {
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        return {};
    }
    std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
    auto sum = [&](uint32_t key) {
        uint64_t total = 0;
        if (bpf_map_lookup_elem(_stats_fd, &key, per_cpu.data()) == 0) {
            for (uint64_t v : per_cpu) {
                total += v;
            }
        }
        return total;
    };
    return {sum(stat_redirected), sum(stat_passed)};
}

} // namespace ringcast
