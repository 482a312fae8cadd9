# Shared helpers for the integration tests: each test sources this, starts its own nodusd on a
# private socket in a private directory, and everything is torn down on exit.
#   NODUSD, NODUSCTL, BIN (dir of the test clients) come from ctest's environment.
set -euo pipefail

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nodus-it.XXXXXX")
SOCK="$WORK/nodusd.sock"
DAEMON_PID=""
export NODUS_NO_AUTOSTART=1 # tests that want autostart unset it
unset NODUS_SOCKET NODUS_WEIGHT

cleanup() {
    local rc=$? drc=0
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill "$DAEMON_PID" 2>/dev/null || true
        # the first SIGTERM drains (connected clients may finish); a second one stops at once
        for _ in $(seq 1 20); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.05; done
        kill "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || drc=$?
        # SIGTERM is an orderly stop with status 0; anything else is a fault at shutdown, or a
        # sanitizer's verdict on the whole run (leaks, races) in a sanitizer build
        if [ $drc -ne 0 ] && [ $rc -eq 0 ]; then
            echo "FAIL: nodusd exited with status $drc when stopped" >&2
            rc=1
        fi
    fi
    if [ $rc -ne 0 ] && [ -f "$WORK/nodusd.log" ]; then
        echo "---- nodusd log (last 40 lines) ----"
        tail -n 40 "$WORK/nodusd.log"
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# start_daemon [extra nodusd args...]: runs nodusd in the foreground (background job) and waits
# until it accepts connections.
start_daemon() {
    "$NODUSD" --socket "$SOCK" --foreground "$@" >"$WORK/nodusd.log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1 100); do
        if "$NODUSCTL" --socket "$SOCK" status >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$DAEMON_PID" 2>/dev/null || fail "nodusd exited at startup"
        sleep 0.05
    done
    fail "nodusd did not start listening on $SOCK"
}

# kill_daemon_under APP JOB AFTER KILLS [nodusd args...]: SIGKILLs the daemon KILLS times while
# process APP runs, each time once the sessions of job JOB on the current daemon have completed
# AFTER tasks (nodusctl status; needs jq), and restarts it on the same socket 0.2 s later with
# the nodusd args. Sets `kills` to the kills done: fewer when APP ended first. Fails when APP
# makes no progress for 60 s or dies with the daemon.
kill_daemon_under() {
    local app=$1 job=$2 after=$3 wanted=$4 done_now deadline
    shift 4
    kills=0
    while [ "$kills" -lt "$wanted" ]; do
        done_now=""
        deadline=$((SECONDS + 60))
        while [ $SECONDS -lt $deadline ]; do
            kill -0 "$app" 2>/dev/null || break
            done_now=$(status_json 2>/dev/null | jq --arg job "$job" \
                '[.sessions[] | select(.job == $job and .role == "client") | .done] | add // 0')
            [ -n "$done_now" ] && [ "$done_now" -ge "$after" ] && break
            sleep 0.01
        done
        kill -0 "$app" 2>/dev/null || break
        [ -n "$done_now" ] && [ "$done_now" -ge "$after" ] || fail "no progress of $job ($app)"
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=""
        kill -0 "$app" 2>/dev/null || fail "$job ($app) ended with the daemon"
        kills=$((kills + 1))
        echo "kill $kills: nodusd SIGKILLed after $done_now $job tasks on it"
        sleep 0.2
        start_daemon "$@"
    done
}

# status_json: prints nodusctl's JSON status
status_json() {
    "$NODUSCTL" --socket "$SOCK" status --json
}
