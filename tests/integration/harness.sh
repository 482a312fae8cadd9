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

# status_json: prints nodusctl's JSON status
status_json() {
    "$NODUSCTL" --socket "$SOCK" status --json
}
