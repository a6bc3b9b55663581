#!/usr/bin/env bash
# The end-to-end benchmark matrix, in one go: reserves hugepages, joins
# ringcastd (core 1) and ringcast-loadgen (core 0) with net_memif, and runs
# in alternating pairs (this VM is noisy, so each figure is a median of
# runs with their spread):
#   - the reference: the same load generator against dpdk-testpmd in
#     macswap mode on the same memif set-up, flat out (the forwarding limit),
#     flat out with 16 frames a datagram (what the load generator itself can
#     send and receive: fan-out rows near it measure the load generator),
#     and paced at 100 k and 1 M msg/s (the latency floor of the path);
#   - ringcast: every scenario, fan-out flat out. For each run the
#     appliance's busy share and its drops by reason (from its telemetry)
#     go in the result beside the load generator's RX misses, so a loss has
#     a place.
# Then ringcastd's RSS before and after a soak under full load, and the
# peers (scripts/bench-peers.sh; a peer that fails a run is reported as
# failed). Writes bench/results/: results.jsonl, results.md, latency.png.
#
# usage: scripts/bench.sh [--quick] [--no-peers] [--pairs N] [--zero-copy] [--out DIR]
#   --quick     short runs (about a second each) and one pair, for a smoke check
#   --no-peers  skip NATS, Redis and Mosquitto
#   --pairs N   testpmd and ringcast runs alternated N times (default 3, 1 with --quick)
#   --zero-copy the load generator's memif side zero-copy (off by default:
#               it lifted testpmd's rows, not ringcast's, on the dev VM)
#   --out DIR   where results go (default bench/results)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=bench.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

quick=0 peers=1 outdir="$top/bench/results" pairs= zero_copy=0
while (( $# )); do
    case $1 in
        --quick) quick=1 ;;
        --no-peers) peers=0 ;;
        --pairs) pairs=${2:?--pairs needs a number}; shift ;;
        --zero-copy) zero_copy=1 ;;
        --out) outdir=${2:?--out needs a folder}; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) rc_die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
[[ -z $pairs ]] && pairs=$(( quick ? 1 : 3 ))
[[ $pairs =~ ^[1-9][0-9]*$ ]] || rc_die "--pairs: a number from 1, not '$pairs'"

rc_need_root
rc_install_missing
cd "$top"
rc_configure build >/dev/null
ninja -C build >/dev/null
mkdir -p "$outdir"
results=$outdir/results.jsonl
: >"$results"

work=$(mktemp -d /tmp/ringcast-bench.XXXXXX)
pids=()
reserved=0
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work" /var/run/dpdk/rc-bench-*
    if (( reserved )); then "$top/scripts/hugepages.sh" release >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# memif between two DPDK processes needs hugepages: reserve them unless
# enough are free already, and give back what we took.
free_mb=$(awk '/HugePages_Free/ {f=$2} /Hugepagesize/ {s=$2} END {print int(f*s/1024)}' /proc/meminfo)
if (( free_mb < 1024 )); then
    "$top/scripts/hugepages.sh" setup 1G >/dev/null
    reserved=1
fi

socket=$work/memif.sock
machine="$(uname -n), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
vdev_name=net_memif
if (( quick )); then secs=1 soak_secs=5; else secs=5 soak_secs=60; fi
prefix=rc-bench-app

cat >"$work/ringcastd.toml" <<EOF
[eal]
main_lcore = 1
file_prefix = "$prefix"
hugepages = "on"
memory_mb = 512
vdevs = ["net_memif0,role=server,socket=$socket,socket-abstract=no"]
[lcores]
io = [1]
worker = [1]
[[port]]
device = "net_memif0"
ipv4 = "192.0.2.1"
[rcp]
err_per_s = 0
[limits]
topics = 65536
subscriptions = 262144
subscribers = 65536
EOF

# One telemetry command's value, as JSON on stdout.
telemetry() {
    build/apps/ringcast stats -f "$prefix" "$1"
}

