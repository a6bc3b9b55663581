#!/usr/bin/env python3
"""The pub/sub scenarios of test_pubsub.py again with one io lcore and two
workers (vdev with two queue pairs): topics spread over the workers by hash.
Plus twenty topics published round-robin."""

import time

import testbed as tb
import test_pubsub  # a module attribute, so unittest runs only TwoWorkers here
from testbed import PUB, delta, frame

TOPICS = [f"mc/t{i:02d}" for i in range(20)]
ROUNDS = 10


class TwoWorkers(test_pubsub.PubSub):
    workers = [0, 1]
    qpairs = 2

    def test_60_twenty_topics_each_delivered_once_in_order(self):
        everything = [self.subscriber(*TOPICS) for _ in range(2)]
        half = self.subscriber(*TOPICS[::2])
        before = self.daemon.stats()
        pub = self.client()
        payloads = {t: test_pubsub.payloads_for(t, ROUNDS) for t in TOPICS}
        sent = 0
        for r in range(ROUNDS):
            for t in TOPICS:
                sent += 1
                pub.send(frame(PUB, t, payloads[t][r], seq=sent))
            time.sleep(0.002)
        for s, topics in ((everything[0], TOPICS), (everything[1], TOPICS), (half, TOPICS[::2])):
            got = s.collect(len(topics) * ROUNDS)
            for t in topics:
                self.assert_stream([f for f in got if f.topic == t.encode()], t, payloads[t])
            self.assertEqual(len(got), len(topics) * ROUNDS, "frames of topics not subscribed arrived")
            self.assertEqual(s.silence(0.1), [], "more frames than were published")
        want = ROUNDS * (2 * len(TOPICS) + len(TOPICS[::2]))
        after = self.daemon.wait_stats(lambda st: delta(st, before, "deliveries") >= want)
        self.assertEqual(delta(after, before, "pub_frames"), sent)
        self.assertEqual(delta(after, before, "deliveries"), want)


if __name__ == "__main__":
    tb.main()
