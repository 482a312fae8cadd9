#!/usr/bin/env bash
# Three client processes at once on a 2-core daemon: every client finishes, and the merged
# per-core timeline of what each task body really ran on shows no overlap, node-wide.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
cores=$(status_json | jq -r '[.cores[].cpu] | map(tostring) | join(",")')
[ "$(status_json | jq '.cores | length')" = 2 ] || fail "daemon does not own 2 cores"
pids=()
for j in a b c; do
    "$BIN/it_busy" --tasks 300 --us 2000 --job "job_$j" --timeline "$WORK/tl_$j" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || fail "a client failed"
done
"$BIN/it_timeline_check" --cores "$cores" --expect-tasks 900 "$WORK"/tl_a "$WORK"/tl_b "$WORK"/tl_c
# afterwards: no session left, every core free, 900 tasks counted
s=$(status_json)
[ "$(echo "$s" | jq '[.sessions[] | select(.role == "client")] | length')" = 0 ] ||
    fail "sessions remain after the clients exited"
[ "$(echo "$s" | jq '[.cores[] | select(.busy)] | length')" = 0 ] || fail "cores still busy"
[ "$(echo "$s" | jq '.counters.tasks_done')" -ge 900 ] || fail "daemon counted fewer than 900 tasks"
echo "test_three_clients: OK"
