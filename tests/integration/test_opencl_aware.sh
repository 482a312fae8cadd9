#!/usr/bin/env bash
# Task-aware OpenCL, with timestamps: a 200 ms kernel's body returns at once, CPU tasks use its
# core while the kernel runs, its successor starts only after the kernel completed, and PoCL's
# threads stay on the cores the daemon holds for the CPU device (no CPU task runs there while
# the kernel is in flight). Skipped (77) when the daemon finds no OpenCL device.
. "$(dirname "$0")/harness.sh"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
# the cores the daemon lists for the (first) CPU OpenCL device
devcores=$(status_json | jq -r '[.devices[]? | (.info // .) | select(.cpu_device == true)][0].cores // [] | map(tostring) | join(",")')
args=()
[ -n "$devcores" ] && args=(--device-cores "$devcores")
echo "device cores: ${devcores:-none listed}"
rc=0
"$BIN/it_opencl" aware --kernel-ms 200 --tasks 150 --task-us 2000 "${args[@]}" || rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "aware"
[ -n "$devcores" ] || fail "the daemon lists no cores for its CPU OpenCL device"
echo "test_opencl_aware: OK"
