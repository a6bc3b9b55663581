// What a delivery costs the worker, build and free (a TX would pay that free
// once the NIC is done, so build+free is the cost a delivery really has):
// - fan_out_refcount / fan_out_copy: build_deliveries, one frame per
//   datagram, a chained header mbuf per subscriber with one refcount update
//   (ports with multi-segment TX) against a full copy (ports without);
// - coalesced_copy / coalesced_ref: build_datagram, one datagram of several
//   frames to one subscriber, the frames copied into it against each riding
//   by reference (an indirect mbuf per frame): where they cross is the
//   default of tx.copy_below;
// - replay_retained: a topic's retained messages replayed to one subscriber
//   in coalesced datagrams, each frame flagged REPLAYED in a copied header.
// Run: taskset -c 1 build/bench/fanout_bench --benchmark_min_time=0.1
#include <ringcast/core/retention.hpp>
#include <ringcast/core/settings.hpp>
#include <ringcast/datapath/fanout.hpp>

#include <benchmark/benchmark.h>

#include <eal_env.hpp>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <sched.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace ringcast;

namespace {

// The largest frame measured; the copy pool also needs room for the 42-byte
// L2-L4 header in front of it.
constexpr uint16_t max_frame = 8192;
// The daemon's defaults (config.hpp mempool_config, appliance.cpp): a 256-mbuf
// per-lcore cache and 512 bytes of header data room.
constexpr unsigned pool_cache = 256;
constexpr uint16_t header_data_room = 512;
constexpr unsigned pool_mbufs = 2047;
constexpr uint16_t max_targets = 32;

rte_mempool* g_frames = nullptr;  // the shared frame, any size
rte_mempool* g_copies = nullptr;  // the copy fallback's mbufs (port.rx_pool)
rte_mempool* g_headers = nullptr; // fan-out headers
rte_mempool* g_indirect = nullptr; // replay views
rte_mempool* g_retained = nullptr; // retained frames
constexpr unsigned retained_frames = 1023;

// A received MSG frame trimmed as the io lcore leaves it: `len` bytes of
// frame (header, topic and payload together) in one segment.
rte_mbuf* make_frame(uint16_t len) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_frames);
    if (m == nullptr) {
        return nullptr;
    }
    char* p = rte_pktmbuf_append(m, len);
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memset(p, 'x', len);
    return m;
}

// The appliance's port as the worker sees it; copies come from g_copies.
port_info bench_port(bool multi_seg_tx) {
    port_info port;
    port.id.mac = {0x02, 0, 0, 0, 0, 1};
    port.id.ipv4 = 0xC0000201;
    port.id.udp_port = 7700;
    port.multi_seg_tx = multi_seg_tx;
    port.rx_pool = g_copies;
    return port;
}

// Args: frame bytes, targets per call.
void fan_out(benchmark::State& state, bool multi_seg_tx) {
    const auto len = static_cast<uint16_t>(state.range(0));
    const auto n = static_cast<uint16_t>(state.range(1));
    const port_info port = bench_port(multi_seg_tx);
    std::array<delivery_target, max_targets> targets{};
    for (uint16_t i = 0; i < n; ++i) {
        targets[i] = delivery_target{{0x02, 0, 0, 0, 1, uint8_t(i)}, 0xC0000202 + i, uint16_t(5000 + i)};
    }
    const std::span<const delivery_target> to{targets.data(), n};
    std::array<rte_mbuf*, max_targets> out{};
    lcore_counters counters;
    rte_mbuf* frame = make_frame(len);
    if (frame == nullptr) {
        state.SkipWithError("frame allocation failed");
        return;
    }
    for (auto _ : state) {
        const uint16_t built = build_deliveries(port, g_headers, frame, to, out, counters);
        if (built != n) {
            state.SkipWithError("a pool ran empty");
            break;
        }
        benchmark::DoNotOptimize(out[0]);
        rte_pktmbuf_free_bulk(out.data(), built);
    }
    rte_pktmbuf_free(frame);
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["bytes_copied_per_delivery"] = multi_seg_tx ? 0.0 : double(l2l4_len + len);
    // Seconds per delivery, printed with an SI prefix: "12.3n" is 12.3 ns.
    state.counters["per_delivery"] = benchmark::Counter(
        double(state.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void fan_out_refcount(benchmark::State& state) {
    fan_out(state, true);
}
void fan_out_copy(benchmark::State& state) {
    fan_out(state, false);
}

void sizes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"payload", "targets"});
    for (int64_t len : {64, 1024, 8192}) {
        for (int64_t n : {1, 32}) {
            b->Args({len, n});
        }
    }
}
BENCHMARK(fan_out_refcount)->Apply(sizes);
BENCHMARK(fan_out_copy)->Apply(sizes);

