#include <ringcast/core/mqtt_session.hpp>

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ringcast::mqtt;
using namespace std::chrono_literals;

namespace {

session_limits limits(uint16_t in_flight, uint32_t queued, uint16_t inbound = 4) {
    return session_limits{in_flight, queued, inbound};
}

std::vector<msg_ref> cleared(session& s) {
    std::vector<msg_ref> out;
    s.clear([&](msg_ref m) { out.push_back(m); });
    return out;
}

} // namespace

TEST(mqtt_session, refusesALimitOfZero) {
    EXPECT_THROW(session(limits(0, 1)), std::invalid_argument);
    EXPECT_THROW(session(limits(1, 0)), std::invalid_argument);
    EXPECT_THROW(session(limits(1, 1, 0)), std::invalid_argument);
}

TEST(mqtt_session, qos1Outbound_publishThenPuback) {
    session s(limits(4, 4));
    const auto r = s.offer(100, 1, true);
    ASSERT_TRUE(r.send);
    EXPECT_EQ(r.id, 1);
    ASSERT_EQ(s.in_flight().size(), 1U);
    EXPECT_EQ(s.in_flight()[0].state, out_state::wait_puback);
    EXPECT_EQ(s.on_pubrec(r.id), std::nullopt) << "PUBREC is not QoS 1's answer";
    EXPECT_EQ(s.on_puback(r.id), 100U) << "the message is done: the caller releases it";
    EXPECT_EQ(s.on_puback(r.id), std::nullopt) << "a repeated PUBACK changes nothing";
    EXPECT_TRUE(s.in_flight().empty());
}

TEST(mqtt_session, qos2Outbound_publishPubrecPubrelPubcomp) {
    session s(limits(4, 4));
    const auto r = s.offer(200, 2, true);
    ASSERT_TRUE(r.send);
    EXPECT_EQ(s.on_puback(r.id), std::nullopt) << "PUBACK is not QoS 2's answer";
    EXPECT_FALSE(s.on_pubcomp(r.id)) << "PUBCOMP before PUBREC";
    EXPECT_EQ(s.on_pubrec(r.id), 200U) << "received: the message is done, PUBREL goes out";
    ASSERT_EQ(s.in_flight().size(), 1U);
    EXPECT_EQ(s.in_flight()[0].state, out_state::wait_pubcomp);
    EXPECT_EQ(s.on_pubrec(r.id), std::nullopt) << "a repeated PUBREC: PUBREL again, nothing released twice";
    EXPECT_TRUE(s.on_pubcomp(r.id));
    EXPECT_TRUE(s.in_flight().empty());
    EXPECT_FALSE(s.on_pubcomp(r.id));
}

TEST(mqtt_session, inFlightFullQueuesAndAcksDrainInOrder) {
    session s(limits(2, 8));
    EXPECT_TRUE(s.offer(1, 1, true).send);
    EXPECT_TRUE(s.offer(2, 2, true).send);
    EXPECT_FALSE(s.offer(3, 1, true).send);
    EXPECT_FALSE(s.offer(4, 2, true).send);
    EXPECT_EQ(s.queued(), 2U);
    EXPECT_EQ(s.next_queued(), std::nullopt) << "no room yet";
    ASSERT_EQ(s.on_puback(s.in_flight()[0].id), 1U);
    const auto n = s.next_queued();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->msg, 3U);
    EXPECT_EQ(n->qos, 1);
    EXPECT_EQ(s.next_queued(), std::nullopt);
    // A new message must not overtake the one still queued.
    EXPECT_FALSE(s.offer(5, 1, true).send);
}

TEST(mqtt_session, offlineMessagesQueueAndTheOldestIsDroppedWhenFull) {
    session s(limits(4, 3));
    for (msg_ref m = 1; m <= 3; ++m) {
        const auto r = s.offer(m, 1, false);
        EXPECT_FALSE(r.send);
        EXPECT_EQ(r.dropped, std::nullopt);
    }
    const auto r = s.offer(4, 2, false);
    EXPECT_EQ(r.dropped, 1U) << "the oldest goes, for the caller to release and count";
    EXPECT_EQ(s.queued(), 3U);
    // Reconnected: delivered oldest first.
    std::vector<msg_ref> order;
    while (const auto n = s.next_queued()) {
        order.push_back(n->msg);
    }
    EXPECT_EQ(order, (std::vector<msg_ref>{2, 3, 4}));
}

