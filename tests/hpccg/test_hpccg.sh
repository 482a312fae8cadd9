#!/usr/bin/env bash
# nodus-hpccg (apps/hpccg) through a private nodusd, on tiny grids so that it takes seconds under
# the sanitizers too. Every run passes --verify: the program solves the same problem with a
# plain sequential CG (on the stencil, no CSR, no tasks) and fails (exit 3) unless the iteration
# count and the residual history agree (relative 1e-6 while the residual is above round-off).
#   test_hpccg.sh cpu|forkjoin|standalone|opencl|cuda|mixed|mpi
# HPCCG (the binary) and HPCCG_MPI (1 when built with MPI) come from ctest's environment.
. "$(dirname "$0")/../integration/harness.sh"
case=${1:?case}

# run ARGS...: runs nodus-hpccg with a YAML file in $WORK, exits 77 if it skipped.
run() {
    local rc=0
    "$HPCCG" "$@" --yaml "$WORK/out.yaml" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
    cat "$WORK/out.txt"
    [ $rc = 77 ] && exit 77
    [ $rc = 0 ] || { cat "$WORK/err.txt"; fail "nodus-hpccg $* exited $rc"; }
    grep -q '^# verify: OK' "$WORK/out.txt" || fail "nodus-hpccg $*: no verification"
    cmp -s <(grep -v '^# verify' "$WORK/out.txt") "$WORK/out.yaml" || fail "YAML file differs"
}
# value KEY: a value of the last run's YAML ("  Final residual" is the full-precision one)
value() {
    grep -m1 "^$1: " "$WORK/out.yaml" | sed 's/^[^:]*: //'
}
# close A B: A and B agree to a relative 1e-9
close() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b;
        exit !(d <= 1e-9 * m) }'
}

start_daemon --cores 2
export NODUS_SOCKET="$SOCK"

case $case in
cpu)
    # the reference's settings: 150 iterations (149 steps), tolerance 0 (on much smaller grids
    # the residual reaches exactly 0 earlier, and the reference stops there too)
    run 8 8 8 --tasks 1 --verify
    [ "$(value 'Number of iterations')" = 149 ] || fail "expected 149 iterations"
    # FLOPs as the reference counts them: 149 * 2 * 27 * 512 for SpMV
    [ "$(grep -A4 '^FLOPS Summary' "$WORK/out.yaml" | grep SPARSEMV | sed 's/.*: //')" = 4.11955e+06 ] ||
        fail "SpMV FLOPs"
    run 5 4 3 --verify # stops early at a zero residual, as the sequential CG
    for tasks in 1 7; do
        run 6 6 6 --max-iter 12 --tasks $tasks --verify
    done
    ;;
forkjoin)
    # late residuals are round-off (1e-20 of the initial one), so compare after 8 steps
    run 6 5 7 --max-iter 9 --tasks 4 --verify
    tasks_res=$(value '  Final residual')
    run 6 5 7 --max-iter 25 --forkjoin --verify
    run 6 5 7 --max-iter 9 --forkjoin --verify
    grep -q '^  Execution: forkjoin' "$WORK/out.yaml" || fail "not a fork-join run"
    close "$(value '  Final residual')" "$tasks_res" || fail "tasks and fork-join disagree"
    ;;
