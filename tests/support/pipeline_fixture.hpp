// The whole data plane, stepped by hand: an appliance on a net_ring port
// whose RX and TX rings the test holds. Packets go in as bytes built here,
// replies and deliveries come out as mbufs the test reads and frees. Shared
// by the EAL tests that drive the pipeline.
#pragma once

#include <ringcast/control/appliance.hpp>
#include <ringcast/core/wire.hpp>

#include <gtest/gtest.h>

#include <eal_env.hpp>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ringcast::testing {

inline constexpr uint32_t app_ip = 0xC0000201;    // 192.0.2.1
inline constexpr uint32_t client_ip = 0xC0000202; // 192.0.2.2
inline const mac_addr client_mac{0x02, 0, 0, 0, 0, 0x02};
inline rte_mempool* g_input = nullptr; // mbufs the test injects

// Independent of the code under test: RFC 1071 over a byte vector.
inline uint16_t csum(const std::vector<uint8_t>& b, size_t off, size_t len) {
    uint32_t acc = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        acc += (b[off + i] << 8) | b[off + i + 1];
    }
    if (len % 2) {
        acc += b[off + len - 1] << 8;
    }
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return static_cast<uint16_t>(~acc);
}

inline void put16(std::vector<uint8_t>& b, size_t off, uint16_t v) {
    b[off] = uint8_t(v >> 8);
    b[off + 1] = uint8_t(v);
}

inline void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
    put16(b, off, uint16_t(v >> 16));
    put16(b, off + 2, uint16_t(v));
}

inline std::vector<uint8_t> rcp(uint8_t op_code, std::string_view topic, std::string_view payload, uint64_t seq,
                         uint8_t fl = 0) {
    std::vector<uint8_t> f(16 + topic.size() + payload.size());
    f[0] = 0xC5;
    f[1] = uint8_t(0x10 | op_code);
    f[2] = fl;
    f[3] = uint8_t(topic.size());
    put32(f, 4, uint32_t(payload.size()));
    put32(f, 8, uint32_t(seq >> 32));
    put32(f, 12, uint32_t(seq));
    std::memcpy(f.data() + 16, topic.data(), topic.size());
    std::memcpy(f.data() + 16 + topic.size(), payload.data(), payload.size());
    return f;
}

inline std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline std::vector<uint8_t> udp_packet(const mac_addr& dst_mac, uint16_t src_port, const std::vector<uint8_t>& data,
                                uint16_t dst_port = 7700) {
    std::vector<uint8_t> b(42 + data.size());
    std::memcpy(b.data(), dst_mac.data(), 6);
    std::memcpy(b.data() + 6, client_mac.data(), 6);
    put16(b, 12, 0x0800);
    b[14] = 0x45;
    put16(b, 16, uint16_t(28 + data.size()));
    b[22] = 64;
    b[23] = 17;
    put32(b, 26, client_ip);
    put32(b, 30, app_ip);
    put16(b, 24, csum(b, 14, 20));
    put16(b, 34, src_port);
    put16(b, 36, dst_port);
    put16(b, 38, uint16_t(8 + data.size()));
    std::memcpy(b.data() + 42, data.data(), data.size()); // UDP checksum 0: none
    return b;
}

struct out_frame {
    uint16_t dst_port;
    uint8_t op;
    uint8_t flags;
    uint64_t seq;
    std::string topic;
    std::string payload;
    uint16_t segs;
    const void* frame_addr; // where the RCP frame bytes live
    uint32_t packet;        // which packet of the drain it came in (frames of one datagram share it)
};