# The appliance's lcore cycles and drops now, for what one run cost it.
sut_sample() {
    { telemetry /ringcast/lcores; telemetry /ringcast/stats; } >"$work/$1.json"
}

# Adds to the last result line what the appliance's telemetry says of the
# run between the two samples: its busy share, and its drops by reason.
sut_merge() {
    /usr/bin/python3 - "$results" "$work/$1.json" "$work/$2.json" <<'EOF'
import json, sys

def sample(path):
    text = open(path).read()
    out, dec, i = {}, json.JSONDecoder(), 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, i = dec.raw_decode(text, i)
        out.update(obj)
    return out

results, a, b = sys.argv[1], sample(sys.argv[2]), sample(sys.argv[3])
lines = open(results).read().splitlines()
rec = json.loads(lines[-1])
busy = sum(l["busy_cycles"] for l in b["/ringcast/lcores"].values()) - \
       sum(l["busy_cycles"] for l in a["/ringcast/lcores"].values())
total = sum(l["total_cycles"] for l in b["/ringcast/lcores"].values()) - \
        sum(l["total_cycles"] for l in a["/ringcast/lcores"].values())
rec["sut_busy"] = busy / total if total else None
before, after = a["/ringcast/stats"], b["/ringcast/stats"]
rec["sut_drops"] = {k: v - before["drops"].get(k, 0) for k, v in after["drops"].items()
                    if v - before["drops"].get(k, 0)}
rec["sut_datagrams"] = after["datagrams"] - before["datagrams"]
lines[-1] = json.dumps(rec)
open(results, "w").write("\n".join(lines) + "\n")
EOF
}

# The load generator's side of memif: copies (the default), or zero-copy
# (its buffers shared with memif; needs its memory in single fds).
if (( zero_copy )); then
    lg_eal=(--in-memory --single-file-segments) lg_vdev=",zero-copy=yes"
else
    lg_eal=(--huge-unlink) lg_vdev=""
fi

loadgen() {
    local name=$1; shift
    rc_say "scenario $name"
    build/apps/ringcast-loadgen --lcores=0@0 --file-prefix rc-bench-lg -m 256 --no-pci "${lg_eal[@]}" \
        --vdev "net_memif0,role=client,socket=$socket,socket-abstract=no$lg_vdev" -- \
        --scenario "$name" --vdev-name "$vdev_name" --json "$results" --quiet "$@" | sed 's/^/    /'
    sleep 1 # let the previous run's backlog drain before the next one
}

# A ringcast run with the appliance's view of it merged in.
ringcast_run() {
    sut_sample before
    loadgen "$@"
    sut_sample after
    sut_merge before after
}

start_testpmd() {
    rc_say "reference: dpdk-testpmd --forward-mode=macswap, forwarding on core 1"
    # Without -i, testpmd forwards until its stdin gives a line or EOF: a fifo
    # we hold open keeps it running until SIGTERM.
    rm -f "$work/testpmd.in"
    mkfifo "$work/testpmd.in"
    exec 3<>"$work/testpmd.in"
    dpdk-testpmd -l 0,1 --file-prefix "$prefix" --huge-unlink -m 512 --no-pci \
        --vdev "net_memif0,role=server,socket=$socket,socket-abstract=no" -- \
        --forward-mode=macswap --auto-start <"$work/testpmd.in" >"$work/testpmd.log" 2>&1 &
    pids+=($!)
    sleep 2
}

start_ringcastd() {
    rc_say "ringcastd on core 1"
    build/apps/ringcastd -c "$work/ringcastd.toml" >"$work/ringcastd.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^ringcastd: ready' "$work/ringcastd.log" && break; sleep 0.1; done
    grep -q '^ringcastd: ready' "$work/ringcastd.log" || { cat "$work/ringcastd.log"; rc_die "ringcastd did not start"; }
    sleep 1 # memif connects
}

