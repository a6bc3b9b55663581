#!/usr/bin/env bash
# The peers: NATS (nats-server), Redis pub/sub and Mosquitto from Debian's
# packages, each started on 127.0.0.1 with a private port and config in a
# temporary folder, pinned to core 1, and driven over loopback TCP by
# build/bench/peer_driver pinned to core 0, with the workload shapes of
# scripts/bench.sh. One JSON object per run is appended to OUT/peers.jsonl.
#
# usage: scripts/bench-peers.sh [--quick] [--out DIR]
#   --quick     about 0.3 s of publishing per run; no 1-to-1000, no 10 000 topics
#   --out DIR   where peers.jsonl goes (default bench/results)
#
# A run that fails is recorded as failed (a line with "failed") and the
# others go on; the exit status is then 3.
#
# Installs what is missing (as root). Every broker it starts is stopped on
# exit; brokers that apt started as services are left alone (other ports).
#
# Rows at rate 0 measure throughput: the driver keeps about 100 ms of the
# broker's deliveries in flight (peer_driver --window auto), so their
# latencies are queueing by design. The latency_* rows are paced.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=bench-peers.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

# Our own list for rc_install_missing; the build's packages are lib.sh's.
# shellcheck disable=SC2034 # read by rc_install_missing
rc_packages=(nats-server redis-server mosquitto iproute2 util-linux)

quick=0 outdir="$top/bench/results"
while (( $# )); do
    case $1 in
        --quick) quick=1 ;;
        --out) outdir=${2:?--out needs a folder}; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) rc_die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

rc_install_missing
cd "$top"
if [[ ! -f build/build.ninja ]]; then
    rc_configure build >/dev/null
fi
ninja -C build bench/peer_driver >/dev/null || rc_die "building bench/peer_driver failed"
driver=$top/build/bench/peer_driver
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
results=$outdir/peers.jsonl

machine="$(uname -n), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
if (( $(nproc) >= 2 )); then
    broker_pin=(taskset -c 1)
    driver_pin=(taskset -c 0)
else
    rc_warn "one core only: broker and driver share it, figures are not comparable"
    broker_pin=() driver_pin=()
fi
if (( quick )); then secs=0.3; else secs=3; fi
# A run that cannot finish in this many seconds per phase (connect, publish,
# drain) is cut short by the driver itself.
phase_timeout=20

work=$(mktemp -d /tmp/ringcast-peers.XXXXXX)
broker_pid=
cleanup() {
    local rc=$?
    set +e
    stop_broker
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

stop_broker() {
    [[ -n $broker_pid ]] || return 0
    rc_stop_child "$broker_pid"
    broker_pid=
}

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    local p
    for _ in $(seq 100); do
        # Below the ephemeral range (32768+), where the driver's own client
        # sockets from the previous run may still hold a port; any state counts.
        p=$(( 20000 + RANDOM % 12000 ))
        if [[ -z $(ss -Htan "sport = :$p") ]]; then
            echo "$p"
            return 0
        fi
    done
    rc_die "no free TCP port found"
}

# Starts one broker on core 1 with its own port and files under $work/NAME;
# sets broker_pid and port.
start_broker() {
    local name=$1 dir=$work/$1
    mkdir -p "$dir"
    port=$(free_port)
    case $name in
        nats)
            "${broker_pin[@]}" nats-server -a 127.0.0.1 -p "$port" >"$dir/log" 2>&1 &
            ;;
        redis)
            # No persistence; room for the 10 000-topic run's connections.
            "${broker_pin[@]}" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
                --dir "$dir" --maxclients 12000 >"$dir/log" 2>&1 &
            ;;
        mosquitto)
            # set_tcp_nodelay: NATS and Redis disable Nagle on their sockets;
            # Mosquitto does only when told, and with Nagle on its paced
            # latency has a 40 ms tail (delayed ACKs), not its own cost.
            cat >"$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence false
EOF
            "${broker_pin[@]}" mosquitto -c "$dir/mosquitto.conf" >"$dir/log" 2>&1 &
            ;;
    esac
    broker_pid=$!
    for _ in $(seq 100); do
        [[ -n $(ss -Htln "sport = :$port") ]] && return 0
        kill -0 "$broker_pid" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$dir/log" >&2
    rc_die "$name did not start listening on 127.0.0.1:$port"
}

version_of() {
    case $1 in
        nats) nats-server --version 2>&1 | head -1 ;;
        redis) redis-server --version 2>&1 | awk '{print $1, $2, $3}' ;;
        mosquitto) mosquitto -h 2>&1 | head -1 ;;
    esac
}

failures=0
notes=()
note() {
    notes+=("$1")
    rc_warn "$1"
}

# A run that failed is a line of its own in the results, so the report says
# so beside the runs that worked.
record_failure() {
    local system=$1 scenario=$2 why=$3
    /usr/bin/python3 -c 'import json, sys; print(json.dumps({"system": sys.argv[1], "scenario": sys.argv[2],
        "failed": sys.argv[3], "machine": sys.argv[4]}))' "$system" "$scenario" "$why" "$machine" >>"$results"
}

