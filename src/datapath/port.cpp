#include <ringcast/datapath/port.hpp>

#include <rte_ethdev.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ringcast {

namespace {

void check(int rc, const char* call, uint16_t port_id) {
    if (rc < 0) {
        throw std::runtime_error(std::string(call) + "(port " + std::to_string(port_id) +
                                 "): " + std::to_string(rc) + " (" + std::strerror(-rc) + ")");
    }
}

} // namespace

port_info open_port(const port_config& cfg, uint16_t udp_port, uint16_t n_rx, uint16_t n_tx,
                    rte_mempool* rx_pool) {
    port_info p;
    p.name = cfg.device;
    if (rte_eth_dev_get_port_by_name(cfg.device.c_str(), &p.port_id) != 0) {
        throw std::runtime_error(
            "port " + cfg.device +
            ": no such ethdev (is it in eal.vdevs or eal.allow, and bound to a DPDK driver?)");
    }
    rte_eth_dev_info info{};
    check(rte_eth_dev_info_get(p.port_id, &info), "rte_eth_dev_info_get", p.port_id);
    // net_af_packet fans the kernel's packets out over all of its qpairs
    // whatever we configure, so every one of them must be set up and polled.
    if (std::strcmp(info.driver_name, "net_af_packet") == 0) {
        n_rx = std::max(n_rx, info.max_rx_queues);
    }
    if (info.max_rx_queues < n_rx || info.max_tx_queues < n_tx) {
        throw std::runtime_error(
            "port " + cfg.device + ": needs " + std::to_string(n_rx) + " RX and " + std::to_string(n_tx) +
            " TX queues (one RX per io lcore, one TX per lcore), has " + std::to_string(info.max_rx_queues) +
            "/" + std::to_string(info.max_tx_queues) + " (net_af_packet: raise qpairs= in the vdev)");
    }
    rte_eth_conf conf{};
    // Several RX queues: spread flows by RSS over IPv4/UDP, so every io lcore
    // gets a share and each source stays on one queue (per-source order).
    if (n_rx > 1 && (info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP)) != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    }
    p.multi_seg_tx = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    p.tx_max_segments = p.multi_seg_tx ? std::max<uint16_t>(info.tx_desc_lim.nb_mtu_seg_max, 1) : 1;
    if (p.multi_seg_tx) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    check(rte_eth_dev_configure(p.port_id, n_rx, n_tx, &conf), "rte_eth_dev_configure", p.port_id);
    uint16_t rx_desc = cfg.rx_desc;
    uint16_t tx_desc = cfg.tx_desc;
    check(rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &rx_desc, &tx_desc), "rte_eth_dev_adjust_nb_rx_tx_desc",
          p.port_id);
    const int socket = rte_eth_dev_socket_id(p.port_id);
    const auto sock = static_cast<unsigned>(socket < 0 ? 0 : socket);
    for (uint16_t q = 0; q < n_rx; ++q) {
        check(rte_eth_rx_queue_setup(p.port_id, q, rx_desc, sock, nullptr, rx_pool), "rte_eth_rx_queue_setup",
              p.port_id);
    }
    for (uint16_t q = 0; q < n_tx; ++q) {
        rte_eth_txconf txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        check(rte_eth_tx_queue_setup(p.port_id, q, tx_desc, sock, &txconf), "rte_eth_tx_queue_setup",
              p.port_id);
    }
    check(rte_eth_dev_start(p.port_id), "rte_eth_dev_start", p.port_id);
    rte_ether_addr mac{};
    check(rte_eth_macaddr_get(p.port_id, &mac), "rte_eth_macaddr_get", p.port_id);
    std::memcpy(p.id.mac.data(), mac.addr_bytes, p.id.mac.size());
    p.id.ipv4 = cfg.ipv4;
    p.id.udp_port = udp_port;
    p.id.verify_udp_checksum = cfg.verify_udp_checksum;
    p.rx_pool = rx_pool;
    p.rx_queues = n_rx;
    p.driver = info.driver_name;
    p.if_index = info.if_index;
    return p;
}

void close_port(const port_info& port) noexcept {
    (void)rte_eth_dev_stop(port.port_id);
    (void)rte_eth_dev_close(port.port_id);
}

} // namespace ringcast
