// Messaging semantics on the real loops, stepped by hand over a net_ring
// port: retention as mbuf references (held, replayed, released), NACK and
// GAP_LOST, late-join REPLAY, RETAIN values, QoS 1/2 ACKs and the dedup
// window, wildcard and shared-group delivery across workers, rate caps and
// loss injection. Every test ends with each mempool back at its baseline.
#include <pipeline_fixture.hpp>

#include <rte_cycles.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace ringcast;
using namespace ringcast::testing;

namespace {

constexpr uint8_t SUB = 2, UNSUB = 3, PUB = 4, NACK = 7, BYE = 11;

std::vector<uint8_t> nack(std::string_view topic, uint64_t first, uint32_t count) {
    std::string p(4, '\0');
    p[0] = char(count >> 24);
    p[1] = char(count >> 16);
    p[2] = char(count >> 8);
    p[3] = char(count);
    return rcp(NACK, topic, p, first);
}

uint64_t u64_of(const std::string& s) {
    EXPECT_EQ(s.size(), 8u);
    uint64_t v = 0;
    for (char c : s) {
        v = v << 8 | uint8_t(c);
    }
    return v;
}

std::vector<uint64_t> seqs_of(const std::vector<out_frame>& out, uint8_t want_op) {
    std::vector<uint64_t> s;
    for (const auto& f : out) {
        if (f.op == want_op) {
            s.push_back(f.seq);
        }
    }
    return s;
}

class semantics : public pipeline {
protected:
    // io on lcore 0; one TX queue per lcore with a role.
    void start_with(std::function<void(config&)> tune, std::vector<uint32_t> workers = {0}) {
        const auto n = uint16_t(std::ranges::count(workers, 0u) != 0 ? workers.size() : workers.size() + 1);
        start(std::move(workers), n, 1024, tune);
    }

    uint64_t hz() { return _app->lcores()[0]->hz; }

    // Every worker forgets its idle topics (and their retained messages).
    void forget_idle_topics() { housekeeping_at(hz() * (_app->cfg().limits.topic_idle_s + 1) + _t); }

    void publish(std::string_view topic, int n, int first_payload = 1) {
        for (int i = 0; i < n; ++i) {
            send(6000, rcp(PUB, topic, "m" + std::to_string(first_payload + i), 0));
        }
        step(n / 16 + 2, _t); // a burst of 32 per poll
    }

    // Beyond the pool's baseline. Packets come in from the test's own pool,
    // so that is where retained messages are held.
    unsigned in_use(std::string_view pool) {
        if (pool == g_input->name) {
            return rte_mempool_in_use_count(g_input);
        }
        for (rte_mempool* mp : _app->pools()) {
            if (pool == mp->name) {
                return rte_mempool_in_use_count(mp) - _baseline[mp];
            }
        }
        ADD_FAILURE() << "no pool " << pool;
        return 0;
    }

    // The subscribers say BYE, idle topics are forgotten with what they
    // retained, and every pool is back at its baseline.
    void bye_and_expect_baseline(std::initializer_list<uint16_t> ports) {
        for (uint16_t p : ports) {
            send(p, rcp(BYE, "", "", 1));
        }
        step(2, _t);
        drain();
        forget_idle_topics();
        expect_pools_at_baseline();
    }

    uint64_t _t = 1; // the loops' clock, in TSC ticks
};

TEST_F(semantics, retention_holds_one_reference_per_message_and_lets_go_when_the_topic_is_forgotten) {
    start_with([](config& c) { c.retention.keep = 4; });
    subscribe(5001, "t");
    publish("t", 10);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    // The last four received mbufs are held, nothing else.
    EXPECT_EQ(in_use("test_input"), 4u);
    EXPECT_EQ(in_use("rc_hdr"), 0u);
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::retained), 4u);
    // A topic with retained messages but no subscriber is kept until idle.
    send(5001, rcp(BYE, "", "", 1));
    step(2, _t);
    drain();
    housekeeping_at(_t);
    EXPECT_EQ(in_use("test_input"), 4u);
    forget_idle_topics();
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::retained), 0u);
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::topics), 0u);
    expect_pools_at_baseline();
}

