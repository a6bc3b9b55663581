#!/usr/bin/env bash
# TCP fan-out on the veth test bed (issue 13): ringcastd serving RCP/1 over
# TCP-lite, NATS (nats-server) and Redis pub/sub, each in the appliance
# namespace on 192.0.2.1 and pinned to core 1, driven by kernel TCP clients
# (build-bench/bench/peer_driver) in the client namespace pinned to core 0.
# Cells: 1, 10 and 100 subscriber connections x 64 B and 1 KB payloads, one
# publisher connection, one topic, publishing as fast as the broker takes
# it (peer_driver --window auto). Every (repetition, cell) runs each system
# once, the order rotating, with that broker alone on core 1: ringcastd is
# stopped while NATS or Redis runs, and 192.0.2.1 belongs to the kernel only
# while they do (ringcastd owns it itself through net_af_packet).
#
# usage: scripts/bench-tcp.sh [--secs S] [--reps N] [--out DIR] [--systems "ringcast nats redis"]
#   --secs S     seconds of publishing per run (default 2)
#   --reps N     repetitions of every cell (default 3)
#   --out DIR    where tcp-fanout.jsonl goes (default bench/results)
#   --systems L  which systems, in their first order (default "ringcast nats redis")
#
# Run as root. Builds ringcastd and peer_driver in build-bench. The bed is a
# private one (namespaces rcb-app-PID / rcb-cli-PID); it, every broker and
# the work folder are removed on exit, failure included.
#
# Broker CPU: NATS and Redis sleep when idle, so their CPU seconds over the
# run (from /proc) say how busy their core was; ringcastd polls and reads as
# one full core whatever the load. The table gives deliveries per second
# (= per pinned core: each broker has exactly one) and per busy core-second.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=bench-tcp.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

# shellcheck disable=SC2034 # read by rc_install_missing
rc_packages=(nats-server redis-server iproute2 util-linux ethtool)

secs=2 reps=3 outdir="$top/bench/results" systems="ringcast nats redis"
while (( $# )); do
    case $1 in
        --secs) secs=${2:?--secs needs a value}; shift ;;
        --reps) reps=${2:?--reps needs a value}; shift ;;
        --out) outdir=${2:?--out needs a folder}; shift ;;
        --systems) systems=${2:?--systems needs a list}; shift ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) rc_usage_error "unknown argument '$1'" ;;
    esac
    shift
done
rc_need_root
(( $(nproc) >= 2 )) || rc_die "needs 2 cores: the broker on core 1, the driver on core 0"

rc_install_missing
cd "$top"
rc_bench_build bench/peer_driver apps/ringcastd
driver=$top/build-bench/bench/peer_driver
ringcastd=$top/build-bench/apps/ringcastd
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
results=$outdir/tcp-fanout.jsonl

tag=$$
export RC_NS_APP=rcb-app-$tag RC_NS_CLI=rcb-cli-$tag RC_IF_APP=rcba$tag RC_IF_CLI=rcbc$tag
addr=192.0.2.1
prefix=rc-bench-$tag
vdev="net_af_packet on veth $RC_IF_APP (qpairs=1, framecnt=8192)"
machine="$(uname -n), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
phase_timeout=20

work=$(mktemp -d /tmp/ringcast-bench-tcp.XXXXXX)
bed_up=0
cleanup() {
    local rc=$?
    set +e
    rc_broker_stop
    (( bed_up )) && "$top/scripts/testbed.sh" down >/dev/null
    rm -rf "$work" "/var/run/dpdk/$prefix"
    rm -f /dev/hugepages/"$prefix"map_* 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cli() { ip netns exec "$RC_NS_CLI" "$@"; }

# ringcastd's config (rc_bench_config: core 1, nothing retained, rings of
# 65536, as TCP-lite's 64 B bursts need), and a send queue of 16 MiB per
# connection (default 1 MiB): the driver's window keeps at least 4096
# deliveries in flight, 4 MiB of 1 KB messages on one connection, and NATS
# and Redis buffer that much in user space; with 1 MiB ringcastd drops them
# (tcp_slow_consumer) and the driver's window then stalls a second before
# writing them off.
rc_bench_config "$prefix" "$RC_IF_APP" 's/^send_queue = 1048576 /send_queue = 16777216 /' '^send_queue = 16777216' \
    >"$work/ringcastd.toml"
bed_up=1
"$top/scripts/testbed.sh" up >/dev/null
"$ringcastd" -c "$work/ringcastd.toml" --check >/dev/null || rc_die "ringcastd --check refused the bench config"

# Starts one broker (lib.sh's rc_broker_*) and sets its port.
start_broker() {
    local name=$1 log=$work/$1.log
    case $name in
        ringcast)
            port=7700
            rc_broker_start_ringcastd "$ringcastd" "$work/ringcastd.toml" "$log"
            ;;
        nats)
            port=4222
            rc_broker_start_kernel "$addr" "$port" nats-server "$log" nats-server -a "$addr" -p "$port"
            ;;
        redis)
            port=6379
            rc_broker_start_kernel "$addr" "$port" redis-server "$log" redis-server --bind "$addr" --port "$port" \
                --protected-mode no --save '' --appendonly no --dir "$work"
            ;;
    esac
}

