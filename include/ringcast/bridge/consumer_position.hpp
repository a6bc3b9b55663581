// Where ringcast-bridge's JetStream consumer starts again, and when its
// deliveries skipped some. No NATS: the consumers' state is passed in.
//
// The bridge moves its durable consumer (to make the server deliver again
// from a stream seq) by deleting it and adding it anew, as a consumer's
// start cannot be changed in place. A second consumer, the marker
// (`<durable>-resume`, never read), holds the start seq meanwhile: it is
// added before the delete and removed after the add, so a bridge killed at
// any step leaves one of the two saying where to resume.
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

namespace ringcast {

// What the bridge needs of a consumer's info.
struct consumer_state {
    uint64_t start_seq = 0;          // its start seq when made by start seq; 0 when by another policy
    uint64_t ack_floor_stream = 0;   // every stream seq up to it is acknowledged
};

// The stream seq to make the durable consumer at, from the durable's state
// and the marker's, either absent; 0 when neither says (a consumer never
// made: jetstream.deliver decides).
[[nodiscard]] uint64_t resume_point(const std::optional<consumer_state>& durable,
                                    const std::optional<consumer_state>& marker) noexcept;

// Whether moving the durable to `from` first makes the marker say `from`
// (removed and added again when it exists). Never while the durable is
// already gone, as the marker is then the only record: one saying an older
// seq stays, and a restart from it resends what ringcastd has (absorbed by
// the QoS 2 dedup window) rather than skip anything.
[[nodiscard]] bool marker_needs_rewrite(const std::optional<consumer_state>& durable,
                                        const std::optional<consumer_state>& marker, uint64_t from) noexcept;

// The marker's name for `durable`.
[[nodiscard]] std::string resume_marker_name(const std::string& durable);

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
