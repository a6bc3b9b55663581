// The worker's per-PUB work in its subscription table: exact-topic lookup as
// the table grows; find_topic + for_each_target among 1 M exact topics and
// 0, 10 k or 100 k wildcard filters; a shared group's pick.
// Run pinned: taskset -c 1 build/bench/sub_table_bench
#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

// Walks a table's names in an order that defeats the caches: a prime stride.
constexpr uint32_t stride = 7919;

// A valid filter as the io lcore passes it on.
filter_spec spec_of(std::string_view filter) {
    filter_spec spec;
    if (parse_filter(as_bytes(filter), max_topic_len, spec) != topic_check::ok) {
        std::abort();
    }
    return spec;
}

uint32_t next_index(uint32_t i, uint32_t n) {
    return i + stride < n ? i + stride : (i + stride) % n;
}

void find_topic(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    auto table = std::make_unique<sub_table>(
        sub_limits{.topics = n, .subscriptions = n, .subscribers = 1, .topic_len = 32});
    std::vector<std::string> names;
    for (uint32_t i = 0; i < n; ++i) {
        names.push_back("md/topic/" + std::to_string(i));
        (void)table->subscribe(spec_of(names.back()), endpoint{0xC0000202, 5000, 0}, mac_addr{}, 0);
    }
    uint32_t i = 0;
    for (auto _ : state) {
        const auto b = as_bytes(names[i]);
        benchmark::DoNotOptimize(table->find_topic(b, topic_hash(b)));
        i = next_index(i, n);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(find_topic)->Arg(1000)->Arg(100000)->Arg(1000000);

// Market data: md/<venue>/<class>/<symbol>, 16 * 8 * 8192 = 1 M exact topics,
// each with one plain subscriber (4096 subscribers in all); the wildcard
// filters belong to 65536 other subscribers.
constexpr uint32_t venues = 16;
constexpr uint32_t classes = 8;
constexpr uint32_t symbols = 8192;
constexpr uint32_t exact_topics = venues * classes * symbols;
constexpr uint32_t exact_subscribers = 4096;
constexpr uint32_t filter_subscribers = 65536;
constexpr uint32_t max_filters = 131072;
constexpr std::array<const char*, classes> class_names = {"eq", "fx", "fi", "cm", "op", "fu", "cr", "ix"};

std::string venue(uint32_t v) {
    return "v" + std::to_string(v);
}
std::string symbol(uint32_t s) {
    return "s" + std::to_string(s);
}

endpoint subscriber_ep(uint32_t i) {
    return endpoint{.ip = 0x0A000000 + i, .port = 5000, .port_id = 0};
}

// How the wildcard filters are drawn.
enum class filter_mix {
    // 90 % md/<venue>/+/<symbol>, 5 % md/<venue>/<class>/#, 4 %
    // +/<venue>/<class>/+, 1 % md/<venue>/#: the coarse filters are few and
    // shared by many subscribers, so a PUB's targets grow with the count.
    realistic,
    // Every filter a different md/<venue>/+/<symbol>: a PUB matches at most
    // one, so what grows is the index alone.
    distinct,
};

std::string wildcard_filter(filter_mix mix, uint32_t k) {
    if (mix == filter_mix::distinct) {
        return "md/" + venue(k % venues) + "/+/" + symbol(k / venues);
    }
    // Venue, class and symbol from disjoint bits of a multiplicative scramble.
    const uint64_t h = uint64_t{k} * 0x9e3779b97f4a7c15ULL;
    const auto v = static_cast<uint32_t>((h >> 60) % venues);
    const auto c = static_cast<uint32_t>((h >> 40) % classes);
    const auto s = static_cast<uint32_t>((h >> 20) % symbols);
    const uint32_t pct = k % 100;
    if (pct < 90) {
        return "md/" + venue(v) + "/+/" + symbol(s);
    }
    if (pct < 95) {
        return "md/" + venue(v) + "/" + class_names[c] + "/#";
    }
    if (pct < 99) {
        return "+/" + venue(v) + "/" + class_names[c] + "/+";
    }
    return "md/" + venue(v) + "/#";
}

struct pub_fixture {
    std::unique_ptr<sub_table> table;
    std::vector<std::string> topics;
};

// Built once per (mix, filters) and kept: google-benchmark calls a bench
// several times while it settles the iteration count.
pub_fixture& pub_table(filter_mix mix, uint32_t filters) {
    static std::unique_ptr<pub_fixture> f;
    static filter_mix built_mix;
    static uint32_t built_filters = UINT32_MAX;
    if (f != nullptr && built_mix == mix && built_filters == filters) {
        return *f;
    }
    f.reset(); // the old table first: they are large
    f = std::make_unique<pub_fixture>();
    f->table = std::make_unique<sub_table>(sub_limits{.topics = exact_topics,
                                                      .subscriptions = exact_topics,
                                                      .subscribers = exact_subscribers + filter_subscribers,
                                                      .topic_len = 64,
                                                      .filters = max_filters,
                                                      .groups = 16});
    f->topics.reserve(exact_topics);
    for (uint32_t v = 0; v < venues; ++v) {
        for (uint32_t c = 0; c < classes; ++c) {
            for (uint32_t s = 0; s < symbols; ++s) {
                f->topics.push_back("md/" + venue(v) + "/" + class_names[c] + "/" + symbol(s));
                const auto sub_ep =
                    subscriber_ep(static_cast<uint32_t>(f->topics.size()) % exact_subscribers);
                (void)f->table->subscribe(spec_of(f->topics.back()), sub_ep, mac_addr{}, 0);
            }
        }
    }
    for (uint32_t k = 0; k < filters; ++k) {
        const std::string filter = wildcard_filter(mix, k);
        const auto sub_ep = subscriber_ep(exact_subscribers + k % filter_subscribers);
        (void)f->table->subscribe(spec_of(filter), sub_ep, mac_addr{}, 0);
    }
    built_mix = mix;
    built_filters = filters;
    return *f;
}

// One PUB as the worker sees it: hash, find the record, visit every target.
// The plain callback touches the subscriber's record as a delivery would.
void pub_match(benchmark::State& state, filter_mix mix) {
    pub_fixture& f = pub_table(mix, static_cast<uint32_t>(state.range(0)));
    sub_table& t = *f.table;
    const auto n = static_cast<uint32_t>(f.topics.size());
    uint64_t plain = 0;
    uint64_t shared = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        const auto b = as_bytes(f.topics[i]);
        t.for_each_target(
            t.find_topic(b, topic_hash(b)), b,
            [&](subscriber_record& r) {
                ++r.stats.deliveries;
                ++plain;
            },
            [&](uint32_t) { ++shared; });
        i = next_index(i, n);
    }
    benchmark::DoNotOptimize(plain);
    benchmark::DoNotOptimize(shared);
    state.SetItemsProcessed(state.iterations());
    state.counters["filters"] = t.filters();
    state.counters["targets_per_pub"] =
        static_cast<double>(plain + shared) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}
BENCHMARK_CAPTURE(pub_match, realistic, filter_mix::realistic)
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kNanosecond);
BENCHMARK_CAPTURE(pub_match, distinct, filter_mix::distinct)
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kNanosecond);

// A shared group's next member: pick over n members, each accepted.
void group_pick(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    sub_table t(sub_limits{
        .topics = 16, .subscriptions = 16, .subscribers = n, .topic_len = 64, .filters = n, .groups = 1});
    for (uint32_t m = 0; m < n; ++m) {
        (void)t.subscribe(spec_of("$share/g/md/v0/#"), subscriber_ep(m), mac_addr{}, 0);
    }
    uint32_t group = no_id;
    const auto topic = as_bytes("md/v0/eq/s1");
    t.for_each_target(
        no_id, topic, [](subscriber_record&) {}, [&](uint32_t g) { group = g; });
    if (group == no_id || t.groups() != 1) {
        state.SkipWithError("group not made");
        return;
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(t.pick(group, [](subscriber_record& r) { return r.n_subs != 0; }));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(group_pick)->Arg(2)->Arg(8)->Arg(64);

} // namespace

BENCHMARK_MAIN();
