#!/usr/bin/env bash
# packaging.deb_contents: `cpack -G DEB` from the build directory makes exactly the packages
# nodusd, libnodus1, libnodus-dev and (when the build has applications: ctest's APPS) nodus-apps,
# and each holds what it should (dpkg-deb -c) with the right control data (dpkg-deb -I / -f):
# names, version, architecture, sections, dependencies, the conffile, maintainer scripts and the
# shlibs entry.
source "$(dirname "$0")/lib.sh"

for tool in dpkg-deb dpkg-shlibdeps file; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup-debian.sh)"
done

OUT=$WORK/out
"$CPACK" --config "$BUILD_DIR/CPackConfig.cmake" -G DEB -B "$OUT" >"$WORK/cpack.log" 2>&1 ||
    fail "cpack -G DEB failed"

arch=$(dpkg --print-architecture)
ver=$VERSION-1
unitdir=${DEB_UNITDIR:-/usr/lib/systemd/system}
sysusersdir=${DEB_SYSUSERSDIR:-/usr/lib/sysusers.d}
tmpfilesdir=${DEB_TMPFILESDIR:-/usr/lib/tmpfiles.d}
lib=/usr/$LIBDIR

apps=$(app_names)
packages="nodusd libnodus1 libnodus-dev${apps:+ nodus-apps}"
debs=$(cd "$OUT" && ls -- *.deb | sort | tr '\n' ' ')
want=$(for pkg in $packages; do echo "${pkg}_${ver}_$arch.deb"; done | sort | tr '\n' ' ')
[ "$debs" = "$want" ] || fail "cpack made '$debs', want '$want'"

# contents PKG: "path" or "path -> target" per entry, without the leading "."
contents() {
    dpkg-deb -c "$OUT/${1}_${ver}_$arch.deb" |
        awk '{ p = substr($6, 2); if ($7 == "->") p = p " -> " $8; print p }'
}
has() { # has PKG ENTRY...
    local pkg=$1 entry list
    shift
    list=$(contents "$pkg")
    for entry in "$@"; do
        grep -qxF -- "$entry" <<<"$list" || fail "$pkg lacks $entry"
    done
}
lacks() { # lacks PKG REGEX...
    local pkg=$1 re list
    shift
    list=$(contents "$pkg")
    for re in "$@"; do
        if grep -qE -- "$re" <<<"$list"; then
            fail "$pkg must not hold $(grep -E -- "$re" <<<"$list" | head -n 3 | tr '\n' ' ')"
        fi
    done
}
field() { dpkg-deb -f "$OUT/${1}_${ver}_$arch.deb" "$2"; }
control() { dpkg-deb -I "$OUT/${1}_${ver}_$arch.deb" "$2" 2>/dev/null; }
member() { dpkg-deb --fsys-tarfile "$OUT/${1}_${ver}_$arch.deb" | tar -xOf - ".$2"; }
depends_on() { # depends_on PKG DEP-REGEX...
    local pkg=$1 dep deps
    shift
    deps=$(field "$pkg" Depends | tr ',' '\n' | sed 's/^ *//')
    for dep in "$@"; do
        grep -qE -- "^($dep)( |\$)" <<<"$deps" ||
            fail "$pkg: Depends '$(field "$pkg" Depends)' lacks $dep"
    done
}

for pkg in $packages; do
    [ "$(field $pkg Package)" = $pkg ] || fail "$pkg: Package is '$(field $pkg Package)'"
    [ "$(field $pkg Version)" = "$ver" ] || fail "$pkg: Version is '$(field $pkg Version)'"
    [ "$(field $pkg Architecture)" = "$arch" ] ||
        fail "$pkg: Architecture '$(field $pkg Architecture)'"
    [ -n "$(field $pkg Maintainer)" ] || fail "$pkg: no Maintainer"
    [ "$(field $pkg Description | wc -l)" -ge 2 ] || fail "$pkg: no long Description"
    owners=$(dpkg-deb -c "$OUT/${pkg}_${ver}_$arch.deb" | awk '{print $2}' | sort -u)
    [ "$owners" = root/root ] || fail "$pkg: files owned by $owners"
done

# ---- nodusd: daemon, tools, units, user, configuration, man pages 8 and 1
[ "$(field nodusd Section)" = admin ] || fail "nodusd: Section '$(field nodusd Section)'"
has nodusd /usr/bin/nodusd /usr/bin/nodusctl /usr/bin/nodus-example-blocked \
    /usr/bin/nodus-bench-overhead "$unitdir/nodusd.service" "$unitdir/nodusd.socket" \
    "$sysusersdir/nodus.conf" "$tmpfilesdir/nodus.conf" /etc/nodus/nodusd.conf \
    /usr/share/man/man8/nodusd.8.gz /usr/share/man/man1/nodusctl.1.gz
