#!/usr/bin/env bash
# MQTT fan-out on the veth test bed (issue 14): ringcastd serving MQTT 3.1.1
# over TCP-lite, Mosquitto, and nats-server's own MQTT listener (with the
# JetStream it needs), each in the appliance namespace on 192.0.2.1:1883
# and pinned to core 1, driven by build-bench/bench/mqtt_driver (stock
# libmosquitto clients, one connection each) in the client namespace pinned
# to core 0. Cells: 1, 10 and 100 subscribers x QoS 0 and 1, 64 B payloads,
# one publisher, one topic. Every (repetition, cell) runs each system once,
# the order rotating, with that broker alone on core 1: ringcastd is stopped
# while the others run, and 192.0.2.1 belongs to the kernel only then
# (ringcastd owns it itself through net_af_packet).
#
# usage: scripts/bench-mqtt.sh [--count N] [--reps N] [--out DIR] [--systems "ringcast mosquitto nats"]
#   --count N    messages published per run (default 20000)
#   --reps N     repetitions of every cell (default 3)
#   --out DIR    where mqtt-fanout.jsonl goes (default bench/results)
#   --systems L  which systems, in their first order (default "ringcast mosquitto nats")
#
# Run as root. Builds ringcastd and mqtt_driver in build-bench. The bed is a
# private one (namespaces rcb-app-PID / rcb-cli-PID); it, every broker and
# the work folder are removed on exit, failure included.
#
# Broker CPU: Mosquitto and NATS sleep when idle, so their CPU seconds over
# the run (from /proc) say how busy their core was; ringcastd polls and
# reads as one full core whatever the load. The table gives deliveries per
# second (= per pinned core: each broker has exactly one) and per busy
# core-second.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=bench-mqtt.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

# shellcheck disable=SC2034 # read by rc_install_missing
rc_packages=(nats-server mosquitto libmosquitto-dev iproute2 util-linux ethtool)

count=20000 reps=3 outdir="$top/bench/results" systems="ringcast mosquitto nats"
while (( $# )); do
    case $1 in
        --count) count=${2:?--count needs a value}; shift ;;
        --reps) reps=${2:?--reps needs a value}; shift ;;
        --out) outdir=${2:?--out needs a folder}; shift ;;
        --systems) systems=${2:?--systems needs a list}; shift ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) rc_usage_error "unknown argument '$1'" ;;
    esac
    shift
done
rc_need_root
(( $(nproc) >= 2 )) || rc_die "needs 2 cores: the broker on core 1, the driver on core 0"

rc_install_missing
cd "$top"
rc_bench_build bench/mqtt_driver apps/ringcastd apps/ringcast
driver=$top/build-bench/bench/mqtt_driver
ringcastd=$top/build-bench/apps/ringcastd
ringcast=$top/build-bench/apps/ringcast
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
results=$outdir/mqtt-fanout.jsonl

tag=$$
export RC_NS_APP=rcb-app-$tag RC_NS_CLI=rcb-cli-$tag RC_IF_APP=rcba$tag RC_IF_CLI=rcbc$tag
addr=192.0.2.1
port=1883
prefix=rc-bench-$tag
vdev="net_af_packet on veth $RC_IF_APP (qpairs=1, framecnt=8192)"
machine="$(uname -n), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"

work=$(mktemp -d /tmp/ringcast-bench-mqtt.XXXXXX)
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
# 65536), with a 16 MiB send queue per connection as bench-tcp.sh has, queue
# entries for 100 subscribers' backlog (a PUBLISH is two: its header and the
# shared payload), and the same session windows as Mosquitto's below: 100
# in flight, 100 000 queued. nats-server keeps its own (1024 unacknowledged).
# Mosquitto gets TCP_NODELAY, as ringcastd sends at once.
rc_bench_config "$prefix" "$RC_IF_APP" 's/^send_queue = 1048576 /send_queue = 16777216 /' '^send_queue = 16777216' \
    's/^queue_entries = 262144 /queue_entries = 8388608 /' '^queue_entries = 8388608' \
    's/^max_in_flight = 32 /max_in_flight = 100 /' '^max_in_flight = 100 ' \
    's/^max_queued = 256 /max_queued = 100000 /' '^max_queued = 100000' \
    's/^queued_total = 4096 /queued_total = 16000000 /' '^queued_total = 16000000' \
    >"$work/ringcastd.toml"
cat >"$work/mosquitto.conf" <<EOF
listener $port $addr
allow_anonymous true
max_inflight_messages 100
max_queued_messages 100000
set_tcp_nodelay true
EOF
cat >"$work/nats.conf" <<EOF
server_name: bench
listen: "$addr:4222"
jetstream { store_dir: "$work/js" }
mqtt { listen: "$addr:$port" }
EOF
bed_up=1
"$top/scripts/testbed.sh" up >/dev/null
"$ringcastd" -c "$work/ringcastd.toml" --check >/dev/null || rc_die "ringcastd --check refused the bench config"

