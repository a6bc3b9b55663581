"""A systemd unit file read as systemd reads it (repeated keys,
continuations, comments), for the unit tests."""
import os
import re
import shlex
import shutil
import subprocess

from tap import check, skip


def parse_unit(text):
    """systemd's own reading: a key may repeat (ExecStartPre=), a trailing
    backslash continues the line, # and ; start comments."""
    sections, current, pending = {}, None, ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        if current is None or not sep:
            raise ValueError(f"not a section or key=value line: {raw!r}")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def program_of(cmdline):
    """ExecStart= value -> (program, args), without systemd's prefixes."""
    words = shlex.split(cmdline)
    prog = words[0].lstrip("-+!@:")
    return prog, words[1:]


def environment(svc):
    env = {}
    for value in svc.get("Environment", []):
        for word in shlex.split(value):
            k, _, v = word.partition("=")
            env[k] = v
    return env


def expand(args, env):
    return [re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), a) for a in args]


def one(unit, section, key):
    """The value a key ends up with: the last one given."""
    values = unit.get(section, {}).get(key, [])
    return values[-1] if values else None


def check_values(unit, wanted):
    """One check per (section, key, value) the unit must set."""
    for section, key, want in wanted:
        got = one(unit, section, key)
        check(f"{section}: {key}={want}", got == want, f"got {got!r}")


def check_verify(text, name, tmp):
    """systemd-analyze verify on `text` saved as `name` in `tmp`: nothing to
    say about the unit, or skipped where systemd-analyze is not installed."""
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        skip("systemd-analyze verify", "systemd-analyze is not installed")
        return
    copy = os.path.join(tmp, name)
    with open(copy, "w", encoding="utf-8") as f:
        f.write(text)
    p = subprocess.run([analyze, "verify", "--man=no", copy], capture_output=True, text=True, timeout=30)
    about_unit = [l for l in (p.stdout + p.stderr).splitlines() if name in l]
    check("systemd-analyze verify finds nothing to say", p.returncode == 0 and not about_unit,
          f"exit {p.returncode}\n{p.stdout}{p.stderr}")
