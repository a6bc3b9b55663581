#!/usr/bin/env bash
# NIC binding for ringcastd: a thin wrapper over DPDK's own dpdk-devbind.py
# (Debian package dpdk), which does the binding. This adds only what it lacks:
#   - the guard: it refuses to take the interface that carries the default
#     route or the operator's SSH session (unless --force). dpdk-devbind.py
#     only skips an interface with IPv4 routes, with a warning and exit 0;
#     here that is an error that says what to do;
#   - checks first: the device exists and is a network device, the driver
#     module is loaded (modprobe), the IOMMU is on for vfio-pci (or vfio's
#     no-IOMMU mode is), no process holds the device through vfio or uio;
#   - after binding, checks the device really is on the driver asked for;
#   - list: one line per NIC with PCI address, interface, driver, link state
#     and which interface is guarded;
#   - --dry-run prints the dpdk-devbind.py (and modprobe) commands instead of
#     running them.
#
# Usage: scripts/bind-nic.sh list
#        scripts/bind-nic.sh bind PCI|IFACE [--driver vfio-pci|uio_pci_generic] [--force] [--dry-run]
#        scripts/bind-nic.sh unbind PCI --driver KERNEL_DRIVER [--force] [--dry-run]
#
# For tests only (nothing of the host is touched then):
#   RC_SYSFS (/sys) and RC_PROC (/proc): the trees read
#   RC_DPDK_DEVBIND (dpdk-devbind.py): the tool run
#   RC_TEST_DEFAULT_IFACE, RC_TEST_SSH_IFACE: when set (even empty), the
#     interfaces (space-separated) taken to carry the default route and the
#     SSH session, instead of asking `ip route` and `ss`
set -euo pipefail

sysfs=${RC_SYSFS:-/sys}
procfs=${RC_PROC:-/proc}
devbind=${RC_DPDK_DEVBIND:-dpdk-devbind.py}

# The drivers through which DPDK drives a NIC from user space.
dpdk_drivers=(vfio-pci uio_pci_generic igb_uio)
default_driver=vfio-pci

prog=$(basename "$0")
rc_prog=$prog
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage() {
    cat <<EOF
usage: $prog list
       $prog bind PCI|IFACE [--driver vfio-pci|uio_pci_generic] [--force] [--dry-run]
       $prog unbind PCI --driver KERNEL_DRIVER [--force] [--dry-run]

A thin wrapper over dpdk-devbind.py (Debian package dpdk).

Commands:
  list           NICs: PCI address, kernel interface, driver, link state, and
                 which ones the guard protects (default route, SSH session)
  bind DEV       hand the NIC (PCI address like 0000:01:00.0, or its kernel
                 interface name) to a DPDK driver; its interface disappears
  unbind PCI     give the NIC back to its kernel driver (e.g. ixgbe, i40e, ice,
                 virtio-pci: 'list' shows it after "return with")

Options:
  --driver NAME  bind: vfio-pci (default) or uio_pci_generic;
                 unbind: the kernel driver (required)
  --force        take the NIC even though it carries the default route or the
                 SSH session (the host may drop off the network), or is not a
                 network device; passed on to dpdk-devbind.py
  --dry-run      print the dpdk-devbind.py (and modprobe) commands instead of
                 running them
  -h, --help     show this help

NICs driven by mlx5_core need no binding: DPDK uses them beside the kernel.
Exit status: 0 done (or nothing to do), 1 refused or failed, 2 usage error.
EOF
}

# ---- arguments

cmd=''
target=''
driver=''
force=0
rc_dry_run=0

while (( $# > 0 )); do
    case $1 in
        --driver|-b)
            (( $# >= 2 )) || rc_usage_error "option $1 needs a value"
            driver=$2
            shift 2
            ;;
        --driver=*) driver=${1#*=}; shift ;;
        --force) force=1; shift ;;
        --dry-run) rc_dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) rc_usage_error "unknown option '$1'" ;;
        *)
            if [[ -z $cmd ]]; then
                cmd=$1
            elif [[ -z $target && $cmd != list ]]; then
                target=$1
            else
                rc_usage_error "unexpected argument '$1'"
            fi
            shift
            ;;
    esac
