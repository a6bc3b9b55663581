// The whole data plane, stepped by hand: an appliance on a net_ring port
// whose RX and TX rings the test holds. Packets go in as bytes built here,
// replies and deliveries come out as mbufs the test reads and frees. EAL
// runs with --no-huge --no-pci --no-shconf.
#include <pipeline_fixture.hpp>

#include <map>
#include <string>
#include <vector>

using namespace ringcast;
using namespace ringcast::testing;

namespace {

TEST_F(pipeline, answers_arp_for_its_address_only) {
    start({0}, 1);
    auto arp = [&](uint32_t target) {
        std::vector<uint8_t> b(42, 0);
        std::memset(b.data(), 0xff, 6);
        std::memcpy(b.data() + 6, client_mac.data(), 6);
        put16(b, 12, 0x0806);
        put16(b, 14, 1);
        put16(b, 16, 0x0800);
        b[18] = 6;
        b[19] = 4;
        put16(b, 20, 1);
        std::memcpy(b.data() + 22, client_mac.data(), 6);
        put32(b, 28, client_ip);
        put32(b, 38, target);
        return b;
    };
    inject(arp(app_ip));
    inject(arp(app_ip + 7));
    step();
    const auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    const std::string& b = out[0].payload;
    EXPECT_EQ(uint8_t(b[21]), 2); // reply
    EXPECT_EQ(std::memcmp(b.data() + 22, _mac.data(), 6), 0);
    EXPECT_EQ(std::memcmp(b.data() + 32, client_mac.data(), 6), 0);
    EXPECT_EQ(stat_of(metric::arp_replies), 1u);
    EXPECT_EQ(drop_of(drop::arp_ignored), 1u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, fans_out_one_shared_frame_to_every_subscriber_in_seq_order) {
    start({0}, 1);
    ASSERT_TRUE(_app->ports()[0].multi_seg_tx) << "net_ring passes chains through";
    for (uint16_t p : {5001, 5002, 5003}) {
        subscribe(p, "md/eurusd");
    }
    subscribe(5004, "md/other");
    for (int i = 0; i < 5; ++i) {
        send(6000, rcp(4, "md/eurusd", "tick" + std::to_string(i), 100 + i));
    }
    step();
    const auto out = drain();
    ASSERT_EQ(out.size(), 15u);
    std::map<uint16_t, std::vector<uint64_t>> seqs;
    std::map<uint64_t, const void*> frame_of_seq;
    for (const auto& f : out) {
        EXPECT_EQ(f.op, uint8_t(op::msg));
        EXPECT_EQ(f.topic, "md/eurusd");
        EXPECT_EQ(f.payload, "tick" + std::to_string(f.seq - 1));
        EXPECT_EQ(f.segs, 2) << "header mbuf chained to the payload";
        seqs[f.dst_port].push_back(f.seq);
        // Zero copy: every subscriber's packet points at the same frame bytes.
        auto [it, fresh] = frame_of_seq.emplace(f.seq, f.frame_addr);
        EXPECT_EQ(it->second, f.frame_addr) << "payload copied for seq " << f.seq;
    }
    for (uint16_t p : {5001, 5002, 5003}) {
        EXPECT_EQ(seqs[p], (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    }
    EXPECT_EQ(seqs.count(5004), 0u);
    EXPECT_EQ(stat_of(metric::deliveries), 15u);
    EXPECT_EQ(stat_of(metric::pub_frames), 5u);
    EXPECT_EQ(stat_of(metric::copy_fallbacks), 0u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, copies_and_counts_when_the_port_lacks_multi_segment_tx) {
    start({0}, 1);
    // As a port without multi-segment TX (net_null, net_af_xdp in 22.11) would be.
    const_cast<port_info&>(_app->ports()[0]).multi_seg_tx = false;
    subscribe(5001, "t");
    subscribe(5002, "t");
    send(6000, rcp(4, "t", "payload", 1));
    step();
    const auto out = drain();
    ASSERT_EQ(out.size(), 2u);
    for (const auto& f : out) {
        EXPECT_EQ(f.segs, 1);
        EXPECT_EQ(f.payload, "payload");
    }
    EXPECT_EQ(stat_of(metric::copy_fallbacks), 2u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, splits_a_datagram_of_several_frames_and_answers_each) {
    start({0}, 1);
    // One datagram: SUB a, SUB b, PING, then two PUBs to a and one to b.
    send(5001, cat(cat(rcp(2, "a", "", 1), rcp(2, "b", "", 2)), rcp(8, "", "echo", 3)));
    send(6000, cat(cat(rcp(4, "a", "x", 1), rcp(4, "b", "y", 2)), rcp(4, "a", "z", 3)));
    step();
    const auto out = drain();
    std::vector<std::string> got;
    for (const auto& f : out) {
        got.push_back(std::to_string(f.op) + ":" + f.topic + ":" + f.payload + ":" + std::to_string(f.seq));
    }
    // The PING is answered by io at once; ACKs and MSGs come from the worker in order.
    EXPECT_EQ(got,
              (std::vector<std::string>{"9::echo:3", "6:::1", "6:::2", "5:a:x:1", "5:b:y:1", "5:a:z:2"}));
    expect_pools_at_baseline();
}

TEST_F(pipeline, refuses_bad_frames_with_err_and_keeps_earlier_frames) {
    start({0}, 1);
    subscribe(5001, "t");
    std::vector<uint8_t> lying = rcp(4, "t", "abc", 77);
    put32(lying, 4, 1000); // payload_len past the datagram
    std::vector<uint8_t> bad_magic = rcp(8, "", "", 5);
    bad_magic[0] = 0xC4;
    std::vector<uint8_t> v2 = rcp(8, "", "", 6);
    v2[1] = 0x28;
    std::vector<uint8_t> op13 = rcp(8, "", "", 7);
    op13[1] = 0x1D;
    send(6000, cat(rcp(4, "t", "good", 1), lying));
    send(6000, bad_magic);
    send(6000, v2);
    send(6000, op13);
    send(6000, std::vector<uint8_t>(10, 0xC5));
    send(6000, rcp(4, "a/+", "", 8));
    send(6000, rcp(4, "$sys", "", 9));
    send(6000, rcp(4, "", "", 10));
    send(6000, rcp(2, "a/#/b", "", 11));
    step();
    const auto out = drain();
    std::vector<std::string> got;
    for (const auto& f : out) {
        got.push_back(std::to_string(f.dst_port) + ":" + std::to_string(f.op) + ":" +
                      std::to_string(f.flags) + ":" + std::to_string(f.seq));
    }
    // The 10-byte datagram gets no ERR: the reply would be larger than it.
    EXPECT_EQ(got, (std::vector<std::string>{"6000:10:1:77", "6000:10:1:5", "6000:10:2:6", "6000:10:8:7",
                                             "6000:10:3:8", "6000:10:3:9", "6000:10:3:10", "6000:10:3:11",
                                             "5001:5:0:1"}));
    EXPECT_EQ(drop_of(drop::malformed), 5u);
    EXPECT_EQ(drop_of(drop::err_too_big), 1u);
    EXPECT_EQ(drop_of(drop::bad_topic), 4u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, rate_limits_err_replies_per_source) {
    start({0}, 1);
    size_t errs = 0;
    for (int chunk = 0; chunk < 11; ++chunk) {
        for (int i = 0; i < 100; ++i) {
            send(6000, std::vector<uint8_t>(16, 0)); // a whole header, bad magic
        }
        step(4);
        errs += drain().size();
    }
    // err_per_s = 1000 with a burst of the same, and time stands still here.
    EXPECT_EQ(drop_of(drop::malformed), 1100u);
    EXPECT_EQ(errs, 1000u);
    EXPECT_EQ(drop_of(drop::err_rate_limited), 100u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, drops_the_subscriptions_of_a_source_whose_lease_lapsed) {
    start({0}, 1);
    subscribe(5001, "t");
    subscribe(5002, "t");
    lcore_ctx& lc = _app->lcore(0);
    const uint64_t lease = lc.hz * 30;
    // 5002 is heard from later than 5001, so only 5001 lapses.
    send(5002, rcp(8, "", "", 1));
    for (const auto& l : _app->lcores()) {
        poll_once(*l, lease / 2, false);
    }
    drain();
    poll_once(lc, lease + 1, true);  // io sweeps, staging the lapse
    poll_once(lc, lease + 1, false); // the worker applies it
    EXPECT_EQ(stat_of(metric::leases_expired), 1u);
    send(6000, rcp(4, "t", "after", 1));
    for (int i = 0; i < 2; ++i) {
        poll_once(lc, lease + 2, false);
    }
    const auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].dst_port, 5002);
    expect_pools_at_baseline();
}

TEST_F(pipeline, unsub_and_bye_stop_delivery_and_free_every_mbuf) {
    start({0}, 1);
    subscribe(5001, "t");
    subscribe(5002, "t");
    subscribe(5002, "u", 2);
    send(5001, rcp(3, "t", "", 9));
    step();
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    send(6000, rcp(4, "t", "one", 1));
    step();
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].dst_port, 5002);
    send(5002, rcp(11, "", "", 12));
    step();
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    EXPECT_EQ(out[0].seq, 12u);
    send(6000, rcp(4, "t", "two", 2));
    send(6000, rcp(4, "u", "two", 3));
    step();
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::subscriptions), 0u);
    // Topics outlive their subscribers until they have been idle a while.
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::topics), 2u); // "t" and "u"
    housekeeping_at(_app->lcores()[0]->hz * (_app->cfg().limits.topic_idle_s + 1));
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::topics), 0u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, spreads_topics_over_two_workers_and_keeps_order_per_topic) {
    start({0, 1}, 2);
    for (int t = 0; t < 20; ++t) {
        subscribe(5001, "topic/" + std::to_string(t), uint64_t(t + 1));
    }
    for (int round = 0; round < 3; ++round) {
        for (int t = 0; t < 20; ++t) {
            send(6000, rcp(4, "topic/" + std::to_string(t), std::to_string(round), 0));
        }
        step();
    }
    const auto out = drain();
    ASSERT_EQ(out.size(), 60u);
    std::map<std::string, std::vector<uint64_t>> seqs;
    for (const auto& f : out) {
        seqs[f.topic].push_back(f.seq);
        EXPECT_EQ(f.payload, std::to_string(f.seq - 1));
    }
    EXPECT_EQ(seqs.size(), 20u);
    for (const auto& [topic, s] : seqs) {
        EXPECT_EQ(s, (std::vector<uint64_t>{1, 2, 3})) << topic;
    }
    // Both workers own some of the topics.
    EXPECT_GT(_app->lcores()[0]->counters.get(gauge::topics), 0u);
    EXPECT_GT(_app->lcores()[1]->counters.get(gauge::topics), 0u);
    expect_pools_at_baseline();
}

