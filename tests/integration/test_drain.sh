#!/usr/bin/env bash
# SIGTERM drains: a client already running its graph finishes with correct results while a client
# that connects during the drain is refused with NODUS_EDRAINING (nodusctl still gets status, which
# says draining), and nodusd exits 0 once the last client is gone. With a drain timeout shorter
# than the work, the remaining session is closed (log line) and nodusd exits 0 at the timeout. A
# second SIGTERM stops at once. nodusctl drain starts the same drain.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
# on failure, end the test's clients first: the harness's SIGTERM would wait for them to drain
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT

# wait_job JOB: until a session of JOB holds a core
wait_job() {
    for _ in $(seq 1 200); do
        [ "$(status_json | jq --arg j "$1" '[.sessions[] | select(.job == $j and .running > 0)] | length')" -gt 0 ] && return 0
        sleep 0.02
    done
    fail "job $1 never ran"
}

# 1. drain lets the running graph finish
start_daemon --cores 2
"$BIN/it_busy" --tasks 400 --us 2500 --chain --job graph >"$WORK/graph.out" 2>&1 &
graph=$!
"$BIN/it_busy" --tasks 200 --us 2500 --job other >"$WORK/other.out" 2>&1 &
other=$!
wait_job graph
wait_job other
kill -TERM "$DAEMON_PID"
sleep 0.1
kill -0 "$DAEMON_PID" || fail "nodusd exited at once on SIGTERM instead of draining"
rc=0
"$BIN/it_busy" --tasks 5 --us 100 --job late >"$WORK/late.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a client connecting during the drain was accepted"
grep -q "draining" "$WORK/late.out" || fail "late client did not get NODUS_EDRAINING: $(cat "$WORK/late.out")"
[ "$(status_json | jq .draining)" = true ] || fail "status does not say draining"
wait $graph || fail "the graph client failed during the drain: $(cat "$WORK/graph.out")"
wait $other || fail "the other client failed during the drain: $(cat "$WORK/other.out")"
grep -q "graph: 400 tasks" "$WORK/graph.out" || fail "graph output: $(cat "$WORK/graph.out")"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=""
[ $rc -eq 0 ] || fail "nodusd exited with $rc after the drain"
grep -q "drain complete" "$WORK/nodusd.log" || fail "no drain completion in the log"

# 2. a drain timeout shorter than the work closes the session and exits
NODUS_CONFIG_OVERRIDE=daemon.drain_timeout_s=1 start_daemon --cores 2
"$BIN/it_busy" --tasks 100000 --us 2000 --job endless >"$WORK/endless.out" 2>&1 &
endless=$!
wait_job endless
t0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=""
t1=$(date +%s%N)
[ $rc -eq 0 ] || fail "nodusd exited with $rc at the drain timeout"
ms=$(((t1 - t0) / 1000000))
[ $ms -ge 900 ] && [ $ms -lt 5000 ] || fail "drain with a 1 s timeout took $ms ms"
grep -q "drain timeout (1 s) expired: closing 1 client sessions" "$WORK/nodusd.log" ||
    fail "no drain timeout line in the log"
grep -q "closed by the drain timeout" "$WORK/nodusd.log" || fail "no per-session line in the log"
rc=0
wait $endless || rc=$?
[ $rc -ne 0 ] || fail "the client cut by the drain timeout reported success"

# 3. a second SIGTERM stops at once
start_daemon --cores 2
"$BIN/it_busy" --tasks 100000 --us 2000 --job endless >/dev/null 2>&1 &
endless=$!
wait_job endless
kill -TERM "$DAEMON_PID"
sleep 0.2
kill -TERM "$DAEMON_PID"
rc=0
timeout 5 tail --pid="$DAEMON_PID" -f /dev/null || fail "nodusd still runs after a second SIGTERM"
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=""
[ $rc -eq 0 ] || fail "nodusd exited with $rc on the second SIGTERM"
grep -q "stopping (second signal)" "$WORK/nodusd.log" || fail "no 'second signal' stop in the log"
wait $endless 2>/dev/null || true

# 4. nodusctl drain: the same, started remotely; the client finishes, nodusd exits 0
start_daemon --cores 2
"$BIN/it_busy" --tasks 150 --us 2500 --chain --job graph >"$WORK/graph.out" 2>&1 &
graph=$!
wait_job graph
out=$("$NODUSCTL" --socket "$SOCK" drain --json) || fail "nodusctl drain failed"
[ "$(jq .ok <<<"$out")" = true ] || fail "drain reply: $out"
rc=0
"$BIN/it_busy" --tasks 5 --us 100 --job late >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a client was accepted after nodusctl drain"
wait $graph || fail "the graph client failed after nodusctl drain"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=""
[ $rc -eq 0 ] || fail "nodusd exited with $rc after nodusctl drain"
grep -q "draining (nodusctl drain, uid $(id -u))" "$WORK/nodusd.log" || fail "no drain line naming nodusctl"
echo "test_drain: OK"