# run NAME SCENARIO [driver options...]: one run, one line in peers.jsonl;
# non-zero when it failed (counted and noted).
run() {
    local system=$1 scenario=$2; shift 2
    if ! kill -0 "$broker_pid" 2>/dev/null; then
        note "$system $scenario: not run, the broker is gone"
        record_failure "$system" "$scenario" "not run: the broker is gone"
        failures=$(( failures + 1 ))
        return 1
    fi
    local status=0
    "${driver_pin[@]}" "$driver" --system "$system" --port "$port" --broker-pid "$broker_pid" \
        --scenario "$scenario" --machine "$machine" --timeout "$phase_timeout" --json "$results" "$@" \
        2>&1 | sed 's/^/    /' || status=$?
    if (( status != 0 )); then
        note "$system $scenario: the driver failed (exit $status)"
        record_failure "$system" "$scenario" "the driver failed (exit $status)"
        failures=$(( failures + 1 ))
        return 1
    fi
}

# The latency target is met when the publisher reached 95 % of the rate;
# otherwise the line stands with the achieved rate, and a note says so.
check_rate() {
    local system=$1 scenario=$2 target=$3 got
    got=$(tail -n 1 "$results" | grep -o '"pub_msgs_per_s":[0-9.e+]*' | cut -d: -f2)
    [[ -n $got ]] || return 0
    if awk -v g="$got" -v t="$target" 'BEGIN { exit !(g < 0.95 * t) }'; then
        note "$system $scenario: did not keep up, achieved $(printf '%.0f' "$got") of $target msgs/s"
    fi
}

lines_before=0
[[ -f $results ]] && lines_before=$(wc -l <"$results")
for system in nats redis mosquitto; do
    rc_say "$system: $(version_of "$system"), core 1"
    start_broker "$system"
    # Warm-up, not recorded: first allocations, first connections.
    if ! "${driver_pin[@]}" "$driver" --system "$system" --port "$port" --subscribers 10 --count 20000 \
        --timeout "$phase_timeout" --json /dev/null --quiet; then
        note "$system: the warm-up run failed; its scenarios are not run"
        record_failure "$system" "warm-up" "the warm-up run failed"
        failures=$(( failures + 1 ))
        stop_broker
        continue
    fi

    run "$system" 1to1_64B --payload 64 --subscribers 1 --duration "$secs" || true
    run "$system" fanout_64B_10 --payload 64 --subscribers 10 --duration "$secs" || true
    run "$system" fanout_64B_100 --payload 64 --subscribers 100 --duration "$secs" || true
    if (( ! quick )); then
        run "$system" fanout_64B_1000 --payload 64 --subscribers 1000 --duration "$secs" || true
    fi
    run "$system" fanout_1KB_10 --payload 1024 --subscribers 10 --duration "$secs" || true
    run "$system" size_mix_10 --size-mix 1400 --subscribers 10 --duration "$secs" || true
    if (( quick )); then
        note "$system topics_10000: skipped with --quick (10 000 connections take over a second to set up)"
    else
        # Optional: a broker that cannot take 10 000 connections is noted, not fatal.
        if ! run "$system" topics_10000 --payload 64 --topics 10000 --subscribers 1 --duration "$secs"; then
            failures=$(( failures - 1 ))
            note "$system topics_10000: skipped, see the driver's message above"
        fi
    fi
    if run "$system" latency_100k --payload 64 --subscribers 1 --rate 100000 --duration "$secs"; then
        check_rate "$system" latency_100k 100000
    fi
    if run "$system" latency_1M --payload 64 --subscribers 1 --rate 1000000 --duration "$secs"; then
        check_rate "$system" latency_1M 1000000
    fi
    stop_broker
done

lines_after=$(wc -l <"$results")
rc_say "$(( lines_after - lines_before )) results appended to $results"
# Side by side, from the lines this run wrote.
tail -n "$(( lines_after - lines_before ))" "$results" | /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print("%-10s %-16s %12s %14s %10s %10s %10s %6s" % ("system", "scenario", "pub msg/s", "delivered/s",
      "p50 us", "p99 us", "p99.9 us", "cores"))
for r in rows:
    if "failed" in r:
        print("%-10s %-16s failed: %s" % (r["system"], r["scenario"], r["failed"]))
        continue
    print("%-10s %-16s %12.0f %14.0f %10.1f %10.1f %10.1f %6.2f" % (r["system"], r["scenario"],
          r["pub_msgs_per_s"], r["delivered_msgs_per_s"], r["p50_us"], r["p99_us"], r["p999_us"], r["cpu_cores"]))
' || true
for n in "${notes[@]}"; do rc_say "note: $n"; done
# Exit 3: every result was written, failed runs as such, but some failed.
if (( failures != 0 )); then
    rc_warn "$failures runs failed (recorded as failed in $results)"
    exit 3
fi
