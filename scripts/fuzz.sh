#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz) longer than test.sh's smoke: builds
# the sanitizer build (build-san: clang, ASan, UBSan, -Dfuzz=true), then each
# target in turn for --seconds, as --jobs processes sharing one working
# corpus outside the repo (DIR/<target>, seeded from tests/fuzz/corpus/<target>
# and kept between runs). Prints for each target its executions, coverage
# (libFuzzer's cov: and ft: at the end), corpus size, crashes and leaks; the
# inputs that crashed are kept in DIR/artifacts/. Exit status 1 if any target
# crashed, leaked or timed out.
#
# usage: scripts/fuzz.sh [--seconds N] [--jobs N] [--dir DIR] [TARGET...]
#   --seconds N  per target (default 75)
#   --jobs N     fuzzing processes per target, 1 or 2 (default 2)
#   --dir DIR    working corpora and artifacts (default /var/tmp/ringcast-fuzz)
#   TARGET       frame_fuzz, topic_fuzz, config_fuzz, classify_fuzz, tcp_fuzz, stream_fuzz, bridge_fuzz, mqtt_fuzz (default all)
#
# Replay a crash: build-san/tests/fuzz/TARGET DIR/artifacts/TARGET-crash-...
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rc_prog=fuzz.sh
# shellcheck source=scripts/lib.sh
source "$top/scripts/lib.sh"

all_targets=(frame_fuzz topic_fuzz config_fuzz classify_fuzz tcp_fuzz stream_fuzz bridge_fuzz mqtt_fuzz)
seconds=75 jobs=2 dir=/var/tmp/ringcast-fuzz targets=()
while (( $# )); do
    case $1 in
        --seconds) seconds=${2:?--seconds needs a number}; shift ;;
        --jobs) jobs=${2:?--jobs needs a number}; shift ;;
        --dir) dir=${2:?--dir needs a folder}; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) rc_usage_error "unknown option '$1'" ;;
        *)
            [[ " ${all_targets[*]} " == *" $1 "* ]] || rc_usage_error "unknown target '$1' (${all_targets[*]})"
            targets+=("$1")
            ;;
    esac
    shift
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || rc_usage_error "--seconds: a number from 1, not '$seconds'"
[[ $jobs == 1 || $jobs == 2 ]] || rc_usage_error "--jobs: 1 or 2, not '$jobs'"
(( ${#targets[@]} )) || targets=("${all_targets[@]}")

( rc_install_missing ) || rc_die "installing the required packages failed"
cd "$top"
build=build-san
rc_configure_san "$build" >/dev/null || rc_die "meson setup $build failed"
ninja -C "$build" "${targets[@]/#/tests/fuzz/}" >/dev/null || rc_die "building the fuzz targets failed"

# As the sanitize test setup in meson.build: any report ends the run with a stack.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
mkdir -p "$dir/artifacts" "$dir/logs"

# The last value of a libFuzzer "key: N" field in a log (0 when absent).
field() { grep -o "$1 [0-9]*" "$2" | tail -n 1 | grep -o '[0-9]*$' || echo 0; }

failed=0
total_execs=0
for t in "${targets[@]}"; do
    corpus=$dir/$t
    mkdir -p "$corpus"
    # New seeds join; what earlier runs found stays.
    for f in "tests/fuzz/corpus/$t"/*; do
        [[ -e $corpus/${f##*/} ]] || cp "$f" "$corpus/"
    done
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$dir/artifacts/$t-")
    [[ ! -f tests/fuzz/$t.dict ]] || args+=(-dict="tests/fuzz/$t.dict")
    rc_say "$t: $jobs x $seconds s on $corpus ($(find "$corpus" -type f | wc -l) inputs)"
    pids=()
    for (( j = 0; j < jobs; j++ )); do
        "$build/tests/fuzz/$t" "${args[@]}" "$corpus" >"$dir/logs/$t.$j.log" 2>&1 &
        pids+=($!)
    done
    # A libFuzzer process stops at its first finding: each is one crash
    # (including sanitizer reports, failed invariants and timeouts) or one leak.
    execs=0 cov=0 ft=0 crashes=0 leaks=0
    for (( j = 0; j < jobs; j++ )); do
        log=$dir/logs/$t.$j.log
        rc=0
        wait "${pids[j]}" || rc=$?
        execs=$(( execs + $(field 'stat::number_of_executed_units:' "$log") ))
        c=$(field 'cov:' "$log") f=$(field 'ft:' "$log")
        (( c <= cov )) || cov=$c
        (( f <= ft )) || ft=$f
        if grep -q 'ERROR: LeakSanitizer' "$log"; then
            leaks=$(( leaks + 1 ))
        elif (( rc != 0 )); then
            crashes=$(( crashes + 1 ))
        fi
    done
    total_execs=$(( total_execs + execs ))
    rc_say "$t: $execs executions, cov $cov, ft $ft, corpus $(find "$corpus" -type f | wc -l), $crashes crashes, $leaks leaks"
    if (( crashes + leaks != 0 )); then
        failed=1
        rc_say "$t: see $dir/logs/$t.*.log; the inputs are in $dir/artifacts/"
    fi
done
rc_say "$total_execs executions in all"
exit "$failed"
