#!/usr/bin/env bash
# Admin requests need root, nodusd's own user or daemon.admin_group: a user who is none of these
# (nobody, through runuser) may look (status, jobs) but drain, kill and trace start/stop are
# refused with NODUS_EPERM (exit 1), the connection staying open and the daemon unaffected; once
# nobody's group is the admin group (a reload), the same user may trace. Skipped (77) where
# tests cannot run a command as another user (not root, no runuser, no user nobody).
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
# on failure, end the test's clients first: the harness's SIGTERM would wait for them to drain
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run nodusctl as another user"; exit 77; }
command -v runuser >/dev/null || { echo "SKIP: no runuser"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
as_nobody() { runuser -u nobody -- "$NODUSCTL" --socket "$SOCK" "$@"; }
runuser -u nobody -- test -x "$NODUSCTL" || { echo "SKIP: nobody cannot run $NODUSCTL"; exit 77; }

CONF=$WORK/nodusd.conf
printf '[daemon]\nadmin_group = root\n' >"$CONF"
start_daemon --cores 2 --config "$CONF"
chmod 755 "$WORK"
chmod 666 "$SOCK"
mkdir "$WORK/nb"
chown nobody "$WORK/nb"
as_nobody status >/dev/null || fail "nobody cannot even look at status"
as_nobody jobs >/dev/null || fail "nobody cannot list jobs"

"$BIN/it_busy" --tasks 100000 --us 2000 --job victim >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 200); do
    sid=$(status_json | jq '[.sessions[] | select(.job == "victim") | .session_id] | first')
    [ "$sid" != null ] && break
    sleep 0.02
done
[ "$sid" != null ] || fail "victim session not visible"

for cmd in "drain" "kill $sid" "trace start" "trace stop $WORK/nb/t.json"; do
    rc=0
    # shellcheck disable=SC2086
    out=$(as_nobody $cmd --json 2>"$WORK/err") || rc=$?
    [ $rc = 1 ] || fail "'nodusctl $cmd' as nobody exited $rc"
    [ "$(jq .code <<<"$out")" = -8 ] || fail "'nodusctl $cmd' as nobody: $out"
    grep -q "permission denied" "$WORK/err" || fail "'nodusctl $cmd' error: $(cat "$WORK/err")"
done
[ ! -e "$WORK/nb/t.json" ] || fail "a refused trace stop left a file"
s=$(status_json)
[ "$(jq .draining <<<"$s")" = false ] || fail "a refused drain started draining"
[ "$(jq --argjson v "$sid" '[.sessions[] | select(.session_id == $v)] | length' <<<"$s")" = 1 ] ||
    fail "a refused kill closed the session"
[ "$(jq .settings.trace_recording <<<"$s")" = false ] || fail "a refused trace start recorded"
[ "$(jq .counters.sessions_dropped <<<"$s")" = 0 ] || fail "a refused request dropped the peer"
grep -q "may not drain_request: not root or in group root" "$WORK/nodusd.log" ||
    fail "no refusal line in the log"

# nobody's own group as the admin group: now it may trace
printf '[daemon]\nadmin_group = %s\n' "$(id -gn nobody)" >"$CONF"
kill -HUP "$DAEMON_PID"
for _ in $(seq 1 100); do grep -q 'changed: daemon.admin_group' "$WORK/nodusd.log" && break; sleep 0.02; done
as_nobody trace start >/dev/null || fail "nobody in the admin group may not start a trace"
as_nobody trace stop "$WORK/nb/t.json" >/dev/null || fail "nobody in the admin group may not stop a trace"
jq -e .traceEvents "$WORK/nb/t.json" >/dev/null || fail "nobody's trace is not valid JSON"
kill $victim
wait $victim 2>/dev/null || true
echo "test_admin: OK"
