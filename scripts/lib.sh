# shellcheck shell=bash
# Shared by the scripts: sourced, not run.
# Installs what is missing (Debian 12, as root) and configures the builds.

# Everything the build, the tests and the demo need, as Debian packages.
rc_packages=(
    dpdk dpdk-dev libdpdk-dev
    meson ninja-build pkg-config g++
    libtomlplusplus-dev libbpf-dev libxdp-dev clang libclang-rt-14-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    iproute2 ethtool python3 iputils-ping netcat-openbsd hping3 python3-scapy
    python3-prometheus-client python3-matplotlib
    libnats-dev nats-server
    mosquitto mosquitto-clients libmosquitto-dev python3-paho-mqtt
)

rc_say() { printf '%s: %s\n' "${rc_prog:-ringcast}" "$*"; }
rc_warn() { printf '%s: warning: %s\n' "${rc_prog:-ringcast}" "$*" >&2; }
rc_die() { printf '%s: error: %s\n' "${rc_prog:-ringcast}" "$*" >&2; exit 1; }

# A usage mistake: says what and where help is, exit status 2.
rc_usage_error() {
    printf '%s: %s\n' "${rc_prog:-ringcast}" "$1" >&2
    printf "Try '%s --help'.\n" "${rc_prog:-ringcast}" >&2
    exit 2
}

# Runs a command, or with rc_dry_run=1 prints it (shell-quoted) instead.
rc_run() {
    if (( ${rc_dry_run:-0} )); then
        local out=() a
        for a in "$@"; do out+=("$(printf '%q' "$a")"); done
        echo "${out[*]}"
        return 0
    fi
    "$@"
}

rc_need_root() {
    (( EUID == 0 )) || rc_die "run as root (packages, network namespaces, DPDK need it)"
}

