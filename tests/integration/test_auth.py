#!/usr/bin/env python3
"""Authentication, ACLs and SIGHUP on the test bed, judged with kernel UDP
sockets and the ringcast CLI: the two probes of issue 12 (a subscriber that
never said HELLO, a publisher with a wrong token) get nothing in; the
identities' ACLs hold; a reload adds an identity without losing a
subscriber, drops what narrowed ACLs no longer allow, and a bad file is
refused while the running config stays."""

import os
import re
import signal

import testbed as tb
from testbed import ACK, ERR, HELLO, MSG, PONG, PING, PUB, SUB, E_NOT_AUTHORIZED, E_LIMIT, delta, frame

SERVER = f"{tb.APP_ADDR}:{tb.RCP_PORT}"
FEED = b"testbed-feed-token"      # config/testbed.toml: publish md/ demo/, subscribe nothing
READER = b"testbed-reader-token"  # subscribe md/# demo/#, publish nothing


def hello(c, token):
    reply, seq = c.request(HELLO, payload=token)
    return reply


class Auth(tb.DaemonTestCase):
    settings = {"rcp.require_auth": "true"}

    def authed(self, token, *topics):
        c = self.client()
        r = hello(c, token)
        self.assertEqual(r.op, ACK, tb.describe(r))
        for t in topics:
            c.sub(t)
        return c

    def assert_refused(self, c, op, topic, payload=b""):
        reply, seq = c.request(op, topic, payload)
        self.assertEqual((reply.op, reply.flags, reply.seq), (ERR, E_NOT_AUTHORIZED, seq), tb.describe(reply))
        return reply

    def test_10_no_hello_no_service_and_a_wrong_token_publishes_nothing(self):
        before = self.daemon.stats()
        # Probe 1: SUB without HELLO.
        lurker = self.client()
        self.assert_refused(lurker, SUB, "md/probe")
        self.assert_refused(lurker, PING, "")
        # A subscriber that did say HELLO, to see what gets through.
        reader = self.authed(READER, "md/probe")
        # Probe 1b: HELLO with a wrong token, then PUBs.
        intruder = self.client()
        r = hello(intruder, b"s3cret")
        self.assertEqual((r.op, r.flags), (ERR, E_NOT_AUTHORIZED), tb.describe(r))
        for i in range(3):
            self.assert_refused(intruder, PUB, "md/probe", b"forged %d" % i)
        # A right token after a wrong one works; a wrong one after it unbinds.
        feed = self.authed(FEED)
        tb.publish(feed, "md/probe", [b"real"])
        self.assert_stream(reader.collect(1), "md/probe", [b"real"])
        self.assertEqual(reader.silence(), [], "a forged PUB was delivered")
        self.assertEqual(lurker.silence(), [], "a source that never said HELLO received something")
        self.assertEqual(hello(feed, b"wrong").op, ERR)
        self.assert_refused(feed, PUB, "md/probe", b"after a wrong HELLO")
        after = self.daemon.stats()
        self.assertEqual(delta(after["drops"], before["drops"], "not_authorized"), 2)
        self.assertEqual(delta(after["drops"], before["drops"], "not_authenticated"), 6)
        self.assertEqual(delta(after, before, "hellos"), 2)
        self.assertEqual(delta(after, before, "subscriptions"), 1)
        reader.bye()

    def test_20_acls_hold_for_publish_and_subscribe(self):
        before = self.daemon.stats()
        reader = self.authed(READER, "md/+/bid", "demo/#")
        feed = self.authed(FEED)
        # The publish ACL is md/ and demo/: ops/ is refused.
        self.assert_refused(feed, PUB, "ops/deploy", b"x")
        self.assert_refused(feed, SUB, "md/#")          # subscribes to nothing
        self.assert_refused(reader, SUB, "ops/#")       # outside md/# and demo/#
        self.assert_refused(reader, SUB, "#")           # wider than its ACL
        self.assert_refused(reader, SUB, "$share/g/+/x")
        self.assert_refused(reader, PUB, "md/eur/bid", b"x")
        reader.sub("$share/g/md/eur/ask")               # a group on an allowed filter is fine
        tb.publish(feed, "md/eur/bid", [b"1.10"])
        self.assert_stream(reader.collect(1), "md/eur/bid", [b"1.10"])
        after = self.daemon.stats()
        self.assertEqual(delta(after["drops"], before["drops"], "acl_denied"), 6)
        ids = {v["name"]: v for v in self.daemon.telemetry("/ringcast/subscribers")["identities"].values()}
        self.assertGreaterEqual(ids["testbed-feed"]["denied"], 2)
        self.assertGreaterEqual(ids["testbed-reader"]["denied"], 4)
        self.assertGreaterEqual(ids["testbed-reader"]["sub_frames"], 3)
        self.assertGreaterEqual(ids["testbed-feed"]["pub_frames"], 1)
        # Each subscriber shows the identity it subscribed as (the list is
        # refreshed about once a second).
        addr = f"{reader.addr[0]}:{reader.addr[1]}"
        import time
        deadline = time.monotonic() + 3
        while True:
            subs = self.daemon.telemetry("/ringcast/subscribers")
            entry = next((e for k, e in subs.items() if k != "identities" and e["address"] == addr), None)
            if entry is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIsNotNone(entry, subs)
        self.assertEqual(entry["identity"], "testbed-reader")
        reader.bye()

    def test_30_cli_takes_a_token_by_option_or_environment(self):
        ringcast = tb.Paths.ringcast
        sub = self.bed.cli_popen("env", "RINGCAST_TOKEN=" + READER.decode(), ringcast, "sub", "-s", SERVER,
                                 "-n", "1", "-t", "5", "md/cli")
        before = self.daemon.stats()
        self.daemon.wait_stats(lambda st: delta(st, before, "subscriptions") >= 1, timeout=5)
        refused = self.bed.cli(ringcast, "pub", "-s", SERVER, "-q", "1", "md/cli", "no token")
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn("NOT_AUTHORIZED", refused.stdout + refused.stderr)
        r = self.bed.cli(ringcast, "pub", "-s", SERVER, "--token", FEED.decode(), "-q", "1", "md/cli", "tok")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out, err = sub.communicate(timeout=10)
        self.assertEqual(sub.returncode, 0, out + err)
        self.assertEqual(out.splitlines(), ["1 md/cli tok"])

    # ---- SIGHUP ----

    def rewrite(self, fn):
        with open(self.daemon.config) as f:
            text = f.read()
        with open(self.daemon.config, "w") as f:
            f.write(fn(text))

    def reload(self, expect_ok=True):
        before = self.daemon.telemetry("/ringcast/config")
        self.daemon.proc.send_signal(signal.SIGHUP)
        key = "reloads" if expect_ok else "reload_failures"
        after = self.wait_config(lambda c: c[key] > before[key])
        self.assertEqual(after[key], before[key] + 1, after)
        return after

    def wait_config(self, pred, timeout=3.0):
        import time
        deadline = time.monotonic() + timeout
        while True:
            c = self.daemon.telemetry("/ringcast/config")
            if pred(c) or time.monotonic() > deadline:
                return c
            time.sleep(0.05)

    def test_40_sighup_adds_an_identity_without_losing_a_subscriber(self):
        reader = self.authed(READER, "md/reload")
        late = self.client()
        self.assertEqual(hello(late, b"late-token").op, ERR)
        self.rewrite(lambda t: t + '\n[[identity]]\nname = "late"\ntoken = "late-token"\n'
                                   'publish = ["md/"]\nsubscribe = []\n')
        cfg = self.reload()
        self.assertEqual(cfg["identities"], 3)
        self.assertEqual(cfg["reload_error"], "")
        self.assertEqual(hello(late, b"late-token").op, ACK)
        tb.publish(late, "md/reload", [b"from late"])
        self.assert_stream(reader.collect(1), "md/reload", [b"from late"])
        # The reader's binding survived too: its PING is served.
        reply, seq = reader.request(PING, expect=PONG)
        self.assertEqual(reply.op, PONG)
        reader.bye()

    def test_50_sighup_drops_what_a_narrowed_acl_no_longer_allows(self):
        before = self.daemon.stats()
        reader = self.authed(READER, "md/narrow", "demo/narrow")
        feed = self.authed(FEED)
        self.rewrite(lambda t: t.replace('subscribe = ["md/#", "demo/#"]', 'subscribe = ["demo/#"]', 1))
        self.reload()
        after = self.daemon.wait_stats(lambda st: delta(st, before, "acl_revoked") >= 1)
        # At least the reader's md/narrow (a CLI subscriber of an earlier test may still hold md/cli).
        self.assertGreaterEqual(delta(after, before, "acl_revoked"), 1)
        tb.publish(feed, "md/narrow", [b"no longer yours"])
        tb.publish(feed, "demo/narrow", [b"still yours"])
        self.assert_stream(reader.collect(1), "demo/narrow", [b"still yours"])
        self.assertEqual(reader.silence(), [], "a revoked subscription still delivered")
        self.assert_refused(reader, SUB, "md/narrow")
        reader.bye()

    def test_60_a_bad_file_is_refused_and_the_running_config_stays(self):
        reader = self.authed(READER, "demo/stays")
        with open(self.daemon.config) as f:
            good = f.read()
        self.rewrite(lambda t: t.replace("require_auth = true", "require_auth = true\nbogus = 1", 1))
        cfg = self.reload(expect_ok=False)
        self.assertIn("rcp.bogus: unknown key", cfg["reload_error"])
        # What a reload may not change is refused with the reason.
        self.rewrite(lambda t: re.sub(r"(?m)^topics = \d+", "topics = 1000", good, count=1))
        cfg = self.reload(expect_ok=False)
        self.assertIn("[limits]", cfg["reload_error"])
        self.assertEqual(cfg["require_auth"], 1)
        self.rewrite(lambda t: good)
        feed = self.authed(FEED)
        tb.publish(feed, "demo/stays", [b"served"])
        self.assert_stream(reader.collect(1), "demo/stays", [b"served"])
        reader.bye()
        self.assertIn("reload refused", self.daemon.log_text())

    def test_70_lcores_report_a_fresh_heartbeat(self):
        for name, lc in self.daemon.telemetry("/ringcast/lcores").items():
            self.assertIn("heartbeat_age_ms", lc, name)
            self.assertLess(lc["heartbeat_age_ms"], 1000, name)