class pipeline : public ::testing::Test {
protected:
    // `tune` adjusts the configuration before the appliance starts.
    void start(std::vector<uint32_t> workers, uint16_t n_tx, uint32_t ring_size = 64,
               const std::function<void(config&)>& tune = {}) {
        static int n = 0;
        const std::string name = "rc_ring" + std::to_string(n++);
        _rx = rte_ring_create((name + "_rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        for (uint16_t q = 0; q < n_tx; ++q) {
            _tx.push_back(rte_ring_create((name + "_tx" + std::to_string(q)).c_str(), 4096, 0,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ));
        }
        const int port_id = rte_eth_from_rings(name.c_str(), &_rx, 1, _tx.data(), n_tx, 0);
        ASSERT_GE(port_id, 0);
        std::array<char, RTE_ETH_NAME_MAX_LEN> dev_name{};
        ASSERT_EQ(rte_eth_dev_get_name_by_port(uint16_t(port_id), dev_name.data()), 0);
        config cfg;
        cfg.lcores.io = {0};
        cfg.lcores.worker = std::move(workers);
        cfg.ports.push_back(port_config{.device = dev_name.data(), .ipv4 = app_ip});
        cfg.mempool = mempool_config{.mbufs = 2047, .cache = 0, .headers = 2047, .indirect = 1023};
        cfg.rings.size = ring_size;
        cfg.rcp.err_per_s = 1000;
        cfg.limits.topics = 1024;
        // The pre-coalescing wire unless a test asks: one frame per
        // datagram, each by reference (tests of coalescing tune these).
        cfg.tx.coalesce = false;
        cfg.tx.copy_below = 0;
        if (tune) {
            tune(cfg);
        }
        _app = std::make_unique<appliance>(cfg);
        _mac = _app->ports()[0].id.mac;
        for (rte_mempool* mp : _app->pools()) {
            _baseline[mp] = rte_mempool_in_use_count(mp);
        }
    }

    void TearDown() override {
        drain();
        _app.reset();
        rte_ring_free(_rx);
        for (rte_ring* r : _tx) {
            rte_ring_free(r);
        }
    }

    void inject(const std::vector<uint8_t>& pkt) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_input);
        ASSERT_NE(m, nullptr);
        std::memcpy(rte_pktmbuf_append(m, uint16_t(pkt.size())), pkt.data(), pkt.size());
        ASSERT_EQ(rte_ring_enqueue(_rx, m), 0);
    }

    void send(uint16_t src_port, const std::vector<uint8_t>& data) {
        inject(udp_packet(_mac, src_port, data));
    }

    void step(int times = 2, uint64_t now = 0) {
        for (int i = 0; i < times; ++i) {
            for (const auto& lc : _app->lcores()) {
                poll_once(*lc, now, false);
            }
        }
    }

    // Housekeeping at `now` until every worker's idle sweep went round its
    // whole topic table once.
    void housekeeping_at(uint64_t now) {
        for (uint32_t i = 0; i <= _app->cfg().limits.topics / 256 + 1; ++i) {
            for (const auto& lc : _app->lcores()) {
                poll_once(*lc, now, true);
            }
        }
    }

    // Every packet sent since the last call, decoded frame by frame; the
    // mbufs are freed here, as TX would.
    std::vector<out_frame> drain() {
        std::vector<out_frame> out;
        uint32_t packet = 0;
        for (rte_ring* r : _tx) {
            void* obj = nullptr;
            while (rte_ring_dequeue(r, &obj) == 0) {
                auto* m = static_cast<rte_mbuf*>(obj);
                std::vector<uint8_t> b(rte_pktmbuf_pkt_len(m));
                // Returns a pointer into the mbuf when the bytes are contiguous, else copies into b.
                const void* bytes = rte_pktmbuf_read(m, 0, uint32_t(b.size()), b.data());
                if (bytes != b.data()) {
                    std::memcpy(b.data(), bytes, b.size());
                }
                const rte_mbuf* last = m;
                while (last->next != nullptr) {
                    last = last->next;
                }
                const auto* frame_addr = m->nb_segs > 1 ? rte_pktmbuf_mtod(last, const uint8_t*)
                                                        : rte_pktmbuf_mtod(m, const uint8_t*) + 42;
                if (b.size() >= 42 && b[12] == 0x08 && b[13] == 0x00 && b[23] == 17) {
                    EXPECT_EQ(csum(b, 14, 20), 0) << "IPv4 header checksum";
                    const uint16_t dport = uint16_t(b[36] << 8 | b[37]);
                    std::span<const std::byte> d{reinterpret_cast<const std::byte*>(b.data()) + 42,
                                                 b.size() - 42};
                    for (size_t off = 0; off < d.size();) {
                        const auto r = parse_frame(d, off);
                        EXPECT_EQ(r.status, parse_status::ok);
                        if (r.status != parse_status::ok) {
                            break;
                        }
                        out.push_back(
                            out_frame{dport, uint8_t(r.frame.code), r.frame.flags, r.frame.seq,
                                      std::string(r.frame.topic_str()),
                                      std::string(reinterpret_cast<const char*>(r.frame.payload.data()),
                                                  r.frame.payload.size()),
                                      m->nb_segs, frame_addr + off, packet});
                        off += r.frame.size;
                    }
                } else {
                    out.push_back(
                        out_frame{0, 0, 0, 0, {}, std::string(b.begin(), b.end()), m->nb_segs, nullptr, packet});
                }
                ++packet;
                rte_pktmbuf_free(m);
            }
        }
        return out;
    }

    uint64_t stat_of(metric s) const {
        uint64_t n = 0;
        for (const auto& lc : _app->lcores()) {
            n += lc->counters.get(s);
        }
        return n;
    }
    uint64_t drop_of(drop d) const {
        uint64_t n = 0;
        for (const auto& lc : _app->lcores()) {
            n += lc->counters.get(d);
        }
        return n;
    }

    void expect_pools_at_baseline() {
        for (rte_mempool* mp : _app->pools()) {
            EXPECT_EQ(rte_mempool_in_use_count(mp), _baseline[mp]) << mp->name;
        }
        EXPECT_EQ(rte_mempool_in_use_count(g_input), 0u);
    }

    void subscribe(uint16_t port, std::string_view topic, uint64_t seq = 1) {
        send(port, rcp(2, topic, "", seq));
        step();
        const auto out = drain();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].op, uint8_t(op::ack));
        EXPECT_EQ(out[0].seq, seq);
        EXPECT_EQ(out[0].dst_port, port);
    }

    rte_ring* _rx = nullptr;
    std::vector<rte_ring*> _tx;
    std::unique_ptr<appliance> _app;
    mac_addr _mac{};
    std::map<rte_mempool*, unsigned> _baseline;
};

// main() of a pipeline test program: EAL with two lcores mapped onto CPU 0
// (so it runs on one-core machines too), the test's input pool, the tests.
inline int run_pipeline_tests(int argc, char** argv, const char* name) {
    ::testing::InitGoogleTest(&argc, argv);
    const ringcast::test_support::eal_env eal(name, "256", "0@0,1@0");
    if (!eal.ok()) {
        return 1;
    }
    g_input = rte_pktmbuf_pool_create("test_input", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    const int rc = RUN_ALL_TESTS();
    rte_mempool_free(g_input);
    return rc;
}

} // namespace ringcast::testing
