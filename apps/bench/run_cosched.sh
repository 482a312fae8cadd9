#!/usr/bin/env bash
# Co-scheduling several jobs on one node (issue 6, part 3), four ways:
#   nodus    every job through one private nodusd (task mode), traced: a Gantt chart of which
#            job ran on which core when (scripts/trace-gantt.py)
#   oversub  every job at once in its fork-join mode with OMP_NUM_THREADS = all cores
#   split    every job at once in fork-join mode, the cores divided statically between them
#            (taskset + OMP_NUM_THREADS; with more jobs than cores, jobs share cores round-robin)
#   seq      the fork-join jobs one after another, each with all cores
# and prints a markdown table of each job's wall time and the makespan per mode, beside the
# ideal bound, and each job's result line.
#
#   apps/bench/run_cosched.sh [--build DIR] [--out DIR] [--modes "nodus oversub split seq"]
#                             [--title TEXT] [--status-after S] [--apps N | JOB...]
#   JOB: NAME=COMMAND[|FORKJOIN_COMMAND]
# --apps N: the issue's job mix, N jobs of which every third is a GPT-2 training run and the
# others HPCCG solvers (N=3: two HPCCG and one GPT-2; the default when no JOB is given):
#   hpccg-K  nodus-hpccg $HPCCG_N^3 (96), 150 iterations, --tasks $HPCCG_TASKS (8) through
#            nodusd; `--forkjoin --standalone` (plain OpenMP) otherwise
#   gpt2-K   nodus-gpt2 train, L=4 NH=4 C=256 (GPT-2's vocabulary), batch 4 x 64, $GPT2_STEPS
#            (10) steps on the jargon file, tasks through nodusd; `--forkjoin` otherwise. Its
#            data (tokens, model) is prepared once into $COSCHED_DATA (default BUILD/cosched-data)
#            from the BPE files of scripts/fetch-gpt2-tokenizer.sh ($GPT2_BPE_DIR, else data/gpt2)
# A JOB's COMMAND runs it through nodus; FORKJOIN_COMMAND its OpenMP fork-join variant (default:
# COMMAND --forkjoin). Commands are bash command lines with the build directory's apps/ folders
# on PATH, each run in a directory of its own, e.g. 'cg1=nodus-hpccg 64 64 64 --tasks 16'.
# A job's result is the last line of its output that matches $COSCHED_RESULT (an ERE; the apps'
# residual and loss lines with --apps, else any line).
# --status-after S prints `nodusctl status` S seconds into the nodus run (the demo's snapshot).
#
# Ideal bound: total CPU work / cores. The CPU work of a job is the user + system time it took in
# the sequential run (all cores to itself, fork-join): an estimate from above, since idle OpenMP
# threads spin for a while and that counts as CPU time, and from below for the nodus mode, whose
# task-mode code may do more work. The longest job run alone is printed beside it (a floor too,
# if the job cannot go faster than with every core, but one that noise moves). Without the seq
# mode there is no bound. Outputs in OUT (default: a temporary directory, printed): cosched.csv,
# cosched.md, cosched-trace.json, cosched-gantt.png, and each job's log as MODE-NAME.log.
set -euo pipefail
build=build
out=""
modes="nodus oversub split seq"
title="co-scheduled jobs through nodusd"
apps=""
status_after=""
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --title) title=$2; shift 2 ;;
    --apps) apps=$2; shift 2 ;;
    --status-after) status_after=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "usage: $0 [--build DIR] [--out DIR] [--modes LIST] [--title T] [--status-after S]" \
            "[--apps N | NAME=CMD[|FJCMD]...]" >&2
        exit 2 ;;
    *) break ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$build" && pwd)
# shellcheck source=apps/bench/bench_daemon.sh
. "$here/bench_daemon.sh"
[ -n "$out" ] || out=$bench_dir/out
mkdir -p "$out"
out=$(cd "$out" && pwd)
for d in bench hpccg gpt2 examples nodusctl; do
    [ -d "$build/apps/$d" ] && PATH=$build/apps/$d:$PATH
