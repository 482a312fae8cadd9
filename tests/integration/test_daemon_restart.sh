#!/usr/bin/env bash
# nodusd SIGKILLed and restarted on the same socket while a client runs (docs/protocol.md,
# "Daemon restarts"):
#   1. a random graph of thousands of short tasks survives three kills: libnodus reconnects,
#      resubmits what had not started, and the result is bit-identical to sequential execution
#      with every body run exactly once;
#   2. (OpenCL) a started task whose device work cannot be confirmed within the budget makes a
#      non-idempotent session fail with NODUS_ELOST, after one run of the body;
#   3. (OpenCL) the same task declared idempotent is resubmitted and runs again, and the session
#      finishes normally;
#   4. NODUS_RECONNECT_TIMEOUT=0 keeps the old fail-fast behaviour;
#   5. a daemon that never comes back fails the session with NODUS_ECLOSED after the budget;
#   6. a per-user daemon (autostarted) that crashes is autostarted again by the reconnect.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT

# kill_daemon: SIGKILL, as a crash
kill_daemon() {
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
}
# restart_daemon DELAY: crash, then a new daemon on the same socket DELAY seconds later
restart_daemon() {
    kill_daemon
    sleep "$1"
    start_daemon --cores 2
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }

start_daemon --cores 2

# 1. several crashes in one run
NODUS_RECONNECT_TIMEOUT=10 "$BIN/it_restart" graph 6000 7 300 >"$WORK/graph.out" 2>&1 &
client=$!
kills=0
for _ in 1 2 3; do
    sleep 0.4
    kill -0 $client 2>/dev/null || break
    restart_daemon 0.2
    kills=$((kills + 1))
done
wait $client || fail "graph client failed after $kills restarts: $(cat "$WORK/graph.out")"
grep -q "identical to sequential execution" "$WORK/graph.out" || fail "graph: $(cat "$WORK/graph.out")"
r=$(sed -n 's/^reconnects //p' "$WORK/graph.out")
[ "$kills" -ge 2 ] || fail "the graph finished before the daemon was killed twice ($kills)"
[ "$r" -ge 1 ] && [ "$r" -le "$kills" ] || fail "$r reconnects for $kills restarts"
echo "graph: $kills restarts, $r reconnects, result exact, every body once"

# 2, 3. a started device task whose completion is lost: its device work waits on a gate that
# opens only after the budget (the daemon, back 0.2 s after the kill, must start within it)
budget=1 gate_ms=2500
[ -z "${NODUS_TEST_SANITIZER:-}" ] || { budget=3; gate_ms=5000; }
for idem in 0 1; do
    rm -f "$WORK/mark"
    rc=0
    NODUS_RECONNECT_TIMEOUT=$budget "$BIN/it_restart" lost "$WORK/mark" $idem $gate_ms \
        >"$WORK/lost.out" 2>&1 &
    client=$!
    for _ in $(seq 1 250); do
        [ -e "$WORK/mark" ] && break
        kill -0 $client 2>/dev/null || break
        sleep 0.02
    done
    if [ ! -e "$WORK/mark" ]; then
        wait $client || rc=$?
        [ $rc = 77 ] || fail "lost (idempotent $idem) ended before its body ran: $(cat "$WORK/lost.out")"
        echo "lost: skipped (no OpenCL device)"
        break
    fi
    restart_daemon 0.2
    wait $client || fail "lost (idempotent $idem): $(cat "$WORK/lost.out")"
    cat "$WORK/lost.out"
done

# 4. reconnection disabled: the session fails at once, as before
NODUS_RECONNECT_TIMEOUT=0 "$BIN/it_restart" graph 6000 3 300 >"$WORK/ff.out" 2>&1 &
client=$!
sleep 0.3
kill -0 $client 2>/dev/null || fail "fail-fast client finished too early"
t0=$(ms_now)
restart_daemon 0
rc=0
wait $client || rc=$?
t1=$(ms_now)
[ $rc -ne 0 ] || fail "with NODUS_RECONNECT_TIMEOUT=0 the client survived a crash"
grep -q "connection to nodusd lost" "$WORK/ff.out" || fail "fail-fast: $(cat "$WORK/ff.out")"
[ $((t1 - t0)) -lt 3000 ] || fail "fail-fast took $((t1 - t0)) ms"

# 5. the daemon never comes back: a clear error once the budget (1 s) is spent
NODUS_RECONNECT_TIMEOUT=1 "$BIN/it_restart" graph 6000 5 300 >"$WORK/gone.out" 2>&1 &
client=$!
sleep 0.3
kill -0 $client 2>/dev/null || fail "client finished too early"
t0=$(ms_now)
kill_daemon
rc=0
wait $client || rc=$?
t1=$(ms_now)
[ $rc -ne 0 ] || fail "the client reported success with no daemon"
grep -q "connection to nodusd lost" "$WORK/gone.out" || fail "daemon gone: $(cat "$WORK/gone.out")"
[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 6000 ] ||
    fail "the client gave up after $((t1 - t0)) ms (budget 1 s)"

# 6. the per-user daemon: the reconnect starts a new one, as nodus_open() would
mkdir -m 700 "$WORK/xdg"
usock="$WORK/xdg/nodus/nodusd.sock"
upid() { "$NODUSCTL" --socket "$usock" status --json 2>/dev/null | jq .pid; }
(
    unset NODUS_SOCKET NODUS_NO_AUTOSTART
    export XDG_RUNTIME_DIR="$WORK/xdg" NODUS_DAEMON="$NODUSD" NODUS_RECONNECT_TIMEOUT=10
    exec "$BIN/it_restart" graph 4000 11 300
) >"$WORK/auto.out" 2>&1 &
client=$!
first=""
for _ in $(seq 1 250); do
    first=$(upid) && [ -n "$first" ] && break
    sleep 0.02
done
[ -n "$first" ] || fail "no per-user daemon was autostarted"
sleep 0.3
kill -0 $client 2>/dev/null || fail "autostart client finished too early"
kill -KILL "$first"
rc=0
wait $client || rc=$?
second=$(upid || true)
[ -n "$second" ] && [ "$second" != "$first" ] && kill "$second"
[ $rc = 0 ] || fail "autostart client: $(cat "$WORK/auto.out")"
grep -q "^reconnects 1$" "$WORK/auto.out" || fail "autostart client: $(cat "$WORK/auto.out")"
[ -n "$second" ] && [ "$second" != "$first" ] || fail "no new per-user daemon ($first, $second)"
echo "test_daemon_restart: OK"
