#!/usr/bin/env bash
# Flake check under load: run a pytest selection (or a whole command, e.g. `make test`) N times
# while K busy loops keep the CPUs busy; print passed/failed per run and the flake rate (issue 18:
# tests must not flake under load).
#
#   tools/load_repeat.sh [-n RUNS] [-k BUSY_LOOPS] [--] PYTEST_ARGS...
#   tools/load_repeat.sh [-n RUNS] [-k BUSY_LOOPS] -c 'COMMAND'
#   tools/load_repeat.sh -n 3 -k 2 -- test/e2e -m e2e
#   tools/load_repeat.sh -n 3 -k 2 -c 'make test'
#
# PYTHON (default .venv/bin/python) runs pytest. With -c the command runs under bash and every
# pytest summary line in its output counts (`make test` has two: the main suite and the tier-1 job).
# The busy loops are children of this script and are killed by their process ids when it exits
# (also on Ctrl-C). Run the whole thing under `nice` to keep a shared machine usable: the loops and
# the tests then share that niceness.
# Exit status: 0 when every run passed, 1 when any run had a failure or error, 2 on bad usage.
set -u

runs=3
busy=2
command=
usage() { sed -n '2,17p' "$0"; exit 2; }
while getopts "n:k:c:h" opt; do
    case $opt in
        n) runs=$OPTARG ;;
        k) busy=$OPTARG ;;
        c) command=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
if ! [[ $runs =~ ^[1-9][0-9]*$ && $busy =~ ^[0-9]+$ ]]; then
    usage
fi
if [ -n "$command" ]; then
    [ $# -eq 0 ] || usage  # one or the other
    what=$command
else
    [ $# -gt 0 ] || usage
    what="pytest $*"
fi

python=${PYTHON:-.venv/bin/python}
loops=()
stop_loops() {
    for pid in "${loops[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${loops[@]}"; do
        wait "$pid" 2>/dev/null
    done
    loops=()
}
trap stop_loops EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 "$busy"); do
    ( while :; do :; done ) &
    loops+=("$!")
done
echo "load-repeat: $runs run(s) of: $what  (with $busy busy loop(s), pids ${loops[*]:-none})"

log=$(mktemp -t load_repeat.XXXXXX)
failed_runs=0
total_tests=0
total_failed=0
for run in $(seq 1 "$runs"); do
    start=$(date +%s)
    if [ -n "$command" ]; then
        bash -c "$command" >"$log" 2>&1
    else
        "$python" -m pytest -q -p no:cacheprovider -rfE "$@" >"$log" 2>&1
    fi
    code=$?
    took=$(( $(date +%s) - start ))
    # every pytest summary line of the run ("=== 3 passed, 1 failed in 2.0s ===", or -q's bare form)
    summaries=$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped)|no tests ran' "$log" | tr -d '=')
    count() { grep -oE "[0-9]+ $1" <<<"$summaries" | grep -oE '^[0-9]+' | awk '{ s += $1 } END { print s + 0 }'; }
    passed=$(count passed)
    failed=$(( $(count failed) + $(count 'errors?') ))
    total_tests=$(( total_tests + passed + failed ))
    total_failed=$(( total_failed + failed ))
    if [ "$code" -ne 0 ] || [ "$failed" -gt 0 ]; then
        failed_runs=$(( failed_runs + 1 ))
    fi
    printf 'run %d/%d: %d passed, %d failed (exit %d, %d s)\n' "$run" "$runs" "$passed" "$failed" "$code" "$took"
    grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /'
    if [ "$code" -ne 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        tail -5 "$log" | sed 's/^/    /'  # a usage or collection error: show it
    fi
done
rm -f "$log"
stop_loops

if [ "$total_tests" -gt 0 ]; then
    rate=$(awk -v f="$total_failed" -v t="$total_tests" 'BEGIN { printf "%.2f %%", 100 * f / t }')
else
    rate="n/a (no test ran)"
fi
echo "load-repeat: $failed_runs of $runs run(s) failed; $total_failed failures in $total_tests test executions" \
     "(flake rate $rate)"
[ "$failed_runs" -eq 0 ]
