#!/usr/bin/env bash
# libnodus from many threads at once: four application threads share one session, submitting
# chains with a shared counter guarded only by dependencies, nested submissions from bodies,
# range waits and weight changes, against a small back-pressure bound so that submitters block
# and wake. Every count and order is checked by the client; under ThreadSanitizer (NODUS_SANITIZE
# =thread) a missed dependency or a locking bug in libnodus is also a reported race.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
NODUS_MAX_OUTSTANDING=24 "$BIN/it_threads" 4 400 || fail "it_threads failed"
# the session is gone and the node is whole again
s=$(status_json)
[ "$(echo "$s" | jq '[.sessions[] | select(.role == "client")] | length')" = 0 ] ||
    fail "a session remains after the client exited"
[ "$(echo "$s" | jq '[.cores[] | select(.busy)] | length')" = 0 ] || fail "cores still busy"
# 4 x 400 chain tasks and 4 x 50 nested ones
[ "$(echo "$s" | jq '.counters.tasks_done')" = 1800 ] ||
    fail "daemon counted $(echo "$s" | jq '.counters.tasks_done') tasks, expected 1800"
echo "test_threads: OK"
