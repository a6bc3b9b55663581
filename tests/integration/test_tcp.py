#!/usr/bin/env python3
"""TCP-lite against the kernel's TCP: RCP/1 over kernel TCP connections from
python sockets, nc and `ringcast --tcp`, side by side with UDP subscribers;
a long stream checked by digest; slow readers under both slow-consumer
policies; the peer's close, half-close and RST; a SYN flood from hping3;
segments lost on purpose; /ringcast/tcp, `ringcast stats` and the exporter."""

import hashlib
import os
import socket
import struct
import subprocess
import threading
import time

import testbed as tb
from testbed import ACK, ERR, MSG, PING, PONG, PUB, SUB, delta, frame


def tcp(daemon):
    return daemon.telemetry("/ringcast/tcp")


def wait_tcp(daemon, predicate, timeout=3.0):
    return daemon.wait_telemetry("/ringcast/tcp", predicate, timeout)


def payloads_for(topic, n, size=None):
    return [f"{topic} #{i:05d} ".encode() + bytes((i * 13 + k) % 256 for k in range(size or i % 97))
            for i in range(n)]


class TcpClients:
    """Kernel TCP connections that close (FIN) when their test ends."""

    def tcp_client(self, rcvbuf=None):
        c = tb.TcpClient(self.bed, rcvbuf=rcvbuf)
        self.addCleanup(c.sock.close)  # its FIN ends its subscriptions whatever the test did
        return c

    def tcp_subscriber(self, *topics, rcvbuf=None):
        c = self.tcp_client(rcvbuf)
        for t in topics:
            c.sub(t)
        return c

    def settled(self):
        """/ringcast/tcp once the connections of earlier tests (closed at
        their end) are gone."""
        t = wait_tcp(self.daemon, lambda t: t["connections"] == 0, timeout=5)
        self.assertEqual(t["connections"], 0, t)
        return t

    def subscriptions_drop_to(self, count):
        st = self.daemon.wait_stats(lambda st: st["subscriptions"] == count, timeout=3)
        self.assertEqual(st["subscriptions"], count)


