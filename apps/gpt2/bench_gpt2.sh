#!/usr/bin/env bash
# GPT-2 training speed on this machine: ms per step and tokens/s of `nodus-gpt2 train` for a
# small model (L=4, NH=4, C=256, maxT=64, GPT-2's vocabulary V=50257 so the lm-head matmul and
# the softmax weigh what they weigh in GPT-2), batch 4 x 64, on the default corpus:
#   1. nodus tasks (--impl cpu, default cut) vs the OpenMP fork-join baseline
#   2. --impl cpu vs opencl (PoCL) vs mixed (multi-version tasks)
#   3. the source paper's Figure 13 sweep: T_GRAN (positions per task) over 64..1 with
#      B_GRAN=1 and OC_SPLIT=16 fixed, i.e. T/T_GRAN = 1..64 slices of the sequence
#   4. with a GPU (--gpu): GPT-2 124M's shape (L=12, NH=12, C=768, maxT=1024) at B=4, T=256,
#      --impl cuda vs fork-join
# Each figure is the mean over steps 2..STEPS (step 1 warms caches and the daemon's models).
# Prints a markdown table (also written to OUT_DIR/bench_gpt2.md).
#   apps/gpt2/bench_gpt2.sh [BUILD_DIR [STEPS [OUT_DIR]]] [--gpu]    (build, 5, BUILD_DIR/gpt2-bench)
set -euo pipefail
gpu=0
args=()
for a in "$@"; do
    if [ "$a" = --gpu ]; then gpu=1; else args+=("$a"); fi
done
build=${args[0]:-build}
steps=${args[1]:-5}
out=${args[2]:-$build/gpt2-bench}
G=$build/apps/gpt2/nodus-gpt2
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
# a private nodusd on every core, stopped on exit
# shellcheck source=apps/bench/bench_daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bench/bench_daemon.sh"

# the data: the whole default corpus, tokenized once and kept in OUT_DIR
if [ ! -f "$out/jargon.bin" ]; then
    "$G" prepare --quiet --bpe-dir "${GPT2_BPE_DIR:-$src/data/gpt2}" --tokenizer "$out/jargon.bin"
fi
[ -f "$out/small.bin" ] || "$G" init --out "$out/small.bin" --layers 4 --heads 4 --channels 256 \
    --max-seq 64 --vocab 50257 --seed 1337 >/dev/null

bench_start_daemon

table=$out/bench_gpt2.md
# run LABEL MODEL B T ARGS...: one training, one table row
run() {
    local label=$1 model=$2 B=$3 T=$4
    shift 4
    local log
    log="$out/$(echo "$label" | tr -c 'a-zA-Z0-9_\n' _).log"
    if ! "$G" train --model "$model" --data "$out/jargon.bin" --batch "$B" --seq "$T" \
        --steps "$steps" --sample-len 0 --out "" "$@" >"$log" 2>&1; then
        echo "| $label | failed (see $log) | | | |" | tee -a "$table"
        return 0
    fi
    local tasks mean
    tasks=$(sed -n 's/^tasks: .*, \([0-9]*\) per step.*/\1/p' "$log")
    mean=$(sed -n 's/^mean: \([0-9.]*\) ms\/step, \([0-9]*\) tok\/s.*/\1 | \2/p' "$log")
    local last
    last=$(sed -n 's/^step [0-9]*\/[0-9]*: loss \([0-9.]*\).*/\1/p' "$log" | tail -1)
    echo "| $label | ${tasks:--} | $mean | $last |" | tee -a "$table"
}

{
    echo "# nodus-gpt2 training speed, $(nproc) cores, $(date -u +%Y-%m-%d\ %H:%M) UTC, $(uname -m)"
    echo
    echo "Command: \`apps/gpt2/bench_gpt2.sh $*\`; model L=4 NH=4 C=256 V=50257, B=4 T=64,"
    echo "mean of steps 2..$steps, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| run | tasks/step | ms/step | tokens/s | loss at step $steps |"
    echo "|---|---|---|---|---|"
} | tee "$table"
S=$out/small.bin
run "tasks, cpu (b-gran 1, t-gran T, oc-split 4)" "$S" 4 64
OMP_NUM_THREADS=$(nproc) run "fork-join (OpenMP, $(nproc) threads)" "$S" 4 64 --forkjoin
run "tasks, opencl" "$S" 4 64 --impl opencl
run "tasks, mixed (cpu + opencl)" "$S" 4 64 --impl mixed
for tg in 64 32 16 8 4 2 1; do
    run "tasks, cpu, T_GRAN $tg (T/T_GRAN=$((64 / tg))), OC_SPLIT 16" "$S" 4 64 \
        --t-gran $tg --oc-split 16
done
if [ $gpu = 1 ]; then
    [ -f "$out/124m.bin" ] || "$G" init --out "$out/124m.bin" >/dev/null
    run "124M B=4 T=256, tasks, cuda (oc-split 4)" "$out/124m.bin" 4 256 --impl cuda
    run "124M B=4 T=256, tasks, cuda (oc-split 1)" "$out/124m.bin" 4 256 --impl cuda \
        --oc-split 1
    OMP_NUM_THREADS=$(nproc) run "124M B=4 T=256, fork-join" "$out/124m.bin" 4 256 --forkjoin
fi