# Stops the last process started and checks it went cleanly.
stop_last() {
    local what=$1 p=${pids[-1]}
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" || [[ $what == testpmd ]] || rc_die "$what did not exit cleanly"
    unset 'pids[-1]'
    { exec 3>&-; } 2>/dev/null || true
    rm -f "$socket"
}

rss_kb() {
    awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

for (( pair = 1; pair <= pairs; ++pair )); do
    rc_say "pair $pair of $pairs"
    start_testpmd
    loadgen "1to1_64B" --reflector --size 64 --duration "$secs"
    # The load generator's own ceiling: 16 PUB frames a datagram, reflected,
    # each counted as it would count a coalesced delivery.
    loadgen "loadgen_ceiling" --reflector --size 64 --batch 16 --duration "$secs"
    loadgen "latency_100k" --reflector --size 64 --rate 100000 --duration "$secs"
    loadgen "latency_1M" --reflector --size 64 --rate 1000000 --duration "$secs"
    stop_last testpmd

    start_ringcastd
    ringcast_run "1to1_64B" --size 64 --subscribers 1 --duration "$secs"
    # Fan-out flat out: coalesced deliveries no longer outrun the receiver.
    ringcast_run "fanout_64B_10" --size 64 --subscribers 10 --duration "$secs"
    ringcast_run "fanout_64B_100" --size 64 --subscribers 100 --duration "$secs"
    (( quick )) || ringcast_run "fanout_64B_1000" --size 64 --subscribers 1000 --duration "$secs"
    ringcast_run "fanout_1KB_10" --size 1024 --subscribers 10 --duration "$secs"
    ringcast_run "size_mix_10" --size-mix 1400 --subscribers 10 --duration "$secs"
    ringcast_run "topics_10000" --size 64 --topics 10000 --subscribers 1 --rate 1000000 --duration "$secs"
    ringcast_run "latency_100k" --size 64 --subscribers 1 --rate 100000 --duration "$secs"
    ringcast_run "latency_1M" --size 64 --subscribers 1 --rate 1000000 --duration "$secs"
    if (( pair == pairs )); then
        # Memory under load: RSS after start-up against RSS after a soak at
        # full load (no allocation on the hot path: it must not grow).
        rss_start=$(rss_kb "${pids[-1]}")
        ringcast_run "soak_1to10" --size 64 --subscribers 10 --duration "$soak_secs"
        rss_end=$(rss_kb "${pids[-1]}")
        /usr/bin/python3 -c 'import json, sys; print(json.dumps({"system": "ringcast", "scenario": "rss",
            "rss_start_kb": int(sys.argv[1]), "rss_end_kb": int(sys.argv[2]), "soak_s": float(sys.argv[3])}))' \
            "$rss_start" "$rss_end" "$soak_secs" >>"$results"
        rc_say "ringcastd RSS: $rss_start kB after start-up, $rss_end kB after ${soak_secs} s at full load"
        build/apps/ringcast stats -f "$prefix" >"$outdir/ringcastd-stats.txt" 2>&1 || true
    fi
    stop_last ringcastd
done

# ---- the peers, on loopback with the same shapes
if (( peers )); then
    rm -f "$outdir/peers.jsonl"
    peer_args=(--out "$outdir")
    (( quick )) && peer_args+=(--quick)
    "$top/scripts/bench-peers.sh" "${peer_args[@]}" || rc_warn "some peer runs failed; the report shows them"
    if [[ -f $outdir/peers.jsonl ]]; then
        cat "$outdir/peers.jsonl" >>"$results"
        rm -f "$outdir/peers.jsonl"
    fi
fi

# One machine description for every line; vdev empty where none applies.
tmp=$work/results.jsonl
/usr/bin/python3 - "$results" "$machine" >"$tmp" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        o = json.loads(line)
        o["machine"] = sys.argv[2]
        o.setdefault("vdev", "")
        print(json.dumps(o))
EOF
cp "$tmp" "$results"
/usr/bin/python3 "$top/scripts/bench-report.py" --dir "$outdir" || rc_warn "the report failed"
rc_say "results: $results, $outdir/results.md, $outdir/latency.png"
