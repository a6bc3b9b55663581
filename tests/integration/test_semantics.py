#!/usr/bin/env python3
"""Messaging semantics on the test bed with kernel sockets: wildcard delivery
and isolation, a shared group splitting a stream, QoS 1 and QoS 2 ACKs, NACK
and GAP_LOST, late-join REPLAY, RETAIN values, per-subscriber telemetry,
and repair by the client library under injected loss."""

import re
import struct
import subprocess
import time

import testbed as tb
from testbed import (ACK, E_BAD_TOPIC, E_GAP_LOST, E_MALFORMED, ERR, MSG, NACK, PUB, SUB, delta, frame, publish)

QOS1, QOS2, REPLAY, RETAIN, REPLAYED = 0x01, 0x02, 0x04, 0x08, 0x10
SERVER = f"{tb.APP_ADDR}:{tb.RCP_PORT}"
KEEP = 1024  # config/testbed.toml: messages kept per topic


def u64(payload):
    (v,) = struct.unpack(">Q", payload)
    return v


def nack(topic, first, count):
    return frame(NACK, topic, struct.pack(">I", count), seq=first)


class Semantics(tb.DaemonTestCase):

    def msgs(self, client, count, timeout=5.0):
        frames = client.collect(count, timeout)
        self.assertTrue(all(f.op == MSG for f in frames), [tb.describe(f) for f in frames if f.op != MSG][:3])
        return frames

    def test_10_wildcards_deliver_what_they_match_once_and_nothing_else(self):
        plus = self.subscriber("s/+/x")
        hash_ = self.subscriber("s/#")
        exact = self.subscriber("s/a/x")
        both = self.subscriber("s/+/x", "s/#", "s/a/x")  # overlapping: still once per message
        pub = self.client()
        topics = ["s/a/x", "s/b/x", "s/a/y", "s", "t/a/x", "s/a/x/deeper", "sx/a/x"]
        for t in topics:
            pub.send(frame(PUB, t, t))
        want = {
            plus: ["s/a/x", "s/b/x"],
            hash_: ["s/a/x", "s/b/x", "s/a/y", "s", "s/a/x/deeper"],
            exact: ["s/a/x"],
            both: ["s/a/x", "s/b/x", "s/a/y", "s", "s/a/x/deeper"],
        }
        for client, expected in want.items():
            got = [f.topic.decode() for f in self.msgs(client, len(expected))]
            self.assertEqual(sorted(got), sorted(expected))
            self.assertEqual(client.silence(), [], "a message it does not match, or a duplicate")

    def test_11_bad_filters_and_wildcard_pubs_are_refused(self):
        c = self.client()
        for bad in ("a+", "a/#/b", "#a", "a/b#", "$share/g", "$share//a", "$SYS/x"):
            reply, _ = c.request(SUB, bad)
            self.assertEqual((reply.op, reply.flags), (ERR, E_BAD_TOPIC), f"{bad}: {tb.describe(reply)}")
        for bad in ("a/+", "a/#"):
            reply, _ = c.request(PUB, bad, b"x", expect=ERR)
            self.assertEqual(reply.flags, E_BAD_TOPIC, bad)

    def test_12_lying_nacks_and_qos3_are_refused_and_counted(self):
        sub = self.subscriber("bad/t")
        before = self.daemon.stats()
        cases = [  # (frame, ERR code, drop reason)
            (frame(NACK, "bad/t", struct.pack(">I", 0), seq=1), E_MALFORMED, "bad_nack"),
            (frame(NACK, "bad/t", struct.pack(">I", 1025), seq=2), E_MALFORMED, "bad_nack"),
            (frame(NACK, "bad/t", b"\x00\x01", seq=3), E_MALFORMED, "bad_nack"),
            (frame(NACK, "bad/+", struct.pack(">I", 1), seq=4), E_BAD_TOPIC, "bad_topic"),
            (frame(PUB, "bad/t", b"x", seq=5, flags=3), E_MALFORMED, "bad_flags"),
        ]
        for f, code, _ in cases:
            sub.send(f)
            seq = struct.unpack_from(">Q", f, 8)[0]
            reply = sub.wait_for(ERR, seq)
            self.assertEqual((reply.op, reply.flags), (ERR, code), tb.describe(reply))
        after = self.daemon.stats()
        for reason in ("bad_nack", "bad_topic", "bad_flags"):
            want = sum(1 for _, _, r in cases if r == reason)
            self.assertEqual(after["drops"][reason] - before["drops"][reason], want, reason)
        self.assertEqual(sub.silence(), [], "a refused PUB was delivered")

    def test_20_shared_group_of_three_splits_3000_messages_without_loss_or_double(self):
        members = [self.subscriber("$share/workers/jobs/+") for _ in range(3)]
        watcher = self.subscriber("jobs/q")  # a plain subscriber still gets everything
        publish(self.client(), "jobs/q", [str(i) for i in range(3000)])
        seen = []
        for m in members:
            got = [int(f.payload) for f in self.msgs(m, 1000, timeout=10)]
            self.assertEqual(len(got), 1000, "round-robin over three gives each a third")
            seen += got
        self.assertEqual(sorted(seen), list(range(3000)))
        self.assertEqual(len(self.msgs(watcher, 3000, timeout=10)), 3000)
        for m in members:
            self.assertEqual(m.silence(), [])

    def test_30_qos1_pub_is_acked_with_its_topic_seq(self):
        sub = self.subscriber("q1/t")
        pub = self.client()
        for i in range(3):
            pub.send(frame(PUB, "q1/t", f"m{i}", seq=500 + i, flags=QOS1))
            ack = pub.wait_for(ACK, 500 + i)
            self.assertEqual(ack.op, ACK, tb.describe(ack))
            self.assertEqual(u64(ack.payload), i + 1)
        self.assertEqual([f.payload for f in self.msgs(sub, 3)], [b"m0", b"m1", b"m2"])

    def test_40_qos2_pub_sent_twice_is_delivered_once_and_acked_twice(self):
        sub = self.subscriber("q2/t")
        pub = self.client()
        for _ in range(2):
            pub.send(frame(PUB, "q2/t", "once", seq=900, flags=QOS2))
            ack = pub.wait_for(ACK, 900)
            self.assertEqual((ack.op, u64(ack.payload)), (ACK, 1), tb.describe(ack))
        self.assertEqual([f.payload for f in self.msgs(sub, 1)], [b"once"])
        self.assertEqual(sub.silence(), [], "the retry was delivered again")
        self.assertGreaterEqual(self.daemon.stats()["qos2_duplicates"], 1)

    def test_50_nack_repairs_from_retention_and_beyond_it_answers_gap_lost(self):
        sub = self.subscriber("hist/t")
        n = KEEP + 6
        publish(self.client(), "hist/t", [str(i) for i in range(1, n + 1)])
        self.assertEqual(len(self.msgs(sub, n, timeout=10)), n)
        sub.send(nack("hist/t", 1, 10))
        lost = sub.wait_for(ERR, 1)
        self.assertEqual((lost.flags, lost.topic, u64(lost.payload)), (E_GAP_LOST, b"hist/t", n - KEEP + 1))
        again = self.msgs(sub, 4)
        self.assertEqual([(f.seq, f.flags, f.payload) for f in again],
                         [(s, REPLAYED, str(s).encode()) for s in range(7, 11)])

    def test_60_late_joiner_with_replay_gets_history_then_live_without_gap(self):
        pub = self.client()
        publish(pub, "late/t", [f"h{i}" for i in range(1, 51)])
        self.daemon.wait_stats(lambda s: s["retained"] >= 50)
        late = self.client()
        self.addCleanup(late.bye)
        late.send(frame(SUB, "late/t", seq=1, flags=REPLAY))
        self.assertEqual(late.wait_for(ACK, 1).op, ACK)
        history = self.msgs(late, 50)
        self.assertEqual([(f.seq, f.flags) for f in history], [(s, REPLAYED) for s in range(1, 51)])
        publish(pub, "late/t", [f"h{i}" for i in range(51, 61)])
        live = self.msgs(late, 10)
        self.assertEqual([(f.seq, f.flags, f.payload) for f in live],
                         [(s, 0, f"h{s}".encode()) for s in range(51, 61)])
        self.assertEqual(late.silence(), [])

    def test_70_retained_value_reaches_a_new_subscriber_at_once(self):
        pub = self.client()
        for v in ("v1", "v2"):
            pub.send(frame(PUB, "state/door", v, flags=RETAIN))
        self.daemon.wait_stats(lambda s: s["last_values"] >= 1)
        sub = self.subscriber("state/door")
        got = self.msgs(sub, 1)
        self.assertEqual([(f.seq, f.flags, f.payload) for f in got], [(2, REPLAYED, b"v2")])
        # A wildcard subscriber gets it too.
        wild = self.subscriber("state/+")
        self.assertEqual([f.payload for f in self.msgs(wild, 1)], [b"v2"])
        pub.send(frame(PUB, "state/door", b"", flags=RETAIN))  # an empty RETAIN clears it

    def test_80_subscribers_telemetry_and_stats_show_per_subscriber_counts(self):
        sub = self.subscriber("acct/t")
        publish(self.client(), "acct/t", ["x"] * 25)
        self.assertEqual(len(self.msgs(sub, 25)), 25)
        address = f"{sub.addr[0]}:{sub.addr[1]}"
        deadline = time.monotonic() + 3
        while True:  # the workers publish their snapshot once a second
            subs = {e["address"]: e for k, e in self.daemon.telemetry("/ringcast/subscribers").items()
                    if k != "identities"}
            if subs.get(address, {}).get("deliveries") == 25 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(address, subs)
        self.assertEqual((subs[address]["deliveries"], subs[address]["filters"]), (25, 1), subs)
        r = subprocess.run([tb.Paths.ringcast, "stats", "-f", self.daemon.prefix], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rf"(?m)^\s*{re.escape(address)}\s+1\s+25\s+0\s")


