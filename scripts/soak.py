#!/usr/bin/env python3
"""The soak's driver, run by scripts/soak.sh (see its --help): a private test
bed and ringcastd in it (authentication on, short leases), mixed RCP/1
traffic from kernel UDP sockets in the client namespace for a while, then
the checks: every pool back at its idle baseline, RSS flat, the tables
empty once everyone has left, ringcastd alive throughout and exiting 0 on
SIGTERM within 3 s.

It reuses tests/integration/testbed.py (Bed, Daemon, frame(), in_netns and
the telemetry reader). One process, one loop: sockets are non-blocking and
polled with epoll; what runs besides the steady traffic is picked by time
slices (SUB flood, NACK storm, bad frames, a burst of subscriber churn).

usage: soak.py --duration S --build DIR [--rate N] [--tag TAG] [--samples FILE] [--seed N]
Exit status: 0 pass, 1 fail.
"""

import argparse
import collections
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "integration"))
import testbed as tb  # noqa: E402
from testbed import (ACK, BYE, ERR, HEADER, HELLO, MAGIC, MSG, NACK, PING, PONG, PUB,  # noqa: E402
                     SUB, UNSUB, VERSION, frame)

PROG = "soak.sh"
FEED = b"testbed-feed-token"      # config/testbed.toml: publishes md/ and demo/
READER = b"testbed-reader-token"  # subscribes md/# and demo/#
QOS1, QOS2, REPLAY, RETAIN, REPLAYED = 0x01, 0x02, 0x04, 0x08, 0x10
ERR_NAMES = {1: "MALFORMED", 2: "VERSION", 3: "BAD_TOPIC", 4: "NOT_AUTHORIZED", 5: "LIMIT",
             6: "GAP_LOST", 7: "OVERLOAD", 8: "UNKNOWN_OP"}

LEASE_S = 3            # rcp.lease_s of the soak: leases lapse within it
SLICE_S = 4.0          # one activity slice
SLICES = ("flood", "nack", "bad", "churn")
FLOOD_SOURCES, FLOOD_TOPICS = 40, 100
TOPIC_TABLE = 6000     # limits.topics of the soak: 1.5 floods fill it
RSS_BOUND_KB, RSS_BOUND_FRAC = 2048, 0.02
MAX_DATAGRAM = 1472    # UDP payload within the veth's 1500-byte MTU
OVERSIZE = "md/oversize/x"  # bad frames' PUBs near and beyond the MTU
OVERSIZE_B = OVERSIZE.encode()

SYMS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA")
PAIRS = ("EURUSD", "USDJPY", "GBPUSD")
TOPICS = ([f"md/eq/{s}/{side}" for s in SYMS for side in ("bid", "ask")]
          + [f"md/fx/{p}/{side}" for p in PAIRS for side in ("bid", "ask")]
          + ["md/rates/2y", "md/rates/10y", "demo/ticker"])
RETAIN_TOPICS = ("md/status/eq", "md/status/fx")
HOT = ("md/eq/AAPL/bid", "md/eq/MSFT/ask", "md/fx/EURUSD/bid")  # NACK storm targets
CHURN_FILTERS = (
    [f"md/eq/{s}/bid" for s in SYMS[:3]] + ["md/fx/EURUSD/ask", "md/rates/10y"]
    + ["md/eq/+/bid", "md/+/AAPL/+", "md/fx/+/ask", "md/+/+/bid", "md/status/+"]
    + ["md/eq/#", "md/fx/#", "md/+/EURUSD/#", "demo/#", "md/rates/#"]
    + [f"$share/g{g}/md/eq/#" for g in range(4)] + [f"$share/g{g}/md/fx/+/bid" for g in range(2)]
    + ["$share/hot/md/eq/AAPL/bid"])


def say(msg):
    print(f"{PROG}: {msg}", flush=True)


def u32(n):
    return struct.pack(">I", n)


def walk(data):
    """(op, flags, seq, topic, payload) of each frame the appliance sent;
    a bad header ends the walk and yields None."""
    off, n = 0, len(data)
    while off < n:
        if n - off < 16:
            yield None
            return
        magic, vo, flags, tl, pl, seq = HEADER.unpack_from(data, off)
        end = off + 16 + tl + pl
        if magic != MAGIC or vo >> 4 != VERSION or end > n:
            yield None
            return
        yield vo & 15, flags, seq, data[off + 16:off + 16 + tl], data[off + 16 + tl:end]
        off = end


# ---- sources -------------------------------------------------------------------


