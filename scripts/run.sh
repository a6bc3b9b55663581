#!/usr/bin/env bash
# Sets everything up and runs ringcast.
#
#   scripts/run.sh               demo on the local test bed (veth + namespaces)
#   scripts/run.sh CONFIG.toml   check CONFIG, then serve it in the foreground
#                                (a host with a NIC bound to DPDK)
#
# As root on Debian 12: installs what is missing, builds (no tests).
set -euo pipefail
cd "$(dirname "$0")/.."
rc_prog=run.sh
. scripts/lib.sh

build=build
ringcastd=$build/apps/ringcastd
ringcast=$build/apps/ringcast
prefix="rc-testbed"   # file_prefix in config/testbed.toml
server=192.0.2.1:7700 # the appliance's address in config/testbed.toml
topic=demo/topic
count=5

usage() {
    cat <<EOF
usage: $0 [CONFIG.toml]

  without CONFIG  bring up the test bed (scripts/testbed.sh), run ringcastd on
                  it with config/testbed.toml, publish $count messages to a
                  subscriber, replay them to a late joiner, drive it with
                  the load generator, show telemetry, stop and tear
                  everything down
  with CONFIG     ringcastd --check -c CONFIG, then ringcastd -c CONFIG in
                  the foreground (Ctrl-C stops it)
EOF
}

case ${1:-} in
    -h|--help) usage; exit 0 ;;
