#!/usr/bin/env bash
# Interference with a threaded library (issue 6, part 4; the source paper's Figures 11-12):
# N independent nodus tasks, each an S x S OpenBLAS SGEMM, with libnodus holding OpenBLAS to one
# thread per task (the default) and with NODUS_HOLD_BLAS=0 (OpenBLAS's default of a thread per
# core inside every task, while the daemon runs a task on every core). Time against task count,
# median of RUNS runs; CSV, markdown table and PNG into OUT_DIR.
#   apps/bench/run_interference.sh [BUILD_DIR] [OUT_DIR]   (default: build, docs/bench)
# Environment: SIZES ("128 256"), COUNTS ("16 32 64 128 256"), RUNS (5).
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
