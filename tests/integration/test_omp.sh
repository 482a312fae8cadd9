#!/usr/bin/env bash
# OpenMP inside task bodies is held to the granted cores (client-lib/src/threadlibs.c): with a
# two-core daemon, one-core bodies get teams of one and two-core bodies teams of two, every team
# member on granted CPUs only, across many bodies whose grants alternate on the same worker
# (libgomp's per-thread pool reuse); with a one-core daemon (on CPU 0, then on CPU 1 where the
# machine has it) teams of one on that CPU; with OMP_NUM_THREADS=1 teams of one everywhere; with
# NODUS_HOLD_OMP=0 the default team size.
. "$(dirname "$0")/harness.sh"
[ "${NODUS_TSAN:-0}" = 1 ] && { echo "SKIP: libgomp is not TSan-instrumented"; exit 77; }
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || { echo "SKIP: needs two CPUs"; exit 77; }
export NODUS_SOCKET="$SOCK"

stop_daemon() {
    kill "$DAEMON_PID"
    wait "$DAEMON_PID" || fail "nodusd exited with status $? when stopped"
    DAEMON_PID=""
}

start_daemon --cores 0-1
"$BIN/it_omp" held 150 || fail "it_omp held on cores 0-1"
NODUS_HOLD_OMP=0 "$BIN/it_omp" unheld 20 || fail "it_omp unheld on cores 0-1"
# a smaller OMP_NUM_THREADS caps the team: two-core bodies get teams of one
OMP_NUM_THREADS=1 "$BIN/it_omp" held 20 || fail "it_omp held with OMP_NUM_THREADS=1"
stop_daemon

for cpu in 0 1; do
    start_daemon --cores "$cpu-$cpu"
    [ "$(status_json | jq '.cores | length')" = 1 ] || fail "daemon --cores $cpu-$cpu: not one core"
    "$BIN/it_omp" held 100 || fail "it_omp held on core $cpu"
    stop_daemon
done
echo "test_omp: OK"
