#!/usr/bin/python3
"""bench-report: the benchmark results as a markdown report and a latency chart.

    bench-report.py [--dir DIR] [--latency REGEX] [--no-plot]

Reads every DIR/*.jsonl (default bench/results), one JSON object per line as
ringcast-loadgen --json and scripts/bench.sh write them: system, scenario,
payload_bytes, subscribers, topics, pub_msgs_per_s, delivered_msgs_per_s,
p50_us, p90_us, p99_us, p999_us, max_us, cpu_cores, machine, vdev. Any of
them but system and scenario may be missing; the report shows "–" there.

Writes DIR/results.md: one table per scenario with every system side by
side, delivered messages per core (delivered_msgs_per_s / cpu_cores), and
each system's ratio to ringcast on the same scenario and parameters (per-core
throughput, p99); a parameter one record lacks matches any value. Several
records with the same system, scenario and parameters (repeated runs) are
summarised by their median, with the min-max of delivered msg/s and p99 in
parentheses; the runs column says how many. A record with "failed" (a peer
that failed a run) shows as failed, with its reason. Under each table: the
appliance's busy share and drops by reason (sut_busy, sut_drops) and the
load generator's RX misses and frames per datagram, where the records have
them. Then: ringcast against testpmd on 1to1_64B, the ratio of each
alternated pair, median and min-max; ringcast's latency over testpmd's (the
path's floor) on the latency_* scenarios; ringcastd's RSS before and after
its soak (the "rss" record).

Writes DIR/latency.png: p50/p90/p99/p99.9 per system, on a log axis, for the
scenarios whose name matches --latency (default "latency"). Needs Debian's
python3-matplotlib, hence /usr/bin/python3; without it (or with --no-plot)
only the markdown is written.

Exit status: 0 ok, 1 no results or an unreadable record, 2 usage error.
"""

import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

REFERENCE = "ringcast"
PERCENTILES = [("p50_us", "p50"), ("p90_us", "p90"), ("p99_us", "p99"), ("p999_us", "p99.9")]
NUMERIC = ["pub_msgs_per_s", "delivered_msgs_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "cpu_cores"]
# Beside the table: the appliance's and the load generator's view of a run.
EXTRA = ["sut_busy", "rx_missed", "frames_per_datagram"]
# What makes two records the same measurement, besides system and scenario.
PARAMS = ["payload_bytes", "subscribers", "topics"]


class ReportError(Exception):
    pass


def default_dir():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "results")


def load(directory):
    """Every record of every DIR/*.jsonl, in file and line order."""
    paths = sorted(glob.glob(os.path.join(directory, "*.jsonl")))
    if not paths:
        raise ReportError(f"no *.jsonl files in {directory}")
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ReportError(f"{path}:{lineno}: {e.msg} at column {e.colno}") from None
                if not isinstance(rec, dict):
                    raise ReportError(f"{path}:{lineno}: not a JSON object")
                for key in ("system", "scenario"):
                    if not isinstance(rec.get(key), str) or not rec[key]:
                        raise ReportError(f"{path}:{lineno}: no '{key}'")
                records.append(rec)
    if not records:
        raise ReportError(f"no records in {', '.join(paths)}")
    return records