class Conn:
    """One kernel UDP socket in the client namespace: one source to the
    appliance. Replies it waits for are keyed by seq in `want`."""

    def __init__(self, soak, role):
        self.soak, self.role = soak, role
        with tb.in_netns(soak.bed.ns_cli):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE
        s.bind((tb.CLI_ADDR, 0))
        s.setblocking(False)
        self.sock, self.fd = s, s.fileno()
        self.seq = random.randrange(1 << 20) * 1000
        self.want = {}          # seq -> what the reply answers
        self.last_sent = 0.0
        self.bound = False      # HELLO ACKed
        self.closed = False
        self.bad = False        # sends bad frames: ERRs are its due
        self.bye_seq = None
        soak.add(self)

    def next_seq(self):
        self.seq += 1
        return self.seq

    def send(self, *frames):
        try:
            self.sock.sendto(b"".join(frames), tb.SERVER)
            self.last_sent = time.monotonic()
        except (BlockingIOError, OSError):
            self.soak.n["send_failed"] += 1

    def req(self, op, topic=b"", payload=b"", what=None, flags=0, seq=None):
        """A frame whose reply is awaited; returns it (callers may batch)."""
        seq = self.next_seq() if seq is None else seq
        self.want[seq] = what or tb.OP_NAMES[op]
        return frame(op, topic, payload, seq, flags)

    def hello(self, token):
        return self.req(HELLO, payload=token, what="HELLO")

    def bye(self):
        f = self.req(BYE, what="BYE")
        self.bye_seq = self.seq
        self.send(f)

    def drain(self):
        n = self.soak.n
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP errors and the like
                n["recv_errors"] += 1
                continue
            n["datagrams_received"] += 1
            for f in walk(data):
                if f is None:
                    n["bad_from_appliance"] += 1
                    break
                self.on_frame(*f)

    def on_frame(self, op, flags, seq, topic, payload):
        n = self.soak.n
        if op == MSG:
            n["msg_replayed" if flags & REPLAYED else "msg_live"] += 1
            self.on_msg(flags, seq, topic, payload)
            return
        what = self.want.pop(seq, None)
        if op == ERR:
            code = ERR_NAMES.get(flags, str(flags))
            n[f"err_{code}"] += 1
            if what is None and code != "GAP_LOST" and not self.bad:
                n["err_unexpected"] += 1
                if n["err_unexpected"] <= 5:
                    self.soak.note(f"{self.role} source {self.sock.getsockname()[1]}: ERR {code} "
                                   f"seq {seq} {payload[:32]!r} to nothing it asked")
            self.on_err(what, code, seq)
        elif op in (ACK, PONG):
            if what == "HELLO":
                self.bound = True
            self.on_ack(what, seq, payload)
        else:
            n[f"unexpected_op_{op}"] += 1

    def on_msg(self, flags, seq, topic, payload):
        pass

    def on_ack(self, what, seq, payload):
        pass

    def on_err(self, what, code, seq):
        if code == "NOT_AUTHORIZED" and self.bound and what not in (None, "bad"):
            self.soak.note(f"{self.role} source {self.sock.getsockname()[1]} bound but got "
                           f"NOT_AUTHORIZED for {what}")

    def close(self):
        if not self.closed:
            self.closed = True
            self.soak.remove(self)
            self.sock.close()


class Publisher(Conn):
    """Bound to the feed identity; publishes what the soak's pacer hands it,
    QoS 0, 1 or 2, resending QoS 1/2 until ACKed (100 ms doubling, 6 sends)."""

    def __init__(self, soak):
        super().__init__(soak, "publisher")
        self.pending = {}  # seq -> [frame, next resend, sends]

    def publish(self, items):
        """One datagram of PUBs; a QoS 2 one is sometimes sent twice."""
        n, frames, now, dups = self.soak.n, [], time.monotonic(), []
        for topic, payload, flags in items:
            seq = self.next_seq()
            f = frame(PUB, topic, payload, seq, flags)
            frames.append(f)
            q = flags & 3
            n[f"pub_qos{q}"] += 1
            if flags & RETAIN:
                n["pub_retain"] += 1
            if q == 2:
                self.soak.qos2[int(payload.split(b" ", 1)[0])] = 0
            if q:
                self.want[seq] = "PUB"
                self.pending[seq] = [f, now + 0.1, 1]
                if q == 2 and random.random() < 0.1:
                    dups.append(seq)
        self.send(*frames)
        if frames:
            n["pub_datagrams"] += 1
        for seq in dups:
            self.duplicate(seq)

    def resend_due(self, now):
        n = self.soak.n
        for seq, p in list(self.pending.items()):
            if now >= p[1]:
                if p[2] >= 6:
                    del self.pending[seq]
                    self.want.pop(seq, None)
                    n["pub_unacked"] += 1
                    continue
                self.send(p[0])
                p[2] += 1
                p[1] = now + 0.1 * 2 ** (p[2] - 1)
                n["pub_retries"] += 1
                if p[0][2] & 3 == 2:
                    n["pub_qos2_retries"] += 1

    def duplicate(self, seq):
        """A QoS 2 PUB sent twice on purpose: ACKed again, delivered once."""
        p = self.pending.get(seq)
        if p:
            self.send(p[0])
            self.soak.n["pub_qos2_dup_sent"] += 1

    def on_ack(self, what, seq, payload):
        if what == "PUB":
            self.pending.pop(seq, None)
            self.soak.n["pub_acked"] += 1

    def on_err(self, what, code, seq):
        if what == "PUB":
            self.pending.pop(seq, None)
            self.soak.n[f"pub_refused_{code}"] += 1
        if code == "NOT_AUTHORIZED" and what != "HELLO":
            # The binding lapsed (a stall longer than the lease): bind again.
            self.soak.n["publisher_rebinds"] += 1
            self.bound = False
            self.send(self.hello(FEED))