done

is_dpdk_driver() {
    local d
    for d in "${dpdk_drivers[@]}"; do
        [[ $1 == "$d" ]] && return 0
    done
    return 1
}

case $cmd in
    list)
        [[ -z $driver ]] || rc_usage_error "list takes no --driver"
        ;;
    bind)
        [[ -n $target ]] || rc_usage_error "bind needs a PCI address or an interface name"
        driver=${driver:-$default_driver}
        case $driver in
            vfio-pci|uio_pci_generic) ;;
            *) rc_usage_error "bind --driver must be vfio-pci or uio_pci_generic, not '$driver' (unbind gives a NIC back to a kernel driver)" ;;
        esac
        ;;
    unbind)
        [[ -n $target ]] || rc_usage_error "unbind needs a PCI address"
        [[ -n $driver ]] || rc_usage_error "unbind needs --driver KERNEL_DRIVER (the NIC's kernel driver: 'list' shows it)"
        ! is_dpdk_driver "$driver" || rc_usage_error "$driver is a DPDK driver: unbind gives the NIC back to its kernel driver (e.g. ixgbe); to change DPDK drivers use bind"
        [[ $driver =~ ^[A-Za-z0-9_-]+$ ]] || rc_usage_error "bad driver name '$driver'"
        ;;
    '') rc_usage_error "no command given" ;;
    *) rc_usage_error "unknown command '$cmd'" ;;
esac

# ---- the host (read only)

pci_re='^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$'

# Kernel interfaces of a PCI device: <dev>/net/X, or <dev>/virtio*/net/X.
pci_ifaces() {
    local n out=()
    for n in "$sysfs/bus/pci/devices/$1"/net/* "$sysfs/bus/pci/devices/$1"/*/net/*; do
        [[ -e $n ]] && out+=("${n##*/}")
    done
    echo "${out[*]}"
}

pci_driver() {
    local l
    l=$(readlink "$sysfs/bus/pci/devices/$1/driver" 2>/dev/null) || return 0
    echo "${l##*/}"
}

# Interface -> PCI address: the last PCI address on its sysfs path
# (/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0 -> 0000:00:03.0).
iface_pci() {
    local path part found=''
    path=$(readlink -f "$sysfs/class/net/$1") || return 0
    local IFS=/
    for part in $path; do
        [[ $part =~ $pci_re ]] && found=$part
    done
    echo "$found"
}

# up / down (administratively) / no-carrier, from /sys/class/net.
link_state() {
    local d=$sysfs/class/net/$1 flags carrier
    [[ -e $d ]] || { echo '-'; return; }
    flags=$(cat "$d/flags" 2>/dev/null || echo 0)
    if (( (flags & 1) == 0 )); then
        echo down
        return
    fi
    carrier=$(cat "$d/carrier" 2>/dev/null || echo 0)
    if [[ $carrier != 1 ]]; then
        echo no-carrier
    else
        cat "$d/operstate" 2>/dev/null || echo up
    fi
}

# One word a line (an override's space-separated list).
words() {
    local w list=()
    read -ra list <<<"$1"
    for w in "${list[@]}"; do echo "$w"; done
}

# "dev X" words of `ip route` output.
route_devs() { awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }'; }

default_ifaces() {
    if [[ -n ${RC_TEST_DEFAULT_IFACE+set} ]]; then
        words "$RC_TEST_DEFAULT_IFACE"
        return
    fi
    { ip route show default 2>/dev/null; ip -6 route show default 2>/dev/null; } | route_devs | sort -u
}

# Client addresses of SSH sessions: $SSH_CONNECTION ("client port server
# port") and the peers of sshd's established TCP connections.
ssh_clients() {
    [[ -z ${SSH_CONNECTION:-} ]] || echo "${SSH_CONNECTION%% *}"
    command -v ss >/dev/null || return 0
    # "Recv-Q Send-Q LOCAL:PORT PEER:PORT users:(("sshd",...))"
    ss -Htnp state established 2>/dev/null | awk '/"sshd/ { print $4 }' | while read -r peer; do
        peer=${peer%:*}
        peer=${peer#[}
        peer=${peer%]}
        echo "${peer#::ffff:}"
    done
}