TEST(mqtt_session, inFlightSurvivesForRedeliveryOldestFirst) {
    session s(limits(4, 4));
    const auto a = s.offer(10, 1, true);
    const auto b = s.offer(11, 2, true);
    const auto c = s.offer(12, 2, true);
    ASSERT_EQ(s.on_pubrec(c.id), 12U);
    // The connection drops; on reconnect the caller walks in_flight():
    // PUBLISH DUP for a and b, PUBREL for c.
    const auto& f = s.in_flight();
    ASSERT_EQ(f.size(), 3U);
    EXPECT_EQ(f[0].id, a.id);
    EXPECT_EQ(f[0].state, out_state::wait_puback);
    EXPECT_EQ(f[1].id, b.id);
    EXPECT_EQ(f[1].state, out_state::wait_pubrec);
    EXPECT_EQ(f[2].id, c.id);
    EXPECT_EQ(f[2].state, out_state::wait_pubcomp);
    // Clearing releases what the session still holds, not c (released at PUBREC).
    const std::vector<msg_ref> got = cleared(s);
    EXPECT_EQ(std::multiset<msg_ref>(got.begin(), got.end()), (std::multiset<msg_ref>{10, 11}));
    EXPECT_TRUE(s.in_flight().empty());
    EXPECT_EQ(s.queued(), 0U);
}

TEST(mqtt_session, clearReleasesQueuedMessagesToo) {
    session s(limits(1, 4));
    EXPECT_TRUE(s.offer(1, 1, true).send);
    EXPECT_FALSE(s.offer(2, 1, true).send);
    EXPECT_FALSE(s.offer(3, 2, false).send);
    const std::vector<msg_ref> got = cleared(s);
    EXPECT_EQ(std::multiset<msg_ref>(got.begin(), got.end()), (std::multiset<msg_ref>{1, 2, 3}));
}

TEST(mqtt_session, packetIdsAreReusedOnlyOnceFreeAndWrapPastZero) {
    session s(limits(3, 1));
    std::set<uint16_t> ids;
    // Walk the whole id space with one message staying in flight throughout.
    const auto stuck = s.offer(0, 1, true);
    ASSERT_TRUE(stuck.send);
    for (uint32_t i = 0; i < 70'000; ++i) {
        const auto r = s.offer(i + 1, 1, true);
        ASSERT_TRUE(r.send) << i;
        ASSERT_NE(r.id, 0) << "0 is never a packet id (2.3.1-1)";
        ASSERT_NE(r.id, stuck.id) << "an id in flight is not handed out again";
        ids.insert(r.id);
        ASSERT_EQ(s.on_puback(r.id), i + 1);
    }
    EXPECT_EQ(ids.size(), 65534U) << "every id but the one in flight";
}

TEST(mqtt_session, inboundQos2IsDeliveredOnceUntilReleased) {
    session s(limits(1, 1, 2));
    EXPECT_EQ(s.on_publish_qos2(7), session::inbound::fresh);
    EXPECT_EQ(s.on_publish_qos2(7), session::inbound::duplicate) << "a resend with DUP before PUBREL";
    s.on_pubrel(7);
    EXPECT_EQ(s.on_publish_qos2(7), session::inbound::fresh) << "released: the id is a new message";
    EXPECT_EQ(s.on_publish_qos2(8), session::inbound::fresh);
    EXPECT_EQ(s.on_publish_qos2(9), session::inbound::full) << "past max_inbound_qos2";
    s.on_pubrel(1234); // unknown: PUBCOMP anyway, nothing changes
    EXPECT_EQ(s.on_publish_qos2(8), session::inbound::duplicate);
}

