#include <ringcast/bridge/forward_window.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

using namespace ringcast;
using namespace std::chrono_literals;
using tokens = std::vector<uint64_t>;

namespace {

const forward_window::clock::time_point t0{};

struct expired {
    tokens resend, given_up, retired;
};

expired expire_at(forward_window& w, forward_window::clock::time_point now) {
    expired e;
    w.expire(now, e.resend, e.given_up, e.retired);
    return e;
}

} // namespace

TEST(forward_window, refusesACapacityOfZero) {
    EXPECT_THROW(forward_window(0, resend_policy{}), std::invalid_argument);
}

TEST(forward_window, addTakesIncreasingSeqsUpToTheCapacity) {
    forward_window w(3, resend_policy{});
    EXPECT_TRUE(w.add(10, 100, t0));
    EXPECT_FALSE(w.add(10, 101, t0)) << "a seq not above every seq added";
    EXPECT_FALSE(w.add(9, 101, t0));
    EXPECT_TRUE(w.add(12, 102, t0)) << "gaps between seqs are fine (other subjects of the stream)";
    EXPECT_TRUE(w.add(13, 103, t0));
    EXPECT_TRUE(w.full());
    EXPECT_FALSE(w.add(14, 104, t0));
    EXPECT_EQ(w.size(), 3u);
    EXPECT_EQ(w.tokens(), (tokens{100, 102, 103}));
}

TEST(forward_window, acksRetireInSeqOrderOnlyOnceEveryOlderOneIsAcked) {
    forward_window w(8, resend_policy{});
    for (uint64_t s = 1; s <= 4; ++s) {
        ASSERT_TRUE(w.add(s, s * 10, t0));
    }
    tokens retired;
    EXPECT_TRUE(w.ack(3, retired));
    EXPECT_TRUE(retired.empty()) << "1 and 2 are not ACKed yet";
    EXPECT_TRUE(w.ack(2, retired));
    EXPECT_TRUE(retired.empty());
    EXPECT_EQ(w.resume_seq(), 1u);
    EXPECT_TRUE(w.ack(1, retired));
    EXPECT_EQ(retired, (tokens{10, 20, 30}));
    EXPECT_EQ(w.resume_seq(), 4u);
    EXPECT_EQ(w.size(), 1u);
}

TEST(forward_window, aLateOrRepeatedAckChangesNothing) {
    forward_window w(8, resend_policy{});
    ASSERT_TRUE(w.add(5, 50, t0));
    tokens retired;
    EXPECT_TRUE(w.ack(5, retired));
    EXPECT_FALSE(w.ack(5, retired)) << "repeated (a resend's ACK)";
    EXPECT_FALSE(w.ack(4, retired)) << "never sent";
    EXPECT_FALSE(w.ack(99, retired));
    EXPECT_EQ(retired, (tokens{50}));
}

TEST(forward_window, resendsWhenTheWaitPassesDoublingItUpToTheMax) {
    forward_window w(8, resend_policy{100ms, 300ms, 0});
    ASSERT_TRUE(w.add(1, 10, t0));
    EXPECT_TRUE(expire_at(w, t0 + 99ms).resend.empty());
    EXPECT_EQ(expire_at(w, t0 + 100ms).resend, (tokens{10})); // next wait 200 ms
    EXPECT_TRUE(expire_at(w, t0 + 299ms).resend.empty());
    EXPECT_EQ(expire_at(w, t0 + 300ms).resend, (tokens{10})); // next wait 300 ms (the max), not 400
    EXPECT_TRUE(expire_at(w, t0 + 599ms).resend.empty());
    EXPECT_EQ(expire_at(w, t0 + 600ms).resend, (tokens{10}));
    EXPECT_EQ(expire_at(w, t0 + 900ms).resend, (tokens{10}));
    EXPECT_EQ(w.size(), 1u) << "attempts 0: never given up";
}

TEST(forward_window, anAckedPubIsNotResent) {
    forward_window w(8, resend_policy{100ms, 1s, 0});
    ASSERT_TRUE(w.add(1, 10, t0));
    ASSERT_TRUE(w.add(2, 20, t0));
    tokens retired;
    ASSERT_TRUE(w.ack(2, retired));
    EXPECT_EQ(expire_at(w, t0 + 100ms).resend, (tokens{10}));
}

TEST(forward_window, givesUpAfterTheAttemptsAndRetiresTheAckedOnesBehind) {
    forward_window w(8, resend_policy{100ms, 100ms, 2});
    ASSERT_TRUE(w.add(1, 10, t0));
    ASSERT_TRUE(w.add(2, 20, t0));
    ASSERT_TRUE(w.add(3, 30, t0 + 150ms));
    tokens retired;
    ASSERT_TRUE(w.ack(2, retired));
    ASSERT_TRUE(retired.empty());

    auto e = expire_at(w, t0 + 100ms);
    EXPECT_EQ(e.resend, (tokens{10})); // the second and last send
    e = expire_at(w, t0 + 200ms);
    EXPECT_TRUE(e.resend.empty());
    EXPECT_EQ(e.given_up, (tokens{10}));
    EXPECT_EQ(e.retired, (tokens{20})) << "nothing older holds it back any more";
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.resume_seq(), 3u);
    e = expire_at(w, t0 + 250ms);
    EXPECT_EQ(e.resend, (tokens{30}));
}

TEST(forward_window, tellsARedeliveryApartFromAFreshMessage) {
    forward_window w(8, resend_policy{});
    ASSERT_TRUE(w.add(10, 1000, t0));
    ASSERT_TRUE(w.add(11, 1001, t0));
    ASSERT_TRUE(w.add(12, 1002, t0));
    tokens retired;
    ASSERT_TRUE(w.ack(10, retired));
    ASSERT_TRUE(w.ack(12, retired));

    uint64_t old = 0;
    EXPECT_EQ(w.redelivered(9, 900, old), forward_window::seen::retired);
    EXPECT_EQ(w.redelivered(10, 2000, old), forward_window::seen::retired);
    EXPECT_EQ(w.redelivered(11, 2001, old), forward_window::seen::pending);
    EXPECT_EQ(old, 1001u);
    EXPECT_EQ(w.redelivered(12, 2002, old), forward_window::seen::pending) << "ACKed, held behind 11";
    EXPECT_EQ(old, 1002u);
    EXPECT_EQ(w.redelivered(13, 2003, old), forward_window::seen::fresh);

    retired.clear();
    ASSERT_TRUE(w.ack(11, retired));
    EXPECT_EQ(retired, (tokens{2001, 2002})) << "retired through the current deliveries' tokens";
}

TEST(forward_window, resumesAtTheOldestUnretiredSeqElseOnePastTheHighest) {
    forward_window w(8, resend_policy{});
    EXPECT_EQ(w.resume_seq(), 0u) << "nothing added: the consumer's own start";
    ASSERT_TRUE(w.add(7, 70, t0));
    ASSERT_TRUE(w.add(9, 90, t0));
    EXPECT_EQ(w.resume_seq(), 7u);
    tokens retired;
    ASSERT_TRUE(w.ack(7, retired));
    ASSERT_TRUE(w.ack(9, retired));
    EXPECT_TRUE(w.empty());
    EXPECT_EQ(w.resume_seq(), 10u);
    EXPECT_EQ(w.highest_added(), 9u);
}