def number(v):
    """A usable number, or None (missing, null, not a number, NaN)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if math.isnan(v) else v


# Records that are not a workload's result: reported in sections of their own.
SPECIAL_SCENARIOS = ("rss",)


def summarise(records):
    """{scenario: {params: {system: row}}}, a row being the median of its runs."""
    groups = {}
    for rec in records:
        if rec["scenario"] in SPECIAL_SCENARIOS:
            continue
        params = tuple(rec.get(p) for p in PARAMS)
        groups.setdefault(rec["scenario"], {}).setdefault(params, {}).setdefault(rec["system"], []).append(rec)
    out = {}
    for scenario, by_params in groups.items():
        for params, by_system in by_params.items():
            for system, all_runs in by_system.items():
                runs = [r for r in all_runs if "failed" not in r]
                failed = [r["failed"] for r in all_runs if "failed" in r]
                row = {"runs": len(runs), "failed": failed}
                for key in NUMERIC + EXTRA:
                    values = [v for v in (number(r.get(key)) for r in runs) if v is not None]
                    row[key] = statistics.median(values) if values else None
                    row[key + "_range"] = (min(values), max(values)) if len(values) > 1 else None
                drops = {}
                for r in runs:
                    for reason, n in (r.get("sut_drops") or {}).items():
                        drops.setdefault(reason, []).append(n)
                # A reason absent from a run dropped nothing there.
                row["sut_drops"] = {k: statistics.median(v + [0] * (len(runs) - len(v))) for k, v in drops.items()}
                for key in ("machine", "vdev"):
                    row[key] = next((r[key] for r in reversed(runs) if r.get(key)), None)
                delivered, cores = row["delivered_msgs_per_s"], row["cpu_cores"]
                row["per_core"] = delivered / cores if delivered is not None and cores else None
                out.setdefault(scenario, {}).setdefault(params, {})[system] = row
    return out


def reference_row(by_params, params):
    """ringcast's row for these parameters: the same ones, or else the only
    ringcast row that agrees on every parameter both records give."""
    same = by_params.get(params, {}).get(REFERENCE)
    if same is not None:
        return same
    compatible = [
        rows[REFERENCE]
        for other, rows in by_params.items()
        if REFERENCE in rows and all(a is None or b is None or a == b for a, b in zip(params, other))
    ]
    return compatible[0] if len(compatible) == 1 else None


def system_order(systems):
    return sorted(systems, key=lambda s: (s != REFERENCE, s))


def rate(v):
    if v is None:
        return "–"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.2f} {unit}"
    return f"{v:.0f}"


def micros(v):
    if v is None:
        return "–"
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


def plain(v):
    if v is None:
        return "–"
    return f"{v:g}" if isinstance(v, float) else str(v)


def payload(v):
    if v is None:
        return "–"
    return "mix" if v == 0 else str(v)


def ratio(value, reference):
    if value is None or reference is None or reference == 0:
        return "–"
    return f"{value / reference:.2f}×"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def with_range(text, rng, fmt):
    """'10.00 M (9.50 M–10.40 M)' for a median of runs with their min-max."""
    if rng is None or text == "–":
        return text
    return f"{text} ({fmt(rng[0])}–{fmt(rng[1])})"


def side_notes(system, row):
    """What the appliance and the load generator saw of a row's runs."""
    parts = []
    if row.get("sut_busy") is not None:
        parts.append("appliance busy " + with_range(f"{100 * row['sut_busy']:.0f} %", row["sut_busy_range"],
                                                      lambda v: f"{100 * v:.0f} %"))
    if row.get("sut_busy") is not None or row["sut_drops"]:
        drops = ", ".join(f"{k} {v:.0f}" for k, v in sorted(row["sut_drops"].items(), key=lambda kv: -kv[1])
                          if round(v) != 0)
        parts.append("drops " + (drops or "none"))
    if row.get("rx_missed") is not None:
        parts.append(f"load generator RX missed {row['rx_missed']:.0f}")
    if row.get("frames_per_datagram"):
        parts.append(f"{row['frames_per_datagram']:.2f} frames per datagram received")
    return f"- {cell(system)}: " + "; ".join(parts) + " (medians)" if parts else None


