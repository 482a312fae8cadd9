#!/usr/bin/env bash
# packaging.man_pages: nodusd(8), nodusctl(1), nodus(3) and the applications' pages (nodus-hpccg(1),
# ...: packaging/man/PROGRAM.1) render without a groff warning, and stay in step with the code:
# every long option `nodusd --help` lists is in nodusd(8), every configuration key
# `nodusd --print-config` prints is in nodusd(8), every command `nodusctl --help` lists is in
# nodusctl(1), every long option an application's `--help` lists is in its page, and every
# function nodus.h exports is in nodus(3). The example program of nodus(3) builds and prints the
# right answer.
source "$(dirname "$0")/lib.sh"

command -v groff >/dev/null || skip "groff is not installed (package groff-base)"
MAN=$SRC_DIR/packaging/man

pages=(nodusd.8 nodusctl.1 nodus.3)
for app in ${APPS:-}; do
    [ ! -f "$MAN/$(basename "$app").1" ] || pages+=("$(basename "$app").1")
done
for page in "${pages[@]}"; do
    LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MAN/$page" >"$WORK/groff.log" 2>&1 ||
        fail "groff failed on $page: $(cat "$WORK/groff.log")"
    [ ! -s "$WORK/groff.log" ] || fail "groff warns on $page: $(cat "$WORK/groff.log")"
done

# roff spells a hyphen in an option as "\-"
roff() { sed 's/-/\\-/g' <<<"$1"; }

for opt in $("$NODUSD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "$(roff "$opt")" "$MAN/nodusd.8" || fail "nodusd.8 does not document $opt"
done
for opt in $("$NODUSCTL" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "$(roff "$opt")" "$MAN/nodusctl.1" || fail "nodusctl.1 does not document $opt"
done
for app in ${APPS:-}; do
    page=$MAN/$(basename "$app").1
    [ -f "$page" ] || continue
    usage=$("$app" --help) || fail "$(basename "$app") --help failed"
    opts=$(grep -o -- '--[a-z][a-z-]*' <<<"$usage" | sort -u)
    [ -n "$opts" ] || fail "no options in $(basename "$app") --help"
    for opt in $opts; do
        grep -qF -- "$(roff "$opt")" "$page" || fail "$(basename "$page") does not document $opt"
    done
done
for key in $("$NODUSD" --print-config | sed -n 's/^\([a-z_]*\) =.*/\1/p'); do
    grep -qE "^\.BR? $key( |\$)" "$MAN/nodusd.8" || fail "nodusd.8 does not document the key $key"
done
commands=$("$NODUSCTL" --help | sed -n '/^commands:/,$p' | awk 'NR > 1 && NF {print $1}')
[ -n "$commands" ] || fail "no commands in nodusctl --help"
for cmd in $commands; do
    grep -qE "^\.BR? $cmd( |\$)" "$MAN/nodusctl.1" || fail "nodusctl.1 does not document '$cmd'"
done
functions=$(grep -o 'NODUS_EXPORT [^(]*(' "$SRC_DIR/client-lib/include/nodus.h" |
    grep -o 'nodus_[a-z0-9_]*(' | tr -d '(' | sort -u)
[ -n "$functions" ] || fail "no NODUS_EXPORT functions found in nodus.h"
for fn in $functions; do
    grep -q "$(roff "$fn")\|$fn" "$MAN/nodus.3" || fail "nodus.3 does not document $fn()"
done
# the program in nodus(3)'s EXAMPLES builds without a warning and prints 1+4+9+16
awk '/^\.SH EXAMPLES/ {f = 1} f && /^\.EX/ {g = 1; next} f && /^\.EE/ {exit} g' "$MAN/nodus.3" |
    sed 's/\\e/\\/g' >"$WORK/example.c"
"$CC" -std=c11 -Wall -Wextra -Werror ${SANITIZE:+-fsanitize=$SANITIZE} \
    -I"$SRC_DIR/client-lib/include" "$WORK/example.c" \
    -L"$(dirname "$LIBNODUS")" -Wl,-rpath,"$(dirname "$LIBNODUS")" -lnodus -o "$WORK/example" \
    >"$WORK/cc.log" 2>&1 || fail "the nodus(3) example does not build: $(cat "$WORK/cc.log")"
"$NODUSD" --socket "$WORK/nodusd.sock" --foreground >"$WORK/nodusd.log" 2>&1 &
PIDS+=($!)
wait_for_daemon "$WORK/nodusd.sock" $!
out=$(NODUS_SOCKET=$WORK/nodusd.sock "$WORK/example") || fail "the nodus(3) example failed: $out"
[ "$out" = 30 ] || fail "the nodus(3) example printed '$out', not 30"

echo "PASS: ${#pages[@]} pages render cleanly; $(wc -w <<<"$functions") functions and every option covered;" \
    "the nodus(3) example runs"
