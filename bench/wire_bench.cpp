// Frame parse and topic hash, the io lcore's per-frame work.
#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

using namespace ringcast;

namespace {

std::vector<std::byte> datagram(size_t frames, size_t payload) {
    std::vector<std::byte> d(frames * frame_size(12, payload));
    const std::string p(payload, 'x');
    size_t off = 0;
    for (size_t i = 0; i < frames; ++i) {
        off += write_frame(std::span{d}.subspan(off), op::pub, 0, i, as_bytes("md/eurusd/1m"), as_bytes(p));
    }
    return d;
}

void parse_frames(benchmark::State& state) {
    const auto d = datagram(static_cast<size_t>(state.range(0)), 64);
    for (auto _ : state) {
        size_t n = 0;
        for (size_t off = 0; off < d.size();) {
            const auto r = parse_frame(d, off);
            benchmark::DoNotOptimize(r.frame.seq);
            off += r.frame.size;
            ++n;
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(parse_frames)->Arg(1)->Arg(16);

void hash_topic(benchmark::State& state) {
    const std::string t(static_cast<size_t>(state.range(0)), 'a');
    for (auto _ : state) {
        benchmark::DoNotOptimize(topic_hash(as_bytes(t)));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(hash_topic)->Arg(8)->Arg(32)->Arg(128);

void check_topic(benchmark::State& state) {
    const std::string t = "market/fx/eurusd/1m";
    for (auto _ : state) {
        benchmark::DoNotOptimize(check_pub_topic(as_bytes(t), 255));
    }
}
BENCHMARK(check_topic);

} // namespace

BENCHMARK_MAIN();
