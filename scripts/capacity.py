#!/usr/bin/env python3
"""Capacity arithmetic for ringcast behind a NATS cluster (docs/scale-out.md).

From measured figures (bridge messages per core-second, appliance
deliveries per worker core-second, the NIC's line rate) and a workload
(deliveries per second wanted, subscribers per message, payload and topic
size), how many appliances and bridge cores a deployment needs, and what
the NATS cluster must send them, under both partitionings:

  subject partition     each appliance serves 1/N of the subjects and every
                        subscriber of those subjects: a message reaches one
                        appliance, once, and fans out there to all its
                        subscribers
  subscriber partition  each appliance takes every subject and 1/N of the
                        subscribers: a message reaches every appliance, and
                        fans out to fanout/N subscribers on each

An appliance is held to --headroom of the lower of its CPU and NIC limits.
On the wire a delivery is one RCP/1 MSG frame (16-byte header, topic,
payload) in a datagram coalesced up to the MTU; Ethernet's preamble,
header, FCS and gap are counted.

usage: scripts/capacity.py [--target D] [--fanout F] [--payload B] [--topic-len T]
                           [--bridge-per-core M] [--appliance-per-core M] [--worker-cores W]
                           [--nic-gbps G] [--mtu U] [--headroom H] [--json]
Every figure has a default: the measured ones of docs/scale-out.md.
"""
import argparse
import json
import math
import sys

FRAME_HEADER = 16        # RCP/1 frame header (core/wire)
IP_UDP = 20 + 8          # per datagram
ETHERNET = 14 + 4 + 20   # header, FCS, preamble and inter-frame gap

# Measured (docs/scale-out.md says where each comes from).
DEFAULTS = {
    "target": 100e6,             # deliveries per second wanted
    "fanout": 10,                # subscribers per message, over the whole deployment
    "payload": 64,
    "topic_len": 16,
    "bridge_per_core": 465e3,    # bridge messages per core-second, JetStream at QoS 2, 64 B
    "appliance_per_core": 13.6e6,  # ringcastd deliveries per core-second, 1 -> 10, 64 B
    "worker_cores": 4,           # appliance cores polling (io and worker)
    "nic_gbps": 25,
    "mtu": 1500,
    "headroom": 0.7,             # run at most this share of a limit
}


