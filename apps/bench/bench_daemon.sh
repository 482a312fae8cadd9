# shellcheck shell=bash
# Sourced by apps/bench/run_*.sh: starts a private nodusd (every core of this process's
# affinity set) on a socket in a fresh directory, exports NODUS_SOCKET for the drivers, and
# stops it on exit.  Needs $build (the build directory).  Extra nodusd args: $NODUSD_ARGS.
: "${build:?set build before sourcing bench_daemon.sh}"
bench_dir=$(mktemp -d "${TMPDIR:-/tmp}/nodus-bench.XXXXXX")
bench_dpid=""
bench_stop_daemon() {
    if [ -n "$bench_dpid" ]; then
        kill "$bench_dpid" 2>/dev/null || true
        wait "$bench_dpid" 2>/dev/null || true
        bench_dpid=""
    fi
}
trap 'bench_stop_daemon; rm -rf "$bench_dir"' EXIT
bench_start_daemon() {
    # shellcheck disable=SC2086  # NODUSD_ARGS is a list of words
    "$build/daemon/nodusd" --socket "$bench_dir/s" --foreground --log-level warning \
        ${NODUSD_ARGS:-} &
    bench_dpid=$!
    for _ in $(seq 1 100); do [ -S "$bench_dir/s" ] && break; sleep 0.05; done
    [ -S "$bench_dir/s" ] || { echo "nodusd did not start" >&2; exit 1; }
    export NODUS_SOCKET="$bench_dir/s" NODUS_NO_AUTOSTART=1
}
# bench_field KEY LINE: the value of key=value in a driver's result line
bench_field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# bench_python: a python3 that has matplotlib ($PYTHON, else Debian's, else the first on PATH)
bench_python() {
    local p
    for p in ${PYTHON:-} /usr/bin/python3 python3; do
        if "$p" -c 'import matplotlib' 2>/dev/null; then echo "$p"; return 0; fi
    done
    echo "no python3 with matplotlib (Debian: python3-matplotlib)" >&2
    return 1
}