done
export PATH
[ $# -gt 0 ] || [ -n "$apps" ] || apps=3
result_ere=${COSCHED_RESULT:-.}
if [ -n "$apps" ]; then
    [ $# -eq 0 ] || { echo "--apps and JOBs exclude each other" >&2; exit 2; }
    for app in hpccg gpt2; do
        [ -x "$build/apps/$app/nodus-$app" ] || { echo "no $build/apps/$app/nodus-$app" >&2; exit 1; }
    done
    hn=${HPCCG_N:-96} ht=${HPCCG_TASKS:-8} gsteps=${GPT2_STEPS:-10}
    data=${COSCHED_DATA:-$build/cosched-data}
    mkdir -p "$data"
    data=$(cd "$data" && pwd)
    if [ ! -s "$data/jargon.bin" ]; then
        "$build/apps/gpt2/nodus-gpt2" prepare --quiet --bpe-dir "${GPT2_BPE_DIR:-$root/data/gpt2}" \
            "$data/jargon.bin.tmp" >&2 || {
            echo "GPT-2 data: run scripts/fetch-gpt2-tokenizer.sh first (or set GPT2_BPE_DIR)" >&2
            exit 1
        }
        mv "$data/jargon.bin.tmp" "$data/jargon.bin"
    fi
    [ -s "$data/small.bin" ] || "$build/apps/gpt2/nodus-gpt2" init --out "$data/small.bin" \
        --layers 4 --heads 4 --channels 256 --max-seq 64 --vocab 50257 --seed 1337 >/dev/null
    gpt2="nodus-gpt2 train --model $data/small.bin --data $data/jargon.bin --batch 4 --seq 64"
    gpt2+=" --steps $gsteps --sample-len 0 --out ''"
    nh=0 ng=0
    for ((i = 0; i < apps; i++)); do
        if ((i % 3 == 2)); then
            ng=$((ng + 1))
            set -- "$@" "gpt2-$ng=$gpt2|$gpt2 --forkjoin"
        else
            nh=$((nh + 1))
            set -- "$@" "hpccg-$nh=nodus-hpccg $hn $hn $hn --tasks $ht|nodus-hpccg $hn $hn $hn --forkjoin --standalone"
        fi
    done
    result_ere=${COSCHED_RESULT:-^Final residual|^step [0-9]+/[0-9]+: loss}
fi
names=() cmds=() fjcmds=()
for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=}
    if [ "$name" = "$spec" ] || [ -z "$name" ]; then
        echo "bad job '$spec': NAME=CMD" >&2
        exit 2
    fi
    names+=("$name")
    if [[ $rest == *"|"* ]]; then
        cmds+=("${rest%%|*}") fjcmds+=("${rest#*|}")
    else
        cmds+=("$rest") fjcmds+=("$rest --forkjoin")
    fi
done
njobs=${#names[@]}
read -r -a cpus <<<"$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
ncores=${#cpus[@]}

declare -A wall user sys makespan
# calc EXPR: floating-point arithmetic (awk)
calc() { awk "BEGIN { printf \"%.6f\", ($1) }"; }
# run_job MODE INDEX COMMAND [ENV...]: runs one job, records wall, user and system seconds
run_job() {
    local mode=$1 i=$2 cmd=$3 rc=0
    shift 3
    local TIMEFORMAT='%R %U %S' dir=$bench_dir/run/$mode-$i
    mkdir -p "$dir"
    { time env "$@" bash -c "cd '$dir' && $cmd" >"$out/$mode-${names[$i]}.log" 2>&1 || rc=$?; } \
        2>"$bench_dir/$mode-$i.time"
    if [ $rc -ne 0 ]; then
        echo "job ${names[$i]} ($mode) failed with status $rc; its log:" >&2
        tail -n 20 "$out/$mode-${names[$i]}.log" >&2
        return 1
    fi
}
# collect MODE: reads the times run_job wrote
collect() {
    local i t
    for ((i = 0; i < njobs; i++)); do
        read -r t u s <"$bench_dir/$1-$i.time"
        wall[$1.$i]=$t user[$1.$i]=$u sys[$1.$i]=$s
        echo "$1,${names[$i]},$t,$u,$s" >>"$out/cosched.csv"
    done
}
# run_together MODE: starts every job at once (env per job from job_env), waits for all
run_together() {
    local mode=$1 i failed=0 t0 pids=()
    t0=$(date +%s.%N)
    for ((i = 0; i < njobs; i++)); do
        local -a envs
        job_env "$mode" "$i"
        local cmd=${fjcmds[$i]}
        [ "$mode" = nodus ] && cmd=${cmds[$i]}
        run_job "$mode" "$i" "$cmd" "${envs[@]}" &
        pids+=("$!")
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    makespan[$mode]=$(calc "$(date +%s.%N) - $t0")
    [ $failed = 0 ] || exit 1
    collect "$mode"
}
# job_env MODE INDEX: sets envs[] for one job
job_env() {
    local mode=$1 i=$2
    case $mode in
    nodus) envs=(NODUS_JOB="${names[$i]}") ;;
    oversub) envs=("OMP_NUM_THREADS=$ncores") ;;
    split)
        local lo hi list=""
        if ((njobs <= ncores)); then
            lo=$((i * ncores / njobs)) hi=$(((i + 1) * ncores / njobs - 1))
        else
            lo=$((i % ncores)) hi=$lo
        fi
        for ((c = lo; c <= hi; c++)); do list+=${list:+,}${cpus[$c]}; done
        envs=("OMP_NUM_THREADS=$((hi - lo + 1))" OMP_PROC_BIND=false taskset -c "$list")
        ;;
    esac
}

