// The load generator's per-message accounting: what it costs the sender
// (pacer) and the receiver (histogram, stream tracker) on top of the I/O.
#include <ringcast/client/loadgen.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

using namespace ringcast;

namespace {

// Latencies spread over 1 us .. 1 ms, precomputed so the generator is not timed.
std::vector<uint64_t> latencies(size_t n) {
    std::vector<uint64_t> v(n);
    uint64_t x = 88172645463325252ULL;
    for (auto& l : v) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        l = 1000 + x % 1'000'000;
    }
    return v;
}

void histogram_record(benchmark::State& state) {
    const std::vector<uint64_t> v = latencies(4096);
    auto h = std::make_unique<latency_histogram>();
    size_t i = 0;
    for (auto _ : state) {
        h->record(v[i]);
        i = (i + 1) & (v.size() - 1);
    }
    benchmark::DoNotOptimize(h->count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(histogram_record);

void histogram_percentile(benchmark::State& state) {
    const std::vector<uint64_t> v = latencies(4096);
    auto h = std::make_unique<latency_histogram>();
    for (const uint64_t l : v) {
        h->record(l);
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(h->percentile(0.999));
    }
}
BENCHMARK(histogram_percentile);

// Range 0: one seq in `range` is delivered out of order (0: all in order).
void stream_tracker_on_seq(benchmark::State& state) {
    const auto every = static_cast<uint64_t>(state.range(0));
    stream_tracker t;
    uint64_t seq = 1;
    for (auto _ : state) {
        if (every != 0 && seq % every == 0) {
            t.on_seq(seq + 1); // a gap, closed by the next call
            t.on_seq(seq);
            seq += 2;
        } else {
            t.on_seq(seq++);
        }
    }
    benchmark::DoNotOptimize(t.received());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(stream_tracker_on_seq)->Arg(0)->Arg(100);

// A sender polling at 3 GHz for 10 M msg/s, taking all that is due.
void pacer_due(benchmark::State& state) {
    pacer p(10'000'000, 3'000'000'000, 0, 32);
    uint64_t now = 0;
    for (auto _ : state) {
        now += 37;
        const uint32_t n = p.due(now);
        p.take(n);
        benchmark::DoNotOptimize(n);
    }
    benchmark::DoNotOptimize(p.sent());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(pacer_due);

} // namespace

BENCHMARK_MAIN();