lacks nodusd 'libnodus\.so' '^/usr/include' 'man3' 'test_|/it_|notify_sink' 'nodus-hpccg|nodus-gpt2'
depends_on nodusd "libnodus1 \(= $ver\)" 'libc6' 'libuv1' 'libprotobuf-c1' 'libinih1' \
    'libhwloc[0-9]+' 'libsystemd0'
[ "$(control nodusd conffiles)" = /etc/nodus/nodusd.conf ] ||
    fail "nodusd: conffiles is '$(control nodusd conffiles)'"
for script in postinst prerm postrm; do
    [[ $(control nodusd $script) == '#!/bin/sh'* ]] || fail "nodusd: no $script"
done
ctrl=$(dpkg-deb --ctrl-tarfile "$OUT/nodusd_${ver}_$arch.deb" | tar -tvf -)
grep -q '^-rwxr-xr-x .* \./postinst$' <<<"$ctrl" ||
    fail "nodusd: postinst is not executable"
unit=$(member nodusd "$unitdir/nodusd.service")
grep -qxF 'ExecStart=/usr/bin/nodusd --foreground' <<<"$unit" ||
    fail "packaged nodusd.service: $(grep ExecStart <<<"$unit")"
member nodusd /etc/nodus/nodusd.conf >"$WORK/nodusd.conf"
cmp -s "$WORK/nodusd.conf" "$SRC_DIR/packaging/nodusd.conf.example" ||
    fail "nodusd: /etc/nodus/nodusd.conf is not the example configuration"

# ---- libnodus1: the run-time library only
[ "$(field libnodus1 Section)" = libs ] || fail "libnodus1: Section '$(field libnodus1 Section)'"
has libnodus1 "$lib/libnodus.so.1 -> libnodus.so.$VERSION" "$lib/libnodus.so.$VERSION"
lacks libnodus1 "^$lib/libnodus\.so( |\$)" '^/usr/include' '^/usr/bin' '/man/' '\.pc$' 'cmake'
depends_on libnodus1 'libc6'
[ "$(control libnodus1 shlibs)" = "libnodus 1 libnodus1 (>= $ver)" ] ||
    fail "libnodus1: shlibs is '$(control libnodus1 shlibs)'"

# ---- libnodus-dev: headers, link, pkg-config, CMake package, nodus(3)
[ "$(field libnodus-dev Section)" = libdevel ] ||
    fail "libnodus-dev: Section '$(field libnodus-dev Section)'"
has libnodus-dev /usr/include/nodus.h /usr/include/nodus/errors.h \
    "$lib/libnodus.so -> libnodus.so.1" "$lib/pkgconfig/nodus.pc" \
    "$lib/cmake/nodus/nodusConfig.cmake" "$lib/cmake/nodus/nodusConfigVersion.cmake" \
    "$lib/cmake/nodus/nodusTargets.cmake" /usr/share/man/man3/nodus.3.gz
lacks libnodus-dev "^[^ ]*/libnodus\.so\.[0-9]" '^/usr/bin' 'man[18]'
[ "$(field libnodus-dev Depends)" = "libnodus1 (= $ver)" ] ||
    fail "libnodus-dev: Depends is '$(field libnodus-dev Depends)'"
pc=$(member libnodus-dev "$lib/pkgconfig/nodus.pc")
grep -qx 'prefix=/usr' <<<"$pc" || fail "nodus.pc in the package: $pc"

# ---- nodus-apps: each application program, with its man page when it has one
if [ -n "$apps" ]; then
    [ "$(field nodus-apps Section)" = science ] ||
        fail "nodus-apps: Section '$(field nodus-apps Section)'"
    for app in $apps; do
        has nodus-apps "/usr/bin/$app"
        [ ! -f "$SRC_DIR/packaging/man/$app.1" ] || has nodus-apps "/usr/share/man/man1/$app.1.gz"
        grep -qF "$app" <<<"$(field nodus-apps Description)" ||
            fail "nodus-apps: the description does not name $app"
    done
    lacks nodus-apps '^/usr/include' '^/usr/lib' '^/etc' 'nodusd|nodusctl'
    depends_on nodus-apps "libnodus1 \(= $ver\)" 'libc6'
    [ "$(field nodus-apps Recommends)" = "nodusd (= $ver)" ] ||
        fail "nodus-apps: Recommends is '$(field nodus-apps Recommends)'"
fi

# ---- no file in two packages
dups=$(for pkg in $packages; do contents $pkg | grep -v '/$'; done |
    sort | uniq -d)
[ -z "$dups" ] || fail "in more than one package: $dups"
echo "PASS: $debs"
