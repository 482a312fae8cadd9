#!/usr/bin/env bash
# Smoke run of apps/bench/run_cosched.sh with two tiny stand-in jobs (nodus-bench-overhead
# through nodusd; a plain `seq` stands in for the fork-join variant, so no OpenMP is needed): all four modes run, the table has each job and a
# makespan per mode, the ideal bound is printed, and the trace gives a Gantt chart when
# matplotlib is there. Then, when HPCCG and GPT-2 are built and GPT-2's BPE files are there,
# the issue's job mix (--apps 3: two HPCCG solvers and one GPT-2 training run) at a tiny size,
# through nodusd and one after another: every job finishes and prints its result. Never speed.
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
grep -q "^- one, through nodusd: \`runtime=nodus " <<<"$out" || fail "no result line of job one"
[ "$(grep -c '' "$WORK/out/cosched.csv")" = 9 ] || fail "cosched.csv: 8 rows and a header"
[ -s "$WORK/out/cosched-trace.json" ] || fail "no trace"
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    [ -s "$WORK/out/cosched-gantt.png" ] || fail "no Gantt chart"
fi

H=$BUILD_ROOT/apps/hpccg/nodus-hpccg G=$BUILD_ROOT/apps/gpt2/nodus-gpt2
if [ ! -x "$H" ] || [ ! -x "$G" ]; then
    echo "test_bench_cosched: OK (stand-ins only: HPCCG or GPT-2 not built)"
    exit 0
elif [ ! -f "$SRC/data/gpt2/encoder.json" ] || [ ! -f /usr/share/doc/jargon-text/jargon.txt.gz ]; then
    echo "test_bench_cosched: OK (stand-ins only: no GPT-2 BPE files or corpus)"
    exit 0
elif [ -n "${NODUS_TSAN:-}" ]; then
    echo "test_bench_cosched: OK (stand-ins only under TSan: a GPT-2 step takes too long)"
    exit 0
fi
out=$(HPCCG_N=12 HPCCG_TASKS=4 GPT2_STEPS=1 COSCHED_DATA=$WORK/data \
    "$SRC/apps/bench/run_cosched.sh" --build "$BUILD_ROOT" --out "$WORK/apps" \
    --modes "nodus seq" --apps 3) || fail "run_cosched.sh --apps 3"
echo "$out"
for row in hpccg-1 hpccg-2 gpt2-1 '\*\*makespan\*\*'; do
    [ "$(grep -cE "^\| $row \|( [0-9*.]+ \|){2}$" <<<"$out")" = 1 ] || fail "--apps: row $row"
done
for mode in "through nodusd" "one after another"; do
    for job in hpccg-1 hpccg-2; do
        grep -qE "^- $job, $mode: \`Final residual: [0-9.e+-]+\`$" <<<"$out" ||
            fail "--apps: no residual of $job ($mode)"
    done
    grep -qE "^- gpt2-1, $mode: \`step 1/1: loss [0-9.]+ " <<<"$out" || fail "--apps: no loss ($mode)"
done
echo "test_bench_cosched: OK"