TEST_F(semantics, nack_retransmits_what_is_held_and_answers_gap_lost_for_the_rest) {
    start_with([](config& c) { c.retention.keep = 4; });
    subscribe(5001, "t");
    publish("t", 10);
    auto live = drain();
    ASSERT_EQ(live.size(), 10u);
    send(5001, nack("t", 5, 4)); // 5..8: 5 and 6 are gone, 7 and 8 held
    step(2, _t);
    const auto out = drain();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].op, uint8_t(op::err));
    EXPECT_EQ(out[0].flags, uint8_t(err_code::gap_lost));
    EXPECT_EQ(out[0].seq, 5u);
    EXPECT_EQ(out[0].topic, "t");
    EXPECT_EQ(u64_of(out[0].payload), 7u); // first seq still held
    for (size_t i = 1; i < 3; ++i) {
        EXPECT_EQ(out[i].op, uint8_t(op::msg));
        EXPECT_EQ(out[i].flags, flags::replayed);
        EXPECT_EQ(out[i].seq, 6u + i);
        EXPECT_EQ(out[i].payload, "m" + std::to_string(6 + i));
        EXPECT_EQ(out[i].segs, 2u); // header + a view of the retained frame: no copy
    }
    // The retransmission points into the very frame that was delivered live.
    EXPECT_EQ(static_cast<const uint8_t*>(out[1].frame_addr) - 16,
              static_cast<const uint8_t*>(live[6].frame_addr));
    EXPECT_EQ(stat_of(metric::retransmits), 2u);
    EXPECT_EQ(stat_of(metric::gap_lost), 1u);
    // The retained frames themselves were not changed by the REPLAYED flag.
    send(5001, nack("t", 7, 1));
    step(2, _t);
    const auto again = drain();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].flags, flags::replayed);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, nack_from_a_source_with_no_subscription_is_counted_not_served) {
    start_with([](config& c) { c.retention.keep = 4; });
    subscribe(5001, "t");
    publish("t", 3);
    drain();
    send(5009, nack("t", 1, 3));
    step(2, _t);
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(drop_of(drop::nack_unknown), 1u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, late_join_replay_gives_history_then_live_without_gap_or_duplicate) {
    start_with([](config& c) { c.retention.keep = 8; });
    publish("t", 5); // nobody subscribed yet: retained all the same
    EXPECT_TRUE(drain().empty());
    send(5001, rcp(SUB, "t", "", 3, flags::replay));
    publish("t", 2, 6); // right behind the SUB, in the same poll
    const auto out = drain();
    ASSERT_EQ(out.size(), 6u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    EXPECT_EQ(out[0].seq, 3u);
    std::vector<uint64_t> seqs;
    for (size_t i = 1; i < out.size(); ++i) {
        EXPECT_EQ(out[i].op, uint8_t(op::msg));
        EXPECT_EQ(out[i].flags, i <= 3 ? flags::replayed : 0) << i;
        EXPECT_EQ(out[i].payload, "m" + std::to_string(out[i].seq));
        seqs.push_back(out[i].seq);
    }
    EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4, 5, 6, 7}));
    EXPECT_EQ(stat_of(metric::replayed), 3u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, replay_from_before_the_history_says_gap_lost_first) {
    start_with([](config& c) { c.retention.keep = 2; });
    publish("t", 5);
    send(5001, rcp(SUB, "t", "", 1, flags::replay));
    step(2, _t);
    const auto out = drain();
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    EXPECT_EQ(out[1].op, uint8_t(op::err));
    EXPECT_EQ(out[1].flags, uint8_t(err_code::gap_lost));
    EXPECT_EQ(out[1].seq, 1u);
    EXPECT_EQ(u64_of(out[1].payload), 4u);
    EXPECT_EQ(out[2].seq, 4u);
    EXPECT_EQ(out[3].seq, 5u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, retained_value_reaches_a_new_subscriber_at_once_and_an_empty_retain_clears_it) {
    start_with([](config&) {}); // keep = 0: only RETAIN keeps anything
    send(6000, rcp(PUB, "cfg", "v1", 0, flags::retain));
    send(6000, rcp(PUB, "cfg", "v2", 0, flags::retain));
    send(6000, rcp(PUB, "cfg", "not kept", 0));
    step(2, _t);
    EXPECT_EQ(in_use("test_input"), 1u);
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::last_values), 1u);
    send(5001, rcp(SUB, "cfg", "", 1));
    step(2, _t);
    auto out = drain();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].op, uint8_t(op::ack));
    EXPECT_EQ(out[1].op, uint8_t(op::msg));
    EXPECT_EQ(out[1].flags, flags::replayed);
    EXPECT_EQ(out[1].seq, 2u);
    EXPECT_EQ(out[1].payload, "v2");
    // Subscribing again to what it holds sends nothing more.
    send(5001, rcp(SUB, "cfg", "", 2));
    step(2, _t);
    EXPECT_EQ(drain().size(), 1u);
    // The idle sweep keeps a topic with a RETAIN value.
    send(5001, rcp(BYE, "", "", 3));
    step(2, _t);
    drain();
    forget_idle_topics();
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::topics), 1u);
    send(6000, rcp(PUB, "cfg", "", 0, flags::retain));
    step(2, _t);
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::last_values), 0u);
    forget_idle_topics();
    expect_pools_at_baseline();
}

