#!/usr/bin/env bash
# Hugepages for ringcastd: a thin wrapper over DPDK's own dpdk-hugepages.py
# (Debian package dpdk), which does the reserving, mounting and clearing.
# This adds only what it lacks:
#   - checks first: the page size is one the CPU and kernel offer, the NUMA
#     node exists, SIZE is a whole number of pages;
#   - after reserving, compares what the kernel gave with what was asked, per
#     node, and says so (exit 1) instead of leaving it to a failing EAL;
#   - mount: makes the directory, checks that the mount happened (the tool
#     ignores mount's exit status) and that an existing mount has the page
#     size asked for (DPDK finds no 1G pages on a pagesize=2M mount);
#   - release: removes the <prefix>map_N files that exited DPDK processes left
#     in hugetlbfs (they pin their pages), names the processes that still hold
#     pages, and says when the kernel kept some;
#   - status: free and total pages per size and node, mounts with their page
#     size, leftover DPDK files;
#   - --persist prints (never writes) the kernel command line and the
#     /etc/fstab line for a reservation made at boot;
#   - --dry-run prints the commands instead of running them.
# Every command is idempotent: asking again for what is there changes nothing.
#
# Usage: scripts/hugepages.sh [options] reserve [SIZE] | mount | setup [SIZE] | status | release
#
# For tests only: RC_SYSFS (/sys) and RC_PROC (/proc) move the trees read
# (never written: writes go through dpdk-hugepages.py), RC_DPDK_HUGEPAGES
# (dpdk-hugepages.py) the tool run.
set -euo pipefail

sysfs=${RC_SYSFS:-/sys}
procfs=${RC_PROC:-/proc}
tool=${RC_DPDK_HUGEPAGES:-dpdk-hugepages.py}

# config/ringcastd.toml asks for eal.memory_mb = 1024.
default_size=1G
default_pagesize=2M
default_dir=/dev/hugepages

prog=$(basename "$0")
rc_prog=$prog
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage() {
    cat <<EOF
usage: $prog [options] COMMAND

A thin wrapper over dpdk-hugepages.py (Debian package dpdk).

Commands:
  reserve [SIZE]   reserve SIZE of hugepages (default $default_size), e.g. 512M, 2G;
                   without --node, SIZE is reserved on every NUMA node, as
                   dpdk-hugepages.py does
  mount            mount hugetlbfs on DIR for the page size
  setup [SIZE]     reserve, then mount (what ringcastd.service runs)
  status           pages per size and node (total, free), mounts, leftover files
  release          remove files left by exited DPDK processes, then free every
                   hugepage of every size and node

Options:
  -p, --pagesize SIZE  2M or 1G (default $default_pagesize)
  -n, --node N         reserve on NUMA node N only (default: every node)
  -d, --directory DIR  hugetlbfs mount point (default $default_dir)
      --unmount        release: also unmount DIR
      --persist        print the kernel command line and /etc/fstab line that
                       make this setup permanent; writes and changes nothing
      --dry-run        print the commands instead of running them
  -h, --help           show this help

Exit status: 0 done (or nothing to do), 1 failed (the kernel refused, not
root, ...), 2 usage error.
EOF
}

# ---- arguments

cmd=''
size=''
pagesize=$default_pagesize
node=''
dir=$default_dir
unmount=0
persist=0
rc_dry_run=0

need_value() { (( $2 >= 2 )) || rc_usage_error "option $1 needs a value"; }

while (( $# > 0 )); do
    case $1 in
        -p|--pagesize) need_value "$1" $#; pagesize=$2; shift 2 ;;
        --pagesize=*) pagesize=${1#*=}; shift ;;
        -n|--node) need_value "$1" $#; node=$2; shift 2 ;;
        --node=*) node=${1#*=}; shift ;;
        -d|--directory) need_value "$1" $#; dir=$2; shift 2 ;;
        --directory=*) dir=${1#*=}; shift ;;
        --unmount) unmount=1; shift ;;
        --persist) persist=1; shift ;;
        --dry-run) rc_dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) rc_usage_error "unknown option '$1'" ;;
        *)
            if [[ -z $cmd ]]; then
                cmd=$1
            elif [[ -z $size && ($cmd == reserve || $cmd == setup) ]]; then
                size=$1
            else
                rc_usage_error "unexpected argument '$1'"
            fi
            shift
            ;;
    esac
