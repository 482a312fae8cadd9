#!/usr/bin/env bash
# Regenerates every benchmark figure of docs/BENCHMARKS.md with one command, on this machine,
# into docs/bench/ (markdown fragments, CSVs, PNGs) — the lead pastes the fragments into
# docs/BENCHMARKS.md. Run it on a quiet machine: the figures are wall times.
#   apps/bench/run_all.sh [BUILD_DIR] [OUT_DIR]        (default: build, docs/bench)
# Environment: QUICK=1 for a short run of everything (minutes; small counts, fewer runs);
# ONLY="PART..." runs only those parts (overhead compare metg interference fig5 hpccg gpt2
# cosched soak), leaving the other files in OUT_DIR as they are.
#
#   overhead.txt        run_overhead.sh: ns per task through nodusd, 1 and 3 clients
#   compare.md          run_compare.sh: nodus vs OpenMP tasks vs StarPU, empty tasks
#   metg.{csv,md,png}   run_metg.sh: METG(50%) of the three runtimes
#   interference.*      run_interference.sh: OpenBLAS in tasks, held or not
#   fig5.txt            run_fig5.sh: the source paper's Figure 5 (device tasks)
#   hpccg.md            apps/hpccg/bench_hpccg.sh: HPCCG MFLOPS, tasks vs fork-join, per --impl
#   gpt2.md             apps/gpt2/bench_gpt2.sh: GPT-2 ms/step, tasks vs fork-join, per --impl,
#                       the T_GRAN sweep (Figure 13)
#   cosched-{3,4,8}/    run_cosched.sh --apps N: 2 HPCCG + 1 GPT-2, then 4 and 8 jobs of the same
#                       mix, four ways, with their Gantt charts (stand-ins without the apps)
#   soak.{csv,png,txt}  bench_soak.sh: 32 clients x 100k tasks (QUICK: 8 x 20k)
# With a GPU, GPU=1 adds the CUDA rows of hpccg.md and gpt2.md.
set -euo pipefail
build=${1:-build}
out=${2:-docs/bench}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"
quick=${QUICK:-0}
only=" ${ONLY:-overhead compare metg interference fig5 hpccg gpt2 cosched soak} "
# step PART: announces PART; false when ONLY leaves it out
step() {
    [[ $1 == finished || $only == *" $1 "* ]] || return 1
    echo "== $(date -u +%H:%M:%S) $*" >&2
}
{
    echo "# $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
    echo "# git $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'), QUICK=$quick, parts:$only"
} >"$out/machine.txt"

if [ "$quick" = 1 ]; then
    tasks=20000 runs=3
    export MAX_ITERS=262144 MIN_ITERS=64 BUDGET=33554432 RUNS=3 COUNTS="16 32 64 128 256"
else
    tasks=100000 runs=5
fi
if step overhead; then
    "$here/run_overhead.sh" "$build" "$tasks" >"$out/overhead.txt"
fi
if step compare; then
    "$here/run_compare.sh" "$build" "$tasks" "$runs" "$out" >"$out/compare.md"
fi
if step metg; then
    "$here/run_metg.sh" "$build" "$out" >/dev/null
fi
if step interference; then
    rc=0
    "$here/run_interference.sh" "$build" "$out" >/dev/null || rc=$?
    [ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi
if step fig5; then
    "$here/run_fig5.sh" "$build" 40 "$runs" >"$out/fig5.txt"
fi
if step hpccg; then
    if [ -x "$build/apps/hpccg/nodus-hpccg" ]; then
        if [ "$quick" = 1 ]; then grids=(64); else grids=(64 128); fi
        "$root/apps/hpccg/bench_hpccg.sh" "$build" 3 "${grids[@]}" >"$out/hpccg.md"
    fi
fi
if step gpt2; then
    if [ -x "$build/apps/gpt2/nodus-gpt2" ]; then
        gpu_arg=()
        [ "${GPU:-0}" = 0 ] || gpu_arg=(--gpu)
        "$root/apps/gpt2/bench_gpt2.sh" "$build" "$((quick == 1 ? 3 : 6))" "$build/gpt2-bench" \
            "${gpu_arg[@]}" >/dev/null
        cp "$build/gpt2-bench/bench_gpt2.md" "$out/gpt2.md"
    fi
fi
if step cosched; then
    # the issue's mix (every third job a GPT-2 training run, the others HPCCG solvers) when both
    # applications are built, else run_cosched.sh's stand-ins; COSCHED_JOBS (a file of
    # NAME=CMD[|FORKJOIN_CMD] lines) overrides the job list
    rm -rf "$out"/cosched-*/ # a run's logs and charts only, not those of an earlier job list
    jobs=()
    [ -z "${COSCHED_JOBS:-}" ] || mapfile -t jobs <"$COSCHED_JOBS"
    if [ "${#jobs[@]}" -gt 0 ]; then
        "$here/run_cosched.sh" --build "$build" --out "$out/cosched-3" \
            --title "${#jobs[@]} jobs through nodusd ($(nproc) cores)" "${jobs[@]}" >/dev/null
    elif [ -x "$build/apps/hpccg/nodus-hpccg" ] && [ -x "$build/apps/gpt2/nodus-gpt2" ]; then
        for n in 3 4 8; do
            "$here/run_cosched.sh" --build "$build" --out "$out/cosched-$n" --apps "$n" \
                --title "$n jobs through nodusd ($(nproc) cores)" >/dev/null
        done
    else
        echo "run_all.sh: co-scheduling with stand-in jobs (HPCCG or GPT-2 not built)" >&2
        "$here/run_cosched.sh" --build "$build" --out "$out/cosched-3" \
            --title "3 stand-in jobs through nodusd ($(nproc) cores)" >/dev/null
    fi
    # the traces are large and regenerable: the Gantt charts stay, the JSON goes
    rm -f "$out"/cosched-*/cosched-trace.json
fi
if step soak; then
    if [ "$quick" = 1 ]; then soak=(--clients 8 --tasks 20000); else soak=(--clients 32 --tasks 100000); fi
    "$here/bench_soak.sh" --build "$build" "${soak[@]}" --csv "$out/soak.csv" \
        --png "$out/soak.png" >"$out/soak.txt"
fi
step finished
ls "$out" >&2
