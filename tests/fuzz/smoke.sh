#!/usr/bin/env bash
# A bounded libFuzzer run for `meson test --suite fuzz`: the target on a
# copy of its seed corpus (the repo's corpus is only read), for SECONDS.
# A crash or leak fails the test; the input is kept beside the target
# (crash-<sha1>, leak-<sha1>) for replaying: `TARGET FILE`.
#
# usage: smoke.sh TARGET CORPUS SECONDS [DICT]
set -euo pipefail
target=$1 corpus=$2 seconds=$3 dict=${4:-}

work=$(mktemp -d -t ringcast-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus" "$work/corpus"

# libFuzzer's own exit status for a crash is 77, which meson reads as
# "skipped": 1 instead, for crashes, leaks and timeouts alike.
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$(dirname "$target")/")
[[ -z $dict ]] || args+=(-dict="$dict")
"$target" "${args[@]}" "$work/corpus"
