// What a subscriber gets from a topic's history, all from the worker's
// retained mbufs (never copies): retransmission for a NACK, replay for a SUB
// with REPLAY, the RETAIN value for a new subscription, and ERR GAP_LOST for
// what is no longer held. The three share one token bucket per subscriber
// (repair.nack_rate / nack_burst); what is over it is counted nack_limited.
// Worker lcore only.
#pragma once

#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/token_bucket.hpp>
#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>
#include <ringcast/datapath/ring_item.hpp>
#include <ringcast/datapath/tx.hpp>
#include <ringcast/datapath/worker_loop.hpp>

#include <cstdint>
#include <optional>

namespace ringcast {

// The repair budget a subscriber starts with (its first subscription on this worker).
[[nodiscard]] inline token_bucket repair_budget(const worker_settings& s, uint64_t now) noexcept {
    return token_bucket(s.nack_rate, s.nack_burst, s.hz, now);
}

// After an ACKed SUB of `filter` by `s` (at `to`), outcome `o` of
// sub_table::subscribe: with `replay_from` set (a SUB with REPLAY), the
// retained messages of every matching topic of this worker from that topic
// seq on; otherwise, for a subscription just added, each matching topic's
// RETAIN value. Not for shared groups: they share live traffic only.
void serve_history(worker_state& w, lcore_ctx& lc, uint64_t now, const reply_to& to, subscriber_record& s,
                   const sub_outcome& o, const filter_spec& filter,
                   std::optional<uint64_t> replay_from) noexcept;

// A NACK item (count 1..max_nack_count, checked by the io lcore): the
// messages still held as MSG|REPLAYED, GAP_LOST first for what is not.
void serve_nack(worker_state& w, lcore_ctx& lc, uint64_t now, const ring_item& item,
                const frame_view& f) noexcept;

} // namespace ringcast