TEST_F(pipeline, drains_many_frame_datagrams_in_one_pass_without_ring_drops) {
    start({0}, 1, 2048);
    subscribe(5001, "t");
    // 20 datagrams of 40 PUBs stage 800 items in one io burst; the worker
    // must take them all in the same pass, not one burst of 32.
    for (int d = 0; d < 20; ++d) {
        std::vector<uint8_t> dgram;
        for (int i = 0; i < 40; ++i) {
            dgram = cat(std::move(dgram), rcp(4, "t", "m", uint64_t(i)));
        }
        send(6000, dgram);
    }
    poll_once(_app->lcore(0), 0, false);
    EXPECT_EQ(stat_of(metric::deliveries), 800u);
    EXPECT_EQ(drop_of(drop::ring_full), 0u);
    EXPECT_EQ(drain().size(), 800u);
    expect_pools_at_baseline();
}

// Polls io alone, so the worker's ring fills and stays full.
void poll_io_only(lcore_ctx& lc, uint64_t now, bool housekeeping, int times) {
    worker_state* w = lc.worker;
    lc.worker = nullptr;
    for (int i = 0; i < times; ++i) {
        poll_once(lc, now, housekeeping);
    }
    lc.worker = w;
}

TEST_F(pipeline, refuses_bye_with_overload_rather_than_ack_it_when_a_ring_is_full) {
    start({0}, 1);
    subscribe(5001, "t");
    for (int i = 0; i < 63; ++i) {
        send(6000, rcp(4, "t", "x", uint64_t(i)));
    }
    poll_io_only(_app->lcore(0), 0, false, 2);
    send(5001, rcp(11, "", "", 42));
    poll_io_only(_app->lcore(0), 0, false, 1);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, uint8_t(op::err));
    EXPECT_EQ(out[0].flags, uint8_t(err_code::overload));
    EXPECT_EQ(out[0].seq, 42u);
    step();
    EXPECT_EQ(drain().size(), 63u) << "the subscription must still stand";
    send(5001, rcp(11, "", "", 43));
    step();
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    expect_pools_at_baseline();
}

