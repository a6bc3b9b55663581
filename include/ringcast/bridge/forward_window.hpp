// The PUBs ringcast-bridge has sent at QoS 1 or 2 and not yet seen ACKed:
// when each is due again, which ACK retires which, and, after a JetStream
// consumer is made again, whether a message delivered once more is already
// done, still pending, or new. No sockets, no NATS: time is an argument.
//
// Seqs enter in increasing order (a stream seq, or the client's counter).
// Entries retire in that order, once every one before them is ACKed too: the
// front of the window is the oldest message not known to be in the
// appliance, which is where a JetStream consumer resumes. A message is
// resent with the same seq, so at QoS 2 the appliance's dedup window turns a
// resend whose ACK was lost into an ACK without a second delivery.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace ringcast {

struct resend_policy {
    std::chrono::milliseconds first_wait{100}; // for the ACK of the first send
    std::chrono::milliseconds max_wait{2000};  // the wait doubles after each resend, up to this
    uint32_t attempts = 0;                     // sends in all, then given up; 0: never given up
};

class forward_window {
public:
    using clock = std::chrono::steady_clock;

    // Throws std::invalid_argument for a capacity of 0.
    forward_window(size_t capacity, const resend_policy& policy);

    [[nodiscard]] size_t size() const noexcept { return _entries.size(); }
    [[nodiscard]] bool full() const noexcept { return _entries.size() >= _capacity; }
    [[nodiscard]] bool empty() const noexcept { return _entries.empty(); }

    // A PUB with `seq` was sent at `now`; `token` is the caller's handle for
    // it (what it acknowledges upstream once the PUB retires). Returns false,
    // adding nothing, when full or when `seq` is not above every seq added.
    bool add(uint64_t seq, uint64_t token, clock::time_point now);

    // The ACK for `seq`: appends the tokens that retire with it to `retired`,
    // oldest first (none while an older PUB is unACKed). An ACK for a seq
    // not waiting (late, repeated) changes nothing; returns whether it was.
    bool ack(uint64_t seq, std::vector<uint64_t>& retired);

    // At `now`: the tokens due to be sent again (their next wait starts
    // now) into `resend`, in seq order; those out of attempts into
    // `given_up`, removed from the window; and the ACKed ones that retire
    // because the unACKed ones before them were given up, into `retired`.
    void expire(clock::time_point now, std::vector<uint64_t>& resend, std::vector<uint64_t>& given_up,
                std::vector<uint64_t>& retired);

    // What a message delivered again with `seq` is to the window.
    enum class seen : uint8_t {
        retired, // ACKed and retired (or given up) already: acknowledge it upstream, send nothing
        pending, // in the window: its token is replaced by `token`; the old one is the caller's to drop
        fresh,   // above every seq added: send it
    };
    // `old_token` gets the replaced token when the answer is pending.
    seen redelivered(uint64_t seq, uint64_t token, uint64_t& old_token) noexcept;

    // Where upstream delivery should resume: the oldest seq still in the
    // window, else one past the highest ever added (0 when nothing was).
    [[nodiscard]] uint64_t resume_seq() const noexcept;
    [[nodiscard]] uint64_t highest_added() const noexcept { return _highest; }

    // Everything still in the window, oldest first (the caller drops them at shutdown).
    [[nodiscard]] std::vector<uint64_t> tokens() const;

private:
    struct entry {
        uint64_t seq;
        uint64_t token;
        clock::time_point due;
        clock::duration wait;
        uint32_t sends;
        bool acked;
    };

    entry* find(uint64_t seq) noexcept;
    void retire_front(std::vector<uint64_t>& retired);

    std::deque<entry> _entries; // seq order
    size_t _capacity;
    resend_policy _policy;
    uint64_t _highest = 0;
};

} // namespace ringcast
