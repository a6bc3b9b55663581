#!/usr/bin/env python3
"""UDP pub/sub end to end: fan-out exactly once and in order, topics kept
apart, UNSUB and BYE, counters that follow the traffic, mbuf pools back at
their idle baseline, SIGTERM. test_multicore.py runs these again on two
workers."""

import time

import testbed as tb
from testbed import PUB, delta, frame


def payloads_for(topic, n):
    # Varied lengths and every byte value, the magic included: the payload
    # must come back untouched.
    return [f"{topic} #{i:03d} ".encode() + bytes((i * 7 + k) % 256 for k in range(i % 61))
            for i in range(n)]


class PubSub(tb.DaemonTestCase):

    def test_10_every_subscriber_gets_every_message_once_in_order(self):
        subs = [self.subscriber("fan/a") for _ in range(3)]
        other = self.subscriber("fan/b")
        pub = self.client()
        before = self.daemon.stats()
        payloads = payloads_for("fan/a", 200)
        tb.publish(pub, "fan/a", payloads)
        for s in subs:
            self.assert_stream(s.collect(200), "fan/a", payloads)
        self.assertEqual(other.silence(0.3), [], "a subscriber of fan/b got messages of fan/a")
        for s in subs:
            self.assertEqual(s.silence(0.05), [], "a subscriber got more than 200 messages")
        after = self.daemon.wait_stats(lambda st: delta(st, before, "deliveries") >= 600)
        self.assertEqual(delta(after, before, "pub_frames"), 200)
        self.assertEqual(delta(after, before, "deliveries"), 600)

    def test_20_interleaved_topics_keep_separate_seq(self):
        both = self.subscriber("il/x", "il/y")
        only_y = self.subscriber("il/y")
        pub = self.client()
        px, py = payloads_for("il/x", 40), payloads_for("il/y", 40)
        for i in range(40):
            pub.send(frame(PUB, "il/x", px[i], seq=2 * i + 1))
            pub.send(frame(PUB, "il/y", py[i], seq=2 * i + 2))
        got = both.collect(80)
        self.assert_stream([f for f in got if f.topic == b"il/x"], "il/x", px)
        self.assert_stream([f for f in got if f.topic == b"il/y"], "il/y", py)
        self.assertEqual(len(got), 80, "frames of other topics arrived")
        self.assert_stream(only_y.collect(40), "il/y", py)
        self.assertEqual(only_y.silence(0.2), [], "a subscriber of il/y got il/x")

    def test_30_unsub_stops_delivery_to_that_subscriber_only(self):
        leaving = self.subscriber("un/t")
        staying = self.subscriber("un/t")
        pub = self.client()
        tb.publish(pub, "un/t", [b"one"])
        for s in (leaving, staying):
            self.assert_stream(s.collect(1), "un/t", [b"one"])
        leaving.unsub("un/t")  # asserts ACK with the UNSUB's seq
        tb.publish(pub, "un/t", [b"two"])
        self.assert_stream(staying.collect(1), "un/t", [b"two"], first_seq=2)
        self.assertEqual(leaving.silence(0.3), [], "delivery went on after UNSUB was acknowledged")

    def test_40_bye_drops_every_subscription_of_the_source(self):
        leaving = self.subscriber("bye/1", "bye/2")
        watcher = self.subscriber("bye/1", "bye/2")
        pub = self.client()
        leaving.bye()  # asserts ACK with the BYE's seq
        tb.publish(pub, "bye/1", [b"after bye 1"])
        tb.publish(pub, "bye/2", [b"after bye 2"])
        got = watcher.collect(2)
        self.assert_stream([f for f in got if f.topic == b"bye/1"], "bye/1", [b"after bye 1"])
        self.assert_stream([f for f in got if f.topic == b"bye/2"], "bye/2", [b"after bye 2"])
        self.assertEqual(leaving.silence(0.3), [], "delivery went on after BYE was acknowledged")

    def test_50_counters_follow_the_traffic(self):
        n, k = 50, 2
        # The previous test's BYEs are ACKed by the io lcore before every
        # worker has dropped what they held: start from a settled gauge.
        before = self.daemon.stats()
        for _ in range(40):
            time.sleep(0.05)
            now = self.daemon.stats()
            if now["subscriptions"] == before["subscriptions"]:
                break
            before = now
        subs = [self.subscriber("cnt/t") for _ in range(k)]
        subscribed = self.daemon.wait_stats(lambda st: delta(st, before, "subscriptions") >= k)
        self.assertEqual(delta(subscribed, before, "subscriptions"), k)
        pub = self.client()
        payloads = payloads_for("cnt/t", n)
        tb.publish(pub, "cnt/t", payloads)
        for s in subs:
            self.assert_stream(s.collect(n), "cnt/t", payloads)
        after = self.daemon.wait_stats(lambda st: delta(st, subscribed, "deliveries") >= n * k)
        self.assertEqual(delta(after, subscribed, "pub_frames"), n)
        self.assertEqual(delta(after, subscribed, "deliveries"), n * k)
        self.assertGreaterEqual(delta(after, before, "rx_frames"), n + k)
        self.assertGreaterEqual(delta(after, before, "tx_packets"), k)  # coalescing may pack MSGs
        for s in subs:
            s.bye()
        gone = self.daemon.wait_stats(lambda st: st["subscriptions"] <= before["subscriptions"])
        self.assertEqual(gone["subscriptions"], before["subscriptions"], "BYE left subscriptions behind")

    def test_60_a_burst_reaches_kernel_sockets_coalesced_and_whole(self):
        # One datagram of 20 PUBs on two topics: the worker dequeues them as
        # one burst, and each subscriber's share leaves as one datagram.
        both = [self.subscriber("co/a", "co/b") for _ in range(2)]
        only_a = self.subscriber("co/a")
        pub = self.client()
        pa, pb = payloads_for("co/a", 10), payloads_for("co/b", 10)
        frames = []
        for i in range(10):
            frames += [frame(PUB, "co/a", pa[i], seq=2 * i + 1), frame(PUB, "co/b", pb[i], seq=2 * i + 2)]
        before = self.daemon.stats()
        received_before = [s.datagrams for s in both + [only_a]]
        pub.send(*frames)
        for s in both:
            got = s.collect(20)
            self.assert_stream([f for f in got if f.topic == b"co/a"], "co/a", pa)
            self.assert_stream([f for f in got if f.topic == b"co/b"], "co/b", pb)
            self.assertEqual(len(got), 20)
        self.assert_stream(only_a.collect(10), "co/a", pa)
        # One datagram from each worker that owns one of the topics.
        workers = min(2, self.daemon.telemetry("/ringcast/config")["worker_lcores"])
        for s, n in zip(both, received_before):
            self.assertLessEqual(s.datagrams - n, workers, "the burst came in more datagrams than workers")
        self.assertEqual(only_a.datagrams - received_before[-1], 1, "one topic's burst came in several datagrams")
        after = self.daemon.wait_stats(lambda st: delta(st, before, "deliveries") >= 50)
        self.assertEqual(delta(after, before, "deliveries"), 50)
        self.assertLessEqual(delta(after, before, "datagrams"), 1 + 2 * workers)
        self.assertEqual(delta(after, before, "frames_copied"), 50)


if __name__ == "__main__":
    tb.main()
