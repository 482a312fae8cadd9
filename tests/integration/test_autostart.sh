#!/usr/bin/env bash
# A client on a machine with no daemon starts a per-user nodusd by itself (as tmux starts its
# server), at $XDG_RUNTIME_DIR/nodus/nodusd.sock; several clients racing to start one end up
# sharing exactly one daemon.
. "$(dirname "$0")/harness.sh"
unset NODUS_NO_AUTOSTART
export NODUS_DAEMON="$NODUSD"
mkdir -m 700 "$WORK/xdg" "$WORK/xdg2"
XDG_RUNTIME_DIR="$WORK/xdg" "$BIN/it_busy" --tasks 50 --us 200 --job auto1 || fail "client failed"
[ -S "$WORK/xdg/nodus/nodusd.sock" ] || fail "no per-user socket created"
"$NODUSCTL" --socket "$WORK/xdg/nodus/nodusd.sock" status >/dev/null || fail "autostarted daemon does not answer"
pids=()
for j in 1 2 3; do
    XDG_RUNTIME_DIR="$WORK/xdg2" "$BIN/it_busy" --tasks 100 --us 500 --job "race$j" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a racing client failed"; done
n=$(pgrep -f -- "--socket $WORK/xdg2/nodus/nodusd.sock" | wc -l)
[ "$n" = 1 ] || fail "$n daemons serve $WORK/xdg2 (expected 1)"
pkill -f -- "--socket $WORK/xdg/nodus/nodusd.sock" || true
pkill -f -- "--socket $WORK/xdg2/nodus/nodusd.sock" || true
echo "test_autostart: OK"