class TcpLite(TcpClients, tb.DaemonTestCase):

    def test_10_tcp_and_udp_subscribers_of_one_topic_all_get_every_message_in_order(self):
        before_tcp = tcp(self.daemon)
        tcps = [self.tcp_subscriber("mix/t") for _ in range(3)]
        udps = [self.subscriber("mix/t") for _ in range(2)]
        t = wait_tcp(self.daemon, lambda t: t["states"]["established"] >= 3)
        self.assertEqual(t["states"]["established"], 3, t)
        self.assertEqual(t["connections"], 3, t)
        self.assertEqual(delta(t, before_tcp, "syns"), 3)
        self.assertEqual(delta(t, before_tcp, "established"), 3)
        pub = self.client()
        payloads = payloads_for("mix/t", 300)
        tb.publish(pub, "mix/t", payloads)
        for s in tcps + udps:
            self.assert_stream(s.collect(300), "mix/t", payloads)
        for s in tcps:
            self.assertEqual(s.silence(0.1), [], "a TCP subscriber got more than it should")
            s.bye()
        # BYE over TCP ends the subscription: nothing more arrives.
        tb.publish(pub, "mix/t", [b"after bye"])
        for s in udps:
            self.assert_stream(s.collect(1), "mix/t", [b"after bye"], first_seq=301)
        for s in tcps:
            self.assertEqual(s.silence(0.2), [], "a TCP subscriber got a message after BYE")

    def test_11_a_tcp_publisher_reaches_tcp_and_udp_subscribers_and_gets_qos_acks(self):
        udp = self.subscriber("tp/x")
        sub = self.tcp_subscriber("tp/x")
        pub = self.tcp_client()
        reply, seq = pub.request(PING, payload=b"over tcp", expect=PONG)
        self.assertEqual((reply.op, reply.seq, reply.payload), (PONG, seq, b"over tcp"))
        payloads = payloads_for("tp/x", 200)
        # Many frames in one write, and frames cut across writes.
        stream = b"".join(frame(PUB, "tp/x", p, seq=i + 1) for i, p in enumerate(payloads[:100]))
        for i in range(0, len(stream), 777):
            pub.send_raw(stream[i:i + 777])
        for i, p in enumerate(payloads[100:]):
            pub.send(frame(PUB, "tp/x", p, seq=101 + i))
        self.assert_stream(sub.collect(200), "tp/x", payloads)
        self.assert_stream(udp.collect(200), "tp/x", payloads)
        # QoS 1 over the stream: ACK with the topic seq.
        seq = pub.next_seq()
        pub.send(frame(PUB, "tp/x", b"qos1", seq=seq, flags=0x01))
        ack = pub.wait_for(ACK, seq)
        self.assertEqual(ack.op, ACK, tb.describe(ack))
        self.assert_stream(sub.collect(1), "tp/x", [b"qos1"], first_seq=201)
        sub.bye()
        pub.sock.close()

    def test_12_nc_subscribes_with_a_frame_on_stdin_and_prints_the_stream(self):
        sub_frame = frame(SUB, "nc/t", seq=7)
        p = subprocess.Popen(["ip", "netns", "exec", self.bed.ns_cli, "nc", "-N", "-w", "3", tb.APP_ADDR,
                              str(tb.RCP_PORT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        tb.on_cleanup(tb._kill, p)
        # nc keeps the connection while stdin is open: write the SUB, keep it open.
        p.stdin.write(sub_frame)
        p.stdin.flush()
        self.daemon.wait_stats(lambda st: st["subscriptions"] >= 1)
        pub = self.client()
        payloads = payloads_for("nc/t", 50)
        tb.publish(pub, "nc/t", payloads)
        time.sleep(0.5)
        p.stdin.close()  # nc -N: shutdown(SHUT_WR); the appliance ends the stream in turn
        p.wait(10)
        out, err = p.stdout.read(), p.stderr.read()
        frames = tb.parse_frames(out)
        self.assertEqual((frames[0].op, frames[0].seq), (ACK, 7), err)
        self.assert_stream(frames[1:], "nc/t", payloads)

    def test_13_ringcast_sub_and_pub_with_tcp(self):
        sub = self.bed.cli_popen(tb.Paths.ringcast, "sub", "--tcp", "--server", f"{tb.APP_ADDR}:{tb.RCP_PORT}",
                                 "-n", "5", "cli/t")
        self.daemon.wait_stats(lambda st: st["subscriptions"] >= 1, timeout=5)
        for i in range(5):
            r = self.bed.cli(tb.Paths.ringcast, "pub", "--tcp", "--server", f"{tb.APP_ADDR}:{tb.RCP_PORT}",
                             "cli/t", f"message {i}")
            self.assertEqual(r.returncode, 0, r.stderr)
        out, err = sub.communicate(timeout=10)
        self.assertEqual(sub.returncode, 0, err)
        for i in range(5):
            self.assertIn(f"message {i}", out)
        r = self.bed.cli(tb.Paths.ringcast, "ping", "--tcp", "--server", f"{tb.APP_ADDR}:{tb.RCP_PORT}",
                         "-n", "2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_20_a_long_stream_through_one_connection_arrives_intact(self):
        # PUBs over one connection, MSGs back over another: 2 x 1000-byte
        # payloads x 50000 = 100 MB through the appliance's TCP both ways.
        n, size = 50000, 1000
        before = tcp(self.daemon)
        sub = self.tcp_subscriber("long/t", rcvbuf=4 << 20)
        pub = self.tcp_client()
        # Integrity, not speed: when the af_packet ring overflows on this
        # 2-core bed, recovery without SACK can take a few backed-off RTOs.
        pub.sock.settimeout(60)
        want = hashlib.sha256()
        got = hashlib.sha256()
        received = []
        errors = []
        progress = [0]

        def reader():
            count, seq = 0, 0
            try:
                while count < n:
                    if not sub.pending and not sub._recv_datagram(time.monotonic() + 60):
                        errors.append(f"stalled after {count} messages")
                        return
                    frames = list(sub.pending)
                    sub.pending.clear()
                    for f in frames:
                        if f.op != MSG or f.seq != seq + 1:
                            errors.append(f"after seq {seq}: {tb.describe(f)}")
                            return
                        seq = f.seq
                        got.update(f.payload)
                    count += len(frames)
                    progress[0] = count
            finally:
                received.append(count)

        r = threading.Thread(target=reader)
        r.start()
        t0 = time.monotonic()
        chunk = []
        for i in range(n):
            p = struct.pack(">I", i) + bytes(((i + k) * 31) % 256 for k in range(8)) * ((size - 4) // 8) + b"xxxx"
            p = p[:size]
            want.update(p)
            chunk.append(frame(PUB, "long/t", p, seq=i + 1))
            if len(chunk) == 64:
                try:
                    pub.send(*chunk)
                except OSError as e:
                    ss = self.bed.cli("ss", "-tinm").stdout
                    st = self.daemon.stats()
                    drops = {k: v for k, v in st["drops"].items() if v}
                    self.fail(f"publishing message {i}: {e}; /ringcast/tcp {tcp(self.daemon)}\ndrops {drops} "
                              f"mempools {st['mempools']}\nports {self.daemon.telemetry('/ringcast/ports')}\n{ss}")
                chunk = []
                # The reader's pace: within half the send queue (1 MiB), or
                # the appliance drops for a slow consumer, as configured.
                while i + 1 - progress[0] > 256 and r.is_alive():
                    time.sleep(0.0005)
        if chunk:
            pub.send(*chunk)
        r.join(180)
        took = time.monotonic() - t0
        self.assertFalse(r.is_alive(), "the reader is still reading after 180 s")
        self.assertEqual(errors, [])
        self.assertEqual(received, [n])
        self.assertEqual(got.hexdigest(), want.hexdigest())
        t = tcp(self.daemon)
        print(f"\n  {n} x {size} B through TCP-lite both ways in {took:.1f} s; segments dropped out of order "
              f"{delta(t, before, 'out_of_order')}, ours retransmitted {delta(t, before, 'retransmits')}", flush=True)
        sub.bye()
        pub.sock.close()

    def test_30_a_subscriber_that_stops_reading_is_counted_and_the_others_keep_everything(self):
        before = self.daemon.stats()
        stuck = self.tcp_subscriber("slow/t", rcvbuf=4096)
        fast_tcp = self.tcp_subscriber("slow/t", rcvbuf=8 << 20)
        fast_udp = self.subscriber("slow/t")
        pub = self.tcp_client()
        n = 6000  # 6000 x ~1.1 KB: well past the stuck one's 1 MiB send queue and its windows
        payloads = payloads_for("slow/t", n, size=1100)
        got = []
        r = threading.Thread(target=lambda: got.extend(fast_tcp.collect(n, timeout=30)))
        r.start()
        for i in range(0, n, 32):
            pub.send(*(frame(PUB, "slow/t", p, seq=i + k + 1) for k, p in enumerate(payloads[i:i + 32])))
            time.sleep(0.001)
        udp_got = fast_udp.collect(n, timeout=30)
        r.join(40)
        self.assert_stream(got, "slow/t", payloads)
        self.assert_stream(udp_got, "slow/t", payloads)
        after = self.daemon.wait_stats(lambda st: delta(st["drops"], before["drops"], "tcp_slow_consumer") > 0)
        self.assertGreater(delta(after["drops"], before["drops"], "tcp_slow_consumer"), 0)
        self.assertEqual(tcp(self.daemon)["tcp_slow_consumer"], after["drops"]["tcp_slow_consumer"])
        dropped = delta(after["drops"], before["drops"], "tcp_slow_consumer")
        # The stuck one reads at last: what it gets is in order, and the
        # gap is exactly what was dropped.
        rest = stuck.collect(n, timeout=5)
        seqs = [f.seq for f in rest if f.op == MSG]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(seqs) + dropped, n, f"{len(seqs)} received, {dropped} dropped")
        pub.sock.close()

    def test_40_peer_close_ends_the_subscription(self):
        before = self.settled()
        subs = self.daemon.stats()["subscriptions"]
        c = self.tcp_subscriber("close/t")
        self.daemon.wait_stats(lambda st: st["subscriptions"] == subs + 1)
        c.sock.close()  # FIN from the peer
        self.subscriptions_drop_to(subs)
        t = wait_tcp(self.daemon, lambda t: delta(t, before, "closed") >= 1 and
                     t["connections"] <= before["connections"])
        self.assertEqual(delta(t, before, "closed"), 1, t)
        self.assertLessEqual(t["connections"], before["connections"], t)

    def test_41_half_close_gets_the_queued_data_then_the_appliance_closes(self):
        subs = self.daemon.stats()["subscriptions"]
        c = self.tcp_subscriber("half/t")
        pub = self.client()
        payloads = payloads_for("half/t", 100)
        tb.publish(pub, "half/t", payloads)
        time.sleep(0.2)
        c.sock.shutdown(socket.SHUT_WR)  # our FIN; we still read
        frames = c.collect(100, timeout=5)
        self.assert_stream(frames, "half/t", payloads)
        self.assertTrue(c.closed_by_peer(3), "the appliance did not close its side after our FIN")
        self.subscriptions_drop_to(subs)

    def test_42_peer_reset_ends_the_connection_and_its_subscriptions(self):
        before = self.settled()
        subs = self.daemon.stats()["subscriptions"]
        c = self.tcp_subscriber("rst/t")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sock.close()  # RST
        t = wait_tcp(self.daemon, lambda t: delta(t, before, "resets_received") >= 1)
        self.assertEqual(delta(t, before, "resets_received"), 1, t)
        self.subscriptions_drop_to(subs)
        # A gauge set every 100 ms; an earlier test's connection may still be closing in `before`.
        t = wait_tcp(self.daemon, lambda t: t["connections"] <= before["connections"])
        self.assertLessEqual(t["connections"], before["connections"], t)

    def test_50_a_malformed_frame_gets_err_and_the_connection_is_closed(self):
        before = self.daemon.stats()
        c = self.tcp_client()
        c.send_raw(frame(PING, seq=5) + frame(PING, seq=6, magic=0x00))
        first = c.next_frame()
        self.assertEqual((first.op, first.seq), (PONG, 5))
        err = c.next_frame()
        self.assertIsNotNone(err, "no ERR for a bad frame on a stream")
        self.assertEqual(err.op, ERR, tb.describe(err))
        self.assertTrue(c.closed_by_peer(3), "the stream lost framing but stayed open")
        c.sock.close()
        after = self.daemon.wait_stats(lambda st: delta(st["drops"], before["drops"], "malformed") >= 1)
        self.assertEqual(delta(after["drops"], before["drops"], "malformed"), 1)

    def test_55_segments_for_no_connection_are_answered_with_rst(self):
        # Crafted by scapy (the kernel would not send them): a stray ACK is
        # a handshake's last ACK without a valid cookie; a FIN is for no
        # connection at all. Both RST, each counted.
        before = self.daemon.stats()
        script = ("import sys\n"
                  "from scapy.all import IP, TCP, sr1, conf\n"
                  "conf.verb = 0\n"
                  f"ip = IP(dst='{tb.APP_ADDR}')\n"
                  "for flags in sys.argv[1:]:\n"
                  f"    r = sr1(ip/TCP(sport=40001, dport={tb.RCP_PORT}, flags=flags, seq=1000, ack=1), timeout=2)\n"
                  "    print(r[TCP].flags if r is not None else 'none', r[TCP].seq if r is not None else '')\n")
        # Debian's python3, which has python3-scapy.
        r = self.bed.cli("/usr/bin/python3", "-c", script, "A", "F", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        # RFC 9293 3.10.7.1: an ACK's RST takes its seq from the ACK field; else RST|ACK.
        self.assertEqual(r.stdout.split("\n")[:2], ["R 1", "RA 0"], r.stdout + r.stderr)
        after = self.daemon.wait_stats(lambda st: delta(st["drops"], before["drops"], "tcp_no_connection") >= 1)
        self.assertEqual(delta(after["drops"], before["drops"], "tcp_bad_cookie"), 1)
        self.assertEqual(delta(after["drops"], before["drops"], "tcp_no_connection"), 1)
        self.assertEqual(delta(after, before, "tcp_resets"), 2)

    def test_60_a_syn_flood_leaves_no_state_and_real_connections_still_work(self):
        before = tcp(self.daemon)
        r = self.bed.cli("timeout", "3", "hping3", "--flood", "-S", "-p", str(tb.RCP_PORT), tb.APP_ADDR, timeout=20)
        self.assertIn(r.returncode, (0, 124), r.stderr)
        t = tcp(self.daemon)
        syns = delta(t, before, "syns")
        self.assertGreater(syns, 100, t)
        # SYN cookies: a SYN costs no slot.
        self.assertLessEqual(t["connections"], before["connections"], t)
        c = self.tcp_subscriber("after/flood")
        pub = self.client()
        tb.publish(pub, "after/flood", [b"still here"])
        self.assert_stream(c.collect(1), "after/flood", [b"still here"])
        c.bye()
        print(f"\n  hping3 --flood -S for 3 s: {syns} SYNs answered with cookies", flush=True)

    def test_70_stats_top_and_exporter_show_tcp(self):
        c = self.tcp_subscriber("obs/tcp")
        wait_tcp(self.daemon, lambda t: t["states"]["established"] >= 1)
        addr = f"tcp:{tb.CLI_ADDR}:{c.addr[1]}"
        deadline = time.monotonic() + 3  # the listing is refreshed about once a second
        while time.monotonic() < deadline:
            subs = self.daemon.telemetry("/ringcast/subscribers")
            mine = [e for e in subs.values() if isinstance(e, dict) and e.get("address") == addr]
            if mine:
                break
            time.sleep(0.1)
        self.assertEqual(len(mine), 1, subs)
        self.assertEqual(mine[0]["transport"], "tcp")
        r = subprocess.run([tb.Paths.ringcast, "stats", "-f", self.daemon.prefix], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("TCP-lite on port 7700", r.stdout)
        self.assertRegex(r.stdout, r"tcp connections \d+ \(established 1\b")
        self.assertRegex(r.stdout, rf"(?m)^\s*tcp:{tb.CLI_ADDR}:{c.addr[1]}\s")
        r = subprocess.run([tb.Paths.ringcast, "top", "-f", self.daemon.prefix, "-n", "2", "-i", "0.2"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^tcp connections \d+ \(established 1\b.*  syns ")
        exporter = os.path.join(tb.Paths.source_root, "scripts", "ringcast-exporter.py")
        r = subprocess.run(["/usr/bin/python3", exporter, "--once", "--prefix", self.daemon.prefix],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r'(?m)^ringcast_tcp_connections\{state="established"\} 1\.0$')
        self.assertRegex(r.stdout, r"(?m)^ringcast_tcp_syns_total [1-9]")
        promtool = subprocess.run(["sh", "-c", "command -v promtool"], capture_output=True, text=True)
        if promtool.returncode == 0:
            p = subprocess.run(["promtool", "check", "metrics"], input=r.stdout, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        c.bye()

    def test_89_no_connection_left(self):
        t = wait_tcp(self.daemon, lambda t: t["states"]["established"] == 0, timeout=5)
        self.assertEqual(t["states"]["established"], 0, t)


class TcpLiteClosesSlowConsumers(TcpClients, tb.DaemonTestCase):
    settings = {"tcp.slow_consumer": '"close"'}

    def test_10_a_subscriber_that_stops_reading_is_reset_and_the_others_keep_everything(self):
        before = tcp(self.daemon)
        stuck = self.tcp_subscriber("cut/t", rcvbuf=4096)
        fast = self.subscriber("cut/t")
        pub = self.tcp_client()
        n = 3000
        payloads = payloads_for("cut/t", n, size=1100)
        for i in range(0, n, 32):
            pub.send(*(frame(PUB, "cut/t", p, seq=i + k + 1) for k, p in enumerate(payloads[i:i + 32])))
            time.sleep(0.001)
        self.assert_stream(fast.collect(n, timeout=30), "cut/t", payloads)
        t = wait_tcp(self.daemon, lambda t: delta(t, before, "slow_consumer_closes") >= 1)
        self.assertEqual(delta(t, before, "slow_consumer_closes"), 1, t)
        self.assertTrue(stuck.closed_by_peer(5), "the slow consumer's connection stayed open")
        self.assertEqual(self.daemon.stats()["drops"]["tcp_slow_consumer"], 0)
        pub.sock.close()


class TcpLiteUnderLoss(TcpClients, tb.DaemonTestCase):
    # Data segments dropped on purpose, both ways' retransmission proven.
    # The whole stream fits the send queue: recovery slows the connection,
    # and nothing may be dropped for a slow consumer here.
    settings = {"debug.inject_loss": "0.05", "tcp.send_queue": "8388608"}

    def test_10_every_byte_arrives_despite_lost_segments(self):
        before = tcp(self.daemon)
        sub = self.tcp_subscriber("loss/t", rcvbuf=4 << 20)
        pub = self.tcp_client()
        n = 3000
        payloads = payloads_for("loss/t", n, size=600)
        got = []
        r = threading.Thread(target=lambda: got.extend(sub.collect(n, timeout=60)))
        r.start()
        for i in range(0, n, 16):
            pub.send(*(frame(PUB, "loss/t", p, seq=i + k + 1) for k, p in enumerate(payloads[i:i + 16])))
            time.sleep(0.002)
        r.join(70)
        t = tcp(self.daemon)
        self.assertEqual(len(got), n, f"{len(got)} of {n} arrived; /ringcast/tcp: {t}")
        self.assert_stream(got, "loss/t", payloads)
        self.assertEqual(t["tcp_slow_consumer"], 0, t)
        self.assertGreater(delta(t, before, "retransmits"), 0, t)
        self.assertGreater(self.daemon.stats()["drops"]["injected_loss"], 0)
        print(f"\n  {delta(t, before, 'retransmits')} retransmissions "
              f"({delta(t, before, 'fast_retransmits')} fast, {delta(t, before, 'timeouts')} timeouts)", flush=True)
        sub.bye()
        pub.sock.close()


if __name__ == "__main__":
    tb.main()