class Squat(tb.DaemonTestCase):
    """Probe 2: sources fill the topic table and leave with BYE; a new
    subscriber must still get in. And the per-source caps."""

    settings = {"limits.topics": "1000", "limits.source_subscriptions": "60"}

    def sub_many(self, c, topics):
        """SUBs packed 20 to a datagram; returns the replies, by seq."""
        seqs = []
        for i in range(0, len(topics), 20):
            frames = []
            for t in topics[i:i + 20]:
                seq = c.next_seq()
                seqs.append(seq)
                frames.append(frame(SUB, t, b"", seq))
            c.send(*frames)
        return [c.wait_for(ACK, s) for s in seqs]

    def test_10_a_flood_then_bye_does_not_lock_out_new_topics(self):
        # A wildcard subscriber matching every flooded topic must not let
        # them pin the table (found by scripts/soak.sh).
        watcher = self.subscriber("squat/#")
        before = self.daemon.stats()
        squatters = [self.client() for _ in range(20)]
        refused = 0
        for n, c in enumerate(squatters):
            replies = self.sub_many(c, [f"squat/{n}/{i}" for i in range(60)])
            refused += sum(1 for r in replies if r.op == ERR and r.flags == E_LIMIT)
        full = self.daemon.stats()
        self.assertEqual(full["topics"], 1000)
        self.assertGreater(refused, 0, "the table never filled")
        for c in squatters:
            c.bye()
        newcomer = self.client()
        newcomer.sub("fresh/topic")
        pub = self.client()
        tb.publish(pub, "fresh/topic", [b"room"])
        self.assert_stream(newcomer.collect(1), "fresh/topic", [b"room"])
        after = self.daemon.stats()
        self.assertGreaterEqual(delta(after, before, "topics_reclaimed"), 1)
        newcomer.bye()

    def test_20_a_source_beyond_its_subscription_cap_is_refused_and_counted(self):
        before = self.daemon.stats()
        c = self.client()
        replies = self.sub_many(c, [f"cap/{i}" for i in range(61)])
        self.assertEqual([r.op for r in replies[:60]], [ACK] * 60)
        self.assertEqual((replies[60].op, replies[60].flags), (ERR, E_LIMIT), tb.describe(replies[60]))
        self.assertEqual(replies[60].payload, b"too many subscriptions")
        again = self.sub_many(c, ["cap/0"])  # what it holds already is ACKed again
        self.assertEqual(again[0].op, ACK)
        after = self.daemon.stats()
        self.assertEqual(delta(after["drops"], before["drops"], "source_limit"), 1)
        c.bye()


