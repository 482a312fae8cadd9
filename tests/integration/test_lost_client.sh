#!/usr/bin/env bash
# A task body that crashes its client (raise(SIGSEGV) in task 6) is reported in the daemon log
# at warning level: the session, uid, pid and job, each task that was running with its label
# and CPU, and, once the process is a zombie, that it was killed by signal 11. A second client
# runs alongside and finishes correctly; the daemon's accounting is back to idle afterwards.
# The crashing client's parent does not reap it for a while (as a batch script that has not
# reached `wait` yet), so the daemon can read its exit status from /proc.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
start_daemon --cores 2
"$BIN/it_dag" random 3000 7 >"$WORK/survivor.out" 2>&1 &
survivor=$!
# parent that reaps its child only after 1.5 s; sanitizers must let the SIGSEGV kill it
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0" \
    TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}handle_segv=0" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}handle_segv=0" python3 -c 'import os, sys, time
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
time.sleep(1.5)
os.waitpid(pid, 0)' "$BIN/it_busy" --tasks 200 --us 20000 --job crashjob --crash 5 \
    >/dev/null 2>&1 &
parent=$!
for _ in $(seq 1 200); do
    grep -q "lost client pid=" "$WORK/nodusd.log" && break
    sleep 0.02
done
cat "$WORK/nodusd.log" | grep -F "<4>" || true
line=$(grep -F "<4>nodusd[session]" "$WORK/nodusd.log" | grep "client lost without bye" | head -1)
[ -n "$line" ] || fail "no warning for the lost client"
sid=$(sed -n 's/.*\] s\([0-9]*\): client lost.*/\1/p' <<<"$line")
pid=$(sed -n 's/.* pid=\([0-9]*\) .*/\1/p' <<<"$line")
[[ "$line" =~ "uid=$(id -u) " ]] || fail "no uid in: $line"
[[ "$line" =~ "job=crashjob " ]] || fail "no job in: $line"
[[ "$line" =~ "client=it_busy" ]] || fail "no client name in: $line"
# a process that dies with unread input makes the kernel reset the connection instead of EOF
[[ "$line" =~ \((end of stream|connection reset by peer)\) ]] || fail "no reason in: $line"
# task 6 (index 5) was running when it crashed; with 2 cores, so may one other
grep -F "<4>nodusd[session] s$sid: lost client: task 6 label=crashjob running on cpu " \
    "$WORK/nodusd.log" >/dev/null || fail "crashing task 6 not named"
grep -F "<4>nodusd[session] s$sid: lost client pid=$pid: process killed by signal 11" \
    "$WORK/nodusd.log" >/dev/null || fail "signal death not reported: $(grep "lost client pid" "$WORK/nodusd.log")"
wait $parent || true
wait $survivor || fail "the other client failed: $(cat "$WORK/survivor.out")"
s=$(status_json)
[ "$(jq .counters.live_tasks <<<"$s")" = 0 ] || fail "tasks left: $(jq .counters <<<"$s")"
[ "$(jq '[.cores[] | select(.busy)] | length' <<<"$s")" = 0 ] || fail "cores still busy"
# a client that ends normally (Bye) is not reported
"$BIN/it_busy" --tasks 20 --us 100 --job clean >/dev/null || fail "clean client failed"
[ "$(grep -c "client lost without bye" "$WORK/nodusd.log")" = 1 ] || fail "extra lost-client warnings"
echo "test_lost_client: OK"