TEST(mqtt_session, unsentInFlightGoesAgainOldestFirstUntilOneFailsAgain) {
    session s(limits(4, 4));
    const uint16_t a = s.offer(1, 1, true).id;
    const uint16_t b = s.offer(2, 2, true).id;
    const uint16_t c = s.offer(3, 1, true).id;
    s.mark_unsent(b);
    s.mark_unsent(c);
    EXPECT_TRUE(s.has_unsent());
    std::vector<uint16_t> tried;
    s.resend_unsent([&](const in_flight_entry& e) {
        tried.push_back(e.id);
        return e.id != b; // still no room for b: c waits behind it
    });
    EXPECT_EQ(tried, (std::vector<uint16_t>{b}));
    ASSERT_TRUE(s.on_pubrec(b).has_value()); // its PUBREC came all the same: PUBREL is owed
    s.resend_unsent([&](const in_flight_entry& e) {
        tried.push_back(e.id);
        return true;
    });
    EXPECT_EQ(tried, (std::vector<uint16_t>{b, b, c}));
    EXPECT_FALSE(s.has_unsent());
    EXPECT_TRUE(s.on_puback(a).has_value());
    s.mark_unsent(c);
    EXPECT_TRUE(s.on_puback(c).has_value()); // acknowledged: nothing left to send
    EXPECT_FALSE(s.has_unsent());
    s.mark_all_unsent(); // a reconnect: all of it again
    tried.clear();
    s.resend_unsent([&](const in_flight_entry& e) {
        tried.push_back(e.id);
        return true;
    });
    EXPECT_EQ(tried, (std::vector<uint16_t>{b}));
}

TEST(mqtt_keep_alive, expiresAfterOneAndAHalfTimesTheInterval) {
    const keep_alive::clock::time_point t0{};
    keep_alive k(10, t0);
    EXPECT_FALSE(k.expired(t0 + 15s)) << "exactly 1.5 times is still in time";
    EXPECT_TRUE(k.expired(t0 + 15s + 1ms));
    k.on_packet(t0 + 14s);
    EXPECT_FALSE(k.expired(t0 + 29s));
    EXPECT_TRUE(k.expired(t0 + 29s + 1ms));
    EXPECT_EQ(k.deadline(), t0 + 29s);
}

TEST(mqtt_keep_alive, zeroTurnsItOff) {
    const keep_alive::clock::time_point t0{};
    const keep_alive k(0, t0);
    EXPECT_FALSE(k.expired(t0 + 24h));
}

TEST(mqtt_will, publishedOnEveryEndButDisconnect) {
    EXPECT_FALSE(will_due(close_reason::disconnect));
    for (const close_reason r : {close_reason::keep_alive, close_reason::protocol_error, close_reason::network,
                                 close_reason::taken_over, close_reason::shutdown}) {
        EXPECT_TRUE(will_due(r)) << static_cast<int>(r);
    }
}

TEST(mqtt_client_id, emptyOnlyWithACleanSessionAndBounded) {
    EXPECT_EQ(check_client_id("dev-1", false, 23), 0);
    EXPECT_EQ(check_client_id("", true, 23), 0) << "the server assigns one (3.1.3-6)";
    EXPECT_EQ(check_client_id("", false, 23), 2) << "3.1.3-8";
    EXPECT_EQ(check_client_id(std::string(23, 'a'), false, 23), 0);
    EXPECT_EQ(check_client_id(std::string(24, 'a'), false, 23), 2);
}

