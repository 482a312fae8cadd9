#!/usr/bin/env bash
# End-to-end tests of `nodus-gpt2 train` against a private nodusd with two cores, on a tiny
# model (L=2 NH=2 C=32 maxT=32, GPT-2's vocabulary V=50257 so the corpus's ids need no
# remapping) and the first 40 kB of the default corpus (the jargon file).
#   test_gpt2_train.sh CASE     CASE: learns forkjoin granularity opencl checkpoint
# NODUSD, NODUSCTL, NODUS_GPT2 and GPT2_BPE_DIR come from ctest's environment (train.cmake).
#
# Loss tolerances: the printed losses have 4 decimals. Tasks and fork-join run the same kernels
# on different slices, so sums are taken in a different order (matmul_bwd_weight and
# layernorm_bwd accumulate per slice); after a few AdamW steps the mean loss differs by ~1e-5,
# so 2e-3 is generous but still catches any missing or doubled slice (those move the loss by
# far more). OpenCL's GEMMs sum in another order again: same tolerance.
. "$(dirname "$0")/../integration/harness.sh"
case_name=${1:?usage: test_gpt2_train.sh CASE}
corpus=/usr/share/doc/jargon-text/jargon.txt.gz
if [ ! -f "$GPT2_BPE_DIR/encoder.json" ] || [ ! -f "$corpus" ]; then
    echo "no GPT-2 tokenizer (scripts/fetch-gpt2-tokenizer.sh) or no $corpus: skipped"
    exit 77
fi
G=$NODUS_GPT2
{ zcat "$corpus" || true; } | head -c 40000 >"$WORK/corpus.txt" # zcat dies of SIGPIPE
"$G" prepare --quiet --bpe-dir "$GPT2_BPE_DIR" --val-fraction 0.1 --tokenizer \
    "$WORK/corpus.txt" "$WORK/train.bin" || fail "prepare"
"$G" init --out "$WORK/model.bin" --layers 2 --heads 2 --channels 32 --max-seq 32 \
    --vocab 50257 --seed 7 >/dev/null || fail "init"
start_daemon --cores 2
export NODUS_SOCKET="$SOCK"

# train NAME ARGS...: runs a training into $WORK/NAME.log
train() {
    local name=$1
    shift
    "$G" train --model "$WORK/model.bin" --data "$WORK/train.bin" --batch 4 --seq 32 \
        --lr 1e-3 --sample-len 0 --out "" "$@" >"$WORK/$name.log" 2>&1 || {
        local rc=$?
        cat "$WORK/$name.log"
        [ $rc = 77 ] && exit 77
        fail "train $name exited with $rc"
    }
}

# losses NAME: the per-step losses of a run, one per line
losses() {
    sed -n 's/^step [0-9]*\/[0-9]*: loss \([0-9.]*\) .*/\1/p' "$WORK/$1.log"
}

# same_losses A B TOL: every step's loss of runs A and B within TOL
same_losses() {
    local n
    n=$(paste <(losses "$1") <(losses "$2") |
        awk -v tol="$3" '{ d = $1 - $2; if (d < 0) d = -d; if (d > tol || NF != 2) bad++ }
                         END { print NR, bad + 0 }')
    echo "$1 vs $2: $n (steps, steps beyond $3)"
    if [ "${n% *}" -eq 0 ] || [ "${n#* }" != 0 ]; then
        paste <(losses "$1") <(losses "$2")
        fail "$1 and $2 disagree"
    fi
}

case "$case_name" in
learns) # 20 steps, a sample, a validation loss; the loss falls
    train learns --steps 20 --lr 3e-3 --val "$WORK/train_val.bin" --val-every 10 --sample-len 8
    cat "$WORK/learns.log"
    [ "$(losses learns | wc -l)" = 20 ] || fail "not 20 progress lines"
    grep -q '^sample: ' "$WORK/learns.log" || fail "no text sample"
    [ "$(grep -c '^val loss' "$WORK/learns.log")" = 2 ] || fail "not 2 validation losses"
    losses learns | awk 'NR <= 3 { a += $1 } NR >= 18 { b += $1 }
        END { a /= 3; b /= 3; printf "first 3: %.4f, last 3: %.4f\n", a, b; exit !(b < a - 1.0) }' ||
        fail "the loss did not fall by 1.0 over 20 steps"
    ;;
