#!/usr/bin/env bash
# ringcast-bridge on the veth test bed (issue 15): how many NATS messages
# one bridge core forwards into ringcastd, and the latency it adds.
#
#   client namespace, core 0:  nats-server (one node, JetStream on), the
#                              publisher, ringcast-bridge, one kernel UDP
#                              subscriber on ringcast (`ringcast sub`)
#   appliance namespace, core 1: ringcastd (net_af_packet on the veth)
#
# Throughput cells: {core NATS at appliance.qos 0, core NATS at qos 2,
# JetStream at qos 2} x {64 B, 1 KB}. Core NATS: the publisher sends --count
# messages as fast as the server takes them while the bridge forwards; the
# time is from the bridge's first received message to its last forwarded
# one. JetStream: the stream is loaded first, then the bridge starts and
# drains it (deliver all), so the publisher is not what is measured. Each
# cell gives messages/s and, from /proc, the bridge's CPU seconds: messages
# per bridge core-second is the figure for capacity (the bridge shares
# core 0 with the server and the clients here, so its wall rate is lower).
# Every cell runs --reps times, the modes rotating; medians with min-max.
#
# Latency: nats_driver lat publishes at --lat-rate (default 10000/s) with
# the send time in the payload, and receives each message both from a NATS
# subscription and from ringcastd through the bridge (core NATS, qos 0 and
# qos 2): p50/p99 of each path, in one run, the same messages.
#
# usage: scripts/bench-bridge.sh [--count N] [--reps N] [--lat-count N] [--lat-rate R] [--out DIR]
#   --count N      messages per throughput run (default 200000)
#   --reps N       repetitions of every cell (default 3)
#   --lat-count N  messages per latency run (default 20000)
#   --out DIR      where bridge.jsonl goes (default bench/results)
#
# Run as root. Builds in build-bench. The bed is a private one (rcbb-*-PID);
# it, every process and the work folder are removed on exit, failure included.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=bench-bridge.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

# shellcheck disable=SC2034 # read by rc_install_missing
rc_packages=(nats-server libnats-dev iproute2 util-linux)

count=200000 reps=3 lat_count=20000 lat_rate=10000 outdir="$top/bench/results"
while (( $# )); do
    case $1 in
        --count) count=${2:?--count needs a value}; shift ;;
        --reps) reps=${2:?--reps needs a value}; shift ;;
        --lat-count) lat_count=${2:?--lat-count needs a value}; shift ;;
        --lat-rate) lat_rate=${2:?--lat-rate needs a value}; shift ;;
        --out) outdir=${2:?--out needs a folder}; shift ;;
        -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) rc_usage_error "unknown argument '$1'" ;;
    esac
    shift
done
rc_need_root
(( $(nproc) >= 2 )) || rc_die "needs 2 cores: ringcastd on core 1, the rest on core 0"

rc_install_missing
cd "$top"
rc_bench_build apps/ringcastd apps/ringcast apps/ringcast-bridge tests/support/nats_driver
bin=$top/build-bench
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
results=$outdir/bridge.jsonl

tag=$$
export RC_NS_APP=rcbb-app-$tag RC_NS_CLI=rcbb-cli-$tag RC_IF_APP=rcbba$tag RC_IF_CLI=rcbbc$tag
addr=192.0.2.1
prefix=rc-bench-bridge-$tag
nats_url=nats://127.0.0.1:24222
vdev="net_af_packet on veth $RC_IF_APP (qpairs=1, framecnt=8192)"
machine="$(uname -n), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"