# Starts one broker (lib.sh's rc_broker_*), on $addr:$port.
start_broker() {
    local name=$1 log=$work/$1.log
    case $name in
        ringcast) rc_broker_start_ringcastd "$ringcastd" "$work/ringcastd.toml" "$log" ;;
        mosquitto) rc_broker_start_kernel "$addr" "$port" mosquitto "$log" mosquitto -c "$work/mosquitto.conf" ;;
        nats)
            rm -rf "$work/js"
            rc_broker_start_kernel "$addr" "$port" nats-server "$log" nats-server -c "$work/nats.conf"
            ;;
    esac
}

failures=0
# One run of one cell: a line in $results tagged with the system, the bed's vdev and the repetition.
run_cell() {
    local system=$1 subs=$2 qos=$3 rep=$4 status=0
    # Warm-up, not recorded: first connections, first allocations.
    cli taskset -c 0 "$driver" --host "$addr" --port "$port" --subscribers 10 --qos "$qos" --count 5000 \
        >/dev/null 2>&1 || rc_warn "$system: the warm-up run failed"
    cli taskset -c 0 "$driver" --host "$addr" --port "$port" --broker-pid "$rc_broker_pid" --subscribers "$subs" \
        --qos "$qos" --size 64 --count "$count" --timeout 60 >"$work/line.json" 2>"$work/driver.err" || status=$?
    if [[ ! -s $work/line.json ]]; then
        sed 's/^/    /' "$work/driver.err" >&2
        echo '{}' >"$work/line.json"
    fi
    # ringcastd's drops by reason, to say where what was lost went.
    echo '{}' >"$work/drops.json"
    if [[ $system == ringcast ]]; then
        "$ringcast" stats -f "$prefix" /ringcast/stats >"$work/drops.json" 2>/dev/null || echo '{}' >"$work/drops.json"
    fi
    (( status == 0 )) || { rc_warn "$system ${subs} subs QoS $qos rep $rep: the driver failed (exit $status)"; failures=$(( failures + 1 )); }
    /usr/bin/python3 -c 'import json, sys
r = json.loads(open(sys.argv[1]).read() or "{}")
st = json.loads(open(sys.argv[9]).read() or "{}").get("/ringcast/stats") or {}
if st:
    r["ringcast_drops"] = {k: v for k, v in st.get("drops", {}).items() if v}
r.update(system=sys.argv[2], vdev=sys.argv[3], rep=int(sys.argv[4]), machine=sys.argv[5], broker_core=1,
         driver_core=0, exit=int(sys.argv[6]), subscribers=int(sys.argv[7]), qos=int(sys.argv[8]))
print(json.dumps(r))' "$work/line.json" "$system" "$vdev" "$rep" "$machine" "$status" "$subs" "$qos" "$work/drops.json" \
        >>"$results"
    rm -f "$work/line.json"
}

read -r -a order <<<"$systems"
rc_say "ringcastd $(git -C "$top" rev-parse --short HEAD), $(mosquitto -h 2>&1 | head -1)," \
    "$(nats-server --version 2>&1 | head -1)"
rc_say "bed $RC_NS_APP/$RC_IF_APP <-> $RC_NS_CLI/$RC_IF_CLI, $vdev; brokers on core 1, driver on core 0"
lines_before=0
[[ -f $results ]] && lines_before=$(wc -l <"$results")
cell=0
for rep in $(seq "$reps"); do
    for subs in 1 10 100; do
        for qos in 0 1; do
            # Rotate the order every cell, so drift of the machine falls on every system alike.
            n=${#order[@]}
            for (( i = 0; i < n; i++ )); do
                system=${order[$(( (i + cell) % n ))]}
                rc_say "rep $rep/$reps: $system, $subs subscribers, QoS $qos"
                start_broker "$system"
                run_cell "$system" "$subs" "$qos" "$rep"
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
for r in rows:
    cells.setdefault((r["system"], r["subscribers"], r["qos"]), []).append(r)
def fmt(vals, f):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return "%s [%s-%s]" % (f(statistics.median(vals)), f(min(vals)), f(max(vals)))
k = lambda v: "%.0fk" % (v / 1e3)
us = lambda v: "%.0f" % v
print("median [min-max] over %d repetitions; deliveries/s is also per pinned core (one each)" %
      max(len(v) for v in cells.values()) if cells else "no results")
hdr = ("system", "subs", "QoS", "deliveries/s", "per busy core-s", "p50 us", "p99 us", "lost", "failed")
print("%-10s %4s %3s %-22s %-22s %-16s %-18s %6s %s" % hdr)
order = {"ringcast": 0, "mosquitto": 1, "nats": 2}
for key in sorted(cells, key=lambda c: (c[1], c[2], order.get(c[0], 9))):
    rs = cells[key]
    lat = lambda q: [r.get("latency_us", {}).get(q) for r in rs]
    print("%-10s %4d %3d %-22s %-22s %-16s %-18s %6d %d" % (key[0], key[1], key[2],
          fmt([r.get("deliveries_per_s") for r in rs], k), fmt([r.get("deliveries_per_broker_cpu_s") for r in rs], k),
          fmt(lat("p50"), us), fmt(lat("p99"), us),
          sum(r.get("expected", 0) - r.get("delivered", 0) for r in rs), sum(r["exit"] != 0 for r in rs)))
' | tee "$work/table.txt"
if (( failures != 0 )); then
    rc_warn "$failures runs failed (recorded with their exit status in $results)"
    exit 3
fi
