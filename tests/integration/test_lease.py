#!/usr/bin/env python3
"""Leases on the real clock: with lease_s = 1 a subscriber that says nothing
loses its subscriptions, one that PINGs keeps them."""

import time

import testbed as tb
from testbed import PING, PONG, delta


class Leases(tb.DaemonTestCase):
    lease_s = 1

    def test_10_silent_subscriber_lapses_pinging_one_stays(self):
        before = self.daemon.stats()
        silent = self.subscriber("lease/t")
        alive = self.subscriber("lease/t")
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            reply, seq = alive.request(PING, payload=b"", expect=PONG)
            self.assertEqual((reply.op, reply.seq), (PONG, seq))
            time.sleep(0.3)
        lapsed = self.daemon.wait_stats(lambda st: delta(st, before, "leases_expired") >= 1)
        self.assertEqual(delta(lapsed, before, "leases_expired"), 1)
        self.assertEqual(lapsed["subscriptions"], before["subscriptions"] + 1)
        pub = self.client()
        tb.publish(pub, "lease/t", [b"after the lease"])
        self.assert_stream(alive.collect(1), "lease/t", [b"after the lease"])
        self.assertEqual(silent.silence(0.3), [], "a subscriber whose lease lapsed still got messages")


if __name__ == "__main__":
    tb.main()
