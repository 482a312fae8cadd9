#!/usr/bin/env bash
# nodus-hpccg survives nodusd being SIGKILLed and restarted on the same socket mid-solve (issue 8;
# docs/protocol.md, "Daemon restarts"): the run ends with exactly the iterations and residuals
# (full precision, bit for bit) of an undisturbed run with the same arguments, and every kernel
# body ran exactly once.
#   test_hpccg_restart.sh one|mpi     (mpi: two ranks under mpirun, each its own session;
#                                      77 without MPI or mpirun, and under the sanitizers)
#
# Tasks mode is deterministic for a given --tasks: each block's partial dot product sums in index
# order and the reduction task adds the partials in block order, whatever core ran which block and
# when (checked across daemon core counts; docs/hpccg.md). So equality is asserted, not a
# tolerance: the final residual after 149 steps is round-off (~1e-22 of a 1e3 start; ~1e-15 after
# the sanitizer runs' 79), which any lost, repeated or reordered update would change.
#
# Each kill happens while the solve is under way: the nodus-hpccg process (or mpirun) is alive and
# its sessions on the daemon being killed have completed tasks (nodusctl status), and the YAML's
# Reconnects (rank 0's) must equal the number of kills. HPCCG, HPCCG_MPI, NODUSD and NODUSCTL
# come from ctest's environment.
. "$(dirname "$0")/../integration/harness.sh"
case=${1:-one}
command -v jq >/dev/null || { echo "jq is not installed: skipped"; exit 77; }
launch=()
if [ "$case" = mpi ]; then
    [ "${HPCCG_MPI:-0}" = 1 ] || { echo "built without MPI: skipped"; exit 77; }
    command -v mpirun >/dev/null || { echo "no mpirun: skipped"; exit 77; }
    if [ -n "${NODUS_TEST_SANITIZER:-}" ]; then
        echo "Open MPI is not sanitizer-clean: skipped under sanitizers"
        exit 77
    fi
    launch=(mpirun --allow-run-as-root --oversubscribe -np 2 -x NODUS_SOCKET -x NODUS_NO_AUTOSTART
        -x NODUS_RECONNECT_TIMEOUT)
fi
export NODUS_SOCKET="$SOCK"
app=""
trap 'rc=$?; [ -z "$app" ] || kill "$app" 2>/dev/null || true; (exit $rc); cleanup' EXIT

# 80^3 takes about 3 s here with 8 blocks on 2 cores (about 7200 tasks). Sanitizer builds pay
# mostly per task (TSan: over a minute for the two runs of 40^3), so they also do fewer steps.
grid=80 iters=150
after=1000 # kill once the sessions on the current daemon have completed this many tasks
[ -z "${NODUS_TEST_SANITIZER:-}" ] || { grid=40; iters=80; after=600; }
args=("$grid" "$grid" "$grid" --tasks 8 --max-iter "$iters")
# two ranks of 64x64x32 (Open MPI's waits spin, so MPI runs are slower here)
[ "$case" = mpi ] && args=(64 64 32 --tasks 4 --max-iter "$iters")
kills_wanted=2

# value FILE KEY: a value of a YAML summary ("  Final residual" is the full-precision one)
value() {
    grep -m1 "^$2: " "$1" | sed 's/^[^:]*: //'
}

start_daemon --cores 2

# the undisturbed run
export NODUS_RECONNECT_TIMEOUT=20
"${launch[@]}" "$HPCCG" "${args[@]}" --yaml "$WORK/ref.yaml" >/dev/null 2>"$WORK/ref.err" ||
    fail "undisturbed run: $(cat "$WORK/ref.err")"

# the same run, the daemon killed under it and restarted 0.2 s later, twice
"${launch[@]}" "$HPCCG" "${args[@]}" --yaml "$WORK/run.yaml" >/dev/null \
    2>"$WORK/run.err" &
app=$!
kill_daemon_under $app hpccg $after $kills_wanted --cores 2
rc=0
wait $app || rc=$?
app=""
[ $rc = 0 ] || fail "nodus-hpccg exited $rc after $kills restarts: $(tail -n 5 "$WORK/run.err")"
[ $kills = $kills_wanted ] || fail "the solve ended after $kills of $kills_wanted kills (too fast?)"

[ "$(value "$WORK/run.yaml" '  Reconnects')" = $kills ] ||
    fail "Reconnects: $(value "$WORK/run.yaml" '  Reconnects'), for $kills restarts"
[ "$(value "$WORK/ref.yaml" '  Reconnects')" = 0 ] || fail "the undisturbed run reconnected"
for key in 'Number of iterations' '  Initial residual' '  Final residual' '    cpu'; do
    ref=$(value "$WORK/ref.yaml" "$key") got=$(value "$WORK/run.yaml" "$key")
    [ -n "$ref" ] && [ "$got" = "$ref" ] || fail "$key: $got after restarts, $ref undisturbed"
done
echo "restarted $kills times: $(value "$WORK/run.yaml" 'Number of iterations') iterations," \
    "final residual $(value "$WORK/run.yaml" '  Final residual') and" \
    "$(value "$WORK/run.yaml" '    cpu') kernel bodies, as undisturbed"
echo "test_hpccg_restart $case: OK"