def scenario_table(scenario, by_params):
    lines = [f"## {scenario}", ""]
    lines.append(
        "| system | payload B | subscribers | topics | pub msg/s | delivered msg/s | cores | delivered/core "
        "| per core vs ringcast | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | p99 vs ringcast | runs |"
    )
    lines.append("|---|" + "---:|" * 15)
    hosts = {}
    notes = []
    for params in sorted(by_params, key=lambda p: tuple((v is None, str(v)) for v in p)):
        rows = by_params[params]
        ref = reference_row(by_params, params)
        for system in system_order(rows):
            row = rows[system]
            if row["runs"] == 0:
                reason = "; ".join(dict.fromkeys(row["failed"]))
                cells = [cell(system), payload(params[0]), plain(params[1]), plain(params[2]), "–",
                         cell(f"failed: {reason}")] + ["–"] * 9 + ["0"]
                lines.append("| " + " | ".join(cells) + " |")
                continue
            percentiles = [micros(row[key]) for key, _ in PERCENTILES]
            percentiles[2] = with_range(percentiles[2], row["p99_us_range"], micros)
            cells = [
                cell(system),
                payload(params[0]),
                plain(params[1]),
                plain(params[2]),
                rate(row["pub_msgs_per_s"]),
                with_range(rate(row["delivered_msgs_per_s"]), row["delivered_msgs_per_s_range"], rate),
                plain(row["cpu_cores"]),
                rate(row["per_core"]),
                ratio(row["per_core"], ref and ref["per_core"]),
                *percentiles,
                micros(row["max_us"]),
                ratio(row["p99_us"], ref and ref["p99_us"]),
                str(row["runs"]) + (f", {len(row['failed'])} failed" if row["failed"] else ""),
            ]
            lines.append("| " + " | ".join(cells) + " |")
            if (n := side_notes(system, row)) is not None:
                notes.append(n)
            where = ", ".join(f"{k} {row[k]}" for k in ("vdev", "machine") if row[k])
            if where:
                hosts.setdefault(system, where)
    lines.append("")
    lines += notes
    for system in system_order(hosts):
        lines.append(f"- {cell(system)}: {cell(hosts[system])}")
    if hosts or notes:
        lines.append("")
    return lines


def runs_of(records, system, scenario):
    return [r for r in records if r["system"] == system and r["scenario"] == scenario and "failed" not in r]


def median_range(values, fmt):
    if not values:
        return "–"
    text = fmt(statistics.median(values))
    return with_range(text, (min(values), max(values)) if len(values) > 1 else None, fmt)


def forwarding_limit(records):
    """ringcast over testpmd on 1to1_64B, pair by pair (the i-th of each)."""
    ours, ref = runs_of(records, REFERENCE, "1to1_64B"), runs_of(records, "testpmd", "1to1_64B")
    ratios = [a["delivered_msgs_per_s"] / b["delivered_msgs_per_s"] for a, b in zip(ours, ref)
              if number(a.get("delivered_msgs_per_s")) and number(b.get("delivered_msgs_per_s"))]
    if not ratios:
        return []
    return ["## Against the forwarding limit", "",
            f"1to1_64B, {REFERENCE} delivered ÷ testpmd (macswap) forwarded, each pair of runs alternated: "
            f"**{median_range(ratios, lambda v: f'{v:.2f}×')}** over {len(ratios)} pairs "
            f"({REFERENCE} {median_range([r['delivered_msgs_per_s'] for r in ours], rate)} msg/s, "
            f"testpmd {median_range([r['delivered_msgs_per_s'] for r in ref], rate)} msg/s).", ""]


def latency_floor(records):
    """ringcast's percentiles over testpmd's on the same paced scenarios."""
    scenarios = sorted({r["scenario"] for r in records if r["scenario"].startswith("latency")})
    lines = []
    for scenario in scenarios:
        ours, ref = runs_of(records, REFERENCE, scenario), runs_of(records, "testpmd", scenario)
        if not ours or not ref:
            continue
        if not lines:
            lines = ["## Latency over the path's floor", "",
                     f"testpmd (macswap) paced at the same rate is the floor of the path (load generator, memif "
                     f"both ways); added = {REFERENCE} − floor, medians of the runs, µs.", "",
                     "| scenario | | p50 | p99 | p99.9 |", "|---|---|---:|---:|---:|"]
        keys = ("p50_us", "p99_us", "p999_us")
        med = {name: [statistics.median([r[k] for r in runs if number(r.get(k)) is not None] or [math.nan])
                      for k in keys] for name, runs in (("floor", ref), ("ringcast", ours))}
        lines.append(f"| {scenario} | testpmd floor | " + " | ".join(micros(v) for v in med["floor"]) + " |")
        lines.append(f"| | {REFERENCE} | " + " | ".join(micros(v) for v in med["ringcast"]) + " |")
        lines.append("| | added | " + " | ".join(f"{a - b:.3g}" for a, b in zip(med["ringcast"], med["floor"])) + " |")
    return lines + [""] if lines else []


