#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-DNODUS_FUZZ=ON: libFuzzer, ASan, UBSan)
# into build-fuzz and runs each for SECONDS (default 60) from the generated seed corpus, the
# checked-in regression inputs (tests/fuzz/corpus/) and the corpus earlier runs grew
# (build-fuzz/fuzz/corpus/). Exits non-zero if a target crashes, leaks, times out or fails one
# of its checks; the input that did it is saved under build-fuzz/fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS]
#
# Replay a crash with: build-fuzz/tests/fuzz/fuzz_TARGET build-fuzz/fuzz/artifacts/FILE
# Environment: NODUS_FUZZ_CC (default clang-14, else clang), NODUS_FUZZ_BUILD_DIR (build-fuzz),
# NODUS_FUZZ_TARGETS ("frame session"), NODUS_FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail

cd "$(dirname "$0")/.."
secs=${1:-60}
build=${NODUS_FUZZ_BUILD_DIR:-build-fuzz}
targets=${NODUS_FUZZ_TARGETS:-frame session}
cc=${NODUS_FUZZ_CC:-}
if [[ -z $cc ]]; then
    if command -v clang-14 >/dev/null; then cc=clang-14; else cc=clang; fi
fi
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs == 0)); then
    echo "usage: scripts/fuzz.sh [SECONDS]" >&2
    exit 2
fi

echo "== building fuzz targets with $cc into $build"
# no CUDA/OpenCL toolchains: the daemon loads its backends at run time anyway, and the harness
# gives it fake devices
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNODUS_FUZZ=ON -DBUILD_TESTING=OFF -DNODUS_BUILD_APPS=OFF -DNODUS_WITH_CUDA=OFF \
    -DNODUS_WITH_OPENCL=OFF >/dev/null
build_targets=(gen_corpus)
for t in $targets; do build_targets+=("fuzz_$t"); done
cmake --build "$build" --target "${build_targets[@]}"

work="$build/fuzz"
rm -rf "$work/seed"
mkdir -p "$work"
"$build/tests/fuzz/gen_corpus" "$work/seed"
mkdir -p "$work/artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for t in $targets; do
    echo "== fuzz_$t for ${secs}s"
    mkdir -p "$work/corpus/$t"
    dirs=("$work/corpus/$t" "$work/seed/$t")
    [[ -d tests/fuzz/corpus/$t ]] && dirs+=("tests/fuzz/corpus/$t")
    rc=0
    # shellcheck disable=SC2086
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" ${NODUS_FUZZ_ARGS:-} \
        "${dirs[@]}" >"$work/$t.log" 2>&1 || rc=$?
    # the run's summary: corpus, coverage and executions
    summary='^#[0-9]+[[:space:]]+(INITED|DONE)'
    summary+='|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)'
    grep -E "$summary" "$work/$t.log" || true
    if ((rc != 0)); then
        echo "== fuzz_$t FAILED (exit status $rc); the end of its log:"
        tail -n 60 "$work/$t.log"
        failed+=("$t")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "== fuzzing FAILED: ${failed[*]}; inputs in $work/artifacts/"
    exit 1
fi
echo "== fuzzing: no failure in ${secs}s per target"
