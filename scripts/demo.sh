#!/usr/bin/env bash
# The co-scheduling demo (the README's main command, issue 6): builds nodus with its
# applications, then runs two HPCCG conjugate-gradient solvers (96^3, 150 iterations) and one
# GPT-2 training run (L=4 C=256, 10 steps of 4 x 64 tokens) on this node four ways:
#   - all three at once through a private nodusd that owns every core (task mode), with a
#     `nodusctl status` snapshot taken while they share the node and a Gantt chart of the run;
#   - all three at once, each with its own OpenMP threads on every core (oversubscribed);
#   - all three at once on a static split of the cores;
#   - one after another, each with every core;
# and prints each job's time and result (HPCCG's final residual, GPT-2's last loss) per mode,
# the makespans and the ideal bound. About a minute on 2 cores once built.
#
#   scripts/demo.sh [BUILD_DIR] [OUT_DIR]     (default build-demo, BUILD_DIR/demo)
# Sizes: HPCCG_N, HPCCG_TASKS, GPT2_STEPS (apps/bench/run_cosched.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-demo}
out=${2:-$build/demo}

echo "== building into $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" >/dev/null
if [ ! -s data/gpt2/encoder.json ] && [ -z "${GPT2_BPE_DIR:-}" ]; then
    echo "== fetching GPT-2's BPE files (scripts/fetch-gpt2-tokenizer.sh)"
    scripts/fetch-gpt2-tokenizer.sh
fi

echo "== 2 HPCCG + 1 GPT-2 on $(nproc) cores: through nodusd, oversubscribed, static split," \
    "one after another"
apps/bench/run_cosched.sh --build "$build" --out "$out" --apps 3 --status-after 3 \
    --title "2 HPCCG + 1 GPT-2 through nodusd ($(nproc) cores)"
echo
echo "Logs, CSV and the Gantt chart (cosched-gantt.png, from the daemon's trace) are in $out."
