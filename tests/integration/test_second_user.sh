#!/usr/bin/env bash
# Issue 8: isolation between users. Sessions are bound to the peer's uid/pid (SO_PEERCRED); a
# second user (nodus-test2) shares the daemon with root's client and:
#   - sees its own sessions in full in `nodusctl status` / `jobs`, and the other user's only as
#     a count (hidden_sessions) and as busy cores without session, task or label;
#   - is refused drain, kill and trace start/stop with NODUS_EPERM ("permission denied");
#   - cannot name another session's task: a crafted Done for the task root's client is running
#     drops the crafted session (task ids are per session) and root's client is unaffected.
# The user is created here when missing (useradd --system --no-create-home, as root; CI runs as
# root): the test owns what it needs, like its private socket. Without root and without the
# user it is skipped (77).
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
U2=nodus-test2
if ! id "$U2" >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: no user $U2 and not root to create it"; exit 77; }
    useradd --system --no-create-home --shell /usr/sbin/nologin "$U2" ||
        { id "$U2" >/dev/null 2>&1 || fail "cannot create user $U2"; } # another test may race
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run commands as $U2"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: no setpriv"; exit 77; }
UID2=$(id -u "$U2")
GID2=$(id -g "$U2")
as2() { setpriv --reuid="$UID2" --regid="$GID2" --clear-groups -- "$@"; }
as2 test -x "$NODUSCTL" || { echo "SKIP: $U2 cannot run $NODUSCTL"; exit 77; }

CONF=$WORK/nodusd.conf
printf '[daemon]\nadmin_group =\n' >"$CONF" # root (the daemon's user) is the only admin
start_daemon --cores 2 --config "$CONF"
chmod 711 "$WORK" # the socket's directory: others may reach the socket by name
chmod 666 "$SOCK"
mkdir "$WORK/u2"
chown "$U2" "$WORK/u2"

"$BIN/it_busy" --tasks 100000 --us 2000 --job rootjob >/dev/null 2>&1 &
victim=$!
as2 "$BIN/it_busy" --tasks 100000 --us 2000 --job user2job >/dev/null 2>&1 &
other=$!
for _ in $(seq 1 200); do
    s=$(status_json)
    [ "$(jq '[.sessions[] | select(.role == "client" and .running > 0)] | length' <<<"$s")" = 2 ] && break
    sleep 0.02
done
sid=$(jq '[.sessions[] | select(.job == "rootjob") | .session_id] | first' <<<"$s")
sid2=$(jq '[.sessions[] | select(.job == "user2job") | .session_id] | first' <<<"$s")
[ "$sid" != null ] && [ "$sid2" != null ] || fail "both clients should be visible to root: $s"
[ "$(jq --argjson v "$sid2" '.sessions[] | select(.session_id == $v) | .uid' <<<"$s")" = "$UID2" ] ||
    fail "user2's session is not bound to uid $UID2"

# what user 2 sees
s2=$(as2 "$NODUSCTL" --socket "$SOCK" status --json) || fail "$U2 cannot look at status"
[ "$(jq --argjson u "$UID2" '[.sessions[] | select(.uid != $u)] | length' <<<"$s2")" = 0 ] ||
    fail "$U2 sees other users' sessions: $(jq -c .sessions <<<"$s2")"
[ "$(jq --argjson v "$sid2" '[.sessions[] | select(.session_id == $v)] | length' <<<"$s2")" = 1 ] ||
    fail "$U2 does not see its own session"
[ "$(jq .hidden_sessions <<<"$s2")" -ge 1 ] || fail "hidden_sessions: $(jq .hidden_sessions <<<"$s2")"
! grep -q rootjob <<<"$s2" || fail "root's job name leaks to $U2"
[ "$(jq --argjson v "$sid" '[.cores[] | select(.session_id == $v or .last_session_id == $v)] | length' <<<"$s2")" = 0 ] ||
    fail "root's session id leaks through the cores"
[ "$(jq --argjson u "$UID2" '[.users[] | select(.uid != $u)] | length' <<<"$s2")" = 0 ] ||
    fail "$U2 sees other users' limits"
[ "$(jq '[.cores[] | select(.busy)] | length' <<<"$s2")" -ge 1 ] || fail "busy cores not shown"
as2 "$NODUSCTL" --socket "$SOCK" status | grep -q "sessions of other users not shown" ||
    fail "text status does not say sessions are hidden"
! as2 "$NODUSCTL" --socket "$SOCK" jobs | grep -q rootjob || fail "nodusctl jobs shows root's job to $U2"

# admin commands are refused with a clear error, and change nothing
for cmd in "drain" "kill $sid" "trace start" "trace stop $WORK/u2/t.json"; do
    rc=0
    # shellcheck disable=SC2086
    out=$(as2 "$NODUSCTL" --socket "$SOCK" $cmd --json 2>"$WORK/err") || rc=$?
    [ $rc = 1 ] || fail "'nodusctl $cmd' as $U2 exited $rc"
    [ "$(jq .code <<<"$out")" = -8 ] || fail "'nodusctl $cmd' as $U2: $out"
    grep -q "permission denied" "$WORK/err" || fail "'nodusctl $cmd' error: $(cat "$WORK/err")"
done
[ ! -e "$WORK/u2/t.json" ] || fail "a refused trace stop left a file"

# a crafted Done for the task root's client is running now
for _ in $(seq 1 100); do
    tid=$(status_json | jq --argjson v "$sid" '[.cores[] | select(.session_id == $v) | .task_id] | first')
    [ "$tid" != null ] && break
    sleep 0.01
done
[ "$tid" != null ] || fail "root's client runs no task"
as2 "$BIN/it_raw" "$SOCK" done-foreign "$tid" >"$WORK/raw.out" 2>&1 || fail "crafted Done: $(cat "$WORK/raw.out")"
grep -q "error -5 (done for a task that is not running)" "$WORK/raw.out" ||
    fail "crafted Done not refused as a protocol violation: $(cat "$WORK/raw.out")"
grep -q "dropping peer uid=$UID2 .*done for a task that is not running" "$WORK/nodusd.log" ||
    fail "no log line naming the peer"

s=$(status_json)
[ "$(jq .draining <<<"$s")" = false ] || fail "a refused drain started draining"
[ "$(jq .settings.trace_recording <<<"$s")" = false ] || fail "a refused trace start recorded"
for v in "$sid" "$sid2"; do
    [ "$(jq --argjson v "$v" '[.sessions[] | select(.session_id == $v)] | length' <<<"$s")" = 1 ] ||
        fail "session $v was closed"
done
# root's client keeps running: its tasks still complete
d0=$(jq --argjson v "$sid" '.sessions[] | select(.session_id == $v) | .done' <<<"$s")
sleep 0.1
d1=$(status_json | jq --argjson v "$sid" '.sessions[] | select(.session_id == $v) | .done')
[ "$d1" -gt "$d0" ] || fail "root's client stopped making progress ($d0 -> $d1)"
kill -0 $victim && kill -0 $other || fail "a client died"
kill $victim $other
wait $victim $other 2>/dev/null || true
echo "test_second_user: OK"
