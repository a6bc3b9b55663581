// The client's gap repair with time passed in: release order, NACKs and
// their chunks, retries and giving up, GAP_LOST, retained values, replay
// starts, and the caps on held messages and topics.
#include <ringcast/client/gap_tracker.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ringcast {
namespace {

using namespace std::chrono_literals;
using clock = gap_tracker::clock;

const clock::time_point t0{};

message live(const std::string& topic, uint64_t seq) {
    return {op::msg, 0, seq, topic, topic + " " + std::to_string(seq)};
}

message replayed(const std::string& topic, uint64_t seq) {
    return {op::msg, flags::replayed, seq, topic, topic + " " + std::to_string(seq)};
}

// Feeds messages to a tracker and reads what came out since the last look.
class harness {
public:
    explicit harness(gap_tracker_options opt = {}) : tracker(opt) {}

    void feed(message m, clock::time_point now = t0) { tracker.on_message(std::move(m), now, out); }

    // "topic seq" of each message released since the last call, checking
    // that each payload is the one sent with that seq.
    std::vector<std::string> released() {
        std::vector<std::string> r;
        for (const message& m : out.released) {
            EXPECT_EQ(m.payload, m.topic + " " + std::to_string(m.seq));
            r.push_back(m.topic + " " + std::to_string(m.seq));
        }
        out.released.clear();
        return r;
    }

    // "topic seq+count" of each NACK asked for since the last call.
    std::vector<std::string> nacks() {
        std::vector<std::string> r;
        for (const nack_request& n : out.nacks) {
            r.push_back(n.topic + " " + std::to_string(n.seq) + "+" + std::to_string(n.count));
        }
        out.nacks.clear();
        return r;
    }

    gap_tracker tracker;
    gap_output out;
};

using strings = std::vector<std::string>;

gap_tracker_options with_nacks(std::chrono::milliseconds timeout, uint32_t tries) {
    gap_tracker_options opt;
    opt.nack_timeout = timeout;
    opt.nack_tries = tries;
    return opt;
}

TEST(gap_tracker, deliversAnInOrderStreamFromTheFirstSeqSeen) {
    harness h;
    for (uint64_t s = 10; s <= 14; ++s) {
        h.feed(live("t", s));
    }

    EXPECT_EQ(h.released(), (strings{"t 10", "t 11", "t 12", "t 13", "t 14"}));
    EXPECT_TRUE(h.nacks().empty());
    const gap_counters& c = h.tracker.counters();
    EXPECT_EQ(c.delivered, 5u);
    EXPECT_EQ(c.repaired + c.lost + c.duplicates + c.nacks_sent, 0u);
    EXPECT_FALSE(h.tracker.next_due().has_value());
}

TEST(gap_tracker, holdsWhatFollowsAGapUntilTheRetransmissionFillsIt) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 2));
    h.feed(live("t", 5));
    h.feed(live("t", 6));

    EXPECT_EQ(h.released(), (strings{"t 1", "t 2"}));
    EXPECT_EQ(h.nacks(), (strings{"t 3+2"}));
    EXPECT_EQ(h.tracker.held(), 2u);

    h.feed(replayed("t", 4)); // out of order: still waits for 3
    EXPECT_TRUE(h.released().empty());
    h.feed(replayed("t", 3));

    EXPECT_EQ(h.released(), (strings{"t 3", "t 4", "t 5", "t 6"}));
    EXPECT_EQ(h.tracker.held(), 0u);
    EXPECT_EQ(h.tracker.counters().repaired, 2u);
    EXPECT_EQ(h.tracker.counters().delivered, 6u);
    EXPECT_EQ(h.tracker.counters().nacks_sent, 1u);
    EXPECT_FALSE(h.tracker.next_due().has_value());
}

TEST(gap_tracker, repairsSeveralGapsEachWithItsOwnNack) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 3));
    h.feed(live("t", 6));
    h.feed(live("t", 7));
    EXPECT_EQ(h.nacks(), (strings{"t 2+1", "t 4+2"}));

    h.feed(replayed("t", 4));
    EXPECT_EQ(h.released(), (strings{"t 1"}));
    h.feed(replayed("t", 2));
    EXPECT_EQ(h.released(), (strings{"t 2", "t 3", "t 4"}));
    h.feed(replayed("t", 5));
    EXPECT_EQ(h.released(), (strings{"t 5", "t 6", "t 7"}));
    EXPECT_EQ(h.tracker.counters().repaired, 3u);
}