def wire_bytes_per_delivery(payload, topic_len, mtu):
    """Bytes on the wire per delivery, and the frames per datagram."""
    frame = FRAME_HEADER + topic_len + payload
    room = mtu - IP_UDP
    per_datagram = max(1, room // frame)
    if frame > room:  # a frame larger than a datagram leaves alone, in IP fragments
        fragments = math.ceil((frame + 8) / (mtu - 20))
        return frame + fragments * (20 + ETHERNET) + 8, 1
    return (per_datagram * frame + IP_UDP + ETHERNET) / per_datagram, per_datagram


def plan(a):
    per_delivery, frames = wire_bytes_per_delivery(a["payload"], a["topic_len"], a["mtu"])
    nic_limit = a["nic_gbps"] * 1e9 / 8 / per_delivery
    cpu_limit = a["appliance_per_core"] * a["worker_cores"]
    per_appliance = min(nic_limit, cpu_limit) * a["headroom"]
    bridge_rate = a["bridge_per_core"] * a["headroom"]
    messages = a["target"] / a["fanout"]  # distinct messages per second into the deployment
    out = {
        "inputs": dict(a),
        "wire_bytes_per_delivery": round(per_delivery, 1),
        "frames_per_datagram": frames,
        "appliance_nic_limit": nic_limit,
        "appliance_cpu_limit": cpu_limit,
        "appliance_bound_by": "nic" if nic_limit < cpu_limit else "cpu",
        "deliveries_per_appliance": per_appliance,
        "messages_in": messages,
    }
    n = max(1, math.ceil(a["target"] / per_appliance))
    # Subject partition: each appliance takes messages/n, fans each out fanout times.
    ingress = messages / n
    out["subject_partition"] = {
        "appliances": n,
        "ingress_per_appliance": ingress,
        "bridge_cores_per_appliance": max(1, math.ceil(ingress / bridge_rate)),
        "nats_egress_to_bridges": messages,
    }
    # Subscriber partition: every appliance takes every message.
    sub = {"appliances": n, "ingress_per_appliance": messages,
           "bridge_cores_per_appliance": max(1, math.ceil(messages / bridge_rate)),
           "nats_egress_to_bridges": messages * n}
    if a["fanout"] < n:
        sub["note"] = "fanout below the appliance count: some appliances get messages with no subscriber"
    out["subscriber_partition"] = sub
    for part in ("subject_partition", "subscriber_partition"):
        p = out[part]
        p["bridge_cores"] = p["bridge_cores_per_appliance"] * p["appliances"]
    return out


def si(v):
    for unit, f in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= f:
            return f"{v / f:.3g} {unit}"
    return f"{v:.3g}"


def text(r):
    a = r["inputs"]
    lines = [
        f"workload: {si(a['target'])} deliveries/s, {a['fanout']:g} subscribers per message "
        f"({si(r['messages_in'])} messages/s in), {a['payload']} B payload, {a['topic_len']} B topic",
        f"wire: {r['wire_bytes_per_delivery']:g} B per delivery ({r['frames_per_datagram']} "
        f"frame{'s' if r['frames_per_datagram'] > 1 else ''} per {a['mtu']} B datagram)",
        f"one appliance ({a['worker_cores']} cores, {a['nic_gbps']:g} Gb/s): CPU {si(r['appliance_cpu_limit'])}/s, "
        f"NIC {si(r['appliance_nic_limit'])}/s, bound by {r['appliance_bound_by'].upper()}; planned at "
        f"{a['headroom']:.0%}: {si(r['deliveries_per_appliance'])} deliveries/s",
        f"one bridge core: {si(a['bridge_per_core'])} messages/s measured, planned at "
        f"{si(a['bridge_per_core'] * a['headroom'])}",
        "",
        f"{'':22}{'appliances':>11}{'in per appliance':>18}{'bridge cores':>14}{'NATS -> bridges':>17}",
    ]
    for part, name in (("subject_partition", "subject partition"), ("subscriber_partition", "subscriber partition")):
        p = r[part]
        lines.append(f"{name:22}{p['appliances']:>11}{si(p['ingress_per_appliance']) + '/s':>18}"
                     f"{p['bridge_cores']:>14}{si(p['nats_egress_to_bridges']) + '/s':>17}")
        if "note" in p:
            lines.append(f"{'':22}({p['note']})")
    return "\n".join(lines)


def positive(kind):
    def parse(s):
        v = kind(float(s)) if kind is int else float(s)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {s}")
        return v
    return parse


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", type=positive(float), help="deliveries per second wanted")
    p.add_argument("--fanout", type=positive(float), help="subscribers per message, deployment-wide")
    p.add_argument("--payload", type=positive(int), help="payload bytes")
    p.add_argument("--topic-len", type=positive(int), help="topic bytes")
    p.add_argument("--bridge-per-core", type=positive(float), help="bridge messages per core-second")
    p.add_argument("--appliance-per-core", type=positive(float), help="ringcastd deliveries per core-second")
    p.add_argument("--worker-cores", type=positive(int), help="polling cores per appliance")
    p.add_argument("--nic-gbps", type=positive(float), help="NIC line rate per appliance, Gb/s")
    p.add_argument("--mtu", type=positive(int), help="IPv4 MTU (576..9000)")
    p.add_argument("--headroom", type=positive(float), help="share of a limit to plan with, at most 1")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = vars(p.parse_args(argv))
    as_json = args.pop("json")
    a = dict(DEFAULTS)
    a.update({k: v for k, v in args.items() if v is not None})
    if a["headroom"] > 1:
        p.error("--headroom: at most 1")
    if not 576 <= a["mtu"] <= 9000:
        p.error("--mtu: 576..9000, as ringcastd's tx.mtu")
    r = plan(a)
    print(json.dumps(r, indent=2) if as_json else text(r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
