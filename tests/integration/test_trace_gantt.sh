#!/usr/bin/env bash
# scripts/trace-gantt.py turns a trace from nodusctl into a non-empty PNG Gantt chart (cores x
# time, coloured by job). Skipped (77) without python3 and matplotlib.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import matplotlib' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with matplotlib (Debian: python3-matplotlib)"; exit 77; }
start_daemon --cores 2
"$NODUSCTL" --socket "$SOCK" trace start >/dev/null || fail "trace start failed"
"$BIN/it_busy" --tasks 60 --us 1000 --chain --job alpha >/dev/null &
a=$!
"$BIN/it_busy" --tasks 60 --us 1000 --job beta >/dev/null || fail "beta failed"
wait $a || fail "alpha failed"
"$NODUSCTL" --socket "$SOCK" trace stop "$WORK/trace.json" >/dev/null || fail "trace stop failed"
out=$("$PY" "$SRC/scripts/trace-gantt.py" "$WORK/trace.json" "$WORK/gantt.png") ||
    fail "trace-gantt.py failed: $out"
grep -q "120 bars, 2 tracks, 2 jobs" <<<"$out" || fail "trace-gantt.py said: $out"
[ -s "$WORK/gantt.png" ] || fail "empty PNG"
[ "$(head -c 8 "$WORK/gantt.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "not a PNG file"
# a file without task events is an error, not an empty chart
echo '{"traceEvents":[]}' >"$WORK/empty.json"
rc=0
"$PY" "$SRC/scripts/trace-gantt.py" "$WORK/empty.json" "$WORK/empty.png" 2>/dev/null || rc=$?
[ $rc -ne 0 ] || fail "an empty trace gave a chart"
echo "test_trace_gantt: OK"
