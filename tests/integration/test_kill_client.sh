#!/usr/bin/env bash
# A client SIGKILLed in the middle of its graph loses its session and its cores at once; a client
# running alongside finishes with correct results; the daemon keeps serving.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
"$BIN/it_busy" --tasks 100000 --us 2000 --job victim >/dev/null 2>&1 &
victim=$!
# wait until the victim holds cores
for _ in $(seq 1 100); do
    [ "$(status_json | jq '[.cores[] | select(.busy)] | length')" -gt 0 ] && break
    sleep 0.05
done
vsid=$(status_json | jq '[.sessions[] | select(.job == "victim") | .session_id] | first')
[ "$vsid" != null ] || fail "victim session not visible"
"$BIN/it_dag" random 3000 5 &
survivor=$!
sleep 0.3
kill -KILL $victim
wait $victim 2>/dev/null || true
# the victim's session and cores are gone promptly
gone=0
for _ in $(seq 1 40); do
    s=$(status_json)
    held=$(echo "$s" | jq --argjson v "$vsid" '[.cores[] | select(.session_id == $v)] | length')
    sess=$(echo "$s" | jq --argjson v "$vsid" '[.sessions[] | select(.session_id == $v)] | length')
    if [ "$held" = 0 ] && [ "$sess" = 0 ]; then gone=1; break; fi
    sleep 0.05
done
[ $gone = 1 ] || fail "killed session $vsid still holds cores or is listed"
wait $survivor || fail "the surviving client failed"
kill -0 "$DAEMON_PID" || fail "nodusd died"
# and the node is whole again: a new client gets both cores
"$BIN/it_busy" --tasks 20 --us 1000 --job after --timeline "$WORK/tl_after" >/dev/null
[ "$(cut -d' ' -f1 "$WORK/tl_after" | sort -u | wc -l)" = 2 ] || fail "new client did not get both cores"
echo "test_kill_client: OK"
