// Datagram planning: frames gathered per subscriber in order, within the
// MTU and the TX segment limit, copied below the threshold and referenced
// at and above it; a lone frame is its own datagram, and a full plan says so.
#include <ringcast/core/coalesce.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace ringcast {
namespace {

subscriber_record on_port(uint16_t port_id, uint32_t ip = 1) {
    subscriber_record s;
    s.ep = endpoint{.ip = ip, .port = 5000, .port_id = port_id};
    return s;
}

// A datagram as the tests compare it: its subscriber's ip, the frames' msg
// indices in order, and its segment count.
struct dgram {
    uint32_t ip;
    std::vector<uint16_t> msgs;
    uint16_t segments;
    bool operator==(const dgram&) const = default;
};

std::ostream& operator<<(std::ostream& o, const dgram& d) {
    o << "{ip " << d.ip << ", msgs";
    for (auto m : d.msgs) {
        o << " " << m;
    }
    return o << ", segments " << d.segments << "}";
}

std::vector<dgram> plan_of(const coalescer& c) {
    std::vector<dgram> out;
    for (const planned_datagram& d : c.datagrams()) {
        dgram g{d.to->ep.ip, {}, d.segments};
        uint32_t bytes = 0;
        for (uint16_t f = d.first_frame; f != coalescer::end_of_frames; f = c.frame(f).next) {
            g.msgs.push_back(c.frame(f).msg);
            bytes += c.frame(f).part.copy + c.frame(f).part.ref;
        }
        EXPECT_EQ(bytes, d.bytes);
        EXPECT_EQ(g.msgs.size(), d.n_frames);
        out.push_back(g);
    }
    return out;
}

coalesce_limits limits(uint32_t max_bytes = 1472, uint32_t max_segments = 32, uint32_t copy_below = 512) {
    return coalesce_limits{.enabled = true,
                           .max_bytes = max_bytes,
                           .max_segments = max_segments,
                           .copy_room = 2048,
                           .copy_below = copy_below};
}

TEST(coalesce, a_lone_frame_is_its_own_datagram) {
    coalescer c(64, 64);
    const coalesce_limits l = limits();
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    ASSERT_TRUE(c.add(s, 7, 85));
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {7}, 1}}));
}

TEST(coalesce, each_subscriber_gets_its_frames_in_order_in_one_datagram) {
    coalescer c(64, 64);
    const coalesce_limits l = limits();
    c.reset(std::span{&l, 1});
    subscriber_record a = on_port(0, 1);
    subscriber_record b = on_port(0, 2);
    for (uint16_t m = 0; m < 5; ++m) {
        ASSERT_TRUE(c.add(a, m, 85));
        ASSERT_TRUE(c.add(b, m, 85));
    }
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2, 3, 4}, 1}, {2, {0, 1, 2, 3, 4}, 1}}));
}

TEST(coalesce, a_datagram_holds_what_the_mtu_allows_and_the_next_one_follows) {
    coalescer c(64, 64);
    const coalesce_limits l = limits(1472);
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    for (uint16_t m = 0; m < 20; ++m) {
        ASSERT_TRUE(c.add(s, m, 100)); // 14 fit in 1472 bytes
    }
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, 1},
                                              {1, {14, 15, 16, 17, 18, 19}, 1}}));
}

TEST(coalesce, a_frame_exactly_filling_the_mtu_still_fits) {
    coalescer c(64, 64);
    const coalesce_limits l = limits(300);
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    ASSERT_TRUE(c.add(s, 0, 200));
    ASSERT_TRUE(c.add(s, 1, 100));
    ASSERT_TRUE(c.add(s, 2, 1));
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1}, 1}, {1, {2}, 1}}));
}

TEST(coalesce, frames_below_the_threshold_are_copied_and_the_rest_referenced) {
    const coalesce_limits l = limits(1472, 32, 512);
    EXPECT_EQ(coalescer::part_of(l, 511, 0).copy, 511u);
    EXPECT_EQ(coalescer::part_of(l, 511, 0).ref, 0u);
    EXPECT_EQ(coalescer::part_of(l, 512, 0).copy, 0u);
    EXPECT_EQ(coalescer::part_of(l, 512, 0).ref, 512u);
    // A replay copies the header (to flag it) and references the rest.
    EXPECT_EQ(coalescer::part_of(l, 1000, 16).copy, 16u);
    EXPECT_EQ(coalescer::part_of(l, 1000, 16).ref, 984u);
    // Threshold 0: everything by reference.
    const coalesce_limits always_ref = limits(1472, 32, 0);
    EXPECT_EQ(coalescer::part_of(always_ref, 20, 0).ref, 20u);
}