TEST(gap_tracker, aLiveMessageThatFillsAGapIsDeliveredButNotCountedRepaired) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 3));
    h.feed(live("t", 2)); // reordered on the way, not retransmitted

    EXPECT_EQ(h.released(), (strings{"t 1", "t 2", "t 3"}));
    EXPECT_EQ(h.tracker.counters().repaired, 0u);
}

TEST(gap_tracker, dropsAndCountsDuplicatesLiveAndReplayed) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 2));
    h.feed(live("t", 4));
    (void)h.released();

    h.feed(live("t", 2));     // delivered already
    h.feed(live("t", 4));     // held already
    h.feed(replayed("t", 1)); // a retransmission nobody waits for
    h.feed(replayed("t", 4)); // held already

    EXPECT_TRUE(h.released().empty());
    EXPECT_EQ(h.tracker.counters().duplicates, 4u);
    h.feed(replayed("t", 3));
    EXPECT_EQ(h.released(), (strings{"t 3", "t 4"}));
}

TEST(gap_tracker, gapLostGivesUpWhatTheApplianceNoLongerHoldsAndReleasesTheRest) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 6));
    EXPECT_EQ(h.nacks(), (strings{"t 2+4"}));
    (void)h.released();

    h.tracker.on_gap_lost("t", 4, h.out); // 2 and 3 are gone; 4 and 5 are held there
    EXPECT_TRUE(h.released().empty());
    EXPECT_EQ(h.tracker.counters().lost, 2u);

    h.feed(replayed("t", 4));
    EXPECT_EQ(h.released(), (strings{"t 4"}));
    h.tracker.on_gap_lost("t", 7, h.out); // 5 is gone too
    EXPECT_EQ(h.released(), (strings{"t 6"}));
    EXPECT_EQ(h.tracker.counters().lost, 3u);
    EXPECT_EQ(h.tracker.counters().repaired, 1u);
    EXPECT_FALSE(h.tracker.next_due().has_value());
}

TEST(gap_tracker, gapLostDoesNotGiveUpSeqsThatMayStillBeOnTheirWay) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 3));
    (void)h.released();

    // Nothing retained: first_held is the topic's next seq, past what arrived.
    h.tracker.on_gap_lost("t", 10, h.out);
    h.tracker.on_gap_lost("elsewhere", 10, h.out); // a topic never seen: ignored
    EXPECT_EQ(h.released(), (strings{"t 3"}));
    EXPECT_EQ(h.tracker.counters().lost, 1u);

    for (uint64_t s = 4; s <= 9; ++s) {
        h.feed(live("t", s));
    }
    EXPECT_EQ(h.released(), (strings{"t 4", "t 5", "t 6", "t 7", "t 8", "t 9"}));
    EXPECT_EQ(h.tracker.counters().lost, 1u);
}

TEST(gap_tracker, nacksAgainWithDoublingWaitsThenGivesUp) {
    harness h(with_nacks(30ms, 3));
    h.feed(live("t", 1), t0);
    h.feed(live("t", 4), t0);
    EXPECT_EQ(h.nacks(), (strings{"t 2+2"}));
    EXPECT_EQ(h.tracker.next_due(), t0 + 30ms);

    h.tracker.poll(t0 + 29ms, h.out);
    EXPECT_TRUE(h.nacks().empty());
    h.tracker.poll(t0 + 30ms, h.out);
    EXPECT_EQ(h.nacks(), (strings{"t 2+2"}));
    EXPECT_EQ(h.tracker.next_due(), t0 + 90ms); // waits 60 ms now

    h.feed(replayed("t", 2), t0 + 40ms);
    EXPECT_EQ(h.released(), (strings{"t 1", "t 2"}));
    h.tracker.poll(t0 + 89ms, h.out);
    EXPECT_TRUE(h.nacks().empty());
    h.tracker.poll(t0 + 90ms, h.out);
    EXPECT_EQ(h.nacks(), (strings{"t 3+1"})); // only what is still missing
    EXPECT_EQ(h.tracker.next_due(), t0 + 210ms);

    h.tracker.poll(t0 + 209ms, h.out); // three NACKs sent: the last one's wait runs
    EXPECT_TRUE(h.released().empty());
    EXPECT_EQ(h.tracker.counters().lost, 0u);
    h.tracker.poll(t0 + 210ms, h.out);
    EXPECT_TRUE(h.nacks().empty());
    EXPECT_EQ(h.released(), (strings{"t 4"}));
    EXPECT_EQ(h.tracker.counters().lost, 1u);
    EXPECT_EQ(h.tracker.counters().nacks_sent, 3u);
    EXPECT_FALSE(h.tracker.next_due().has_value());

    h.feed(replayed("t", 3), t0 + 300ms); // too late: given up
    EXPECT_TRUE(h.released().empty());
    EXPECT_EQ(h.tracker.counters().duplicates, 1u);
}

