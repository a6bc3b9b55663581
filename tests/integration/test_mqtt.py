#!/usr/bin/env python3
"""MQTT 3.1.1 on TCP-lite port 1883, judged by clients nobody here wrote:
mosquitto_pub and mosquitto_sub (QoS 0, 1, 2, retained, will), python3-paho-mqtt
(persistent sessions, offline queueing, zero-length ids, overlapping
subscriptions, $ topics, a refused subscription), RCP/1 clients on the same
topics both ways, a subscriber that stops reading, and packets written raw
where a stock client would never send them (malformed ones, redelivery
with DUP, takeover, keep-alive)."""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

# Debian's python3-paho-mqtt lives in /usr/bin/python3's dist-packages; meson
# may have found another python3 (a pyenv shim): run under Debian's then.
DEBIAN_PYTHON = "/usr/bin/python3"
try:
    import paho.mqtt.client as paho
except ImportError:
    if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON):
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, *sys.argv])
    raise

import testbed as tb
from testbed import PUB, frame

MQTT_PORT = 1883


def mqtt(daemon):
    return daemon.telemetry("/ringcast/mqtt")


def wait_mqtt(daemon, predicate, timeout=3.0):
    return daemon.wait_telemetry("/ringcast/mqtt", predicate, timeout)


# ---- MQTT written by hand, for what stock clients never send ---------------------------------------------


def remaining_length(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(s)) + s


def packet(kind, flags, body):
    return bytes([kind << 4 | flags]) + remaining_length(len(body)) + body


