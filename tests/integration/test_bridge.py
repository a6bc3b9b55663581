#!/usr/bin/env python3
"""ringcast-bridge between a 3-node nats-server cluster (JetStream on, in
the client namespace on loopback) and ringcastd on the bed: NATS messages
published by the C client reach kernel TCP subscribers on ringcast in
order; a NATS node killed mid-stream and the bridge killed and restarted
mid-stream lose nothing and duplicate nothing (JetStream mode); in core
NATS mode with the appliance cut off, every loss is counted by the bridge.
Also --check, the stats socket, and the exporter's --bridge view."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import testbed as tb

NATS_PORTS = (14222, 14223, 14224)
ROUTE_PORTS = (16222, 16223, 16224)
MONITOR_PORTS = (18222, 18223, 18224)
BRIDGE_UDP_PORT = 47700  # fixed: the QoS 2 dedup window knows the bridge by it across restarts


def url(i):
    return f"nats://127.0.0.1:{NATS_PORTS[i]}"


def bin_path(*parts):
    return os.path.join(tb.Paths.build_root(), *parts)


class Collector:
    """A kernel TCP subscriber read on a thread of its own (TCP-lite's send
    queue is bounded: a reader that waited would be a slow consumer)."""

    def __init__(self, bed, topic_filter):
        self.c = tb.TcpClient(bed)
        self.c.sub(topic_filter)
        self.frames = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                f = self.c.next_frame(timeout=0.2)
            except OSError:
                return
            if f is not None and f.op == tb.MSG:
                self.frames.append(f)

    def numbers(self):
        return [int(f.payload[:10]) for f in list(self.frames)]

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.frames) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.frames)

    def close(self):
        self._stop = True
        self._t.join(2)
        self.c.sock.close()


class NatsCluster:
    """Three nats-server processes, clustered, JetStream on, in the bed's client namespace."""

    def __init__(self, bed, workdir):
        self.bed, self.dir = bed, workdir
        self.procs = [None, None, None]
        for i in range(3):
            routes = ", ".join(f"nats-route://127.0.0.1:{ROUTE_PORTS[j]}" for j in range(3) if j != i)
            conf = os.path.join(workdir, f"n{i}.conf")
            with open(conf, "w") as f:
                f.write(f"""server_name: n{i}
listen: 127.0.0.1:{NATS_PORTS[i]}
http: 127.0.0.1:{MONITOR_PORTS[i]}
jetstream {{ store_dir: "{workdir}/js{i}", max_memory_store: 64MB, max_file_store: 1GB }}
cluster {{ name: rc, listen: 127.0.0.1:{ROUTE_PORTS[i]}, routes: [{routes}] }}
""")

    def start(self, i):
        log = open(os.path.join(self.dir, f"n{i}.log"), "a")
        self.procs[i] = subprocess.Popen(
            ["ip", "netns", "exec", self.bed.ns_cli, "nats-server", "-c", os.path.join(self.dir, f"n{i}.conf")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        tb.on_cleanup(tb._kill, self.procs[i])

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def monitor(self, i, path):
        with tb.in_netns(self.bed.ns_cli):
            with urllib.request.urlopen(f"http://127.0.0.1:{MONITOR_PORTS[i]}{path}", timeout=2) as r:
                return json.loads(r.read())

    def node_serving(self, conn_name):
        """The node the named client connection is on, or None."""
        for i in range(3):
            if self.procs[i] is None or self.procs[i].poll() is not None:
                continue
            try:
                conns = self.monitor(i, "/connz")["connections"] or []
            except OSError:
                continue
            if any(c.get("name") == conn_name for c in conns):
                return i
        return None

    def stream(self, name, subjects):
        """Makes the R3 stream once JetStream has a meta leader."""
        deadline = time.monotonic() + 30
        while True:
            r = self.bed.cli(bin_path("tests", "support", "nats_driver"), "stream", "--servers",
                             ",".join(url(i) for i in range(3)), "--subject", subjects, "--name", name,
                             "--replicas", "3", timeout=20)
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"stream {name} not made: {r.stdout}{r.stderr}")
            time.sleep(0.5)


class Bridge:
    def __init__(self, bed, workdir, name, text):
        self.bed = bed
        self.config = os.path.join(workdir, f"{name}.toml")
        self.log = os.path.join(workdir, f"{name}.log")
        self.sock = os.path.join(workdir, f"{name}.sock")
        self.name = name
        with open(self.config, "w") as f:
            f.write(f'[bridge]\nstats_socket = "{self.sock}"\n' + text)
        self.proc = None

    def start(self):
        logged = len(self.log_text()) if os.path.exists(self.log) else 0  # this start's lines only
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.bed.ns_cli, bin_path("apps", "ringcast-bridge"),
                                      "-c", self.config], stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        tb.on_cleanup(tb._kill, self.proc)
        deadline = time.monotonic() + 15
        while "forwarding" not in self.log_text()[logged:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ringcast-bridge did not start:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stats(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(2)
            s.connect(self.sock)
            s.recv(16384)
            s.send(b"/bridge/stats")
            return json.loads(s.recv(16384))["/bridge/stats"]

    def wait_stats(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            if predicate(st) or time.monotonic() > deadline:
                return st
            time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)


def publisher(bed, subject, count, first=1, stored_each=False):
    """JetStream publishes: with PubAcks outstanding (fast), or each waited for
    and retried until stored (through a node's death)."""
    args = [bin_path("tests", "support", "nats_driver"), "pub", "--servers", url(0), "--subject", subject,
            "--count", str(count), "--first", str(first), "--size", "64", "--js"]
    if not stored_each:
        args.append("--async")
    return bed.cli_popen(*args)


class BridgeTest(tb.DaemonTestCase):
    settings = {"qos.dedup_window_ms": "10000"}

    @classmethod
    def setUpClass(cls):
        if shutil.which("nats-server") is None:
            raise unittest.SkipTest("nats-server not installed")
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="rc-bridge.")
        tb.on_cleanup(shutil.rmtree, cls.dir, True)
        cls.cluster = NatsCluster(cls.bed, cls.dir)
        for i in range(3):
            cls.cluster.start(i)
        cls.cluster.stream("MD", "md.>")
        cls.js_text = f"""[nats]
servers = ["{url(1)}", "{url(2)}"]
name = "rc-bridge-js"
reconnect_wait_ms = 100
[appliance]
address = "{tb.APP_ADDR}"
local_port = {BRIDGE_UDP_PORT}
qos = 2
ack_timeout_ms = 50
[jetstream]
stream = "MD"
durable = "ringcast"
ack_wait_ms = 2000
[[forward]]
subject = "md.>"
topic_prefix = "nats/md"
"""
        cls.js_bridge = Bridge(cls.bed, cls.dir, "js", cls.js_text).start()
        cls.total = 0  # messages published into the stream so far

    def assert_in_order(self, numbers, first, last):
        """Exactly first..last, in order; said briefly (a diff of 100 000 numbers takes minutes),
        with what the JetStream bridge logged."""
        want = range(first, last + 1)
        if numbers == list(want):
            return
        seen = set(numbers)
        at = next((i for i, (n, m) in enumerate(zip(numbers, want)) if n != m), min(len(numbers), len(want)))
        self.fail(f"got {len(numbers)} of {len(want)}: {len(numbers) - len(seen)} duplicated, "
                  f"{sum(1 for n in want if n not in seen)} missing, first difference at index {at}: "
                  f"{numbers[max(0, at - 3):at + 4]}\nbridge log:\n{self.js_bridge.log_text()[-4000:]}")

    def run_stream(self, count, midway=None, stored_each=False, before=None, midway_at=None, publish=True):
        """Publishes `count` into the stream through JetStream (unless before()
        does), calling midway() once `midway_at` (a third) have reached the
        subscribers; returns what each subscriber got and the range."""
        first = type(self).total + 1
        type(self).total += count
        exact = Collector(self.bed, "nats/md/eq/AAPL")
        wild = Collector(self.bed, "nats/md/#")
        try:
            if before is not None:
                before()
            pub = publisher(self.bed, "md.eq.AAPL", count, first, stored_each) if publish else None
            if midway is not None:
                at = midway_at or count // 3
                self.assertGreaterEqual(wild.wait_count(at, 60), at, "stalled before midway")
                midway()
            if pub is not None:
                _, err = pub.communicate(timeout=240)
                self.assertEqual(pub.returncode, 0, err)
            wild.wait_count(count, 60)
            exact.wait_count(count, 10)
            time.sleep(0.3)  # anything extra (a duplicate) would arrive now
            return exact.numbers(), wild.numbers(), first, type(self).total
        finally:
            exact.close()
            wild.close()

    def test_10_jetstream_100k_reach_tcp_subscribers_in_order(self):
        exact, wild, first, last = self.run_stream(100_000)
        self.assert_in_order(wild, first, last)
        self.assert_in_order(exact, first, last)
        st = self.js_bridge.wait_stats(lambda s: s["in_flight"] == 0, 5)
        self.assertEqual(st["forwarded"], 100_000, st)
        self.assertEqual(st["unmappable"], 0, st)
        self.assertEqual(st["acked_stream_seq"], last, st)

    def test_20_a_nats_node_killed_midstream_loses_nothing(self):
        killed = []

        def kill_the_bridges_node():
            node = self.cluster.node_serving("rc-bridge-js")
            self.assertIsNotNone(node, "the bridge's connection is on no node")
            self.assertNotEqual(node, 0, "the publisher's node")
            self.cluster.kill(node)
            killed.append(node)

        before = self.js_bridge.stats()
        exact, wild, first, last = self.run_stream(30_000, kill_the_bridges_node, stored_each=True)
        self.assert_in_order(wild, first, last)
        self.assert_in_order(exact, first, last)
        st = self.js_bridge.stats()
        self.assertGreaterEqual(st["nats_reconnects"] - before["nats_reconnects"], 1, st)
        self.cluster.start(killed[0])  # back for the next tests

    def test_30_the_bridge_killed_and_restarted_midstream_loses_and_duplicates_nothing(self):
        # The stream is loaded while the bridge is stopped; it then drains it
        # flat out, its window full, and is killed a moment in: PUBs that
        # ringcastd delivered, whose ACKs or NATS acks died with the bridge,
        # must come again from the new one and be absorbed by the dedup
        # window, not delivered twice.
        count = 100_000
        self.js_bridge.proc.send_signal(signal.SIGSTOP)
        dups = {}
        start = type(self).total + 1  # run_stream's first

        def load_then_resume():
            pub = publisher(self.bed, "md.eq.AAPL", count, start)
            _, err = pub.communicate(timeout=240)
            self.assertEqual(pub.returncode, 0, err)
            self.js_bridge.proc.send_signal(signal.SIGCONT)

        def restart_bridge():
            # Killed with PUBs in flight (not during a pause to move its consumer).
            self.js_bridge.wait_stats(lambda s: s["in_flight"] > 0, 10)
            self.js_bridge.proc.send_signal(signal.SIGKILL)
            self.js_bridge.proc.wait()
            dups["at_kill"] = self.daemon.stats()["qos2_duplicates"]
            self.js_bridge.start()

        try:
            exact, wild, first, last = self.run_stream(count, restart_bridge, before=load_then_resume,
                                                       midway_at=500, publish=False)
        finally:
            if self.js_bridge.proc.poll() is None:
                self.js_bridge.proc.send_signal(signal.SIGCONT)
        self.assert_in_order(wild, first, last)
        self.assert_in_order(exact, first, last)
        st = self.js_bridge.wait_stats(lambda s: s["in_flight"] == 0, 5)
        self.assertEqual(st["acked_stream_seq"], last, st)
        absorbed = self.daemon.stats()["qos2_duplicates"] - dups["at_kill"]
        self.assertGreater(absorbed, 0, "the restart resent nothing already delivered: the dedup path went untested\n"
                           + self.js_bridge.log_text()[-4000:])
        print(f"resent after the restart and absorbed by the dedup window: {absorbed}")

    def consumer(self, op, name="", first=1):
        r = self.bed.cli(bin_path("tests", "support", "nats_driver"), "consumer", "--servers",
                         ",".join(url(i) for i in range(3)), "--name", "MD", "--subject", "md.>",
                         "--consumer", name, "--op", op, "--first", str(first), timeout=20)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout.split()

    def test_35_a_restart_resumes_from_the_newest_consumer_and_deletes_the_rest(self):
        # The bridge moves its consumer by adding ringcast-<n+1> and deleting
        # ringcast-<n>. Killed in between, it leaves both; and nats-server
        # 2.9 can bring a deleted consumer back when a node that missed the
        # delete returns. Either way the newest says where to resume: here an
        # older generation is back, at the stream's first seq, and following
        # it would deliver the whole stream again.
        st = self.js_bridge.wait_stats(lambda s: s["in_flight"] == 0 and s["acked_stream_seq"] == type(self).total, 10)
        self.assertEqual(st["acked_stream_seq"], type(self).total, st)
        self.js_bridge.proc.send_signal(signal.SIGKILL)
        self.js_bridge.proc.wait()
        newest = max(int(n.rsplit("-", 1)[1]) for n in self.consumer("list") if n.startswith("ringcast-"))
        self.assertGreaterEqual(newest, 2, "the tests before moved the consumer")
        stale = f"ringcast-{newest - 1}"
        self.consumer("delete", stale)
        self.consumer("add", stale, first=1)
        exact, wild, first, last = self.run_stream(2000, before=self.js_bridge.start)
        self.assert_in_order(wild, first, last)
        self.assert_in_order(exact, first, last)
        left = self.consumer("list")
        # One consumer, of a later generation (a move that failed and was
        # tried again uses up a generation).
        log = self.js_bridge.log_text()[-2000:]
        self.assertEqual(len(left), 1, f"the old consumers outlived the move: {left}\n{log}")
        self.assertGreater(int(left[0].rsplit("-", 1)[1]), newest, f"{left}\n{log}")

    def test_40_core_mode_loss_while_the_appliance_is_unreachable_is_counted(self):
        core = Bridge(self.bed, self.dir, "core", f"""[nats]
servers = ["{url(0)}"]
name = "rc-bridge-core"
[appliance]
address = "{tb.APP_ADDR}"
qos = 1
ack_timeout_ms = 50
attempts = 3
[[forward]]
subject = "core.>"
topic_prefix = "core"
""").start()
        sub = Collector(self.bed, "core/#")
        try:
            count = 20_000
            pub = self.bed.cli_popen(bin_path("tests", "support", "nats_driver"), "pub", "--servers", url(0),
                                     "--subject", "core.feed", "--count", str(count), "--size", "64",
                                     "--rate", "10000")
            self.assertGreaterEqual(sub.wait_count(count // 4, 30), count // 4)
            # Cut the bridge off: with the link down the kernel refuses its datagrams.
            self.bed.cli("ip", "link", "set", self.bed.if_cli, "down", check=True)
            time.sleep(1.0)
            self.bed.cli("ip", "link", "set", self.bed.if_cli, "up", check=True)
            _, err = pub.communicate(timeout=60)
            self.assertEqual(pub.returncode, 0, err)
            st = core.wait_stats(lambda s: s["received"] == count and s["in_flight"] == 0, 20)
            self.assertEqual(st["received"], count, st)
            time.sleep(1.0)
            got = sub.numbers()
            # Not in order: a PUB lost on the way is resent after those behind
            # it were delivered (docs/scale-out.md, "Order per subject").
            self.assertEqual(len(got), len(set(got)), "duplicated")
            missing = count - len(got)
            self.assertGreater(missing, 0, "the outage lost nothing: it did not cut the bridge off")
            # Never silent: every message missing at the subscriber is counted;
            # a PUB that arrived but whose ACK the outage lost counts as given up too.
            self.assertGreaterEqual(st["given_up"], missing, st)
            self.assertEqual(st["forwarded"] + st["given_up"], count, st)
            self.assertLessEqual(st["given_up"] - missing, 1024, st)
        finally:
            sub.close()
            self.assertEqual(core.stop(), 0, core.log_text())

    def test_50_check_refuses_bad_configs_with_positions(self):
        ok = self.bed.cli(bin_path("apps", "ringcast-bridge"), "--check", "-c", self.js_bridge.config)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = os.path.join(self.dir, "bad.toml")
        with open(bad, "w") as f:
            f.write('[appliance]\nqos = 0\nspeed = 3\n[jetstream]\nstream = "MD"\n'
                    '[[forward]]\nsubject = "md.>"\n[[forward]]\nsubject = "md.eq.*"\ntopic_prefix = "x"\n')
        r = self.bed.cli(bin_path("apps", "ringcast-bridge"), "--check", "-c", bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"{bad}:3:1: appliance.speed: unknown key", r.stderr)
        self.assertIn("overlaps forward[0].subject", r.stderr)
        self.assertIn("appliance.qos: JetStream mode", r.stderr)

    def test_60_stats_socket_and_the_exporter(self):
        st = self.js_bridge.stats()
        self.assertEqual(st["mode"], "jetstream")
        self.assertEqual(st["acked_stream_seq"], type(self).total, st)
        exporter = os.path.join(tb.Paths.source_root, "scripts", "ringcast-exporter.py")
        r = subprocess.run(["/usr/bin/python3", exporter, "--bridge", self.js_bridge.sock, "--once"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ringcast_bridge_up 1.0", r.stdout)
        forwarded = [l for l in r.stdout.splitlines() if l.startswith("ringcast_bridge_forwarded_total ")]
        self.assertEqual(len(forwarded), 1, r.stdout)
        self.assertEqual(float(forwarded[0].split()[1]), st["forwarded"])
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=r.stdout, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_89_the_bridge_stops_on_sigterm_with_nothing_in_flight(self):
        self.assertEqual(self.js_bridge.stop(), 0, self.js_bridge.log_text())
        self.assertIn("ringcast-bridge: stopped", self.js_bridge.log_text())


if __name__ == "__main__":
    tb.main()
