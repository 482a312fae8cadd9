#!/usr/bin/env bash
# The source paper's Figure 5 experiment (docs/BENCHMARKS.md, "Figure 5"): CPU tasks interleaved
# with device tasks, task-aware completion vs blocking synchronisation inside the device task,
# on a private nodusd that owns every core of this process's affinity set. OpenCL always (PoCL's
# CPU device where there is no other); CUDA when the binary was built with it and a GPU is there.
#   apps/bench/run_fig5.sh [BUILD_DIR] [ITERS] [REPS]      (default: build, 40, 5)
set -euo pipefail
build=${1:-build}
iters=${2:-40}
reps=${3:-5}
bench="$build/apps/bench/nodus-bench-fig5"
# a private nodusd on every core, stopped on exit
# shellcheck source=apps/bench/bench_daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_daemon.sh"
bench_start_daemon
echo "# nodus fig5, $(nproc) cores, $(date -u +%Y-%m-%d), $(uname -m)"
# each iteration: 3 CPU tasks of CPU_US and one device kernel of DEV_MS; the device kernel is
# as long as the three CPU tasks together, the case where overlapping them pays most
for shape in "10000 30" "5000 30" "20000 30"; do
    set -- $shape
    rc=0
    "$bench" --device opencl --iters "$iters" --cpu-us "$1" --dev-ms "$2" --reps "$reps" || rc=$?
    [ $rc = 0 ] || [ $rc = 77 ] || exit $rc
    [ $rc = 77 ] && break
done
rc=0
"$bench" --device cuda --iters "$iters" --cpu-us 10000 --dev-ms 30 --reps "$reps" || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