work=$(mktemp -d /tmp/ringcast-bench-bridge.XXXXXX)
pids=() bed_up=0
cleanup() {
    local rc=$? p
    set +e
    for p in "${pids[@]}"; do rc_stop_child "$p"; done
    (( bed_up )) && "$top/scripts/testbed.sh" down >/dev/null
    rm -rf "$work" "/var/run/dpdk/$prefix"
    rm -f /dev/hugepages/"$prefix"map_* 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Background processes are started with ip netns exec and taskset directly,
# never through a function: $! must be the process itself, to stop it.
cli() { ip netns exec "$RC_NS_CLI" "$@"; }

# ringcastd: rc_bench_config (core 1, nothing retained, rings of 65536: a
# datagram of batched PUBs is many ring items).
rc_bench_config "$prefix" "$RC_IF_APP" >"$work/ringcastd.toml"
bed_up=1
"$top/scripts/testbed.sh" up >/dev/null

ip netns exec "$RC_NS_APP" taskset -c 1 "$bin/apps/ringcastd" -c "$work/ringcastd.toml" >"$work/ringcastd.log" 2>&1 &
pids+=($!)
for _ in $(seq 400); do grep -q '^ringcastd: ready$' "$work/ringcastd.log" && break; sleep 0.05; done
grep -q '^ringcastd: ready$' "$work/ringcastd.log" || { tail "$work/ringcastd.log" >&2; rc_die "ringcastd did not start"; }

cat >"$work/nats.conf" <<EOF
listen: 127.0.0.1:24222
jetstream { store_dir: "$work/js", max_memory_store: 256MB, max_file_store: 4GB }
EOF
ip netns exec "$RC_NS_CLI" taskset -c 0 nats-server -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [[ -n $(cli ss -Htln "sport = :24222") ]] && break; sleep 0.05; done
[[ -n $(cli ss -Htln "sport = :24222") ]] || { tail "$work/nats.log" >&2; rc_die "nats-server did not start"; }

driver() { cli taskset -c 0 "$bin/tests/support/nats_driver" "$@"; }

# Waits, on one connection to the bridge's stats socket, until COUNT
# messages are done (forwarded or given up; core NATS: or dropped, once the
# publisher PUB_PID has exited and every message received is settled), polling every
# 10 ms, at most 120 s. Prints "T_FIRST T_LAST FORWARDED NATS_DROPPED
# GIVEN_UP": the wall clock at the first message received and at the end.
wait_done() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, os, socket, sys, time
sock, count, pub_pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
    s.settimeout(2)
    s.connect(sock)
    s.recv(16384)
    def stats():
        s.send(b"/bridge/stats")
        return json.loads(s.recv(16384))["/bridge/stats"]
    t_first, deadline = None, time.monotonic() + 120
    while True:
        st = stats()
        now = time.time()
        if t_first is None and st["received"] > 0:
            t_first = now
        done = st["forwarded"] + st["given_up"]
        if done >= count or time.monotonic() > deadline:
            break
        settled = (st["forwarded"] + st["given_up"] + st["refused"] + st["unmappable"] + st["send_failed"]
                   >= st["received"])
        if pub_pid and not alive(pub_pid) and st["received"] + st["nats_dropped"] >= count and settled:
            break
        time.sleep(0.01)
print(t_first or now, now, st["forwarded"], st["nats_dropped"], st["given_up"])
EOF
}

cpu_s() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }

# A bridge config for MODE (core0, core2, js) forwarding SUBJECT.
bridge_config() {
    local mode=$1 subject=$2 qos=2
    [[ $mode == core0 ]] && qos=0
    cat <<EOF
[bridge]
stats_socket = "$work/bridge.sock"
[nats]
servers = ["$nats_url"]
[appliance]
address = "$addr"
local_port = 47700
qos = $qos
max_in_flight = 4096
ack_timeout_ms = 200
[[forward]]
subject = "$subject"
topic_prefix = "bench"
EOF
    if [[ $mode == js ]]; then
        printf '[jetstream]\nstream = "B%s"\ndurable = "bench"\n' "$run_id"
    fi
}