TEST(gap_tracker, reNacksOnlyTheMissingRunsOfARange) {
    harness h(with_nacks(10ms, 5));
    h.feed(live("t", 1));
    h.feed(live("t", 10));
    h.feed(replayed("t", 4));
    h.feed(replayed("t", 5));
    h.feed(replayed("t", 8));
    EXPECT_EQ(h.nacks(), (strings{"t 2+8"}));

    h.tracker.poll(t0 + 10ms, h.out);

    EXPECT_EQ(h.nacks(), (strings{"t 2+2", "t 6+2", "t 9+1"}));
}

TEST(gap_tracker, aRetainedLastValueDoesNotMakeItNackTheHistory) {
    harness h;
    h.feed(replayed("t", 40)); // the retained value a new subscriber gets
    h.feed(live("t", 100));
    h.feed(live("t", 101));

    EXPECT_EQ(h.released(), (strings{"t 40", "t 100", "t 101"}));
    EXPECT_TRUE(h.nacks().empty());
    EXPECT_EQ(h.tracker.counters().duplicates, 0u);

    h.feed(replayed("t", 40)); // again, now that the topic has a baseline: not awaited
    EXPECT_TRUE(h.released().empty());
    EXPECT_EQ(h.tracker.counters().duplicates, 1u);
}

TEST(gap_tracker, replayStartIsExpectedBeforeAnyLiveMessage) {
    harness h;
    ASSERT_TRUE(h.tracker.expect_from("t", 5, h.out));

    h.feed(live("t", 4)); // older than asked for
    h.feed(replayed("t", 5));
    h.feed(replayed("t", 6));
    h.feed(replayed("t", 8));
    EXPECT_EQ(h.nacks(), (strings{"t 7+1"}));
    h.feed(replayed("t", 7));
    h.feed(live("t", 9));

    EXPECT_EQ(h.released(), (strings{"t 5", "t 6", "t 7", "t 8", "t 9"}));
    EXPECT_EQ(h.tracker.counters().duplicates, 1u);
    EXPECT_FALSE(h.tracker.expect_from("t", 1, h.out)); // it has a baseline now
}

TEST(gap_tracker, replayStartBeforeTheOldestHeldSkipsToItOnGapLost) {
    harness h;
    ASSERT_TRUE(h.tracker.expect_from("t", 5, h.out));

    h.tracker.on_gap_lost("t", 20, h.out);
    h.feed(replayed("t", 20));
    h.feed(replayed("t", 21));
    h.feed(live("t", 22));

    EXPECT_EQ(h.released(), (strings{"t 20", "t 21", "t 22"}));
    EXPECT_TRUE(h.nacks().empty());
    EXPECT_EQ(h.tracker.counters().lost, 15u);
}

TEST(gap_tracker, replayStartWhoseGapLostWasDroppedNacksAndRecovers) {
    harness h;
    ASSERT_TRUE(h.tracker.expect_from("t", 5, h.out));

    h.feed(replayed("t", 20)); // the GAP_LOST before it did not arrive
    EXPECT_EQ(h.nacks(), (strings{"t 5+15"}));
    h.tracker.on_gap_lost("t", 20, h.out);

    EXPECT_EQ(h.released(), (strings{"t 20"}));
    EXPECT_EQ(h.tracker.counters().lost, 15u);
}

TEST(gap_tracker, splitsLongGapsIntoNacksOfAtMostMaxNackCount) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 2501));

    EXPECT_EQ(h.nacks(), (strings{"t 2+1024", "t 1026+1024", "t 2050+451"}));
    EXPECT_EQ(h.tracker.counters().nacks_sent, 3u);
}

TEST(gap_tracker, asksForAHugeGapFromItsStartSixteenNacksAtATime) {
    harness h;
    h.feed(live("t", 1));
    h.feed(live("t", 10'000'000));

    const strings n = h.nacks();
    ASSERT_EQ(n.size(), 16u);
    EXPECT_EQ(n.front(), "t 2+1024");
    EXPECT_EQ(n.back(), "t " + std::to_string(2 + 15 * 1024) + "+1024");
}