def connect_packet(client_id, clean=True, keep_alive=60, will=None, level=4, name=b"MQTT", user=None,
                   password=None):
    flags = 0x02 if clean else 0
    payload = utf8(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
        payload += utf8(topic) + utf8(message)
    if user is not None:
        flags |= 0x80
        payload += utf8(user)
    if password is not None:
        flags |= 0x40
        payload += utf8(password)
    return packet(1, 0, utf8(name) + bytes([level, flags]) + struct.pack(">H", keep_alive) + payload)


def publish_packet(topic, payload, qos=0, pid=1, dup=False, retain=False):
    body = utf8(topic) + (struct.pack(">H", pid) if qos else b"") + payload
    return packet(3, (0x08 if dup else 0) | qos << 1 | (1 if retain else 0), body)


def subscribe_packet(pid, *filters):
    return packet(8, 2, struct.pack(">H", pid) + b"".join(utf8(f) + bytes([q]) for f, q in filters))


def ack_packet(kind, pid):
    return packet(kind, 2 if kind == 6 else 0, struct.pack(">H", pid))


PUBACK, PUBREC, PUBREL, PUBCOMP = 4, 5, 6, 7


class RawMqtt:
    """A kernel TCP connection to port 1883 that reads whole packets."""

    def __init__(self, bed, rcvbuf=None):
        with tb.in_netns(bed.ns_cli):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tb.on_cleanup(self.sock.close)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(3)
        self.sock.connect((tb.APP_ADDR, MQTT_PORT))
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read(self, timeout=2.0):
        """The next packet as (type, flags, body), or None on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(self.buf) and i <= 4:
                    n += (self.buf[i] & 0x7F) * mult
                    mult *= 128
                    if not self.buf[i] & 0x80:
                        break
                    i += 1
                if i < len(self.buf) and len(self.buf) >= i + 1 + n:
                    head, body = self.buf[0], self.buf[i + 1:i + 1 + n]
                    self.buf = self.buf[i + 1 + n:]
                    return head >> 4, head & 0x0F, body
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data

    def connect(self, client_id, clean=True, keep_alive=60, will=None, user=None, password=None):
        """CONNECT; returns (session_present, return_code)."""
        self.send(connect_packet(client_id, clean, keep_alive, will, user=user, password=password))
        p = self.read()
        assert p is not None and p[0] == 2, f"no CONNACK: {p}"
        return bool(p[2][0] & 1), p[2][1]

    def subscribe(self, pid, *filters):
        self.send(subscribe_packet(pid, *filters))
        p = self.read()
        assert p is not None and p[0] == 9, f"no SUBACK: {p}"
        assert struct.unpack(">H", p[2][:2])[0] == pid
        return list(p[2][2:])

    def publishes(self, count, timeout=3.0):
        """The next `count` PUBLISH packets as dicts."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            p = self.read(max(0.0, deadline - time.monotonic()))
            if p is None:
                break
            if p[0] == 3:
                out.append(parse_publish(p[1], p[2]))
        return out

    def closed_by_peer(self, timeout=2.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not data:
                return True
        return False


def parse_publish(flags, body):
    qos = flags >> 1 & 3
    tlen = struct.unpack(">H", body[:2])[0]
    topic = body[2:2 + tlen].decode()
    at = 2 + tlen
    pid = None
    if qos:
        pid = struct.unpack(">H", body[at:at + 2])[0]
        at += 2
    return {"topic": topic, "qos": qos, "dup": bool(flags & 8), "retain": bool(flags & 1), "pid": pid,
            "payload": body[at:]}


# ---- the stock clients ---------------------------------------------------------------------------------


class Paho:
    """python3-paho-mqtt 1.6.1 in the client namespace, its network loop on a thread."""

    def __init__(self, bed, client_id, clean_session=True, will=None):
        self.c = paho.Client(client_id=client_id, clean_session=clean_session, protocol=paho.MQTTv311)
        self.messages = []
        self.connacks = []
        self.subacks = {}
        self.published = set()
        self.lock = threading.Condition()
        self.c.on_message = self._on_message
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_publish = self._on_publish
        if will is not None:
            self.c.will_set(*will)
        self.bed = bed

    def _notify(self, fn):
        with self.lock:
            fn()
            self.lock.notify_all()

    def _on_message(self, _c, _u, m):
        self._notify(lambda: self.messages.append((m.topic, m.payload, m.qos, m.retain)))

    def _on_connect(self, _c, _u, flags, rc):
        self._notify(lambda: self.connacks.append((flags.get("session present", 0), rc)))

    def _on_subscribe(self, _c, _u, mid, granted):
        self._notify(lambda: self.subacks.__setitem__(mid, list(granted)))

    def _on_publish(self, _c, _u, mid):
        self._notify(lambda: self.published.add(mid))

    def wait(self, predicate, timeout=3.0):
        with self.lock:
            return self.lock.wait_for(predicate, timeout)

    def connect(self):
        n = len(self.connacks)  # before: the loop thread may take the CONNACK at once
        with tb.in_netns(self.bed.ns_cli):
            self.c.connect(tb.APP_ADDR, MQTT_PORT, keepalive=30)
        self.c.loop_start()
        tb.on_cleanup(self.stop)
        assert self.wait(lambda: len(self.connacks) > n), "no CONNACK"
        return self.connacks[-1]

    def subscribe(self, *filters):
        rc, mid = self.c.subscribe(list(filters))
        assert rc == 0
        assert self.wait(lambda: mid in self.subacks), "no SUBACK"
        return self.subacks[mid]

    def publish(self, topic, payload, qos=0, retain=False):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            assert self.wait(lambda: info.mid in self.published), f"no acknowledgement for {topic}"

    def collect(self, count, timeout=3.0):
        self.wait(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def stop(self):
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


class Mqtt(tb.DaemonTestCase):

    def mosquitto_sub(self, *argv):
        return self.bed.cli_popen("mosquitto_sub", "-h", tb.APP_ADDR, "-p", str(MQTT_PORT), *argv)

    def mosquitto_pub(self, *argv):
        r = self.bed.cli("mosquitto_pub", "-h", tb.APP_ADDR, "-p", str(MQTT_PORT), *argv, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)

    def subscribed(self, count):
        st = self.daemon.wait_stats(lambda s: s["subscriptions"] >= count, timeout=3)
        self.assertGreaterEqual(st["subscriptions"], count)

    def settled(self):
        """No session of an earlier test is connected or kept."""
        m = wait_mqtt(self.daemon, lambda m: m["sessions_connected"] == 0 and m["sessions_offline"] == 0, 5)
        self.assertEqual((m["sessions_connected"], m["sessions_offline"]), (0, 0), m)
        self.daemon.wait_stats(lambda s: s["subscriptions"] == 0, timeout=3)

    def paho(self, client_id, clean_session=True, will=None):
        p = Paho(self.bed, client_id, clean_session, will)
        self.addCleanup(p.stop)  # a failed test leaves no session for the next
        return p

    def test_10_mosquitto_pub_reaches_mosquitto_sub_at_qos_0_1_and_2(self):
        self.settled()
        before = mqtt(self.daemon)
        for qos in (0, 1, 2):
            topic = f"mq/q{qos}"
            sub = self.mosquitto_sub("-t", topic, "-q", str(qos), "-C", "3", "-F", "%q %t %p", "-W", "10")
            self.subscribed(1)
            for i in range(3):
                self.mosquitto_pub("-t", topic, "-q", str(qos), "-m", f"m{i}")
            out, err = sub.communicate(timeout=10)
            self.assertEqual(out.splitlines(), [f"{qos} {topic} m{i}" for i in range(3)], err)
            self.settled()
        m = mqtt(self.daemon)
        self.assertEqual(tb.delta(m, before, "publish_in"), 9)
        self.assertEqual(tb.delta(m, before, "connects"), 12)
        self.assertEqual(tb.delta(m, before, "disconnects"), 12)
        self.assertEqual(tb.delta(m, before, "protocol_errors"), 0)

    def test_15_retained_message_is_sent_on_subscribe_with_the_flag_and_cleared_by_an_empty_one(self):
        self.settled()
        self.mosquitto_pub("-t", "mq/ret", "-r", "-q", "1", "-m", "v1")
        self.mosquitto_pub("-t", "mq/ret", "-r", "-q", "1", "-m", "v2")
        self.daemon.wait_stats(lambda s: s["last_values"] >= 1)
        sub = self.mosquitto_sub("-t", "mq/ret", "-q", "1", "-C", "1", "-F", "%r %q %p", "-W", "5")
        out, err = sub.communicate(timeout=10)
        self.assertEqual(out.splitlines(), ["1 1 v2"], err)
        # A live one to a subscriber already there has retain 0 (3.3.1-9).
        live = self.paho("live")
        live.connect()
        live.subscribe(("mq/ret", 1))
        self.assertEqual(live.collect(1), [("mq/ret", b"v2", 1, 1)])
        self.mosquitto_pub("-t", "mq/ret", "-r", "-q", "1", "-m", "v3")
        self.assertEqual(live.collect(2)[1], ("mq/ret", b"v3", 1, 0))
        live.disconnect()
        self.mosquitto_pub("-t", "mq/ret", "-r", "-q", "1", "-n")  # an empty retained publish clears it
        self.daemon.wait_stats(lambda s: s["last_values"] == 0)
        sub = self.mosquitto_sub("-t", "mq/ret", "-C", "1", "-W", "1")
        out, _ = sub.communicate(timeout=10)
        self.assertEqual(out, "")

    def test_20_will_is_published_when_the_connection_drops_and_not_after_disconnect(self):
        self.settled()
        watcher = self.paho("watcher")
        watcher.connect()
        watcher.subscribe(("mq/will/#", 1))
        # mosquitto_sub's will: killed, it never sends DISCONNECT.
        dying = self.mosquitto_sub("-t", "mq/none", "-i", "dying", "--will-topic", "mq/will/dying",
                                   "--will-payload", "gone", "--will-qos", "1")
        wait_mqtt(self.daemon, lambda m: m["sessions_connected"] >= 2)
        before = mqtt(self.daemon)
        dying.kill()
        dying.wait()
        self.assertEqual(watcher.collect(1), [("mq/will/dying", b"gone", 1, 0)])
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "wills_sent"), 1)
        # With DISCONNECT, no will (3.14.4-3).
        polite = RawMqtt(self.bed)
        polite.connect("polite", will=("mq/will/polite", b"bye", 0, False))
        polite.send(packet(14, 0, b""))
        self.assertTrue(polite.closed_by_peer())
        # Keep-alive: silent past 1.5 times 1 s, the connection goes and the will with it.
        quiet = RawMqtt(self.bed)
        quiet.connect("quiet", keep_alive=1, will=("mq/will/quiet", b"timed out", 1, False))
        before = mqtt(self.daemon)
        self.assertTrue(quiet.closed_by_peer(timeout=4))
        got = watcher.collect(2, timeout=3)
        self.assertEqual(got[1:], [("mq/will/quiet", b"timed out", 1, 0)])
        m = mqtt(self.daemon)
        self.assertEqual(tb.delta(m, before, "keep_alive_expiries"), 1)
        self.assertEqual(tb.delta(m, before, "wills_sent"), 1)
        watcher.disconnect()

    def test_30_persistent_session_keeps_subscriptions_and_queues_qos1_while_offline(self):
        self.settled()
        p = self.paho("persist", clean_session=False)
        self.assertEqual(p.connect(), (0, 0))
        self.assertEqual(p.subscribe(("mq/off/+", 1), ("mq/off0", 0)), [1, 0])
        p.disconnect()
        m = wait_mqtt(self.daemon, lambda m: m["sessions_offline"] == 1)
        self.assertEqual(m["sessions_offline"], 1)
        pub = self.paho("offpub")
        pub.connect()
        for i in range(5):
            pub.publish(f"mq/off/{i}", f"q{i}".encode(), qos=1)
        pub.publish("mq/off0", b"lost", qos=0)  # QoS 0 is not kept for an offline client
        pub.disconnect()
        m = wait_mqtt(self.daemon, lambda m: m["queued"] == 5)
        self.assertEqual(m["queued"], 5, m)
        again = self.paho("persist", clean_session=False)
        self.assertEqual(again.connect(), (1, 0))  # session present
        got = again.collect(5)
        self.assertEqual(got, [(f"mq/off/{i}", f"q{i}".encode(), 1, 0) for i in range(5)])
        self.assertEqual(again.collect(6, timeout=0.5), got)
        again.disconnect()
        # Clean session 1 ends it: nothing survives.
        clean = self.paho("persist", clean_session=True)
        self.assertEqual(clean.connect(), (0, 0))
        clean.disconnect()
        self.settled()

    def test_35_unacknowledged_messages_are_sent_again_with_dup_on_reconnect(self):
        self.settled()
        s = RawMqtt(self.bed)
        self.assertEqual(s.connect("redeliver", clean=False), (False, 0))
        self.assertEqual(s.subscribe(1, ("mq/dup", 1), ("mq/dup2", 2)), [1, 2])
        pub = self.paho("duppub")
        pub.connect()
        pub.publish("mq/dup", b"one", qos=1)
        pub.publish("mq/dup2", b"two", qos=2)
        first = s.publishes(2)
        self.assertEqual([(p["topic"], p["qos"], p["dup"], p["payload"]) for p in first],
                         [("mq/dup", 1, False, b"one"), ("mq/dup2", 2, False, b"two")])
        s.sock.close()  # neither PUBACK nor PUBREC
        wait_mqtt(self.daemon, lambda m: m["sessions_offline"] == 1)
        s = RawMqtt(self.bed)
        self.assertEqual(s.connect("redeliver", clean=False), (True, 0))
        again = s.publishes(2)
        self.assertEqual([(p["topic"], p["qos"], p["dup"], p["pid"], p["payload"]) for p in again],
                         [(p["topic"], p["qos"], True, p["pid"], p["payload"]) for p in first])
        s.send(ack_packet(PUBACK, again[0]["pid"]))
        s.send(ack_packet(PUBREC, again[1]["pid"]))
        rel = s.read()
        self.assertEqual((rel[0], rel[1], rel[2]), (PUBREL, 2, struct.pack(">H", again[1]["pid"])))
        s.send(ack_packet(PUBCOMP, again[1]["pid"]))
        self.assertEqual(wait_mqtt(self.daemon, lambda m: m["in_flight"] == 0)["in_flight"], 0)
        s.send(connect_packet("redeliver", clean=True))  # a second CONNECT closes it (3.1.0-2)
        self.assertTrue(s.closed_by_peer())
        pub.disconnect()
        c = RawMqtt(self.bed)  # and clean session 1 drops what was kept
        self.assertEqual(c.connect("redeliver", clean=True), (False, 0))
        c.send(packet(14, 0, b""))
        self.settled()

    def test_40_zero_length_client_id_only_with_clean_session(self):
        self.settled()
        anon = self.paho("")
        self.assertEqual(anon.connect(), (0, 0))
        self.assertEqual(anon.subscribe(("mq/anon", 0)), [0])
        anon.publish("mq/anon", b"hello", qos=1)
        self.assertEqual(anon.collect(1), [("mq/anon", b"hello", 0, 0)])
        anon.disconnect()
        raw = RawMqtt(self.bed)
        self.assertEqual(raw.connect("", clean=False), (False, 2))
        self.assertTrue(raw.closed_by_peer())
        old = RawMqtt(self.bed)
        self.assertEqual(old.connect("x", clean=True)[1], 0)
        bad = RawMqtt(self.bed)
        bad.send(connect_packet("y", level=3))  # MQTT 3.1's level: return code 1
        self.assertEqual(bad.read()[:3], (2, 0, b"\x00\x01"))
        self.assertTrue(bad.closed_by_peer())
        old.send(packet(14, 0, b""))
        self.settled()

    def test_45_overlapping_subscriptions_deliver_once_at_the_highest_qos(self):
        self.settled()
        s = self.paho("overlap")
        s.connect()
        self.assertEqual(s.subscribe(("mq/ov/#", 0), ("mq/ov/+", 2), ("mq/+/x", 1)), [0, 2, 1])
        pub = self.paho("ovpub")
        pub.connect()
        pub.publish("mq/ov/x", b"a", qos=2)
        pub.publish("mq/ov/x/y", b"b", qos=2)  # only the # filter, at 0
        pub.publish("mq/ov/x", b"c", qos=1)  # the publish's QoS is the lower
        got = s.collect(3)
        self.assertEqual(sorted(got), sorted([("mq/ov/x", b"a", 2, 0), ("mq/ov/x/y", b"b", 0, 0),
                                              ("mq/ov/x", b"c", 1, 0)]))
        self.assertEqual(s.collect(4, timeout=0.5), got)
        s.disconnect()
        pub.disconnect()

    def test_50_dollar_topics_are_refused_and_wildcards_never_match_them(self):
        self.settled()
        s = self.paho("dollar")
        s.connect()
        self.assertEqual(s.subscribe(("#", 0)), [0])
        before = mqtt(self.daemon)
        pub = self.paho("dollarpub")
        pub.connect()
        pub.publish("$SYS/x", b"no", qos=1)  # acknowledged, not delivered
        pub.publish("mq/plain", b"yes", qos=1)
        self.assertEqual(s.collect(1), [("mq/plain", b"yes", 0, 0)])
        self.assertEqual(s.collect(2, timeout=0.5), [("mq/plain", b"yes", 0, 0)])
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "publish_refused"), 1)
        s.disconnect()
        pub.disconnect()

    def test_55_invalid_filter_is_refused_with_0x80_and_the_others_granted(self):
        self.settled()
        s = RawMqtt(self.bed)  # paho would refuse to send them
        s.connect("refused")
        before = mqtt(self.daemon)
        self.assertEqual(s.subscribe(3, ("mq/a/#/b", 1), ("mq/ok", 1), ("mq/x#", 0)), [128, 1, 128])
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "subscribe_refused"), 2)
        s.send(packet(14, 0, b""))

    def test_60_mqtt_and_rcp_clients_meet_on_one_topic_both_ways(self):
        self.settled()
        rcp_sub = self.subscriber("mq/bridge/in")
        mq_pub = self.paho("mqpub")
        mq_pub.connect()
        for i in range(5):
            mq_pub.publish("mq/bridge/in", f"m{i}".encode(), qos=1)
        got = rcp_sub.collect(5)
        self.assert_stream(got, "mq/bridge/in", [f"m{i}" for i in range(5)])
        self.assertEqual({f.flags & 3 for f in got}, {1})  # MSG carries the publish's QoS
        mq_sub = self.paho("mqsub")
        mq_sub.connect()
        mq_sub.subscribe(("mq/bridge/out", 1))
        rcp_pub = self.client()
        for i in range(5):
            rcp_pub.send(frame(PUB, "mq/bridge/out", f"r{i}", seq=i + 1, flags=1))
        self.assertEqual(mq_sub.collect(5), [("mq/bridge/out", f"r{i}".encode(), 1, 0) for i in range(5)])
        mq_pub.disconnect()
        mq_sub.disconnect()

    def test_65_qos2_publish_sent_twice_is_delivered_once(self):
        self.settled()
        sub = self.paho("once")
        sub.connect()
        sub.subscribe(("mq/once", 2))
        raw = RawMqtt(self.bed)
        raw.connect("twice", clean=False)
        before = mqtt(self.daemon)
        raw.send(publish_packet("mq/once", b"x", qos=2, pid=7))
        self.assertEqual(raw.read()[:3], (PUBREC, 0, struct.pack(">H", 7)))
        raw.send(publish_packet("mq/once", b"x", qos=2, pid=7, dup=True))
        self.assertEqual(raw.read()[:3], (PUBREC, 0, struct.pack(">H", 7)))
        raw.send(ack_packet(PUBREL, 7))
        self.assertEqual(raw.read()[:3], (PUBCOMP, 0, struct.pack(">H", 7)))
        self.assertEqual(sub.collect(1), [("mq/once", b"x", 2, 0)])
        self.assertEqual(sub.collect(2, timeout=0.5), [("mq/once", b"x", 2, 0)])
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "qos2_duplicates"), 1)
        raw.send(connect_packet("twice", clean=True))
        raw.closed_by_peer()
        clean = RawMqtt(self.bed)
        clean.connect("twice", clean=True)
        clean.send(packet(14, 0, b""))
        sub.disconnect()
        self.settled()

    def test_70_a_subscriber_that_stops_reading_costs_only_itself(self):
        self.settled()
        stuck = RawMqtt(self.bed, rcvbuf=4096)
        stuck.connect("stuck", clean=True)
        stuck.subscribe(1, ("mq/flood", 0))
        reader = self.paho("reader")
        reader.connect()
        reader.subscribe(("mq/flood", 0))
        before = self.daemon.stats()
        pub = RawMqtt(self.bed)
        pub.connect("flooder")
        payload = b"z" * 1000
        n = 3000
        for i in range(n):
            pub.send(publish_packet("mq/flood", payload))
            if i % 64 == 0:
                time.sleep(0.002)
        got = reader.collect(n, timeout=10)
        self.assertEqual(len(got), n)
        st = self.daemon.wait_stats(lambda s: s["drops"]["tcp_slow_consumer"] > before["drops"]["tcp_slow_consumer"])
        self.assertGreater(st["drops"]["tcp_slow_consumer"], before["drops"]["tcp_slow_consumer"])
        stuck.sock.close()
        pub.send(packet(14, 0, b""))
        reader.disconnect()
        self.settled()

    def test_80_malformed_packets_close_the_connection_and_are_counted(self):
        self.settled()
        cases = [
            ("a fifth remaining-length byte", b"\x30\xff\xff\xff\xff\x01", True),
            ("reserved flags on SUBSCRIBE", b"\x80\x06\x00\x01\x00\x01a\x00", True),
            ("PUBLISH to a wildcard topic", publish_packet("a/+", b"x"), True),
            ("a packet over mqtt.max_packet", publish_packet("a", b"x" * 5000), True),
            ("QoS 3", b"\x36\x05\x00\x01a\x00\x01", True),
            ("PINGRESP from a client", b"\xd0\x00", True),
        ]
        for what, data, after_connect in cases:
            with self.subTest(what):
                before = mqtt(self.daemon)
                c = RawMqtt(self.bed)
                if after_connect:
                    self.assertEqual(c.connect("bad")[1], 0)
                c.send(data)
                self.assertTrue(c.closed_by_peer(), what)
                m = mqtt(self.daemon)
                self.assertEqual(tb.delta(m, before, "protocol_errors") + tb.delta(m, before, "too_large"), 1, what)
        before = mqtt(self.daemon)
        c = RawMqtt(self.bed)
        c.send(packet(12, 0, b""))  # PINGREQ before CONNECT (3.1.0-1)
        self.assertTrue(c.closed_by_peer())
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "protocol_errors"), 1)
        # Still serving.
        ok = RawMqtt(self.bed)
        self.assertEqual(ok.connect("fine"), (False, 0))
        ok.send(packet(12, 0, b""))
        self.assertEqual(ok.read()[:3], (13, 0, b""))
        ok.send(packet(14, 0, b""))
        self.settled()

    def test_85_a_second_connection_with_the_same_id_takes_over(self):
        self.settled()
        first = RawMqtt(self.bed)
        first.connect("same", clean=False, will=("mq/taken", b"first's will", 0, False))
        first.subscribe(1, ("mq/over", 1))
        before = mqtt(self.daemon)
        second = RawMqtt(self.bed)
        self.assertEqual(second.connect("same", clean=False), (True, 0))
        self.assertTrue(first.closed_by_peer())
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "takeovers"), 1)
        pub = self.paho("overpub")
        pub.connect()
        pub.publish("mq/over", b"to the second", qos=1)
        got = second.publishes(1)
        self.assertEqual([(p["topic"], p["payload"]) for p in got], [("mq/over", b"to the second")])
        second.send(ack_packet(PUBACK, got[0]["pid"]))
        second.send(packet(14, 0, b""))
        pub.disconnect()
        last = RawMqtt(self.bed)
        last.connect("same", clean=True)
        last.send(packet(14, 0, b""))
        self.settled()

    def test_88_stats_top_and_exporter_show_mqtt(self):
        m = mqtt(self.daemon)
        self.assertEqual((m["enabled"], m["port"]), (1, MQTT_PORT))
        s = self.paho("shown", clean_session=False)
        s.connect()
        s.subscribe(("mq/shown", 1))
        wait_mqtt(self.daemon, lambda m: m["sessions_connected"] == 1)
        r = subprocess.run([tb.Paths.ringcast, "stats", "-f", self.daemon.prefix], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("MQTT on port 1883", r.stdout)
        self.assertIn("mqtt sessions 1 connected, 0 offline", r.stdout)
        r = subprocess.run([tb.Paths.ringcast, "top", "-f", self.daemon.prefix, "-n", "2", "-i", "0.2"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^mqtt sessions 1 connected, 0 offline .*publish in ")
        exporter = os.path.join(tb.Paths.source_root, "scripts", "ringcast-exporter.py")
        r = subprocess.run([DEBIAN_PYTHON, exporter, "--once", "--prefix", self.daemon.prefix],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^ringcast_mqtt_sessions_connected 1\.0$")
        self.assertRegex(r.stdout, r"(?m)^ringcast_mqtt_connects_total [1-9]")
        promtool = subprocess.run(["sh", "-c", "command -v promtool"], capture_output=True, text=True)
        if promtool.returncode == 0:
            p = subprocess.run(["promtool", "check", "metrics"], input=r.stdout, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        s.disconnect()
        clean = self.paho("shown", clean_session=True)
        clean.connect()
        clean.disconnect()
        self.settled()


class MqttTwoWorkers(tb.DaemonTestCase):
    """Topics spread over two workers: one SUBACK once both hold their
    filters, and PUBACKs in the order of the PUBLISHes whichever worker
    sequenced each."""

    workers = [0, 1]
    qpairs = 2

    def test_10_acknowledgements_keep_the_clients_order_across_workers(self):
        topics = [f"mw/t{i}" for i in range(16)]
        sub = RawMqtt(self.bed)
        sub.connect("mwsub")
        self.assertEqual(sub.subscribe(1, *[(t, 1) for t in topics], ("mw/+/deep", 0)), [1] * 16 + [0])
        pub = RawMqtt(self.bed)
        pub.connect("mwpub")
        pub.send(b"".join(publish_packet(t, t.encode(), qos=1, pid=i + 1) for i, t in enumerate(topics)))
        acks = [pub.read() for _ in topics]
        self.assertEqual([a[:3] for a in acks], [(PUBACK, 0, struct.pack(">H", i + 1)) for i in range(16)])
        got = sub.publishes(16)
        self.assertEqual(sorted(p["topic"] for p in got), sorted(topics))
        for p in got:
            sub.send(ack_packet(PUBACK, p["pid"]))
        self.assertEqual(wait_mqtt(self.daemon, lambda m: m["in_flight"] == 0)["in_flight"], 0)
        for c in (sub, pub):
            c.send(packet(14, 0, b""))
            c.closed_by_peer()
        st = self.daemon.wait_stats(lambda s: s["subscriptions"] == 0, timeout=3)
        self.assertEqual(st["subscriptions"], 0)


class MqttCredentials(tb.DaemonTestCase):
    """With rcp.require_auth the CONNECT password is an identity's token
    (config/testbed.toml's), and the identity's ACL holds for MQTT too."""

    settings = {"rcp.require_auth": "true"}

    def test_10_connect_needs_a_known_token_and_a_matching_user_name(self):
        for user, password, code in ((None, None, 5), ("testbed-feed", "wrong", 4),
                                     ("someone", "testbed-feed-token", 4), ("testbed-feed", "testbed-feed-token", 0),
                                     ("testbed-reader", "testbed-reader-token", 0)):
            with self.subTest(user=user, password=password):
                c = RawMqtt(self.bed)
                self.assertEqual(c.connect("who", user=user, password=password), (False, code))
                if code:
                    self.assertTrue(c.closed_by_peer())
                else:
                    c.send(packet(14, 0, b""))
                    c.closed_by_peer()
        # A password without a user name breaks 3.1.2-22: closed, no CONNACK.
        c = RawMqtt(self.bed)
        c.send(connect_packet("who", password="testbed-feed-token"))
        self.assertIsNone(c.read())

    def test_20_the_identitys_acl_holds_for_subscribe_and_publish(self):
        reader = RawMqtt(self.bed)
        reader.connect("reader", user="testbed-reader", password="testbed-reader-token")
        self.assertEqual(reader.subscribe(1, ("md/#", 1), ("secret/#", 1)), [1, 128])
        feed = RawMqtt(self.bed)
        feed.connect("feed", user="testbed-feed", password="testbed-feed-token")
        before = mqtt(self.daemon)
        feed.send(publish_packet("md/x", b"allowed", qos=1, pid=1))
        self.assertEqual(feed.read()[:3], (PUBACK, 0, struct.pack(">H", 1)))
        feed.send(publish_packet("other/x", b"denied", qos=1, pid=2))  # acknowledged, not delivered
        self.assertEqual(feed.read()[:3], (PUBACK, 0, struct.pack(">H", 2)))
        got = reader.publishes(1)
        self.assertEqual([(p["topic"], p["payload"]) for p in got], [("md/x", b"allowed")])
        reader.send(ack_packet(PUBACK, got[0]["pid"]))
        self.assertEqual(reader.publishes(1, timeout=0.5), [])
        self.assertEqual(tb.delta(mqtt(self.daemon), before, "publish_refused"), 1)
        for c in (reader, feed):
            c.send(packet(14, 0, b""))
            c.closed_by_peer()


if __name__ == "__main__":
    tb.main()
