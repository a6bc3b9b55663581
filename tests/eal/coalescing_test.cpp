// Delivery through the real loops: coalesced datagrams parse back into
// exactly the frames published, in order, for many subscribers and topics;
// copies below tx.copy_below and references above it; references held until
// TX frees the packets and pools back at their baseline; coalescing off is
// one frame per datagram; the in-place 1 -> 1 path; a lone message leaves in
// the pass it came.
#include <pipeline_fixture.hpp>

#include <ringcast/datapath/worker_loop.hpp>

#include <algorithm>
#include <set>

namespace ringcast::testing {
namespace {

// Coalescing on, with this copy threshold and MTU.
std::function<void(config&)> coalescing(uint32_t copy_below = 512, uint32_t mtu = 1500) {
    return [=](config& c) {
        c.tx = tx_config{.coalesce = true, .mtu = mtu, .copy_below = copy_below};
        c.rings.size = 1024;
    };
}

class coalescing_test : public pipeline {
protected:
    // Per subscriber port: the (topic, seq, payload) of every MSG, in arrival order.
    using received = std::map<uint16_t, std::vector<std::string>>;
    static received by_subscriber(const std::vector<out_frame>& out) {
        received r;
        for (const auto& f : out) {
            if (f.op == uint8_t(op::msg)) {
                r[f.dst_port].push_back(f.topic + "#" + std::to_string(f.seq) + "=" + f.payload);
            }
        }
        return r;
    }
    static size_t packets_of(const std::vector<out_frame>& out) {
        std::set<uint32_t> p;
        for (const auto& f : out) {
            p.insert(f.packet);
        }
        return p.size();
    }
    void subscribe_all(std::initializer_list<uint16_t> ports, std::string_view topic) {
        for (uint16_t p : ports) {
            subscribe(p, topic);
        }
    }
};

TEST_F(coalescing_test, a_burst_parses_back_into_every_frame_in_order_per_subscriber_and_topic) {
    start({0}, 1, 1024, coalescing());
    subscribe_all({5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009, 5010}, "md/a");
    subscribe_all({5001, 5002, 5003, 5004, 5005}, "md/b");
    // 24 PUBs alternating topics, all in one pass's burst.
    for (int i = 0; i < 24; ++i) {
        send(6000, rcp(4, i % 2 == 0 ? "md/a" : "md/b", "tick" + std::to_string(i), 100 + i));
    }
    step();
    const auto out = drain();
    const received r = by_subscriber(out);
    std::vector<std::string> want_both;
    std::vector<std::string> want_a;
    for (int i = 0; i < 24; ++i) {
        const std::string topic = i % 2 == 0 ? "md/a" : "md/b";
        const std::string f = topic + "#" + std::to_string(i / 2 + 1) + "=tick" + std::to_string(i);
        want_both.push_back(f);
        if (i % 2 == 0) {
            want_a.push_back(f);
        }
    }
    for (uint16_t p = 5001; p <= 5010; ++p) {
        EXPECT_EQ(r.at(p), p <= 5005 ? want_both : want_a) << "subscriber " << p;
    }
    // 5 x 24 + 5 x 12 frames in a few datagrams: each subscriber's burst fits one.
    const uint64_t frames = 5 * 24 + 5 * 12;
    EXPECT_EQ(stat_of(metric::deliveries), frames);
    EXPECT_EQ(packets_of(out), 10u);
    EXPECT_EQ(stat_of(metric::datagrams), 10u);
    EXPECT_EQ(stat_of(metric::frames_copied), frames);
    EXPECT_EQ(stat_of(metric::frames_referenced), 0u);
    for (const auto& f : out) {
        EXPECT_EQ(f.segs, 1) << "small frames are copied into the header segment";
    }
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, a_datagram_stays_within_the_mtu) {
    start({0}, 1, 1024, coalescing(512, 576)); // frames take at most 548 bytes
    subscribe(5001, "t");
    const std::string payload(100, 'p'); // frames of 16 + 1 + 100 = 117 bytes: 4 per datagram
    for (int i = 0; i < 10; ++i) {
        send(6000, rcp(4, "t", payload, i + 1));
    }
    step();
    const auto out = drain();
    std::map<uint32_t, size_t> frames_in;
    for (const auto& f : out) {
        ++frames_in[f.packet];
    }
    std::vector<size_t> sizes;
    for (const auto& [p, n] : frames_in) {
        sizes.push_back(n);
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 2}));
    std::vector<uint64_t> seqs;
    for (const auto& f : out) {
        seqs.push_back(f.seq);
    }
    EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, frames_at_the_threshold_ride_by_reference_and_are_released) {
    start({0}, 1, 1024, coalescing(512, 9000));
    subscribe_all({5001, 5002, 5003}, "big");
    const std::string payload(600, 'b'); // 619-byte frames: referenced
    for (int i = 0; i < 6; ++i) {
        send(6000, rcp(4, "big", payload + std::to_string(i), i + 1));
    }
    step();
    // While the packets wait for TX, they hold the received frames: an
    // indirect view per frame, but the last of each datagram, which is the
    // frame mbuf itself with one more reference.
    rte_mempool* indirect = _app->pools()[2];
    EXPECT_EQ(rte_mempool_in_use_count(g_input), 6u);
    EXPECT_EQ(rte_mempool_in_use_count(indirect), _baseline[indirect] + 3 * 5);
    const auto out = drain();
    const received r = by_subscriber(out);
    for (uint16_t p = 5001; p <= 5003; ++p) {
        ASSERT_EQ(r.at(p).size(), 6u);
        for (int i = 0; i < 6; ++i) {
            EXPECT_EQ(r.at(p)[i], "big#" + std::to_string(i + 1) + "=" + payload + std::to_string(i));
        }
    }
    EXPECT_EQ(packets_of(out), 3u); // one datagram each
    EXPECT_EQ(stat_of(metric::frames_referenced), 18u);
    EXPECT_EQ(stat_of(metric::frames_copied), 0u);
    for (const auto& f : out) {
        EXPECT_EQ(f.segs, 7) << "the header segment and one per frame";
    }
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, the_segment_limit_splits_a_datagram) {
    start({0}, 1, 1024, coalescing(0, 9000)); // everything by reference
    _app->lcore(0).worker->tx_limits[0].max_segments = 4;
    subscribe(5001, "t");
    for (int i = 0; i < 7; ++i) {
        send(6000, rcp(4, "t", "x" + std::to_string(i), i + 1));
    }
    step();
    const auto out = drain();
    std::map<uint32_t, std::vector<uint64_t>> by_packet;
    for (const auto& f : out) {
        by_packet[f.packet].push_back(f.seq);
        EXPECT_LE(f.segs, 4);
    }
    std::vector<std::vector<uint64_t>> got;
    for (const auto& [p, seqs] : by_packet) {
        got.push_back(seqs);
    }
    EXPECT_EQ(got, (std::vector<std::vector<uint64_t>>{{1, 2, 3}, {4, 5, 6}, {7}}));
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, a_port_without_multi_segment_tx_gets_one_copied_segment) {
    start({0}, 1, 1024, coalescing(0, 1500));
    const_cast<port_info&>(_app->ports()[0]).multi_seg_tx = false;
    _app->lcore(0).worker->tx_limits[0].max_segments = 1;
    subscribe_all({5001, 5002}, "t");
    for (int i = 0; i < 3; ++i) {
        send(6000, rcp(4, "t", "p" + std::to_string(i), i + 1));
    }
    step();
    const auto out = drain();
    EXPECT_EQ(packets_of(out), 2u);
    for (const auto& f : out) {
        EXPECT_EQ(f.segs, 1);
    }
    EXPECT_EQ(stat_of(metric::copy_fallbacks), 6u);
    EXPECT_EQ(stat_of(metric::frames_copied), 6u);
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, switched_off_every_frame_is_its_own_datagram) {
    start({0}, 1, 1024, [](config& c) {
        c.tx.coalesce = false;
        c.rings.size = 1024;
    });
    subscribe_all({5001, 5002}, "t");
    for (int i = 0; i < 5; ++i) {
        send(6000, rcp(4, "t", "p" + std::to_string(i), i + 1));
    }
    step();
    const auto out = drain();
    EXPECT_EQ(out.size(), 10u);
    EXPECT_EQ(packets_of(out), 10u);
    EXPECT_EQ(stat_of(metric::datagrams), 10u);
    EXPECT_EQ(stat_of(metric::deliveries), 10u);
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, a_lone_message_leaves_in_the_pass_it_came) {
    start({0}, 1, 1024, coalescing());
    subscribe_all({5001, 5002}, "t");
    send(6000, rcp(4, "t", "alone", 1));
    step(1);
    EXPECT_EQ(by_subscriber(drain()), (received{{5001, {"t#1=alone"}}, {5002, {"t#1=alone"}}}));
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, one_to_one_goes_out_in_the_received_mbuf) {
    start({0}, 1, 1024, coalescing());
    subscribe(5001, "t");
    rte_mempool* headers = _app->pools()[1];
    const unsigned headers_before = rte_mempool_in_use_count(headers);
    send(6000, rcp(4, "t", "in place", 1));
    step();
    // No header mbuf was taken for it: the delivery sits on the TX ring in
    // the input pool's mbuf.
    EXPECT_EQ(rte_mempool_in_use_count(headers), headers_before);
    EXPECT_EQ(rte_mempool_in_use_count(g_input), 1u);
    const auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].segs, 1);
    EXPECT_EQ(out[0].dst_port, 5001);
    EXPECT_EQ(out[0].payload, "in place");
    EXPECT_EQ(stat_of(metric::in_place), 1u);
    expect_pools_at_baseline();
}

