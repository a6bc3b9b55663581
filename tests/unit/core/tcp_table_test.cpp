// TCP-lite's connection table: lookup by 4-tuple, a full table, TIME_WAIT
// bounded in count (oldest first), ids reused, and the owner function.
#include <ringcast/core/tcp_table.hpp>

#include <gtest/gtest.h>

#include <set>

namespace ringcast {
namespace {

tcp_tuple tuple(uint16_t peer_port, uint32_t peer_ip = 0xc0000202) {
    return tcp_tuple{.peer_ip = peer_ip, .local_ip = 0xc0000201, .peer_port = peer_port, .local_port = 7700};
}

TEST(tcp_table, finds_what_it_holds_by_the_whole_tuple) {
    tcp_table t({.connections = 8, .time_wait = 4});
    uint32_t evicted = 0;
    const uint32_t a = t.insert(tuple(40000), evicted);
    ASSERT_NE(a, no_id);
    EXPECT_EQ(evicted, no_id);
    const uint32_t b = t.insert(tuple(40000, 0xc0000203), evicted);
    EXPECT_NE(a, b);
    EXPECT_EQ(t.find(tuple(40000)), a);
    EXPECT_EQ(t.find(tuple(40000, 0xc0000203)), b);
    EXPECT_EQ(t.find(tuple(40001)), no_id);
    EXPECT_EQ(t.tuple(a), tuple(40000));
    EXPECT_EQ(t.size(), 2u);
    t.erase(a);
    EXPECT_EQ(t.find(tuple(40000)), no_id);
    EXPECT_EQ(t.size(), 1u);
    t.erase(a); // twice: nothing
    EXPECT_EQ(t.size(), 1u);
}

TEST(tcp_table, a_full_table_of_live_connections_refuses_and_time_wait_makes_room) {
    tcp_table t({.connections = 3, .time_wait = 3});
    uint32_t evicted = 0;
    uint32_t ids[3];
    for (uint16_t i = 0; i < 3; ++i) {
        ids[i] = t.insert(tuple(i), evicted);
        ASSERT_NE(ids[i], no_id);
    }
    EXPECT_EQ(t.insert(tuple(9), evicted), no_id);
    EXPECT_EQ(evicted, no_id);
    // Two go to TIME_WAIT, 1 first: the newcomer takes the oldest's slot.
    EXPECT_EQ(t.entered_time_wait(ids[1]), no_id);
    EXPECT_EQ(t.entered_time_wait(ids[0]), no_id);
    EXPECT_EQ(t.time_wait(), 2u);
    const uint32_t c = t.insert(tuple(9), evicted);
    EXPECT_EQ(evicted, ids[1]);
    EXPECT_EQ(c, ids[1]);
    EXPECT_EQ(t.find(tuple(1)), no_id);
    EXPECT_EQ(t.find(tuple(9)), c);
    EXPECT_EQ(t.time_wait(), 1u);
}

TEST(tcp_table, time_wait_is_bounded_in_count_oldest_first) {
    tcp_table t({.connections = 16, .time_wait = 2});
    uint32_t evicted = 0;
    uint32_t ids[4];
    for (uint16_t i = 0; i < 4; ++i) {
        ids[i] = t.insert(tuple(i), evicted);
    }
    EXPECT_EQ(t.entered_time_wait(ids[2]), no_id);
    EXPECT_EQ(t.entered_time_wait(ids[0]), no_id);
    EXPECT_EQ(t.entered_time_wait(ids[0]), no_id); // once only
    EXPECT_EQ(t.entered_time_wait(ids[3]), ids[2]);  // the third pushes the oldest out
    EXPECT_EQ(t.find(tuple(2)), no_id);
    EXPECT_EQ(t.time_wait(), 2u);
    // Erasing one in the line (a fresh SYN reused its tuple) takes it out of the line.
    t.erase(ids[0]);
    EXPECT_EQ(t.time_wait(), 1u);
    EXPECT_EQ(t.entered_time_wait(ids[1]), no_id);
    EXPECT_EQ(t.size(), 2u);
}

TEST(tcp_table, owner_spreads_tuples_and_is_stable) {
    std::set<uint32_t> owners;
    for (uint16_t p = 0; p < 200; ++p) {
        const uint32_t o = tcp_owner(tuple(p), 3);
        EXPECT_LT(o, 3u);
        EXPECT_EQ(o, tcp_owner(tuple(p), 3));
        owners.insert(o);
        EXPECT_LT(tcp_owner(tuple(p), 4), 4u);
    }
    EXPECT_EQ(owners.size(), 3u);
}

} // namespace
} // namespace ringcast
