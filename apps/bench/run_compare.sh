#!/usr/bin/env bash
# Per-task overhead of nodus against OpenMP tasks and StarPU (issue 6, part 1): empty tasks,
# independent / chain / stencil_1d of width = cores, N tasks per run, median of RUNS runs of
# each driver, printed as a markdown table of ns per task (raw driver lines to OUT/compare.txt
# when OUT is given). Drivers not built (no OpenMP, no libstarpu-dev) are left out.
#   apps/bench/run_compare.sh [BUILD_DIR] [TASKS] [RUNS] [OUT]   (default: build 100000 5)
set -euo pipefail
build=${1:-build}
tasks=${2:-100000}
runs=${3:-5}
out=${4:-}
bin=$build/apps/bench
# shellcheck source=apps/bench/bench_daemon.sh
. "$(dirname "$0")/bench_daemon.sh"
bench_start_daemon
raw=$bench_dir/raw.txt
# libgomp's default lets idle threads spin before they sleep; on a machine busy with other work
# the spinning threads take the CPU from the one creating tasks, so the passive policy is shown too
declare -A label=([nodus]="nodus (through nodusd)" [omp]="OpenMP tasks (GCC)"
    [omp_passive]="OpenMP tasks, OMP_WAIT_POLICY=passive" [starpu]="StarPU 1.3")
runtimes=(nodus)
[ -x "$bin/nodus-bench-omp" ] && runtimes+=(omp omp_passive)
[ -x "$bin/nodus-bench-starpu" ] && runtimes+=(starpu)
declare -A ns
for pattern in indep chain stencil; do
    for rt in "${runtimes[@]}"; do
        case $rt in
        nodus) cmd=("$bin/nodus-bench-overhead") ;;
        omp) cmd=(env -u OMP_WAIT_POLICY "$bin/nodus-bench-omp") ;;
        omp_passive) cmd=(env OMP_WAIT_POLICY=passive "$bin/nodus-bench-omp") ;;
        starpu) cmd=("$bin/nodus-bench-starpu") ;;
        esac
        line=$("${cmd[@]}" --tasks "$tasks" --pattern $pattern --reps "$runs")
        echo "$rt $line" >>"$raw"
        ns[$rt.$pattern]=$(bench_field ns_per_task "$line")
    done
done
[ -n "$out" ] && { mkdir -p "$out"; cp "$raw" "$out/compare.txt"; }
echo "| runtime | independent | chain | stencil_1d (W = $(nproc)) |"
echo "|---|---|---|---|"
for rt in "${runtimes[@]}"; do
    echo "| ${label[$rt]} | ${ns[$rt.indep]} | ${ns[$rt.chain]} | ${ns[$rt.stencil]} |"
done
echo
echo "ns per task, empty bodies, $tasks tasks per run, median of $runs runs;" \
    "$(nproc) cores, $(date -u +%Y-%m-%d), \`apps/bench/run_compare.sh $build $tasks $runs\`"
