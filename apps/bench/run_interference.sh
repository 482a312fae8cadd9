#!/usr/bin/env bash
# Interference with a threaded library (issue 6, part 4; the source paper's Figures 11-12):
# N independent nodus tasks, each an S x S OpenBLAS SGEMM, with libnodus holding OpenBLAS to one
# thread per task (the default) and with NODUS_HOLD_BLAS=0 (OpenBLAS's default of a thread per
# core inside every task, while the daemon runs a task on every core). Time against task count,
# median of RUNS runs; CSV, markdown table and PNG into OUT_DIR.
#   apps/bench/run_interference.sh [BUILD_DIR] [OUT_DIR]   (default: build, docs/bench)
# Environment: SIZES ("128 256"), COUNTS ("16 32 64 128 256"), RUNS (5).
#
# Then the PoCL case (when nodus-bench-fig5 runs OpenCL here): the Figure 5 graph (CPU tasks and
# OpenCL kernels on PoCL's CPU device, task-aware) with PoCL held to the device's cores (libnodus's
# default, POCL_MAX_PTHREAD_COUNT = the cores the daemon lists for the device) and not
# (POCL_MAX_PTHREAD_COUNT = all cores, set by the user), the same kernel work in both
# (FIG5_CL_ITERS from the held run's calibration): pocl.md. POCL_CASE=0 leaves it out.
set -euo pipefail
build=${1:-build}
out=${2:-docs/bench}
sizes=${SIZES:-128 256}
counts=${COUNTS:-16 32 64 128 256}
runs=${RUNS:-5}
bin=$build/apps/bench
here=$(dirname "$0")
[ -x "$bin/nodus-bench-blas" ] || { echo "nodus-bench-blas not built (no OpenBLAS)" >&2; exit 77; }
# shellcheck source=apps/bench/bench_daemon.sh
. "$here/bench_daemon.sh"
py=$(bench_python)
bench_start_daemon
mkdir -p "$out"
csv=$out/interference.csv
echo "library,size,tasks,hold,blas_threads,wall_s,gflops" >"$csv"
for size in $sizes; do
    for tasks in $counts; do
        for hold in 1 0; do
            line=$(NODUS_HOLD_BLAS=$hold "$bin/nodus-bench-blas" --tasks "$tasks" --size "$size" \
                --reps "$runs")
            printf 'openblas,%s,%s,%s,%s,%s,%s\n' "$size" "$tasks" \
                "$(bench_field hold "$line")" "$(bench_field openblas_threads_in_task "$line")" \
                "$(bench_field wall_s "$line")" "$(bench_field gflops "$line")" |
                tee -a "$csv" >&2
        done
    done
done
"$py" "$here/plot_bench.py" interference "$csv" "$out/interference.png" >"$out/interference.md"
echo >>"$out/interference.md"
echo "$(nproc) cores, $(date -u +%Y-%m-%d); \`SIZES=\"$sizes\" COUNTS=\"$counts\" RUNS=$runs" \
    "apps/bench/run_interference.sh $build $out\`" >>"$out/interference.md"
cat "$out/interference.md"

fig5=$bin/nodus-bench-fig5
[ -x "$fig5" ] && [ "${POCL_CASE:-1}" != 0 ] || exit 0
{
    echo "| CPU task | PoCL threads | task-aware wall (s) | core utilisation | kernel alone (ms) |"
    echo "|---|---|---|---|---|"
} >"$bench_dir/pocl.md"
for cpu_us in 5000 10000 20000; do
    rc=0
    # shellcheck disable=SC2034  # held and free are read through ${!v} below
    held=$("$fig5" --device opencl --iters 40 --cpu-us $cpu_us --dev-ms 30 --reps "$runs" \
        2>"$bench_dir/fig5.err") || rc=$?
    [ $rc = 77 ] && exit 0
    [ $rc = 0 ] || exit $rc
    iters=$(sed -n 's/.*kernel iterations \([0-9]*\).*/\1/p' "$bench_dir/fig5.err")
    # shellcheck disable=SC2034
    free=$(POCL_MAX_PTHREAD_COUNT=$(nproc) FIG5_CL_ITERS=$iters "$fig5" --device opencl \
        --iters 40 --cpu-us $cpu_us --dev-ms 30 --reps "$runs" 2>/dev/null)
    for v in held free; do
        line=$(grep '^mode=task-aware' <<<"${!v}")
        alone=$(sed -n 's/.*measured alone: \([0-9.]*\)ms.*/\1/p' <<<"${!v}")
        threads="held (libnodus)"
        [ $v = free ] && threads="$(nproc) (user's setting)"
        echo "| $((cpu_us / 1000)) ms | $threads | $(bench_field wall_s "$line") |" \
            "$(bench_field core_util "$line") | $alone |" >>"$bench_dir/pocl.md"
    done
done
{
    cat "$bench_dir/pocl.md"
    echo
    echo "40 iterations of the Figure 5 graph (3 CPU tasks + one 30 ms OpenCL kernel each), median" \
        "of $runs runs; $(nproc) cores, $(date -u +%Y-%m-%d); \`RUNS=$runs" \
        "apps/bench/run_interference.sh $build $out\`"
} >"$out/pocl.md"
cat "$out/pocl.md"