class Subscriber(Conn):
    """Bound to the reader identity. `check` subscribers hold filters that
    never reach a message through a $share group and a plain filter both, so
    each live message must arrive at most once and in topic seq order."""

    def __init__(self, soak, role, filters, check=False, replay_from=None):
        super().__init__(soak, role)
        self.filters, self.check = list(filters), check
        self.refused = []        # ERR codes its SUBs got
        self.count_qos2 = False  # counts each QoS 2 message it gets
        self.last_seq = {}
        self.ending = None      # how it leaves
        self.silent_until = None
        frames = [self.hello(READER)]
        for flt in self.filters:
            flags, seq = 0, None
            if replay_from is not None and flt == self.filters[0]:
                flags, seq = REPLAY, replay_from
                self.want[seq] = "SUB"
                frames.append(frame(SUB, flt, b"", seq, flags))
                continue
            frames.append(self.req(SUB, flt, what="SUB"))
        self.send(*frames)
        soak.n["sub_filters"] += len(self.filters)

    def on_msg(self, flags, seq, topic, payload):
        if self.count_qos2 and not flags & REPLAYED:
            q2 = self.soak.qos2
            try:
                pid = int(payload.split(b" ", 1)[0])
            except ValueError:
                pid = None
            if pid in q2:
                q2[pid] += 1
        if self.check and not flags & REPLAYED:
            last = self.last_seq.get(topic, 0)
            if seq <= last:
                self.soak.n["live_dup_or_reorder"] += 1
                if self.soak.n["live_dup_or_reorder"] <= 5:
                    self.soak.note(f"{self.role} {self.sock.getsockname()[1]}: live MSG {topic.decode()} "
                                   f"seq {seq} after seq {last}")
            else:
                if last and seq > last + 1 and not self.filters[0].startswith("$share/"):
                    # (a group member sees only its share)
                    if topic == OVERSIZE_B:
                        self.soak.n["oversize_missing"] += seq - last - 1
                    else:
                        self.soak.n["live_gaps"] += 1
                self.last_seq[topic] = seq

    def on_ack(self, what, seq, payload):
        if what == "SUB":
            self.soak.n["sub_acked"] += 1
        elif what == "BYE":
            self.soak.n["bye_acked"] += 1

    def on_err(self, what, code, seq):
        if what == "SUB":
            self.soak.n[f"sub_refused_{code}"] += 1
            self.refused.append(code)
        super().on_err(what, code, seq)


class StormSub(Subscriber):
    """Subscribes to the hot topics and NACKs ranges of them over and over:
    old ones (GAP_LOST), held ones (retransmitted), ones not sent yet."""

    def __init__(self, soak):
        super().__init__(soak, "storm", HOT)

    def storm(self):
        frames = []
        for _ in range(random.randint(1, 3)):
            topic = random.choice(HOT)
            top = self.soak.topic_seq[topic]
            first = random.randint(max(1, top - 3000), top + 5)
            frames.append(frame(NACK, topic, u32(random.randint(1, 1024)), first))
        self.send(*frames)
        self.soak.n["nacks_sent"] += len(frames)


class FloodSource(Conn):
    """One source of a SUB flood: HELLO, 100 distinct topics in datagrams of
    20 SUBs, then BYE."""

    def __init__(self, soak, rnd, k):
        super().__init__(soak, "flood")
        topics = [f"md/flood/r{rnd}/s{k}/t{i}" for i in range(FLOOD_TOPICS)]
        batch = [self.hello(READER)]
        for t in topics:
            batch.append(self.req(SUB, t, what="FSUB"))
            if len(batch) == 20:
                self.send(*batch)
                batch = []
        if batch:
            self.send(*batch)
        self.bye_at = time.monotonic() + 1.5
        soak.n["flood_topics"] += len(topics)
        soak.n["flood_sources"] += 1

    def on_ack(self, what, seq, payload):
        if what == "FSUB":
            self.soak.n["flood_acked"] += 1

    def on_err(self, what, code, seq):
        if what == "FSUB":
            self.soak.n[f"flood_refused_{code}"] += 1
        else:
            super().on_err(what, code, seq)


# ---- bad frames ------------------------------------------------------------------


def bad_menu():
    """(name, source, bytes builder): source is 'open' (never said HELLO),
    'feed' or 'reader' (bound)."""
    def rnd(n):
        return bytes(random.randrange(256) for _ in range(n))

    def s():
        return random.randrange(1, 1 << 40)

    return [
        ("truncated header", "open", lambda: frame(PUB, "md/x", b"p", s())[:random.randint(1, 15)]),
        ("truncated frame", "open", lambda: frame(PUB, "md/eq/AAPL/bid", b"payload", s())[:20]),
        ("wrong magic", "open", lambda: frame(PUB, "md/x", b"p", s(), magic=random.choice((0, 0xC4, 0xFF)))),
        ("wrong version", "open", lambda: frame(PUB, "md/x", b"p", s(), version=random.choice((0, 2, 15)))),
        ("unknown op", "open", lambda: frame(random.choice((0, 12, 13, 15)), "md/x", b"p", s())),
        ("payload_len lies", "open", lambda: frame(PUB, "md/x", b"abcd", s(), payload_len=random.randint(5, 1 << 31))),
        ("topic_len lies", "open", lambda: frame(PUB, "md", b"", s(), topic_len=random.randint(3, 255))),
        ("random bytes", "open", lambda: rnd(random.randint(1, 200))),
        ("random after a header", "open", lambda: bytes([MAGIC, 0x10 | random.randrange(16)]) + rnd(random.randint(1, 80))),
        ("PUB without HELLO", "open", lambda: frame(PUB, "md/eq/AAPL/bid", b"forged", s())),
        ("SUB without HELLO", "open", lambda: frame(SUB, "md/#", b"", s())),
        ("NACK without HELLO", "open", lambda: frame(NACK, "md/eq/AAPL/bid", u32(1024), 1)),
        ("HELLO with a wrong token", "open", lambda: frame(HELLO, b"", b"s3cret-%d" % s(), s())),
        ("PUB with a wildcard", "feed", lambda: frame(PUB, random.choice(("md/+/x", "md/#", "+", "#")), b"w", s())),
        ("PUB to a $ topic", "feed", lambda: frame(PUB, "$SYS/x", b"d", s())),
        ("PUB with an empty topic", "feed", lambda: frame(PUB, b"", b"e", s())),
        ("PUB outside the ACL", "feed", lambda: frame(PUB, random.choice(("ops/deploy", "mdx/a", "md")), b"o", s())),
        ("PUB with QoS 3", "feed", lambda: frame(PUB, "md/eq/AAPL/bid", b"q", s(), flags=3)),
        ("SUB by a publish-only identity", "feed", lambda: frame(SUB, "md/#", b"", s())),
        ("SUB outside the ACL", "reader", lambda: frame(SUB, random.choice(("ops/#", "#", "+/x", "$share/g/#")), b"", s())),
        ("bad filter", "reader", lambda: frame(SUB, random.choice(("md/a+", "md/#/b", "md//x", "$share//md/x")), b"", s())),
        ("PUB by a subscribe-only identity", "reader", lambda: frame(PUB, "md/eq/AAPL/bid", b"r", s())),
        ("NACK count 0 or > 1024", "reader", lambda: frame(NACK, "md/eq/AAPL/bid", u32(random.choice((0, 1025, 1 << 31))), 1)),
        ("NACK with a short count", "reader", lambda: frame(NACK, "md/eq/AAPL/bid", b"\x01", 1)),
        ("good PING then a bad frame", "reader", lambda: frame(PING, b"", b"x", s()) + frame(PUB, "md/x", b"p", s(), magic=0)),
        # Near and beyond the MTU: the kernel fragments what is larger; the
        # af_packet socket reassembles (fanout defrag) and past its 2048-byte
        # frames cuts it. Its own topic, whose gaps a steady subscriber counts.
        ("datagram near or beyond the MTU", "feed",
         lambda: frame(PUB, OVERSIZE, b"big ".ljust(random.choice((random.randint(1300, MAX_DATAGRAM),
                                                                    random.randint(MAX_DATAGRAM + 1, 4000)))
                                                    - 16 - len(OVERSIZE), b"."), s())),
    ]