namespace ringcast::mqtt {
namespace {

std::span<const std::byte> topic(std::string_view t) {
    return {reinterpret_cast<const std::byte*>(t.data()), t.size()};
}

TEST(mqtt_subscriptions, overlappingFiltersGrantTheHighestQosThatMatches) {
    subscription_set s(8);
    EXPECT_FALSE(s.granted(topic("a/b")).has_value());
    EXPECT_EQ(s.add("a/#", 0), subscription_set::add_result::added);
    // One QoS for all: the worker's match stands, nothing is matched again.
    EXPECT_EQ(s.granted(topic("a/b")), 0);
    EXPECT_EQ(s.add("a/+", 2), subscription_set::add_result::added);
    EXPECT_EQ(s.add("+/b", 1), subscription_set::add_result::added);
    EXPECT_EQ(s.granted(topic("a/b")), 2);
    EXPECT_EQ(s.granted(topic("a/b/c")), 0);
    EXPECT_EQ(s.granted(topic("x/b")), 1);
    EXPECT_FALSE(s.granted(topic("x/y")).has_value()); // an UNSUBSCRIBE crossed it
    EXPECT_EQ(s.add("$share/g/x/+", 1), subscription_set::add_result::added);
    EXPECT_EQ(s.granted(topic("x/y")), 1); // a group's filter proper
}

TEST(mqtt_subscriptions, aFilterHeldAgainTakesTheNewQosAndRemoveForgetsIt) {
    subscription_set s(2);
    EXPECT_EQ(s.add("a", 2), subscription_set::add_result::added);
    EXPECT_EQ(s.add("b", 0), subscription_set::add_result::added);
    EXPECT_EQ(s.add("c", 0), subscription_set::add_result::full);
    EXPECT_EQ(s.add(std::string(256, 'x'), 0), subscription_set::add_result::full);
    EXPECT_EQ(s.add("a", 1), subscription_set::add_result::updated); // 3.8.4-3
    EXPECT_EQ(s.size(), 2u);
    EXPECT_EQ(s.granted(topic("a")), 1);
    EXPECT_TRUE(s.remove("a"));
    EXPECT_FALSE(s.remove("a"));
    EXPECT_EQ(s.granted(topic("a")), 0); // only "b" left, at 0: taken as matched
    s.clear();
    EXPECT_FALSE(s.granted(topic("b")).has_value());
}

TEST(mqtt_answers, dueAnswersLeaveInTheClientsOrderHoweverTheyComplete) {
    answer_queue q(8);
    owed_answer* a = q.push(1, packet_type::puback, 10, 0);
    owed_answer* b = q.push(2, packet_type::suback, 11, 0);
    q.push(3, packet_type::pubrec, 12, 0); // due at once: a duplicate's PUBREC
    a->waiting = 1;
    b->waiting = 2;
    std::vector<uint16_t> sent;
    const auto send = [&](const owed_answer& x) { sent.push_back(x.id); };
    q.find(2)->waiting = 0; // the SUBACK's workers answered first
    q.pop_due(send);
    EXPECT_TRUE(sent.empty()); // the PUBACK ahead of it is not due
    q.find(1)->waiting = 0;
    q.pop_due(send);
    EXPECT_EQ(sent, (std::vector<uint16_t>{10, 11, 12}));
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.find(1), nullptr);
}

TEST(mqtt_answers, boundedAndStalledOnlyWhileTheHeadWaitsPastTheTimeout) {
    answer_queue q(64);
    EXPECT_THROW(answer_queue(0), std::invalid_argument);
    for (uint32_t i = 0; i < q.capacity(); ++i) {
        ASSERT_NE(q.push(i + 1, packet_type::puback, 1, 100), nullptr);
        q.find(i + 1)->waiting = 1;
    }
    EXPECT_EQ(q.push(999, packet_type::puback, 1, 100), nullptr);
    EXPECT_FALSE(q.stalled(2100, 2000));
    EXPECT_TRUE(q.stalled(2101, 2000));
    size_t cleared = 0;
    q.clear([&](const owed_answer&) { ++cleared; });
    EXPECT_EQ(cleared, q.capacity());
    EXPECT_FALSE(q.stalled(9999, 2000));
}

TEST(mqtt_answers, subackCodesPackTwoBitsEachAndKeepTheFailureCode) {
    owed_answer a;
    for (size_t i = 0; i < max_filters_per_request; ++i) {
        a.set_code(i, static_cast<uint8_t>(i % 3));
    }
    a.set_code(5, suback_failure);
    a.set_code(31, suback_failure);
    a.set_code(30, 2);
    for (size_t i = 0; i < max_filters_per_request; ++i) {
        const uint8_t want = i == 5 || i == 31 ? suback_failure : i == 30 ? 2 : static_cast<uint8_t>(i % 3);
        EXPECT_EQ(a.code(i), want) << i;
    }
}

} // namespace
} // namespace ringcast::mqtt
