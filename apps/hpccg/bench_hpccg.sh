#!/usr/bin/env bash
# HPCCG figures for docs/hpccg.md: MFLOPS (the reference's Total and per-kernel MFLOPS, 150
# iterations) for each grid, task-based vs fork-join, cpu vs opencl vs mixed (and cuda, cuda
# with cuSPARSE SpMV when a GPU is there), on a private nodusd owning every core of this
# process's affinity set. Prints a markdown table; each cell is the median of REPS runs.
#   apps/hpccg/bench_hpccg.sh [BUILD_DIR] [REPS] [GRIDS...]    (default: build 3 64 128)
set -euo pipefail
build=${1:-build}
reps=${2:-3}
shift $(($# > 2 ? 2 : $#)) || true
grids=("$@")
((${#grids[@]} > 0)) || grids=(64 128)
hpccg="$build/apps/hpccg/nodus-hpccg"
# a private nodusd on every core; $dir is its directory, removed on exit
# shellcheck source=apps/bench/bench_daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bench/bench_daemon.sh"
dir=$bench_dir
bench_start_daemon
cores=$(nproc)
tasks=$((4 * cores))

# field KEY SECTION: a value of the last run's YAML under SECTION
field() {
    awk -v sec="$2" -v key="$1" '/^[^ ]/ { in_sec = ($0 ~ "^" sec ":") }
        in_sec && $0 ~ "^  " key { sub(/^[^:]*: /, ""); print; exit }' "$dir/out.yaml"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# nodus-hpccg, $cores cores, $(date -u +%Y-%m-%d), $(uname -m), tasks=$tasks, reps=$reps (median)"
echo
echo "| grid | execution | impl | total MFLOPS | DDOT | WAXPBY | SPARSEMV | total s |"
echo "|---|---|---|---|---|---|---|---|"
for g in "${grids[@]}"; do
    for cfg in "tasks cpu" "forkjoin cpu" "tasks opencl" "tasks mixed" "tasks cuda" \
        "tasks cuda-cusparse"; do
        set -- $cfg
        args=(--tasks "$tasks" --impl "${2%-cusparse}")
        [ "$1" = forkjoin ] && args=(--forkjoin)
        [ "$2" = cuda-cusparse ] && args+=(--spmv cusparse)
        rows=()
        skipped=0
        for _ in $(seq 1 "$reps"); do
            rc=0
            "$hpccg" "$g" "$g" "$g" "${args[@]}" --yaml "$dir/out.yaml" >/dev/null 2>&1 || rc=$?
            [ $rc = 77 ] && { skipped=1; break; }
            [ $rc = 0 ] || { echo "nodus-hpccg $g^3 ${args[*]} failed ($rc)" >&2; exit 1; }
            rows+=("$(field 'Total' 'MFLOPS Summary') $(field 'DDOT' 'MFLOPS Summary') \
$(field 'WAXPBY' 'MFLOPS Summary') $(field 'SPARSEMV' 'MFLOPS Summary') \
$(field 'Total' 'Time Summary')")
        done
        if [ $skipped = 1 ]; then
            echo "| ${g}^3 | $1 | $2 | skipped (no such device here) | | | | |"
            continue
        fi
        cells=""
        for col in 1 2 3 4 5; do
            cells+="| $(printf '%s\n' "${rows[@]}" | awk -v c=$col '{ print $c }' | median) "
        done
        echo "| ${g}^3 | $1 | $2 $cells|"
    done
done
