#!/usr/bin/env bash
# METG(50%) of nodus, OpenMP tasks and StarPU (issue 6, part 2), by the Task Bench method: a
# stencil_1d graph of width = cores whose tasks run a compute-bound kernel of K iterations
# (bench_common.c: four dependent multiply-add chains, 8 flops per iteration); K is halved from
# MAX_ITERS down to MIN_ITERS; each point is the median of RUNS runs, with enough tasks for
# about BUDGET kernel iterations in all (at least 8 steps, at most 50000 tasks).
# plot_bench.py computes efficiency (GFLOP/s over the peak, the best GFLOP/s any runtime reached
# at the largest K) and METG, and draws efficiency against task granularity.
#   apps/bench/run_metg.sh [BUILD_DIR] [OUT_DIR]   (default: build, docs/bench)
# A runtime leaves the sweep after two points in a row below STOP_EFF (0.1) of the peak: its METG
# lies above them, and a runtime far past its METG can take minutes per point (OpenMP here).
# Environment: MAX_ITERS (2^20), MIN_ITERS (2^4), BUDGET (2^28 iterations), RUNS (3),
# STOP_EFF (0.1), RUNTIMES (a subset of "nodus openmp starpu"; all that are built), OMP_WAIT_POLICY
# for the OpenMP runs (passive; "default" leaves it unset: libgomp spins a while, then sleeps).
set -euo pipefail
build=${1:-build}
out=${2:-docs/bench}
max_iters=${MAX_ITERS:-1048576}
min_iters=${MIN_ITERS:-16}
budget=${BUDGET:-268435456}
runs=${RUNS:-3}
stop_eff=${STOP_EFF:-0.1}
# libgomp's default wait policy (spin, then sleep) made fine-grained stencils 20x slower than
# the passive one on the shared development VM: METG uses passive unless told otherwise
omp_wait=${OMP_WAIT_POLICY:-passive}
bin=$build/apps/bench
here=$(dirname "$0")
# shellcheck source=apps/bench/bench_daemon.sh
. "$here/bench_daemon.sh"
py=$(bench_python)
bench_start_daemon
mkdir -p "$out"
width=$(nproc)
csv=$out/metg.csv
echo "runtime,iters,tasks,wall_s,granularity_us,gflops" >"$csv"
runtimes=(nodus)
[ -x "$bin/nodus-bench-omp" ] && runtimes+=(openmp)
[ -x "$bin/nodus-bench-starpu" ] && runtimes+=(starpu)
if [ -n "${RUNTIMES:-}" ]; then
    read -r -a want <<<"$RUNTIMES"
    runtimes=()
    for rt in "${want[@]}"; do
        case $rt in
        nodus) runtimes+=(nodus) ;;
        openmp) [ ! -x "$bin/nodus-bench-omp" ] || runtimes+=(openmp) ;;
        starpu) [ ! -x "$bin/nodus-bench-starpu" ] || runtimes+=(starpu) ;;
        *) echo "RUNTIMES: unknown runtime $rt" >&2; exit 2 ;;
        esac
    done
fi
declare -A low # runtime -> points in a row below stop_eff of the peak
peak=""        # the best GFLOP/s at the largest K, as plot_bench.py takes it
for ((iters = max_iters; iters >= min_iters; iters /= 2)); do
    tasks=$((budget / iters))
    ((tasks >= 8 * width)) || tasks=$((8 * width))
    ((tasks <= 50000)) || tasks=50000
    for rt in "${runtimes[@]}"; do
        ((${low[$rt]:-0} < 2)) || continue
        case $rt in
        nodus) drv=nodus-bench-overhead ;;
        openmp)
            if [ "$omp_wait" = default ]; then drv="env -u OMP_WAIT_POLICY nodus-bench-omp"
            else drv="env OMP_WAIT_POLICY=$omp_wait nodus-bench-omp"; fi ;;
        starpu) drv=nodus-bench-starpu ;;
        esac
        # shellcheck disable=SC2086  # drv may carry an environment setting
        line=$(cd "$bin" && PATH=.:$PATH $drv --pattern stencil --tasks $tasks --iters $iters --reps "$runs")
        printf '%s,%s,%s,%s,%s,%s\n' "$rt" "$iters" "$(bench_field tasks "$line")" \
            "$(bench_field wall_s "$line")" "$(bench_field granularity_us "$line")" \
            "$(bench_field gflops "$line")" | tee -a "$csv" >&2
        if [ -n "$peak" ]; then
            if awk -v g="$(bench_field gflops "$line")" -v p="$peak" -v e="$stop_eff" \
                'BEGIN { exit !(g < e * p) }'; then
                low[$rt]=$((${low[$rt]:-0} + 1))
            else
                low[$rt]=0
            fi
        fi
    done
    [ -n "$peak" ] || peak=$(awk -F, -v k="$iters" '$2 == k && $6 > m { m = $6 } END { print m }' "$csv")
done
"$py" "$here/plot_bench.py" metg "$csv" "$out/metg.png" >"$out/metg.md"
echo >>"$out/metg.md"
echo "stencil_1d, width $width, OpenMP with OMP_WAIT_POLICY=$omp_wait, $(nproc) cores, $(date -u +%Y-%m-%d); \`MAX_ITERS=$max_iters" \
    "MIN_ITERS=$min_iters BUDGET=$budget RUNS=$runs apps/bench/run_metg.sh $build $out\`" \
    >>"$out/metg.md"
cat "$out/metg.md"
