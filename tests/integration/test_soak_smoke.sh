#!/usr/bin/env bash
# Smoke run of the soak benchmark (apps/bench/bench_soak.sh; figures in docs/BENCHMARKS.md):
# 4 clients x 2000 tasks, sampled every 0.2 s. Asserts completion and a well-formed CSV, never
# speed. BUILD is the build directory (from ctest).
. "$(dirname "$0")/harness.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
bash "$src/apps/bench/bench_soak.sh" --build "$BUILD" --clients 4 --tasks 2000 --interval 0.2 \
    --csv "$WORK/soak.csv" >"$WORK/soak.out" 2>&1 || fail "soak run failed: $(cat "$WORK/soak.out")"
cat "$WORK/soak.out"
grep -q "tasks_done=8000 of 8000 live_tasks_after=0" "$WORK/soak.out" || fail "not every task completed"
[ "$(head -1 "$WORK/soak.csv")" = "t_s,rss_kb,tasks_submitted,tasks_done,live_tasks,held_bytes,client_sessions" ] ||
    fail "bad CSV header"
[ "$(wc -l <"$WORK/soak.csv")" -ge 3 ] || fail "too few samples"
[ "$(tail -1 "$WORK/soak.csv" | cut -d, -f4)" = 8000 ] || fail "last sample: $(tail -1 "$WORK/soak.csv")"
echo "test_soak_smoke: OK"
