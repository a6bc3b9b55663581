#!/usr/bin/env python3
"""Everything besides pub/sub: HELLO, PING, ARP and ICMP echo, the telemetry
commands, the ringcast CLI, ringcastd --check and usage errors, SIGTERM."""

import json
import os
import re
import subprocess

import testbed as tb
from testbed import ACK, APP_ADDR, HELLO, PING, PONG, delta

STATS_KEYS = {"rx_packets", "rx_bursts", "rx_frames", "pub_frames", "deliveries", "tx_packets",
              "arp_replies", "icmp_replies", "copy_fallbacks", "leases_expired", "malformed",
              "subscriptions", "topics", "subscribers", "drops", "drops_total", "mempools"}
SERVER = f"{APP_ADDR}:{tb.RCP_PORT}"


def run(*argv, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def keys_of(value):
    """Every key at any depth of a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys_of(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys_of(v)


class Ops(tb.DaemonTestCase):

    def test_10_hello_gets_ack_with_its_seq(self):
        reply, seq = self.client().request(HELLO, payload=b"")
        self.assertEqual((reply.op, reply.seq), (ACK, seq), tb.describe(reply))

    def test_20_ping_gets_pong_with_same_seq_and_payload(self):
        c = self.client()
        for payload in (b"", b"x", bytes(range(64))):
            reply, seq = c.request(PING, payload=payload, expect=PONG)
            self.assertEqual((reply.op, reply.seq, reply.payload), (PONG, seq, payload), tb.describe(reply))

    def test_30_arp_and_icmp_echo_answered(self):
        before = self.daemon.stats()
        r = self.bed.cli("ping", "-c", "3", "-W", "1", APP_ADDR)
        self.assertEqual(r.returncode, 0, f"ping 192.0.2.1 failed:\n{r.stdout}{r.stderr}")
        self.assertRegex(r.stdout, r"\b3 received\b")
        neigh = self.bed.cli("ip", "neigh", "show", APP_ADDR, "dev", self.bed.if_cli).stdout
        m = re.search(r"lladdr ([0-9a-f:]{17})", neigh)
        self.assertIsNotNone(m, f"192.0.2.1 not resolved in {self.bed.ns_cli}: {neigh!r}")
        # ARP answered with the MAC of the port ringcastd drives.
        link = run("ip", "-n", self.bed.ns_app, "-o", "link", "show", "dev", self.bed.if_app).stdout
        self.assertIn(f"link/ether {m.group(1)}", link)
        after = self.daemon.wait_stats(lambda st: delta(st, before, "icmp_replies") >= 3)
        self.assertEqual(delta(after, before, "icmp_replies"), 3)
        self.assertGreaterEqual(after["arp_replies"], 1)

    def test_40_stats_has_every_key_and_consistent_drops(self):
        st = self.daemon.stats()
        self.assertLessEqual(STATS_KEYS, set(st), f"missing: {STATS_KEYS - set(st)}")
        self.assertIsInstance(st["drops"], dict)
        self.assertEqual(st["drops_total"], sum(st["drops"].values()))
        for name, pool in st["mempools"].items():
            self.assertLessEqual(pool["in_use"], pool["size"], name)

    def test_41_other_telemetry_commands_answer(self):
        for cmd in ("/ringcast/lcores", "/ringcast/ports", "/ringcast/topics", "/ringcast/config"):
            self.assertIsNotNone(self.daemon.telemetry(cmd), cmd)

    def test_50_cli_sub_and_pub_deliver_end_to_end(self):
        ringcast = tb.Paths.ringcast
        before = self.daemon.stats()
        sub = self.bed.cli_popen(ringcast, "sub", "-s", SERVER, "-n", "1", "-t", "5", "cli/topic")
        subscribed = self.daemon.wait_stats(lambda st: delta(st, before, "subscriptions") >= 1, timeout=5)
        self.assertEqual(delta(subscribed, before, "subscriptions"), 1, "ringcast sub did not subscribe")
        r = self.bed.cli(ringcast, "pub", "-s", SERVER, "-n", "1", "cli/topic", "hello-from-cli")
        self.assertEqual(r.returncode, 0, f"ringcast pub:\n{r.stdout}{r.stderr}")
        out, err = sub.communicate(timeout=10)
        self.assertEqual(sub.returncode, 0, f"ringcast sub:\n{out}{err}")
        self.assertIn("hello-from-cli", out)

    def test_52_cli_sub_prints_a_coalesced_burst_whole_and_in_order(self):
        # ringcast pub packs its 50 PUBs into a few datagrams; the worker
        # dequeues them in bursts and coalesces what goes to the subscriber.
        ringcast = tb.Paths.ringcast
        before = self.daemon.stats()
        sub = self.bed.cli_popen(ringcast, "sub", "-s", SERVER, "-n", "50", "-t", "5", "cli/burst")
        self.daemon.wait_stats(lambda st: delta(st, before, "subscriptions") >= 1, timeout=5)
        subscribed = self.daemon.stats()
        r = self.bed.cli(ringcast, "pub", "-s", SERVER, "-n", "50", "cli/burst", "m")
        self.assertEqual(r.returncode, 0, f"ringcast pub:\n{r.stdout}{r.stderr}")
        out, err = sub.communicate(timeout=10)
        self.assertEqual(sub.returncode, 0, f"ringcast sub:\n{out}{err}")
        self.assertEqual(out.splitlines(), [f"{i} cli/burst m {i}" for i in range(1, 51)])
        self.assertIn("50 messages, 0 repaired, 0 lost, 0 duplicates", err)
        after = self.daemon.wait_stats(lambda st: delta(st, subscribed, "deliveries") >= 50)
        self.assertEqual(delta(after, subscribed, "deliveries"), 50)
        self.assertLess(delta(after, subscribed, "datagrams"), 50, "nothing was coalesced")

    def test_51_cli_stats_json_prints_json(self):
        r = run(tb.Paths.ringcast, "stats", "--json", "-f", self.daemon.prefix)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rx_packets", set(keys_of(json.loads(r.stdout))), r.stdout)

    def test_60_check_accepts_a_good_config(self):
        r = run(tb.Paths.ringcastd, "--check", "-c", self.daemon.config)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_61_check_names_an_unknown_key_and_the_file(self):
        bad = os.path.join(self.daemon.dir, "bad.toml")
        with open(self.daemon.config) as f, open(bad, "w") as out:
            out.write("no_such_key = 1\n" + f.read())
        r = run(tb.Paths.ringcastd, "--check", "-c", bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, re.escape(bad) + r":1:\d+: .*no_such_key")

    def test_62_usage_error_exits_2(self):
        r = run(tb.Paths.ringcastd, "--no-such-option")
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    tb.main()
