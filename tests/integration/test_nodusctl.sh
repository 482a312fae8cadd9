#!/usr/bin/env bash
# nodusctl jobs, kill and top against a real nodusd: two sessions of one job are one fair-share
# account in `jobs`; `kill SESSION` closes a client at once (it gets NODUS_ECLOSED, its cores
# are free for the others) and reports errors (unknown session) with exit 1; `top --iterations 2`
# prints two snapshots with a tasks/s rate on a pipe; usage errors exit 2.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
# on failure, end the test's clients first: the harness's SIGTERM would wait for them to drain
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
ctl() { "$NODUSCTL" --socket "$SOCK" "$@"; }
start_daemon --cores 2

# two sessions of job "solver" and one of "train"
"$BIN/it_busy" --tasks 100000 --us 2000 --job solver >"$WORK/s1.out" 2>&1 &
s1=$!
"$BIN/it_busy" --tasks 100000 --us 2000 --job solver >"$WORK/s2.out" 2>&1 &
s2=$!
NODUS_WEIGHT=3 "$BIN/it_busy" --tasks 100000 --us 2000 --job train >"$WORK/t.out" 2>&1 &
t=$!
for _ in $(seq 1 200); do
    [ "$(status_json | jq '[.sessions[] | select(.role == "client" and .done > 0)] | length')" = 3 ] && break
    sleep 0.02
done
sleep 0.3
j=$(ctl jobs --json) || fail "nodusctl jobs failed"
[ "$(jq '.jobs | length' <<<"$j")" = 2 ] || fail "expected 2 jobs: $j"
solver=$(jq '.jobs[] | select(.job == "solver")' <<<"$j")
[ "$(jq .sessions <<<"$solver")" = 2 ] || fail "solver should have 2 sessions: $solver"
[ "$(jq '.session_ids | length' <<<"$solver")" = 2 ] || fail "solver session ids: $solver"
[ "$(jq '.jobs[] | select(.job == "train") | .weight' <<<"$j")" = 3 ] || fail "train weight: $j"
# the solver job's numbers are its two sessions' sums (from one status snapshot each, so compare
# with the sessions in the same reply: jobs is computed from a status reply)
total=$(jq '[.jobs[].share_pct] | add' <<<"$j")
awk -v t="$total" 'BEGIN { exit !(t > 99.9 && t < 100.1) }' || fail "shares add up to $total"
[ "$(jq '.core_ns > 0 and .submitted > 0 and .done > 0' <<<"$solver")" = true ] ||
    fail "solver counters: $solver"
ctl jobs >"$WORK/jobs.txt" || fail "nodusctl jobs (text) failed"
grep -qE '^ *[0-9]+ +solver +2 +1 ' "$WORK/jobs.txt" || fail "jobs table: $(cat "$WORK/jobs.txt")"
grep -q 'SHARE' "$WORK/jobs.txt" || fail "jobs table has no SHARE column"

# top: two snapshots, the second with a rate
ctl top --iterations 2 --interval 0.3 >"$WORK/top.txt" || fail "nodusctl top failed"
[ "$(grep -c '^nodusd .* tasks/s ' "$WORK/top.txt")" = 2 ] || fail "top did not print 2 snapshots"
grep -qE 'tasks/s [0-9]+ ' "$WORK/top.txt" || fail "no tasks/s rate in the second snapshot"
grep -qE '^[0-9]+ +busy +[0-9]+ +(solver|train) ' "$WORK/top.txt" || fail "no core line naming a job"
grep -q 'SESSION' "$WORK/top.txt" || fail "top has no sessions table"

# kill one solver session: its client learns at once, its cores go to the others
sid=$(status_json | jq --argjson p $s1 '.sessions[] | select(.pid == $p) | .session_id')
[ -n "$sid" ] || fail "no session for pid $s1"
out=$(ctl kill "$sid" --json) || fail "nodusctl kill $sid failed"
[ "$(jq .ok <<<"$out")" = true ] || fail "kill reply: $out"
rc=0
timeout 5 tail --pid=$s1 -f /dev/null || fail "the killed client is still running"
wait $s1 || rc=$?
[ $rc -ne 0 ] || fail "the killed client exited 0"
grep -q "connection to nodusd lost" "$WORK/s1.out" || fail "killed client did not see NODUS_ECLOSED: $(cat "$WORK/s1.out")"
s=$(status_json)
[ "$(jq --argjson v "$sid" '[.sessions[] | select(.session_id == $v)] | length' <<<"$s")" = 0 ] ||
    fail "killed session still listed"
[ "$(jq --argjson v "$sid" '[.cores[] | select(.session_id == $v)] | length' <<<"$s")" = 0 ] ||
    fail "killed session still holds cores"
grep -q "s$sid: killed by uid $(id -u)" "$WORK/nodusd.log" || fail "no kill line in the log"

# errors: an unknown session is exit 1 with the reason; bad usage is exit 2
rc=0
ctl kill 999999 2>"$WORK/err" || rc=$?
[ $rc = 1 ] || fail "kill of an unknown session exited $rc"
grep -q "no open session 999999" "$WORK/err" || fail "kill error: $(cat "$WORK/err")"
for bad in "kill" "kill abc" "kill 1 2" "trace" "trace stop" "trace start x" "top --iterations 0" "jobs x"; do
    rc=0
    # shellcheck disable=SC2086
    ctl $bad >/dev/null 2>&1 || rc=$?
    [ $rc = 2 ] || fail "'nodusctl $bad' exited $rc, not 2"
done

kill $s2 $t
wait $s2 $t 2>/dev/null || true
echo "test_nodusctl: OK"