done

if [[ -z $cmd ]]; then
    (( persist )) || rc_usage_error "no command given"
    cmd=reserve
fi
case $cmd in
    reserve|mount|setup|status|release) ;;
    *) rc_usage_error "unknown command '$cmd'" ;;
esac

# Page size as dpdk-hugepages.py and the kernel spell it, and in kB (sysfs).
case ${pagesize^^} in
    2M|2MB|2048K|2048KB) pagesize=2M; page_kb=2048 ;;
    1G|1GB|1024M|1024MB) pagesize=1G; page_kb=1048576 ;;
    *) rc_usage_error "page size must be 2M or 1G, not '$pagesize'" ;;
esac

[[ -z $node || $node =~ ^[0-9]+$ ]] || rc_usage_error "NUMA node must be a number, not '$node'"
[[ $dir == /* ]] || rc_usage_error "the mount point must be an absolute path, not '$dir'"
[[ $dir != */ || $dir == / ]] || dir=${dir%/}
(( unmount == 0 )) || [[ $cmd == release ]] || rc_usage_error "--unmount goes with release only"
size=${size:-$default_size}

# SIZE in kB; a bare number is refused (dpdk-hugepages.py would read bytes).
size_kb() {
    local s=${1^^} n
    [[ $s =~ ^([0-9]+)([KMG])B?$ ]] || return 1
    n=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in
        K) echo "$n" ;;
        M) echo $((n * 1024)) ;;
        G) echo $((n * 1024 * 1024)) ;;
    esac
}

pages=0
if [[ $cmd == reserve || $cmd == setup ]]; then
    kb=$(size_kb "$size") || rc_usage_error "SIZE must be a number with K, M or G (e.g. 512M, 2G), not '$size'"
    (( kb % page_kb == 0 )) || rc_usage_error "SIZE $size is not a whole number of $pagesize pages"
    pages=$((kb / page_kb))
    size=${size^^}
    size=${size%B}
fi

# ---- what the host offers (read only)

numa_root=$sysfs/devices/system/node
global_root=$sysfs/kernel/mm/hugepages
is_numa() { [[ -d $numa_root ]]; }

all_nodes() {
    local d
    for d in "$numa_root"/node[0-9]*; do
        [[ -d $d ]] && echo "${d##*/node}"
    done
}

# The nr_hugepages folders a reservation touches, as dpdk-hugepages.py picks
# them: one node, every node, or the global count on a machine without NUMA.
target_dirs() {
    local n
    if [[ -n $node ]]; then
        echo "$numa_root/node$node/hugepages/hugepages-${page_kb}kB"
    elif is_numa; then
        for n in $(all_nodes); do
            echo "$numa_root/node$n/hugepages/hugepages-${page_kb}kB"
        done
    else
        echo "$global_root/hugepages-${page_kb}kB"
    fi
}

