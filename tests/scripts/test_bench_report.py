#!/usr/bin/python3
"""scripts/bench-report.py on synthetic results: the markdown has a table per
scenario with every system, delivered per core, ratios to ringcast, the
median of repeated runs with their min-max, failed runs shown as failed, the
appliance's busy share and drops under the table, ringcast against testpmd
pair by pair, the latency over testpmd's floor and the RSS record;
latency.png is a PNG; a broken record is reported by file and line. Skipped
(77) without python3-matplotlib.

Usage: test_bench_report.py SOURCE_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import matplotlib  # noqa: F401
except ImportError:
    print("python3-matplotlib missing: skipped")
    sys.exit(77)

script = os.path.join(sys.argv[1], "scripts", "bench-report.py")
failures = []


def check(desc, ok, detail=""):
    print(f"{'ok' if ok else 'FAIL'}: {desc}")
    if not ok:
        failures.append(desc)
        for line in str(detail).splitlines():
            print(f"    {line}")


def record(system, scenario, **fields):
    base = {"system": system, "scenario": scenario, "payload_bytes": 64, "subscribers": 10, "topics": 1}
    base.update(fields)
    return base


RECORDS = [
    record("ringcast", "fanout_64B_10", pub_msgs_per_s=1e6, delivered_msgs_per_s=1e7, cpu_cores=1,
           p50_us=5, p90_us=6, p99_us=10, p999_us=20, max_us=50, machine="box", vdev="net_memif"),
    # No latency and two cores: per core 1.5 M, 0.15x ringcast's.
    record("nats", "fanout_64B_10", pub_msgs_per_s=3e5, delivered_msgs_per_s=3e6, cpu_cores=2),
    # Two runs: the report shows their median.
    record("ringcast", "latency_100k", subscribers=1, delivered_msgs_per_s=1e5, cpu_cores=1,
           p50_us=4, p90_us=5, p99_us=8, p999_us=20, max_us=60),
    record("ringcast", "latency_100k", subscribers=1, delivered_msgs_per_s=1e5, cpu_cores=1,
           p50_us=6, p90_us=7, p99_us=12, p999_us=30, max_us=80),
    # No cpu_cores: no per-core figure.
    record("redis", "latency_100k", subscribers=1, delivered_msgs_per_s=9.9e4,
           p50_us=40, p90_us=60, p99_us=200, p999_us=900, max_us=3000),
    # A peer's failed run.
    {"system": "mosquitto", "scenario": "fanout_64B_10", "failed": "the driver failed (exit 1)"},
    # Pairs against the reference, with the appliance's view of the ringcast runs.
    record("testpmd", "1to1_64B", subscribers=1, delivered_msgs_per_s=8e6, cpu_cores=1),
    record("ringcast", "1to1_64B", subscribers=1, delivered_msgs_per_s=6e6, cpu_cores=1, sut_busy=0.5,
           sut_drops={"tx_full": 10}, rx_missed=3, frames_per_datagram=2.0),
    record("testpmd", "1to1_64B", subscribers=1, delivered_msgs_per_s=10e6, cpu_cores=1),
    record("ringcast", "1to1_64B", subscribers=1, delivered_msgs_per_s=9.5e6, cpu_cores=1, sut_busy=0.7,
           sut_drops={}, rx_missed=5, frames_per_datagram=4.0),
    record("testpmd", "latency_100k", subscribers=1, delivered_msgs_per_s=1e5, cpu_cores=1,
           p50_us=1, p90_us=2, p99_us=3, p999_us=10, max_us=20),
    {"system": "ringcast", "scenario": "rss", "rss_start_kb": 50000, "rss_end_kb": 50004, "soak_s": 60},
]


def run(directory, *extra):
    return subprocess.run([sys.executable, script, "--dir", directory, *extra], capture_output=True, text=True,
                          timeout=120)


def row(md, system, scenario):
    """The cells of `system`'s row in `scenario`'s table."""
    section = md.split(f"## {scenario}\n", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == system:
            return cells
    return []


with tempfile.TemporaryDirectory(prefix="bench-report-test.") as d:
    with open(os.path.join(d, "results.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in RECORDS[:3]) + "\n\n")  # a blank line is skipped
    with open(os.path.join(d, "more.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in RECORDS[3:]) + "\n")
    r = run(d)
    check("exits 0 on good results", r.returncode == 0, r.stdout + r.stderr)
    md_path = os.path.join(d, "results.md")
    md = open(md_path, encoding="utf-8").read() if os.path.exists(md_path) else ""
    check("writes a table per scenario", "## fanout_64B_10\n" in md and "## latency_100k\n" in md, md)
    check("header has per-core and ratio columns", "| delivered/core | per core vs ringcast |" in md, md)
    rc = row(md, "ringcast", "fanout_64B_10")
    check("ringcast is its own reference", rc[:9] == ["ringcast", "64", "10", "1", "1.00 M", "10.00 M", "1",
                                                      "10.00 M", "1.00×"], rc)
    nats = row(md, "nats", "fanout_64B_10")
    check("per core divides by cpu_cores and compares with ringcast", nats[7:9] == ["1.50 M", "0.15×"], nats)
    check("missing percentiles show as a dash", nats[9:14] == ["–"] * 5, nats)
    lat = row(md, "ringcast", "latency_100k")
    check("repeated runs are summarised by their median, p99 with its min-max",
          lat[9:13] == ["5", "6", "10 (8–12)", "25"] and lat[-1] == "2", lat)
    mosq = row(md, "mosquitto", "fanout_64B_10")
    check("a failed run shows as failed with its reason", mosq[5] == "failed: the driver failed (exit 1)"
          and mosq[-1] == "0", mosq)
    one = row(md, "ringcast", "1to1_64B")
    check("delivered shows the median and the min-max", one[5] == "7.75 M (6.00 M–9.50 M)", one)
    check("the appliance's busy share and drops and the receiver's misses are under the table",
          "- ringcast: appliance busy 60 % (50 %–70 %); drops tx_full 5; load generator RX missed 4; "
          "3.00 frames per datagram received (medians)" in md, md)
    check("ringcast against testpmd, pair by pair", "**0.85× (0.75×–0.95×)** over 2 pairs" in md, md)
    check("latency over testpmd's floor", "| | added | 4 | 7 | 15 |" in md, md)
    check("the RSS record", "50000 kB after start-up, 50004 kB after 60 s at full load (+4 kB)" in md, md)
    check("special records make no table of their own", "## rss\n" not in md, md)
    redis = row(md, "redis", "latency_100k")
    check("no cpu_cores, no per-core figure; p99 ratio still there", redis[7:9] == ["–", "–"]
          and redis[14] == "20.00×", redis)
    check("where each system ran is listed", "- ringcast: vdev net_memif, machine box" in md, md)
    png = os.path.join(d, "latency.png")
    head = open(png, "rb").read(8) if os.path.exists(png) else b""
    check("writes latency.png", head == b"\x89PNG\r\n\x1a\n", f"first bytes: {head!r}")

with tempfile.TemporaryDirectory(prefix="bench-report-test.") as d:
    with open(os.path.join(d, "bad.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps(RECORDS[0]) + "\n{not json\n")
    r = run(d)
    check("a broken line fails with its file and line", r.returncode == 1 and "bad.jsonl:2:" in r.stderr,
          r.stdout + r.stderr)
    r = run(os.path.join(d, "nowhere"))
    check("no results fails", r.returncode == 1 and "no *.jsonl" in r.stderr, r.stdout + r.stderr)

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks passed")
