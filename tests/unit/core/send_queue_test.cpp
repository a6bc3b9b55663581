#include <ringcast/core/send_queue.hpp>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace ringcast {
namespace {

// Buffers are strings; a piece is written out as its bytes, so a test
// compares what a gather would put on the wire.
struct fixture {
    send_queue_pool pool{8};
    send_queue q;
    std::vector<std::string> bufs;
    std::vector<const std::string*> freed;

    fixture() { bufs.reserve(16); } // pointers into it stay valid
    void push(std::string s, uint32_t skip = 0) {
        bufs.push_back(std::move(s));
        ASSERT_TRUE(pool.push(q, &bufs.back(), static_cast<uint32_t>(bufs.back().size()) - skip, skip));
    }
    std::string gather(uint64_t off, uint32_t len) {
        std::string out;
        pool.gather(q, off, len, [&](void* b, uint32_t from, uint32_t n) {
            out += static_cast<const std::string*>(b)->substr(from, n);
        });
        return out;
    }
    void release(uint64_t n) {
        pool.release(q, n, [&](void* b) { freed.push_back(static_cast<const std::string*>(b)); });
    }
};

TEST(SendQueue, GathersAcrossBuffersByOffset) {
    fixture f;
    f.push("abc");
    f.push("defgh");
    f.push("ij");
    EXPECT_EQ(f.q.bytes(), 10u);
    EXPECT_EQ(f.gather(0, 10), "abcdefghij");
    EXPECT_EQ(f.gather(2, 4), "cdef");
    EXPECT_EQ(f.gather(8, 2), "ij");
    // Backwards (a retransmission) after the cursor moved on.
    EXPECT_EQ(f.gather(1, 3), "bcd");
}

TEST(SendQueue, ASkippedHeadOfABufferIsNeverSent) {
    // An MQTT PUBLISH: a header of its own, then the payload part of a shared frame.
    fixture f;
    f.push("HD");
    f.push("frame-header|payload", 13);
    EXPECT_EQ(f.q.bytes(), 9u);
    EXPECT_EQ(f.gather(0, 9), "HDpayload");
    EXPECT_EQ(f.gather(3, 4), "aylo");
    f.release(9);
    EXPECT_EQ(f.freed.size(), 2u);
}

TEST(SendQueue, CursorFollowsDataPushedAfterAGatherReachedTheEnd) {
    fixture f;
    f.push("abc");
    EXPECT_EQ(f.gather(0, 3), "abc");
    f.push("de");
    EXPECT_EQ(f.gather(3, 2), "de");
    f.push("f");
    EXPECT_EQ(f.gather(5, 1), "f");
}

TEST(SendQueue, ReleaseFreesWholeBuffersOnlyAndKeepsOffsets) {
    fixture f;
    f.push("abc");
    f.push("defgh");
    f.release(2); // part of the first
    EXPECT_TRUE(f.freed.empty());
    EXPECT_EQ(f.q.bytes(), 6u);
    EXPECT_EQ(f.gather(2, 6), "cdefgh");
    f.release(3); // the rest of "abc" and "de"
    ASSERT_EQ(f.freed.size(), 1u);
    EXPECT_EQ(*f.freed[0], "abc");
    EXPECT_EQ(f.gather(5, 3), "fgh");
    f.release(3);
    EXPECT_EQ(f.freed.size(), 2u);
    EXPECT_EQ(f.q.entries, 0u);
    EXPECT_EQ(f.q.bytes(), 0u);
    EXPECT_EQ(f.pool.available(), 8u);
    // Offsets go on from where they were: the stream continues.
    f.push("xy");
    EXPECT_EQ(f.q.head_off, 8u);
    EXPECT_EQ(f.gather(8, 2), "xy");
}

TEST(SendQueue, CursorIsNotTrustedOnceItsEntryWasReleased) {
    fixture f;
    f.push("ab");
    f.push("cd");
    EXPECT_EQ(f.gather(0, 3), "abc"); // cursor on "cd"
    f.release(4);                    // both gone; entries reused below
    f.push("ef");
    f.push("gh");
    EXPECT_EQ(f.gather(4, 4), "efgh");
}

TEST(SendQueue, PoolBoundsEveryQueueTogether) {
    send_queue_pool pool(3);
    send_queue a, b;
    int x = 0;
    EXPECT_TRUE(pool.push(a, &x, 1));
    EXPECT_TRUE(pool.push(b, &x, 1));
    EXPECT_TRUE(pool.push(a, &x, 1));
    EXPECT_FALSE(pool.push(b, &x, 1));
    EXPECT_EQ(pool.available(), 0u);
    int freed = 0;
    pool.clear(a, [&](void*) { ++freed; });
    EXPECT_EQ(freed, 2);
    EXPECT_EQ(a.bytes(), 0u);
    EXPECT_TRUE(pool.push(b, &x, 1));
    EXPECT_EQ(b.entries, 2u);
}

} // namespace
} // namespace ringcast