# "node0" or "all nodes" for messages.
dir_label() {
    local d=$1
    if [[ $d == "$numa_root"/node* ]]; then
        d=${d#"$numa_root"/}
        echo "${d%%/*}"
    else
        echo "the system"
    fi
}

indent() { sed 's/^/    /'; }

# 2048 -> 2M, 1048576 -> 1G
kb_label() {
    if (( $1 >= 1048576 )); then echo "$(($1 / 1048576))G"; else echo "$(($1 / 1024))M"; fi
}

read_count() { cat "$1/$2" 2>/dev/null || echo 0; }

sizes_offered() {
    local d out=()
    for d in "$global_root"/hugepages-*kB; do
        [[ -d $d ]] || continue
        d=${d##*/hugepages-}
        out+=("$(kb_label "${d%kB}")")
    done
    echo "${out[*]:-none}"
}

check_pagesize_offered() {
    [[ -d $global_root/hugepages-${page_kb}kB ]] && return 0
    if [[ $pagesize == 1G ]]; then
        rc_die "this CPU or kernel offers no 1G pages (page sizes offered: $(sizes_offered)); 1G pages need the CPU flag pdpe1gb, use -p 2M"
    fi
    rc_die "the kernel offers no $pagesize pages (page sizes offered: $(sizes_offered)); is CONFIG_HUGETLBFS on?"
}

check_node() {
    [[ -n $node ]] || return 0
    is_numa || rc_die "--node $node: this kernel shows no NUMA nodes ($numa_root is missing); leave --node out"
    [[ -d $numa_root/node$node ]] || rc_die "no NUMA node $node (nodes: $(all_nodes | tr '\n' ' '| sed 's/ $//'))"
}

# Mount options of hugetlbfs at a directory ("" when not mounted there).
mount_options() {
    awk -v d="$1" '$3 == "hugetlbfs" && $2 == d { print $4; exit }' "$procfs/mounts" 2>/dev/null || true
}

hugetlbfs_mounts() {
    awk '$3 == "hugetlbfs" { print $2 }' "$procfs/mounts" 2>/dev/null || true
}

# "pagesize=2M" in the options -> kB (the kernel writes 2M, 1024M or 1G).
mount_page_kb() {
    local opt
    for opt in ${1//,/ }; do
        if [[ $opt == pagesize=* ]]; then
            size_kb "${opt#pagesize=}" && return 0
        fi
    done
    return 1
}

# Hugetlbfs files mapped by running processes, one "PATH<TAB>PID COMM" line
# per mapping (PATH without " (deleted)"). One grep over every maps file: a
# process per pid would take seconds on a busy host.
hugepage_mappings() {
    local pats=(-e ' /anon_hugepage') m
    while read -r m; do
        [[ -n $m ]] && pats+=(-e " $m/")
    done < <(hugetlbfs_mounts)
    # grep says 2 when a process went away or hides its maps: not an error.
    { grep -sHF "${pats[@]}" "$procfs"/[0-9]*/maps 2>/dev/null || true; } \
        | awk -v procfs="$procfs" '
            {
                pid = substr($1, length(procfs) + 2)
                sub(/\/maps:.*/, "", pid)
                # "FILE:ADDR PERMS OFFSET DEV INODE PATH": drop 5 fields.
                path = $0
                for (i = 1; i <= 5; i++) sub(/^[^ ]+ +/, "", path)
                sub(/ \(deleted\)$/, "", path)
                comm = "?"
                f = procfs "/" pid "/comm"
                if ((getline c < f) > 0) comm = c
                close(f)
                print path "\t" pid " " comm
            }' | sort -u
}

# DPDK names its hugepage files <file_prefix>map_<n> (rtemap_0 by default).
leftover_files() {
    local mapped m f
    mapped=$(hugepage_mappings | cut -f1 | sort -u)
    while read -r m; do
        [[ -n $m ]] || continue
        for f in "$m"/*map_[0-9]*; do
            [[ -f $f ]] || continue
            grep -qxF -- "$f" <<<"$mapped" || echo "$f"
        done
    done < <(hugetlbfs_mounts)
}

# ---- running (or printing) the tools

need_tool() {
    command -v "$tool" >/dev/null || rc_die "$tool not found (Debian package dpdk: apt-get install dpdk)"
}

need_root() {
    (( rc_dry_run )) && return 0
    (( EUID == 0 )) || rc_die "$1 needs root (writes to /sys/kernel/mm/hugepages, mounts); try --dry-run to see what it would do"
}

# ---- commands

do_reserve() {
    check_pagesize_offered
    check_node
    local dirs d have todo=0
    mapfile -t dirs < <(target_dirs)
    (( ${#dirs[@]} > 0 )) || rc_die "found no NUMA node under $numa_root"
    if [[ -z $node ]] && (( ${#dirs[@]} > 1 )); then
        rc_say "$size of $pagesize pages on each of the ${#dirs[@]} NUMA nodes ($((pages * ${#dirs[@]})) pages in all); --node N picks one"
    fi
    for d in "${dirs[@]}"; do
        [[ $(read_count "$d" nr_hugepages) == "$pages" ]] || todo=1
    done
    if (( todo == 0 )); then
        rc_say "$pages pages of $pagesize already reserved ($size) on $(for d in "${dirs[@]}"; do dir_label "$d"; done | paste -sd, -); nothing to do"
        return 0
    fi
    need_root reserve
    (( rc_dry_run )) || need_tool
    local args=("$tool" --pagesize "$pagesize")
    [[ -z $node ]] || args+=(--node "$node")
    args+=(--reserve "$size")
    local rc=0
    rc_run "${args[@]}" || rc=$?
    (( rc_dry_run )) && return 0

    # dpdk-hugepages.py stops at the first node the kernel short-changes;
    # report every node, and what stays reserved.
    local short=0
    for d in "${dirs[@]}"; do
        have=$(read_count "$d" nr_hugepages)
        if [[ $have != "$pages" ]]; then
            printf '%s: error: asked for %s pages of %s on %s, the kernel reserved %s\n' \
                "$prog" "$pages" "$pagesize" "$(dir_label "$d")" "$have" >&2
            short=1
        fi
    done
    if (( short )); then
        cat >&2 <<EOF
$prog: the kernel found too little free contiguous memory (or pages it could not
$prog: give back are in use: see '$prog status'). What was reserved stays so;
$prog: '$prog release' frees it. Reserving at boot always works: see '$prog --persist -p $pagesize ${node:+-n $node }reserve $size'.
EOF
        exit 1
    fi
    (( rc == 0 )) || rc_die "$tool failed (exit status $rc), though the page counts are as asked"
    rc_say "reserved $pages pages of $pagesize ($size) on $(for d in "${dirs[@]}"; do dir_label "$d"; done | paste -sd, -)"
}

do_mount() {
    check_pagesize_offered
    local opts have_kb
    opts=$(mount_options "$dir")
    if [[ -n $opts ]]; then
        if have_kb=$(mount_page_kb "$opts") && (( have_kb != page_kb )); then
            rc_die "$dir is mounted with $(grep -o 'pagesize=[^,]*' <<<"$opts"), not $pagesize: DPDK would find no $pagesize pages there; 'umount $dir' first, or mount elsewhere (-d ${dir%/*}/hugepages-$pagesize)"
        fi
        rc_say "hugetlbfs already mounted on $dir ($opts); nothing to do"
        return 0
    fi
    need_root mount
    (( rc_dry_run )) || need_tool
    [[ -d $dir ]] || rc_run mkdir -p "$dir"
    rc_run "$tool" --pagesize "$pagesize" --mount --directory "$dir"
    (( rc_dry_run )) && return 0
    [[ -n $(mount_options "$dir") ]] || rc_die "hugetlbfs is not mounted on $dir after '$tool --mount' (see mount's message above)"
    rc_say "mounted hugetlbfs ($pagesize pages) on $dir"
}

do_release() {
    need_root release
    local f files
    files=$(leftover_files)
    if [[ -n $files ]]; then
        while read -r f; do
            (( rc_dry_run )) || rc_say "removing $f: left by an exited DPDK process, it pins hugepages"
            rc_run rm -f -- "$f"
        done <<<"$files"
    fi
    (( rc_dry_run )) || need_tool
    local rc=0
    rc_run "$tool" --clear || rc=$?
    if (( unmount )); then
        rc_run "$tool" --unmount --directory "$dir" || rc=$?
    fi
    (( rc_dry_run )) && return 0

    local d left=0 n
    for d in "$global_root"/hugepages-*kB; do
        [[ -d $d ]] || continue
        n=$(read_count "$d" nr_hugepages)
        if (( n > 0 )); then
            f=${d##*/hugepages-}
            printf '%s: error: %s pages of %s still reserved: the kernel cannot free pages in use\n' \
                "$prog" "$n" "$(kb_label "${f%kB}")" >&2
            left=1
        fi
    done
    if (( left )); then
        local holders
        holders=$(hugepage_mappings | cut -f2 | sort -u)
        if [[ -n $holders ]]; then
            printf '%s: processes holding hugepages (pid, name):\n' "$prog" >&2
            printf '%s\n' "$holders" | indent >&2
        fi
        exit 1
    fi
    (( rc == 0 )) || rc_die "$tool failed (exit status $rc)"
    if (( unmount )) && [[ -n $(mount_options "$dir") ]]; then
        rc_die "$dir is still mounted (busy?)"
    fi
    rc_say "released every hugepage$( (( unmount )) && echo " and unmounted $dir")"
}

do_status() {
    need_tool
    "$tool" --show || rc_die "$tool --show failed"
    echo
    echo "Page sizes offered: $(sizes_offered)"
    local d n f
    for d in "$global_root"/hugepages-*kB; do
        [[ -d $d ]] || continue
        n=${d##*/hugepages-}
        printf '%s pages: total %s, free %s, reserved for mappings %s, surplus %s' \
            "$(kb_label "${n%kB}")" "$(read_count "$d" nr_hugepages)" "$(read_count "$d" free_hugepages)" \
            "$(read_count "$d" resv_hugepages)" "$(read_count "$d" surplus_hugepages)"
        if is_numa; then
            for n in $(all_nodes); do
                f=$numa_root/node$n/hugepages/${d##*/}
                [[ -d $f ]] && printf '; node%s: %s/%s free' "$n" "$(read_count "$f" free_hugepages)" "$(read_count "$f" nr_hugepages)"
            done
        fi
        echo
    done
    local m any=0
    while read -r m; do
        [[ -n $m ]] || continue
        echo "hugetlbfs on $m ($(mount_options "$m"))"
        any=1
    done < <(hugetlbfs_mounts)
    (( any )) || echo "hugetlbfs: not mounted ('$prog mount')"
    local files
    files=$(leftover_files)
    if [[ -n $files ]]; then
        echo "Files left by exited DPDK processes ('$prog release' removes them):"
        printf '%s\n' "$files" | indent
    fi
    local holders
    holders=$(hugepage_mappings | cut -f2 | sort -u)
    if [[ -n $holders ]]; then
        echo "Processes holding hugepages (pid, name):"
        printf '%s\n' "$holders" | indent
    fi
}

# Boot-time setup: pages reserved by the kernel before memory fragments,
# the only dependable way to get 1G pages.
do_persist() {
    local count=$pages
    [[ -z $node ]] || count="$node:$pages"
    cat <<EOF
# Kernel command line: add to GRUB_CMDLINE_LINUX in /etc/default/grub, then
# rc_run update-grub and reboot.
default_hugepagesz=$pagesize hugepagesz=$pagesize hugepages=$count
EOF
    if [[ -z $node ]] && is_numa && (( $(all_nodes | wc -l) > 1 )); then
        echo "# (the kernel spreads hugepages=$pages over the NUMA nodes; hugepages=NODE:COUNT,... pins them)"
    fi
    cat <<EOF
# /etc/fstab: replaces systemd's default mount of /dev/hugepages.
nodev $dir hugetlbfs pagesize=$pagesize 0 0
EOF
}

if (( persist )); then
    [[ $cmd == reserve || $cmd == setup || $cmd == mount ]] \
        || rc_usage_error "--persist goes with reserve, setup or mount (or alone)"
    if [[ $cmd == mount ]]; then
        pages=$(( $(size_kb "$default_size") / page_kb ))
    fi
    do_persist
    exit 0
fi

case $cmd in
    reserve) do_reserve ;;
    mount) do_mount ;;
    setup) do_reserve; do_mount ;;
    status) do_status ;;
    release) do_release ;;
esac
