#include <ringcast/bridge/consumer_position.hpp>

#include <gtest/gtest.h>

#include <optional>

using namespace ringcast;

namespace {

const std::optional<consumer_state> none;

std::optional<consumer_state> at(uint64_t start_seq, uint64_t ack_floor_stream) {
    return consumer_state{start_seq, ack_floor_stream};
}

} // namespace

TEST(resume_point, neitherConsumerLeavesItToTheDeliverPolicy) { EXPECT_EQ(resume_point(none, none), 0U); }

TEST(resume_point, theDurableResumesAfterItsAckFloor) {
    EXPECT_EQ(resume_point(at(1, 41), none), 42U);
    EXPECT_EQ(resume_point(at(0, 41), none), 42U) << "made by another policy, some acknowledged";
}

TEST(resume_point, aDurableWithNothingAcknowledgedResumesAtItsStart) {
    EXPECT_EQ(resume_point(at(500, 0), none), 500U);
    EXPECT_EQ(resume_point(at(500, 499), none), 500U) << "the floor a fresh consumer reports";
    EXPECT_EQ(resume_point(at(0, 0), none), 0U) << "made by another policy, nothing acknowledged";
}

TEST(resume_point, theDurableWinsOverALeftoverMarker) {
    // Killed after the add and before the marker's removal: both exist, and
    // the durable may have got further since.
    EXPECT_EQ(resume_point(at(100, 250), at(100, 0)), 251U);
    EXPECT_EQ(resume_point(at(100, 0), at(100, 0)), 100U);
}

TEST(resume_point, theMarkerStandsInForADeletedDurable) {
    // Killed between the delete and the add.
    EXPECT_EQ(resume_point(none, at(777, 0)), 777U);
    EXPECT_EQ(resume_point(none, at(0, 0)), 0U) << "a marker someone else made: no start seq";
}

TEST(marker_needs_rewrite, aMissingMarkerIsMade) {
    EXPECT_TRUE(marker_needs_rewrite(at(1, 41), none, 42));
    EXPECT_TRUE(marker_needs_rewrite(none, none, 42)) << "a durable never made, or lost: record the start first";
}

TEST(marker_needs_rewrite, aMarkerIsMovedOnlyWhileTheDurableStandsIn) {
    EXPECT_TRUE(marker_needs_rewrite(at(1, 41), at(10, 0), 42));
    EXPECT_FALSE(marker_needs_rewrite(at(1, 41), at(42, 0), 42)) << "already says it";
    // A move that failed after deleting the durable, tried again: deleting
    // the marker now would leave neither.
    EXPECT_FALSE(marker_needs_rewrite(none, at(10, 0), 42));
    EXPECT_FALSE(marker_needs_rewrite(none, at(42, 0), 42));
}

TEST(resume_point, theMarkerIsNamedAfterTheDurable) { EXPECT_EQ(resume_marker_name("ringcast"), "ringcast-resume"); }

TEST(delivery_sequence, consecutiveSeqsFromOneAreInOrder) {
    delivery_sequence d;
    for (uint64_t s = 1; s <= 5; ++s) {
        EXPECT_TRUE(d.next(s)) << s;
    }
}

TEST(delivery_sequence, aSkippedDeliveryIsAGap) {
    delivery_sequence d;
    EXPECT_TRUE(d.next(1));
    EXPECT_TRUE(d.next(2));
    EXPECT_FALSE(d.next(5)) << "3 and 4 never came";
    EXPECT_TRUE(d.next(6)) << "counted from the last one seen";
}

TEST(delivery_sequence, aFirstDeliveryAfterOneIsAGap) {
    delivery_sequence d;
    EXPECT_FALSE(d.next(2));
    d.reset();
    EXPECT_TRUE(d.next(1)) << "a new subscription starts at 1 again";
}

TEST(delivery_sequence, deliveringAgainFromBehindIsNoGap) {
    delivery_sequence d;
    for (uint64_t s = 1; s <= 10; ++s) {
        ASSERT_TRUE(d.next(s));
    }
    EXPECT_TRUE(d.next(7)) << "a new leader's older state";
    EXPECT_TRUE(d.next(8));
    EXPECT_FALSE(d.next(10)) << "then counted from where it went back to";
}
