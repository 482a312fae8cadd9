#!/usr/bin/env bash
# Smoke run of the Figure 5 driver (apps/bench/bench_fig5.c): a few iterations of both modes
# (task-aware and blocking clFinish inside the device task) on a private nodusd; the driver checks
# every device result itself. The figures are measured by apps/bench/run_fig5.sh, not here.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
rc=0
out=$("$FIG5" --device opencl --iters 6 --reps 1 --cpu-us 2000 --dev-ms 5) || rc=$?
echo "$out"
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "nodus-bench-fig5 --device opencl"
echo "$out" | grep -q '^mode=task-aware wall_s=' || fail "no task-aware result"
echo "$out" | grep -q '^mode=blocking ' || fail "no blocking result"
echo "$out" | grep -q '^speedup=' || fail "no speed-up"
# the CUDA variant runs or says why not (77), never fails, on any machine
rc=0
"$FIG5" --device cuda --iters 4 --reps 1 --cpu-us 2000 --dev-ms 5 || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || fail "nodus-bench-fig5 --device cuda"
echo "test_bench_fig5: OK"
