#!/usr/bin/env bash
# Runs the test suite under the sanitizers (gcc, CMake option NODUS_SANITIZE):
#   asan  build-asan, -DNODUS_SANITIZE=address,undefined: every test (unit, integration,
#         packaging, fuzz corpus replays), leaks checked, UBSan fatal;
#   tsan  build-tsan, -DNODUS_SANITIZE=thread: every test, for libnodus's threads (comm thread,
#         workers, application threads) in the integration clients; the daemon is built with it
#         too (one loop thread, so it should stay silent).
# Every sanitized process writes its reports under one directory (log_path), so a report from a
# process whose output a test throws away (a background client, an autostarted daemon) still
# fails the run. Exits non-zero on any failed test or any report.
#
#   scripts/test-sanitizers.sh [asan] [tsan]     (default: both)
#
# Sets NODUS_TEST_SANITIZER=1 for the tests: timing-dependent checks widen their tolerances
# (see tests/integration/test_fair_share.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
kinds=("$@")
((${#kinds[@]} > 0)) || kinds=(asan tsan)

reports=$(mktemp -d "${TMPDIR:-/tmp}/nodus-sanitizers.XXXXXX")
trap 'rm -rf "$reports"' EXIT
export NODUS_TEST_SANITIZER=1

failed=()
for kind in "${kinds[@]}"; do
    case $kind in
    asan) sanitize=address,undefined ;;
    tsan) sanitize=thread ;;
    *)
        echo "usage: scripts/test-sanitizers.sh [asan] [tsan]" >&2
        exit 2
        ;;
    esac
    build=build-$kind
    out=$reports/$kind
    mkdir -p "$out"
    echo "== $kind: -DNODUS_SANITIZE=$sanitize in $build"
    start=$SECONDS
    status=0
    (
        cmake -S . -B "$build" -G Ninja -DNODUS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DNODUS_SANITIZE="$sanitize" >/dev/null
        cmake --build "$build"
    ) || status=$?
    if ((status == 0)); then
        # halt_on_error: a report is a failure of the process that made it, not a note
        tsan=halt_on_error=1:second_deadlock_stack=1:log_path=$out/tsan
        [[ -f tests/tsan.supp ]] && tsan+=:suppressions=$root/tests/tsan.supp
        ASAN_OPTIONS="detect_leaks=1:log_path=$out/asan" \
            UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$out/ubsan" \
            TSAN_OPTIONS=$tsan \
            ctest --test-dir "$build" --output-on-failure -j2 || status=$?
    fi
    if compgen -G "$out/*" >/dev/null; then
        echo "== $kind: sanitizer reports:"
        for f in "$out"/*; do
            echo "---- $(basename "$f")"
            cat "$f"
        done
        ((status != 0)) || status=1
    fi
    if ((status == 0)); then
        echo "== $kind: passed in $((SECONDS - start)) s"
    else
        echo "== $kind: FAILED ($status) after $((SECONDS - start)) s"
        failed+=("$kind")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "== sanitizers FAILED: ${failed[*]}"
    exit 1
fi
echo "== sanitizers: all passed (${kinds[*]})"
