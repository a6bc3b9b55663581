# shellcheck shell=bash
# TAP output for the script tests (meson `protocol: 'tap'`): sourced, not run.
#
#   check DESC RC [-o RE] [-e RE] [-a RE] [-N RE] -- CMD [ARG...]
#
# runs CMD, and passes when it exits RC and its stdout (-o), stderr (-e) or
# either (-a) has a line matching each extended regex RE, and neither has a
# line matching any -N RE. On failure the command and its output are shown
# as TAP comments. `tap_done` prints the plan and is the script's exit status.

tap_n=0
tap_failed=0
tap_dir=$(mktemp -d -t ringcast-tap.XXXXXX)
tap_out=$tap_dir/stdout
tap_err=$tap_dir/stderr

tap_ok() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1"
}

tap_not_ok() {
    tap_n=$((tap_n + 1))
    tap_failed=1
    echo "not ok $tap_n - $1"
    shift
    local l
    for l in "$@"; do
        printf '%s\n' "$l" | sed 's/^/# /'
    done
}

tap_skip() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
}

check() {
    local desc=$1 want=$2
    shift 2
    local outs=() errs=() anys=() nots=()
    while (( $# > 0 )) && [[ $1 != -- ]]; do
        case $1 in
            -o) outs+=("$2") ;;
            -e) errs+=("$2") ;;
            -a) anys+=("$2") ;;
            -N) nots+=("$2") ;;
            *) echo "check: bad option '$1'" >&2; exit 99 ;;
        esac
        shift 2
    done
    [[ ${1:-} == -- ]] || { echo "check: '--' missing in '$desc'" >&2; exit 99; }
    shift

    local rc=0
    "$@" >"$tap_out" 2>"$tap_err" </dev/null || rc=$?
    local why=() re
    (( rc == want )) || why+=("exit status $rc, expected $want")
    for re in "${outs[@]}"; do
        grep -Eq -- "$re" "$tap_out" || why+=("stdout has no line matching: $re")
    done
    for re in "${errs[@]}"; do
        grep -Eq -- "$re" "$tap_err" || why+=("stderr has no line matching: $re")
    done
    for re in "${anys[@]}"; do
        cat "$tap_out" "$tap_err" | grep -Eq -- "$re" || why+=("output has no line matching: $re")
    done
    for re in "${nots[@]}"; do
        if cat "$tap_out" "$tap_err" | grep -Eq -- "$re"; then
            why+=("output has a line matching: $re")
        fi
    done
    if (( ${#why[@]} == 0 )); then
        tap_ok "$desc"
        return 0
    fi
    tap_not_ok "$desc" "${why[@]}" "command: $*" "stdout:" "$(cat "$tap_out")" "stderr:" "$(cat "$tap_err")"
    return 0
}

# A plain assertion: assert DESC CMD [ARG...] (passes when CMD succeeds).
assert() {
    local desc=$1
    shift
    if "$@"; then
        tap_ok "$desc"
    else
        tap_not_ok "$desc" "failed: $*"
    fi
}

tap_done() {
    rm -rf "$tap_dir"
    echo "1..$tap_n"
    return "$tap_failed"
}

# STRING as an extended regex that matches it literally.
re_quote() { printf '%s' "$1" | sed 's/[][\.*^$?+(){}|]/\\&/g'; }