start_bridge() {
    ip netns exec "$RC_NS_CLI" taskset -c 0 "$bin/apps/ringcast-bridge" -c "$work/bridge.toml" >"$work/bridge.log" 2>&1 &
    bridge_pid=$!
    pids+=("$bridge_pid")
    for _ in $(seq 200); do grep -q forwarding "$work/bridge.log" && return 0; sleep 0.05; done
    cat "$work/bridge.log" >&2
    rc_die "ringcast-bridge did not start"
}

stop_bridge() { rc_stop_child "$bridge_pid"; }

run_id=0
# One throughput run: appends a line to $results.
run_cell() {
    local mode=$1 size=$2 rep=$3 subject t0 t1 c0 c1 fwd dropped given_up sub_pid pub_pid=
    run_id=$(( run_id + 1 ))
    subject="b$run_id.x"
    bridge_config "$mode" "b$run_id.>" >"$work/bridge.toml"
    rm -f "$work/bridge.sock"
    if [[ $mode == js ]]; then
        driver stream --servers "$nats_url" --name "B$run_id" --subject "b$run_id.>" --replicas 1 >/dev/null
        driver pub --servers "$nats_url" --subject "$subject" --count "$count" --size "$size" --js --async >/dev/null
    fi
    # One UDP subscriber on ringcast, counting what arrives.
    ip netns exec "$RC_NS_CLI" taskset -c 0 "$bin/apps/ringcast" sub -s "$addr" -t 5 "bench/#" >/dev/null 2>"$work/sub.txt" &
    sub_pid=$!
    pids+=("$sub_pid")
    sleep 0.2
    start_bridge
    if [[ $mode != js ]]; then
        ip netns exec "$RC_NS_CLI" taskset -c 0 "$bin/tests/support/nats_driver" pub --servers "$nats_url" --subject "$subject" --count "$count" --size "$size" >/dev/null &
        pub_pid=$!
    fi
    c0=$(cpu_s "$bridge_pid")
    read -r t0 t1 fwd dropped given_up < <(wait_done "$work/bridge.sock" "$count" "${pub_pid:-0}")
    c1=$(cpu_s "$bridge_pid")
    stop_bridge
    [[ -z $pub_pid ]] || wait "$pub_pid" 2>/dev/null || rc_warn "$mode $size B: the publisher failed"
    wait "$sub_pid" 2>/dev/null || true
    /usr/bin/python3 - "$mode" "$size" "$rep" "$count" "$fwd" "$dropped" "$given_up" "$t0" "$t1" \
        "$c0" "$c1" "$(cat "$work/sub.txt")" "$vdev" "$machine" >>"$results" <<'EOF'
import json, re, sys
mode, size, rep, count, fwd, dropped, given_up = sys.argv[1], *map(int, sys.argv[2:8])
t0, t1, c0, c1 = map(float, sys.argv[8:12])
m = re.search(r"(\d+) messages", sys.argv[12])
wall = max(t1 - t0, 1e-9)
print(json.dumps({"bench": "bridge", "mode": mode, "payload_bytes": size, "rep": rep, "count": count,
                  "forwarded": fwd, "nats_dropped": dropped, "given_up": given_up,
                  "subscriber_received": int(m.group(1)) if m else None,
                  "wall_s": wall, "msgs_per_s": fwd / wall, "bridge_cpu_s": c1 - c0,
                  "msgs_per_bridge_core_s": fwd / (c1 - c0) if c1 > c0 else None,
                  "vdev": sys.argv[13], "machine": sys.argv[14], "bridge_core": 0, "ringcastd_core": 1}))
EOF
}

