// The telemetry lists: top-N order, the sliced scan that builds them, and
// the sequence lock under a writer and a reader on two threads.
#include <ringcast/core/snapshot.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ringcast {
namespace {

struct item {
    uint32_t id;
    uint64_t key;
};
uint64_t key_of(const item& i) {
    return i.key;
}

std::vector<uint32_t> ids(const top_list<item, 4>& l) {
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < l.n; ++i) {
        out.push_back(l.top[i].id);
    }
    return out;
}

TEST(snapshot, top_list_keeps_the_largest_in_order) {
    top_list<item, 4> l;
    for (const item& i : {item{1, 5}, item{2, 9}, item{3, 1}, item{4, 7}, item{5, 8}, item{6, 2}}) {
        l.offer(i, key_of);
    }
    EXPECT_EQ(ids(l), (std::vector<uint32_t>{2, 5, 4, 1}));
}

TEST(snapshot, top_list_takes_fewer_than_n) {
    top_list<item, 4> l;
    l.offer({1, 3}, key_of);
    l.offer({2, 4}, key_of);
    EXPECT_EQ(ids(l), (std::vector<uint32_t>{2, 1}));
}

TEST(snapshot, a_tie_with_the_last_entry_does_not_displace_it) {
    top_list<item, 2> l;
    l.offer({1, 5}, key_of);
    l.offer({2, 5}, key_of);
    l.offer({3, 5}, key_of);
    EXPECT_EQ(l.n, 2u);
    EXPECT_EQ(l.top[0].id, 1u);
    EXPECT_EQ(l.top[1].id, 2u);
}

TEST(snapshot, scan_publishes_once_it_went_round_in_slices) {
    top_scan<item, 4> scan;
    const uint32_t capacity = 10;
    std::vector<uint32_t> visited;
    const auto visit = [&](uint32_t id, top_list<item, 4>& top) {
        visited.push_back(id);
        top.offer({id, id}, key_of);
    };
    EXPECT_FALSE(scan.step(capacity, 3, visit));
    EXPECT_FALSE(scan.step(capacity, 3, visit));
    EXPECT_FALSE(scan.step(capacity, 3, visit));
    EXPECT_EQ(scan.out.read().n, 0u); // nothing published mid-round
    EXPECT_TRUE(scan.step(capacity, 3, visit));
    EXPECT_EQ(visited.size(), 10u);
    EXPECT_EQ(ids(scan.out.read()), (std::vector<uint32_t>{9, 8, 7, 6}));
    // The next round starts from id 0 with an empty list.
    visited.clear();
    EXPECT_FALSE(scan.step(capacity, 2, [&](uint32_t id, top_list<item, 4>& top) {
        visited.push_back(id);
        top.offer({id, 100 - id}, key_of);
    }));
    EXPECT_EQ(visited, (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(ids(scan.out.read()), (std::vector<uint32_t>{9, 8, 7, 6})); // the last round stands
}

TEST(snapshot, each_step_visits_at_most_its_slice) {
    top_scan<item, 4> scan;
    uint32_t visits = 0;
    int steps = 0;
    while (!scan.step(1'000'000, 4096, [&](uint32_t, top_list<item, 4>&) { ++visits; })) {
        ++steps;
        ASSERT_EQ(visits, 4096u * steps);
    }
    EXPECT_EQ(visits, 1'000'000u);
}

// Every published list has entries whose keys all equal its round number:
// a reader that saw two rounds mixed would see different keys.
TEST(snapshot, readers_never_see_a_list_half_written) {
    published_list<item, 16> pub;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint64_t round = 1; !stop.load(std::memory_order_relaxed); ++round) {
            top_list<item, 16> l;
            for (uint32_t i = 0; i < 16; ++i) {
                l.offer({i, round}, key_of);
            }
            pub.publish(l);
        }
    });
    uint64_t last = 0;
    for (int i = 0; i < 200'000; ++i) {
        const auto l = pub.read();
        if (l.n == 0) {
            continue;
        }
        ASSERT_EQ(l.n, 16u);
        for (uint32_t k = 1; k < l.n; ++k) {
            ASSERT_EQ(l.top[k].key, l.top[0].key);
        }
        ASSERT_GE(l.top[0].key, last); // rounds only move forward
        last = l.top[0].key;
    }
    stop = true;
    writer.join();
}

} // namespace
} // namespace ringcast
