#!/usr/bin/env bash
# A tiled Cholesky and random partially-overlapping graphs run through a real nodusd: results
# verified numerically / bit-exactly against sequential execution, execution order checked
# against every dependency. Two graphs also run at once from two processes.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
"$BIN/it_dag" cholesky 6 24
"$BIN/it_dag" random 2000 1
"$BIN/it_dag" random 3000 2 &
p1=$!
"$BIN/it_dag" cholesky 8 16 &
p2=$!
wait $p1 || fail "random graph failed while co-scheduled"
wait $p2 || fail "cholesky failed while co-scheduled"
echo "test_dag: OK"
