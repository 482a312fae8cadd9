# shellcheck shell=bash
# Shared helpers of the packaging tests: a private work directory removed on exit, daemons
# started here stopped on exit, and fail/skip. ctest's environment names the build (see
# CMakeLists.txt: BUILD_DIR, SRC_DIR, NODUSD, NODUSCTL, ...).
set -euo pipefail

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nodus-pkg.XXXXXX")
PIDS=()
export NODUS_NO_AUTOSTART=1 # a test never falls back to a per-user daemon
unset NODUS_SOCKET NODUS_CONFIG NODUS_CONFIG_OVERRIDE NODUS_JOB NODUS_WEIGHT

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        for log in "$WORK"/*.log; do
            [ -f "$log" ] || continue
            echo "---- $(basename "$log") (last 30 lines) ----"
            tail -n 30 "$log"
        done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "SKIP: $*"
    exit 77
}

# app_names: the application programs of package nodus-apps (ctest's APPS holds their files)
app_names() {
    local f
    for f in ${APPS:-}; do basename "$f"; done
}

# wait_for_daemon SOCKET PID [NODUSCTL]: waits until a nodusd answers on SOCKET.
wait_for_daemon() {
    local sock=$1 pid=$2 ctl=${3:-$NODUSCTL}
    for _ in $(seq 1 100); do
        "$ctl" --socket "$sock" status >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || fail "nodusd ($pid) exited at startup"
        sleep 0.05
    done
    fail "no nodusd answering on $sock"
}
