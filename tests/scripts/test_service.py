#!/usr/bin/env python3
"""config/ringcastd.service: parses as INI with the keys the appliance needs,
runs only programs that exist in the repository under its documented install
paths (/opt/ringcast, /opt/ringcast/build/apps), and those command lines
work: the hugepages step in --dry-run against a fake /sys, `ringcastd --check`
on config/ringcastd.toml. Where systemd-analyze is installed, `verify` must
have nothing to say about the unit (paths rewritten to this checkout).
Nothing on the host changes.

Usage: test_service.py SOURCE_ROOT [RINGCASTD]   (TAP on stdout)
"""
import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from systemd_unit import check_values, check_verify, environment, expand, parse_unit, program_of
from tap import check, finish, skip

INSTALL_ROOT = "/opt/ringcast"
BIN_DIR = INSTALL_ROOT + "/build/apps"
CONFIG = "/etc/ringcast/ringcastd.toml"

root = sys.argv[1]
ringcastd = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else ""
unit_path = os.path.join(root, "config", "ringcastd.service")

def repo_path(installed):
    """/opt/ringcast/scripts/x -> ROOT/scripts/x."""
    return os.path.join(root, os.path.relpath(installed, INSTALL_ROOT))


with open(unit_path, encoding="utf-8") as f:
    text = f.read()

# ---- INI

ini = configparser.ConfigParser(strict=False, interpolation=None)
ini.optionxform = str
try:
    ini.read_string(text)
    check("parses as INI (configparser, strict=False)", True)
except configparser.Error as e:
    check("parses as INI (configparser, strict=False)", False, e)

try:
    unit = parse_unit(text)
    check("parses as a systemd unit (repeated keys, continuations)", True)
except ValueError as e:
    check("parses as a systemd unit (repeated keys, continuations)", False, e)
    unit = {}

check("has [Unit], [Service] and [Install]",
      all(s in unit for s in ("Unit", "Service", "Install")), sorted(unit))
svc = unit.get("Service", {})

check_values(unit, [
    ("Service", "Restart", "on-failure"),
    ("Service", "RestartSec", "2"),
    ("Service", "KillSignal", "SIGTERM"),
    ("Service", "TimeoutStopSec", "10"),
    ("Service", "LimitMEMLOCK", "infinity"),
    ("Service", "User", "root"),
    ("Install", "WantedBy", "multi-user.target"),
])
after = " ".join(unit.get("Unit", {}).get("After", []))
check("Unit: After= has network-pre.target", "network-pre.target" in after.split(), after)
check("the unit says how to run without root (AmbientCapabilities)", "AmbientCapabilities" in text)
check("the header documents the install paths",
      INSTALL_ROOT in text.split("[Unit]")[0] and BIN_DIR in text.split("[Unit]")[0])

# ---- the command lines

pre = svc.get("ExecStartPre", [])
start = svc.get("ExecStart", [])
check("one ExecStart=", len(start) == 1, start)
hp_lines = [c for c in pre if program_of(c)[0] == INSTALL_ROOT + "/scripts/hugepages.sh"]
check_lines = [c for c in pre if program_of(c)[0] == BIN_DIR + "/ringcastd"]
check("ExecStartPre= runs scripts/hugepages.sh", len(hp_lines) == 1, pre)
check("ExecStartPre= runs ringcastd --check -c " + CONFIG,
      len(check_lines) == 1 and program_of(check_lines[0])[1] == ["--check", "-c", CONFIG], pre)
check("the hugepages step comes first", bool(pre) and pre[0] in hp_lines, pre)
if start:
    prog, args = program_of(start[0])
    check("ExecStart= runs ringcastd -c " + CONFIG,
          prog == BIN_DIR + "/ringcastd" and args == ["-c", CONFIG], start[0])

