#!/usr/bin/env bash
# Smoke run of the figure scripts (apps/bench/run_compare.sh, run_metg.sh, run_interference.sh
# and plot_bench.py) at tiny sizes: each prints its markdown table with a row per runtime or
# point and writes its CSV and PNG. Never speed. They run the OpenMP and StarPU drivers, which
# ThreadSanitizer cannot see into: skipped (77) in a TSan build, and without matplotlib.
. "$(dirname "$0")/harness.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[ "${NODUS_TSAN:-0}" = 1 ] && { echo "SKIP: libgomp/StarPU are not TSan-instrumented"; exit 77; }
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { echo "SKIP: no matplotlib"; exit 77; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" # StarPU: test_bench_baselines
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

out=$("$SRC/apps/bench/run_compare.sh" "$BUILD_ROOT" 200 1) || fail "run_compare.sh"
echo "$out"
grep -qE '^\| nodus \(through nodusd\) \| [0-9]+ \| [0-9]+ \| [0-9]+ \|$' <<<"$out" ||
    fail "no nodus row"
[ "$(grep -c '^| ' <<<"$out")" -ge 3 ] || fail "compare table too short"

out=$(MAX_ITERS=1024 MIN_ITERS=256 BUDGET=16384 RUNS=1 "$SRC/apps/bench/run_metg.sh" \
    "$BUILD_ROOT" "$WORK/metg" 2>/dev/null) || fail "run_metg.sh"
echo "$out"
[ "$(grep -c '' "$WORK/metg/metg.csv")" -ge 4 ] || fail "metg.csv: a header and 3 points"
grep -qE '^\| nodus \| [0-9.]+ \| ' <<<"$out" || fail "no nodus METG row"
is_png "$WORK/metg/metg.png" || fail "metg.png"

if [ -x "$BENCH_DIR/nodus-bench-blas" ]; then
    out=$(SIZES=64 COUNTS="4 8" RUNS=1 POCL_CASE=0 "$SRC/apps/bench/run_interference.sh" "$BUILD_ROOT" \
        "$WORK/int" 2>/dev/null) || fail "run_interference.sh"
    echo "$out"
    [ "$(grep -cE '^\| 64 \| [48] \| ' <<<"$out")" = 2 ] || fail "interference rows"
    is_png "$WORK/int/interference.png" || fail "interference.png"
fi
echo "test_bench_scripts: OK"
