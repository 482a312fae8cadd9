#!/usr/bin/env bash
# Peers that break the protocol are dropped (with an Error where possible) and logged by name,
# while a well-behaved client on the same daemon carries on.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
"$BIN/it_busy" --tasks 400 --us 2000 --job bystander >/dev/null &
bystander=$!
for c in submit-before-hello bad-version oversized-frame zero-frame garbage second-hello \
         done-unknown non-sequential-id ctl-submit; do
    "$BIN/it_raw" "$SOCK" "$c" || fail "case $c"
done
"$BIN/it_raw" "$SOCK" ok || fail "a correct raw session failed"
wait $bystander || fail "the well-behaved client failed"
dropped=$(status_json | jq '.counters.sessions_dropped')
[ "$dropped" -ge 9 ] || fail "daemon counted $dropped dropped peers, expected 9"
grep -q "pid" "$WORK/nodusd.log" || fail "drops are not logged with the peer"
echo "test_protocol: OK"