TEST_F(semantics, qos1_is_acked_with_the_topic_seq_and_qos2_retry_is_acked_not_delivered) {
    start_with([](config& c) { c.qos.dedup_window_ms = 100; });
    subscribe(5001, "t");
    send(6000, rcp(PUB, "t", "a", 41, 1));
    send(6000, rcp(PUB, "t", "b", 42, 2));
    send(6000, rcp(PUB, "t", "b", 42, 2)); // a retry
    step(2, _t);
    auto out = drain();
    std::vector<std::pair<uint64_t, uint64_t>> acks; // (publisher seq, topic seq)
    std::vector<std::string> delivered;
    for (const auto& f : out) {
        if (f.op == uint8_t(op::ack)) {
            EXPECT_EQ(f.dst_port, 6000);
            acks.emplace_back(f.seq, u64_of(f.payload));
        } else if (f.op == uint8_t(op::msg)) {
            delivered.push_back(f.payload);
        }
    }
    EXPECT_EQ(acks, (std::vector<std::pair<uint64_t, uint64_t>>{{41, 1}, {42, 2}, {42, 2}}));
    EXPECT_EQ(delivered, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(stat_of(metric::qos2_duplicates), 1u);
    // Just inside the window: still a duplicate. At its end: a new message.
    const uint64_t window = hz() / 1000 * 100;
    _t += window - 1;
    send(6000, rcp(PUB, "t", "b", 42, 2));
    step(2, _t);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)).size(), 0u);
    _t += 1;
    send(6000, rcp(PUB, "t", "b", 42, 2));
    step(2, _t);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)), (std::vector<uint64_t>{3}));
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, wildcard_sub_is_acked_once_after_every_worker_and_matches_on_each) {
    start_with([](config&) {}, {0, 1});
    send(5001, rcp(SUB, "a/+", "", 7));
    send(5001, rcp(SUB, "a/#", "", 8));
    step(2, _t);
    auto out = drain();
    EXPECT_EQ(seqs_of(out, uint8_t(op::ack)), (std::vector<uint64_t>{7, 8}));
    // Twenty topics spread over both workers; each once, despite two matching filters.
    for (int i = 0; i < 20; ++i) {
        send(6000, rcp(PUB, "a/" + std::to_string(i), "x", 0));
    }
    send(6000, rcp(PUB, "b/1", "x", 0));
    send(6000, rcp(PUB, "a", "parent", 0)); // a/# matches its parent
    step(2, _t);
    out = drain();
    std::map<std::string, int> got;
    for (const auto& f : out) {
        ++got[f.topic];
    }
    EXPECT_EQ(got.size(), 21u);
    for (const auto& [topic, n] : got) {
        EXPECT_EQ(n, 1) << topic;
    }
    EXPECT_EQ(got.count("b/1"), 0u);
    EXPECT_GT(_app->lcores()[0]->counters.get(gauge::topics), 0u);
    EXPECT_GT(_app->lcores()[1]->counters.get(gauge::topics), 0u);
    send(5001, rcp(UNSUB, "a/+", "", 9));
    send(5001, rcp(UNSUB, "a/#", "", 10));
    step(2, _t);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::ack)), (std::vector<uint64_t>{9, 10}));
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::filters) + _app->lcores()[1]->counters.get(gauge::filters),
              0u);
    forget_idle_topics();
    expect_pools_at_baseline();
}

TEST_F(semantics, a_topic_a_wildcard_matches_keeps_its_seq_through_idle_sweeps) {
    start_with([](config& c) { c.rcp.lease_s = 3600; }); // the subscriber outlives the idle time
    subscribe(5001, "w/+");
    publish("w/x", 2);
    forget_idle_topics(); // idle, but a filter matches it: kept
    publish("w/x", 1, 3);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)), (std::vector<uint64_t>{1, 2, 3}));
    send(5001, rcp(UNSUB, "w/+", "", 2));
    step(2, _t);
    drain();
    forget_idle_topics();
    EXPECT_EQ(_app->lcores()[0]->counters.get(gauge::topics), 0u);
    expect_pools_at_baseline();
}

