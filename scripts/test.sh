#!/usr/bin/env bash
# Sets up, builds and runs every test (suites unit, eal, integration, scripts,
# docs), then builds again with ASan and UBSan (build-san, clang) and runs the
# suites unit, eal, integration and fuzz there.
# As root on Debian 12: installs what is missing first.
# The last line printed is "N passed, N failed[, N skipped]", summed over
# every meson test run; the exit status is non-zero on any failure, a failed
# build included.
set -euo pipefail
cd "$(dirname "$0")/.."
rc_prog=test.sh
. scripts/lib.sh

build=build
san=build-san
logs=$(mktemp -d -t ringcast-test.XXXXXX)
trap 'rm -rf "$logs"' EXIT

passed=0 failed=0 skipped=0

# The counts so far, one more failure, and out.
build_failed() {
    rc_say "$1"
    echo "$passed passed, $(( failed + 1 )) failed"
    exit 1
}

# One figure of meson test's summary in log $2 ("Ok:  N", "Expected Fail:  N",
# "Fail:  N", "Unexpected Pass:  N", "Skipped:  N", "Timeout:  N").
count() { awk -v k="$1" -F: '$1 == k { gsub(/[^0-9]/, "", $2); n = $2 } END { print n + 0 }' "$2"; }

# meson test with these arguments, its output kept in $logs/$1.log, its
# summary added to the counts. Returns meson's status.
run_tests() {
    local name=$1 log=$logs/$1.log rc=0
    shift
    meson test "$@" --print-errorlogs 2>&1 | tee "$log" || rc=$?
    if ! grep -q '^Ok:' "$log"; then
        rc_say "meson test ($name) printed no summary (exit status $rc)"
        failed=$(( failed + 1 ))
        return 1
    fi
    local f=$(( $(count 'Fail' "$log") + $(count 'Unexpected Pass' "$log") + $(count 'Timeout' "$log") ))
    if (( rc != 0 && f == 0 )); then
        f=1 # meson failed without saying which test: count it
    fi
    passed=$(( passed + $(count 'Ok' "$log") + $(count 'Expected Fail' "$log") ))
    failed=$(( failed + f ))
    skipped=$(( skipped + $(count 'Skipped' "$log") ))
    return "$rc"
}

# Root is needed to install packages (asked for only when some are missing)
# and by the integration tests, which skip themselves without it.
( rc_install_missing ) || build_failed "installing the required packages failed"
rc_configure "$build" || build_failed "meson setup failed"
ninja -C "$build" || build_failed "build failed"

rc=0
run_tests all -C "$build" || rc=1

# Again under AddressSanitizer and UndefinedBehaviorSanitizer (clang), where
# the fuzz targets also build: the suites that run our code, each fuzz
# target a bounded smoke. The sanitizer options are meson test setups
# (meson.build), so a run by hand gets the same.
started=$SECONDS
rc_configure_san "$san" || build_failed "meson setup $san failed"
ninja -C "$san" || build_failed "build of $san failed"
run_tests sanitize -C "$san" --setup sanitize --suite unit --suite eal --suite fuzz || rc=1
run_tests sanitize_integration -C "$san" --setup sanitize_integration --suite integration || rc=1
rc_say "sanitizer build and tests: $(( SECONDS - started )) s"

line="$passed passed, $failed failed"
(( skipped == 0 )) || line+=", $skipped skipped"
echo "$line"
(( failed == 0 && rc == 0 ))
