#!/usr/bin/env bash
# SIGHUP reloads the configuration: a new log level and weight cap apply while a client runs (its
# granted weight drops to the new cap; status shows the settings in force), a key that needs a
# restart is logged as such, a command-line flag keeps winning over the file, and a bad file is
# refused with a log line while the daemon keeps the old configuration and keeps serving.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
# on failure, end the test's clients first: the harness's SIGTERM would wait for them to drain
trap 'rc=$?; for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT
CONF=$WORK/nodusd.conf
cat >"$CONF" <<'CONF'
[daemon]
log_level = info
drain_timeout_s = 30
[sched]
max_weight = 16
CONF
start_daemon --cores 2 --config "$CONF" --idle-exit 0
[ "$(status_json | jq .settings.max_weight)" = 16 ] || fail "max_weight is not 16 at start"

NODUS_WEIGHT=8 "$BIN/it_busy" --tasks 100000 --us 2000 --job heavy >/dev/null 2>&1 &
client=$!
weight_of() { status_json | jq '[.sessions[] | select(.job == "heavy") | .weight] | first'; }
for _ in $(seq 1 100); do [ "$(weight_of)" = 8 ] && break; sleep 0.02; done
[ "$(weight_of)" = 8 ] || fail "the client's weight is $(weight_of), not 8"

reload() {
    local before
    before=$(grep -c 'received SIGHUP' "$WORK/nodusd.log" || true)
    kill -HUP "$DAEMON_PID"
    for _ in $(seq 1 100); do
        if grep -qE 'configuration reloaded|reload failed' "$WORK/nodusd.log" &&
            [ "$(grep -c 'received SIGHUP' "$WORK/nodusd.log")" -gt "$before" ] &&
            [ "$(grep -cE 'configuration reloaded|reload failed' "$WORK/nodusd.log")" -gt "$before" ]; then
            return 0
        fi
        sleep 0.02
    done
    fail "no reload logged after SIGHUP"
}

# a lower cap, debug logging, a restart-only key, and a key the --cores flag overrides
cat >"$CONF" <<'CONF'
[daemon]
log_level = debug
drain_timeout_s = 7
cores = 1
[sched]
max_weight = 4
[devices]
slots = 2
CONF
reload
grep -q 'configuration reloaded; changed: daemon.log_level, daemon.drain_timeout_s, sched.max_weight' \
    "$WORK/nodusd.log" || fail "reload did not list the changes: $(grep reload "$WORK/nodusd.log")"
grep -q 'devices.slots changed, takes effect after restart' "$WORK/nodusd.log" ||
    fail "the devices.slots change was not logged as needing a restart"
grep -q 'daemon.cores changed' "$WORK/nodusd.log" && fail "the file's cores beat the --cores flag"
s=$(status_json)
[ "$(jq .settings.max_weight <<<"$s")" = 4 ] || fail "max_weight after reload: $(jq .settings <<<"$s")"
[ "$(jq .settings.log_level <<<"$s")" = 7 ] || fail "log level after reload: $(jq .settings <<<"$s")"
[ "$(jq .settings.drain_timeout_s <<<"$s")" = 7 ] || fail "drain timeout after reload"
[ "$(jq '.cores | length' <<<"$s")" = 2 ] || fail "cores changed without a restart"
[ "$(weight_of)" = 4 ] || fail "the running client's weight is $(weight_of) after the cap went to 4"
# debug lines now appear (the status request above logs its session at debug level)
"$NODUSCTL" --socket "$SOCK" status >/dev/null
grep -q '^<7>' "$WORK/nodusd.log" || fail "no debug line after log_level = debug"

# raising the cap gives the weight asked for back
sed -i 's/max_weight = 4/max_weight = 10/' "$CONF"
reload
[ "$(weight_of)" = 8 ] || fail "weight is $(weight_of) after raising the cap to 10"

# --idle-exit on the command line keeps winning over the file
sed -i 's/^\[sched\]/idle_exit = 1\n[sched]/' "$CONF"
grep -q '^idle_exit = 1' "$CONF" || fail "test setup: idle_exit not written"
reload
sleep 0.1
kill -0 "$DAEMON_PID" || fail "nodusd exited: the file's idle_exit overrode --idle-exit 0"
grep -q 'changed:.*daemon.idle_exit' "$WORK/nodusd.log" && fail "idle_exit from the file replaced the flag"

# a broken file: refused, old configuration kept, still serving
printf '[sched]\nmax_weight = lots\n' >"$CONF"
reload
grep -q "reload failed, keeping the configuration in force: [^ ]*nodusd.conf:2: sched.max_weight" \
    "$WORK/nodusd.log" || fail "no reload failure line: $(grep -i reload "$WORK/nodusd.log")"
[ "$(status_json | jq .settings.max_weight)" = 10 ] || fail "a bad file changed the configuration"
"$BIN/it_busy" --tasks 20 --us 500 --job after >/dev/null || fail "a new client failed after a bad reload"
kill -0 $client || fail "the running client died across reloads"
kill $client
wait $client 2>/dev/null || true
echo "test_reload: OK"
