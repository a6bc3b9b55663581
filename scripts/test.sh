#!/usr/bin/env bash
# Sets up, builds and runs every test (suites unit, eal, integration, scripts, docs).
# As root on Debian 12: installs what is missing first.
# The last line printed is "N passed, N failed[, N skipped]"; the exit status
# is non-zero on any failure, a failed build included.
set -euo pipefail
cd "$(dirname "$0")/.."
rc_prog=test.sh
. scripts/lib.sh

build=build
log=$(mktemp -t ringcast-test.XXXXXX)
trap 'rm -f "$log"' EXIT

build_failed() {
    rc_say "$1"
    echo "0 passed, 1 failed"
    exit 1
}

# Root is needed to install packages (asked for only when some are missing)
# and by the integration tests, which skip themselves without it.
( rc_install_missing ) || build_failed "installing the required packages failed"
rc_configure "$build" || build_failed "meson setup failed"
ninja -C "$build" || build_failed "build failed"

rc=0
meson test -C "$build" --print-errorlogs 2>&1 | tee "$log" \
    || rc=$?

# meson's summary: "Ok:  N", "Expected Fail:  N", "Fail:  N",
# "Unexpected Pass:  N", "Skipped:  N", "Timeout:  N".
count() { awk -v k="$1" -F: '$1 == k { gsub(/[^0-9]/, "", $2); n = $2 } END { print n + 0 }' "$log"; }
if ! grep -q '^Ok:' "$log"; then
    rc_say "meson test printed no summary (exit status $rc)"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=$(( $(count 'Ok') + $(count 'Expected Fail') ))
failed=$(( $(count 'Fail') + $(count 'Unexpected Pass') + $(count 'Timeout') ))
skipped=$(count 'Skipped')
if (( rc != 0 && failed == 0 )); then
    failed=1 # meson failed without saying which test: count it
fi
line="$passed passed, $failed failed"
(( skipped == 0 )) || line+=", $skipped skipped"
echo "$line"
(( failed == 0 && rc == 0 ))
