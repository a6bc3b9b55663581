#!/usr/bin/env bash
# scripts/hugepages.sh without touching the host: --dry-run, --persist and
# argument checks against a fake /sys and /proc in a temporary folder; the
# paths that do run run a fake dpdk-hugepages.py that writes into that fake
# tree. Only `status` reads the real host (read only).
#
# Usage: test_hugepages.sh SOURCE_ROOT   (TAP on stdout)
set -euo pipefail
root=${1:?usage: test_hugepages.sh SOURCE_ROOT}
script=$root/scripts/hugepages.sh
. "$root/tests/scripts/tap.sh"

tmp=$(mktemp -d -t ringcast-hugepages-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset RC_SYSFS RC_PROC RC_DPDK_HUGEPAGES
real_tool=$(command -v dpdk-hugepages.py || true)

# A fake sysfs with NUMA nodes and page sizes: mk_sys DIR NODES SIZE_KB...
mk_sys() {
    local dir=$1 nodes=$2 kb n f
    shift 2
    for kb in "$@"; do
        local g=$dir/kernel/mm/hugepages/hugepages-${kb}kB
        mkdir -p "$g"
        for f in nr_hugepages free_hugepages resv_hugepages surplus_hugepages; do echo 0 >"$g/$f"; done
        for ((n = 0; n < nodes; n++)); do
            local p=$dir/devices/system/node/node$n/hugepages/hugepages-${kb}kB
            mkdir -p "$p"
            for f in nr_hugepages free_hugepages surplus_hugepages; do echo 0 >"$p/$f"; done
        done
    done
}

sys2=$tmp/sys2     # two NUMA nodes, 2M and 1G pages
sys1=$tmp/sys1     # one NUMA node, 2M pages only
nonuma=$tmp/nonuma # no NUMA nodes shown, 2M pages
mk_sys "$sys2" 2 2048 1048576
mk_sys "$sys1" 1 2048
mk_sys "$nonuma" 0 2048
mkdir -p "$tmp/proc"
: >"$tmp/proc/mounts"
huge=$tmp/huge     # a mount point that does not exist yet

# Dry runs must run nothing: a dpdk-hugepages.py first on PATH that only
# records that it was called.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "$*" >>"%s/called"\n' "$tmp" >"$tmp/bin/dpdk-hugepages.py"
chmod +x "$tmp/bin/dpdk-hugepages.py"
export PATH=$tmp/bin:$PATH

hp() { RC_SYSFS=$sys2 RC_PROC=$tmp/proc "$script" "$@"; }
hp1() { RC_SYSFS=$sys1 RC_PROC=$tmp/proc "$script" "$@"; }
nothing_ran() { [[ ! -e $tmp/called ]]; }

# ---- --dry-run prints the dpdk-hugepages.py commands

check "reserve --dry-run: default 1G of 2M pages on every node" 0 \
    -o '^dpdk-hugepages\.py --pagesize 2M --reserve 1G$' \
    -o 'each of the 2 NUMA nodes' \
    -- hp --dry-run reserve
check "reserve --dry-run: 1G pages on one node" 0 \
    -o '^dpdk-hugepages\.py --pagesize 1G --node 1 --reserve 4G$' \
    -N 'each of the' \
    -- hp reserve 4G --pagesize 1G --node 1 --dry-run
check "reserve --dry-run: sizes in lower case, with B" 0 \
    -o '^dpdk-hugepages\.py --pagesize 2M --reserve 512M$' \
    -- hp --dry-run -p 2mb reserve 512mb
check "reserve --dry-run: one NUMA node" 0 \
    -o '^dpdk-hugepages\.py --pagesize 2M --reserve 2G$' \
    -N 'NUMA' \
    -- hp1 --dry-run reserve 2G
check "reserve --dry-run: no NUMA nodes shown" 0 \
    -o '^dpdk-hugepages\.py --pagesize 2M --reserve 64M$' \
    -- env RC_SYSFS="$nonuma" RC_PROC="$tmp/proc" "$script" --dry-run reserve 64M
check "mount --dry-run: makes the directory, then dpdk-hugepages.py --mount" 0 \
    -o "^mkdir -p $(re_quote "$huge")\$" \
    -o "^dpdk-hugepages\\.py --pagesize 2M --mount --directory $(re_quote "$huge")\$" \
    -- hp --dry-run mount -d "$huge"
assert "mount --dry-run made no directory" test ! -e "$huge"
check "setup --dry-run: reserve, then mount" 0 \
    -o '^dpdk-hugepages\.py --pagesize 1G --reserve 2G$' \
    -o "^dpdk-hugepages\\.py --pagesize 1G --mount --directory $(re_quote "$huge")\$" \
    -- hp --dry-run setup 2G -p 1G -d "$huge"
check "release --dry-run: dpdk-hugepages.py --clear" 0 \
    -o '^dpdk-hugepages\.py --clear$' \
    -N 'unmount' \
    -- hp --dry-run release
check "release --dry-run --unmount: clear, then unmount" 0 \
    -o '^dpdk-hugepages\.py --clear$' \
    -o "^dpdk-hugepages\\.py --unmount --directory $(re_quote "$huge")\$" \
    -- hp --dry-run release --unmount -d "$huge"

# ---- idempotence and mounts, from the fake tree

node_pages() { echo "$2" >"$sys2/devices/system/node/node$1/hugepages/hugepages-2048kB/nr_hugepages"; }
node_pages 0 512
node_pages 1 512
check "reserve: pages already there, nothing to run" 0 \
    -o 'already reserved' \
    -N 'dpdk-hugepages' \
    -- hp --dry-run reserve 1G
node_pages 1 0
check "reserve: one node short, dpdk-hugepages.py runs" 0 \
    -o '^dpdk-hugepages\.py --pagesize 2M --reserve 1G$' \
    -- hp --dry-run reserve 1G
node_pages 0 0

mkdir -p "$huge"
echo "nodev $huge hugetlbfs rw,relatime,pagesize=2M 0 0" >"$tmp/proc/mounts"
check "mount: already mounted with the page size, nothing to run" 0 \
    -o 'already mounted' \
    -N 'dpdk-hugepages|mkdir' \
    -- hp --dry-run mount -d "$huge"
check "mount: mounted with another page size is an error" 1 \
    -e 'pagesize=2M, not 1G' \
    -- hp --dry-run mount -p 1G -d "$huge"

# A leftover DPDK file in a hugetlbfs mount: release removes it (printed
# here); a file a process still maps stays.
: >"$huge/rtemap_0"
: >"$huge/ringcastmap_3"
mkdir -p "$tmp/proc/4242"
echo ringcastd >"$tmp/proc/4242/comm"
echo "7f0000000000-7f0000200000 rw-s 00000000 00:2f 1234 $huge/ringcastmap_3" >"$tmp/proc/4242/maps"
check "release --dry-run: removes leftover files, keeps mapped ones" 0 \
    -o "^rm -f -- $(re_quote "$huge/rtemap_0")\$" \
    -o '^dpdk-hugepages\.py --clear$' \
    -N 'ringcastmap_3' \
    -- hp --dry-run release
assert "release --dry-run removed no file" test -e "$huge/rtemap_0"
check "status: names leftover files and the processes holding pages" 0 \
    -o "$(re_quote "$huge/rtemap_0")" \
    -o '4242 ringcastd' \
    -- env RC_DPDK_HUGEPAGES=true RC_SYSFS="$sys2" RC_PROC="$tmp/proc" "$script" status
rm -rf "$tmp/proc/4242" "${huge:?}"/*
: >"$tmp/proc/mounts"
assert "dry runs ran no dpdk-hugepages.py" nothing_ran

# ---- --persist prints, never writes

check "--persist: kernel command line and fstab line, default 1G of 2M" 0 \
    -o '^default_hugepagesz=2M hugepagesz=2M hugepages=512$' \
    -o '^nodev /dev/hugepages hugetlbfs pagesize=2M 0 0$' \
    -- hp --persist
check "--persist: 1G pages" 0 \
    -o '^default_hugepagesz=1G hugepagesz=1G hugepages=4$' \
    -o "^nodev $(re_quote "$tmp/huge1g") hugetlbfs pagesize=1G 0 0\$" \
    -- hp --persist -p 1G reserve 4G -d "$tmp/huge1g"
check "--persist: per NUMA node" 0 \
    -o '^default_hugepagesz=1G hugepagesz=1G hugepages=1:2$' \
    -- hp --persist -p 1G -n 1 setup 2G
assert "--persist ran nothing" nothing_ran
assert "--persist made no directory" test ! -e "$tmp/huge1g"

# ---- usage errors exit 2, refusals exit 1

check "no command" 2 -e 'no command' -- hp
check "unknown command" 2 -e "unknown command 'grab'" -- hp grab
check "unknown option" 2 -e "unknown option '--pages'" -- hp --pages 4 reserve
check "page size other than 2M or 1G" 2 -e '2M or 1G' -- hp -p 4M reserve
check "SIZE without a unit" 2 -e 'K, M or G' -- hp reserve 1024
check "SIZE not a whole number of pages" 2 -e 'not a whole number of 1G pages' -- hp reserve 1536M -p 1G
check "NUMA node not a number" 2 -e 'must be a number' -- hp reserve -n one
check "relative mount point" 2 -e 'absolute path' -- hp mount -d huge
check "option without its value" 2 -e 'needs a value' -- hp reserve --pagesize
check "extra argument" 2 -e "unexpected argument '2G'" -- hp reserve 1G 2G
check "--unmount without release" 2 -e 'release only' -- hp mount --unmount
check "--persist with release" 2 -e 'persist' -- hp release --persist
check "--help shows the defaults" 0 -o 'default 2M' -o 'default /dev/hugepages' -o 'default 1G' -- hp --help
check "1G pages the host does not offer" 1 -e 'no 1G pages' -- hp1 --dry-run reserve 2G -p 1G
check "NUMA node that does not exist" 1 -e 'no NUMA node 5 \(nodes: 0 1\)' -- hp --dry-run reserve -n 5
check "--node where the kernel shows no NUMA" 1 -e 'no NUMA nodes' -- \
    env RC_SYSFS="$nonuma" RC_PROC="$tmp/proc" "$script" --dry-run reserve -n 0
assert "refusals ran no dpdk-hugepages.py" nothing_ran

# ---- what runs: a fake dpdk-hugepages.py on the fake tree

# It sets every node's count as the real one does, but the "kernel"
# (FAKE_GIVE) may give fewer; it mounts by writing the fake /proc/mounts
# (FAKE_NO_MOUNT: the mount fails, which the real tool does not notice).
cat >"$tmp/fake-hugepages" <<'FAKE'
#!/usr/bin/env bash
ps=2M dir=/dev/hugepages reserve='' mount=''
while (( $# )); do
    case $1 in
        --pagesize) ps=$2; shift ;;
        --directory) dir=$2; shift ;;
        --reserve) reserve=$2; shift ;;
        --mount) mount=1 ;;
    esac
    shift
done
if [[ -n $reserve ]]; then
    for f in "$RC_SYSFS"/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages; do
        echo "${FAKE_GIVE:-512}" >"$f"
    done
    [[ -z ${FAKE_GIVE:-} ]] || { echo "Unable to set pages" >&2; exit 1; }
fi
if [[ -n $mount && -z ${FAKE_NO_MOUNT:-} ]]; then
    echo "nodev $dir hugetlbfs rw,pagesize=$ps 0 0" >>"$RC_PROC/mounts"
fi
exit 0
FAKE
chmod +x "$tmp/fake-hugepages"
fake=(env RC_SYSFS="$sys2" RC_PROC="$tmp/proc" RC_DPDK_HUGEPAGES="$tmp/fake-hugepages")

if (( EUID == 0 )); then
    check "reserve: the kernel gives fewer pages: says so per node, exit 1" 1 \
        -e 'asked for 512 pages of 2M on node0, the kernel reserved 300' \
        -e 'asked for 512 pages of 2M on node1, the kernel reserved 300' \
        -e "'hugepages\\.sh release' frees it" \
        -e "'hugepages\\.sh --persist -p 2M reserve 1G'" \
        -- "${fake[@]}" FAKE_GIVE=300 "$script" reserve 1G
    check "reserve: the kernel gives them all" 0 \
        -o 'reserved 512 pages of 2M \(1G\) on node0,node1' \
        -- "${fake[@]}" "$script" reserve 1G
    check "mount: the mount does not happen (the tool ignores mount's status)" 1 \
        -e "not mounted on $(re_quote "$huge")" \
        -- "${fake[@]}" FAKE_NO_MOUNT=1 "$script" mount -d "$huge"
    check "mount: done" 0 \
        -o "mounted hugetlbfs \\(2M pages\\) on $(re_quote "$huge")" \
        -- "${fake[@]}" "$script" mount -d "$huge"
    check "mount: again, nothing to do" 0 -o 'already mounted' -- "${fake[@]}" "$script" mount -d "$huge"
else
    check "reserve without root is refused" 1 -e 'needs root' -- "${fake[@]}" "$script" reserve 1G
    tap_skip "the kernel gives fewer pages" "not root (the script refuses before running anything)"
fi

# ---- status on the real host: read only

if [[ -n $real_tool ]]; then
    check "status runs on this host" 0 -o 'Page sizes offered' -- \
        env RC_DPDK_HUGEPAGES="$real_tool" "$script" status
else
    tap_skip "status runs on this host" "dpdk-hugepages.py is not installed (Debian package dpdk)"
fi

tap_done
