#!/usr/bin/env bash
# Regenerates every benchmark figure of docs/BENCHMARKS.md with one command, on this machine,
# into docs/bench/ (markdown fragments, CSVs, PNGs) — the lead pastes the fragments into
# docs/BENCHMARKS.md. Run it on a quiet machine: the figures are wall times.
#   apps/bench/run_all.sh [BUILD_DIR] [OUT_DIR]        (default: build, docs/bench)
# Environment: QUICK=1 for a short run of everything (minutes; small counts, fewer runs).
#
#   overhead.txt        run_overhead.sh: ns per task through nodusd, 1 and 3 clients
#   compare.md          run_compare.sh: nodus vs OpenMP tasks vs StarPU, empty tasks
#   metg.{csv,md,png}   run_metg.sh: METG(50%) of the three runtimes
#   interference.*      run_interference.sh: OpenBLAS in tasks, held or not
#   fig5.txt            run_fig5.sh: the source paper's Figure 5 (device tasks)
#   cosched-*/          run_cosched.sh: the co-scheduling runs (2 HPCCG + 1 GPT-2, then 4 and 8
#                       jobs) with their Gantt charts, when the apps are built; stand-ins if not
set -euo pipefail
build=${1:-build}
out=${2:-docs/bench}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
quick=${QUICK:-0}
step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
{
    echo "# $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
    echo "# git $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'), QUICK=$quick"
} >"$out/machine.txt"

if [ "$quick" = 1 ]; then
    tasks=20000 runs=3
    export MAX_ITERS=262144 MIN_ITERS=64 BUDGET=33554432 RUNS=3 COUNTS="16 32 64 128 256"
else
    tasks=100000 runs=5
fi
step overhead
"$here/run_overhead.sh" "$build" "$tasks" >"$out/overhead.txt"
step compare
"$here/run_compare.sh" "$build" "$tasks" "$runs" "$out" >"$out/compare.md"
step metg
"$here/run_metg.sh" "$build" "$out" >/dev/null
step interference
rc=0
"$here/run_interference.sh" "$build" "$out" >/dev/null || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
step fig5
"$here/run_fig5.sh" "$build" 40 "$runs" >"$out/fig5.txt"

step cosched
# The applications' co-scheduling runs need HPCCG and GPT-2 built and GPT-2's data; sizes are
# chosen for about a minute on the development machine; GPT2_ARGS gives the training run's
# arguments after `train` (--model, --data, --batch, --seq, --steps). COSCHED_JOBS (a file of
# NAME=CMD[|FORKJOIN_CMD] lines) overrides the job list.
if [ -n "${COSCHED_JOBS:-}" ]; then
    mapfile -t jobs <"$COSCHED_JOBS"
elif [ -x "$build/apps/hpccg/nodus-hpccg" ] && [ -x "$build/apps/gpt2/nodus-gpt2" ] &&
    [ -n "${GPT2_ARGS:-}" ]; then
    jobs=("hpccg-1=nodus-hpccg 96 96 96 --impl cpu --tasks 32"
        "hpccg-2=nodus-hpccg 96 96 96 --impl cpu --tasks 32"
        "gpt2=nodus-gpt2 train $GPT2_ARGS")
else
    echo "run_all.sh: co-scheduling with stand-in jobs (no HPCCG/GPT-2 build or no GPT2_ARGS)" >&2
    jobs=() # run_cosched.sh's stand-ins
fi
"$here/run_cosched.sh" --build "$build" --out "$out/cosched-3" \
    --title "3 jobs through nodusd ($(nproc) cores)" "${jobs[@]}" >/dev/null
if [ "${#jobs[@]}" -gt 0 ]; then
    for n in 4 8; do
        more=()
        for ((i = 0; i < n; i++)); do
            j=${jobs[$((i % ${#jobs[@]}))]}
            more+=("${j%%=*}-$i=${j#*=}")
        done
        "$here/run_cosched.sh" --build "$build" --out "$out/cosched-$n" \
            --title "$n jobs through nodusd ($(nproc) cores)" "${more[@]}" >/dev/null
    done
fi
# the traces are large and regenerable: the Gantt charts stay, the JSON goes
rm -f "$out"/cosched-*/cosched-trace.json
step finished
ls "$out" >&2
