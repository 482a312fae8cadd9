#!/usr/bin/env bash
# Measures the per-task cost through nodusd (issue 2's figure): 100k empty independent tasks,
# a 100k-task chain and a 100k-task stencil_1d of width = cores, with one client and with three
# clients at once, on a private daemon that owns every core of this process's affinity set.
#   apps/bench/run_overhead.sh [BUILD_DIR] [TASKS]      (default: build, 100000)
set -euo pipefail
build=${1:-build}
tasks=${2:-100000}
# a private nodusd on every core, stopped on exit
# shellcheck source=apps/bench/bench_daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_daemon.sh"
bench_start_daemon
echo "# nodus per-task overhead, $(nproc) cores, $(date -u +%Y-%m-%d), $(uname -m)"
for clients in 1 3; do
    for pattern in indep chain stencil; do
        "$build/apps/bench/nodus-bench-overhead" --tasks "$tasks" --pattern $pattern \
            --clients $clients --reps 5
    done
done