esac
(( $# <= 1 )) || { usage >&2; exit 2; }

rc_need_root
rc_install_missing
rc_configure "$build"
ninja -C "$build" apps/ringcastd apps/ringcast apps/ringcast-loadgen

if (( $# == 1 )); then
    [[ -r $1 ]] || rc_die "cannot read config $1"
    "$ringcastd" --check -c "$1"
    exec "$ringcastd" -c "$1"
fi

# ---- demo on the test bed ------------------------------------------------

work=$(mktemp -d -t ringcast-demo.XXXXXX)
daemon_log=$work/ringcastd.log
sub_log=$work/sub.log
late_log=$work/late.log
tcp_log=$work/tcp-sub.log
lg_prefix=rc-demo-loadgen
daemon_pid=
sub_pid=
tcp_pid=

# Everything made below is undone here, whatever happens.
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local rc=$?
    set +e
    if (( rc != 0 )) && [[ -s $daemon_log ]]; then
        echo "--- last lines of the ringcastd log:"
        tail -n 30 "$daemon_log"
    fi
    local p
    for p in $sub_pid $tcp_pid; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        fi
    done
    if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
        rc_say "stopping ringcastd (pid $daemon_pid)"
        kill -TERM "$daemon_pid" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$daemon_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$daemon_pid" 2>/dev/null
        wait "$daemon_pid" 2>/dev/null
    fi
    scripts/testbed.sh down >/dev/null
    rm -rf "/var/run/dpdk/$prefix" "/var/run/dpdk/$lg_prefix" "$work"
    rm -f /dev/hugepages/"$prefix"map_* 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*"; }

# Prints /ringcast/stats key $1, or nothing when it cannot be read.
stat_value() {
    "$ringcast" stats --json -f "$prefix" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("/ringcast/stats", d)
print(d.get(sys.argv[1], ""))' "$1" 2>/dev/null || true
}

step "test bed"
scripts/testbed.sh up

step "ringcastd -c config/testbed.toml (in rc-app, log $daemon_log)"
ip netns exec rc-app "$ringcastd" -c config/testbed.toml >"$daemon_log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 200); do
    grep -q '^ringcastd: ready' "$daemon_log" && break
    kill -0 "$daemon_pid" 2>/dev/null || rc_die "ringcastd exited before it was ready"
    sleep 0.1
done
grep -q '^ringcastd: ready' "$daemon_log" || rc_die "ringcastd not ready after 20 s"
sed 's/^/  | /' "$daemon_log"

step "ping 192.0.2.1 from rc-cli (ARP and ICMP answered by the appliance)"
ip netns exec rc-cli ping -c 3 -W 1 "${server%:*}" || rc_die "192.0.2.1 does not answer ping"

step "ringcast sub $topic (in rc-cli, background)"
subs_before=$(stat_value subscriptions)
ip netns exec rc-cli "$ringcast" sub -s "$server" -n "$count" -t 5 "$topic" >"$sub_log" 2>&1 &
sub_pid=$!
# Publish only once the subscription is active (else the first messages
# would find nobody); give up waiting after 3 s and publish anyway.
for _ in $(seq 1 30); do
    now=$(stat_value subscriptions)
    [[ -n $now && -n $subs_before && $now -gt $subs_before ]] && break
    sleep 0.1
done

step "ringcast pub -n $count $topic hello (in rc-cli)"
ip netns exec rc-cli "$ringcast" pub -s "$server" -n "$count" "$topic" hello || rc_die "ringcast pub failed"

sub_rc=0
wait "$sub_pid" || sub_rc=$?
sub_pid=
step "what the subscriber printed (exit status $sub_rc)"
sed 's/^/  | /' "$sub_log"
received=$(grep -c hello "$sub_log" || true)

step "late joiner: ringcast sub --replay-from 1 $topic (retention keeps 1024 per topic)"
ip netns exec rc-cli "$ringcast" sub -s "$server" --replay-from 1 -n "$count" -t 3 "$topic" >"$late_log" 2>&1 ||
    true
sed 's/^/  | /' "$late_log"
replayed=$(grep -c hello "$late_log" || true)

step "over TCP-lite: ringcast sub --tcp $topic/tcp and ringcast pub --tcp (in rc-cli)"
subs_before=$(stat_value subscriptions)
ip netns exec rc-cli "$ringcast" sub --tcp -s "$server" -n "$count" -t 5 "$topic/tcp" >"$tcp_log" 2>&1 &
tcp_pid=$!
for _ in $(seq 1 30); do
    now=$(stat_value subscriptions)
    [[ -n $now && -n $subs_before && $now -gt $subs_before ]] && break
    sleep 0.1
done
ip netns exec rc-cli "$ringcast" pub --tcp -s "$server" -n "$count" "$topic/tcp" hello || rc_die "ringcast pub --tcp failed"
tcp_rc=0
wait "$tcp_pid" || tcp_rc=$?
tcp_pid=
sed 's/^/  | /' "$tcp_log"
received_tcp=$(grep -c hello "$tcp_log" || true)

# The DPDK load generator on the client end of the veth (af_packet), pinned
# to the other core where there is one: the appliance polls on core 0.
lg_cpu=$(( $(nproc) > 1 ? 1 : 0 ))
step "ringcast-loadgen: 2 topics x 3 subscribers, 3000 messages at 20000/s (af_packet on rc1, core $lg_cpu)"
lg_rc=0
ip netns exec rc-cli "$build/apps/ringcast-loadgen" "--lcores=0@$lg_cpu" --no-huge -m 256 --no-pci \
    --file-prefix "$lg_prefix" --vdev net_af_packet0,iface=rc1 -- \
    --topics 2 --subscribers 3 --count 3000 --rate 20000 --duration 10 --scenario demo || lg_rc=$?
rm -rf "/var/run/dpdk/$lg_prefix"

step "ringcast stats -f $prefix"
"$ringcast" stats -f "$prefix"
step "ringcast stats -f $prefix /ringcast/ports"
"$ringcast" stats -f "$prefix" /ringcast/ports

step "stopping ringcastd with SIGTERM"
kill -TERM "$daemon_pid"
daemon_rc=0
for _ in $(seq 1 50); do
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$daemon_pid" 2>/dev/null; then
    rc_say "ringcastd still running 5 s after SIGTERM"
    daemon_rc=timeout
else
    wait "$daemon_pid" || daemon_rc=$?
fi
daemon_pid=
tail -n 5 "$daemon_log" | sed 's/^/  | /'

step "summary"
echo "  subscriber:     $received of $count messages (exit status $sub_rc)"
echo "  late joiner:    $replayed of $count messages replayed from retention"
echo "  TCP subscriber: $received_tcp of $count messages (exit status $tcp_rc)"
echo "  load generator: exit status $lg_rc"
echo "  ringcastd:      exit status $daemon_rc after SIGTERM"
if [[ $received == "$count" && $replayed == "$count" && $received_tcp == "$count" && $sub_rc == 0 &&
      $tcp_rc == 0 && $lg_rc == 0 && $daemon_rc == 0 ]]; then
    echo "  demo OK; test bed torn down"
    exit 0
fi
echo "  demo FAILED; test bed torn down"
exit 1