failures=0
record_failure() {
    /usr/bin/python3 -c 'import json, sys; print(json.dumps({"system": sys.argv[1], "scenario": sys.argv[2],
        "failed": sys.argv[3], "machine": sys.argv[4]}))' "$@" "$machine" >>"$results"
}

# One run of one cell: a line in $results tagged with the bed's vdev.
run_cell() {
    local system=$1 subs=$2 payload=$3 rep=$4 scenario status=0
    scenario="tcp_${subs}subs_${payload}B"
    # Warm-up, not recorded: first connections, first allocations.
    if ! cli taskset -c 0 "$driver" --system "$system" --host "$addr" --port "$port" --subscribers 10 \
        --count 20000 --timeout "$phase_timeout" --json /dev/null --quiet; then
        rc_warn "$system: the warm-up run failed"
    fi
    cli taskset -c 0 "$driver" --system "$system" --host "$addr" --port "$port" --broker-pid "$rc_broker_pid" \
        --subscribers "$subs" --payload "$payload" --duration "$secs" --timeout "$phase_timeout" \
        --scenario "$scenario" --machine "$machine" --json "$work/line.json" 2>&1 | sed 's/^/    /' \
        || status=$?
    if (( status != 0 )) || [[ ! -s $work/line.json ]]; then
        rc_warn "$system $scenario rep $rep: the driver failed (exit $status)"
        record_failure "$system" "$scenario" "the driver failed (exit $status)"
        failures=$(( failures + 1 ))
    else
        /usr/bin/python3 -c 'import json, sys
r = json.loads(open(sys.argv[1]).read())
r.update(vdev=sys.argv[2], rep=int(sys.argv[3]), broker_core=1, driver_core=0)
print(json.dumps(r))' "$work/line.json" "$vdev" "$rep" >>"$results"
    fi
    rm -f "$work/line.json"
}

read -r -a order <<<"$systems"
rc_say "ringcastd $(git -C "$top" rev-parse --short HEAD), $(nats-server --version 2>&1 | head -1)," \
    "$(redis-server --version | awk '{print $1, $2, $3}')"
rc_say "bed $RC_NS_APP/$RC_IF_APP <-> $RC_NS_CLI/$RC_IF_CLI, $vdev; brokers on core 1, driver on core 0"
lines_before=0
[[ -f $results ]] && lines_before=$(wc -l <"$results")
cell=0
for rep in $(seq "$reps"); do
    for subs in 1 10 100; do
        for payload in 64 1024; do
            # Rotate the order every cell, so drift of the machine (other
            # load, thermal) falls on every system alike.
            n=${#order[@]}
            for (( i = 0; i < n; i++ )); do
                system=${order[$(( (i + cell) % n ))]}
                rc_say "rep $rep/$reps: $system, $subs subscribers, $payload B"
                start_broker "$system"
                run_cell "$system" "$subs" "$payload" "$rep"
                rc_broker_stop
            done
            cell=$(( cell + 1 ))
        done
    done
done

lines_after=$(wc -l <"$results")
rc_say "$(( lines_after - lines_before )) results appended to $results"
tail -n "$(( lines_after - lines_before ))" "$results" | /usr/bin/python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
cells = {}
failed = []
for r in rows:
    if "failed" in r:
        failed.append(r)
        continue
    cells.setdefault((r["system"], r["subscribers"], r["payload_bytes"]), []).append(r)
def fmt(vals, f):
    m = statistics.median(vals)
    return "%s [%s-%s]" % (f(m), f(min(vals)), f(max(vals)))
k = lambda v: "%.0fk" % (v / 1e3)
us = lambda v: "%.0f" % v
c2 = lambda v: "%.2f" % v
print("median [min-max] over %d repetitions; deliveries/s is also per pinned core (one each)" %
      max(len(v) for v in cells.values()) if cells else "no results")
hdr = ("system", "subs", "payload", "deliveries/s", "busy cores", "per busy core-s", "p50 us", "p99 us", "lost")
print("%-9s %4s %7s %-22s %-18s %-22s %-16s %-20s %s" % hdr)
order = {"ringcast": 0, "nats": 1, "redis": 2}
for key in sorted(cells, key=lambda c: (c[1], c[2], order.get(c[0], 9))):
    rs = cells[key]
    rate = [r["delivered_msgs_per_s"] for r in rs]
    cores = [r["cpu_cores"] for r in rs]
    per_core = [r["delivered_msgs_per_s"] / r["cpu_cores"] if r["cpu_cores"] > 0 else float("nan") for r in rs]
    print("%-9s %4d %6dB %-22s %-18s %-22s %-16s %-20s %d" % (key[0], key[1], key[2], fmt(rate, k), fmt(cores, c2),
          fmt(per_core, k), fmt([r["p50_us"] for r in rs], us), fmt([r["p99_us"] for r in rs], us),
          sum(r["lost"] for r in rs)))
for r in failed:
    print("%-9s %-22s failed: %s" % (r["system"], r["scenario"], r["failed"]))
' | tee "$work/table.txt"
if (( failures != 0 )); then
    rc_warn "$failures runs failed (recorded as failed in $results)"
    exit 3
fi
