#!/usr/bin/env bash
# packaging.socket_activation: nodusd started the way nodusd.socket starts it. The listening
# socket comes from systemd-socket-activate (LISTEN_FDS, LISTEN_FDNAMES=nodusd), the first
# client's connection starts the daemon, and the daemon serves on that inherited socket: it does
# not bind, lock or, on exit, remove the socket file, which belongs to systemd. A stand-in
# notification socket checks the Type=notify protocol: READY=1 once serving, STOPPING=1 on
# SIGTERM, watchdog pings, STATUS= lines, and RELOADING=1 / READY=1 around a SIGHUP reload.
source "$(dirname "$0")/lib.sh"

[ "${HAVE_SYSTEMD:-0}" = 1 ] || skip "nodusd was built without libsystemd (no socket activation)"
command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"

SOCK=$WORK/sa.sock
NOTIFY=$WORK/notify.sock
"$NOTIFY_SINK" "$NOTIFY" STOPPING=1 60 >"$WORK/notify.out" 2>"$WORK/notify.log" &
sink=$!
PIDS+=("$sink")
for _ in $(seq 1 100); do [ -S "$NOTIFY" ] && break; sleep 0.02; done
[ -S "$NOTIFY" ] || fail "notify_sink did not start"

# (systemd-socket-activate passes only PATH, TERM, HOME, LISTEN_* and what -E names)
# WATCHDOG_USEC as WatchdogSec=0.4s would set it: pings are due every 0.2 s
systemd-socket-activate -l "$SOCK" --fdname=nodusd \
    -E NOTIFY_SOCKET="$NOTIFY" -E WATCHDOG_USEC=400000 \
    "$NODUSD" --foreground >"$WORK/nodusd.log" 2>&1 &
daemon=$!
PIDS+=("$daemon")
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.02; done
[ -S "$SOCK" ] || fail "systemd-socket-activate did not listen on $SOCK"
grep -q 'Execing' "$WORK/nodusd.log" && fail "nodusd started before any connection"

# the first client's connection starts nodusd; the client must complete with a checked result
out=$(NODUS_SOCKET=$SOCK "$EXAMPLE" 512 2) || fail "client failed: $out"
[[ $out == OK:* ]] || fail "client printed '$out'"
echo "client: $out"

grep -q "listening on $SOCK (socket activation)" "$WORK/nodusd.log" ||
    fail "nodusd did not report serving the inherited socket"
pid=$("$NODUSCTL" --socket "$SOCK" status --json | jq .pid)
[ "$pid" = "$daemon" ] || fail "status reports pid $pid, the activated nodusd is $daemon"
[ ! -e "$SOCK.lock" ] || fail "nodusd took $SOCK.lock: it bound the socket itself"
grep -qx 'READY=1' "$WORK/notify.out" || fail "no READY=1: $(cat "$WORK/notify.out")"

# a second client on the same daemon
out=$(NODUS_SOCKET=$SOCK "$EXAMPLE" 256 1) || fail "second client failed: $out"
[[ $out == OK:* ]] || fail "second client printed '$out'"

# watchdog pings (nodusd.service has WatchdogSec=): every WATCHDOG_USEC / 2
grep -qa 'WATCHDOG=1' "$NODUSD" || fail "this nodusd has no watchdog pings"
sleep 0.5
[ "$(grep -cx 'WATCHDOG=1' "$WORK/notify.out")" -ge 2 ] ||
    fail "fewer than 2 WATCHDOG=1 in 0.5 s with WATCHDOG_USEC=400000: $(cat "$WORK/notify.out")"
# STATUS= lines: sessions, busy cores, tasks/s
grep -qE '^STATUS=[0-9]+ sessions?, [0-9]+/[0-9]+ cores busy, [0-9]+ tasks/s' "$WORK/notify.out" ||
    fail "no STATUS= line: $(cat "$WORK/notify.out")"
# SIGHUP: RELOADING=1, then READY=1 again
kill -HUP "$daemon"
for _ in $(seq 1 100); do grep -qx 'RELOADING=1' "$WORK/notify.out" && break; sleep 0.02; done
grep -qx 'RELOADING=1' "$WORK/notify.out" || fail "no RELOADING=1 on SIGHUP: $(cat "$WORK/notify.out")"
grep -q '^MONOTONIC_USEC=' "$WORK/notify.out" || fail "RELOADING=1 without MONOTONIC_USEC"
for _ in $(seq 1 100); do [ "$(grep -cx 'READY=1' "$WORK/notify.out")" -ge 2 ] && break; sleep 0.02; done
[ "$(grep -cx 'READY=1' "$WORK/notify.out")" -ge 2 ] || fail "no READY=1 after the reload"

kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
[ $rc -eq 0 ] || fail "nodusd exited with status $rc on SIGTERM"
rc=0
wait "$sink" || rc=$?
[ $rc -eq 0 ] || fail "no STOPPING=1 after SIGTERM: $(cat "$WORK/notify.out")"
[ -S "$SOCK" ] || fail "nodusd removed the socket file it did not create"
echo "PASS: activated nodusd served 2 clients on the inherited socket; READY, STATUS, WATCHDOG," \
    "RELOADING and STOPPING sent"
