#!/usr/bin/env bash
# Smoke run of apps/bench/run_cosched.sh with two tiny stand-in jobs (nodus-bench-overhead
# through nodusd; a plain `seq` stands in for the fork-join variant, so no OpenMP is needed): all four modes run, the table has each job and a
# makespan per mode, the ideal bound is printed, and the trace gives a Gantt chart when
# matplotlib is there. Never speed.
. "$(dirname "$0")/harness.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
job="nodus-bench-overhead --pattern stencil --tasks 40 --iters 2000 --reps 1"
out=$("$SRC/apps/bench/run_cosched.sh" --build "$BUILD_ROOT" --out "$WORK/out" \
    "one=$job|seq 300000" "two=$job --pattern chain|seq 200000") || fail "run_cosched.sh"
echo "$out"
for row in one two '\*\*makespan\*\*'; do
    [ "$(grep -cE "^\| $row \|( [0-9*.]+ \|){4}$" <<<"$out")" = 1 ] || fail "row $row"
done
grep -q '^Ideal bound: ' <<<"$out" || fail "no ideal bound"
grep -q '^- one: `runtime=nodus ' <<<"$out" || fail "no result line of job one"
[ "$(grep -c '' "$WORK/out/cosched.csv")" = 9 ] || fail "cosched.csv: 8 rows and a header"
[ -s "$WORK/out/cosched-trace.json" ] || fail "no trace"
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    [ -s "$WORK/out/cosched-gantt.png" ] || fail "no Gantt chart"
fi
echo "test_bench_cosched: OK"
