#!/usr/bin/python3
"""ringcast-exporter: Prometheus metrics for ringcastd, read from its DPDK
telemetry socket on every scrape.

    ringcast-exporter.py [--prefix PREFIX] [--listen ADDR:PORT]   serve /metrics
    ringcast-exporter.py --once [--prefix PREFIX]                 print once, exit
    ringcast-exporter.py --bridge SOCKET [--listen ...|--once]     ringcast-bridge's counters instead

Built on Debian's python3-prometheus-client (hence /usr/bin/python3, whose
dist-packages hold it): a custom collector turns /ringcast/stats, /lcores and
/ports into metric families, and the library writes the exposition format.
Nothing is cached between scrapes; each one opens the socket, sends the
commands and closes it. When the socket cannot be read, the scrape still
answers, with ringcast_up 0 and nothing else from the appliance.

Exit status: 0 ok (also --once with ringcast_up 0: the text says so),
1 runtime failure (the listen address is taken), 2 usage error.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

try:
    from prometheus_client import generate_latest, start_http_server
    from prometheus_client.core import (CollectorRegistry, CounterMetricFamily, GaugeMetricFamily,
                                        InfoMetricFamily)
except ImportError:
    print("ringcast-exporter: the prometheus_client module is missing: "
          "apt-get install python3-prometheus-client, and run with /usr/bin/python3", file=sys.stderr)
    sys.exit(1)

DEFAULT_PREFIX = "ringcast"
DEFAULT_LISTEN = "127.0.0.1:9470"  # loopback: exposing it is a deliberate --listen
DEFAULT_TIMEOUT = 2.0
# DPDK's reply buffer is 16 KiB; this is room to spare, and a bigger reply is an error, not cut short.
MAX_REPLY = 64 * 1024

# /ringcast/stats totals: key -> (metric name without _total, help).
STATS_COUNTERS = {
    "rx_packets": "Packets received on every port",
    "rx_bursts": "Receive bursts that returned packets",
    "rx_frames": "RCP/1 frames parsed",
    "pub_frames": "PUB frames accepted",
    "deliveries": "MSG frames sent to subscribers",
    "datagrams": "Datagrams the deliveries left in (several frames each when coalesced)",
    "frames_copied": "Delivered frames copied into their datagram (below tx.copy_below)",
    "frames_referenced": "Delivered frames sent by reference to the shared payload",
    "in_place": "1 to 1 deliveries sent in the received mbuf itself",
    "tx_packets": "Packets transmitted on every port",
    "arp_replies": "ARP requests answered",
    "icmp_replies": "ICMP echo requests answered",
    "copy_fallbacks": "Deliveries copied because the port lacks multi-segment TX",
    "leases_expired": "Subscriber leases that lapsed",
    "qos_acks": "QoS 1 and 2 PUBs acknowledged",
    "qos2_duplicates": "QoS 2 retries acknowledged again but not delivered",
    "dedup_evicted": "QoS 2 dedup entries dropped early because the table was full",
    "nacks": "NACK frames received",
    "retransmits": "Messages retransmitted for NACKs",
    "replayed": "Messages replayed at SUB (REPLAY or a RETAIN value)",
    "gap_lost": "ERR GAP_LOST answers sent",
    "retain_evicted": "Retained messages evicted by retention.max_messages",
    "topics_reclaimed": "Topics nobody held freed at once because the topic table was full",
    "hellos": "HELLOs that bound a source to an identity",
    "acl_revoked": "Subscriptions dropped by a reload whose ACLs no longer allow them",
    "tcp_resets": "RSTs sent to TCP segments no connection wants",
}
STATS_GAUGES = {
    "subscriptions": "Active subscriptions (filters) on every worker",
    "filters": "Wildcard filters and shared-group memberships on every worker",
    "groups": "Shared groups on every worker",
    "topics": "Topics known to the workers",
    "subscribers": "Subscriber identities on every worker",
    "retained": "Messages retained for NACK and REPLAY",
    "last_values": "RETAIN values kept",
}
# /ringcast/mqtt levels and counters: key -> help; ringcast_mqtt_KEY and
# ringcast_mqtt_KEY_total.
MQTT_GAUGES = {
    "sessions_connected": "MQTT sessions with a connected client",
    "sessions_offline": "MQTT sessions kept for a client not connected (clean session 0)",
    "in_flight": "MQTT QoS 1/2 messages sent and not yet acknowledged",
    "queued": "MQTT QoS 1/2 messages queued behind them or for offline clients",
}
MQTT_COUNTERS = {
    "connects": "MQTT CONNECTs accepted",
    "connects_refused": "MQTT CONNECTs answered with a refusing CONNACK",
    "sessions_resumed": "MQTT CONNECTs that found their session",
    "takeovers": "MQTT connections closed by a new one with the same client id",
    "disconnects": "MQTT connections ended by DISCONNECT",
    "keep_alive_expiries": "MQTT connections closed after 1.5 times their keep-alive unheard",
    "protocol_errors": "MQTT connections closed for a malformed or out-of-turn packet",
    "too_large": "MQTT connections closed for a packet over mqtt.max_packet or a PUBLISH too large for one MSG",
    "unanswered_full": "MQTT connections closed with mqtt.max_unanswered packets outstanding",
    "ack_timeouts": "MQTT connections closed because a PUBLISH or SUBSCRIBE was lost on the way to the workers",
    "wills_sent": "MQTT will messages published",
    "publish_in": "MQTT PUBLISH packets handed to the workers",
    "publish_refused": "MQTT PUBLISH packets acknowledged but not delivered ($ topic, ACL)",
    "publish_out": "MQTT PUBLISH packets sent to clients, redeliveries included",
    "redelivered": "MQTT PUBLISH (DUP) and PUBREL sent again on reconnect",
    "qos2_duplicates": "MQTT QoS 2 PUBLISH packets not delivered again",
    "subscribe_refused": "MQTT SUBSCRIBE filters answered 0x80",
    "queue_dropped": "MQTT QoS 1/2 messages dropped from a full session queue, oldest first",
    "queue_full": "MQTT QoS 1/2 messages not queued: mqtt.queued_total reached",
    "offline_dropped": "MQTT QoS 0 messages for a client not connected",
    "not_sent": "MQTT PUBLISH packets that did not fit the connection's send queue",
}
# /ringcast/tcp counters: key -> help; ringcast_tcp_KEY_total (the drops
# it repeats are in ringcast_drops already).
TCP_COUNTERS = {
    "syns": "SYNs answered with a SYN-ACK carrying a cookie",
    "established": "TCP-lite connections made from a valid cookie",
    "closed": "TCP-lite connections ended by FIN both ways",
    "resets_received": "TCP-lite connections ended by the peer's RST",
    "aborted": "TCP-lite connections the appliance reset",
    "slow_consumer_closes": "TCP-lite connections reset because their send queue was full",
    "idle_closes": "TCP-lite connections closed after tcp.idle_timeout_s unheard",
    "time_wait_evicted": "TIME_WAIT connections ended early to make room",
    "segments_in": "Segments received on TCP-lite connections",
    "segments_out": "Segments sent on TCP-lite connections, retransmissions included",
    "bytes_in": "Stream bytes received in order",
    "bytes_out": "Stream bytes acknowledged by peers",
    "retransmits": "TCP-lite segments sent again, fast retransmits included",
    "fast_retransmits": "TCP-lite retransmissions on three duplicate ACKs",
    "timeouts": "TCP-lite retransmission timer expiries",
    "zero_window_probes": "Probes sent into a peer's zero window",
    "out_of_order": "Segments that arrived beyond a hole",
    "out_of_order_kept": "Segments that arrived beyond a hole, kept and taken once it was filled",
    "challenge_acks": "Challenge ACKs sent (RFC 5961)",
    "resets_sent": "RSTs sent to TCP segments no connection wants",
}
# /ringcast/ports counters: key -> (metric name, help).
PORT_COUNTERS = {
    "ipackets": ("ringcast_port_rx_packets", "Packets received (ethdev ipackets)"),
    "opackets": ("ringcast_port_tx_packets", "Packets transmitted (ethdev opackets)"),
    "ibytes": ("ringcast_port_rx_bytes", "Bytes received (ethdev ibytes)"),
    "obytes": ("ringcast_port_tx_bytes", "Bytes transmitted (ethdev obytes)"),
    "imissed": ("ringcast_port_rx_missed", "Packets the NIC dropped for want of RX descriptors"),
    "ierrors": ("ringcast_port_rx_errors", "Erroneous received packets"),
    "oerrors": ("ringcast_port_tx_errors", "Failed transmissions"),
    "rx_nombuf": ("ringcast_port_rx_nombuf", "RX mbuf allocation failures"),
    "xdp_redirected": ("ringcast_port_xdp_redirected", "Packets the XDP steering program sent to AF_XDP"),
    "xdp_passed": ("ringcast_port_xdp_passed", "Packets the XDP steering program passed to the kernel"),
}


def socket_path(prefix):
    """Where DPDK serves telemetry for --file-prefix=prefix: the runtime dir
    is /var/run for root, else $XDG_RUNTIME_DIR, else /tmp (DPDK's
    eal_get_runtime_dir rule, as the ringcast CLI)."""
    if os.geteuid() == 0:
        base = "/var/run"
    else:
        base = os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(base, "dpdk", prefix, "dpdk_telemetry.v2")


class TelemetryError(Exception):
    pass


class Telemetry:
    """One connection to a DPDK telemetry v2 socket (AF_UNIX, SOCK_SEQPACKET):
    the server greets first, then answers each command with one message."""

    def __init__(self, path, timeout):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
            self._read("greeting")  # version, pid, max_output_len: nothing a reply needs
        except OSError as e:
            self.sock.close()
            raise TelemetryError(f"{path}: {e.strerror or e}") from None
        except TelemetryError:
            self.sock.close()
            raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, what):
        data, _anc, flags, _addr = self.sock.recvmsg(MAX_REPLY)
        if not data:
            raise TelemetryError(f"{self.path}: closed before the {what}")
        if flags & socket.MSG_TRUNC:  # SEQPACKET cuts a long message silently otherwise
            raise TelemetryError(f"{self.path}: {what} longer than {MAX_REPLY} bytes")
        return data

    def query(self, command):
        """The value under the command's name, None when the daemon does not
        serve the command (DPDK answers {"<command>": null})."""
        try:
            self.sock.send(command.encode())
            data = self._read(f"reply to {command}")
        except OSError as e:
            raise TelemetryError(f"{self.path}: {command}: {e.strerror or e}") from None
        try:
            reply = json.loads(data)
        except ValueError as e:
            raise TelemetryError(f"{self.path}: {command}: bad JSON: {e}") from None
        if not isinstance(reply, dict):
            raise TelemetryError(f"{self.path}: {command}: reply is not a JSON object")
        return reply.get(command.split(",", 1)[0])


def _num(value):
    """A telemetry number, or None for anything else (absent, string, null)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _by_label(family, name, doc, label, values):
    """One family with a sample per entry of a telemetry dict ({label value: number}),
    in a list; an empty list when the reply lacks the dict."""
    if not isinstance(values, dict):
        return []
    f = family(name, doc, labels=[label])
    for key, n in values.items():
        if _num(n) is not None:
            f.add_metric([key], n)
    return [f]


