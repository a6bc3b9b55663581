// Exact-topic lookup, the worker's per-PUB work, as the table grows.
#include <ringcast/sub_table.hpp>
#include <ringcast/topic.hpp>
#include <ringcast/wire.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

void find_topic(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    auto table = std::make_unique<sub_table>(
        sub_limits{.topics = n, .subscriptions = n, .subscribers = 1, .topic_len = 32});
    std::vector<std::string> names;
    for (uint32_t i = 0; i < n; ++i) {
        names.push_back("md/topic/" + std::to_string(i));
        const auto b = as_bytes(names.back());
        (void)table->subscribe(b, topic_hash(b), endpoint{0xC0000202, 5000, 0}, mac_addr{});
    }
    uint32_t i = 0;
    for (auto _ : state) {
        const auto b = as_bytes(names[i]);
        benchmark::DoNotOptimize(table->find_topic(b, topic_hash(b)));
        i = i + 7919 < n ? i + 7919 : (i + 7919) % n;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(find_topic)->Arg(1000)->Arg(100000)->Arg(1000000);

} // namespace

BENCHMARK_MAIN();
