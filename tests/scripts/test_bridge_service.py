#!/usr/bin/env python3
"""config/ringcast-bridge.service: read as systemd reads it, runs the built
ringcast-bridge from the documented install path, validates the config
before starting (the unit's own --check line works on config/bridge.toml),
restarts on failure, stops with SIGTERM, needs no root; and, where
systemd-analyze is installed, `verify` has nothing to say about it (paths
rewritten to this checkout). Nothing on the host changes.

Usage: test_bridge_service.py SOURCE_ROOT RINGCAST_BRIDGE   (TAP on stdout)
"""
import os
import re
import subprocess
import sys
import tempfile

from systemd_unit import check_values, check_verify, one, parse_unit, program_of
from tap import check, finish

BIN = "/opt/ringcast/build/apps/ringcast-bridge"
CONFIG = "/etc/ringcast/bridge.toml"

root = sys.argv[1]
bridge = os.path.abspath(sys.argv[2])
unit_path = os.path.join(root, "config", "ringcast-bridge.service")
with open(unit_path, encoding="utf-8") as f:
    text = f.read()

try:
    unit = parse_unit(text)
    check("parses as a systemd unit", True)
except ValueError as e:
    check("parses as a systemd unit", False, e)
    unit = {}
svc = unit.get("Service", {})

check_values(unit, [
    ("Service", "Restart", "on-failure"),
    ("Service", "KillSignal", "SIGTERM"),
    ("Service", "DynamicUser", "yes"),
    ("Install", "WantedBy", "multi-user.target"),
])
user = one(unit, "Service", "User")
check("no User=root: the bridge needs no privileges", user in (None, ""), user)
check("Unit: After= has network-online.target", "network-online.target" in " ".join(unit.get("Unit", {}).get("After", [])))

pre = svc.get("ExecStartPre", [])
start = svc.get("ExecStart", [])
check("ExecStartPre= is ringcast-bridge --check -c " + CONFIG,
      [program_of(c) for c in pre] == [(BIN, ["--check", "-c", CONFIG])], pre)
check("ExecStart= is ringcast-bridge -c " + CONFIG,
      [program_of(c) for c in start] == [(BIN, ["-c", CONFIG])], start)
apps_meson = open(os.path.join(root, "apps", "meson.build"), encoding="utf-8").read()
check("apps/meson.build builds ringcast-bridge",
      re.search(r"executable\(\s*'ringcast-bridge'", apps_meson) is not None)

# The shipped config's stats socket lies in the unit's RuntimeDirectory, the
# one place a DynamicUser may write under /run.
runtime = one(unit, "Service", "RuntimeDirectory")
shipped = open(os.path.join(root, "config", "bridge.toml"), encoding="utf-8").read()
m = re.search(r'^stats_socket\s*=\s*"([^"]*)"', shipped, re.M)
check("config/bridge.toml's stats_socket is under /run/" + str(runtime),
      runtime and m and m.group(1).startswith(f"/run/{runtime}/"), m and m.group(1))

p = subprocess.run([bridge, "--check", "-c", os.path.join(root, "config", "bridge.toml")],
                   capture_output=True, text=True, timeout=30)
check("the unit's --check line passes on config/bridge.toml", p.returncode == 0,
      f"exit {p.returncode}\n{p.stdout}{p.stderr}")
with tempfile.TemporaryDirectory(prefix="ringcast-bridge-service-test.") as tmp:
    bad = os.path.join(tmp, "bad.toml")
    with open(bad, "w") as f:
        f.write("[appliance]\nsped = 1\n")
    p = subprocess.run([bridge, "--check", "-c", bad], capture_output=True, text=True, timeout=30)
    check("and fails, so the start stops, on a bad one", p.returncode == 1 and "appliance.sped" in p.stderr,
          f"exit {p.returncode}\n{p.stderr}")

    check_verify(text.replace(BIN, bridge), "ringcast-bridge.service", tmp)

finish()
