#!/usr/bin/env bash
# OpenCL tasks through a real nodusd (PoCL's CPU device in CI): chains and diamonds of dependent
# kernels, OpenCL and CPU tasks feeding each other, and multi-version tasks, all checked against
# the CPU. Two graphs also run at once from two processes. Skipped (77) when the daemon finds no
# OpenCL device.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
rc=0
"$BIN/it_opencl" chain 4 40 || rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "chain"
"$BIN/it_opencl" diamond 40 || fail "diamond"
"$BIN/it_opencl" mixed 30 || fail "mixed"
"$BIN/it_opencl" multiversion 60 || fail "multiversion"
"$BIN/it_opencl" chain 2 30 &
p1=$!
"$BIN/it_opencl" mixed 20 &
p2=$!
wait $p1 || fail "chain failed while co-scheduled"
wait $p2 || fail "mixed failed while co-scheduled"
# the daemon saw every device task complete and holds nothing afterwards
s=$(status_json)
[ "$(echo "$s" | jq '[.cores[] | select(.busy)] | length')" = 0 ] || fail "cores still busy"
echo "test_opencl: OK"
