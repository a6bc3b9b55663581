"""Plumbing shared by the integration tests: a private test bed, ringcastd in
it, RCP/1 clients on kernel UDP sockets in the client namespace, and the DPDK
telemetry socket.

Every resource registers its teardown when it is made (grout smoke/_init.sh
style); the teardowns run in reverse order at the end of the test program,
on SIGTERM/SIGINT/SIGHUP (meson's timeout sends SIGTERM), and at exit.

Each test program is run by meson as
    python3 test_X.py RINGCASTD RINGCAST SOURCE_ROOT
and needs root (namespaces); without it, it exits 77 (meson: skipped).
"""

import atexit
import collections
import contextlib
import ctypes
import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

# ---- RCP/1 -------------------------------------------------------------------

MAGIC = 0xC5
VERSION = 1
HELLO, SUB, UNSUB, PUB, MSG, ACK, NACK, PING, PONG, ERR, BYE = range(1, 12)
OP_NAMES = {1: "HELLO", 2: "SUB", 3: "UNSUB", 4: "PUB", 5: "MSG", 6: "ACK", 7: "NACK",
            8: "PING", 9: "PONG", 10: "ERR", 11: "BYE"}
E_MALFORMED, E_VERSION, E_BAD_TOPIC, E_NOT_AUTHORIZED, E_LIMIT, E_GAP_LOST, E_OVERLOAD, \
    E_UNKNOWN_OP = range(1, 9)
MAX_ERR_REASON = 32
HEADER = struct.Struct(">BBBBIQ")  # magic, version<<4|op, flags, topic_len, payload_len, seq
assert HEADER.size == 16

APP_ADDR = "192.0.2.1"  # the appliance (config/testbed.toml)
CLI_ADDR = "192.0.2.2"  # the client side of the bed (scripts/testbed.sh)
RCP_PORT = 7700
SERVER = (APP_ADDR, RCP_PORT)


def as_bytes(x):
    return x.encode() if isinstance(x, str) else bytes(x)


def frame(op, topic=b"", payload=b"", seq=0, flags=0, *, version=VERSION, magic=MAGIC,
          topic_len=None, payload_len=None):
    """One RCP/1 frame; the keyword arguments forge bad ones."""
    topic, payload = as_bytes(topic), as_bytes(payload)
    return HEADER.pack(magic, (version << 4) | op, flags,
                       len(topic) if topic_len is None else topic_len,
                       len(payload) if payload_len is None else payload_len,
                       seq) + topic + payload


Frame = collections.namedtuple("Frame", "op flags seq topic payload")


def parse_frames(data):
    """Every frame of a datagram the appliance sent; anything malformed in
    what the appliance sends fails the test."""
    frames, off = [], 0
    while off < len(data):
        if len(data) - off < HEADER.size:
            raise AssertionError(f"appliance sent a truncated header: {data[off:]!r}")
        magic, ver_op, flags, tlen, plen, seq = HEADER.unpack_from(data, off)
        if magic != MAGIC or ver_op >> 4 != VERSION:
            raise AssertionError(f"appliance sent a bad header: {data[off:off + 16].hex()}")
        end = off + HEADER.size + tlen + plen
        if end > len(data):
            raise AssertionError(f"appliance sent a frame longer than its datagram: {data[off:].hex()}")
        topic = data[off + HEADER.size:off + HEADER.size + tlen]
        frames.append(Frame(ver_op & 0x0F, flags, seq, topic, data[off + HEADER.size + tlen:end]))
        off = end
    return frames


def describe(f):
    name = OP_NAMES.get(f.op, str(f.op))
    return f"{name}(flags={f.flags} seq={f.seq} topic={f.topic!r} payload={f.payload[:40]!r})"


# ---- cleanup registry ----------------------------------------------------------

_cleanups = []


def on_cleanup(fn, *args):
    """Registers a teardown; they run last-in first-out, each at most once."""
    _cleanups.append((fn, args))


def run_cleanups():
    while _cleanups:
        fn, args = _cleanups.pop()
        try:
            fn(*args)
        except Exception as e:  # a failing teardown must not stop the others
            print(f"cleanup {getattr(fn, '__name__', fn)}: {e}", file=sys.stderr)


def _on_signal(signum, _frame):
    print(f"\ninterrupted by signal {signum}: cleaning up", file=sys.stderr)
    run_cleanups()
    os._exit(128 + signum)


# ---- arguments and entry point -------------------------------------------------


