#!/usr/bin/env python3
"""Observing a running appliance: `ringcast stats` (summary and JSON),
`ringcast top`, and scripts/ringcast-exporter.py (--once and serving
/metrics). Each is checked against what the telemetry socket itself reports,
read through the harness (Daemon.telemetry), never through the tool under
test."""

import os
import sys

# Debian's python3-prometheus-client lives in /usr/bin/python3's dist-packages;
# meson may have found another python3 (a pyenv shim). Only the standard
# library and that module are needed, so run under Debian's interpreter.
DEBIAN_PYTHON = "/usr/bin/python3"
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    if (os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
            and "RC_OBSERVE_REEXEC" not in os.environ):
        os.environ["RC_OBSERVE_REEXEC"] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, *sys.argv])
    text_string_to_metric_families = None

import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import testbed as tb
from testbed import PUB

ALPHA, BETA = b"obs/alpha", b"obs/beta"
N_ALPHA, N_BETA = 40, 15
POOL_LINE = r"(?m)^\s*{name}\s+(\d+)\s+{size}\s"


def run(*argv, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def exporter_path():
    return os.path.join(tb.Paths.source_root, "scripts", "ringcast-exporter.py")


def samples_of(text):
    """{(sample name, frozenset of labels): value} of an exposition text,
    parsed by prometheus_client's own parser; also {family: type}."""
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_number(pattern, text, what):
    m = re.search(pattern, text)
    if m is None:
        raise AssertionError(f"{what}: no match for {pattern!r} in:\n{text}")
    return int(m.group(1))


class Observe(tb.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Known traffic: one subscriber on two topics, N_ALPHA + N_BETA
        # messages, and one malformed frame (bad magic) for a non-zero drop.
        cls.sub = tb.Client(cls.bed)
        cls.sub.sub(ALPHA)
        cls.sub.sub(BETA)
        pub = tb.Client(cls.bed)
        tb.publish(pub, ALPHA, [f"a{i}" for i in range(N_ALPHA)])
        tb.publish(pub, BETA, [f"b{i}" for i in range(N_BETA)])
        pub.send(tb.frame(PUB, ALPHA, b"bad", magic=0x42))
        got = cls.sub.collect(N_ALPHA + N_BETA, timeout=5)
        assert len(got) == N_ALPHA + N_BETA, f"subscriber got {len(got)} of {N_ALPHA + N_BETA} messages"
        st = cls.daemon.wait_stats(lambda s: s["deliveries"] >= N_ALPHA + N_BETA and s["drops"]["malformed"] >= 1)
        assert st["drops"]["malformed"] >= 1, f"no malformed drop counted: {st['drops']}"
        # The workers publish their top topics about once a second.
        deadline = time.monotonic() + 5
        while cls.daemon.telemetry("/ringcast/topics").get("obs/alpha", {}).get("seq") != N_ALPHA:
            assert time.monotonic() < deadline, "obs/alpha never reached /ringcast/topics with its seq"
            time.sleep(0.1)

    def ringcast(self, *argv, timeout=30):
        return run(tb.Paths.ringcast, *argv, timeout=timeout)

    def exporter(self, *argv, timeout=30):
        return run(DEBIAN_PYTHON, exporter_path(), *argv, timeout=timeout)

    def need_prometheus_client(self):
        if text_string_to_metric_families is None:
            self.skipTest(f"{DEBIAN_PYTHON} has no prometheus_client (apt-get install python3-prometheus-client)")

    # ---- ringcast stats ----

    def test_10_stats_summary_shows_what_telemetry_reports(self):
        before = self.daemon.stats()
        r = self.ringcast("stats", "-f", self.daemon.prefix)
        after = self.daemon.stats()
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        for key in ("deliveries", "pub_frames", "subscriptions", "topics", "subscribers"):
            self.assertEqual(before[key], after[key], f"{key} moved while the test ran")
            self.assertEqual(first_number(rf"(?m)^\s*{key}\s+(\d+)$", out, key), after[key], out)
        self.assertEqual(after["deliveries"], N_ALPHA + N_BETA)
        # Drops: the non-zero reasons with their counts, the zero ones left out.
        self.assertEqual(first_number(r"(?m)^\s*malformed\s+(\d+)\s", out, "malformed drops"),
                         after["drops"]["malformed"])
        self.assertRegex(out, r"(?m)^Drops: \d+ in all$")
        for reason, n in after["drops"].items():
            if n == 0 and before["drops"][reason] == 0:
                self.assertNotRegex(out, rf"(?m)^\s*{reason}\s+\d+", f"zero drop reason {reason} listed")
        for name, pool in after["mempools"].items():
            self.assertRegex(out, POOL_LINE.format(name=re.escape(name), size=pool["size"]))
        self.assertRegex(out, r"(?m)^\s*lcore0\s+io\+worker\s+\d+")
        self.assertRegex(out, r"(?m)^\s*net_af_packet0\b.*\blink up\b.*\b192\.0\.2\.1:7700\b")
        self.assertRegex(out, rf"(?m)^\s*obs/alpha\s+1\s+{N_ALPHA}\s+lcore0$")
        self.assertRegex(out, rf"(?m)^\s*obs/beta\s+1\s+{N_BETA}\s+lcore0$")

    def test_11_stats_json_parses_and_agrees(self):
        r = self.ringcast("stats", "--json", "-f", self.daemon.prefix)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)["/ringcast/stats"]
        self.assertEqual(st["deliveries"], self.daemon.stats()["deliveries"])

    def test_12_stats_with_a_command_prints_its_json(self):
        r = self.ringcast("stats", "-f", self.daemon.prefix, "/ringcast/topics")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["/ringcast/topics"]["obs/alpha"]["seq"], N_ALPHA)

    def test_13_stats_without_an_appliance_fails_with_a_hint(self):
        r = self.ringcast("stats", "-f", "rc-it-no-such-prefix")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("is ringcastd running with file prefix 'rc-it-no-such-prefix'", r.stderr)

    # ---- ringcast top ----

    def test_20_top_shows_lcores_topics_and_drops(self):
        t0 = time.monotonic()
        r = self.ringcast("top", "-f", self.daemon.prefix, "-n", "2", "-i", "0.2", timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        out = r.stdout
        self.assertEqual(out.count("ringcast top"), 2, out)
        self.assertRegex(out, r"(?m)^lcore0\s+io\+worker\s+\d+\.\d%")
        self.assertRegex(out, rf"(?m)^obs/alpha\s+\S+\s+{N_ALPHA}\s+1$")
        self.assertRegex(out, r"(?m)^malformed\s+\S+\s+\d+$")
        self.assertRegex(out, r"(?m)^net_af_packet0\s+up\b")

    def test_21_top_rates_come_from_deltas_between_refreshes(self):
        stop = threading.Event()
        pub = self.client()

        def pump():
            i = 0
            while not stop.is_set():
                pub.send(tb.frame(PUB, b"obs/pump", b"x", seq=i))
                i += 1
                time.sleep(0.005)

        th = threading.Thread(target=pump)
        th.start()
        try:
            r = self.ringcast("top", "-f", self.daemon.prefix, "-n", "3", "-i", "0.4", timeout=10)
        finally:
            stop.set()
            th.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = re.findall(r"(?m)^lcore0\s+io\+worker\s+\S+\s+(\S+)\s+(\S+)\s+(\d+)$", r.stdout)
        self.assertEqual(len(rows), 3, r.stdout)
        self.assertEqual(rows[0][0], "-", "the first refresh has no rate yet")
        self.assertGreater(float(rows[-1][0].rstrip("kMG")), 0, r.stdout)

    def test_22_top_exits_zero_on_ctrl_c(self):
        p = subprocess.Popen([tb.Paths.ringcast, "top", "-f", self.daemon.prefix, "-i", "0.2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tb.on_cleanup(tb._kill, p)
        time.sleep(0.8)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=3)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("lcore0", out)

    # ---- scripts/ringcast-exporter.py ----

    def assert_exposition_matches_telemetry(self, text):
        samples, types = samples_of(text)
        st = self.daemon.stats()
        self.assertEqual(samples[("ringcast_up", frozenset())], 1)
        self.assertEqual(types["ringcast_deliveries"], "counter")
        self.assertEqual(samples[("ringcast_deliveries_total", frozenset())], st["deliveries"])
        self.assertEqual(samples[("ringcast_pub_frames_total", frozenset())], st["pub_frames"])
        self.assertEqual(types["ringcast_subscriptions"], "gauge")
        self.assertEqual(samples[("ringcast_subscriptions", frozenset())], st["subscriptions"])
        self.assertEqual(samples[("ringcast_topics", frozenset())], st["topics"])
        # Every number /ringcast/stats reports is exported, as a counter or a gauge.
        for key, value in st.items():
            if isinstance(value, int) and key not in ("malformed", "drops_total"):
                self.assertTrue(("ringcast_" + key + "_total", frozenset()) in samples or
                                ("ringcast_" + key, frozenset()) in samples, f"{key} is not exported")
        self.assertEqual(types["ringcast_drops"], "counter")
        reasons = {dict(labels)["reason"] for name, labels in samples if name == "ringcast_drops_total"}
        self.assertEqual(reasons, set(st["drops"]))
        self.assertEqual(samples[("ringcast_drops_total", frozenset({("reason", "malformed")}))],
                         st["drops"]["malformed"])
        # The histogram of frames per datagram counts every datagram once.
        self.assertEqual(sum(st["frames_per_datagram"].values()), st["datagrams"])
        for bucket, n in st["frames_per_datagram"].items():
            self.assertEqual(samples[("ringcast_frames_per_datagram_total", frozenset({("frames", bucket)}))], n)
        for pool, p in st["mempools"].items():
            label = frozenset({("pool", pool)})
            self.assertEqual(samples[("ringcast_mempool_size", label)], p["size"])
            self.assertLessEqual(samples[("ringcast_mempool_in_use", label)], p["size"])
        busy = samples[("ringcast_lcore_busy_ratio", frozenset({("lcore", "0"), ("role", "io+worker")}))]
        self.assertTrue(0 <= busy <= 1, busy)
        port = frozenset({("port", "net_af_packet0")})
        self.assertGreater(samples[("ringcast_port_rx_packets_total", port)], 0)
        self.assertEqual(samples[("ringcast_port_link_up", port)], 1)

    def test_30_exporter_once_prints_what_telemetry_reports(self):
        self.need_prometheus_client()
        r = self.exporter("--once", "--prefix", self.daemon.prefix)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_exposition_matches_telemetry(r.stdout)

    def test_31_exporter_once_without_an_appliance_says_down(self):
        self.need_prometheus_client()
        r = self.exporter("--once", "--prefix", "rc-it-no-such-prefix")
        self.assertEqual(r.returncode, 0, r.stderr)
        samples, _ = samples_of(r.stdout)
        self.assertEqual(samples[("ringcast_up", frozenset())], 0)
        self.assertNotIn(("ringcast_deliveries_total", frozenset()), samples)

    def test_32_exporter_serves_metrics_over_http(self):
        self.need_prometheus_client()
        port = free_tcp_port()
        p = subprocess.Popen([DEBIAN_PYTHON, exporter_path(), "--listen", f"127.0.0.1:{port}",
                              "--prefix", self.daemon.prefix],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tb.on_cleanup(tb._kill, p)
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    self.assertEqual(resp.status, 200)
                    self.assertTrue(resp.headers["Content-Type"].startswith("text/plain"))
                    text = resp.read().decode()
                break
            except OSError as e:
                if p.poll() is not None or time.monotonic() > deadline:
                    _, err = p.communicate(timeout=3) if p.poll() is not None else ("", "")
                    self.fail(f"GET {url}: {e}; exporter exit status {p.poll()}:\n{err}")
                time.sleep(0.1)
        self.assert_exposition_matches_telemetry(text)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=3)
        self.assertEqual(p.returncode, 0, err)

    # ---- the end ----

    def test_89_subscriber_says_bye(self):
        self.sub.bye()

    def test_99_sigterm_exits_zero_within_3s(self):
        # Overrides the base test: top must also notice and exit.
        top = subprocess.Popen([tb.Paths.ringcast, "top", "-f", self.daemon.prefix, "-i", "0.2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tb.on_cleanup(tb._kill, top)
        time.sleep(0.6)
        self.assertIsNone(top.poll(), "ringcast top ended before ringcastd did")
        self.assert_sigterm_exits_zero()
        out, err = top.communicate(timeout=5)
        self.assertEqual(top.returncode, 0, err)
        self.assertRegex(err, r"ringcastd (closed its telemetry socket|stopped answering)")
        self.assertIn("lcore0", out)


if __name__ == "__main__":
    tb.main()
