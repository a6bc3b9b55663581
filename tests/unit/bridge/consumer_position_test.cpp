#include <ringcast/bridge/consumer_position.hpp>

#include <gtest/gtest.h>

using namespace ringcast;

TEST(resume_point, aConsumerResumesAfterItsAckFloor) {
    EXPECT_EQ(resume_point({1, 41}), 42U);
    EXPECT_EQ(resume_point({0, 41}), 42U) << "made by another policy, some acknowledged";
}

TEST(resume_point, aConsumerWithNothingAcknowledgedResumesAtItsStart) {
    EXPECT_EQ(resume_point({500, 0}), 500U);
    EXPECT_EQ(resume_point({500, 499}), 500U) << "the floor a fresh consumer reports";
}

TEST(resume_point, aConsumerOfAnotherPolicyWithNothingAcknowledgedSaysNothing) {
    EXPECT_EQ(resume_point({0, 0}), 0U);
}

TEST(consumer_name, isTheDurableAndTheGeneration) { EXPECT_EQ(consumer_name("ringcast", 7), "ringcast-7"); }

TEST(consumer_generation, readsBackWhatConsumerNameWrites) {
    for (const uint64_t g : {1ULL, 9ULL, 10ULL, 123456789ULL, 18446744073709551615ULL}) {
        EXPECT_EQ(consumer_generation("ringcast", consumer_name("ringcast", g)), g) << g;
    }
}

TEST(consumer_generation, otherNamesAreNotTheBridges) {
    const struct {
        const char* name;
        const char* why;
    } cases[] = {
        {"ringcast", "the bare durable name"},
        {"ringcast-", "no generation"},
        {"ringcast-0", "generations start at 1"},
        {"ringcast-07", "a leading zero: not a name the bridge writes"},
        {"ringcast-7x", "not all digits"},
        {"ringcast-7-1", "another durable's (ringcast-7) consumer"},
        {"ringcastx-7", "another prefix"},
        {"ringcast_7", "another separator"},
        {"other-7", "another durable"},
        {"ringcast-99999999999999999999", "past 64 bits"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(consumer_generation("ringcast", c.name), std::nullopt) << c.name << ": " << c.why;
    }
}

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