// One datagram of as many `len`-byte frames as a 9000-byte MTU and the
// segment limit allow (31, 31, 8 and 1 at 64 B, 256 B, 1 KB, 8 KB), all
// copied or all referenced. Per frame, which is per delivery.
void coalesced(benchmark::State& state, bool by_reference) {
    const auto len = static_cast<uint32_t>(state.range(0));
    const uint32_t k = std::min<uint32_t>(max_tx_segments - 1, (max_mtu - ipv4_hdr_len - udp_hdr_len) / len);
    const port_info port = bench_port(true);
    const delivery_target to{{0x02, 0, 0, 0, 1, 1}, 0xC0000202, 5000};
    std::vector<datagram_piece> pieces;
    for (uint32_t i = 0; i < k; ++i) {
        rte_mbuf* f = make_frame(static_cast<uint16_t>(len));
        if (f == nullptr) {
            state.SkipWithError("frame allocation failed");
            break;
        }
        pieces.push_back(datagram_piece{f, by_reference ? frame_part{0, len} : frame_part{len, 0}, 0});
    }
    lcore_counters counters;
    for (auto _ : state) {
        rte_mbuf* d = pieces.size() == k ? build_datagram(port, g_headers, g_indirect, to, pieces, counters) : nullptr;
        if (d == nullptr) {
            state.SkipWithError("a pool ran empty");
            break;
        }
        benchmark::DoNotOptimize(d);
        rte_pktmbuf_free(d);
    }
    for (const datagram_piece& p : pieces) {
        rte_pktmbuf_free(p.frame);
    }
    state.SetItemsProcessed(state.iterations() * k);
    state.counters["frames_per_datagram"] = k;
    state.counters["per_delivery"] = benchmark::Counter(double(state.iterations() * k),
                                                        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void coalesced_copy(benchmark::State& state) {
    coalesced(state, false);
}
void coalesced_ref(benchmark::State& state) {
    coalesced(state, true);
}

void frame_sizes(benchmark::internal::Benchmark* b) {
    b->ArgName("frame");
    for (int64_t len : {64, 256, 512, 1024, 1472, 2048, 4096, 8192}) {
        b->Arg(len);
    }
}
BENCHMARK(coalesced_copy)->Apply(frame_sizes);
BENCHMARK(coalesced_ref)->Apply(frame_sizes);

// Replays a topic's `n` retained 64-byte messages to one subscriber: the
// retention walk, the frames gathered 17 to a 1500-byte MTU datagram,
// flagged REPLAYED, then the free a TX would do.
void replay_retained(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    const port_info port = bench_port(true);
    const delivery_target to{{0x02, 0, 0, 0, 1, 1}, 0xC0000202, 5000};
    retention_store store(n, 1);
    std::array<rte_mbuf*, 2> evicted{};
    for (uint32_t i = 0; i < n; ++i) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_retained);
        if (m == nullptr) {
            state.SkipWithError("retained pool too small");
            return;
        }
        std::memset(rte_pktmbuf_append(m, 64), 'x', 64);
        (void)store.push(0, n, i + 1, m, evicted);
    }
    constexpr size_t per_datagram = 1472 / 85;
    lcore_counters counters;
    std::array<datagram_piece, per_datagram> pieces;
    for (auto _ : state) {
        size_t k = 0;
        bool ok = true;
        const auto send = [&] {
            rte_mbuf* d = build_datagram(port, g_headers, g_indirect, to, std::span{pieces.data(), k}, counters);
            ok = d != nullptr;
            rte_pktmbuf_free(d);
            k = 0;
        };
        store.for_each_from(0, 1, [&](const retained_msg& r) {
            pieces[k++] = datagram_piece{r.m, frame_part{64, 0}, flags::replayed};
            if (k == per_datagram) {
                send();
            }
            return ok;
        });
        if (k != 0) {
            send();
        }
        if (!ok) {
            state.SkipWithError("a pool ran empty");
            break;
        }
    }
    store.clear(0, [](rte_mbuf* m) { rte_pktmbuf_free(m); });
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["per_message"] = benchmark::Counter(double(state.iterations() * n),
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(replay_retained)->ArgName("retained")->Arg(1000);

// Writes every mbuf's whole buffer once: --no-huge memory is faulted in on
// first touch, which would otherwise land in whichever benchmark runs first.
void touch_buffers(rte_mempool* mp) {
    rte_mempool_obj_iter(
        mp,
        [](rte_mempool*, void*, void* obj, unsigned) {
            auto* m = static_cast<rte_mbuf*>(obj);
            std::memset(m->buf_addr, 0, m->buf_len);
        },
        nullptr);
}

// The first CPU this process may run on, so that `taskset -c N` decides
// where the main lcore runs: EAL would otherwise pin it to CPU 0.
int first_allowed_cpu() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (CPU_ISSET(c, &set)) {
                return c;
            }
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    const ringcast::test_support::eal_env eal("fanout_bench", "256",
                                              "0@" + std::to_string(first_allowed_cpu()));
    if (!eal.ok()) {
        return 1;
    }
    const int socket = static_cast<int>(rte_socket_id());
    g_frames = rte_pktmbuf_pool_create("bench_frames", 63, 0, 0, RTE_PKTMBUF_HEADROOM + max_frame, socket);
    g_copies = rte_pktmbuf_pool_create("bench_copies", pool_mbufs, pool_cache, 0,
                                       RTE_PKTMBUF_HEADROOM + l2l4_len + max_frame, socket);
    g_headers = rte_pktmbuf_pool_create("bench_headers", pool_mbufs, pool_cache, 0,
                                        RTE_PKTMBUF_HEADROOM + header_data_room, socket);
    g_indirect = rte_pktmbuf_pool_create("bench_indirect", pool_mbufs, pool_cache, 0, 0, socket);
    g_retained = rte_pktmbuf_pool_create("bench_retained", retained_frames, 0, 0, RTE_PKTMBUF_HEADROOM + 128,
                                         socket);
    int rc = 0;
    if (g_frames == nullptr || g_copies == nullptr || g_headers == nullptr || g_indirect == nullptr ||
        g_retained == nullptr) {
        std::fprintf(stderr, "rte_pktmbuf_pool_create: %s\n", rte_strerror(rte_errno));
        rc = 1;
    } else {
        for (rte_mempool* mp : {g_frames, g_copies, g_headers, g_retained}) {
            touch_buffers(mp);
        }
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
    }
    rte_mempool_free(g_retained);
    rte_mempool_free(g_indirect);
    rte_mempool_free(g_headers);
    rte_mempool_free(g_copies);
    rte_mempool_free(g_frames);
    return rc;
}