TEST_F(semantics, shared_group_splits_round_robin_and_skips_a_member_that_left) {
    start_with([](config&) {});
    for (uint16_t p : {5001, 5002, 5003}) {
        subscribe(p, "$share/g/jobs");
    }
    publish("jobs", 9);
    std::map<uint16_t, int> per;
    for (const auto& f : drain()) {
        ++per[f.dst_port];
    }
    EXPECT_EQ(per, (std::map<uint16_t, int>{{5001, 3}, {5002, 3}, {5003, 3}}));
    send(5002, rcp(BYE, "", "", 1));
    step(2, _t);
    drain();
    publish("jobs", 6);
    per.clear();
    for (const auto& f : drain()) {
        ++per[f.dst_port];
    }
    EXPECT_EQ(per, (std::map<uint16_t, int>{{5001, 3}, {5003, 3}}));
    bye_and_expect_baseline({5001, 5003});
}

TEST_F(semantics, injected_loss_drops_exactly_its_fraction_and_counts_it) {
    start_with([](config& c) { c.debug.inject_loss_ppm = 50'000; });
    subscribe(5001, "t");
    publish("t", 100);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)).size(), 95u);
    EXPECT_EQ(drop_of(drop::injected_loss), 5u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, delivery_rate_cap_drops_the_excess_of_one_subscriber_only) {
    start_with([](config& c) {
        c.limits.delivery_rate = 10;
        c.limits.delivery_burst = 5;
    });
    subscribe(5001, "t");
    publish("t", 8);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)).size(), 5u);
    EXPECT_EQ(drop_of(drop::rate_capped), 3u);
    // A tenth of a second later one more token is there.
    _t += hz() / 10;
    publish("t", 2);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)).size(), 1u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, nack_service_is_rate_limited_per_subscriber) {
    start_with([](config& c) {
        c.retention.keep = 64;
        c.repair.nack_rate = 1;
        c.repair.nack_burst = 10;
    });
    subscribe(5001, "t");
    publish("t", 20);
    drain();
    send(5001, nack("t", 1, 20));
    step(2, _t);
    EXPECT_EQ(seqs_of(drain(), uint8_t(op::msg)).size(), 10u);
    EXPECT_EQ(drop_of(drop::nack_limited), 1u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, the_retention_cap_evicts_the_oldest_message_of_any_topic_and_counts_it) {
    start_with([](config& c) {
        c.retention.keep = 100;
        c.retention.max_messages = 6;
    });
    publish("a", 4);
    publish("b", 4);
    EXPECT_EQ(stat_of(metric::retain_evicted), 2u);
    EXPECT_EQ(in_use("test_input"), 6u);
    // "a" lost its two oldest.
    send(5001, rcp(SUB, "a", "", 1, flags::replay));
    step(2, _t);
    const auto out = drain();
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[1].flags, uint8_t(err_code::gap_lost));
    EXPECT_EQ(u64_of(out[1].payload), 3u);
    EXPECT_EQ(out[2].seq, 3u);
    EXPECT_EQ(out[3].seq, 4u);
    bye_and_expect_baseline({5001});
}

TEST_F(semantics, shutdown_releases_whatever_retention_still_holds) {
    start_with([](config& c) { c.retention.keep = 16; });
    publish("a", 5);
    send(6000, rcp(PUB, "b", "v", 0, flags::retain));
    step(2, _t);
    EXPECT_EQ(in_use("test_input"), 6u);
    EXPECT_EQ(_app->shutdown(), 0u);
    EXPECT_EQ(in_use("test_input"), 0u);
}

} // namespace

int main(int argc, char** argv) {
    return ringcast::testing::run_pipeline_tests(argc, argv, "semantics_test");
}

// limits.source_topics_per_s with the clock in the test's hands: a source
// may have the worker create this many topics a second (burst the same);
// the next is refused with ERR LIMIT until time refills the bucket, while a
// SUB to a topic that exists costs nothing.
TEST_F(semantics, new_topics_per_source_are_capped_per_second) {
    start_with([](config& c) { c.limits.source_topics_per_s = 3; });
    const auto subs = [&](std::initializer_list<std::string_view> topics, uint64_t seq) {
        for (std::string_view t : topics) {
            send(6001, rcp(SUB, t, "", seq++));
        }
        step(2, _t);
        std::vector<std::string> got;
        for (const auto& f : drain()) {
            got.push_back(std::to_string(f.op) + ":" + std::to_string(f.seq) + ":" + f.payload);
        }
        return got;
    };
    EXPECT_EQ(subs({"c/1", "c/2", "c/3", "c/4"}, 1),
              (std::vector<std::string>{"6:1:", "6:2:", "6:3:", "10:4:new topics too fast"}));
    send(6002, rcp(SUB, "c/9", "", 1)); // another source: its own budget
    EXPECT_EQ(subs({"c/1"}, 5), (std::vector<std::string>{"6:1:", "6:5:"})); // exists: free
    _t += hz() / 3 + 1; // a third of a second: one more topic
    EXPECT_EQ(subs({"c/5", "c/6"}, 6), (std::vector<std::string>{"6:6:", "10:7:new topics too fast"}));
    EXPECT_EQ(_app->lcores()[0]->counters.get(drop::source_limit), 2u);
    bye_and_expect_baseline({6001, 6002});
}

