#!/usr/bin/env python3
"""Bad frames get the right ERR, are counted, and the appliance keeps serving:
wrong magic, version, unknown op, truncated header, lying lengths, bad
topics, a bad frame after a good one in one datagram, random garbage."""

import random

import testbed as tb
from testbed import (E_BAD_TOPIC, E_MALFORMED, E_UNKNOWN_OP, E_VERSION, ERR, MAX_ERR_REASON, PING,
                     PONG, PUB, SUB, delta, frame)


class BadInput(tb.DaemonTestCase):
    # Frames the parser refuses (counted as `malformed`) and frames with a
    # refused topic (drop reason `bad_topic`), sent by the tests below.
    malformed_sent = 0
    bad_topic_sent = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.before = cls.daemon.stats()

    def expect_err(self, client, data, seq, code):
        client.send_raw(data)
        reply = client.wait_for(ERR, seq)
        self.assertEqual((reply.op, reply.flags, reply.seq), (ERR, code, seq), tb.describe(reply))
        self.assertLessEqual(len(reply.payload), MAX_ERR_REASON)

    def test_10_header_errors(self):
        c = self.client()
        cases = [
            ("wrong magic", frame(PUB, "bad/x", b"p", seq=101, magic=0xC4), 101, E_MALFORMED),
            ("version 2", frame(PUB, "bad/x", b"p", seq=102, version=2), 102, E_VERSION),
            ("op 13", frame(13, "bad/x", b"p", seq=103), 103, E_UNKNOWN_OP),
            ("payload_len past the datagram", frame(PUB, "bad/x", b"abcd", seq=105, payload_len=1000),
             105, E_MALFORMED),
            ("topic_len past the datagram", frame(PUB, "ab", b"", seq=106, topic_len=200), 106, E_MALFORMED),
        ]
        for name, data, seq, code in cases:
            with self.subTest(name):
                self.expect_err(c, data, seq, code)
            type(self).malformed_sent += 1

    def test_11_no_reply_larger_than_its_datagram(self):
        # A truncated header is counted but not answered: a 16-byte ERR to a
        # 10-byte datagram would make the appliance an amplifier for a
        # spoofed source. A 17-byte one gets an ERR cut to 17 bytes.
        c = self.client()
        before = self.daemon.stats()["drops"]
        c.send_raw(frame(PUB, "bad/x", b"p", seq=104)[:10])
        type(self).malformed_sent += 1
        c.send_raw(frame(PUB, "b", b"p", seq=107, magic=0xC4)[:17])
        type(self).malformed_sent += 1
        reply = c.wait_for(ERR, 107)
        self.assertLessEqual(16 + len(reply.payload), 17, tb.describe(reply))
        after = self.daemon.wait_stats(lambda s: s["drops"]["err_too_big"] > before["err_too_big"])
        self.assertEqual(after["drops"]["err_too_big"] - before["err_too_big"], 1)
        self.assertEqual(c.silence(), [], "nothing else came back")

    def test_20_bad_topics(self):
        c = self.client()
        cases = [
            ("PUB with +", frame(PUB, "a/+/b", b"p", seq=201), 201),
            ("PUB with #", frame(PUB, "a/#", b"p", seq=202), 202),
            ("PUB to $", frame(PUB, "$sys/x", b"p", seq=203), 203),
            ("PUB empty topic", frame(PUB, "", b"p", seq=204), 204),
            ("SUB empty filter", frame(SUB, "", b"", seq=205), 205),
        ]
        for name, data, seq in cases:
            with self.subTest(name):
                self.expect_err(c, data, seq, E_BAD_TOPIC)
            type(self).bad_topic_sent += 1

    def test_30_good_frame_before_a_bad_one_stands(self):
        sub = self.subscriber("bad/good")
        c = self.client()
        c.send(frame(PUB, "bad/good", b"good one", seq=301), frame(PUB, "bad/good", b"bad", seq=302, magic=0))
        type(self).malformed_sent += 1
        reply = c.wait_for(ERR, 302)
        self.assertEqual((reply.op, reply.flags), (ERR, E_MALFORMED), tb.describe(reply))
        self.assert_stream(sub.collect(1), "bad/good", [b"good one"])
        self.assertEqual(sub.silence(0.2), [], "the frame after the bad one was delivered")

    def test_40_counters_match_what_was_sent(self):
        # Runs after 10-30 (name order): their frames are all counted.
        after = self.daemon.wait_stats(lambda st: delta(st, self.before, "malformed") >= self.malformed_sent)
        self.assertEqual(delta(after, self.before, "malformed"), self.malformed_sent)
        self.assertEqual(after["drops"].get("bad_topic", 0) - self.before["drops"].get("bad_topic", 0),
                         self.bad_topic_sent)

    def test_50_random_garbage_does_not_stop_service(self):
        rng = random.Random(7700)
        junk = self.client()
        for i in range(30):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
            if i % 2:  # a plausible header with random op and lengths
                body = bytes([0xC5, 0x10 | rng.randrange(16)]) + body
            junk.send_raw(body)
        junk.silence(0.3)  # whatever came back: ERRs, ACKs, PONGs

    def test_55_tcp_to_a_port_tcp_lite_does_not_serve_is_refused_with_rst(self):
        # A kernel TCP client's connect to any port but TCP-lite's is
        # answered RST at once (ECONNREFUSED), not left to time out.
        import socket
        import time
        before = self.daemon.stats()
        for port in (tb.RCP_PORT + 1, 22):
            with tb.in_netns(self.bed.ns_cli):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(3)
            t0 = time.monotonic()
            with self.assertRaises(ConnectionRefusedError, msg=f"port {port}"):
                s.connect((tb.APP_ADDR, port))
            self.assertLess(time.monotonic() - t0, 1.0, f"port {port}: refused only after a timeout")
            s.close()
        after = self.daemon.wait_stats(lambda st: delta(st, before, "tcp_resets") >= 2)
        self.assertEqual(delta(after, before, "tcp_resets"), 2)
        self.assertEqual(delta(after["drops"], before["drops"], "tcp_unserved"), 2)

    def test_60_normal_service_after_all_that(self):
        sub = self.subscriber("bad/after")
        c = self.client()
        reply, seq = c.request(PING, payload=b"still there?", expect=PONG)
        self.assertEqual((reply.op, reply.seq, reply.payload), (PONG, seq, b"still there?"))
        payloads = [f"after {i}".encode() for i in range(20)]
        tb.publish(c, "bad/after", payloads)
        self.assert_stream(sub.collect(20), "bad/after", payloads)


if __name__ == "__main__":
    tb.main()