echo "mode,job,wall_s,user_s,sys_s" >"$out/cosched.csv"
for mode in $modes; do
    case $mode in
    nodus)
        bench_start_daemon
        nodusctl --socket "$NODUS_SOCKET" trace start --capacity 1000000 >/dev/null
        if [ -n "$status_after" ]; then
            (sleep "$status_after"
             echo "nodusctl status, $status_after s into the run through nodusd:"
             nodusctl --socket "$NODUS_SOCKET" status 2>&1 | sed 's/^/    /') >"$out/cosched-status.txt" &
            snap=$!
        fi
        run_together nodus
        [ -z "$status_after" ] || wait "$snap" || true
        [ ! -s "$out/cosched-status.txt" ] || cat "$out/cosched-status.txt"
        nodusctl --socket "$NODUS_SOCKET" trace stop "$out/cosched-trace.json" >/dev/null
        bench_stop_daemon
        if py=$(bench_python 2>/dev/null); then
            "$py" "$root/scripts/trace-gantt.py" "$out/cosched-trace.json" \
                "$out/cosched-gantt.png" --title "$title" >/dev/null
        fi
        ;;
    oversub | split) run_together "$mode" ;;
    seq)
        t0=$(date +%s.%N)
        for ((i = 0; i < njobs; i++)); do
            run_job seq "$i" "${fjcmds[$i]}" OMP_NUM_THREADS="$ncores" || exit 1
        done
        makespan[seq]=$(calc "$(date +%s.%N) - $t0")
        collect seq
        ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
done

declare -A mode_label=([nodus]="through nodusd" [oversub]="oversubscribed"
    [split]="static split" [seq]="one after another")
{
    printf '| job |'
    for m in $modes; do printf ' %s (s) |' "${mode_label[$m]}"; done
    printf '\n|---|'
    for m in $modes; do printf -- '---|'; done
    echo
    for ((i = 0; i < njobs; i++)); do
        printf '| %s |' "${names[$i]}"
        for m in $modes; do printf ' %.2f |' "${wall[$m.$i]}"; done
        echo
    done
    printf '| **makespan** |'
    for m in $modes; do printf ' **%.2f** |' "${makespan[$m]}"; done
    echo
    if [[ " $modes " == *" seq "* ]]; then
        work=0 longest=0
        for ((i = 0; i < njobs; i++)); do
            work=$(calc "$work + ${user[seq.$i]} + ${sys[seq.$i]}")
            longest=$(calc "${wall[seq.$i]} > $longest ? ${wall[seq.$i]} : $longest")
        done
        bound=$(calc "$work / $ncores")
        echo
        printf 'Ideal bound: %.2f s = CPU work %.2f s / %d cores (longest job alone: %.2f s).\n' \
            "$bound" "$work" "$ncores" "$longest"
    fi
    echo
    echo "Each job's result (the last line of its output matching /$result_ere/):"
    echo
    for ((i = 0; i < njobs; i++)); do
        for m in $modes; do
            line=$(grep -E -- "$result_ere" "$out/$m-${names[$i]}.log" | tail -n 1) || true
            echo "- ${names[$i]}, ${mode_label[$m]}: \`${line:-(none)}\`"
        done
    done
    echo
    echo "$njobs jobs, $ncores cores, $(date -u +%Y-%m-%d)."
} >"$out/cosched.md"
cat "$out/cosched.md"
echo "outputs in $out" >&2
