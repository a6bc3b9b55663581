#!/usr/bin/env bash
# Local test bed: two network namespaces joined by a veth pair.
#
#   rc-app: rc0 (no address, up)  <-- veth -->  rc-cli: rc1 192.0.2.2/24
#
# ringcastd runs in rc-app on rc0 through net_af_packet and owns 192.0.2.1
# itself (it answers ARP and ICMP echo); kernel clients run in rc-cli.
#
# Usage: scripts/testbed.sh up|down|status
#
# Names can be overridden so that a test makes its own private bed:
#   RC_NS_APP (rc-app)  RC_NS_CLI (rc-cli)  RC_IF_APP (rc0)  RC_IF_CLI (rc1)
#
# `up` on an existing bed tears it down first; `down` is safe to run twice.
set -euo pipefail

ns_app=${RC_NS_APP:-rc-app}
ns_cli=${RC_NS_CLI:-rc-cli}
if_app=${RC_IF_APP:-rc0}
if_cli=${RC_IF_CLI:-rc1}
# TEST-NET-1 only; the appliance's own address is in config/testbed.toml.
cli_addr=192.0.2.2/24
app_addr=192.0.2.1

prog=$(basename "$0")
say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

usage() {
    cat <<EOF
usage: $prog up|down|status

  up      create namespaces $ns_app and $ns_cli joined by veth $if_app <-> $if_cli
          ($if_cli has $cli_addr; the appliance in $ns_app answers for $app_addr)
  down    remove them (and stop what still runs inside); safe to repeat
  status  show the bed; exit 0 when it is complete, 1 otherwise

environment: RC_NS_APP RC_NS_CLI RC_IF_APP RC_IF_CLI override the names
EOF
}

check_names() {
    local n
    for n in "$ns_app" "$ns_cli"; do
        [[ $n =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad namespace name '$n'"
    done
    for n in "$if_app" "$if_cli"; do
        [[ $n =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad interface name '$n'"
        (( ${#n} <= 15 )) || die "interface name '$n' is longer than 15 characters"
    done
    [[ $ns_app != "$ns_cli" ]] || die "RC_NS_APP and RC_NS_CLI are both '$ns_app'"
    [[ $if_app != "$if_cli" ]] || die "RC_IF_APP and RC_IF_CLI are both '$if_app'"
}

check_tools() {
    (( EUID == 0 )) || die "must run as root (network namespaces and veth need it)"
    local t
    for t in ip ethtool; do
        command -v "$t" >/dev/null || die "'$t' not found (Debian packages iproute2, ethtool)"
    done
}

ns_exists() { [[ -e /var/run/netns/$1 ]]; }

# Stops what still runs inside a namespace: deleting the name alone would
# leave the namespace (and its veth) alive as long as a process holds it.
stop_processes_in() {
    local ns=$1 pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] || return 0
    say "stopping processes still in $ns: ${pids//$'\n'/ }"
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 1 30); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [[ -n $pids ]] || return 0
        sleep 0.1
    done
    say "still running after 3 s, killing: ${pids//$'\n'/ }"
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null || true
}

bed_down() {
    local ns
    for ns in "$ns_app" "$ns_cli"; do
        if ns_exists "$ns"; then
            stop_processes_in "$ns"
            # The veth goes with its namespace (and takes its peer along).
            ip netns del "$ns" || die "cannot delete namespace $ns"
            say "deleted namespace $ns"
        fi
    done
    # A veth left in the root namespace by an interrupted `up`.
    local dev
    for dev in "$if_app" "$if_cli"; do
        if ip link show dev "$dev" type veth >/dev/null 2>&1; then
            ip link del dev "$dev" || die "cannot delete veth $dev"
            say "deleted veth $dev"
        fi
    done
}

# The kernel (IPv6 router solicitations, MLD) would otherwise talk on the
# link by itself; a quiet bed keeps the appliance's counters readable.
quiet_ipv6() {
    local ns=$1 dev=$2
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null || true
}

# The kernel reports carrier a moment after both ends are up (linkwatch);
# return only when the link carries traffic, so callers never race it.
wait_carrier() {
    local ns=$1 dev=$2
    for _ in $(seq 1 50); do
        ip -n "$ns" -o link show dev "$dev" | grep -q 'state UP' && return 0
        sleep 0.1
    done
    die "$dev in $ns has no carrier after 5 s"
}

bed_up() {
    bed_down
    # Whatever goes wrong from here on, leave nothing half made.
    trap 'rc=$?; if (( rc != 0 )); then say "up failed, removing the partial bed"; bed_down || true; fi' EXIT

    ip netns add "$ns_app" || die "cannot create namespace $ns_app"
    ip netns add "$ns_cli" || die "cannot create namespace $ns_cli"
    # Made directly inside the namespaces: nothing ever appears in the root
    # namespace, so no clash with an interface of the host.
    ip link add "$if_app" netns "$ns_app" type veth peer name "$if_cli" netns "$ns_cli" \
        || die "cannot create veth $if_app <-> $if_cli"

    ip -n "$ns_app" link set lo up
    ip -n "$ns_cli" link set lo up
    quiet_ipv6 "$ns_app" "$if_app"
    quiet_ipv6 "$ns_cli" "$if_cli"

    # veth leaves the UDP checksum of kernel-sent packets partial (to be done
    # by the "hardware"); the appliance verifies checksums, so have the kernel
    # fill them in.
    ip netns exec "$ns_cli" ethtool -K "$if_cli" tx off >/dev/null \
        || die "ethtool -K $if_cli tx off failed"
    ip netns exec "$ns_app" ethtool -K "$if_app" tx off >/dev/null \
        || die "ethtool -K $if_app tx off failed"

    ip -n "$ns_cli" addr add "$cli_addr" dev "$if_cli"
    ip -n "$ns_app" link set "$if_app" up
    ip -n "$ns_cli" link set "$if_cli" up
    wait_carrier "$ns_cli" "$if_cli"
    wait_carrier "$ns_app" "$if_app"

    trap - EXIT
    say "up: $ns_app/$if_app (appliance $app_addr) <-> $ns_cli/$if_cli ($cli_addr)"
}

bed_status() {
    local ok=0 ns
    for ns in "$ns_app" "$ns_cli"; do
        if ns_exists "$ns"; then
            echo "namespace $ns:"
            ip -n "$ns" -brief addr show 2>/dev/null | sed 's/^/  /'
        else
            echo "namespace $ns: missing"
            ok=1
        fi
    done
    if ns_exists "$ns_app" && ! ip -n "$ns_app" link show dev "$if_app" >/dev/null 2>&1; then
        echo "interface $if_app: missing in $ns_app"
        ok=1
    fi
    if ns_exists "$ns_cli" && ! ip -n "$ns_cli" link show dev "$if_cli" >/dev/null 2>&1; then
        echo "interface $if_cli: missing in $ns_cli"
        ok=1
    fi
    if ns_exists "$ns_app"; then
        local pids
        pids=$(ip netns pids "$ns_app" 2>/dev/null || true)
        [[ -z $pids ]] || echo "processes in $ns_app: ${pids//$'\n'/ }"
    fi
    if (( ok == 0 )); then
        echo "test bed: up"
    else
        echo "test bed: down or incomplete"
    fi
    return $ok
}

(( $# == 1 )) || { usage >&2; exit 2; }
case $1 in
    up) check_names; check_tools; bed_up ;;
    down) check_names; check_tools; bed_down; say "down: $ns_app, $ns_cli gone" ;;
    status) check_names; check_tools; bed_status ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