TEST_F(coalescing_test, in_place_only_when_nothing_else_wants_the_frame) {
    start({0}, 1, 1024, [](config& c) {
        c.tx.coalesce = true;
        c.retention.prefixes = {{"kept/", 4}};
    });
    subscribe(5001, "kept/t");     // retained: retention holds the frame
    subscribe_all({5002, 5003}, "two"); // two deliveries
    subscribe(5004, "multi");      // its frame arrives beside another in one datagram
    send(6000, rcp(4, "kept/t", "k", 1));
    send(6000, rcp(4, "two", "w", 1));
    send(6001, cat(rcp(4, "multi", "m1", 1), rcp(4, "other", "o", 2)));
    step();
    const auto out = drain();
    EXPECT_EQ(by_subscriber(out),
              (received{{5001, {"kept/t#1=k"}}, {5002, {"two#1=w"}}, {5003, {"two#1=w"}}, {5004, {"multi#1=m1"}}}));
    EXPECT_EQ(stat_of(metric::in_place), 0u);
    // The retained one is still held; then it is released with its topic.
    EXPECT_EQ(_app->lcore(0).worker->retained.size(), 1u);
}

// A NACK payload: the u32 count.
std::vector<uint8_t> nack(std::string_view topic, uint64_t first, uint32_t count) {
    const std::string p{char(count >> 24), char(count >> 16), char(count >> 8), char(count)};
    return rcp(uint8_t(op::nack), topic, p, first);
}

