#!/usr/bin/env bash
# packaging.install_consumers: `cmake --install` into a private prefix, then a project from
# outside the tree (consumer/) built against that install twice, through pkg-config (Makefile)
# and through find_package(nodus) (CMakeLists.txt). Both programs, and the installed example,
# run against the installed nodusd and must compute the right answer. The installed units (their
# ExecStart= names the prefix) pass `systemd-analyze verify`.
source "$(dirname "$0")/lib.sh"

PREFIX=$WORK/usr
LIB=$PREFIX/$LIBDIR
"$CMAKE" --install "$BUILD_DIR" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 ||
    fail "cmake --install failed"

# ---- what was installed, and nothing outside the prefix
escaped=$(sed -n 's/^-- \(Installing\|Up-to-date\): //p' "$WORK/install.log" |
    grep -v "^$PREFIX/" || true)
[ -z "$escaped" ] || fail "installed outside $PREFIX: $escaped"
for f in bin/nodusd bin/nodusctl bin/nodus-example-blocked bin/nodus-bench-overhead \
    include/nodus.h include/nodus/errors.h \
    "$LIBDIR/libnodus.so" "$LIBDIR/libnodus.so.1" "$LIBDIR/libnodus.so.$VERSION" \
    "$LIBDIR/pkgconfig/nodus.pc" "$LIBDIR/cmake/nodus/nodusConfig.cmake" \
    "$LIBDIR/cmake/nodus/nodusConfigVersion.cmake" "$LIBDIR/cmake/nodus/nodusTargets.cmake" \
    lib/systemd/system/nodusd.service lib/systemd/system/nodusd.socket \
    lib/sysusers.d/nodus.conf lib/tmpfiles.d/nodus.conf etc/nodus/nodusd.conf; do
    [ -e "$PREFIX/$f" ] || fail "not installed: $f"
done
for page in man8/nodusd.8 man1/nodusctl.1 man3/nodus.3; do
    compgen -G "$PREFIX/share/man/$page*" >/dev/null || fail "man page not installed: $page"
done
for app in $(app_names); do
    [ -x "$PREFIX/bin/$app" ] || fail "not installed: bin/$app"
    [ ! -f "$SRC_DIR/packaging/man/$app.1" ] ||
        compgen -G "$PREFIX/share/man/man1/$app.1*" >/dev/null ||
        fail "man page not installed: man1/$app.1"
done
{ [ -L "$LIB/libnodus.so" ] && [ -L "$LIB/libnodus.so.1" ]; } || fail "libnodus.so links missing"
cmp -s "$PREFIX/etc/nodus/nodusd.conf" "$SRC_DIR/packaging/nodusd.conf.example" ||
    fail "etc/nodus/nodusd.conf is not the example configuration"
tests=$(find "$PREFIX" -name 'test_*' -o -name 'it_*' -o -name notify_sink)
[ -z "$tests" ] || fail "tests installed: $tests"
# the unit starts this prefix's nodusd with this prefix's configuration
want="ExecStart=$PREFIX/bin/nodusd --foreground --config $PREFIX/etc/nodus/nodusd.conf"
unit=$PREFIX/lib/systemd/system/nodusd.service
grep -qxF "$want" "$unit" ||
    fail "nodusd.service: want '$want': $(grep ^ExecStart= "$unit")"
if command -v systemd-analyze >/dev/null; then # the installed units, as the build tree's
    systemd-analyze verify --man=no "$PREFIX/lib/systemd/system/nodusd.socket" "$unit" \
        >"$WORK/verify.log" 2>&1 || fail "installed units: $(cat "$WORK/verify.log")"
    if grep -q nodusd "$WORK/verify.log"; then fail "installed units: $(cat "$WORK/verify.log")"; fi
fi