def _lcore_id(name):
    """'lcore3' -> '3': the label holds the id, as DPDK numbers lcores."""
    return name[len("lcore"):] if name.startswith("lcore") else name


class RingcastCollector:
    """Asks the telemetry socket on every collect(); yields ringcast_up and,
    when it could read the socket, everything the appliance reports."""

    def __init__(self, path, timeout=DEFAULT_TIMEOUT, log=None):
        self.path = path
        self.timeout = timeout
        self.log = log
        self._last_error = None

    def describe(self):
        # Registering must not query the appliance; the families vary by appliance.
        return []

    def collect(self):
        started = time.monotonic()
        try:
            with Telemetry(self.path, self.timeout) as t:
                stats = t.query("/ringcast/stats")
                if not isinstance(stats, dict):
                    raise TelemetryError(f"{self.path}: /ringcast/stats: no answer (is this ringcastd?)")
                lcores = t.query("/ringcast/lcores")
                ports = t.query("/ringcast/ports")
                tcp = t.query("/ringcast/tcp")
                mqtt = t.query("/ringcast/mqtt")
        except TelemetryError as e:
            self._note(str(e))
            yield GaugeMetricFamily("ringcast_up", "1 when the telemetry socket answered this scrape", value=0)
            yield self._duration(started)
            return
        self._note(None)
        yield GaugeMetricFamily("ringcast_up", "1 when the telemetry socket answered this scrape", value=1)
        yield from self._stats(stats)
        yield from self._lcores(lcores if isinstance(lcores, dict) else {})
        yield from self._ports(ports if isinstance(ports, dict) else {})
        yield from self._tcp(tcp if isinstance(tcp, dict) else {})
        yield from self._mqtt(mqtt if isinstance(mqtt, dict) else {})
        yield self._duration(started)

    def _note(self, error):
        """Logs when the appliance goes down or comes back, not every scrape."""
        if self.log is not None and error != self._last_error:
            self.log(f"telemetry: {error}" if error else f"telemetry: {self.path} answers")
        self._last_error = error

    @staticmethod
    def _duration(started):
        return GaugeMetricFamily("ringcast_scrape_duration_seconds",
                                 "Time this scrape spent on the telemetry socket",
                                 value=time.monotonic() - started)

    @staticmethod
    def _stats(st):
        out = []
        for key, doc in STATS_COUNTERS.items():
            if _num(st.get(key)) is not None:
                out.append(CounterMetricFamily(f"ringcast_{key}", doc, value=st[key]))
        for key, doc in STATS_GAUGES.items():
            if _num(st.get(key)) is not None:
                out.append(GaugeMetricFamily(f"ringcast_{key}", doc, value=st[key]))
        out += _by_label(CounterMetricFamily, "ringcast_drops", "Packets or frames dropped, by reason",
                         "reason", st.get("drops"))
        out += _by_label(CounterMetricFamily, "ringcast_frames_per_datagram",
                         "Delivery datagrams by the number of MSG frames they carried", "frames",
                         st.get("frames_per_datagram"))
        if _num(st.get("frames_per_datagram_milli")) is not None:
            out.append(GaugeMetricFamily("ringcast_frames_per_datagram_milli",
                                         "Mean MSG frames per delivery datagram since start, times 1000",
                                         value=st["frames_per_datagram_milli"]))
        pools = st.get("mempools")
        if isinstance(pools, dict):
            in_use = GaugeMetricFamily("ringcast_mempool_in_use", "Mbufs of the pool in use", labels=["pool"])
            size = GaugeMetricFamily("ringcast_mempool_size", "Mbufs in the pool", labels=["pool"])
            for name, p in pools.items():
                if isinstance(p, dict) and _num(p.get("in_use")) is not None and _num(p.get("size")) is not None:
                    in_use.add_metric([name], p["in_use"])
                    size.add_metric([name], p["size"])
            out += [in_use, size]
        return out

    @staticmethod
    def _lcores(lcores):
        labels = ["lcore", "role"]
        busy = GaugeMetricFamily("ringcast_lcore_busy_ratio",
                                 "Share of the lcore's loop time spent on work, since start", labels=labels)
        packets = CounterMetricFamily("ringcast_lcore_rx_packets", "Packets the lcore received", labels=labels)
        bursts = CounterMetricFamily("ringcast_lcore_rx_bursts", "Receive bursts of the lcore that returned "
                                     "packets", labels=labels)
        deliveries = CounterMetricFamily("ringcast_lcore_deliveries", "MSG frames the lcore sent",
                                         labels=labels)
        depth = GaugeMetricFamily("ringcast_lcore_ring_depth", "Entries waiting in the io to worker rings "
                                  "of a worker lcore", labels=labels)
        for name, l in lcores.items():
            if not isinstance(l, dict):
                continue
            lv = [_lcore_id(name), str(l.get("role", ""))]
            if _num(l.get("busy_permille")) is not None:
                busy.add_metric(lv, l["busy_permille"] / 1000)
            for fam, key in ((packets, "packets"), (bursts, "bursts"), (deliveries, "deliveries"),
                             (depth, "ring_depth")):
                if _num(l.get(key)) is not None:
                    fam.add_metric(lv, l[key])
        return [busy, packets, bursts, deliveries, depth]

    @staticmethod
    def _ports(ports):
        out = []
        info = InfoMetricFamily("ringcast_port", "Port identity: device, driver, addresses",
                                labels=["port"])
        link = GaugeMetricFamily("ringcast_port_link_up", "1 when the port's link is up", labels=["port"])
        speed = GaugeMetricFamily("ringcast_port_link_speed_bytes", "Link speed in bytes per second",
                                  labels=["port"])
        counters = {key: CounterMetricFamily(name, doc, labels=["port"])
                    for key, (name, doc) in PORT_COUNTERS.items()}
        for name, p in ports.items():
            if not isinstance(p, dict):
                continue
            fields = {k: str(p[k]) for k in ("driver", "mac", "ipv4", "udp_port") if k in p}
            if _num(p.get("multi_seg_tx")) is not None:
                fields["multi_seg_tx"] = str(p["multi_seg_tx"])
            info.add_metric([name], fields)
            if _num(p.get("link_up")) is not None:
                link.add_metric([name], p["link_up"])
            if _num(p.get("speed_mbps")) is not None:
                speed.add_metric([name], p["speed_mbps"] * 1_000_000 / 8)
            for key, fam in counters.items():
                if _num(p.get(key)) is not None:
                    fam.add_metric([name], p[key])
        out += [info, link, speed]
        out += [f for f in counters.values() if f.samples]
        return out


    @staticmethod
    def _tcp(tcp):
        if not tcp:
            return []
        out = []
        for key, doc in TCP_COUNTERS.items():
            if _num(tcp.get(key)) is not None:
                out.append(CounterMetricFamily(f"ringcast_tcp_{key}", doc, value=tcp[key]))
        out += _by_label(GaugeMetricFamily, "ringcast_tcp_connections", "TCP-lite connections by state", "state",
                         tcp.get("states"))
        return out


    @staticmethod
    def _mqtt(mqtt):
        if not mqtt or not mqtt.get("enabled"):
            return []
        out = [GaugeMetricFamily(f"ringcast_mqtt_{key}", doc, value=mqtt[key])
               for key, doc in MQTT_GAUGES.items() if _num(mqtt.get(key)) is not None]
        out += [CounterMetricFamily(f"ringcast_mqtt_{key}", doc, value=mqtt[key])
                for key, doc in MQTT_COUNTERS.items() if _num(mqtt.get(key)) is not None]
        return out


