// Opening and closing ethdev ports. Start-up and shutdown only, main lcore.
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/datapath/tx.hpp>

#include <cstdint>

namespace ringcast {

// Finds the device, configures at least n_rx RX queues (all of an
// af_packet device's qpairs; port_info::rx_queues says how many) and n_tx TX
// queues (multi-segment TX when the device offers it), starts it. Throws std::runtime_error naming the
// failing call and value, e.g. "rte_eth_dev_configure(port 0): -22".
[[nodiscard]] port_info open_port(const port_config& cfg, uint16_t udp_port, uint16_t n_rx, uint16_t n_tx,
                                  rte_mempool* rx_pool);

// Stops and closes; never throws.
void close_port(const port_info& port) noexcept;

} // namespace ringcast
