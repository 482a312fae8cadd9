#!/usr/bin/env bash
# Soak benchmark (issue 8): CLIENTS client processes (nodus-bench-overhead's forked clients,
# each its own session) submit TASKS empty independent tasks each to a private nodusd with the
# default configuration, and wait for them. Every INTERVAL seconds a sampler records nodusd's
# RSS (/proc/PID/status VmRSS) and the daemon's counters (nodusctl status --json): tasks
# submitted and done, live tasks, input held by the per-user task limit, client sessions.
#
#   apps/bench/bench_soak.sh [--build DIR] [--clients C] [--tasks N] [--interval S]
#                            [--csv FILE] [--png FILE] [--cores LIST]
#   defaults: build, 32 clients, 100000 tasks each, 1 s, soak.csv in the current directory, no
#   plot (scripts/soak-plot.py draws one from the CSV; --png runs it).
#
# Prints a summary line (peak and final RSS, mean tasks/s over the run, completed tasks) and
# exits non-zero unless every task completed. CI runs a seconds-long smoke version
# (tests/integration/test_soak_smoke.sh); the figures in docs/BENCHMARKS.md come from the
# full run.
set -euo pipefail
build=build clients=32 tasks=100000 interval=1 csv=soak.csv png="" cores=""
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    --png) png=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--clients C] [--tasks N] [--interval S] [--csv FILE] [--png FILE] [--cores LIST]" >&2; exit 2 ;;
    esac
done
nodusd=$build/daemon/nodusd nodusctl=$build/apps/nodusctl/nodusctl
bench=$build/apps/bench/nodus-bench-overhead
for f in "$nodusd" "$nodusctl" "$bench"; do [ -x "$f" ] || { echo "missing $f" >&2; exit 2; }; done
command -v jq >/dev/null || { echo "needs jq" >&2; exit 2; }

dir=$(mktemp -d)
dpid="" spid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; [ -n "$dpid" ] && kill $dpid 2>/dev/null;
      wait 2>/dev/null || true; rm -rf "$dir"' EXIT
args=(--socket "$dir/s" --foreground --log-level warning)
[ -n "$cores" ] && args+=(--cores "$cores")
NODUS_NO_DEVICES=1 "$nodusd" "${args[@]}" 2>"$dir/log" &
dpid=$!
for _ in $(seq 1 200); do "$nodusctl" --socket "$dir/s" status >/dev/null 2>&1 && break; sleep 0.05; done
export NODUS_SOCKET="$dir/s" NODUS_NO_AUTOSTART=1

sample() { # t: one CSV row
    local rss s
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")
    s=$("$nodusctl" --socket "$dir/s" status --json) || return 1
    jq -r --arg t "$1" --arg rss "$rss" '[($t | tonumber), ($rss | tonumber), .counters.tasks_submitted, .counters.tasks_done,
        .counters.live_tasks, .counters.held_bytes,
        ([.sessions[] | select(.role == "client")] | length)] | @csv' <<<"$s"
}
echo "t_s,rss_kb,tasks_submitted,tasks_done,live_tasks,held_bytes,client_sessions" >"$csv"
t0=$(date +%s.%N)
sample 0 >>"$csv" # the idle baseline, before any client
(
    while :; do
        sleep "$interval"
        now=$(date +%s.%N)
        sample "$(awk -v a="$now" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')" >>"$csv" || true
    done
) &
spid=$!
result=$("$bench" --clients "$clients" --tasks "$tasks" --pattern indep --reps 1) || {
    echo "bench failed" >&2
    cat "$dir/log" >&2
    exit 1
}
t1=$(date +%s.%N)
kill $spid 2>/dev/null || true
wait $spid 2>/dev/null || true
spid=""
sample "$(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')" >>"$csv"
sleep "$interval"
sample "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')" >>"$csv"

total=$((clients * tasks))
summary=$(awk -F, -v total=$total 'NR > 1 {
        if ($2 > peak) peak = $2; last_rss = $2; done = $4; live = $5; t = $1
        if (!first_t && $4 > 0) first_t = 1
    } END {
        printf "peak_rss_kb=%d final_rss_kb=%d tasks_done=%d of %d live_tasks_after=%d", peak, last_rss, done, total, live
    }' "$csv")
echo "soak: clients=$clients tasks_per_client=$tasks cores=$("$nodusctl" --socket "$dir/s" status --json | jq '.cores | length') $summary wall_s=$(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')"
echo "bench: $result"
if [ -n "$png" ]; then
    py=""
    for p in python3 /usr/bin/python3; do # the system python has python3-matplotlib
        "$p" -c 'import matplotlib' 2>/dev/null && { py=$p; break; }
    done
    [ -n "$py" ] || { echo "no python3 with matplotlib: no plot" >&2; exit 1; }
    "$py" "$(dirname "$0")/../../scripts/soak-plot.py" "$csv" "$png" \
        --title "nodusd soak: $clients clients x $tasks tasks, $(nproc) CPUs"
fi
done_n=$(tail -1 "$csv" | cut -d, -f4)
live_n=$(tail -1 "$csv" | cut -d, -f5)
[ "$done_n" = "$total" ] && [ "$live_n" = 0 ] || { echo "soak: only $done_n of $total tasks completed" >&2; exit 1; }