TEST(coalesce, referenced_frames_take_a_segment_each_up_to_the_port_limit) {
    coalescer c(64, 64);
    const coalesce_limits l = limits(9000, 4, 512);
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    for (uint16_t m = 0; m < 5; ++m) {
        ASSERT_TRUE(c.add(s, m, 600));
    }
    // Header segment + 3 referenced frames = the 4 segments allowed.
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2}, 4}, {1, {3, 4}, 3}}));
}

TEST(coalesce, copies_after_a_reference_need_a_segment_of_their_own) {
    coalescer c(64, 64);
    const coalesce_limits l = limits(9000, 32, 512);
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    ASSERT_TRUE(c.add(s, 0, 100)); // copied into the header segment
    ASSERT_TRUE(c.add(s, 1, 100)); // the same
    ASSERT_TRUE(c.add(s, 2, 600)); // referenced: +1
    ASSERT_TRUE(c.add(s, 3, 100)); // copied after a reference: +1
    ASSERT_TRUE(c.add(s, 4, 100)); // into that same copy segment
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2, 3, 4}, 3}}));
}

TEST(coalesce, replayed_frames_copy_their_header_and_reference_the_rest) {
    coalescer c(64, 64);
    const coalesce_limits l = limits(9000, 32, 512);
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    ASSERT_TRUE(c.add(s, 0, 600, 16)); // header copied into segment 0, rest: +1
    ASSERT_TRUE(c.add(s, 1, 600, 16)); // header copy after a reference: +1, rest: +1
    ASSERT_TRUE(c.add(s, 2, 100, 16)); // small: copied whole, after a reference: +1
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2}, 5}}));
    EXPECT_EQ(c.frame(0).part.copy, 16u);
    EXPECT_EQ(c.frame(2).part.copy, 100u);
}

TEST(coalesce, a_full_copy_segment_opens_another) {
    coalescer c(64, 64);
    coalesce_limits l = limits(9000, 32, 512);
    l.copy_room = 250; // the first segment: 42 header bytes + 2 frames of 100
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    for (uint16_t m = 0; m < 4; ++m) {
        ASSERT_TRUE(c.add(s, m, 100));
    }
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2, 3}, 2}}));
}

TEST(coalesce, without_multi_segment_tx_everything_is_copied_into_one_segment) {
    coalescer c(64, 64);
    const coalesce_limits l = limits(1472, 1, 512);
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    for (uint16_t m = 0; m < 3; ++m) {
        ASSERT_TRUE(c.add(s, m, 600));
    }
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1}, 1}, {1, {2}, 1}}));
    EXPECT_EQ(c.frame(0).part.ref, 0u);
}

TEST(coalesce, switched_off_each_frame_is_its_own_datagram) {
    coalescer c(64, 64);
    coalesce_limits l = limits();
    l.enabled = false;
    c.reset(std::span{&l, 1});
    subscriber_record s = on_port(0);
    for (uint16_t m = 0; m < 3; ++m) {
        ASSERT_TRUE(c.add(s, m, 85));
    }
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0}, 1}, {1, {1}, 1}, {1, {2}, 1}}));
}

TEST(coalesce, each_port_has_its_own_limits) {
    coalescer c(64, 64);
    std::array<coalesce_limits, 2> l = {limits(1472), limits(200)};
    c.reset(l);
    subscriber_record a = on_port(0, 1);
    subscriber_record b = on_port(1, 2);
    for (uint16_t m = 0; m < 3; ++m) {
        ASSERT_TRUE(c.add(a, m, 100));
        ASSERT_TRUE(c.add(b, m, 100));
    }
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1, 2}, 1}, {2, {0, 1}, 1}, {2, {2}, 1}}));
}

TEST(coalesce, a_full_plan_refuses_and_the_next_plan_starts_clean) {
    coalescer c(4, 2);
    const coalesce_limits l = limits();
    c.reset(std::span{&l, 1});
    subscriber_record a = on_port(0, 1);
    subscriber_record b = on_port(0, 2);
    subscriber_record d = on_port(0, 3);
    ASSERT_TRUE(c.add(a, 0, 85));
    ASSERT_TRUE(c.add(b, 0, 85));
    EXPECT_FALSE(c.add(d, 0, 85)); // no datagram left
    ASSERT_TRUE(c.add(a, 1, 85));
    ASSERT_TRUE(c.add(b, 1, 85));
    EXPECT_FALSE(c.add(a, 2, 85)); // no frame left
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {0, 1}, 1}, {2, {0, 1}, 1}}));
    c.reset(std::span{&l, 1});
    EXPECT_TRUE(c.empty());
    ASSERT_TRUE(c.add(a, 2, 85)); // a new datagram: a's last one belongs to the old plan
    EXPECT_EQ(plan_of(c), (std::vector<dgram>{{1, {2}, 1}}));
}

} // namespace
} // namespace ringcast
