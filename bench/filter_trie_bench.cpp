// Wildcard matching, the worker's per-PUB work for '+' and '#' filters, as
// the number of installed filters grows (0, 10 k, 100 k).
// Run: taskset -c 1 build/bench/filter_trie_bench
#include <ringcast/core/filter_trie.hpp>
#include <ringcast/core/wire.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

// A market-data universe: filters and topics draw on the same symbols, so
// more filters means more subscribers per symbol, as in a real deployment.
constexpr int venues = 16;
constexpr int symbols = 10000;
constexpr const char* channels[] = {"trade", "quote", "book", "stats"};
constexpr size_t n_topics = 4096; // cycled; more than fit in L1

std::string venue(std::mt19937& rng) {
    return "v" + std::to_string(rng() % venues);
}
std::string channel(std::mt19937& rng) {
    return channels[rng() % 4];
}
std::string symbol(std::mt19937& rng, const char* prefix) {
    return prefix + std::to_string(rng() % symbols);
}

// Distinct filters in realistic shapes: per-symbol interest across channels
// or venues, subtrees, and a few coarse ones.
std::vector<std::string> make_filters(size_t n, std::mt19937& rng) {
    std::set<std::string> out;
    while (out.size() < n) {
        const auto r = rng() % 20;
        if (r < 8) {
            out.insert("md/" + venue(rng) + "/+/" + symbol(rng, "S"));
        } else if (r < 12) {
            out.insert("md/+/" + channel(rng) + "/" + symbol(rng, "S"));
        } else if (r < 15) {
            out.insert("+/" + venue(rng) + "/" + channel(rng) + "/" + symbol(rng, "S"));
        } else if (r < 17) {
            out.insert("md/" + venue(rng) + "/" + channel(rng) + "/" + symbol(rng, "S") + "/#");
        } else if (r < 19) {
            out.insert("alerts/+/" + symbol(rng, "S") + "/#");
        } else {
            out.insert(rng() % 2 ? "md/" + venue(rng) + "/#"
                                 : "md/" + venue(rng) + "/" + channel(rng) + "/+");
        }
    }
    return {out.begin(), out.end()};
}

// PUB topics of 3 to 5 levels; `prefix` "S" hits the filters' symbols, "X"
// misses them (only the wildcard paths are walked).
std::vector<std::string> make_topics(std::mt19937& rng, const char* prefix) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n_topics; ++i) {
        const auto r = rng() % 20;
        const std::string base = "md/" + venue(rng) + "/" + channel(rng) + "/" + symbol(rng, prefix);
        if (r < 14) {
            out.push_back(base);
        } else if (r < 17) {
            out.push_back(base + "/l2");
        } else {
            out.push_back("alerts/" + venue(rng) + "/" + symbol(rng, prefix));
        }
    }
    return out;
}

void run_match(benchmark::State& state, const char* topic_prefix) {
    const auto n = static_cast<size_t>(state.range(0));
    std::mt19937 rng(42);
    const auto filters = make_filters(n, rng);
    auto trie = std::make_unique<filter_trie>(static_cast<uint32_t>(5 * n + 16), 16);
    for (const auto& f : filters) {
        if (trie->acquire(as_bytes(f)) == no_id) {
            state.SkipWithError("trie full");
            return;
        }
    }
    const auto topics = make_topics(rng, topic_prefix);
    size_t i = 0;
    uint64_t matches = 0;
    for (auto _ : state) {
        trie->match(as_bytes(topics[i]), [&](uint32_t node) {
            benchmark::DoNotOptimize(node);
            ++matches;
        });
        i = (i + 1) & (n_topics - 1);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["matches/pub"] = static_cast<double>(matches) / static_cast<double>(state.iterations());
    state.counters["nodes"] = trie->nodes_in_use();
}

// Topics on subscribed symbols: the cost includes reporting every match.
void match_hit(benchmark::State& state) {
    run_match(state, "S");
}
BENCHMARK(match_hit)->Arg(0)->Arg(10000)->Arg(100000);

// Topics no per-symbol filter names: the walk over '+' and '#' paths alone.
void match_miss(benchmark::State& state) {
    run_match(state, "X");
}
BENCHMARK(match_miss)->Arg(0)->Arg(10000)->Arg(100000);

} // namespace

BENCHMARK_MAIN();