forkjoin) # the task graph and the OpenMP baseline give the same losses
    train tasks --steps 6
    train fj --steps 6 --forkjoin
    grep -q '^fork-join' "$WORK/fj.log" || fail "fork-join run did not say so"
    same_losses tasks fj 2e-3
    ;;
granularity) # any cut of the kernels gives the same losses
    train coarse --steps 3 --b-gran 4 --oc-split 1
    train fine --steps 3 --t-gran 5 --oc-split 3
    train finest --steps 3 --t-gran 1 --oc-split 7 --out "$WORK/finest.bin"
    # the same cut again: every accumulation is ordered by its INOUT chain, so the parameters
    # must come out bit for bit the same however the daemon scheduled the tasks (a missing
    # dependency shows up here as a difference)
    train finest2 --steps 3 --t-gran 1 --oc-split 7 --out "$WORK/finest2.bin"
    cmp "$WORK/finest.bin" "$WORK/finest2.bin" || fail "two runs of one cut differ"
    train heads --steps 3 --t-gran 16 --oc-split 2
    same_losses coarse fine 2e-3
    same_losses coarse finest 2e-3
    same_losses coarse heads 2e-3
    ;;
opencl) # OpenCL kernels (PoCL) and multi-version tasks agree with the C kernels
    # under ASan: PoCL's and LLVM's allocations left at exit are theirs (lsan_pocl.supp)
    supp="$(cd "$(dirname "$0")" && pwd)/lsan_pocl.supp"
    export LSAN_OPTIONS="suppressions=$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    train cpu --steps 4
    train ocl --steps 4 --impl opencl
    train mixed --steps 4 --impl mixed
    same_losses cpu ocl 2e-3
    same_losses cpu mixed 2e-3
    ;;
checkpoint) # the checkpoint holds the trained parameters: re-read, it validates the same;
    # `nodus-gpt2 sample` reads it too
    train first --steps 3 --val "$WORK/train_val.bin" --out "$WORK/ckpt.bin"
    [ -s "$WORK/ckpt.bin" ] || fail "no checkpoint"
    "$G" train --model "$WORK/ckpt.bin" --data "$WORK/train.bin" --batch 4 --seq 32 --steps 0 \
        --val "$WORK/train_val.bin" --sample-len 0 --out "" >"$WORK/again.log" 2>&1 ||
        fail "train from the checkpoint"
    a=$(sed -n 's/^val loss \([0-9.]*\) .*/\1/p' "$WORK/first.log")
    b=$(sed -n 's/^val loss \([0-9.]*\) .*/\1/p' "$WORK/again.log")
    echo "val loss after 3 steps: $a, from the checkpoint: $b"
    if [ -z "$a" ] || [ "$a" != "$b" ]; then fail "checkpoint val loss $b, expected $a"; fi
    # the sample command on the checkpoint: decoded text, the same twice for one seed
    for i in 1 2; do
        "$G" sample --model "$WORK/ckpt.bin" --tokenizer "$WORK/gpt2_tokenizer.bin" \
            --sample-len 6 --seed 5 --quiet >"$WORK/sample$i.log" 2>&1 || fail "sample"
    done
    grep -q '^sample: ' "$WORK/sample1.log" || fail "no sample from the sample command"
    cmp -s "$WORK/sample1.log" "$WORK/sample2.log" || fail "samples differ for one seed"
    c=$(losses first | head -1)
    awk -v a="$a" -v c="$c" 'BEGIN { exit !(a + 0 < c + 0) }' ||
        fail "checkpoint did not improve on the first loss ($a vs $c)"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
s=$(status_json)
[ "$(echo "$s" | jq '[.cores[] | select(.busy)] | length')" = 0 ] || fail "cores still busy"
echo "gpt2.train_$case_name: OK"
