#!/usr/bin/env bash
# Issue 8: clients SIGKILLed at random points of a running graph, TRIALS times in a row (100;
# 20 under sanitizers, NODUS_TEST_SANITIZER=1, whose clients are several times slower).
#   - after each kill the victim's session is gone and no core is held by a session that is
#     not listed (its cores are reclaimed);
#   - two survivor clients run graphs over and over meanwhile (it_dag random, each checking
#     its results and the dependency order against a sequential run): every run succeeds;
#   - at the end the daemon's own accounting (status counters live_tasks, live_sessions,
#     deps_segments, held_bytes; users; devices in flight; busy cores) equals the baseline taken
#     before the first trial. nodusd's RSS is printed for information only: the allocator keeps
#     freed memory, so RSS is not a leak check (the sanitizer builds check leaks).
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
trap 'rc=$?; touch "$WORK/stop"; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
TRIALS=100
[ "${NODUS_TEST_SANITIZER:-0}" = 1 ] && TRIALS=20
start_daemon --cores 2
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
# what the daemon holds when idle, with one status connection (nodusctl's own) open
accounting() {
    status_json | jq -c '{t: .counters.live_tasks, s: .counters.live_sessions,
        d: .counters.deps_segments, h: .counters.held_bytes, u: (.users | length),
        f: ([.devices[].in_flight] | add // 0), b: ([.cores[] | select(.busy)] | length)}'
}
"$BIN/it_busy" --tasks 2000 --us 0 --job warmup >/dev/null || fail "warm-up client failed"
base=$(accounting)
rss0=$(rss)
echo "baseline: $base, RSS ${rss0} kB"

# survivors: graphs with checked results, run again and again until the trials are over
survivor() {
    local n=0 seed=$1
    while [ ! -e "$WORK/stop" ]; do
        if ! "$BIN/it_dag" random 1500 $((seed + n)) >"$WORK/surv$1.out" 2>&1; then
            echo "seed $((seed + n))" >>"$WORK/surv_failed"
            cat "$WORK/surv$1.out" >>"$WORK/surv_failed"
        fi
        n=$((n + 1))
    done
    echo $n >"$WORK/surv$1.runs"
}
survivor 100 &
s1=$!
survivor 5000 &
s2=$!

# a core held by a session that is not listed is a leaked grant
orphan_cores='[.sessions[].session_id] as $ids
    | [.cores[] | select(.session_id != 0 and (.session_id as $c | $ids | index($c) | not))] | length'
killed_running=0
for i in $(seq 1 $TRIALS); do
    # a long graph: chained half the time (one task runs, the rest wait on dependencies)
    if [ $((i % 2)) = 0 ]; then chain=--chain; else chain=; fi
    "$BIN/it_busy" --tasks 100000 --us 200 $chain --job "victim$i" >/dev/null 2>&1 &
    victim=$!
    sleep "0.0$((RANDOM % 60 + 5))" # 5-64 ms: before Hello, while submitting, while running
    [ "$(status_json | jq --argjson p $victim '[.sessions[] | select(.pid == $p and .running > 0)] | length')" = 1 ] &&
        killed_running=$((killed_running + 1))
    kill -KILL $victim
    wait $victim 2>/dev/null || true
    ok=0
    for _ in $(seq 1 100); do
        s=$(status_json)
        if [ "$(jq --argjson p $victim '[.sessions[] | select(.pid == $p)] | length' <<<"$s")" = 0 ] &&
            [ "$(jq "$orphan_cores" <<<"$s")" = 0 ]; then
            ok=1
            break
        fi
        sleep 0.02
    done
    [ $ok = 1 ] || fail "trial $i: victim pid $victim still listed or its cores held: $(jq -c '.sessions, .cores' <<<"$s")"
done
touch "$WORK/stop"
wait $s1 $s2
[ ! -e "$WORK/surv_failed" ] || fail "a survivor failed: $(head -20 "$WORK/surv_failed")"
runs=$(($(cat "$WORK/surv100.runs") + $(cat "$WORK/surv5000.runs")))
[ "$runs" -ge 2 ] || fail "survivors ran only $runs graphs"
[ $killed_running -ge $((TRIALS / 4)) ] || fail "only $killed_running of $TRIALS victims were killed with tasks running"

# everything the victims and survivors had is gone: accounting back to the baseline
now=""
for _ in $(seq 1 100); do
    now=$(accounting)
    [ "$now" = "$base" ] && break
    sleep 0.02
done
[ "$now" = "$base" ] || fail "daemon accounting $now, baseline $base"
kill -0 "$DAEMON_PID" || fail "nodusd died"
s=$(status_json)
echo "$TRIALS trials ($killed_running killed with tasks running), $runs survivor graphs;" \
    "sessions_total $(jq .counters.sessions_total <<<"$s"), tasks done $(jq .counters.tasks_done <<<"$s");" \
    "accounting $now; RSS ${rss0} kB at baseline, $(rss) kB after (information only)"
echo "test_kill_many: OK"