TEST(gap_tracker, aFullReorderBufferGivesUpTheOldestGap) {
    gap_tracker_options opt;
    opt.max_held = 3;
    harness h(opt);
    h.feed(live("t", 1));
    h.feed(live("t", 3));
    h.feed(live("t", 4));
    h.feed(live("t", 5));
    EXPECT_EQ(h.tracker.held(), 3u);

    h.feed(live("t", 7)); // a fourth to hold: the gap at 2 goes

    EXPECT_EQ(h.released(), (strings{"t 1", "t 3", "t 4", "t 5"}));
    EXPECT_EQ(h.tracker.held(), 1u);
    EXPECT_EQ(h.tracker.counters().lost, 1u);
    h.feed(replayed("t", 6));
    EXPECT_EQ(h.released(), (strings{"t 6", "t 7"}));
}

TEST(gap_tracker, aFullReorderBufferGivesUpTheOldestGapOfAnyTopic) {
    gap_tracker_options opt;
    opt.max_held = 2;
    harness h(opt);
    h.feed(live("a", 1), t0);
    h.feed(live("a", 3), t0);
    h.feed(live("b", 1), t0 + 1ms);
    h.feed(live("b", 3), t0 + 1ms);
    (void)h.released();

    h.feed(live("b", 4), t0 + 2ms);

    EXPECT_EQ(h.released(), (strings{"a 3"}));
    EXPECT_EQ(h.tracker.held(), 2u);
    EXPECT_EQ(h.tracker.counters().lost, 1u);
}

TEST(gap_tracker, aFullTopicTableForgetsTheLeastRecentlySeenTopic) {
    gap_tracker_options opt;
    opt.max_topics = 2;
    harness h(opt);
    h.feed(live("a", 1));
    h.feed(live("a", 3)); // a has a gap at 2
    h.feed(live("b", 1));
    h.feed(live("b", 2));
    (void)h.released();
    EXPECT_EQ(h.nacks(), (strings{"a 2+1"}));

    h.feed(live("c", 1)); // a goes: its gap is given up, what it held comes out

    EXPECT_EQ(h.released(), (strings{"a 3", "c 1"}));
    EXPECT_EQ(h.tracker.topics(), 2u);
    EXPECT_EQ(h.tracker.counters().lost, 1u);
    h.tracker.poll(t0 + 1h, h.out);
    EXPECT_TRUE(h.nacks().empty());
    h.feed(live("a", 9)); // a new baseline: nothing to NACK
    EXPECT_EQ(h.released(), (strings{"a 9"}));
    EXPECT_TRUE(h.nacks().empty());
}

TEST(gap_tracker, keepsSeqsOfEachTopicApart) {
    harness h;
    h.feed(live("a", 1));
    h.feed(live("b", 7));
    h.feed(live("a", 3));
    h.feed(live("b", 8));
    EXPECT_EQ(h.nacks(), (strings{"a 2+1"}));
    h.feed(replayed("a", 2));

    EXPECT_EQ(h.released(), (strings{"a 1", "b 7", "b 8", "a 2", "a 3"}));
}

TEST(gap_tracker, flushGivesUpEveryGapAndReleasesWhatWasHeld) {
    harness h;
    h.feed(live("a", 1));
    h.feed(live("a", 4));
    h.feed(live("b", 1));
    h.feed(live("b", 3));
    (void)h.released();

    h.tracker.flush(h.out);

    EXPECT_EQ(h.released(), (strings{"a 4", "b 3"}));
    EXPECT_EQ(h.tracker.counters().lost, 3u);
    EXPECT_EQ(h.tracker.held(), 0u);
    EXPECT_FALSE(h.tracker.next_due().has_value());
}

TEST(gap_tracker, aLiveSeqOneAfterLaterOnesIsATopicStartedOverNotADuplicate) {
    harness h;
    h.feed(live("t", 7));
    h.feed(live("t", 9)); // 8 missing
    EXPECT_EQ(h.nacks(), (std::vector<std::string>{"t 8+1"}));
    h.feed(live("t", 1)); // the appliance restarted, or forgot the idle topic
    h.feed(live("t", 2));
    EXPECT_EQ(h.released(), (std::vector<std::string>{"t 7", "t 9", "t 1", "t 2"}));
    EXPECT_EQ(h.tracker.counters().lost, 1u);
    EXPECT_EQ(h.tracker.counters().duplicates, 0u);
    // A replayed seq 1 is history, not a restart.
    h.feed(replayed("t", 1));
    EXPECT_EQ(h.tracker.counters().duplicates, 1u);
}

TEST(gap_tracker, refusesZeroCaps) {
    gap_tracker_options opt;
    opt.max_held = 0;
    EXPECT_THROW(gap_tracker{opt}, std::invalid_argument);
    EXPECT_THROW(gap_tracker{with_nacks(30ms, 0)}, std::invalid_argument);
    EXPECT_THROW(gap_tracker{with_nacks(0ms, 3)}, std::invalid_argument);
}

} // namespace
} // namespace ringcast