TEST_F(coalescing_test, retransmissions_and_replays_coalesce_flagged_replayed) {
    start({0}, 1, 1024, [](config& c) {
        c.tx = tx_config{.coalesce = true, .mtu = 1500, .copy_below = 2048};
        c.retention.keep = 16;
    });
    subscribe(5001, "t");
    for (int i = 0; i < 10; ++i) {
        send(6000, rcp(4, "t", "m" + std::to_string(i), i + 1));
    }
    step();
    (void)drain();
    send(5001, nack("t", 1, 10));
    step();
    auto out = drain();
    ASSERT_EQ(out.size(), 10u);
    for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(out[i].seq, i + 1);
        EXPECT_EQ(out[i].payload, "m" + std::to_string(i));
        EXPECT_NE(out[i].flags & flags::replayed, 0) << "seq " << out[i].seq;
        EXPECT_EQ(out[i].packet, out[0].packet) << "all ten in one datagram";
    }
    EXPECT_EQ(stat_of(metric::retransmits), 10u);
    // A late joiner replaying from seq 3 gets 3..10 the same way, after its ACK.
    send(5002, rcp(uint8_t(op::sub), "t", "", 3, flags::replay));
    step();
    out = drain();
    ASSERT_EQ(out.size(), 9u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    for (size_t i = 1; i < out.size(); ++i) {
        EXPECT_EQ(out[i].seq, i + 2);
        EXPECT_NE(out[i].flags & flags::replayed, 0);
        EXPECT_EQ(out[i].packet, out[1].packet);
    }
    // The retained frames themselves were not written: a live subscriber
    // gets the next message unflagged.
    send(6000, rcp(4, "t", "live", 11));
    step();
    out = drain();
    ASSERT_EQ(out.size(), 2u);
    for (const auto& f : out) {
        EXPECT_EQ(f.seq, 11u);
        EXPECT_EQ(f.flags & flags::replayed, 0);
    }
}

} // namespace
} // namespace ringcast::testing

int main(int argc, char** argv) {
    return ringcast::testing::run_pipeline_tests(argc, argv, "coalescing_test");
}
