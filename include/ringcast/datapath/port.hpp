// The ports the loops poll and transmit on: what each looks like to them,
// and opening and closing it (start-up and shutdown only, main lcore).
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/core/net.hpp>

#include <cstdint>
#include <string>

struct rte_mempool;

namespace ringcast {

// What a port looks like to the loops; read-only after start-up.
struct port_info {
    uint16_t port_id = 0; // DPDK's
    std::string name;
    std::string driver;
    unsigned if_index = 0; // kernel interface under a vdev, 0 when none
    port_identity id;
    bool multi_seg_tx = false;    // chained header + payload accepted by TX
    uint16_t tx_max_segments = 1; // mbufs one packet may have (tx_desc_lim.nb_mtu_seg_max), 1 without multi-seg
    rte_mempool* rx_pool = nullptr;
    uint16_t rx_queues = 0; // io lcore i polls the queues q with q % io lcores == i
};

// Finds the device, configures at least n_rx RX queues (all of an
// af_packet device's qpairs; port_info::rx_queues says how many) and n_tx TX
// queues (multi-segment TX when the device offers it), starts it. Throws std::runtime_error naming the
// failing call and value, e.g. "rte_eth_dev_configure(port 0): -22".
[[nodiscard]] port_info open_port(const port_config& cfg, uint16_t udp_port, uint16_t n_rx, uint16_t n_tx,
                                  rte_mempool* rx_pool);

// Stops and closes; never throws.
void close_port(const port_info& port) noexcept;

} // namespace ringcast