class BadSet:
    """The sources of a bad-frames slice: one that never says HELLO, one
    bound to the feed, one bound to the reader."""

    def __init__(self, soak):
        self.soak = soak
        self.open = Conn(soak, "bad-open")
        self.feed = Conn(soak, "bad-feed")
        self.reader = Subscriber(soak, "bad-reader", ["demo/bad"])
        self.feed.send(self.feed.hello(FEED))
        for c in self.conns():
            c.bad = True
        self.menu = bad_menu()

    def shoot(self, count):
        n = self.soak.n
        for _ in range(count):
            name, src, build = random.choice(self.menu)
            conn = {"open": self.open, "feed": self.feed, "reader": self.reader}[src]
            if not conn.bound and src != "open":
                continue
            conn.send(build())
            n["bad_sent"] += 1
            self.soak.bad_kinds[name] += 1

    def conns(self):
        return (self.open, self.feed, self.reader)


# ---- the soak --------------------------------------------------------------------


class Soak:
    def __init__(self, args):
        self.args = args
        self.n = collections.Counter()
        self.bad_kinds = collections.Counter()
        self.notes = []
        self.conns = {}
        self.ep = select.epoll()
        self.topic_seq = collections.Counter()  # PUBs sent per topic (about the topic seq)
        self.samples = []
        self.quotas = {}
        self.msg_id = 0
        self.qos2 = {}  # QoS 2 message id -> live deliveries to the steady subscribers that count them
        self.samples_file = open(args.samples, "w") if args.samples else None

    def note(self, text):
        if len(self.notes) < 40:
            self.notes.append(text)

    def add(self, conn):
        self.conns[conn.fd] = conn
        self.ep.register(conn.fd, select.EPOLLIN)

    def remove(self, conn):
        self.conns.pop(conn.fd, None)
        try:
            self.ep.unregister(conn.fd)
        except (OSError, ValueError):
            pass

    def poll(self, timeout):
        for fd, _ in self.ep.poll(timeout):
            c = self.conns.get(fd)
            if c is not None:
                c.drain()

    def pump(self, seconds):
        """Drains replies for `seconds`, keeping the long-lived sources alive."""
        end = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            if now >= end:
                return
            self.keepalive(now)
            self.poll(min(0.01, end - now))

    def until(self, pred, timeout):
        """Polls (keeping the long-lived sources alive) until pred() or
        `timeout` s; returns pred()."""
        end = time.monotonic() + timeout
        while not pred():
            now = time.monotonic()
            if now >= end:
                return pred()
            self.keepalive(now)
            self.poll(0.01)
        return True

    def wait_bound(self, conns, timeout=3.0):
        self.until(lambda: all(c.bound for c in conns), timeout)
        missing = [c.role for c in conns if not c.bound]
        if missing:
            raise RuntimeError(f"HELLO not ACKed for {missing}")

    # ---- daemon and telemetry ----

    def start(self):
        tb.Paths.ringcastd = os.path.join(self.args.build, "apps", "ringcastd")
        tb.Paths.ringcast = os.path.join(self.args.build, "apps", "ringcast")
        tb.Paths.source_root = SOURCE_ROOT
        self.bed = tb.Bed(self.args.tag).up()
        # A topic table small enough for the SUB floods to fill it: from the
        # second round on, new topics come from reclaiming the unheld ones.
        self.daemon = tb.Daemon(self.bed, lease_s=LEASE_S, settings={
            "rcp.require_auth": "true", "limits.topics": str(TOPIC_TABLE)}).start()
        self.pid = self.daemon.proc.pid
        # Under AddressSanitizer RSS grows as its shadow of DPDK's memory is
        # first touched: no leak, but no flat RSS either.
        with open(tb.Paths.ringcastd, "rb") as f:
            self.sanitized = b"__asan_init" in f.read()
        with open(f"/proc/{self.pid}/comm") as f:
            comm = f.read().strip()
        if comm != "ringcastd":
            raise RuntimeError(f"pid {self.pid} is {comm}, not ringcastd")
        # ringcastd polls on lcore 0 (CPU 0): the driver takes the others.
        cpus = os.sched_getaffinity(0) - {0}
        if cpus:
            os.sched_setaffinity(0, cpus)
        self.baseline = dict(self.daemon.baseline)
        self.udp_start = self.udp_counters()
        self.rss_start = self.rss()
        say(f"bed {self.bed.ns_app} <-> {self.bed.ns_cli}; ringcastd pid {self.pid}, telemetry prefix "
            f"{self.daemon.prefix}, log {self.daemon.log}")
        say(f"require_auth = true, lease_s = {LEASE_S}, limits.topics = {TOPIC_TABLE}; idle pools {self.baseline}; RSS {self.rss_start} kB")

    def udp_counters(self):
        """The client namespace's UDP counters (/proc/net/snmp), for what
        the kernel dropped on the clients' side."""
        with tb.in_netns(self.bed.ns_cli):
            with open("/proc/thread-self/net/snmp") as f:
                rows = [line.split() for line in f if line.startswith("Udp:")]
        return dict(zip(rows[0][1:], map(int, rows[1][1:])))

    def veth_rx(self):
        """Packets the appliance's end of the veth received (kernel side)."""
        r = subprocess.run(["ip", "-n", self.bed.ns_app, "-s", "-j", "link", "show", "dev", self.bed.if_app],
                           capture_output=True, text=True, check=True)
        return json.loads(r.stdout)[0]["stats64"]["rx"]["packets"]

    def rss(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def alive(self):
        if self.daemon.proc.poll() is not None:
            raise Died(f"ringcastd exited with {self.daemon.proc.returncode} during the soak")

    def sample(self, t, phase):
        self.alive()
        st = self.daemon.stats()
        s = {"t": round(t, 1), "phase": phase, "rss_kb": self.rss(),
             "pools": {k: v["in_use"] for k, v in st["mempools"].items()},
             "deliveries": st["deliveries"], "pub_frames": st["pub_frames"], "drops_total": st["drops_total"],
             "subscriptions": st["subscriptions"], "filters": st["filters"], "groups": st["groups"],
             "subscribers": st["subscribers"], "topics": st["topics"], "retained": st["retained"],
             "last_values": st["last_values"], "leases_expired": st["leases_expired"],
             "drops": {k: v for k, v in st["drops"].items() if v},
             "heartbeat_age_ms": max(lc.get("heartbeat_age_ms", 0)
                                     for lc in self.daemon.telemetry("/ringcast/lcores").values())}
        self.samples.append(s)
        if self.samples_file:
            self.samples_file.write(json.dumps(s) + "\n")
            self.samples_file.flush()
        return s, st

    # ---- the run ----

    def run(self):
        a = self.args
        self.publishers = [Publisher(self) for _ in range(4)]
        for p in self.publishers:
            p.send(p.hello(FEED))
        # Long-lived subscribers, each checked for duplicates and order:
        # overlapping filters (exact + wildcard) must still deliver once.
        self.steady = [
            # No md/# anywhere: a wildcard filter matching a topic holds it,
            # and the SUB floods' topics (md/flood/...) must be reclaimable.
            Subscriber(self, "steady", ["md/eq/#", "md/fx/#", "md/rates/#", "md/status/#", "md/oversize/#"],
                       check=True),
            Subscriber(self, "steady", ["md/eq/+/bid", "md/eq/+/ask"], check=True),
            Subscriber(self, "steady", ["md/eq/AAPL/bid", "md/eq/MSFT/bid", "md/eq/#"], check=True),
            Subscriber(self, "steady", ["md/fx/#", "md/+/EURUSD/+", "md/fx/EURUSD/bid"], check=True),
            Subscriber(self, "steady", ["$share/core/md/eq/#", "$share/core/md/fx/#"], check=True),
            Subscriber(self, "steady", ["$share/core/md/eq/#", "$share/core/md/fx/#"], check=True),
            Subscriber(self, "steady", ["md/status/#", "demo/#"], check=True),
        ]
        self.steady[0].count_qos2 = True   # every md/ topic published
        self.steady[6].count_qos2 = True   # demo/# (and md/status/#, which has no QoS 2)
        self.churn, self.silent, self.storm, self.floods = [], [], [], []
        self.badset = None
        self.wait_bound(self.publishers + self.steady)
        self.pump(0.3)
        t0 = time.monotonic()
        self.t0 = t0
        t_end = t0 + a.duration
        warm_at = a.duration * 0.2
        sample_s = min(5.0, max(1.0, a.duration / 10))
        next_sample, next_spawn, next_progress = t0, t0, t0 + 30
        self.warm = None
        slice_no, cur = -1, None
        flood_round = 0
        flood_plan = []
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            t = now - t0
            # Time slices.
            k = int(t // SLICE_S)
            if k != slice_no:
                self.end_slice(cur)
                slice_no, cur = k, SLICES[k % len(SLICES)]
                self.n[f"slice_{cur}"] += 1
                if cur == "flood":
                    flood_round += 1
                    flood_plan = [(now + i * 0.025, flood_round, i) for i in range(FLOOD_SOURCES)]
                elif cur == "nack":
                    self.storm = [StormSub(self), StormSub(self)]
                elif cur == "bad":
                    self.badset = BadSet(self)
            while flood_plan and flood_plan[0][0] <= now:
                _, r, i = flood_plan.pop(0)
                self.floods.append(FloodSource(self, r, i))
            for f in list(self.floods):
                if f.bye_seq is None and now >= f.bye_at:
                    f.bye()
                    f.bye_at = now + 1.0
                elif f.bye_seq is not None and (f.bye_seq not in f.want or now >= f.bye_at):
                    if f.bye_seq in f.want:
                        self.n["flood_bye_unanswered"] += 1
                    f.close()
                    self.floods.remove(f)
            if cur == "nack":
                for s in self.storm:
                    if s.bound:
                        for _ in range(self.quota(("nack", s.fd), now, 200)):
                            s.storm()
            if cur == "bad" and self.badset:
                self.badset.shoot(self.quota("bad", now, 150))
            # Steady traffic, churn, keepalives.
            self.publish_due(now)
            for p in self.publishers:
                p.resend_due(now)
            rate = 20.0 if cur == "churn" else 5.0
            if now >= next_spawn:
                self.spawn_churn(now)
                next_spawn = now + random.expovariate(rate)
            self.churn_due(now)
            self.keepalive(now)
            # Samples.
            if now >= next_sample:
                s, _ = self.sample(t, cur)
                if self.warm is None and t >= warm_at:
                    self.warm = s
                next_sample += sample_s
            if now >= next_progress:
                last = self.samples[-1]
                say(f"t={t:.0f}s published {self.published()} delivered {last['deliveries']} "
                    f"subscriptions {last['subscriptions']} topics {last['topics']} RSS {last['rss_kb']} kB "
                    f"pools {last['pools']}")
                next_progress += 30
            self.poll(0.003)
        self.traffic_s = time.monotonic() - t0
        if self.warm is None:
            self.warm = self.sample(self.traffic_s, "warm")[0]
        self.end_slice(cur)
        return self.finish()

    def quota(self, what, now, per_s):
        """How many of `what` are due now at `per_s` a second (no catch-up
        beyond a tenth of a second)."""
        last, credit = self.quotas.get(what, (now, 0.0))
        credit = min(credit + (now - last) * per_s, per_s / 10)
        k = int(credit)
        self.quotas[what] = (now, credit - k)
        return k

    def published(self):
        return self.n["pub_qos0"] + self.n["pub_qos1"] + self.n["pub_qos2"]

    def publish_due(self, now):
        due = int((now - self.t0) * self.args.rate) - self.published()
        due = min(due, max(1, self.args.rate // 20))  # no catch-up burst after a stall
        if due <= 0:
            return
        items = collections.defaultdict(list)
        for _ in range(due):
            p = random.choice(self.publishers)
            if not p.bound:
                continue
            r = random.random()
            if r < 0.01:
                topic = random.choice(RETAIN_TOPICS)
                payload = b"" if random.random() < 0.2 else b"status %d" % self.msg_id
                flags = RETAIN | QOS1
            else:
                topic = random.choice(TOPICS)
                size = 1200 if random.random() < 0.02 else random.randint(8, 300)
                payload = (b"%d " % self.msg_id).ljust(size, b".")  # the id: unique a message
                flags = 0 if r < 0.8 else QOS1 if r < 0.9 else QOS2
            self.msg_id += 1
            self.topic_seq[topic] += 1
            items[p].append((topic, payload, flags))
        for p, lst in items.items():
            while lst:  # 1 to 4 PUBs a datagram: retention then holds indirect views too
                k, size = 0, 0
                for topic, payload, _ in lst[:random.randint(1, 4)]:
                    if k and size + 16 + len(topic) + len(payload) > MAX_DATAGRAM:
                        break  # a datagram the kernel would fragment
                    k, size = k + 1, size + 16 + len(topic) + len(payload)
                p.publish(lst[:k])
                lst = lst[k:]

    def spawn_churn(self, now):
        flts = random.sample(CHURN_FILTERS, random.randint(1, 4))
        replay = None
        if random.random() < 0.15:
            exact = random.choice(TOPICS[:12])
            flts = [exact] + [f for f in flts if f != exact]
            replay = max(1, self.topic_seq[exact] - 200)
        s = Subscriber(self, "churn", flts, replay_from=replay)
        s.end_at = now + random.uniform(1.0, 6.0)
        s.ending = random.choices(("bye", "unsub_bye", "silent_close", "silent_drain"), (45, 15, 20, 20))[0]
        self.churn.append(s)
        self.n["joined"] += 1
        if replay is not None:
            self.n["joined_with_replay"] += 1

    def churn_due(self, now):
        for s in list(self.churn):
            if s.bye_seq is not None:
                if s.bye_seq not in s.want or now >= s.end_at:
                    if s.bye_seq in s.want:
                        self.n["bye_unanswered"] += 1
                    s.close()
                    self.churn.remove(s)
                continue
            if now < s.end_at:
                continue
            if s.ending in ("bye", "unsub_bye"):
                if s.ending == "unsub_bye":
                    s.send(*[s.req(UNSUB, f, what="UNSUB") for f in s.filters])
                    self.n["unsubs"] += len(s.filters)
                s.bye()
                self.n["left_bye"] += 1
                s.end_at = now + 1.0
            else:
                self.n["lapsed"] += 1
                self.churn.remove(s)
                if s.ending == "silent_close":
                    s.close()  # deliveries until the lease lapses meet a closed port
                else:
                    s.silent_until = now + LEASE_S + 1.5
                    self.silent.append(s)
        for s in list(self.silent):
            if now >= s.silent_until:
                s.close()
                self.silent.remove(s)

    def keepalive(self, now):
        ping_every = LEASE_S / 3
        for c in self.publishers + self.steady + self.churn + self.storm:
            if not c.closed and c.bye_seq is None and now - c.last_sent > ping_every:
                c.send(c.req(PING, what="PING"))
                self.n["pings"] += 1
        if self.badset:
            for c in (self.badset.feed, self.badset.reader):
                if not c.closed and c.bye_seq is None and now - c.last_sent > ping_every:
                    c.send(c.req(PING, what="PING"))

    def end_slice(self, cur):
        if cur == "nack":
            for s in self.storm:
                s.bye()
            self.pump(0.3)
            for s in self.storm:
                s.close()
            self.storm = []
        elif cur == "bad" and self.badset:
            self.badset.feed.bye()
            self.badset.reader.bye()
            self.pump(0.3)
            for c in self.badset.conns():
                c.close()
            self.badset = None

    # ---- the end ----

    def bye_all(self, conns, tries=4):
        """BYE from each, resent until ACKed; returns how many never were."""
        left = [c for c in conns if not c.closed]
        for _ in range(tries):
            for c in left:
                c.bye()
            end = time.monotonic() + 0.5
            while time.monotonic() < end and any(c.bye_seq in c.want for c in left):
                self.poll(0.01)
            left = [c for c in left if c.bye_seq in c.want]
            if not left:
                break
        return len(left)

    def probe(self):
        """A fresh subscriber and publisher after all that: still served?"""
        sub = Subscriber(self, "probe", ["md/soak/probe"])
        pub = Publisher(self)
        pub.send(pub.hello(FEED))
        try:
            self.wait_bound([sub, pub])
        except RuntimeError as e:
            self.note(f"probe: {e}")
            return False, [sub, pub]
        if not self.until(lambda: not sub.want, 2) or sub.refused:
            self.note(f"probe: SUB md/soak/probe not ACKed: {sub.refused or 'no reply'}")
            return False, [sub, pub]
        got = []
        sub.on_msg = lambda flags, seq, topic, payload: got.append(topic)
        pub.publish([("md/soak/probe", b"still here", QOS1)])

        def done():
            pub.resend_due(time.monotonic())
            return got and not pub.pending
        self.until(done, 3)
        ok = got == [b"md/soak/probe"]
        if not ok:
            self.note(f"probe: got {got} for one PUB to md/soak/probe")
        return ok, [sub, pub]

    def finish(self):
        n, d = self.n, self.daemon
        say(f"traffic stopped after {self.traffic_s:.1f} s; every source leaves")
        for f in self.floods:
            if f.bye_seq is None:
                f.bye()
        self.pump(0.5)
        probe_ok, probe_conns = self.probe()
        n["left_bye"] += len(self.steady) + len([c for c in self.churn if c.bye_seq is None])
        stale = self.bye_all(self.publishers + self.steady + self.churn + self.floods + probe_conns)
        # Silent sources lapse within their lease.
        last_silent = max([c.last_sent for c in self.silent], default=0)
        wait = max(0.0, last_silent + LEASE_S + 1.5 - time.monotonic())
        self.pump(wait)
        for c in list(self.conns.values()):
            c.close()
        end = time.monotonic() + 2 * LEASE_S + 2
        while True:
            st = d.stats()
            tables = {k: st[k] for k in ("subscriptions", "filters", "groups", "subscribers")}
            if not any(tables.values()) or time.monotonic() > end:
                break
            time.sleep(0.1)
        # Pools: tests/integration/testbed.py's assert_pools_at_baseline.
        end = time.monotonic() + 5
        while True:
            st = d.stats()
            pools = {k: v["in_use"] for k, v in st["mempools"].items()}
            held = st["retained"] + st["last_values"]
            extra = sum(pools[k] - self.baseline[k] for k in pools)
            pools_ok = all(pools[k] == self.baseline[k] for k in pools if k.startswith("rc_hdr")) and (
                pools == self.baseline if held == 0 else 0 <= extra <= 2 * held)
            if pools_ok or time.monotonic() > end:
                break
            time.sleep(0.1)
        self.alive()
        end_s, final = self.sample(time.monotonic() - self.t0, "end")
        rss_end, rss_warm = end_s["rss_kb"], self.warm["rss_kb"]
        bound = max(RSS_BOUND_KB, int(rss_warm * RSS_BOUND_FRAC))
        rss_ok = rss_end - rss_warm < bound or self.sanitized
        rss_peak = max(s["rss_kb"] for s in self.samples)
        ports = d.telemetry("/ringcast/ports")
        veth_rx = self.veth_rx()
        rc, took = d.stop()
        exit_ok = rc == 0 and took < 3.0
        log_tail = d.log_text()[-1500:]

        # ---- summary ----
        def drops_of(st):
            return {k: v for k, v in st["drops"].items() if v}

        pub_total = self.published()
        q2_twice = sum(1 for v in self.qos2.values() if v > 1)
        q2_never = sum(1 for v in self.qos2.values() if v == 0)
        errs = {k[4:]: v for k, v in sorted(n.items()) if k.startswith("err_") and k != "err_unexpected"}
        fl_ref = {k[len("flood_refused_"):]: v for k, v in n.items() if k.startswith("flood_refused_")}
        lines = [
            f"duration          {self.traffic_s:.0f} s of traffic ({self.args.duration} s asked), "
            f"{time.monotonic() - self.start_time:.0f} s in all",
            f"published         {pub_total} messages (QoS 0 {n['pub_qos0']}, QoS 1 {n['pub_qos1']}, "
            f"QoS 2 {n['pub_qos2']}; RETAIN {n['pub_retain']}) in {n['pub_datagrams']} datagrams; "
            f"{n['pub_acked']} ACKed, {n['pub_retries']} retries ({n['pub_qos2_retries']} QoS 2), "
            f"{n['pub_qos2_dup_sent']} QoS 2 duplicates sent, {n['pub_unacked']} never ACKed; ringcastd pub_frames {final['pub_frames']}, "
            f"qos_acks {final['qos_acks']}, qos2_duplicates {final['qos2_duplicates']}, "
            f"dedup_evicted {final['dedup_evicted']}",
            f"delivered         ringcastd deliveries {final['deliveries']} in {final['datagrams']} datagrams; "
            f"received {n['msg_live']} live + {n['msg_replayed']} replayed MSG; checked subscribers: "
            f"{n['live_dup_or_reorder']} duplicate or out of order, {n['live_gaps']} gaps; QoS 2 messages "
            f"reaching their counting subscriber twice {q2_twice}, never {q2_never}",
            f"subscribers       joined {n['joined'] + len(self.steady)} ({n['joined_with_replay']} with REPLAY), "
            f"left with BYE {n['left_bye']}, lapsed {n['lapsed']}; ringcastd leases_expired "
            f"{final['leases_expired']}, hellos {final['hellos']}; SUB filters {n['sub_filters']}, "
            f"{n['sub_acked']} ACKed"
            + "".join(f", {v} refused {k[len('sub_refused_'):]}" for k, v in sorted(n.items())
                      if k.startswith("sub_refused_")),
            f"NACKs             sent {n['nacks_sent']} in {n['slice_nack']} storms; ringcastd nacks "
            f"{final['nacks']}, retransmits {final['retransmits']}, gap_lost {final['gap_lost']}, "
            f"replayed {final['replayed']}",
            f"SUB flood         {n['slice_flood']} rounds, {n['flood_sources']} sources, {n['flood_topics']} "
            f"topics: {n['flood_acked']} ACKed, refused {fl_ref or 0}; ringcastd topics_reclaimed "
            f"{final['topics_reclaimed']}",
            f"bad frames        {n['bad_sent']} sent in {n['slice_bad']} slices, {len(self.bad_kinds)} kinds; "
            f"ringcastd malformed {final['malformed']}; {OVERSIZE}: {n['oversize_missing']} messages "
            f"sequenced but never delivered (PUBs beyond the MTU)",
            f"ERR received      {errs or 0}",
            "port              " + "; ".join(
                f"{name}: " + ", ".join(f"{k} {p.get(k)}" for k in ("ipackets", "opackets", "imissed", "ierrors",
                                                                   "oerrors", "rx_nombuf"))
                for name, p in ports.items())
            + f"; the veth delivered {veth_rx} packets (more than ipackets: IP fragments the af_packet "
            f"socket reassembled)",
            f"lcores            heartbeat age at most {max(s['heartbeat_age_ms'] for s in self.samples)} ms "
            f"over {len(self.samples)} samples",
            f"drops             {drops_of(final) or 'none'} (drops_total {final['drops_total']})",
            f"RSS               start {self.rss_start} kB, warm {rss_warm} kB (t={self.warm['t']:.0f} s), "
            f"peak {rss_peak} kB, end {rss_end} kB: {rss_end - rss_warm:+d} kB since warm (bound {bound} kB)",
            f"pools (in_use)    baseline {self.baseline}, end {pools} "
            f"(retained {final['retained']} + last_values {final['last_values']})",
            f"tables at end     {tables}, topics {final['topics']}",
            f"ringcastd         alive throughout; SIGTERM: "
            + (f"exit status {rc} in {took:.2f} s" if rc is not None else f"still running after {took:.0f} s"),
        ]
        udp = self.udp_counters()
        lines.append(f"client side       {n['datagrams_received']} datagrams received; kernel UDP "
                     f"RcvbufErrors {udp['RcvbufErrors'] - self.udp_start['RcvbufErrors']}, "
                     f"NoPorts {udp['NoPorts'] - self.udp_start['NoPorts']}; send failures {n['send_failed']}, "
                     f"recv errors {n['recv_errors']}, bad datagrams from ringcastd {n['bad_from_appliance']}")
        checks = [
            ("every pool back at its idle baseline (beyond it only what retention holds)", pools_ok),
            (f"RSS flat: end - warm < {bound} kB"
             + (" (not judged: an AddressSanitizer build)" if self.sanitized else ""), rss_ok),
            ("tables empty once every source left (subscriptions, filters, groups, subscribers)",
             not any(tables.values())),
            ("a fresh subscriber is served after the soak", probe_ok),
            ("no duplicate or out-of-order live delivery to a checked subscriber, no QoS 2 message twice",
             n["live_dup_or_reorder"] == 0 and q2_twice == 0),
            ("ringcastd alive throughout, SIGTERM -> exit 0 within 3 s", exit_ok),
        ]
        say("summary")
        for line in lines:
            print("  " + line)
        print("  bad frame kinds   " + ", ".join(f"{k} {v}" for k, v in sorted(self.bad_kinds.items())))
        if stale:
            self.note(f"{stale} sources never got an ACK to their BYE at the end")
        for text in self.notes:
            print("  note: " + text)
        for name, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        if not exit_ok:
            print("--- last lines of the ringcastd log:\n" + log_tail)
        passed = all(ok for _, ok in checks)
        say("PASS" if passed else "FAIL")
        return 0 if passed else 1


class Died(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(prog="soak.py")
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--build", required=True)
    ap.add_argument("--tag", default=str(os.getpid()))
    ap.add_argument("--samples")
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    random.seed(args.seed)

    def on_signal(signum, _frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(f"\n{PROG}: interrupted by signal {signum}: cleaning up", file=sys.stderr, flush=True)
        tb.run_cleanups()
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    soak = Soak(args)
    soak.start_time = time.monotonic()
    try:
        soak.start()
        rc = soak.run()
    except Died as e:
        say(f"FAIL: {e}")
        print("--- last lines of the ringcastd log:\n" + soak.daemon.log_text()[-3000:])
        rc = 1
    except Exception as e:
        say(f"error: {type(e).__name__}: {e}")
        if hasattr(soak, "daemon"):
            print("--- last lines of the ringcastd log:\n" + soak.daemon.log_text()[-3000:])
        rc = 1
    finally:
        tb.run_cleanups()
    sys.exit(rc)


if __name__ == "__main__":
    main()