# ---- consumer 1: pkg-config and make
export PKG_CONFIG_PATH=$LIB/pkgconfig
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
[ "$(pkg-config --modversion nodus)" = "$VERSION" ] || fail "pkg-config --modversion nodus"
cflags=$(pkg-config --cflags nodus)
libs=$(pkg-config --libs nodus)
grep -q -- "-I$PREFIX/include" <<<"$cflags" || fail "nodus.pc Cflags: $cflags"
grep -q -- "-L$LIB .*-lnodus" <<<"$libs" || fail "nodus.pc Libs: $libs"
# a sanitized libnodus needs sanitized programs (NODUS_SANITIZE)
san=${SANITIZE:+-fsanitize=$SANITIZE}
CFLAGS="-O2 -Wall -Wextra -Werror $san" LDFLAGS="$san" \
    make -s -f "$SRC_DIR/tests/packaging/consumer/Makefile" OUT="$WORK/consumer-pc" CC="$CC" \
    >"$WORK/make.log" 2>&1 || fail "consumer did not build with pkg-config"

# ---- consumer 2: find_package(nodus) and nodus::nodus
"$CMAKE" -S "$SRC_DIR/tests/packaging/consumer" -B "$WORK/cm" -G "$CMAKE_GENERATOR" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$WORK/cmake-consumer.log" 2>&1 ||
    fail "consumer did not configure with find_package(nodus)"
grep -qx "nodus_DIR:PATH=$LIB/cmake/nodus" "$WORK/cm/CMakeCache.txt" ||
    fail "find_package found $(grep ^nodus_DIR "$WORK/cm/CMakeCache.txt"), not the install"
"$CMAKE" --build "$WORK/cm" >>"$WORK/cmake-consumer.log" 2>&1 ||
    fail "consumer did not build with nodus::nodus"

# ---- run them against the installed daemon, on the installed library
export LD_LIBRARY_PATH=$LIB
SOCK=$WORK/nodusd.sock
"$PREFIX/bin/nodusd" --socket "$SOCK" --foreground >"$WORK/nodusd.log" 2>&1 &
PIDS+=($!)
wait_for_daemon "$SOCK" $! "$PREFIX/bin/nodusctl"
export NODUS_SOCKET=$SOCK

for prog in "$WORK/consumer-pc" "$WORK/cm/consumer-cmake"; do
    lib=$(ldd "$prog" | awk '/libnodus\.so/ {print $3}')
    [ "$lib" = "$LIB/libnodus.so.1" ] || fail "$prog loads libnodus from '$lib', not $LIB"
    out=$("$prog") || fail "$prog failed: $out"
    [ "$out" = "OK 89440 (libnodus $VERSION)" ] || fail "$prog printed '$out'"
    echo "$(basename "$prog"): $out"
done
out=$("$PREFIX/bin/nodus-example-blocked" 512 2) || fail "installed example failed: $out"
[[ $out == OK:* ]] || fail "installed example printed '$out'"
echo "nodus-example-blocked: $out"

# every task went through the installed daemon: 2 x 192 consumer tasks + the example's 1 + 2*2*4
done_tasks=$("$PREFIX/bin/nodusctl" --socket "$SOCK" status --json | jq .counters.tasks_done)
[ "$done_tasks" -eq $((2 * 192 + 1 + 2 * 2 * 4)) ] || fail "daemon counted $done_tasks tasks done"
# the installed HPCCG on the installed daemon and library (its 5 iterations are not counted above)
if [ -x "$PREFIX/bin/nodus-hpccg" ]; then
    "$PREFIX/bin/nodus-hpccg" 4 4 4 --tasks 2 --max-iter 5 --yaml "$WORK/hpccg.yaml" \
        >"$WORK/hpccg.log" 2>&1 || fail "installed nodus-hpccg failed"
    grep -qx 'Number of iterations: 4' "$WORK/hpccg.yaml" || fail "installed nodus-hpccg: iterations"
    echo "nodus-hpccg: 4 iterations on the installed daemon"
fi
echo "PASS: installed into $PREFIX; pkg-config and find_package consumers ran ($done_tasks tasks)"
