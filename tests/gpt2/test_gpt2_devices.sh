#!/usr/bin/env bash
# Runs a GPT-2 device-op test program (test_gpt2_ocl, test_gpt2_cuda) against a private nodusd
# with two cores. The program exits 77 when this machine or the daemon has no such device; that
# is passed on, so ctest reports the test as skipped. `PROGRAM --probe` answers 77 without a
# daemon when the machine lacks the device (no GPU), so the daemon is not even started then.
#   test_gpt2_devices.sh PROGRAM [ARGS...]       (NODUSD and NODUSCTL from ctest's environment)
. "$(dirname "$0")/../integration/harness.sh"
prog=$1
shift
probe=0
"$prog" --probe >/dev/null 2>&1 || probe=$?
if [ $probe = 77 ]; then
    echo "$(basename "$prog"): no device on this machine: skipped"
    exit 77
fi
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"
rc=0
"$prog" "$@" || rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "$(basename "$prog") exited with status $rc"
s=$(status_json)
[ "$(echo "$s" | jq '[.cores[] | select(.busy)] | length')" = 0 ] || fail "cores still busy"
echo "$(basename "$prog"): OK"
