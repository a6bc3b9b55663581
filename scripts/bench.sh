#!/usr/bin/env bash
# The end-to-end benchmark matrix, in one go: reserves hugepages, joins
# ringcastd (core 1) and ringcast-loadgen (core 0) with net_memif, runs every
# scenario, measures the reference limit (the same load generator against
# dpdk-testpmd in macswap mode on the same memif set-up), runs the peers
# (scripts/bench-peers.sh), and writes bench/results/: results.jsonl,
# results.md and latency.png.
#
# usage: scripts/bench.sh [--quick] [--no-peers] [--out DIR]
#   --quick     short runs (about a second each), for a smoke check
#   --no-peers  skip NATS, Redis and Mosquitto
#   --out DIR   where results go (default bench/results)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=bench.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

quick=0 peers=1 outdir="$top/bench/results"
while (( $# )); do
    case $1 in
        --quick) quick=1 ;;
        --no-peers) peers=0 ;;
        --out) outdir=${2:?--out needs a folder}; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) rc_die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

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
if (( quick )); then secs=1; else secs=5; fi

cat >"$work/ringcastd.toml" <<EOF
[eal]
main_lcore = 1
file_prefix = "rc-bench-app"
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

loadgen() {
    local name=$1; shift
    rc_say "scenario $name"
    build/apps/ringcast-loadgen --lcores=0@0 --file-prefix rc-bench-lg --huge-unlink -m 256 --no-pci \
        --vdev "net_memif0,role=client,socket=$socket,socket-abstract=no" -- \
        --scenario "$name" --vdev-name "$vdev_name" --json "$results" --quiet "$@" | sed 's/^/    /'
    sleep 1 # let the previous run's backlog drain before the next one
}

# ---- the reference: dpdk-testpmd, macswap, on the same memif set-up
rc_say "reference: dpdk-testpmd --forward-mode=macswap, forwarding on core 1"
# Without -i, testpmd forwards until its stdin gives a line or EOF: a fifo we
# hold open keeps it running until SIGTERM.
mkfifo "$work/testpmd.in"
exec 3<>"$work/testpmd.in"
dpdk-testpmd -l 0,1 --file-prefix rc-bench-app --huge-unlink -m 512 --no-pci \
    --vdev "net_memif0,role=server,socket=$socket,socket-abstract=no" -- \
    --forward-mode=macswap --auto-start <"$work/testpmd.in" >"$work/testpmd.log" 2>&1 &
pids+=($!)
sleep 2
loadgen "1to1_64B" --reflector --size 64 --duration "$secs"
kill -TERM "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true
unset 'pids[-1]'
exec 3>&-
rm -f "$socket"

# ---- ringcast
rc_say "ringcastd on core 1"
build/apps/ringcastd -c "$work/ringcastd.toml" >"$work/ringcastd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^ringcastd: ready' "$work/ringcastd.log" && break; sleep 0.1; done
grep -q '^ringcastd: ready' "$work/ringcastd.log" || { cat "$work/ringcastd.log"; rc_die "ringcastd did not start"; }
sleep 1 # memif connects

# 1 -> 1 flat out: the figure set against testpmd. The fan-out shapes are
# paced so that deliveries stay near 4 M/s: one load-generator core cannot
# publish flat out and also receive ten times that (the appliance then
# builds more than the memif ring takes and counts the rest as tx_full).
loadgen "1to1_64B" --size 64 --subscribers 1 --duration "$secs"
loadgen "fanout_64B_10" --size 64 --subscribers 10 --rate 400000 --duration "$secs"
loadgen "fanout_64B_100" --size 64 --subscribers 100 --rate 40000 --duration "$secs"
(( quick )) || loadgen "fanout_64B_1000" --size 64 --subscribers 1000 --rate 4000 --duration "$secs"
loadgen "fanout_1KB_10" --size 1024 --subscribers 10 --rate 200000 --duration "$secs"
loadgen "size_mix_10" --size-mix 1400 --subscribers 10 --rate 200000 --duration "$secs"
loadgen "topics_10000" --size 64 --topics 10000 --subscribers 1 --rate 1000000 --duration "$secs"
loadgen "latency_100k" --size 64 --subscribers 1 --rate 100000 --duration "$secs"
loadgen "latency_1M" --size 64 --subscribers 1 --rate 1000000 --duration "$secs"

build/apps/ringcast stats -f rc-bench-app >"$outdir/ringcastd-stats.txt" 2>&1 || true
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" || rc_die "ringcastd did not exit cleanly"
unset 'pids[-1]'

# ---- the peers, on loopback with the same shapes
if (( peers )); then
    rm -f "$outdir/peers.jsonl"
    if (( quick )); then "$top/scripts/bench-peers.sh" --quick --out "$outdir"; else "$top/scripts/bench-peers.sh" --out "$outdir"; fi
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
/usr/bin/python3 "$top/scripts/bench-report.py" --dir "$outdir" || rc_warn "report failed (python3-matplotlib missing?)"
rc_say "results: $results, $outdir/results.md, $outdir/latency.png"
