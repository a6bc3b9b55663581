// The io -> worker hand-off: an SPSC rte_ring of 32-byte ring_items, as the
// appliance creates one per io/worker pair (appliance.cpp). The producer runs
// on the main lcore, the consumer on lcore 1; for comparison, the same
// enqueue+dequeue on one lcore, where the ring's cache lines never move.
// Run: taskset -c 0,1 build/bench/ring_bench --benchmark_min_time=0.1
#include <ringcast/datapath/ring_item.hpp>
#include <ringcast/datapath/tx.hpp>

#include <benchmark/benchmark.h>

#include <eal_env.hpp>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <sched.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace ringcast;

namespace {

// The daemon's default ring size (config.hpp ring_config).
constexpr unsigned ring_size = 4096;
constexpr unsigned consumer_lcore = 1;

static_assert(std::atomic<bool>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The consumer's context, handed over as the rte_eal_remote_launch argument.
struct alignas(64) consumer_ctx {
    rte_ring* ring = nullptr;
    uint16_t burst = burst_size;
    std::atomic<bool> stop{false};
    alignas(64) std::atomic<uint64_t> consumed{0}; // written once, at exit
    uint64_t sink = 0;                             // keeps the reads alive
};

// Dequeues bursts and reads each item as a worker would, until told to stop
// and the ring is empty.
int consume(void* arg) {
    auto& c = *static_cast<consumer_ctx*>(arg);
    std::array<ring_item, burst_size> items;
    uint64_t n = 0;
    uint64_t sink = 0;
    for (;;) {
        const unsigned got =
            rte_ring_dequeue_burst_elem(c.ring, items.data(), sizeof(ring_item), c.burst, nullptr);
        for (unsigned i = 0; i < got; ++i) {
            sink += items[i].hash;
        }
        n += got;
        if (got == 0) {
            // The flag is read only when the ring looked empty; one more
            // look after it is set catches what came just before it.
            if (c.stop.load(std::memory_order_acquire) && rte_ring_empty(c.ring) != 0) {
                break;
            }
            rte_pause();
        }
    }
    c.sink = sink;
    c.consumed.store(n, std::memory_order_release);
    return 0;
}

rte_ring* make_ring(const char* name) {
    return rte_ring_create_elem(name, sizeof(ring_item), ring_size, static_cast<int>(rte_socket_id()),
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
}

// Producer on the main lcore, consumer on lcore 1. Arg: items per burst.
// A full ring is waited on here, unlike in the io loop (which frees and
// counts): the benchmark measures the rate the pair sustains.
void handoff_two_lcores(benchmark::State& state) {
    const auto burst = static_cast<uint16_t>(state.range(0));
    rte_ring* ring = make_ring("bench_handoff");
    if (ring == nullptr) {
        state.SkipWithError("rte_ring_create_elem failed");
        return;
    }
    consumer_ctx ctx;
    ctx.ring = ring;
    ctx.burst = burst;
    if (rte_eal_remote_launch(consume, &ctx, consumer_lcore) != 0) {
        rte_ring_free(ring);
        state.SkipWithError("rte_eal_remote_launch failed");
        return;
    }
    std::array<ring_item, burst_size> items{};
    uint64_t produced = 0;
    uint64_t full = 0;
    for (auto _ : state) {
        for (uint16_t i = 0; i < burst; ++i) {
            items[i].hash = produced + i;
        }
        unsigned sent = 0;
        while (sent < burst) {
            sent += rte_ring_enqueue_burst_elem(ring, items.data() + sent, sizeof(ring_item), burst - sent,
                                                nullptr);
            if (sent < burst) {
                ++full;
                rte_pause();
            }
        }
        produced += burst;
    }
    ctx.stop.store(true, std::memory_order_release);
    rte_eal_wait_lcore(consumer_lcore);
    if (ctx.consumed.load(std::memory_order_acquire) != produced) {
        state.SkipWithError("consumer count differs from producer count");
    }
    rte_ring_free(ring);
    state.SetItemsProcessed(static_cast<int64_t>(produced));
    // Seconds per item, printed with an SI prefix: "5.1n" is 5.1 ns.
    state.counters["per_item"] =
        benchmark::Counter(double(produced), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    // How often, per burst, the producer found the ring full: near 0 means
    // the producer is the slower side, above 0 the consumer.
    state.counters["full_per_burst"] = benchmark::Counter(double(full), benchmark::Counter::kAvgIterations);
}
BENCHMARK(handoff_two_lcores)->ArgName("burst")->Arg(burst_size)->Arg(1)->UseRealTime();

// Enqueue a burst and dequeue it again on the main lcore alone.
void enqueue_dequeue_one_lcore(benchmark::State& state) {
    const auto burst = static_cast<uint16_t>(state.range(0));
    rte_ring* ring = make_ring("bench_one_lcore");
    if (ring == nullptr) {
        state.SkipWithError("rte_ring_create_elem failed");
        return;
    }
    std::array<ring_item, burst_size> in{};
    std::array<ring_item, burst_size> out{};
    for (auto _ : state) {
        const unsigned n = rte_ring_enqueue_burst_elem(ring, in.data(), sizeof(ring_item), burst, nullptr);
        const unsigned m = rte_ring_dequeue_burst_elem(ring, out.data(), sizeof(ring_item), n, nullptr);
        benchmark::DoNotOptimize(m);
        benchmark::DoNotOptimize(out[0].hash);
    }
    rte_ring_free(ring);
    state.SetItemsProcessed(state.iterations() * burst);
    state.counters["per_item"] = benchmark::Counter(
        double(state.iterations() * burst), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(enqueue_dequeue_one_lcore)->ArgName("burst")->Arg(burst_size)->Arg(1);

// The first two CPUs this process may run on (the same one twice when it
// has one), so that `taskset` decides where the lcores run.
std::array<int, 2> allowed_cpus() {
    std::array<int, 2> cpus{0, 0};
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return cpus;
    }
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; ++c) {
        if (CPU_ISSET(c, &set)) {
            cpus[found++] = c;
        }
    }
    if (found == 1) {
        cpus[1] = cpus[0];
    }
    return cpus;
}

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    const auto cpus = allowed_cpus();
    if (cpus[0] == cpus[1]) {
        std::fprintf(stderr,
                     "ring_bench: one CPU only; both lcores share CPU %d, so the two-lcore numbers "
                     "measure time-slicing, not the hand-off\n",
                     cpus[0]);
    }
    const ringcast::test_support::eal_env eal(
        "ring_bench", "64", "0@" + std::to_string(cpus[0]) + ",1@" + std::to_string(cpus[1]));
    if (!eal.ok()) {
        return 1;
    }
    int rc = 0;
    if (!rte_lcore_is_enabled(consumer_lcore)) {
        std::fprintf(stderr, "ring_bench: lcore %u is not enabled\n", consumer_lcore);
        rc = 1;
    } else {
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
    }
    return rc;
}
