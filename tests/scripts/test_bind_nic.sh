#!/usr/bin/env bash
# scripts/bind-nic.sh without touching the host: a fake sysfs (NICs, drivers,
# IOMMU groups), a fake /proc and a fake dpdk-devbind.py in a temporary
# folder; the default-route and SSH interfaces are given through
# RC_TEST_DEFAULT_IFACE and RC_TEST_SSH_IFACE. Only `list` also runs on the
# real host (read only).
#
# Usage: test_bind_nic.sh SOURCE_ROOT   (TAP on stdout)
set -euo pipefail
root=${1:?usage: test_bind_nic.sh SOURCE_ROOT}
script=$root/scripts/bind-nic.sh
. "$root/tests/scripts/tap.sh"

tmp=$(mktemp -d -t ringcast-bind-nic-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset RC_SYSFS RC_PROC RC_DPDK_DEVBIND RC_TEST_DEFAULT_IFACE RC_TEST_SSH_IFACE SSH_CONNECTION

# ---- the fake host
#
#   0000:00:03.0 virtio-pci  rctest0 (virtio0/net/rctest0)  carries the default route
#   0000:00:04.0 virtio-pci  rctest1                        carries the SSH session
#   0000:00:05.0 ixgbe       rctest2 (net/rctest2, down)    free
#   0000:00:06.0 vfio-pci    -        IOMMU group 7         DPDK's, kernel driver i40e
#   0000:00:07.0 nvme        -                              not a network device
#   rctestv0: a virtual interface (no PCI device)
# Names no real host has, so that `ip route show dev` finds nothing.
sys=$tmp/sys
devs=$sys/devices/pci0000:00

mk_dev() { # PCI CLASS DRIVER [NETDIR IFACE FLAGS]
    local pci=$1 class=$2 drv=$3 d=$devs/$1
    mkdir -p "$d"
    echo "$class" >"$d/class"
    if [[ $drv != - ]]; then
        mkdir -p "$sys/bus/pci/drivers/$drv"
        ln -s "../../../bus/pci/drivers/$drv" "$d/driver"
    fi
    mkdir -p "$sys/bus/pci/devices"
    ln -s "../../../devices/pci0000:00/$pci" "$sys/bus/pci/devices/$pci"
    if (( $# > 3 )); then
        local n=$d/$4/$5
        mkdir -p "$n" "$sys/class/net"
        echo "$6" >"$n/flags"
        echo 1 >"$n/carrier"
        echo up >"$n/operstate"
        ln -s "../../devices/pci0000:00/$pci/$4/$5" "$sys/class/net/$5"
    fi
}
mk_dev 0000:00:03.0 0x020000 virtio-pci virtio0/net rctest0 0x1003
mk_dev 0000:00:04.0 0x020000 virtio-pci virtio1/net rctest1 0x1003
mk_dev 0000:00:05.0 0x020000 ixgbe net rctest2 0x1002
mk_dev 0000:00:06.0 0x020000 vfio-pci
mk_dev 0000:00:07.0 0x010802 nvme
mkdir -p "$sys/kernel/iommu_groups/7" "$sys/devices/virtual/net/rctestv0"
ln -s ../../kernel/iommu_groups/7 "$devs/0000:00:06.0/iommu_group"
ln -s ../../devices/virtual/net/rctestv0 "$sys/class/net/rctestv0"
mkdir -p "$tmp/proc"

# dpdk-devbind.py: the status of the fake host; any other call is recorded
# (dry runs must make none) and, with FAKE_REBIND, rebinds in the fake tree.
cat >"$tmp/devbind" <<'FAKE'
#!/usr/bin/env bash
if [[ $* == "--status-dev net" ]]; then
    cat <<EOF

Network devices using DPDK-compatible driver
============================================
0000:00:06.0 'Ethernet Controller X710 for 10GbE SFP+ 1572' drv=vfio-pci unused=i40e

Network devices using kernel driver
===================================
0000:00:03.0 'Virtio network device 1000' if=rctest0 drv=virtio-pci unused=vfio-pci *Active*
0000:00:04.0 'Virtio network device 1000' if=rctest1 drv=virtio-pci unused=vfio-pci *Active*
0000:00:05.0 '82599ES 10-Gigabit SFI/SFP+ Network Connection 10fb' if=rctest2 drv=ixgbe unused=vfio-pci
EOF
    exit 0
fi
echo "$*" >>"$FAKE_CALLS"
if [[ -n ${FAKE_REBIND:-} && $1 == --bind ]]; then
    pci=${*: -1}
    ln -sfn "../../../bus/pci/drivers/$2" "$RC_SYSFS/devices/pci0000:00/$pci/driver"
fi
exit 0
FAKE
chmod +x "$tmp/devbind"
calls=$tmp/calls
export FAKE_CALLS=$calls

# modprobe must not run either: one first on PATH that records the call.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "modprobe $*" >>"%s"\n' "$calls" >"$tmp/bin/modprobe"
chmod +x "$tmp/bin/modprobe"
real_devbind=$(command -v dpdk-devbind.py || true)
export PATH=$tmp/bin:$PATH

fake_env=(env RC_SYSFS="$sys" RC_PROC="$tmp/proc" RC_DPDK_DEVBIND="$tmp/devbind"
          RC_TEST_DEFAULT_IFACE=rctest0 RC_TEST_SSH_IFACE=rctest1)
nic() { "${fake_env[@]}" "$script" "$@"; }
nothing_ran() { [[ ! -e $calls ]]; }
devbind_re=$(re_quote "$tmp/devbind")

# ---- list

check "list: every NIC with PCI address, interface, driver, link, guard" 0 \
    -o '^PCI +INTERFACE +DRIVER +LINK' \
    -o '^0000:00:03\.0 +rctest0 +virtio-pci +up +default route +Virtio network device' \
    -o '^0000:00:04\.0 +rctest1 +virtio-pci +up +ssh session ' \
    -o '^0000:00:05\.0 +rctest2 +ixgbe +down +- +82599ES' \
    -o '^0000:00:06\.0 +- +vfio-pci +- +DPDK, return with --driver i40e ' \
    -- nic list
check "list: both guards on one interface" 0 \
    -o '^0000:00:03\.0 +rctest0 +virtio-pci +up +default route, ssh session ' \
    -- "${fake_env[@]}" RC_TEST_SSH_IFACE="rctest0 rctest9" "$script" list
if [[ -n $real_devbind ]] && command -v lspci >/dev/null; then
    check "list runs on this host" 0 -o '^PCI +INTERFACE|no PCI network devices' -- \
        env RC_DPDK_DEVBIND="$real_devbind" "$script" list
else
    tap_skip "list runs on this host" "dpdk-devbind.py or lspci is not installed (Debian packages dpdk, pciutils)"
fi

# ---- the guard

check "bind: the default-route interface is refused" 1 \
    -e 'refusing to bind 0000:00:03\.0 \(rctest0\): rctest0 carries the default route' \
    -e 'Use --force only if another interface reaches this host' \
    -- nic bind rctest0 --dry-run
check "bind: the default-route NIC by PCI address is refused" 1 \
    -e 'refusing.*default route' \
    -- nic bind 00:03.0 --dry-run
check "bind: the SSH interface is refused" 1 \
    -e 'refusing to bind 0000:00:04\.0 \(rctest1\): rctest1 carries the SSH session' \
    -- nic bind rctest1
check "bind: refused without --dry-run too, before anything runs" 1 \
    -e 'refusing' \
    -- nic bind 0000:00:03.0
check "bind --force --dry-run: prints the dpdk-devbind.py command" 0 \
    -o "^$devbind_re --bind vfio-pci --force 0000:00:03\\.0\$" \
    -e 'although rctest0 carries the default route' \
    -- nic bind rctest0 --force --dry-run
check "bind --force --dry-run: the SSH interface too" 0 \
    -o "^$devbind_re --bind vfio-pci --force 0000:00:04\\.0\$" \
    -- nic --dry-run --force bind 0000:00:04.0
check "bind --dry-run: a free NIC needs no --force" 0 \
    -o "^$devbind_re --bind vfio-pci 0000:00:05\\.0\$" \
    -N 'refusing|warning' \
    -- nic bind rctest2 --dry-run
check "bind --dry-run: uio_pci_generic is modprobed first" 0 \
    -o '^modprobe uio_pci_generic$' \
    -o "^$devbind_re --bind uio_pci_generic 0000:00:05\\.0\$" \
    -- nic bind 0000:00:05.0 --driver uio_pci_generic --dry-run
# The SSH detection itself, with `ip route get` and `ss` replaced by shell
# functions: the client of $SSH_CONNECTION, then the peer of an established
# sshd connection (an IPv4-mapped IPv6 address), each routed through a NIC.
# shellcheck disable=SC2016 # expanded by the inner bash
fake_net='
ip() {
    case ${*: -1} in
        192.0.2.77) echo "192.0.2.77 dev rctest0 src 192.0.2.1 uid 0" ;;
        192.0.2.88) echo "192.0.2.88 via 192.0.2.254 dev rctest1 src 192.0.2.1 uid 0" ;;
    esac
}
ss() { echo "0 0 [::ffff:192.0.2.1]:22 [::ffff:192.0.2.88]:50001 users:((\"sshd\",pid=1,fd=4))"; }
export -f ip ss
exec "$0" "$@"'
no_test_ssh=(env -u RC_TEST_SSH_IFACE RC_SYSFS="$sys" RC_PROC="$tmp/proc" RC_DPDK_DEVBIND="$tmp/devbind"
             RC_TEST_DEFAULT_IFACE=)
check "guard from SSH_CONNECTION: the interface routing to the client" 1 \
    -e 'rctest0 carries the SSH session' \
    -- "${no_test_ssh[@]}" SSH_CONNECTION="192.0.2.77 50000 192.0.2.1 22" \
       bash -c "$fake_net" "$script" bind rctest0 --dry-run
check "guard from ss: the interface routing to an sshd peer" 1 \
    -e 'rctest1 carries the SSH session' \
    -- "${no_test_ssh[@]}" bash -c "$fake_net" "$script" bind 00:04.0 --dry-run
check "guard from ss: other NICs stay free" 0 \
    -o "^$devbind_re --bind vfio-pci 0000:00:05\\.0\$" \
    -- "${no_test_ssh[@]}" bash -c "$fake_net" "$script" bind rctest2 --dry-run

# ---- devices that cannot be bound

check "bind: unknown PCI address" 1 \
    -e 'unknown PCI address 0000:00:1f\.0' \
    -- nic bind 0000:00:1f.0 --dry-run
check "bind: unknown device name" 1 -e "unknown device 'nosuch0'" -- nic bind nosuch0 --dry-run
check "bind: a virtual interface" 1 -e 'rctestv0 is not a PCI device' -- nic bind rctestv0 --dry-run
check "bind: not a network device" 1 -e 'not a network device \(PCI class 0x010802\)' -- nic bind 00:07.0 --dry-run
check "bind: already on the driver, nothing to do" 0 -o 'already bound to vfio-pci' -- nic bind 00:06.0 --dry-run

# ---- vfio-pci and the IOMMU

rmdir "$sys/kernel/iommu_groups/7"
check "bind vfio-pci with the IOMMU off: says so, with the remedies" 1 \
    -e 'the IOMMU is off' \
    -e 'intel_iommu=on iommu=pt' \
    -e 'enable_unsafe_noiommu_mode' \
    -e 'uio_pci_generic' \
    -- nic bind rctest2 --dry-run
mkdir -p "$sys/module/vfio/parameters"
echo Y >"$sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
check "bind vfio-pci in vfio's no-IOMMU mode: warns, goes on" 0 \
    -e 'no-IOMMU mode' \
    -o "^$devbind_re --bind vfio-pci 0000:00:05\\.0\$" \
    -- nic bind rctest2 --dry-run
rm -r "$sys/module/vfio"
mkdir -p "$sys/kernel/iommu_groups/7"
mv "$sys/bus/pci/drivers/vfio-pci" "$tmp/vfio-pci-driver"
check "bind --dry-run: vfio-pci not loaded, modprobe first" 0 \
    -o '^modprobe vfio-pci$' \
    -o "^$devbind_re --bind vfio-pci 0000:00:05\\.0\$" \
    -- nic bind rctest2 --dry-run
mv "$tmp/vfio-pci-driver" "$sys/bus/pci/drivers/vfio-pci"

# ---- unbind

check "unbind --dry-run: back to the kernel driver (modprobed first)" 0 \
    -o '^modprobe i40e$' \
    -o "^$devbind_re --bind i40e 0000:00:06\\.0\$" \
    -- nic unbind 0000:00:06.0 --driver i40e --dry-run
mkdir -p "$tmp/proc/4242/fd"
echo ringcastd >"$tmp/proc/4242/comm"
ln -s /dev/vfio/7 "$tmp/proc/4242/fd/9"
check "unbind: a process holds the device through vfio" 1 \
    -e '0000:00:06\.0 is in use' \
    -e '4242 ringcastd' \
    -- nic unbind 00:06.0 --driver i40e --dry-run
rm -r "$tmp/proc/4242"
check "unbind: already on that kernel driver" 0 -o 'already on ixgbe' -- nic unbind 00:05.0 --driver ixgbe --dry-run
check "unbind: a NIC on another kernel driver needs --force" 1 -e 'kernel driver ixgbe' -- nic unbind 00:05.0 --driver e1000e --dry-run
assert "dry runs and refusals ran no dpdk-devbind.py --bind and no modprobe" nothing_ran

# ---- usage errors exit 2

check "no command" 2 -e 'no command' -- nic
check "unknown command" 2 -e "unknown command 'grab'" -- nic grab eth0
check "unknown option" 2 -e "unknown option '--yes'" -- nic bind rctest2 --yes
check "bind without a device" 2 -e 'needs a PCI address' -- nic bind
check "bind to a driver other than vfio-pci or uio_pci_generic" 2 -e 'vfio-pci or uio_pci_generic' -- nic bind rctest2 --driver ixgbe
check "unbind without --driver" 2 -e 'needs --driver' -- nic unbind 00:06.0
check "unbind to a DPDK driver" 2 -e 'is a DPDK driver' -- nic unbind 00:06.0 --driver vfio-pci
check "--driver without its value" 2 -e 'needs a value' -- nic bind rctest2 --driver
check "extra argument" 2 -e "unexpected argument 'rctest1'" -- nic bind rctest2 rctest1
check "--help" 0 -o 'vfio-pci \(default\)' -o 'default route' -- nic --help

# ---- what runs: the fake dpdk-devbind.py on the fake tree

if (( EUID == 0 )); then
    check "bind: dpdk-devbind.py silently skips the NIC: an error" 1 \
        -e "0000:00:05\\.0 is on 'ixgbe' after" \
        -- "${fake_env[@]}" "$script" bind rctest2
    check "bind: done, says how to give it back" 0 \
        -o 'bound to vfio-pci \(was ixgbe; give it back with: .*unbind 0000:00:05\.0 --driver ixgbe\)' \
        -- "${fake_env[@]}" FAKE_REBIND=1 "$script" bind rctest2
    check "bind: again, nothing to do" 0 -o 'already bound' -- "${fake_env[@]}" "$script" bind 00:05.0
    check "unbind: done" 0 \
        -o '0000:00:05\.0 back on ixgbe' \
        -- "${fake_env[@]}" FAKE_REBIND=1 "$script" unbind 00:05.0 --driver ixgbe
else
    check "bind without root is refused" 1 -e 'needs root' -- nic bind rctest2
    tap_skip "bind and unbind through the fake dpdk-devbind.py" "not root (the script refuses before running anything)"
fi

tap_done