standalone)
    # --forkjoin --standalone: the monolithic baseline as a plain OpenMP process. It must never
    # reach for a daemon: no autostart and a socket that does not exist (nodus_open would fail)
    run 6 5 7 --max-iter 9 --tasks 4 --verify
    tasks_res=$(value '  Final residual')
    (
        export NODUS_NO_AUTOSTART=1 NODUS_SOCKET=$WORK/no-such-dir/nodusd.sock
        run 6 5 7 --max-iter 9 --forkjoin --standalone --verify
        grep -q '^  Execution: forkjoin-standalone$' "$WORK/out.yaml" || fail "not stand-alone"
        [ "$(value '  Daemon cores')" = 0 ] || fail "stand-alone run reports daemon cores"
        close "$(value '  Final residual')" "$tasks_res" || fail "tasks and stand-alone disagree"
        # threads: one per CPU of the affinity mask, or OMP_NUM_THREADS (TSan's environment
        # pins OMP_NUM_THREADS=1: libgomp is not instrumented)
        if [ -z "${OMP_NUM_THREADS:-}" ]; then
            if command -v taskset >/dev/null; then
                taskset -c 0 "$HPCCG" 6 5 7 --max-iter 9 --forkjoin --standalone \
                    --yaml "$WORK/out.yaml" >/dev/null 2>&1 || fail "taskset -c 0 run failed"
                [ "$(value '  Number of OpenMP threads')" = 1 ] || fail "taskset -c 0: threads"
            fi
            OMP_NUM_THREADS=3 run 6 5 7 --max-iter 9 --forkjoin --standalone --verify
            [ "$(value '  Number of OpenMP threads')" = 3 ] || fail "OMP_NUM_THREADS=3: threads"
            close "$(value '  Final residual')" "$tasks_res" || fail "3 threads disagree"
        fi
        if [ "${HPCCG_MPI:-0}" = 1 ] && command -v mpirun >/dev/null &&
            [ -z "${NODUS_TEST_SANITIZER:-}" ]; then
            # MPI with no daemon: two ranks of 6x5x4 against one rank of 6x5x8
            run 6 5 8 --max-iter 9 --forkjoin --standalone --verify
            one=$(value '  Final residual')
            rc=0
            mpirun --allow-run-as-root --oversubscribe -np 2 -x NODUS_NO_AUTOSTART \
                -x NODUS_SOCKET "$HPCCG" 6 5 4 --max-iter 9 --forkjoin --standalone --verify \
                --yaml "$WORK/out.yaml" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
            cat "$WORK/out.txt"
            [ $rc = 0 ] || { cat "$WORK/err.txt"; fail "stand-alone mpirun -np 2 exited $rc"; }
            grep -q '^# verify: OK' "$WORK/out.txt" || fail "stand-alone MPI: no verification"
            grep -q 'Number of MPI ranks: 2' "$WORK/out.yaml" || fail "stand-alone: not 2 ranks"
            close "$(value '  Final residual')" "$one" || fail "stand-alone MPI disagrees"
        fi
    )
    # --standalone alone is an error: it is a fork-join run
    rc=0
    "$HPCCG" 6 5 7 --standalone >/dev/null 2>&1 || rc=$?
    [ $rc = 2 ] || fail "--standalone without --forkjoin exited $rc, not 2"
    ;;
opencl)
    run 6 6 6 --max-iter 25 --impl opencl --tasks 3 --verify
    ;;
cuda)
    run 6 6 6 --max-iter 25 --impl cuda --tasks 3 --verify
    run 6 6 6 --max-iter 25 --impl cuda --tasks 3 --spmv cusparse --verify
    ;;
mixed)
    run 6 6 6 --max-iter 25 --impl mixed --tasks 6 --verify
    # every kernel body ran as one of the offered implementations (the daemon's choice)
    total=$(awk '/Kernel bodies/ { on = 1; next } on && /^    / { s += $2 } END { print s }' \
        "$WORK/out.yaml")
    [ "$total" = $((6 * (4 + 5 + 6 * 23))) ] || fail "mixed: $total kernel bodies"
    ;;
mpi)
    [ "${HPCCG_MPI:-0}" = 1 ] || { echo "built without MPI: skipped"; exit 77; }
    command -v mpirun >/dev/null || { echo "no mpirun: skipped"; exit 77; }
    if [ -n "${NODUS_TEST_SANITIZER:-}" ]; then
        echo "Open MPI is not sanitizer-clean: skipped under sanitizers"
        exit 77
    fi
    run 6 5 8 --max-iter 9 --tasks 2 --verify
    one=$(value '  Final residual')
    # two ranks on this node, each its own session of the same daemon: 6x5x(2*4)
    rc=0
    mpirun --allow-run-as-root --oversubscribe -np 2 "$HPCCG" 6 5 4 --max-iter 9 --tasks 2 \
        --verify --yaml "$WORK/out.yaml" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
    cat "$WORK/out.txt"
    [ $rc = 0 ] || { cat "$WORK/err.txt"; fail "mpirun -np 2 exited $rc"; }
    grep -q '^# verify: OK' "$WORK/out.txt" || fail "two ranks: no verification"
    grep -q 'Number of MPI ranks: 2' "$WORK/out.yaml" || fail "not two ranks"
    [ "$(value 'Number of iterations')" = 8 ] || fail "two ranks: iterations"
    close "$(value '  Final residual')" "$one" || fail "two ranks disagree with one"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo "test_hpccg $case: OK"
