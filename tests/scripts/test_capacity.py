#!/usr/bin/env python3
"""scripts/capacity.py against arithmetic done here by hand, its refusals of
bad input, and docs/scale-out.md against its output: the page shows what
the script prints for its defaults, so the two cannot drift apart.

Usage: test_capacity.py SOURCE_ROOT   (TAP on stdout)
"""
import json
import os
import subprocess
import sys

from tap import check, finish

root = sys.argv[1]
script = os.path.join(root, "scripts", "capacity.py")


def run(*args):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=30)


def plan(*args):
    p = run("--json", *args)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return json.loads(p.stdout)


# 64 B payload, 16 B topic: a 96 B frame, 15 in the 1472 B a 1500 B MTU
# leaves; (15 * 96 + 28 IP/UDP + 38 Ethernet) / 15 = 100.4 B per delivery.
base = ["--target", "100e6", "--fanout", "10", "--payload", "64", "--topic-len", "16", "--mtu", "1500",
        "--nic-gbps", "25", "--appliance-per-core", "13.6e6", "--worker-cores", "4",
        "--bridge-per-core", "500e3", "--headroom", "0.7"]
r = plan(*base)
check("15 frames of 96 B per 1500 B datagram", r["frames_per_datagram"] == 15, r["frames_per_datagram"])
check("100.4 B on the wire per delivery", r["wire_bytes_per_delivery"] == 100.4, r["wire_bytes_per_delivery"])
nic = 25e9 / 8 / 100.4
check("the NIC limit is 25 Gb/s over 100.4 B", abs(r["appliance_nic_limit"] - nic) < 1, r["appliance_nic_limit"])
check("the CPU limit is 4 x 13.6 M", r["appliance_cpu_limit"] == 54.4e6, r["appliance_cpu_limit"])
check("bound by the NIC", r["appliance_bound_by"] == "nic")
# 0.7 * 31.1 M = 21.8 M per appliance: 100 M needs 5.
s, u = r["subject_partition"], r["subscriber_partition"]
check("5 appliances either way", s["appliances"] == 5 and u["appliances"] == 5, (s, u))
# Subject: 10 M messages/s split 5 ways, 2 M each, over 350 k per bridge core: 6 each, 30 in all.
check("subject partition: 2 M/s in per appliance, 30 bridge cores, NATS sends 10 M/s",
      s["ingress_per_appliance"] == 2e6 and s["bridge_cores"] == 30 and s["nats_egress_to_bridges"] == 10e6, s)
# Subscriber: every appliance takes all 10 M/s: 29 bridge cores each, 145; NATS sends 50 M/s.
check("subscriber partition: 10 M/s in per appliance, 145 bridge cores, NATS sends 50 M/s",
      u["ingress_per_appliance"] == 10e6 and u["bridge_cores"] == 145 and u["nats_egress_to_bridges"] == 50e6, u)

r = plan(*base, "--nic-gbps", "400")
check("a 400 Gb/s NIC leaves the CPU the bound", r["appliance_bound_by"] == "cpu"
      and r["deliveries_per_appliance"] == 54.4e6 * 0.7, r["appliance_bound_by"])
r = plan(*base, "--payload", "1024")
check("a 1 KB frame leaves alone: 1056 + 28 + 38 = 1122 B", r["frames_per_datagram"] == 1
      and r["wire_bytes_per_delivery"] == 1122, r["wire_bytes_per_delivery"])
r = plan(*base, "--payload", "4000")
# A 4032 B frame + 8 B UDP over 1480 B fragments: 3 IP packets, each 20 B IP + 38 B Ethernet.
check("a frame beyond the MTU goes in 3 fragments: 4032 + 8 + 3 x 58 B", r["wire_bytes_per_delivery"] == 4032 + 8 + 174,
      r["wire_bytes_per_delivery"])
r = plan(*base, "--fanout", "2")
check("a fan-out below the appliance count is said", "note" in r["subscriber_partition"], r["subscriber_partition"])

for bad in (["--headroom", "2"], ["--payload", "0"], ["--mtu", "100"], ["--target", "-1"], ["--fanout", "x"]):
    p = run(*bad)
    check(f"refuses {' '.join(bad)} (exit 2, said on stderr)", p.returncode == 2 and "error" in p.stderr,
          f"exit {p.returncode}\n{p.stderr}")

# docs/scale-out.md shows the default plan verbatim.
p = run()
doc = open(os.path.join(root, "docs", "scale-out.md"), encoding="utf-8").read()
check("scripts/capacity.py runs with its defaults", p.returncode == 0, p.stderr)
check("docs/scale-out.md shows scripts/capacity.py's default output", p.stdout.strip() in doc,
      "expected this block in docs/scale-out.md:\n" + p.stdout)

finish()