# Stops a child process: SIGTERM, up to 5 s, then SIGKILL; reaped either way.
rc_stop_child() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Installs only the packages that are not installed yet: one `apt-get
# update`, one `apt-get install`, nothing at all when everything is there.
rc_install_missing() {
    local missing=() p
    for p in "${rc_packages[@]}"; do
        if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
            missing+=("$p")
        fi
    done
    if (( ${#missing[@]} == 0 )); then
        rc_say "all ${#rc_packages[@]} required packages are installed"
        return 0
    fi
    command -v apt-get >/dev/null || rc_die "missing packages (${missing[*]}) and no apt-get: this wants Debian 12"
    rc_need_root
    rc_say "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || rc_die "apt-get update failed"
    apt-get install -y --no-install-recommends "${missing[@]}" || rc_die "apt-get install failed"
}

# meson setup, or reconfigure a build folder made before (werror as in CI).
rc_configure() {
    local dir=${1:-build}
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" -Dwerror=true
    else
        meson setup "$dir" -Dwerror=true
    fi
}

# The sanitizer build (scripts/test.sh, scripts/fuzz.sh): clang (libFuzzer
# needs it), AddressSanitizer and UndefinedBehaviorSanitizer, the fuzz
# targets, no benchmarks. b_lundef=false: clang's sanitizer runtimes are
# linked into executables only, so shared objects have undefined symbols.
rc_san_options=(-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false -Dfuzz=true)
rc_configure_san() {
    local dir=${1:-build-san}
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "${rc_san_options[@]}"
    else
        CXX=clang++ meson setup "$dir" "${rc_san_options[@]}"
    fi
}

# ringcastd's config for a benchmark's private bed, on stdout: the test
# bed's (config/testbed.toml, from the current folder) with EAL file prefix
# PREFIX, net_af_packet on IFACE, every lcore on core 1, nothing retained
# (the peers keep nothing either) and io -> worker rings of 65536 slots (a
# burst of datagrams or segments full of 64 B PUBs overflows the default
# 4096: ring_full); then the caller's own SED_EXPR CHECK pairs. Dies when the
# file no longer has a line this rewrites.
# usage: rc_bench_config PREFIX IFACE [SED_EXPR CHECK]...
rc_bench_config() {
    local prefix=$1 iface=$2 text e
    shift 2
    local -a exprs=(
        "s/^file_prefix = \"[^\"]*\"/file_prefix = \"$prefix\"/" "s/iface=rc0/iface=$iface/"
        's/^main_lcore = 0 /main_lcore = 1 /' 's/^io = \[0\]/io = [1]/' 's/^worker = \[0\]/worker = [1]/'
        's/^keep = 1024$/keep = 0/' 's/^size = 4096 /size = 65536 /')
    local -a checks=("file_prefix = \"$prefix\"" "iface=$iface" "main_lcore = 1" "io = \[1\]" "worker = \[1\]"
        "^keep = 0" "^size = 65536")
    while (( $# >= 2 )); do
        exprs+=("$1")
        checks+=("$2")
        shift 2
    done
    local -a args=()
    for e in "${exprs[@]}"; do args+=(-e "$e"); done
    text=$(sed "${args[@]}" config/testbed.toml) || rc_die "cannot read config/testbed.toml"
    for e in "${checks[@]}"; do
        grep -q -- "$e" <<<"$text" || rc_die "config/testbed.toml changed: cannot set '$e'"
    done
    printf '%s\n' "$text"
}

# The bench scripts' brokers on the veth bed (bench-tcp.sh, bench-mqtt.sh):
# one at a time in $RC_NS_APP, pinned to core 1, its pid in rc_broker_pid.
# ip netns exec and taskset both exec, so $! is the broker itself, whose CPU
# time is read from /proc (started from a function like app(), $! would be
# a subshell). A kernel broker is given the bed's address on $RC_IF_APP
# while it runs; ringcastd owns the address itself through net_af_packet.
rc_broker_pid='' rc_broker_addr=''

# The CPU figures read /proc/$rc_broker_pid: it must be COMM itself.
rc_broker_check() {
    local comm
    comm=$(cat "/proc/$rc_broker_pid/comm" 2>/dev/null || true)
    [[ $comm == "$1"* ]] || rc_die "pid $rc_broker_pid is '$comm', not $1"
}

# usage: rc_broker_start_ringcastd RINGCASTD CONFIG LOG
rc_broker_start_ringcastd() {
    local log=$3
    ip netns exec "$RC_NS_APP" taskset -c 1 "$1" -c "$2" >"$log" 2>&1 &
    rc_broker_pid=$!
    for _ in $(seq 400); do
        grep -q '^ringcastd: ready$' "$log" && { rc_broker_check ringcastd; return 0; }
        kill -0 "$rc_broker_pid" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$log" >&2
    rc_die "ringcastd did not start in $RC_NS_APP"
}

# COMMAND listens on ADDR:PORT once it is up; COMM is its name in /proc.
# usage: rc_broker_start_kernel ADDR PORT COMM LOG COMMAND...
rc_broker_start_kernel() {
    local addr=$1 port=$2 comm=$3 log=$4
    shift 4
    ip -n "$RC_NS_APP" addr add "$addr/24" dev "$RC_IF_APP"
    rc_broker_addr=$addr
    ip netns exec "$RC_NS_APP" taskset -c 1 "$@" >"$log" 2>&1 &
    rc_broker_pid=$!
    for _ in $(seq 200); do
        [[ -n $(ip netns exec "$RC_NS_APP" ss -Htln "sport = :$port") ]] && { rc_broker_check "$comm"; return 0; }
        kill -0 "$rc_broker_pid" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$log" >&2
    rc_die "$comm did not start in $RC_NS_APP"
}

rc_broker_stop() {
    if [[ -n $rc_broker_pid ]]; then
        rc_stop_child "$rc_broker_pid"
        rc_broker_pid=
    fi
    if [[ -n $rc_broker_addr ]]; then
        ip -n "$RC_NS_APP" addr del "$rc_broker_addr/24" dev "$RC_IF_APP" 2>/dev/null || true
        rc_broker_addr=
    fi
}

# Builds TARGETs in build-bench (configured first when it is not), quietly;
# dies naming them when the build fails. From the source root.
# usage: rc_bench_build TARGET...
rc_bench_build() {
    if [[ ! -f build-bench/build.ninja ]]; then
        rc_configure build-bench >/dev/null
    fi
    ninja -C build-bench -j2 "$@" >/dev/null || rc_die "building $* in build-bench failed"
}
