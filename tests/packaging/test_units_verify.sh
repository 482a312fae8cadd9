#!/usr/bin/env bash
# packaging.units_verify: the systemd units as built (ExecStart= names the built nodusd) pass
# `systemd-analyze verify` without a warning, the service's `systemd-analyze security` exposure
# is at most the level docs/install.md records, and the sysusers.d/tmpfiles.d entries create
# the nodus user and /run/nodus in a scratch root.
source "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
systemd-analyze --version >/dev/null 2>&1 || skip "systemd-analyze cannot run here"
service=$UNIT_DIR/nodusd.service
socket=$UNIT_DIR/nodusd.socket
[ -f "$service" ] && [ -f "$socket" ] || fail "units not generated in $UNIT_DIR"
grep -qxF "ExecStart=$NODUSD --foreground" "$service" ||
    fail "build-tree nodusd.service: $(grep ^ExecStart= "$service")"

# ---- verify: exit status 0 and not one line about our units (unknown keys only warn)
rc=0
SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$socket" "$service" >"$WORK/verify.log" 2>&1 ||
    rc=$?
cat "$WORK/verify.log"
[ $rc -eq 0 ] || fail "systemd-analyze verify exited $rc"
if grep -q 'nodusd' "$WORK/verify.log"; then
    fail "systemd-analyze verify complained about the units"
fi

# ---- security: the measured exposure must not exceed the documented one
doc=$SRC_DIR/docs/install.md
limit=$(sed -n 's/.*overall exposure level of \*\*\([0-9]*\.[0-9]\)\*\*.*/\1/p' "$doc")
limit=${limit%%$'\n'*}
[ -n "$limit" ] ||
    fail "docs/install.md does not record an exposure ('overall exposure level of **N.N**')"
systemd-analyze security --offline=yes --no-pager "$service" >"$WORK/security.log" 2>&1 ||
    fail "systemd-analyze security failed"
level=$(sed -n 's/.*Overall exposure level for nodusd.service: \([0-9]*\.[0-9]\).*/\1/p' \
    "$WORK/security.log")
[ -n "$level" ] || fail "no 'Overall exposure level' line: $(tail -n 3 "$WORK/security.log")"
awk -v a="$level" -v b="$limit" 'BEGIN { exit !(a <= b) }' ||
    fail "exposure $level is above the documented $limit: $(grep '✗' "$WORK/security.log")"
echo "security: exposure $level (documented: $limit)"

# ---- sysusers.d and tmpfiles.d in a scratch root
root=$WORK/root
mkdir -p "$root/etc"
systemd-sysusers --root="$root" - <"$SRC_DIR/packaging/sysusers.d/nodus.conf" \
    >"$WORK/sysusers.log" 2>&1 ||
    fail "systemd-sysusers refused sysusers.d/nodus.conf"
grep -q '^nodus:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$root/etc/passwd" || fail "no nodus user"
grep -q '^nodus:x:' "$root/etc/group" || fail "no nodus group"
grep -q '^render:x:' "$root/etc/group" || fail "no render group"
systemd-tmpfiles --root="$root" --create - <"$SRC_DIR/packaging/tmpfiles.d/nodus.conf" \
    >"$WORK/tmpfiles.log" 2>&1 || fail "systemd-tmpfiles refused tmpfiles.d/nodus.conf"
nodus_uid=$(awk -F: '$1 == "nodus" {print $3}' "$root/etc/passwd")
[ "$(stat -c '%a %u' "$root/run/nodus")" = "755 $nodus_uid" ] ||
    fail "/run/nodus is $(stat -c '%a %u' "$root/run/nodus"), want 755 $nodus_uid"
echo "PASS: units verified, exposure $level <= $limit, nodus user and /run/nodus created"