# Every program run lies under the documented install root and exists here.
apps_meson = open(os.path.join(root, "apps", "meson.build"), encoding="utf-8").read()
for key in ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload"):
    for cmdline in svc.get(key, []):
        prog, _ = program_of(cmdline)
        if prog.startswith(BIN_DIR + "/"):
            name = os.path.basename(prog)
            check(f"{key}: {prog} is built by apps/meson.build",
                  re.search(r"executable\(\s*'" + re.escape(name) + "'", apps_meson) is not None)
        elif key == "ExecReload" and prog == "/bin/kill":
            # systemd's own idiom for a reload signal (SIGHUP to $MAINPID).
            check(f"{key}: {prog} exists", os.access(prog, os.X_OK))
        elif prog.startswith(INSTALL_ROOT + "/"):
            path = repo_path(prog)
            check(f"{key}: {prog} is {os.path.relpath(path, root)} in the repository, executable",
                  os.path.isfile(path) and os.access(path, os.X_OK), path)
        else:
            check(f"{key}: {prog} is under {INSTALL_ROOT}", False)

# ---- the command lines work (nothing on the host changes)

env = environment(svc)
with tempfile.TemporaryDirectory(prefix="ringcast-service-test.") as tmp:
    if hp_lines:
        # A fake /sys with 2M pages on one node and nothing mounted.
        for d in ("kernel/mm/hugepages/hugepages-2048kB",
                  "devices/system/node/node0/hugepages/hugepages-2048kB"):
            os.makedirs(os.path.join(tmp, "sys", d))
            with open(os.path.join(tmp, "sys", d, "nr_hugepages"), "w") as f:
                f.write("0\n")
        os.makedirs(os.path.join(tmp, "proc"))
        open(os.path.join(tmp, "proc", "mounts"), "w").close()
        prog, args = program_of(hp_lines[0])
        args = expand(args, env)
        run_env = dict(os.environ, RC_SYSFS=os.path.join(tmp, "sys"), RC_PROC=os.path.join(tmp, "proc"))
        p = subprocess.run([repo_path(prog), "--dry-run", *args], env=run_env,
                           capture_output=True, text=True, timeout=30)
        check("the hugepages step with the unit's defaults works (--dry-run, fake /sys): " + " ".join(args),
              p.returncode == 0 and re.search(r"^dpdk-hugepages\.py .*--reserve ", p.stdout, re.M)
              and re.search(r"^dpdk-hugepages\.py .*--mount ", p.stdout, re.M),
              f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")

        # The --persist example in the header comment (prints only).
        for line in text.splitlines():
            m = re.match(r"#\s+(" + re.escape(INSTALL_ROOT) + r"/scripts/hugepages\.sh .*--persist.*)$", line)
            if m:
                words = shlex.split(m.group(1))
                p = subprocess.run([repo_path(words[0]), *words[1:]], env=run_env,
                                   capture_output=True, text=True, timeout=30)
                check("the header's example works: " + m.group(1),
                      p.returncode == 0 and "hugepagesz=" in p.stdout,
                      f"exit {p.returncode}\n{p.stdout}{p.stderr}")

    if ringcastd and os.access(ringcastd, os.X_OK) and check_lines:
        _, args = program_of(check_lines[0])
        args = [os.path.join(root, "config", "ringcastd.toml") if a == CONFIG else a for a in args]
        p = subprocess.run([ringcastd, *args], capture_output=True, text=True, timeout=30)
        check("ringcastd accepts the unit's --check line (on config/ringcastd.toml)",
              p.returncode == 0, f"exit {p.returncode}\n{p.stdout}{p.stderr}")
    else:
        skip("ringcastd accepts the unit's --check line", "no ringcastd binary given")

    # The unit as installed here: its programs at their places in this tree.
    local = text.replace(BIN_DIR + "/ringcastd", ringcastd or shutil.which("true"))
    local = local.replace(INSTALL_ROOT + "/scripts/", os.path.join(root, "scripts") + "/")
    check_verify(local, "ringcastd.service", tmp)

finish()
