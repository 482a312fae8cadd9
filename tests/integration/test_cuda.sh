#!/usr/bin/env bash
# CUDA tasks through a real nodusd: a chain of kernels, a cuBLAS SGEMM and a cuSPARSE SpMV task
# (handles bound to the task's stream), then a CPU task that checks them all. Completion is
# tracked by the daemon through interprocess events. Skipped (77) on a machine without a GPU.
. "$(dirname "$0")/harness.sh"
if ! "$BIN/it_cuda" --probe 2>/dev/null; then
    echo "test_cuda: no CUDA device on this machine: skipped"
    exit 77
fi
start_daemon
export NODUS_SOCKET="$SOCK"
rc=0
"$BIN/it_cuda" 32 || rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "it_cuda"
"$BIN/it_cuda" 16 &
p1=$!
"$BIN/it_cuda" 16 &
p2=$!
wait $p1 || fail "first of two concurrent clients"
wait $p2 || fail "second of two concurrent clients"
echo "test_cuda: OK"
