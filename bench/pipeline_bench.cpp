// The whole data plane on one lcore, as the appliance runs it but stepped by
// hand: an appliance on a net_ring port whose rings this program holds. Each
// iteration puts a burst of PUB datagrams on the RX ring, runs poll_once
// (io, worker, TX flush) and frees what came out on the TX ring, as a NIC
// would. So the figure is the appliance's own cost per message, with no load
// generator, no vdev copy and no second core in it: ns per message at 1 -> 1,
// 1 -> 10 and 1 -> 100, and with 8 PUB frames per datagram, under the
// default [tx] (coalescing on).
// Run: taskset -c 1 build/bench/pipeline_bench --benchmark_min_time=0.2
// Instructions, repeatable on a noisy machine:
//   valgrind --tool=callgrind --toggle-collect='ringcast::poll_once*' build/bench/pipeline_bench
#include <ringcast/control/appliance.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/wire.hpp>

#include <benchmark/benchmark.h>

#include <eal_env.hpp>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

constexpr uint32_t app_ip = 0xC0000201;    // 192.0.2.1
constexpr uint32_t client_ip = 0xC0000202; // 192.0.2.2
const mac_addr client_mac{0x02, 0, 0, 0, 0, 0x02};
constexpr uint16_t publisher_port = 4000;
constexpr uint16_t first_subscriber = 5000;
constexpr unsigned ring_slots = 8192;

rte_mempool* g_input = nullptr; // what the bench puts on the RX ring

// One appliance on a fresh net_ring port, its subscribers in place.
class bed {
public:
    explicit bed(uint32_t subscribers) {
        static int n = 0;
        const std::string name = "pb" + std::to_string(n++);
        _rx = rte_ring_create((name + "_rx").c_str(), ring_slots, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        _tx = rte_ring_create((name + "_tx").c_str(), ring_slots, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        const int port_id = rte_eth_from_rings(name.c_str(), &_rx, 1, &_tx, 1, 0);
        std::array<char, RTE_ETH_NAME_MAX_LEN> dev{};
        if (port_id < 0 || rte_eth_dev_get_name_by_port(uint16_t(port_id), dev.data()) != 0) {
            throw std::runtime_error("rte_eth_from_rings failed");
        }
        config cfg;
        cfg.lcores.io = {0};
        cfg.lcores.worker = {0};
        cfg.ports.push_back(port_config{.device = dev.data(), .ipv4 = app_ip});
        cfg.mempool = mempool_config{.mbufs = 4095, .cache = 256, .headers = 16383, .indirect = 4095};
        cfg.rcp.err_per_s = 0;
        _app = std::make_unique<appliance>(cfg);
        _mac = _app->ports()[0].id.mac;
        for (uint32_t s = 0; s < subscribers; ++s) {
            std::vector<std::byte> f(frame_size(5, 0));
            (void)write_frame(f, op::sub, 0, s + 1, as_bytes("bench"), {});
            inject(packet(static_cast<uint16_t>(first_subscriber + s), f));
            if (s % 32 == 31) {
                step();
            }
        }
        step();
    }
    ~bed() {
        _app.reset();
        drain();
        rte_ring_free(_rx);
        rte_ring_free(_tx);
    }

    // A UDP datagram from client_ip:src_port to the appliance.
    [[nodiscard]] std::vector<std::byte> packet(uint16_t src_port, std::span<const std::byte> data) const {
        std::vector<std::byte> p(l2l4_len + data.size());
        write_udp_headers(p, client_mac, _mac, client_ip, app_ip, src_port, 7700,
                          static_cast<uint16_t>(data.size()));
        std::memcpy(p.data() + l2l4_len, data.data(), data.size());
        return p;
    }
    static constexpr unsigned burst = 32;
    // A burst of copies of `pkt` onto the RX ring.
    bool inject_burst(const std::vector<std::byte>& pkt) {
        std::array<rte_mbuf*, burst> in;
        if (rte_pktmbuf_alloc_bulk(g_input, in.data(), burst) != 0) {
            return false;
        }
        for (rte_mbuf* m : in) {
            std::memcpy(rte_pktmbuf_append(m, uint16_t(pkt.size())), pkt.data(), pkt.size());
        }
        return rte_ring_enqueue_bulk(_rx, reinterpret_cast<void* const*>(in.data()), burst, nullptr) == burst;
    }
    void inject(const std::vector<std::byte>& pkt) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_input);
        std::memcpy(rte_pktmbuf_append(m, uint16_t(pkt.size())), pkt.data(), pkt.size());
        (void)rte_ring_enqueue(_rx, m);
    }
    // One pass of the loop, then the TX ring emptied; returns packets sent.
    unsigned step() {
        poll_once(_app->lcore(0), rte_rdtsc(), false);
        return drain();
    }
    unsigned drain() {
        std::array<void*, 256> out;
        unsigned total = 0;
        for (unsigned n; (n = rte_ring_dequeue_burst(_tx, out.data(), out.size(), nullptr)) != 0;) {
            rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(out.data()), n);
            total += n;
        }
        return total;
    }
    [[nodiscard]] uint64_t drops() const {
        uint64_t n = 0;
        for (size_t i = 0; i < drop_count; ++i) {
            n += _app->lcore(0).counters.drops[i].get();
        }
        return n;
    }

private:
    rte_ring* _rx = nullptr;
    rte_ring* _tx = nullptr;
    std::unique_ptr<appliance> _app;
    mac_addr _mac{};
};

// Bursts of 32 datagrams of `frames` PUBs each, to `subscribers`
// subscribers of one topic. The time includes filling the input mbufs (a
// NIC's work, a memcpy of the datagram each) and freeing the output.
void pub_burst(benchmark::State& state, uint32_t subscribers, uint32_t frames) {
    bed b(subscribers);
    std::vector<std::byte> dgram;
    const std::vector<std::byte> payload(64, std::byte{'x'});
    for (uint32_t f = 0; f < frames; ++f) {
        std::vector<std::byte> one(frame_size(5, payload.size()));
        (void)write_frame(one, op::pub, 0, f + 1, as_bytes("bench"), payload);
        dgram.insert(dgram.end(), one.begin(), one.end());
    }
    const std::vector<std::byte> pkt = b.packet(publisher_port, dgram);
    uint64_t out = 0;
    for (auto _ : state) {
        if (!b.inject_burst(pkt)) {
            state.SkipWithError("input pool empty");
            break;
        }
        out += b.step();
    }
    const uint64_t msgs = state.iterations() * bed::burst * frames;
    state.SetItemsProcessed(static_cast<int64_t>(msgs));
    state.counters["packets_per_msg"] = msgs == 0 ? 0 : double(out) / double(msgs);
    state.counters["drops"] = double(b.drops());
}

} // namespace

BENCHMARK_CAPTURE(pub_burst, 1to1, 1, 1);
BENCHMARK_CAPTURE(pub_burst, 1to10, 10, 1);
BENCHMARK_CAPTURE(pub_burst, 1to100, 100, 1);
BENCHMARK_CAPTURE(pub_burst, 1to1_8_per_datagram, 1, 8);
BENCHMARK_CAPTURE(pub_burst, 1to10_8_per_datagram, 10, 8);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const test_support::eal_env eal("pipeline_bench", "512", "0@0");
    if (!eal.ok()) {
        return 1;
    }
    g_input = rte_pktmbuf_pool_create("pb_input", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (g_input == nullptr) {
        std::fprintf(stderr, "pipeline_bench: input pool: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    rte_mempool_free(g_input);
    return 0;
}
