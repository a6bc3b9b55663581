// The sources an io lcore has heard from: when each was last seen (its
// lease) and its ERR rate limit. Owned by one io lcore; fixed capacity; time
// is an argument in the caller's ticks.
#pragma once

#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/token_bucket.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace ringcast {

struct lease_params {
    uint32_t max_sources = 65536;
    uint64_t lease_ticks = 30; // a source lapses after this long unheard
    uint64_t hz = 1;           // ticks per second, for the ERR bucket
    uint64_t err_per_s = 100;  // ERR replies per source per second (burst the same)
};

struct source_record {
    endpoint ep;
    uint64_t last_seen = 0;
    bool has_subs = false; // a SUB went to a worker since the last BYE or expiry
    uint32_t identity = UINT32_MAX; // index in the io lcore's access_policy, bound by HELLO
    uint64_t identity_key = 0;      // that identity's key, to bind it again after a reload; 0: unbound
    token_bucket err_bucket;
};

class lease_table {
public:
    explicit lease_table(const lease_params& p);

    // Finds or adds the source and refreshes its lease; nullptr when the
    // table is full of live sources.
    [[nodiscard]] source_record* touch(const endpoint& ep, uint64_t now) noexcept;

    // Forgets the source (BYE).
    void forget(const endpoint& ep) noexcept;

    // Looks at up to `budget` entries from where the last call stopped and
    // removes those unheard for a lease. Sources that had subscriptions are
    // written to `lapsed` (at most lapsed.size(); the rest wait for the next
    // call); returns how many were written.
    [[nodiscard]] size_t expire(uint64_t now, uint32_t budget, std::span<endpoint> lapsed) noexcept;

    [[nodiscard]] uint32_t size() const noexcept { return _n; }

    // ERR replies per second for sources added from now on (a reload).
    void set_err_per_s(uint64_t err_per_s) noexcept { _p.err_per_s = err_per_s; }

    // f(source_record&) for every source held: a scan of the capacity, for
    // the control path (a policy reload).
    template <class F> void for_each(F&& f) noexcept {
        for (uint32_t id = 0; id < _sources.size(); ++id) {
            if (_live[id]) {
                f(_sources[id]);
            }
        }
    }

private:
    void remove(uint32_t id) noexcept;

    lease_params _p;
    std::vector<source_record> _sources;
    std::vector<bool> _live;
    hash_index _index;
    id_pool _free;
    uint32_t _n = 0;
    uint32_t _cursor = 0;
};

} // namespace ringcast
