#!/usr/bin/env bash
# nodus-gpt2 train survives nodusd being SIGKILLed and restarted on the same socket mid-run
# (issue 8; docs/protocol.md, "Daemon restarts"): every step's printed loss is the same string as
# in an undisturbed run with the same arguments, the checkpoint is the same file byte for byte,
# and the run says it reconnected once per kill ("reconnects: N").
#
# For a fixed cut (--t-gran, --oc-split) a step is deterministic whatever core ran which task and
# when: every accumulation is ordered by its INOUT chain (test_gpt2_train.sh granularity compares
# two runs' checkpoints with cmp). So equality is asserted, not a tolerance; a task lost,
# repeated or reordered by the recovery changes the parameters' bits. Only the forward ops are
# idempotent (gpt2_graph.c); a started += or AdamW task is never run again.
#
# Each kill happens while training is under way: nodus-gpt2 is alive and its session on the
# daemon being killed has completed tasks (nodusctl status). The model is the train tests' tiny
# one (L=2 NH=2 C=32 maxT=32, V=50257) on 40 kB of the jargon file. NODUSD, NODUSCTL, NODUS_GPT2
# and GPT2_BPE_DIR come from ctest's environment (train.cmake).
. "$(dirname "$0")/../integration/harness.sh"
corpus=/usr/share/doc/jargon-text/jargon.txt.gz
command -v jq >/dev/null || { echo "jq is not installed: skipped"; exit 77; }
if [ ! -f "$GPT2_BPE_DIR/encoder.json" ] || [ ! -f "$corpus" ]; then
    echo "no GPT-2 tokenizer (scripts/fetch-gpt2-tokenizer.sh) or no $corpus: skipped"
    exit 77
fi
G=$NODUS_GPT2
app=""
trap 'rc=$?; [ -z "$app" ] || kill "$app" 2>/dev/null || true; (exit $rc); cleanup' EXIT

# 1332 tasks a step at this cut; 12 steps take about 3 s here on 2 cores. Sanitizer builds pay
# per task, so they run fewer steps and kill sooner.
steps=12 after=3000 # kill once the session on the current daemon has completed this many tasks
[ -z "${NODUS_TEST_SANITIZER:-}" ] || { steps=6; after=1500; }
kills_wanted=2

{ zcat "$corpus" || true; } | head -c 40000 >"$WORK/corpus.txt" # zcat dies of SIGPIPE
"$G" prepare --quiet --bpe-dir "$GPT2_BPE_DIR" --val-fraction 0.1 --tokenizer \
    "$WORK/corpus.txt" "$WORK/train.bin" || fail "prepare"
"$G" init --out "$WORK/model.bin" --layers 2 --heads 2 --channels 32 --max-seq 32 \
    --vocab 50257 --seed 7 >/dev/null || fail "init"
args=(train --model "$WORK/model.bin" --data "$WORK/train.bin" --batch 4 --seq 32 --lr 1e-3
    --sample-len 0 --steps "$steps" --t-gran 8 --oc-split 2)

# losses NAME: the per-step lines "step i/n: loss x", as printed (timings cut off)
losses() {
    sed -n 's/^\(step [0-9]*\/[0-9]*: loss [0-9.]*\) .*/\1/p' "$WORK/$1.log"
}

start_daemon --cores 2
export NODUS_SOCKET="$SOCK" NODUS_RECONNECT_TIMEOUT=20

# the undisturbed run
"$G" "${args[@]}" --out "$WORK/ref.bin" >"$WORK/ref.log" 2>&1 ||
    fail "undisturbed run: $(tail -n 5 "$WORK/ref.log")"

# the same run, the daemon killed under it and restarted 0.2 s later, twice
"$G" "${args[@]}" --out "$WORK/run.bin" >"$WORK/run.log" 2>&1 &
app=$!
kill_daemon_under $app nodus-gpt2 $after $kills_wanted --cores 2
rc=0
wait $app || rc=$?
app=""
[ $rc = 0 ] || fail "nodus-gpt2 exited $rc after $kills restarts: $(tail -n 5 "$WORK/run.log")"
[ $kills = $kills_wanted ] || fail "training ended after $kills of $kills_wanted kills (too fast?)"

grep -qx "reconnects: $kills" "$WORK/run.log" ||
    fail "$(grep '^reconnects' "$WORK/run.log" || echo 'no reconnects line'), for $kills restarts"
grep -qx "reconnects: 0" "$WORK/ref.log" || fail "the undisturbed run reconnected"
[ "$(losses ref | wc -l)" = "$steps" ] || fail "the undisturbed run printed no $steps losses"
if [ "$(losses run)" != "$(losses ref)" ]; then
    paste <(losses ref) <(losses run)
    fail "the losses differ from the undisturbed run's"
fi
cmp "$WORK/ref.bin" "$WORK/run.bin" || fail "the checkpoints differ"
echo "restarted $kills times: $steps losses and the checkpoint as undisturbed" \
    "(last: $(losses run | tail -n 1))"
echo "test_gpt2_restart: OK"
