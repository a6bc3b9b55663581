// Client side of gap repair: per topic, the next seq expected, the messages
// that arrived ahead of a gap (held back so that they come out in seq order)
// and the missing ranges with their NACK state. Pure logic: MSG and GAP_LOST
// in, messages and NACKs out, time an argument, so tests drive it.
//
// Rules, per topic (seqs are per topic; many topics share one socket):
// - The first live (not REPLAYED) MSG sets the baseline: it is delivered and
//   seq + 1 is expected next, unless expect_from(topic, S) came first (SUB
//   with REPLAY): then S is expected. A REPLAYED MSG on a topic with no
//   baseline (a retained last value) is delivered as is and sets none, so the
//   history between it and the live stream is not NACKed.
// - A MSG past the next expected seq is held back, and the seqs skipped are
//   NACKed at once, in NACKs of at most max_nack_count (and at most 16 NACKs
//   per range at a time, from its start: a longer range is mostly beyond
//   retention, and the GAP_LOST answering its first NACK says how much). A MSG that fills a
//   missing seq is delivered in order (a REPLAYED one counts as repaired). A
//   seq already delivered or held is a duplicate: counted and dropped.
// - A range still missing is NACKed again after nack_timeout, doubling, until
//   it has had nack_tries NACKs; one more timeout and it is given up as lost.
//   GAP_LOST gives up, at once, every missing seq below the first seq the
//   appliance still holds. Giving up releases what was held behind the range.
//
// It allocates (client side, not the appliance's hot path), but within fixed
// caps: at most max_topics topics (the least recently seen one is forgotten
// to make room, its gaps given up) and at most max_held messages held for
// all topics together (beyond that the oldest gap is given up as lost).
// One thread uses an object at a time.
#pragma once

#include <ringcast/core/wire.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

// A frame the appliance sent to a client (what client::receive returns).
struct message {
    op code = op::msg; // msg; or err (e.g. GAP_LOST, or the answer to send_raw);
                       // or ack answering no waiting request (a QoS 1 PUB's, a late one)
    uint8_t flags = 0; // MSG: flags::replayed etc.; ERR: the err_code
    uint64_t seq = 0;  // MSG: the topic's seq; ACK/ERR: the request's seq
    std::string topic;
    std::string payload; // bytes, not necessarily text; ERR: the reason

    [[nodiscard]] err_code error() const noexcept { return static_cast<err_code>(flags); }
    [[nodiscard]] bool replayed() const noexcept { return (flags & flags::replayed) != 0; }
};

// Asks the appliance to send `count` messages of `topic` again from `seq`.
struct nack_request {
    std::string topic;
    uint64_t seq = 0;   // first missing topic seq
    uint32_t count = 0; // 1 to max_nack_count
};

struct gap_counters {
    uint64_t delivered = 0;  // messages released (repaired ones included)
    uint64_t repaired = 0;   // REPLAYED messages that filled a missing seq
    uint64_t lost = 0;       // seqs given up: GAP_LOST, NACKs spent, reorder buffer or topic table full
    uint64_t duplicates = 0; // dropped: already delivered or held, or REPLAYED and not awaited
    uint64_t nacks_sent = 0; // NACKs asked for (nack_request entries)
};

struct gap_tracker_options {
    size_t max_topics = 65536; // topics with state; the least recently seen goes beyond
    size_t max_held = 65536;   // messages held back behind gaps, all topics together
    // First wait for a NACK's answer; it doubles with each NACK of the range.
    std::chrono::milliseconds nack_timeout{30};
    uint32_t nack_tries = 6; // NACKs of a range before it is given up as lost
};

// What a call let through: messages in seq order per topic, NACKs to send.
// Calls append; the caller empties it.
struct gap_output {
    std::vector<message> released;
    std::vector<nack_request> nacks;
};

class gap_tracker {
public:
    using clock = std::chrono::steady_clock;

    // Throws std::invalid_argument when a cap or nack_tries is 0.
    explicit gap_tracker(const gap_tracker_options& opt = {});

    // The messages of `topic` are expected from `seq` on (SUB with REPLAY
    // from seq; 0 is taken as 1). A GAP_LOST before any of them arrives skips
    // to the first seq the appliance holds. Returns false, changing nothing,
    // when the topic already has a baseline. A full topic table forgets the
    // least recently seen topic, releasing what it held into `out`.
    bool expect_from(std::string_view topic, uint64_t seq, gap_output& out);

    // A MSG arrived. Appends what it lets through to out.released and the
    // NACKs a new gap needs to out.nacks.
    void on_message(message m, clock::time_point now, gap_output& out);

    // ERR GAP_LOST for `topic`: the appliance holds nothing below
    // `first_held`, so every seq still missing below it is lost.
    void on_gap_lost(std::string_view topic, uint64_t first_held, gap_output& out);

    // NACKs again the ranges whose answer is overdue at `now`, and gives up
    // those whose NACKs are spent.
    void poll(clock::time_point now, gap_output& out);

    // Gives up every missing range and releases every message held (at the
    // end of a session).
    void flush(gap_output& out);

    // When poll next has work; nothing while no range is missing.
    [[nodiscard]] std::optional<clock::time_point> next_due() const;

    [[nodiscard]] const gap_counters& counters() const noexcept { return _counters; }
    [[nodiscard]] size_t topics() const noexcept { return _topics.size(); }
    [[nodiscard]] size_t held() const noexcept { return _held; }

private:
    // Seqs [first, end) were found missing together; `missing` of them still are.
    struct gap {
        uint64_t first;
        uint64_t end;
        uint64_t missing;
        clock::time_point found; // on overflow the oldest goes first
        clock::time_point due;   // next NACK, or giving up when the tries are spent
        clock::duration backoff;
        uint32_t tries;
    };
    // A topic has state from its baseline on.
    struct topic_state {
        const std::string* name = nullptr; // its key in _topics
        bool replay_pending = false;       // expect_from, and nothing has arrived since
        bool listed = false;               // in _with_gaps
        uint64_t expected = 0;             // next seq to release
        uint64_t next_unseen = 0;          // one past the highest seq seen
        std::map<uint64_t, message> held;
        std::deque<gap> gaps; // ascending, disjoint; expected lies in the first
        std::list<topic_state*>::iterator lru;
    };

    // State for a new topic, forgetting the least recently seen one when full.
    topic_state& add(std::string_view topic, gap_output& out);
    void forget(topic_state& t, gap_output& out);
    void deliver(message&& m, gap_output& out);
    void release(topic_state& t, gap_output& out);
    void touch(topic_state& t);
    void add_gap(topic_state& t, uint64_t end, clock::time_point now, gap_output& out);
    void send_nacks(const topic_state& t, const gap& g, gap_output& out);
    void give_up_below(topic_state& t, uint64_t seq, gap_output& out);
    void make_room(topic_state& t, gap_output& out);

    gap_tracker_options _opt;
    std::map<std::string, topic_state, std::less<>> _topics;
    std::list<topic_state*> _lru;         // least recently seen first
    std::vector<topic_state*> _with_gaps; // topics with gaps (and some whose gaps closed since)
    size_t _held = 0;
    gap_counters _counters;
};

} // namespace ringcast
