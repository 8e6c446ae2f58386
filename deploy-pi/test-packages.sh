#!/bin/sh
# Checks the built packages without a Pi (run deploy-pi/build-debs.sh first):
#  - shellcheck on every script;
#  - the arm64 kiosk under qemu-user: --version, verify, and the headless self-test;
#  - the amd64 .deb installed into a fresh Debian (debootstrap) chroot: systemd-analyze verify
#    on the unit as installed, files, user, groups, permissions, the kiosk's self-test there,
#    and an upgrade that keeps a changed config.
# Needs root (debootstrap, chroot) and Debian's mirror; installs shellcheck, qemu-user and
# debootstrap if missing.
set -eu
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test-packages.sh: run as root" >&2; exit 1; }
need() {
    missing=""
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        apt-get update -qq
        # shellcheck disable=SC2086 # a list of package names
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
}
need shellcheck qemu-user debootstrap file
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

newest() { find "$1" -maxdepth 1 -name "$2" 2>/dev/null | sort | tail -n 1; }
arm_deb=$(newest target/aarch64-unknown-linux-gnu/debian 'marketday_*_arm64.deb')
amd_deb=$(newest target/debian 'marketday_*_amd64.deb')
if [ -z "$arm_deb" ] || [ -z "$amd_deb" ]; then
    fail "build both packages first: deploy-pi/build-debs.sh"
fi
work=$(mktemp -d)
trap 'umount "$work/chroot/proc" 2>/dev/null || true; rm -rf "$work"' EXIT

shellcheck deploy-pi/*.sh deploy-pi/marketday-rotate deploy-pi/debian/postinst deploy-pi/debian/postrm .ci/run
ok "shellcheck: every script"

for deb in "$arm_deb" "$amd_deb"; do
    echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"
done

# The Pi's binary, run here by qemu-user.
dpkg-deb -x "$arm_deb" "$work/arm64"
pi() { RUST_LOG=warn qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/arm64/usr/bin/marketday" "$@"; }
file -b "$work/arm64/usr/bin/marketday" | grep -q "ARM aarch64" || fail "the arm64 package holds another architecture"
echo "arm64 binary: $(stat -c %s "$work/arm64/usr/bin/marketday") bytes"
pi --version | grep -q "^marketday " || fail "arm64 --version"
ok "arm64 under qemu: $(pi --version)"
if pi --data-dir "$work/pi-data" verify "HTTPS://VERIFY.EXAMPLE/P/NOTACERTIFICATE" >"$work/verify.out" 2>&1; then
    fail "arm64 verify accepted a forged tag"
fi
grep -qi "not\|forged\|invalid" "$work/verify.out" || fail "arm64 verify said: $(cat "$work/verify.out")"
ok "arm64 verify refuses a forged tag: $(head -n 1 "$work/verify.out")"
pi --data-dir "$work/pi-data" self-test | tee "$work/self-test.out"
grep -q "self-test passed" "$work/self-test.out" || fail "arm64 self-test"
ok "arm64 self-test under qemu"

# A fresh Debian with the amd64 package installed, then upgraded.
debootstrap --variant=minbase bookworm "$work/chroot" http://deb.debian.org/debian >/dev/null
mount -t proc proc "$work/chroot/proc"
# Names of users and groups as the chroot knows them.
in_chroot() { chroot "$work/chroot" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
# systemd first, as on Raspberry Pi OS: the package enables its unit, and the unit is
# verified against the system's own.
in_chroot apt-get install -y -qq --no-install-recommends systemd >/dev/null || fail "systemd in the chroot"
cp "$amd_deb" "$work/chroot/tmp/marketday.deb"
in_chroot apt-get install -y -qq /tmp/marketday.deb >/dev/null || fail "apt install of the package"
in_chroot systemd-analyze verify /lib/systemd/system/marketday.service || fail "systemd-analyze verify"
ok "systemd-analyze verify marketday.service, as installed"
for f in /usr/bin/marketday /usr/bin/marketday-rotate /etc/marketday/config.toml /etc/default/marketday \
    /usr/lib/udev/rules.d/60-marketday.rules /lib/systemd/system/marketday.service \
    /usr/lib/systemd/journald.conf.d/marketday.conf; do
    [ -e "$work/chroot$f" ] || fail "missing $f"
done
ok "files in place"
groups=$(in_chroot id -nG marketday)
for g in video render input dialout; do
    echo " $groups " | grep -q " $g " || fail "marketday is not in $g ($groups)"
done
ok "user marketday in: $groups"
[ "$(in_chroot stat -c '%U:%G %a' /etc/marketday/config.toml)" = "root:marketday 640" ] \
    || fail "config.toml is $(in_chroot stat -c '%U:%G %a' /etc/marketday/config.toml)"
[ "$(in_chroot stat -c '%U:%G %a' /var/lib/marketday)" = "marketday:marketday 750" ] \
    || fail "/var/lib/marketday is $(in_chroot stat -c '%U:%G %a' /var/lib/marketday)"
ok "permissions: config root:marketday 640, data marketday:marketday 750"
[ -L "$work/chroot/etc/systemd/system/multi-user.target.wants/marketday.service" ] || fail "service not enabled"
ok "service enabled at boot"
# The package's kiosk, in a plain Debian: its libraries resolve, it runs headless.
in_chroot su -s /bin/sh marketday -c "marketday --config /etc/marketday/config.toml self-test" \
    | tail -n 2 | grep -q "self-test passed" || fail "self-test in the chroot"
ok "self-test as marketday with the packaged config"

# Upgrade to the same package under a newer version: a changed config survives.
sed -i 's/^name = .*/name = "Spitalfields stall"/' "$work/chroot/etc/marketday/config.toml"
dpkg-deb -R "$amd_deb" "$work/next"
sed -i 's/^Version: .*/&+next/' "$work/next/DEBIAN/control"
dpkg-deb -b "$work/next" "$work/chroot/tmp/marketday-next.deb" >/dev/null
in_chroot apt-get install -y -qq /tmp/marketday-next.deb >/dev/null || fail "upgrade"
grep -q '^name = "Spitalfields stall"' "$work/chroot/etc/marketday/config.toml" || fail "the upgrade replaced the config"
[ "$(in_chroot stat -c '%U:%G %a' /etc/marketday/config.toml)" = "root:marketday 640" ] || fail "upgrade changed config permissions"
# shellcheck disable=SC2016 # dpkg-query's own field syntax
version=$(in_chroot dpkg-query -W -f '${Version}' marketday)
case "$version" in *+next) ;; *) fail "the upgrade did not install ($version)" ;; esac
ok "upgrade to $version kept the changed config"
echo "all package checks passed"