ssh_ifaces() {
    if [[ -n ${RC_TEST_SSH_IFACE+set} ]]; then
        words "$RC_TEST_SSH_IFACE"
        return
    fi
    local addr
    ssh_clients | sort -u | while read -r addr; do
        [[ -n $addr ]] || continue
        if [[ $addr == *%* ]]; then
            echo "${addr#*%}" # link-local: the scope is the interface
        else
            ip -o route get "$addr" 2>/dev/null | route_devs | head -n1
        fi
    done | sort -u
}

in_list() {
    local x=$1
    shift
    local y
    for y in "$@"; do
        [[ $x == "$y" ]] && return 0
    done
    return 1
}

# Processes holding the device open through vfio (/dev/vfio/GROUP) or uio
# (/dev/uioN): "pid comm" lines. Rebinding under them would block.
device_holders() {
    local dev=$sysfs/bus/pci/devices/$1 nodes=() g u fd
    g=$(readlink "$dev/iommu_group" 2>/dev/null) && nodes+=("/dev/vfio/${g##*/}")
    for u in "$dev"/uio/uio*; do
        [[ -e $u ]] && nodes+=("/dev/${u##*/}")
    done
    (( ${#nodes[@]} > 0 )) || return 0
    for fd in "$procfs"/[0-9]*/fd/*; do
        in_list "$(readlink "$fd" 2>/dev/null)" "${nodes[@]}" || continue
        fd=${fd%/fd/*}
        echo "${fd##*/} $(cat "$fd/comm" 2>/dev/null || echo '?')"
    done | sort -u
}

# ---- running (or printing) the tools

need_devbind() {
    command -v "$devbind" >/dev/null || rc_die "$devbind not found (Debian package dpdk: apt-get install dpdk)"
}

need_root() {
    (( rc_dry_run )) && return 0
    (( EUID == 0 )) || rc_die "$cmd needs root (writes to /sys/bus/pci); try --dry-run to see what it would do"
}

# Sets pci from a PCI address (domain optional) or an interface name.
pci=''
resolve_target() {
    local t=$1
    if [[ $t =~ $pci_re ]]; then
        pci=${t,,}
        [[ $pci == ????:* ]] || pci=0000:$pci
        [[ -e $sysfs/bus/pci/devices/$pci ]] \
            || rc_die "unknown PCI address $t: no such device in $sysfs/bus/pci/devices ('$prog list' shows the NICs)"
    elif [[ $t =~ ^[A-Za-z0-9_.:@-]+$ && -e $sysfs/class/net/$t ]]; then
        pci=$(iface_pci "$t")
        [[ -n $pci ]] || rc_die "$t is not a PCI device (a virtual interface?): ringcastd uses such interfaces through net_af_packet or net_af_xdp, with no binding"
    else
        rc_die "unknown device '$t': neither a PCI address (like 0000:01:00.0) nor a network interface ('$prog list' shows the NICs)"
    fi
}

# modprobe the driver unless the kernel has it (loaded or built in).
load_driver() {
    local d=$1
    [[ -d $sysfs/bus/pci/drivers/$d ]] && return 0
    rc_run modprobe "$d" || rc_die "modprobe $d failed: is the module installed for kernel $(uname -r)?"
    (( rc_dry_run )) && return 0
    [[ -d $sysfs/bus/pci/drivers/$d ]] || rc_die "driver $d is not registered after modprobe $d"
}

# vfio-pci needs an IOMMU (or vfio's unsafe no-IOMMU mode) to take a device.
check_iommu() {
    local g noiommu
    for g in "$sysfs"/kernel/iommu_groups/*; do
        [[ -e $g ]] && return 0
    done
    noiommu=$(cat "$sysfs/module/vfio/parameters/enable_unsafe_noiommu_mode" 2>/dev/null || echo N)
    if [[ $noiommu == Y || $noiommu == 1 ]]; then
        rc_warn "the IOMMU is off; vfio runs in no-IOMMU mode: the NIC can DMA anywhere in memory"
        return 0
    fi
    cat >&2 <<EOF
$prog: error: the IOMMU is off (no entries in $sysfs/kernel/iommu_groups): vfio-pci cannot take the NIC.
$prog: Either turn it on: add 'intel_iommu=on iommu=pt' (AMD: 'amd_iommu=on iommu=pt')
$prog:   to GRUB_CMDLINE_LINUX in /etc/default/grub, update-grub, reboot (and enable VT-d/AMD-Vi in the firmware);
$prog: or use vfio's no-IOMMU mode (no DMA isolation):
$prog:   modprobe vfio enable_unsafe_noiommu_mode=1   (or: echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)
$prog: or bind with --driver uio_pci_generic.
EOF
    exit 1
}

check_not_held() {
    local holders
    holders=$(device_holders "$1")
    [[ -z $holders ]] && return 0
    printf '%s: error: %s is in use (stop these first, or the rebind blocks):\n' "$prog" "$1" >&2
    printf '%s\n' "$holders" | sed 's/^/    /' >&2
    exit 1
}

# ---- commands

do_list() {
    need_devbind
    local out err rc=0
    err=$(mktemp)
    out=$("$devbind" --status-dev net 2>"$err") || rc=$?
    if (( rc != 0 )); then
        cat "$err" >&2
        rm -f "$err"
        rc_die "$devbind --status-dev net failed (exit status $rc)"
    fi
    rm -f "$err"

    local defaults=() sshs=()
    mapfile -t defaults < <(default_ifaces)
    mapfile -t sshs < <(ssh_ifaces)

    # "0000:00:03.0 'Virtio network device 1041' if=eth0 drv=virtio-pci unused=vfio-pci *Active*"
    local rows=() line re="^([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]) '([^']*)' ?(.*)$"
    while IFS= read -r line; do
        [[ $line =~ $re ]] || continue
        local slot=${BASH_REMATCH[1]} desc=${BASH_REMATCH[2]} rest=${BASH_REMATCH[3]}
        local ifs='' drv='' unused='' w notes=() i
        for w in $rest; do
            case $w in
                if=*) ifs=${w#if=} ;;
                drv=*) drv=${w#drv=} ;;
                unused=*) unused=${w#unused=} ;;
            esac
        done
        [[ -n $ifs ]] || ifs=$(pci_ifaces "$slot")
        ifs=${ifs//,/ }
        local link='-' first=${ifs%% *}
        [[ -z $first ]] || link=$(link_state "$first")
        for i in $ifs; do
            ! in_list "$i" "${defaults[@]}" || notes+=("default route")
            ! in_list "$i" "${sshs[@]}" || notes+=("ssh session")
        done
        if [[ -n $drv ]] && is_dpdk_driver "$drv"; then
            local k back=''
            for k in ${unused//,/ }; do
                is_dpdk_driver "$k" || { back=$k; break; }
            done
            notes+=("DPDK${back:+, return with --driver $back}")
        elif [[ -z $drv ]]; then
            notes+=("no driver")
        fi
        local joined
        joined=$(IFS=';'; echo "${notes[*]:-}")
        rows+=("$slot|${ifs// /,}|${drv:--}|$link|${joined//;/, }|$desc")
    done <<<"$out"

    if (( ${#rows[@]} == 0 )); then
        rc_say "no PCI network devices (virtual interfaces such as veth are not listed: ringcastd uses them through net_af_packet or net_af_xdp)"
        return 0
    fi
    printf '%s\n' "PCI|INTERFACE|DRIVER|LINK|NOTES|DEVICE" "${rows[@]}" \
        | awk -F'|' '{ printf "%-13s %-10s %-16s %-11s %-30s %s\n", $1, ($2 == "" ? "-" : $2), $3, $4, ($5 == "" ? "-" : $5), $6 }'
}

# Hands $pci to driver $1 through dpdk-devbind.py and checks it took:
# devbind skips an interface that has routes with only a warning and exit 0.
# Returns 1 in a dry run, where there is nothing to check.
devbind_to() {
    local to=$1 args=("$devbind" --bind "$1")
    (( force == 0 )) || args+=(--force)
    args+=("$pci")
    rc_run "${args[@]}" || rc_die "$devbind failed (see its message above)"
    (( rc_dry_run )) && return 1
    local after
    after=$(pci_driver "$pci")
    [[ $after == "$to" ]] || rc_die "$pci is on '${after:-no driver}' after $devbind, not $to (see its message above)"
}

do_bind() {
    resolve_target "$target"
    local now ifs
    now=$(pci_driver "$pci")
    ifs=$(pci_ifaces "$pci")
    local label=$pci${ifs:+ ($ifs)}
    if [[ $now == "$driver" ]]; then
        rc_say "$pci is already bound to $driver; nothing to do"
        return 0
    fi
    case $now in
        mlx5_core|mlx4_core)
            rc_say "$label is driven by $now: DPDK uses it beside the kernel (bifurcated driver), no binding needed"
            return 0
            ;;
    esac

    # The guard: never cut the host off the network by accident.
    local defaults=() sshs=() reasons=() i
    mapfile -t defaults < <(default_ifaces)
    mapfile -t sshs < <(ssh_ifaces)
    for i in $ifs; do
        ! in_list "$i" "${defaults[@]}" || reasons+=("$i carries the default route")
        ! in_list "$i" "${sshs[@]}" || reasons+=("$i carries the SSH session")
    done
    if (( ${#reasons[@]} > 0 )); then
        local why
        why=$(IFS=';'; echo "${reasons[*]}")
        why=${why//;/, and }
        if (( force == 0 )); then
            rc_die "refusing to bind $label: $why; the host would drop off the network. Use --force only if another interface reaches this host"
        fi
        rc_warn "binding $label although $why (--force)"
    fi

    local class
    class=$(cat "$sysfs/bus/pci/devices/$pci/class" 2>/dev/null || echo unknown)
    if [[ $class != 0x02* ]]; then
        (( force )) || rc_die "$pci is not a network device (PCI class $class); --force to bind it anyway"
        rc_warn "$pci is not a network device (PCI class $class) (--force)"
    fi

    # dpdk-devbind.py skips an interface with IPv4 routes, saying only a
    # warning and exiting 0: rc_say it here, with what to do.
    if (( force == 0 )); then
        for i in $ifs; do
            if [[ -n $(ip -o -4 route show dev "$i" 2>/dev/null) ]]; then
                rc_die "$i has IPv4 routes (dpdk-devbind.py would skip it as active): 'ip addr flush dev $i' and 'ip link set $i down' first, or --force"
            fi
        done
    fi

    if [[ -n $now ]] && is_dpdk_driver "$now"; then
        check_not_held "$pci"
    fi
    need_root
    (( rc_dry_run )) || need_devbind
    [[ $driver != vfio-pci ]] || check_iommu
    load_driver "$driver"

    devbind_to "$driver" || return 0
    rc_say "$label bound to $driver${now:+ (was $now; give it back with: $prog unbind $pci --driver $now)}"
}

do_unbind() {
    resolve_target "$target"
    local now ifs
    now=$(pci_driver "$pci")
    ifs=$(pci_ifaces "$pci")
    if [[ $now == "$driver" ]]; then
        rc_say "$pci is already on $driver${ifs:+ (interface $ifs)}; nothing to do"
        return 0
    fi
    if [[ -n $now ]] && ! is_dpdk_driver "$now"; then
        (( force )) || rc_die "$pci is on the kernel driver $now, not a DPDK one; --force to move it to $driver anyway"
    fi
    check_not_held "$pci"
    need_root
    (( rc_dry_run )) || need_devbind
    load_driver "$driver"

    devbind_to "$driver" || return 0
    ifs=$(pci_ifaces "$pci")
    rc_say "$pci back on $driver${ifs:+ (interface $ifs)}"
}

case $cmd in
    list) do_list ;;
    bind) do_bind ;;
    unbind) do_unbind ;;
esac