class Paths:
    ringcastd = None
    ringcast = None
    source_root = None

    @classmethod
    def testbed_sh(cls):
        return os.path.join(cls.source_root, "scripts", "testbed.sh")

    @classmethod
    def build_root(cls):
        return os.path.dirname(os.path.dirname(cls.ringcastd))  # build/apps/ringcastd

    @classmethod
    def testbed_toml(cls):
        return os.path.join(cls.source_root, "config", "testbed.toml")


def main():
    """Entry point of every test program: runs the unittest classes of
    __main__, then every teardown, whatever happened."""
    if len(sys.argv) != 4:
        print(f"usage: {sys.argv[0]} RINGCASTD RINGCAST SOURCE_ROOT", file=sys.stderr)
        sys.exit(2)
    Paths.ringcastd, Paths.ringcast, Paths.source_root = (os.path.abspath(a) for a in sys.argv[1:])
    if os.geteuid() != 0:
        print("SKIP: integration tests need root (network namespaces)")
        sys.exit(77)
    for tool in ("ip", "ethtool", "ping"):
        if shutil.which(tool) is None:
            print(f"SKIP: '{tool}' not found")
            sys.exit(77)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    atexit.register(run_cleanups)
    try:
        # RC_TEST_K=PATTERN runs only the tests whose names hold it (unittest's -k).
        only = ["-k", os.environ["RC_TEST_K"]] if os.environ.get("RC_TEST_K") else []
        prog = unittest.main(argv=[sys.argv[0], *only], exit=False, verbosity=2, failfast=False)
    finally:
        run_cleanups()
    sys.exit(0 if prog.result.wasSuccessful() else 1)


# ---- the bed -------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(name):
    """Runs the block with this thread in namespace `name`. Sockets made
    inside stay in it after the block."""
    with open("/proc/thread-self/ns/net") as home, open(f"/var/run/netns/{name}") as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns(back home): {os.strerror(err)}")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_stale_beds():
    """Removes beds of test programs that were killed outright (SIGKILL runs
    no teardown): names carry the pid of their owner."""
    try:
        names = os.listdir("/var/run/netns")
    except FileNotFoundError:
        names = []
    for name in names:
        m = re.fullmatch(r"rc-(?:app|cli)-(\d+)", name)
        if m and not _pid_alive(int(m.group(1))):
            Bed(m.group(1)).down()
    for d in glob.glob("/var/run/dpdk/rc-it-*"):
        m = re.fullmatch(r"rc-it-(\d+)-\d+", os.path.basename(d))
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