# ringcast-bridge's /bridge/stats (its [bridge] stats_socket): key -> help.
BRIDGE_COUNTERS = {
    "received": "NATS messages the bridge took from its subscriptions",
    "forwarded": "Messages ringcastd ACKed (QoS 1, 2) or that were sent (QoS 0)",
    "sent": "PUB frames sent to ringcastd, resends included",
    "resent": "PUBs sent again for want of an ACK",
    "refused": "PUBs ringcastd answered with ERR",
    "unmappable": "NATS subjects with no ringcast topic",
    "given_up": "Core NATS mode: PUBs dropped unACKed after appliance.attempts sends",
    "send_failed": "QoS 0 PUBs the kernel refused to send",
    "nats_dropped": "Core NATS mode: messages dropped with the bridge's queue full",
    "redelivered": "JetStream deliveries of messages already sent",
    "resyncs": "JetStream consumer made again at the resume point",
    "delivery_gaps": "JetStream deliveries found skipped, the consumer then made again at the resume point",
    "nats_disconnects": "Connections to NATS lost",
    "nats_reconnects": "Connections to NATS made again",
    "appliance_reconnects": "TCP connections to ringcastd made again",
}
BRIDGE_GAUGES = {
    "in_flight": "PUBs waiting for ringcastd's ACK",
    "queued": "NATS messages waiting for the bridge thread",
    "lag": "JetStream: messages the consumer has yet to deliver",
    "acked_stream_seq": "JetStream: every stream seq up to this one is in ringcastd and acknowledged",
}