// A topic table full of topics nobody holds: a new SUB and a new PUB each
// find room at once (the oldest goes); a topic with a RETAIN value stays.
TEST_F(semantics, a_full_topic_table_reclaims_the_oldest_unheld_topic) {
    start_with([](config& c) {
        c.limits.topics = 4;
        c.retention.keep = 0;
        c.retention.max_messages = 64;
    });
    send(6001, rcp(SUB, "r/0", "", 1));
    step(2, _t);
    for (int i = 1; i <= 4; ++i) {
        _t += 10;
        send(6001, rcp(SUB, "r/" + std::to_string(i), "", uint64_t(i + 1)));
        step(2, _t);
    }
    auto out = drain();
    ASSERT_EQ(out.size(), 5u);
    EXPECT_EQ(out[4].op, 10) << "the fifth topic fits only by reclaim, and r/0..r/3 are held";
    // r/0 gets a RETAIN value, then both go unheld: r/0 is first in line
    // for reclaim but must stay for its value.
    send(6003, rcp(PUB, "r/0", "kept", 1, flags::retain));
    step(2, _t);
    _t += 10;
    send(6001, rcp(UNSUB, "r/0", "", 9));
    send(6001, rcp(UNSUB, "r/1", "", 10));
    step(2, _t);
    _t += 10;
    drain();
    send(6001, rcp(SUB, "r/4", "", 11));
    _t += 10;
    step(2, _t);
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, 6) << "ACK: r/1 was reclaimed";
    EXPECT_EQ(_app->lcores()[0]->counters.get(metric::topics_reclaimed), 1u);
    send(6004, rcp(SUB, "r/0", "", 1)); // the RETAIN value survived the reclaim
    step(2, _t);
    out = drain();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].payload, "kept");
    send(6003, rcp(PUB, "r/0", "", 2, flags::retain)); // clears it
    step(2, _t);
    bye_and_expect_baseline({6001, 6004});
}

// A PUB whose MSG could not leave in one datagram (frame > tx.mtu - 28) is
// refused, not sequenced into a gap no NACK could fill.
TEST_F(semantics, a_pub_longer_than_the_mtu_allows_is_refused) {
    start_with([](config& c) { c.tx.mtu = 576; });
    send(6001, rcp(SUB, "big", "", 1));
    step(2, _t);
    drain();
    const std::string fits(576 - 28 - 16 - 3, 'x'); // frame of exactly 548 bytes
    send(6003, rcp(PUB, "big", fits, 7, 1));
    send(6003, rcp(PUB, "big", fits + "y", 8, 1));
    step(2, _t);
    std::vector<std::string> got;
    for (const auto& f : drain()) {
        got.push_back(std::to_string(f.dst_port) + ":" + std::to_string(f.op) + ":" + std::to_string(f.seq));
    }
    // MSG seq 1 to the subscriber, ACK for the first, ERR LIMIT for the second.
    std::ranges::sort(got);
    EXPECT_EQ(got, (std::vector<std::string>{"6001:5:1", "6003:10:8", "6003:6:7"}));
    EXPECT_EQ(_app->lcores()[0]->counters.get(drop::pub_too_big), 1u);
    bye_and_expect_baseline({6001});
}

// Every unheld topic matched by a wildcard filter: the oldest still goes
// rather than a new subscriber being refused.
TEST_F(semantics, reclaim_falls_back_to_a_topic_only_wildcards_match) {
    start_with([](config& c) { c.limits.topics = 2; });
    send(6001, rcp(SUB, "w/#", "", 1));
    send(6002, rcp(SUB, "w/a", "", 1));
    send(6002, rcp(SUB, "w/b", "", 2));
    step(2, _t);
    _t += 10;
    send(6002, rcp(BYE, "", "", 3));
    step(2, _t);
    _t += 10;
    drain();
    send(6004, rcp(SUB, "x", "", 1));
    step(2, _t);
    const auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, 6);
    EXPECT_EQ(_app->lcores()[0]->counters.get(metric::topics_reclaimed), 1u);
    bye_and_expect_baseline({6001, 6004});
}
