// The auth decision on the io lcore, per frame: the PUB check (publish
// prefixes) and the SUB check (filter coverage) for an identity with a few
// and with many ACL entries; and HELLO's token lookup (SHA-256 and a
// constant-time compare with every identity), which is per HELLO only.
// Seed target: the per-frame decision under 100 ns.
// Run pinned: taskset -c 1 build/bench/access_policy_bench
#include <ringcast/core/access_policy.hpp>
#include <ringcast/core/wire.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

using namespace ringcast;

namespace {

// One identity with `entries` ACL entries in each list, the matching one
// last (the worst case of the scan), and `others` identities besides it.
config policy_config(size_t entries, size_t others) {
    config c;
    c.rcp.require_auth = true;
    identity_config id{.name = "bench", .token_sha256 = sha256(as_bytes("bench-token")), .publish = {}, .subscribe = {}};
    for (size_t i = 0; i + 1 < entries; ++i) {
        id.publish.push_back("feed" + std::to_string(i) + "/");
        id.subscribe.push_back("feed" + std::to_string(i) + "/+/quotes/#");
    }
    id.publish.push_back("md/");
    id.subscribe.push_back("md/+/quotes/#");
    c.identities.push_back(std::move(id));
    for (size_t i = 0; i < others; ++i) {
        const std::string name = "other" + std::to_string(i);
        c.identities.push_back(
            identity_config{.name = name, .token_sha256 = sha256(as_bytes(name)), .publish = {}, .subscribe = {}});
    }
    return c;
}

void may_publish(benchmark::State& state) {
    const access_policy p(policy_config(static_cast<size_t>(state.range(0)), 0), 1);
    const identity& id = p.at(0);
    const auto topic = as_bytes("md/eurusd/quotes/bid");
    for (auto _ : state) {
        benchmark::DoNotOptimize(id.may_publish(topic));
    }
}
BENCHMARK(may_publish)->Arg(1)->Arg(4)->Arg(16);

void may_subscribe(benchmark::State& state) {
    const access_policy p(policy_config(static_cast<size_t>(state.range(0)), 0), 1);
    const identity& id = p.at(0);
    const auto filter = as_bytes("md/eurusd/quotes/+");
    for (auto _ : state) {
        benchmark::DoNotOptimize(id.may_subscribe(filter));
    }
}
BENCHMARK(may_subscribe)->Arg(1)->Arg(4)->Arg(16);

void authenticate(benchmark::State& state) {
    const access_policy p(policy_config(1, static_cast<size_t>(state.range(0))), 1);
    const auto token = as_bytes("bench-token");
    for (auto _ : state) {
        benchmark::DoNotOptimize(p.authenticate(token));
    }
}
BENCHMARK(authenticate)->Arg(0)->Arg(15)->Arg(1023);

} // namespace

BENCHMARK_MAIN();
