// The all-workers reply. A SUB or UNSUB of a wildcard filter must be in
// place on every worker before its ACK leaves (DESIGN.md §2: a PUB sent after
// the ACK is matched), and no worker can tell when the others are done. So
// the io lcore sends the one frame mbuf to every worker with one reference
// each (broadcast_hold), and each worker, once the filter is in place, drops
// its reference (broadcast_release): the one that drops the last answers for
// all of them, ERR when any worker's table was full. The failure flags ride
// in the mbuf's hash.usr, or-ed in by the workers.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace ringcast {

// io lcore, before the item goes on every worker's ring.
inline void broadcast_hold(rte_mbuf* m, uint16_t workers) noexcept {
    m->hash.usr = 0;
    rte_mbuf_refcnt_set(m, workers);
}

struct broadcast_outcome {
    bool last = false;   // this worker answers for all, then frees the mbuf (broadcast_free)
    bool failed = false; // with `last`: some worker could not apply it
};

// A worker, once it applied the item (`ok`: it did without error).
[[nodiscard]] inline broadcast_outcome broadcast_release(rte_mbuf* m, bool ok) noexcept {
    if (!ok) {
        __atomic_fetch_or(&m->hash.usr, 1u, __ATOMIC_RELAXED);
    }
    // Acquire-release, so the last one sees every other worker's failure.
    if (__atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) != 0) {
        return {};
    }
    return {.last = true, .failed = __atomic_load_n(&m->hash.usr, __ATOMIC_RELAXED) != 0};
}

// The last worker, after its reply: the refcount is 0 already, so the mbuf
// goes back to its pool as a fresh one would.
inline void broadcast_free(rte_mbuf* m) noexcept {
    rte_mbuf_refcnt_set(m, 1);
    rte_pktmbuf_free(m);
}

} // namespace ringcast
