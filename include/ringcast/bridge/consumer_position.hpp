// Where ringcast-bridge's JetStream consumer starts again, and when its
// deliveries skipped some. No NATS: the consumers' names and state are
// passed in.
//
// A consumer's start cannot be changed, so the bridge moves its consumer to
// a stream seq by adding a new one there and then deleting the old. Each
// gets a name of its own, `<durable>-<n>`, n one higher each time: a name
// is never used twice, because nats-server 2.9 can bring a deleted
// consumer's state back under its name when a node that missed the delete
// returns. Killed between the add and the delete, the bridge leaves both,
// and the next one resumes from the newest (its start is where the old one
// ended) and deletes the rest.
//
// A push consumer numbers its deliveries (the consumer seq, redeliveries
// included) one by one, so a delivery that numbers past the next one means
// deliveries were lost on the way (a NATS node's death, a client that fell
// behind): the consumer is then moved back to the oldest stream seq not
// known to be in ringcastd, since stream seqs alone cannot show a gap (a
// filtered consumer skips the stream's other subjects).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast {

// What the bridge needs of a consumer's info.
struct consumer_state {
    uint64_t start_seq = 0;        // its start seq when made by start seq; 0 when by another policy
    uint64_t ack_floor_stream = 0; // every stream seq up to it is acknowledged
};

// The stream seq a consumer says the bridge resumes at; 0 when it says
// nothing (made by another policy, nothing acknowledged).
[[nodiscard]] uint64_t resume_point(const consumer_state& c) noexcept;

// `<durable>-<generation>`.
[[nodiscard]] std::string consumer_name(std::string_view durable, uint64_t generation);

// The generation in `name` when it is one of `durable`'s consumers (digits
// after `<durable>-`, from 1, no leading zero); nothing otherwise.
[[nodiscard]] std::optional<uint64_t> consumer_generation(std::string_view durable, std::string_view name) noexcept;

// One subscription's consumer seqs.
class delivery_sequence {
public:
    // The next delivery's consumer seq: false when deliveries before it were
    // skipped. A seq at or below the last one (a new consumer leader that
    // delivers again from its replicated state) is no gap.
    bool next(uint64_t consumer_seq) noexcept;
    void reset() noexcept { _last = 0; }

private:
    uint64_t _last = 0;
};

} // namespace ringcast
