#!/usr/bin/env bash
# A bounded soak of ringcastd on a private local test bed (default 10
# minutes): authentication on (config/testbed.toml's two identities), leases
# of 3 s, retention as on the test bed (1024 a topic). From kernel UDP
# sockets in the client namespace, for the whole run:
#   - publishers at a steady rate (--rate, default 2000 msg/s in all) on md/
#     topics, 1 to 4 PUBs a datagram, 10 % QoS 1 and 10 % QoS 2 resent until
#     ACKed (some QoS 2 ones twice on purpose), a few RETAIN values;
#   - long-lived subscribers with overlapping exact, + and # filters and a
#     $share group, checked for duplicate or out-of-order live delivery;
#   - subscribers joining and leaving (exact, wildcard, $share, some with
#     REPLAY), leaving with BYE, UNSUB then BYE, or going silent until
#     their lease lapses;
# and in 4 s slices, in turn: a SUB flood (40 sources x 100 distinct topics,
# then BYE), a NACK storm (two subscribers NACKing ranges of hot topics), bad
# frames (truncated, wrong magic or version, lying lengths, random bytes,
# wildcard PUBs, ops without HELLO, PUB and SUB outside the ACLs), a burst of
# subscriber churn. ringcastd's RSS, pools and counters are sampled every
# few seconds.
# At the end traffic stops, every source says BYE (silent ones lapse), and
# it checks: every pool back at its idle baseline (beyond it only what
# retention holds), RSS flat (end against after the first 20 % of the run:
# less than 2 MiB or 2 % more), the tables empty, a fresh subscriber
# served, no duplicate live delivery, ringcastd alive throughout and exiting
# 0 within 3 s of SIGTERM. Then a summary and PASS or FAIL.
#
# usage: scripts/soak.sh [--duration SECONDS] [--rate N] [--build DIR] [--samples FILE] [--seed N]
#   --duration SECONDS  traffic time (default 600; at least 10)
#   --rate N            PUBs a second over all publishers (default 2000)
#   --build DIR         the build folder holding apps/ringcastd (default build/);
#                       the soak builds nothing: run scripts/run.sh or ninja first
#   --samples FILE      also write every sample as a JSON line to FILE
#   --seed N            seed the traffic's random choices (default: random)
# As root (namespaces). Exit status: 0 pass, 1 fail, 2 usage; 130 or 143
# when interrupted (everything is torn down all the same).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=soak.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

duration=600 rate=2000 build="$top/build" samples='' seed=''
need_arg() { (( $2 >= 2 )) || rc_usage_error "$1 needs a value"; }
while (( $# )); do
    case $1 in
        --duration) need_arg "$1" $#; duration=$2; shift ;;
        --rate) need_arg "$1" $#; rate=$2; shift ;;
        --build) need_arg "$1" $#; build=$2; shift ;;
        --samples) need_arg "$1" $#; samples=$2; shift ;;
        --seed) need_arg "$1" $#; seed=$2; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        *) rc_usage_error "unknown argument '$1'" ;;
    esac
    shift
done
if ! [[ $duration =~ ^[0-9]+$ ]] || (( 10#$duration < 10 )); then
    rc_usage_error "--duration: whole seconds, at least 10, not '$duration'"
fi
if ! [[ $rate =~ ^[1-9][0-9]*$ ]] || (( rate > 100000 )); then
    rc_usage_error "--rate: 1 to 100000 a second, not '$rate'"
fi
[[ -z $seed || $seed =~ ^[0-9]+$ ]] || rc_usage_error "--seed: a number, not '$seed'"

rc_need_root
for t in ip ethtool python3; do
    command -v "$t" >/dev/null || rc_die "'$t' not found (Debian packages iproute2, ethtool, python3)"
done
[[ -x $build/apps/ringcastd ]] || rc_die "no $build/apps/ringcastd: build first (scripts/run.sh, or ninja -C $build)"

# The bed's names carry this shell's pid, as tests/integration/testbed.py's
# do: a bed left by a soak that was killed outright is reaped by the next
# integration test (or soak) once that pid is gone.
tag=$$
export RC_NS_APP=rc-app-$tag RC_NS_CLI=rc-cli-$tag RC_IF_APP=rca$tag RC_IF_CLI=rcc$tag
driver_pid=''

# soak.py tears down what it made (daemon, bed, files) on its own exit and on
# SIGTERM/SIGINT; this is for the shell being stopped, and a last sweep.
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    set +e
    if [[ -n $driver_pid ]] && kill -0 "$driver_pid" 2>/dev/null; then
        kill -TERM "$driver_pid" 2>/dev/null
        wait "$driver_pid" 2>/dev/null
    fi
    if [[ -e /var/run/netns/$RC_NS_APP || -e /var/run/netns/$RC_NS_CLI ]]; then
        rc_say "removing the bed left behind"
        "$top/scripts/testbed.sh" down >/dev/null 2>&1
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

args=(--duration "$duration" --rate "$rate" --build "$build" --tag "$tag")
[[ -n $samples ]] && args+=(--samples "$samples")
[[ -n $seed ]] && args+=(--seed "$seed")
rc_say "soak of $duration s at $rate msg/s with $build/apps/ringcastd"
# In the background, so that a signal reaches this shell's trap at once.
PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 python3 "$top/scripts/soak.py" "${args[@]}" &
driver_pid=$!
status=0
wait "$driver_pid" || status=$?
driver_pid=
exit "$status"