def memory(records):
    rss = [r for r in records if r["scenario"] == "rss"]
    if not rss:
        return []
    r = rss[-1]
    return ["## Memory", "",
            f"ringcastd's RSS: {r['rss_start_kb']} kB after start-up, {r['rss_end_kb']} kB after "
            f"{r.get('soak_s', 0):g} s at full load ({r['rss_end_kb'] - r['rss_start_kb']:+d} kB).", ""]


def markdown(summary, n_records, sources, records):
    lines = [
        "# Benchmark results",
        "",
        f"Written by `scripts/bench-report.py` from {n_records} records in {', '.join(sources)}; "
        "edits here are lost on the next run.",
        "",
        "delivered/core = delivered msg/s ÷ cores used by the system. Ratios compare each system with "
        f"{REFERENCE} on the same scenario and parameters: per core, above 1 is more throughput per core "
        f"than {REFERENCE}; p99, above 1 is a slower tail. Several runs are summarised by their median.",
        "",
    ]
    lines += forwarding_limit(records)
    lines += latency_floor(records)
    lines += memory(records)
    for scenario in sorted(summary):
        lines += scenario_table(scenario, summary[scenario])
    return "\n".join(lines)


def latency_panels(summary, pattern):
    """[(title, {system: [p50, p90, p99, p99.9]})] for the matching scenarios."""
    panels = []
    for scenario in sorted(summary):
        if not re.search(pattern, scenario):
            continue
        for params, rows in sorted(summary[scenario].items(), key=lambda kv: str(kv[0])):
            series = {}
            for system in system_order(rows):
                if rows[system]["runs"] == 0:
                    continue
                values = [rows[system][key] for key, _ in PERCENTILES]
                if any(v is not None and v > 0 for v in values):
                    series[system] = values
            if series:
                shown = [f"{name} {plain(v)}" for name, v in zip(("payload", "subs", "topics"), params) if v is not None]
                title = scenario + (f" ({', '.join(shown)})" if shown else "")
                panels.append((title, series))
    return panels


def plot(panels, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(len(panels), 2)
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 4.2 * rows), squeeze=False)
    labels = [label for _, label in PERCENTILES]
    for ax, (title, series) in zip(axes.flat, panels):
        width = 0.8 / len(series)
        for i, (system, values) in enumerate(series.items()):
            xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
            ys = [v if v is not None and v > 0 else float("nan") for v in values]
            ax.bar(xs, ys, width, label=system)
        ax.set_yscale("log")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_ylabel("latency (µs)")
        ax.set_title(title)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv):
    ap = argparse.ArgumentParser(description="Benchmark results as markdown and a latency chart.")
    ap.add_argument("--dir", default=default_dir(), help="folder with *.jsonl; outputs go there too")
    ap.add_argument("--latency", default="latency", metavar="REGEX", help="scenarios to chart (default: latency)")
    ap.add_argument("--no-plot", action="store_true", help="write the markdown only")
    args = ap.parse_args(argv)
    try:
        re.compile(args.latency)
    except re.error as e:
        ap.error(f"--latency: {e}")

    try:
        records = load(args.dir)
    except (ReportError, OSError) as e:
        print(f"bench-report: {e}", file=sys.stderr)
        return 1
    summary = summarise(records)
    sources = sorted({os.path.basename(p) for p in glob.glob(os.path.join(args.dir, "*.jsonl"))})
    md_path = os.path.join(args.dir, "results.md")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(markdown(summary, len(records), sources, records))
    print(f"wrote {md_path}")

    if args.no_plot:
        return 0
    panels = latency_panels(summary, args.latency)
    if not panels:
        print(f"bench-report: no latency percentiles in scenarios matching '{args.latency}'; no chart",
              file=sys.stderr)
        return 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("bench-report: matplotlib missing (apt-get install python3-matplotlib); no chart", file=sys.stderr)
        return 0
    png_path = os.path.join(args.dir, "latency.png")
    plot(panels, png_path)
    print(f"wrote {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
