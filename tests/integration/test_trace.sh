#!/usr/bin/env bash
# nodusctl trace start / stop: the trace of a known workload is valid JSON in the Chrome/Perfetto
# format (checked with jq) with one "X" event per task and core, args naming session, job, task and
# label, a "dep" flow ("s" and "f") for each dependency edge of a chain, threads named after the
# cores; stopping without a trace, or starting twice, is refused (exit 1); a trace survives the
# end of its sessions and a ring smaller than the workload keeps the latest events.
. "$(dirname "$0")/harness.sh"
export NODUS_SOCKET="$SOCK"
ctl() { "$NODUSCTL" --socket "$SOCK" "$@"; }
start_daemon --cores 2

rc=0
ctl trace stop "$WORK/none.json" 2>"$WORK/err" || rc=$?
[ $rc = 1 ] || fail "trace stop with nothing recording exited $rc"
grep -q "no trace is recording" "$WORK/err" || fail "trace stop error: $(cat "$WORK/err")"
[ ! -e "$WORK/none.json" ] || fail "a failed trace stop left a file"

out=$(ctl trace start --json) || fail "trace start failed"
[ "$(jq .ok <<<"$out")" = true ] || fail "trace start reply: $out"
rc=0
ctl trace start >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "a second trace start exited $rc"
[ "$(status_json | jq .settings.trace_recording)" = true ] || fail "status does not show the trace"

# 40 chained tasks (39 edges), 30 independent ones, 10 two-core tasks
"$BIN/it_busy" --tasks 40 --us 500 --chain --job chain >/dev/null || fail "chain client failed"
"$BIN/it_busy" --tasks 30 --us 500 --job flat >/dev/null || fail "flat client failed"
"$BIN/it_busy" --tasks 10 --us 500 --cores 2 --job wide >/dev/null || fail "wide client failed"

out=$(ctl trace stop "$WORK/trace.json" --json) || fail "trace stop failed"
[ "$(jq .ok <<<"$out")" = true ] || fail "trace stop reply: $out"
[ "$(jq .bytes <<<"$out")" = "$(stat -c %s "$WORK/trace.json")" ] || fail "byte count differs"
T=$WORK/trace.json
jq -e . "$T" >/dev/null || fail "the trace is not valid JSON"
[ "$(jq -r '.displayTimeUnit' "$T")" = ms ] || fail "no displayTimeUnit"
x() { jq "[.traceEvents[] | select(.ph == \"X\" and .pid == 1 and .args.job == \"$1\")] | length" "$T"; }
[ "$(x chain)" = 40 ] || fail "chain: $(x chain) task events, not 40"
[ "$(x flat)" = 30 ] || fail "flat: $(x flat) task events, not 30"
[ "$(x wide)" = 20 ] || fail "wide: $(x wide) task events, not 20 (10 tasks x 2 cores)"
flows_s=$(jq '[.traceEvents[] | select(.ph == "s" and .cat == "dep")] | length' "$T")
flows_f=$(jq '[.traceEvents[] | select(.ph == "f" and .cat == "dep" and .bp == "e")] | length' "$T")
[ "$flows_s" = 39 ] && [ "$flows_f" = 39 ] || fail "expected 39 dependency flows, got $flows_s/$flows_f"
# every task event is well formed: non-negative times, args with session/job/task/label
bad=$(jq '[.traceEvents[] | select(.ph == "X") | select((.ts | type) != "number" or .dur < 0 or
    (.args | has("session") and has("job") and has("task") and has("label") | not))] | length' "$T")
[ "$bad" = 0 ] || fail "$bad malformed task events"
# the chain ran in order: task k+1 starts after task k ends (same job, by task id)
order=$(jq '[.traceEvents[] | select(.ph == "X" and .args.job == "chain")] | sort_by(.args.task) |
    [range(1; length) as $i | select(.[$i].ts < .[$i - 1].ts + .[$i - 1].dur - 0.001)] | length' "$T")
[ "$order" = 0 ] || fail "$order chain tasks overlap their predecessor in the trace"
# at most one task per core at a time
overlap=$(jq '[.traceEvents[] | select(.ph == "X" and .pid == 1)] | group_by(.tid) |
    map(sort_by(.ts) | [range(1; length) as $i | select(.[$i].ts < .[$i - 1].ts + .[$i - 1].dur - 0.001)] | length) | add' "$T")
[ "$overlap" = 0 ] || fail "$overlap task events overlap on a core"
[ "$(jq '[.traceEvents[] | select(.ph == "M" and .name == "thread_name")] | length' "$T")" = 2 ] ||
    fail "expected 2 core threads named"
[ "$(status_json | jq .settings.trace_recording)" = false ] || fail "still recording after stop"

# a ring of 1024 events keeps the latest: fewer events than tasks, still valid
ctl trace start --capacity 1024 >/dev/null || fail "trace start --capacity failed"
"$BIN/it_busy" --tasks 2000 --us 10 --job many >/dev/null || fail "many client failed"
ctl trace stop "$WORK/small.json" >/dev/null || fail "trace stop (small) failed"
jq -e . "$WORK/small.json" >/dev/null || fail "small trace is not valid JSON"
[ "$(jq .otherData.overwritten "$WORK/small.json")" -gt 0 ] || fail "nothing overwritten in a small ring"
n=$(jq '[.traceEvents[] | select(.ph == "X")] | length' "$WORK/small.json")
[ "$n" -gt 100 ] && [ "$n" -le 1024 ] || fail "small ring kept $n task events"
# trace stop to stdout
ctl trace start >/dev/null && ctl trace stop - | jq -e .traceEvents >/dev/null || fail "trace stop - failed"
echo "test_trace: OK"