TEST_F(pipeline, holds_a_lapse_back_until_every_ring_has_room_for_it) {
    start({0}, 1);
    subscribe(5001, "t");
    lcore_ctx& lc = _app->lcore(0);
    const uint64_t lease = lc.hz * 30;
    for (int i = 0; i < 63; ++i) {
        send(6000, rcp(4, "t", "x", uint64_t(i)));
    }
    poll_io_only(lc, lease / 2, false, 2); // 6000 stays fresh; 5001 was last heard at 0
    poll_io_only(lc, lease + 1, true, 1);
    EXPECT_EQ(stat_of(metric::leases_expired), 0u) << "no room: the lapse must wait, not be lost";
    poll_once(lc, lease + 1, false); // the worker drains the ring
    poll_once(lc, lease + lc.hz, true);
    poll_once(lc, lease + lc.hz, false);
    EXPECT_EQ(stat_of(metric::leases_expired), 1u);
    drain();
    send(6000, rcp(4, "t", "after", 99));
    step();
    EXPECT_TRUE(drain().empty());
    expect_pools_at_baseline();
}

TEST_F(pipeline, counts_ring_full_and_frees_what_it_drops) {
    start({0}, 1);
    subscribe(5001, "t");
    // 64-slot ring: poll io only, so the worker never drains it.
    for (int i = 0; i < 100; ++i) {
        send(6000, rcp(4, "t", "x", uint64_t(i)));
    }
    lcore_ctx& lc = _app->lcore(0);
    worker_state* w = lc.worker;
    lc.worker = nullptr;
    for (int i = 0; i < 4; ++i) {
        poll_once(lc, 0, false);
    }
    lc.worker = w;
    EXPECT_EQ(drop_of(drop::ring_full), 100u - 63u);
    step();
    EXPECT_EQ(drain().size(), 63u);
    expect_pools_at_baseline();
}

} // namespace

int main(int argc, char** argv) {
    return ringcast::testing::run_pipeline_tests(argc, argv, "pipeline_test");
}