class Bed:
    """A private bed: rc-app-<pid>, rc-cli-<pid>, veth rca<pid> <-> rcc<pid>."""

    def __init__(self, tag=None):
        tag = str(os.getpid()) if tag is None else str(tag)
        self.ns_app, self.ns_cli = f"rc-app-{tag}", f"rc-cli-{tag}"
        self.if_app, self.if_cli = f"rca{tag}", f"rcc{tag}"
        self.env = dict(os.environ, RC_NS_APP=self.ns_app, RC_NS_CLI=self.ns_cli,
                        RC_IF_APP=self.if_app, RC_IF_CLI=self.if_cli)

    def _script(self, verb):
        r = subprocess.run([Paths.testbed_sh(), verb], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"testbed.sh {verb} failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    def up(self):
        _reap_stale_beds()
        on_cleanup(self.down)  # registered first: a half-made bed goes too
        self._script("up")
        return self

    def down(self):
        self._script("down")

    def app(self, *argv, timeout=30, check=False):
        """Runs a command in the appliance namespace; returns CompletedProcess."""
        return subprocess.run(["ip", "netns", "exec", self.ns_app, *argv], capture_output=True,
                              text=True, timeout=timeout, check=check)

    def cli(self, *argv, timeout=30, check=False):
        """Runs a command in the client namespace; returns CompletedProcess."""
        return subprocess.run(["ip", "netns", "exec", self.ns_cli, *argv], capture_output=True,
                              text=True, timeout=timeout, check=check)

    def cli_popen(self, *argv):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns_cli, *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        on_cleanup(_kill, p)
        return p


def _kill(p, grace=3.0):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---- RCP/1 client ----------------------------------------------------------------


class Client:
    """A kernel UDP socket in the client namespace: one subscriber identity
    (source address and port) as the appliance sees it."""

    def __init__(self, bed):
        with in_netns(bed.ns_cli):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        on_cleanup(self.sock.close)
        # Room for a whole test's deliveries: nothing may be lost in the kernel.
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        self.sock.bind((CLI_ADDR, 0))
        self.addr = self.sock.getsockname()
        self.pending = collections.deque()  # frames received but not asked for yet
        self.datagrams = 0  # received, however many frames each held
        self._seq = 1000

    def next_seq(self):
        self._seq += 1
        return self._seq

    def send(self, *frames):
        self.sock.sendto(b"".join(frames), SERVER)

    def send_raw(self, data):
        self.sock.sendto(data, SERVER)

    def _recv_datagram(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data, src = self.sock.recvfrom(65536)
        except socket.timeout:
            return False
        if src != SERVER:
            raise AssertionError(f"datagram from {src}, expected {SERVER}")
        self.datagrams += 1
        self.pending.extend(parse_frames(data))
        return True

    def next_frame(self, timeout=2.0):
        """The next frame the appliance sent, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            if not self._recv_datagram(deadline):
                return None
        return self.pending.popleft()

    def wait_for(self, op, seq, timeout=2.0):
        """The first frame with this op and seq, or an ERR with this seq;
        frames received meanwhile stay pending in order."""
        deadline = time.monotonic() + timeout
        scanned = 0
        while True:
            for i in range(scanned, len(self.pending)):
                f = self.pending[i]
                if f.seq == seq and f.op in (op, ERR):
                    del self.pending[i]
                    return f
            scanned = len(self.pending)
            if not self._recv_datagram(deadline):
                raise AssertionError(
                    f"no {OP_NAMES[op]} seq={seq} within {timeout} s "
                    f"(pending: {[describe(f) for f in self.pending][:5]})")

    def request(self, op, topic=b"", payload=b"", expect=ACK, timeout=2.0):
        """Sends one frame and returns the reply (expect, or ERR) with its seq."""
        seq = self.next_seq()
        self.send(frame(op, topic, payload, seq))
        return self.wait_for(expect, seq, timeout), seq

    def _acked(self, op, topic):
        reply, seq = self.request(op, topic)
        assert reply.op == ACK, f"{OP_NAMES[op]} {topic!r}: expected ACK seq={seq}, got {describe(reply)}"
        return reply

    def sub(self, topic):
        return self._acked(SUB, topic)

    def unsub(self, topic):
        return self._acked(UNSUB, topic)

    def bye(self):
        return self._acked(BYE, b"")

    def collect(self, count, timeout=5.0):
        """Up to `count` frames, waiting at most `timeout` s in all."""
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < count:
            while self.pending and len(out) < count:
                out.append(self.pending.popleft())
            if len(out) < count and not self._recv_datagram(deadline):
                break
        return out

    def silence(self, duration=0.3):
        """Frames that arrive within `duration` (the caller asserts none)."""
        deadline = time.monotonic() + duration
        while self._recv_datagram(deadline):
            pass
        out = list(self.pending)
        self.pending.clear()
        return out


class TcpClient(Client):
    """A kernel TCP connection from the client namespace to TCP-lite: one
    subscriber identity for as long as it lasts. Same requests as Client;
    frames are cut out of the byte stream as they arrive."""

    def __init__(self, bed, rcvbuf=None, connect=True):
        with in_netns(bed.ns_cli):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        on_cleanup(self.sock.close)
        if rcvbuf is not None:  # before connect: it sets the window scale offered
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(5)
        self.sock.bind((CLI_ADDR, 0))
        if connect:
            self.sock.connect(SERVER)
        self.addr = self.sock.getsockname()
        self.pending = collections.deque()
        self.datagrams = 0  # reads that returned data
        self.buf = b""
        self.eof = False
        self._seq = 1000

    def send(self, *frames):
        self.sock.sendall(b"".join(frames))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _recv_datagram(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        if not data:
            self.eof = True
            return False
        self.datagrams += 1
        self.buf += data
        off = 0
        while len(self.buf) - off >= HEADER.size:
            _, _, _, tlen, plen, _ = HEADER.unpack_from(self.buf, off)
            end = off + HEADER.size + tlen + plen
            if end > len(self.buf):
                break
            self.pending.extend(parse_frames(self.buf[off:end]))
            off = end
        self.buf = self.buf[off:]
        return True

    def closed_by_peer(self, timeout=2.0):
        """True when the appliance ends the stream (FIN or RST) within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while self._recv_datagram(deadline):
                pass
        except ConnectionResetError:
            return True
        return self.eof


def publish(client, topic, payloads, pace=16):
    """PUB (QoS 0) each payload, pausing briefly every `pace` frames so that
    nothing is lost in the kernel or the af_packet ring on the way."""
    for i, p in enumerate(payloads):
        client.send(frame(PUB, topic, p, seq=i + 1))
        if (i + 1) % pace == 0:
            time.sleep(0.002)


# ---- the daemon ----------------------------------------------------------------

_daemon_count = 0


class Daemon:
    """ringcastd in the bed's app namespace, on a private copy of
    config/testbed.toml (own file_prefix, own interface)."""

    def __init__(self, bed, workers=None, qpairs=None, lease_s=None, xdp_prog=None, settings=None):
        """settings: {"table.key": "TOML value"} replacing keys the file writes."""
        global _daemon_count
        _daemon_count += 1
        self.bed = bed
        self.prefix = f"rc-it-{os.getpid()}-{_daemon_count}"
        self.dir = tempfile.mkdtemp(prefix=f"{self.prefix}.")
        on_cleanup(shutil.rmtree, self.dir, True)
        self.config = os.path.join(self.dir, "ringcastd.toml")
        self.log = os.path.join(self.dir, "ringcastd.log")
        with open(Paths.testbed_toml()) as f:
            text = f.read()
        text = _sub_once(text, r'(file_prefix\s*=\s*)"[^"]*"', rf'\g<1>"{self.prefix}"', "file_prefix")
        text = _sub_once(text, r"iface=[A-Za-z0-9_.-]+", f"iface={bed.if_app}", "iface= in vdevs")
        if qpairs is not None:
            text = _sub_once(text, r"qpairs=\d+", f"qpairs={qpairs}", "qpairs= in vdevs")
        if workers is not None:
            text = _sub_once(text, r"(?m)^(\s*worker\s*=\s*)\[[^\]]*\]",
                             rf"\g<1>[{', '.join(map(str, workers))}]", "worker =")
        if xdp_prog is not None:
            # AF_XDP instead of af_packet, with the steering program loaded by the PMD.
            text = _sub_once(text, r'"net_af_packet0,iface=[^"]*"',
                             f'"net_af_xdp0,iface={bed.if_app},xdp_prog={xdp_prog}"', "af_packet vdev")
            text = _sub_once(text, r'device\s*=\s*"net_af_packet0"', 'device = "net_af_xdp0"', "port device")
        if lease_s is not None:
            text = _sub_once(text, r"(?m)^(\s*lease_s\s*=\s*)\d+", rf"\g<1>{lease_s}", "lease_s =")
        for name, value in (settings or {}).items():
            text = _set_key(text, name, value)
        with open(self.config, "w") as f:
            f.write(text)
        self.proc = None
        self.baseline = None

    def start(self):
        on_cleanup(self._cleanup)  # registered before the process exists
        logf = open(self.log, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.bed.ns_app, Paths.ringcastd,
                                      "-c", self.config], stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.monotonic() + 20
        while True:
            if re.search(r"(?m)^ringcastd: ready$", self.log_text()):
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"ringcastd exited with {self.proc.returncode} before it was "
                                     f"ready:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"ringcastd not ready after 20 s:\n{self.log_text()}")
            time.sleep(0.05)
        self.baseline = self.pools_in_use()
        return self

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self, timeout=3.0):
        """SIGTERM; returns (exit status, seconds it took), None on timeout."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        return rc, time.monotonic() - t0

    def _cleanup(self):
        if self.proc is not None:
            _kill(self.proc)
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)
        for f in glob.glob(f"/dev/hugepages/{self.prefix}map_*"):
            os.unlink(f)

    # ---- telemetry ----

    def telemetry(self, command, timeout=2.0):
        """One command ("/ringcast/stats", "/ethdev/stats,0") on the DPDK
        telemetry socket; returns the value under the command's key (the
        command without its parameter)."""
        path = f"/var/run/dpdk/{self.prefix}/dpdk_telemetry.v2"
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.recv(65536)  # greeting: version, pid, max_output_len
            s.send(command.encode())
            reply = json.loads(s.recv(65536))
        key = command.split(",", 1)[0]
        assert key in reply, f"telemetry reply to {command} lacks its key: {reply}"
        return reply[key]

    def stats(self):
        return self.telemetry("/ringcast/stats")

    def pools_in_use(self):
        pools = self.stats()["mempools"]
        assert pools, "/ringcast/stats has no mempools"
        return {name: p["in_use"] for name, p in pools.items()}

    def wait_stats(self, predicate, timeout=2.0):
        """Polls /ringcast/stats until predicate(stats) holds; returns the
        last stats either way, for the caller's assertion."""
        return self.wait_telemetry("/ringcast/stats", predicate, timeout)

    def wait_telemetry(self, command, predicate, timeout=2.0):
        """Polls `command` until predicate(answer) holds; returns the last
        answer either way, for the caller's assertion."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.telemetry(command)
            if predicate(s) or time.monotonic() > deadline:
                return s
            time.sleep(0.05)


def _set_key(text, name, value):
    """Replaces `key = ...` inside `[table]` of a TOML text written one key a line."""
    table, key = name.rsplit(".", 1)
    head = re.search(rf"(?m)^\[{re.escape(table)}\]\s*$", text)
    if head is None:
        raise AssertionError(f"config/testbed.toml has no [{table}]")
    nxt = re.search(r"(?m)^\[", text[head.end():])
    end = head.end() + (nxt.start() if nxt else len(text) - head.end())
    body, n = re.subn(rf"(?m)^(\s*{re.escape(key)}\s*=\s*)[^#\n]*?(\s*(#.*)?)$",
                      lambda m: f"{m.group(1)}{value}{m.group(2)}", text[head.end():end], count=1)
    if n != 1:
        raise AssertionError(f"config/testbed.toml: no {key} in [{table}]")
    return text[:head.end()] + body + text[end:]


def _sub_once(text, pattern, repl, what):
    out, n = re.subn(pattern, repl, text)
    if n != 1:
        raise AssertionError(f"config/testbed.toml: expected one '{what}', found {n}")
    return out


def delta(after, before, key):
    return after[key] - before[key]


# ---- shared test shapes ----------------------------------------------------------


class DaemonTestCase(unittest.TestCase):
    """One bed and one ringcastd for the whole class; tests run in name
    order (test_10_..., test_20_...), the last ones check the mbuf pools and
    SIGTERM. Subclasses may set `workers`, `qpairs`, `lease_s`, `xdp_prog`
    and `settings`."""

    workers = None
    qpairs = None
    lease_s = None
    xdp_prog = None
    settings = None

    @classmethod
    def setUpClass(cls):
        cls.bed = Bed().up()
        cls.daemon = Daemon(cls.bed, workers=cls.workers, qpairs=cls.qpairs, lease_s=cls.lease_s,
                            xdp_prog=cls.xdp_prog, settings=cls.settings).start()

    def client(self):
        return Client(self.bed)

    def subscriber(self, *topics):
        """A client subscribed to `topics` (each ACKed); it says BYE when the
        test ends, so the next test starts with no subscription left."""
        c = Client(self.bed)
        for t in topics:
            c.sub(t)
        self.addCleanup(c.bye)
        return c

    def assert_stream(self, frames, topic, payloads, first_seq=1):
        """frames are exactly the MSGs of `topic` carrying `payloads`, once
        each, with seq first_seq, first_seq+1, ... in order."""
        topic = as_bytes(topic)
        got = [(f.op, f.topic, f.seq, f.payload) for f in frames]
        want = [(MSG, topic, first_seq + i, as_bytes(p)) for i, p in enumerate(payloads)]
        if got != want:
            first_bad = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
            self.fail(f"topic {topic!r}: got {len(got)} frames, want {len(want)}; first difference at "
                      f"#{first_bad}: got {got[first_bad] if first_bad < len(got) else None}, want "
                      f"{want[first_bad] if first_bad < len(want) else None}")

    def assert_pools_at_baseline(self):
        """Every header mbuf is back. Receive and indirect mbufs above the
        baseline are only those retention holds on purpose: a retained
        message or RETAIN value holds one receive mbuf, or one indirect view
        and its datagram's receive mbuf. Exactness comes at SIGTERM, where
        ringcastd releases retention and exits 1 if any mbuf is still out."""
        def extra(pools):
            return sum(n - self.daemon.baseline[name] for name, n in pools.items())

        deadline = time.monotonic() + 2.0
        while True:
            stats = self.daemon.stats()
            pools = {name: p["in_use"] for name, p in stats["mempools"].items()}
            held = stats["retained"] + stats["last_values"]
            ok = all(pools[n] == self.daemon.baseline[n] for n in pools if n.startswith("rc_hdr")) and (
                pools == self.daemon.baseline if held == 0 else 0 <= extra(pools) <= 2 * held)
            if ok or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(ok, f"mempool in_use {pools} against the idle baseline {self.daemon.baseline} "
                            f"with {held} messages retained")

    # Every class ends with these two, in this order (tests run by name).
    def test_90_mbuf_pools_back_at_idle_baseline(self):
        self.assert_pools_at_baseline()

    def test_99_sigterm_exits_zero_within_3s(self):
        self.assert_sigterm_exits_zero()

    def assert_sigterm_exits_zero(self):
        rc, took = self.daemon.stop()
        self.assertIsNotNone(rc, f"ringcastd still running 3 s after SIGTERM:\n{self.daemon.log_text()[-2000:]}")
        self.assertEqual(rc, 0, f"ringcastd exit status after SIGTERM:\n{self.daemon.log_text()[-2000:]}")
        self.assertLess(took, 3.0)
