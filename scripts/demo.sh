#!/usr/bin/env bash
# The co-scheduling demo (the README's main command): builds nodus, starts a private nodusd that
# owns every core of this machine, runs three jobs one after another and then all three at once
# through the daemon, and prints each job's time both ways with a nodusctl snapshot taken while
# they share the node.
#
#   scripts/demo.sh [BUILD_DIR]
#
# The jobs are the example app (tiled y = A x iterations, results checked bit for bit). The HPCCG
# and GPT-2 applications join this demo as they land (issues 4-6).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-demo}
n=${DEMO_N:-2048}
iters=${DEMO_ITERS:-300}

echo "== building into $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" >/dev/null

dir=$(mktemp -d)
trap 'kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$build/daemon/nodusd" --socket "$dir/nodusd.sock" --foreground --log-level warning &
dpid=$!
for _ in $(seq 1 100); do [ -S "$dir/nodusd.sock" ] && break; sleep 0.05; done
export NODUS_SOCKET="$dir/nodusd.sock" NODUS_NO_AUTOSTART=1
app="$build/apps/examples/nodus-example-blocked"
jobs=(alpha beta gamma)

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
declare -A alone together

echo "== each job alone through nodusd ($(nproc) cores)"
for j in "${jobs[@]}"; do
    t0=$(now)
    NODUS_JOB=$j "$app" "$n" "$iters" | sed "s/^/  $j: /"
    alone[$j]=$(sub "$(now)" "$t0")
done

echo "== all three at once through nodusd"
t0=$(now)
for j in "${jobs[@]}"; do
    (s=$(now); NODUS_JOB=$j "$app" "$n" "$iters" | sed "s/^/  $j: /"
     sub "$(now)" "$s" >"$dir/time.$j") &
done
sleep 1
echo "-- nodusctl status, one second in:"
"$build/apps/nodusctl/nodusctl" status | sed 's/^/   /'
wait $(jobs -p | grep -v "^$dpid$") 2>/dev/null || true
makespan=$(sub "$(now)" "$t0")

echo "== summary"
printf '  %-8s %12s %16s\n' job "alone (s)" "co-scheduled (s)"
sum=0
for j in "${jobs[@]}"; do
    together[$j]=$(cat "$dir/time.$j")
    printf '  %-8s %12.2f %16.2f\n' "$j" "${alone[$j]}" "${together[$j]}"
    sum=$(add "$sum" "${alone[$j]}")
done
printf '  one after another: %.2f s; together through nodusd: %.2f s\n' "$sum" "$makespan"