class LinkFlap(tb.DaemonTestCase):
    """The veth peer goes down and comes back mid-stream: ringcastd keeps
    running and serves again."""

    def test_10_peer_down_and_up_mid_stream(self):
        import time
        sub = self.subscriber("flap/t")
        pub = self.client()
        tb.publish(pub, "flap/t", [b"before"])
        self.assert_stream(sub.collect(1), "flap/t", [b"before"])
        for _ in range(3):
            self.assertEqual(self.bed.cli("ip", "link", "set", self.bed.if_cli, "down").returncode, 0)
            time.sleep(0.5)
            self.assertEqual(self.bed.cli("ip", "link", "set", self.bed.if_cli, "up").returncode, 0)
            time.sleep(0.5)
        self.assertIsNone(self.daemon.proc.poll(), "ringcastd died in the flap:\n" + self.daemon.log_text())
        # The link needs a moment to carry traffic again; PING until it does.
        deadline = time.monotonic() + 10
        while True:
            c = self.client()
            c.send(frame(PING, b"", b"", 1))
            if c.next_frame(0.5) is not None or time.monotonic() > deadline:
                break
        sub.sub("flap/t")  # its lease held; the SUB is idempotent
        tb.publish(pub, "flap/t", [b"after"])
        frames = sub.collect(1)
        self.assertEqual([(f.op, f.payload) for f in frames], [(MSG, b"after")])


if __name__ == "__main__":
    tb.main()