class BridgeCollector:
    """ringcast-bridge's stats socket (the telemetry protocol) on every collect()."""

    def __init__(self, path, timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.timeout = timeout

    def describe(self):
        return []

    def collect(self):
        up = "1 when the bridge's stats socket answered this scrape"
        try:
            with Telemetry(self.path, self.timeout) as t:
                st = t.query("/bridge/stats")
            if not isinstance(st, dict):
                raise TelemetryError(f"{self.path}: /bridge/stats: no answer (is this ringcast-bridge?)")
        except TelemetryError:
            yield GaugeMetricFamily("ringcast_bridge_up", up, value=0)
            return
        yield GaugeMetricFamily("ringcast_bridge_up", up, value=1)
        info = InfoMetricFamily("ringcast_bridge", "How the bridge reads NATS")
        info.add_metric([], {"mode": str(st.get("mode", ""))})
        yield info
        for key, doc in BRIDGE_COUNTERS.items():
            if _num(st.get(key)) is not None:
                yield CounterMetricFamily(f"ringcast_bridge_{key}", doc, value=st[key])
        for key, doc in BRIDGE_GAUGES.items():
            if _num(st.get(key)) is not None:
                yield GaugeMetricFamily(f"ringcast_bridge_{key}", doc, value=st[key])


def parse_listen(text):
    """ADDR:PORT, [IPv6]:PORT or PORT (on 127.0.0.1) -> (addr, port)."""
    addr, sep, port = text.rpartition(":")
    if not sep:
        addr, port = "127.0.0.1", text
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    try:
        n = int(port)
    except ValueError:
        n = -1
    if not addr or not 0 < n < 65536:
        raise argparse.ArgumentTypeError(f"not ADDR:PORT: {text!r}")
    return addr, n


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="ringcast-exporter.py",
        description="Prometheus exporter for ringcastd, over its DPDK telemetry socket.",
        epilog="Exit status: 0 ok, 1 runtime failure, 2 usage error.")
    p.add_argument("-f", "--prefix", default=DEFAULT_PREFIX,
                   help=f"ringcastd's EAL file prefix (eal.file_prefix; default: {DEFAULT_PREFIX})")
    p.add_argument("-S", "--socket", help="telemetry socket path, instead of the one --prefix names")
    p.add_argument("--bridge", metavar="SOCKET",
                   help="export ringcast-bridge's counters from its stats socket instead of ringcastd's")
    p.add_argument("-l", "--listen", type=parse_listen, default=DEFAULT_LISTEN,
                   help=f"address to serve /metrics on (default: {DEFAULT_LISTEN})")
    p.add_argument("-t", "--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds to wait for each telemetry reply (default: {DEFAULT_TIMEOUT})")
    p.add_argument("--once", action="store_true",
                   help="print the exposition text once to stdout and exit (tests, cron)")
    args = p.parse_args(argv)
    if isinstance(args.listen, str):
        args.listen = parse_listen(args.listen)
    if args.timeout <= 0:
        p.error("--timeout must be > 0")
    return args


def log(msg):
    print(f"ringcast-exporter: {msg}", file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    path = args.bridge or args.socket or socket_path(args.prefix)
    registry = CollectorRegistry(auto_describe=False)
    if args.bridge:
        registry.register(BridgeCollector(path, args.timeout))
    else:
        registry.register(RingcastCollector(path, args.timeout, log=None if args.once else log))
    if args.once:
        sys.stdout.write(generate_latest(registry).decode())
        return 0

    addr, port = args.listen
    try:
        start_http_server(port, addr=addr, registry=registry)
    except OSError as e:
        log(f"listen on {addr}:{port}: {e.strerror or e}")
        return 1
    log(f"serving http://{addr}:{port}/metrics for {path}")
    # The server runs in a daemon thread; the main thread waits for a signal.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
