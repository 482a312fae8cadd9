#!/usr/bin/env bash
# Smoke run of the nodus benchmark drivers (apps/bench, docs/BENCHMARKS.md): every pattern of
# nodus-bench-overhead, empty and compute-bound, and nodus-bench-blas with libnodus holding
# OpenBLAS and not. Checks the result lines (task counts, positive figures) and that OpenBLAS ran
# with one thread per task when held; never speed: figures come from apps/bench/run_*.sh.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }
for pattern in indep chain stencil; do
    out=$("$BENCH_DIR/nodus-bench-overhead" --tasks 301 --pattern $pattern --reps 2) ||
        fail "nodus-bench-overhead --pattern $pattern"
    echo "$out"
    # the stencil rounds up to whole steps of width 2 (the daemon's cores)
    want=301
    [ $pattern = stencil ] && want=302
    [ "$(field tasks "$out")" = $want ] || fail "$pattern: tasks"
    [ "$(field runtime "$out")" = nodus ] || fail "$pattern: runtime"
    positive "$(field ns_per_task "$out")" || fail "$pattern: ns_per_task"
done
out=$("$BENCH_DIR/nodus-bench-overhead" --tasks 40 --pattern stencil --width 4 --iters 1000 \
    --clients 2 --reps 1) || fail "nodus-bench-overhead with a kernel"
echo "$out"
[ "$(field width "$out")" = 4 ] || fail "width"
[ "$(field clients "$out")" = 2 ] || fail "clients"
positive "$(field gflops "$out")" || fail "no GFLOP/s from compute-bound tasks"
rc=0
"$BENCH_DIR/nodus-bench-overhead" --pattern diagonal 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "an unknown pattern was accepted"

if [ -x "$BENCH_DIR/nodus-bench-blas" ]; then
    held=$("$BENCH_DIR/nodus-bench-blas" --tasks 8 --size 64 --reps 1) || fail "blas, held"
    echo "$held"
    [ "$(field openblas_threads_in_task "$held")" = 1 ] || fail "OpenBLAS not held to 1 thread"
    # not held, OpenBLAS's own (uninstrumented) threads write the results: TSan cannot see
    # their synchronisation, so that half runs in the other builds only
    [ "${NODUS_TSAN:-0}" = 1 ] && { echo "test_bench_drivers: OK (TSan: held BLAS only)"; exit 0; }
    free=$(NODUS_HOLD_BLAS=0 "$BENCH_DIR/nodus-bench-blas" --tasks 8 --size 64 --reps 1) ||
        fail "blas, not held"
    echo "$free"
    [ "$(field hold "$free")" = no ] || fail "NODUS_HOLD_BLAS=0 not reported"
    [ "$(field openblas_threads_in_task "$free")" = "$(field openblas_threads_default "$free")" ] ||
        fail "NODUS_HOLD_BLAS=0 still changed OpenBLAS"
fi
echo "test_bench_drivers: OK"