class InjectedLoss(tb.DaemonTestCase):
    """With 5 % of live deliveries dropped on purpose, `ringcast sub` (the
    client library) NACKs the gaps and prints every message in order."""

    settings = {"debug.inject_loss": "0.05"}

    def test_10_client_library_repairs_5_percent_loss_into_an_ordered_stream(self):
        n = 1000
        before = self.daemon.stats()
        sub = self.bed.cli_popen(tb.Paths.ringcast, "sub", "-s", SERVER, "-n", str(n), "-t", "10", "lossy/t")
        subscribed = self.daemon.wait_stats(lambda s: delta(s, before, "subscriptions") >= 1, timeout=5)
        self.assertEqual(delta(subscribed, before, "subscriptions"), 1, "ringcast sub did not subscribe")
        # A few more than n, so a loss at the very end is seen as a gap too.
        publish(self.client(), "lossy/t", [f"p{i}" for i in range(1, n + 6)])
        out, err = sub.communicate(timeout=30)
        self.assertEqual(sub.returncode, 0, f"ringcast sub:\n{err}")
        lines = out.splitlines()
        self.assertEqual(lines, [f"{i} lossy/t p{i}" for i in range(1, n + 1)])
        m = re.search(r"ringcast sub: (\d+) messages, (\d+) repaired, (\d+) lost, (\d+) duplicates", err)
        self.assertIsNotNone(m, err)
        messages, repaired, lost, _ = map(int, m.groups())
        after = self.daemon.stats()
        injected = after["drops"]["injected_loss"] - before["drops"]["injected_loss"]
        self.assertEqual((messages, lost), (n, 0))
        self.assertGreaterEqual(injected, n // 20, "loss injection did not drop its 5 %")
        self.assertGreaterEqual(repaired, n // 20 - 1)
        self.assertGreaterEqual(delta(after, before, "retransmits"), repaired)

    def test_20_cli_qos1_publish_is_acked(self):
        r = self.bed.cli(tb.Paths.ringcast, "pub", "-s", SERVER, "--qos", "1", "-n", "5", "lossy/q", "m")
        self.assertEqual(r.returncode, 0, f"ringcast pub --qos 1:\n{r.stdout}{r.stderr}")
        self.assertGreaterEqual(self.daemon.stats()["qos_acks"], 5)


if __name__ == "__main__":
    tb.main()