rc_say "ringcast $(git -C "$top" rev-parse --short HEAD), $(nats-server --version 2>&1 | head -1), libnats $(dpkg-query -W -f '${Version}' libnats-dev 2>/dev/null)"
rc_say "bed $RC_NS_APP/$RC_IF_APP <-> $RC_NS_CLI/$RC_IF_CLI, $vdev; ringcastd on core 1, NATS, bridge and clients on core 0"
lines_before=0
[[ -f $results ]] && lines_before=$(wc -l <"$results")
modes=(core0 core2 js)
cell=0
for rep in $(seq "$reps"); do
    for size in 64 1024; do
        for (( i = 0; i < ${#modes[@]}; i++ )); do
            mode=${modes[$(( (i + cell) % ${#modes[@]} ))]}
            rc_say "rep $rep/$reps: $mode, $size B, $count messages"
            run_cell "$mode" "$size" "$rep"
        done
        cell=$(( cell + 1 ))
    done
done

# Latency: the same messages to a NATS subscriber and through the bridge.
for mode in core0 core2; do
    run_id=$(( run_id + 1 ))
    bridge_config "$mode" "lat$run_id.>" >"$work/bridge.toml"
    rm -f "$work/bridge.sock"
    start_bridge
    rc_say "latency, bridge in $mode: $lat_count messages at $lat_rate/s, 64 B"
    driver lat --servers "$nats_url" --subject "lat$run_id.x" --ringcast "$addr:7700" --topic "bench/x" \
        --count "$lat_count" --rate "$lat_rate" --size 64 | tee "$work/lat.txt" | sed 's/^/    /'
    stop_bridge
    /usr/bin/python3 - "$mode" "$lat_rate" "$vdev" "$machine" "$work/lat.txt" >>"$results" <<'EOF'
import json, re, sys
out = {"bench": "bridge_latency", "mode": sys.argv[1], "rate": int(sys.argv[2]), "payload_bytes": 64,
       "vdev": sys.argv[3], "machine": sys.argv[4]}
for line in open(sys.argv[5]):
    m = re.match(r"(nats|ringcast) subscriber.*received (\d+) of (\d+)(?:\s+p50 ([\d.]+) us\s+p99 ([\d.]+) us"
                 r"\s+max ([\d.]+) us)?", line)
    if m:
        k = m.group(1)
        out[k + "_received"] = int(m.group(2))
        if m.group(4):
            out.update({k + "_p50_us": float(m.group(4)), k + "_p99_us": float(m.group(5)),
                        k + "_max_us": float(m.group(6))})
print(json.dumps(out))
EOF
done

lines_after=$(wc -l <"$results")
rc_say "$(( lines_after - lines_before )) results appended to $results"
tail -n "$(( lines_after - lines_before ))" "$results" | /usr/bin/python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
def fmt(vals, f):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return "%s [%s-%s]" % (f(statistics.median(vals)), f(min(vals)), f(max(vals)))
k = lambda v: "%.0fk" % (v / 1e3)
print("median [min-max]; msgs/s is wall time with the bridge sharing core 0, per core-s is its own CPU")
print("%-6s %7s %-22s %-22s %-8s %-8s %s" % ("mode", "payload", "msgs/s", "msgs per bridge core-s", "dropped",
      "given up", "subscriber got"))
cells = {}
for r in rows:
    if r["bench"] == "bridge":
        cells.setdefault((r["mode"], r["payload_bytes"]), []).append(r)
for key in sorted(cells, key=lambda c: (c[1], c[0])):
    rs = cells[key]
    print("%-6s %6dB %-22s %-22s %-8d %-8d %s" % (key[0], key[1], fmt([r["msgs_per_s"] for r in rs], k),
          fmt([r["msgs_per_bridge_core_s"] for r in rs], k), sum(r["nats_dropped"] for r in rs),
          sum(r["given_up"] for r in rs), [r["subscriber_received"] for r in rs]))
for r in rows:
    if r["bench"] == "bridge_latency":
        print("latency %s at %d/s: NATS subscriber p50 %s p99 %s us; ringcast via bridge p50 %s p99 %s us" % (
              r["mode"], r["rate"], r.get("nats_p50_us"), r.get("nats_p99_us"),
              r.get("ringcast_p50_us"), r.get("ringcast_p99_us")))
'
