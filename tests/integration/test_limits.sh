#!/usr/bin/env bash
# Per-user limits (config [limits], docs/protocol.md "Limits and back-pressure"):
#   - max_outstanding_tasks is back-pressure: one user's three clients submit far more tasks
#     than the limit (8); every task runs and every client finishes correctly, the user's
#     outstanding count (sampled, and the daemon's own high-water mark) never passes 8, and a
#     session that holds much input and no live task is not read for a while (its log line;
#     status shows read_stopped, sampled here for information only);
#   - max_sessions_per_user: a fourth client session is refused with ELIMIT and a clear message;
#   - max_message_bytes: a longer frame is refused with ELIMIT naming the limit, while libnodus
#     clients, told the limit in Welcome, keep working;
#   - afterwards the daemon's own accounting is back to idle (no task, no held input).
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
LIMIT=8
HOLD_US=800000 # the floods must send > 256 KiB while the room is taken
[ "${NODUS_TEST_SANITIZER:-0}" = 1 ] && HOLD_US=2000000 # slower clients: hold the room longer
CONF=$WORK/nodusd.conf
printf '[limits]\nmax_sessions_per_user = 3\nmax_outstanding_tasks = %s\nmax_message_bytes = 65536\n' \
    "$LIMIT" >"$CONF"
start_daemon --cores 2 --config "$CONF"
s=$(status_json)
[ "$(jq .settings.max_outstanding_tasks <<<"$s")" = $LIMIT ] || fail "limit not in status"
[ "$(jq .settings.max_message_bytes <<<"$s")" = 65536 ] || fail "frame limit not in status"

# the room is taken by 8 long tasks first, then two floods queue behind them
timeout 120 "$BIN/it_busy" --tasks $LIMIT --us $HOLD_US --job hold >"$WORK/hold.out" 2>&1 &
hold=$!
for _ in $(seq 1 200); do
    [ "$(status_json | jq '[.users[].outstanding] | add // 0')" = $LIMIT ] && break
    sleep 0.01
done
timeout 120 "$BIN/it_busy" --tasks 40000 --us 0 --job flood1 >"$WORK/flood1.out" 2>&1 &
f1=$!
timeout 120 "$BIN/it_busy" --tasks 40000 --us 0 --job flood2 >"$WORK/flood2.out" 2>&1 &
f2=$!
for _ in $(seq 1 200); do
    [ "$(status_json | jq '[.sessions[] | select(.role == "client")] | length')" = 3 ] && break
    sleep 0.01
done
# a fourth client session of the same user is refused, saying why
"$BIN/it_raw" "$SOCK" hello-refused >"$WORK/refused.out" || fail "fourth session not refused"
grep -q "error -7 (too many sessions for this user (limits.max_sessions_per_user = 3))" \
    "$WORK/refused.out" || fail "refusal: $(cat "$WORK/refused.out")"

# sample until the floods are done: outstanding never above the limit
max_seen=0 peak=0 stopped_seen=0 samples=0
while kill -0 $f1 2>/dev/null || kill -0 $f2 2>/dev/null; do
    s=$(status_json) || break
    read -r out pk st < <(jq -r '[([.users[].outstanding] | max // 0), ([.users[].peak_outstanding] | max // 0),
        ([.sessions[] | select(.read_stopped)] | length)] | @tsv' <<<"$s")
    [ "$out" -gt "$max_seen" ] && max_seen=$out
    [ "$pk" -gt "$peak" ] && peak=$pk
    [ "$st" -gt 0 ] && stopped_seen=1
    samples=$((samples + 1))
    sleep 0.02
done
wait $hold || fail "hold client failed: $(cat "$WORK/hold.out")"
wait $f1 || fail "flood1 failed: $(cat "$WORK/flood1.out")"
wait $f2 || fail "flood2 failed: $(cat "$WORK/flood2.out")"
echo "samples $samples, outstanding max sampled $max_seen, daemon peak $peak, read stopped seen $stopped_seen"
[ "$peak" -le $LIMIT ] || fail "the user had $peak tasks outstanding, limit $LIMIT"
[ "$max_seen" -le $LIMIT ] || fail "sampled $max_seen tasks outstanding, limit $LIMIT"
[ "$peak" = $LIMIT ] || fail "the limit was never reached (peak $peak)"
grep -q "at limits.max_outstanding_tasks: not reading" "$WORK/nodusd.log" ||
    fail "no session was ever read-stopped while holding input"

# frames: longer than the limit is refused by name; libnodus adapts to it
"$BIN/it_raw" "$SOCK" oversized-frame >"$WORK/frame.out" || fail "oversized frame not dropped"
grep -q "error -7 (frame of 2147483647 bytes exceeds limits.max_message_bytes (65536))" \
    "$WORK/frame.out" || fail "frame refusal: $(cat "$WORK/frame.out")"
"$BIN/it_dag" random 3000 11 >/dev/null || fail "a client under the 64 KiB frame limit failed"

s=$(status_json)
k() { jq ".counters.$1" <<<"$s"; }
[ "$(k frames_refused)" = 1 ] || fail "frames_refused $(k frames_refused)"
[ "$(k sessions_refused)" = 1 ] || fail "sessions_refused $(k sessions_refused)"
[ "$(k live_tasks)" = 0 ] || fail "$(k live_tasks) tasks left in the daemon"
[ "$(k held_bytes)" = 0 ] || fail "$(k held_bytes) bytes still held"
[ "$(k tasks_done)" = "$(k tasks_submitted)" ] || fail "not every task completed"
[ "$(jq '.users | length' <<<"$s")" = 0 ] || fail "users left: $(jq -c .users <<<"$s")"
echo "test_limits: OK"
