#!/bin/sh
# Installs the kiosk on a Pi without its .deb: the same files, user, groups and service as
# the package. Safe to run again (an upgrade): the config in /etc/marketday is never
# overwritten, the data in /var/lib/marketday never touched.
#
#   sudo ./install.sh [BINARY]      BINARY: the kiosk built for this machine
#                                   (default: ./marketday, then the repository's release build)
#
# ROOT=/some/dir installs into that directory instead of / (for tests: no user, no service).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-}
binary=${1:-}
if [ -z "$binary" ]; then
    for candidate in "$here/marketday" "$here/../target/aarch64-unknown-linux-gnu/release/marketday" \
        "$here/../target/release/marketday"; do
        if [ -x "$candidate" ]; then binary=$candidate; break; fi
    done
fi
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
    echo "install.sh: no kiosk binary found; pass its path (see deploy-pi/README.md)" >&2
    exit 1
fi
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run it as root (sudo)" >&2
    exit 1
fi

install -D -m 0755 "$binary" "$root/usr/bin/marketday"
install -D -m 0755 "$here/marketday-rotate" "$root/usr/bin/marketday-rotate"
install -D -m 0644 "$here/systemd/marketday.service" "$root/etc/systemd/system/marketday.service"
install -D -m 0644 "$here/udev/60-marketday.rules" "$root/etc/udev/rules.d/60-marketday.rules"
install -D -m 0644 "$here/systemd/journald-marketday.conf" "$root/etc/systemd/journald.conf.d/marketday.conf"
install -D -m 0644 "$here/config.example.toml" "$root/usr/share/doc/marketday/config.example.toml"
install -D -m 0644 "$here/README.md" "$root/usr/share/doc/marketday/README.md"
# Kept once written: the site's own settings.
[ -e "$root/etc/default/marketday" ] || install -D -m 0644 "$here/default.env" "$root/etc/default/marketday"
[ -e "$root/etc/marketday/config.toml" ] || install -D -m 0640 "$here/config.pi.toml" "$root/etc/marketday/config.toml"

if [ -n "$root" ]; then
    echo "Installed into $root (no user, no service)."
    exit 0
fi

if ! getent passwd marketday >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/marketday --no-create-home \
        --shell /usr/sbin/nologin --comment "Marketday kiosk" marketday
fi
# udev makes input and render on a full system; a minimal one may lack them yet.
for group in input render; do
    getent group "$group" >/dev/null || groupadd --system "$group"
done
usermod -a -G video,render,input,dialout marketday
install -d -o marketday -g marketday -m 0750 /var/lib/marketday
chown root:marketday /etc/marketday /etc/marketday/config.toml
chmod 0750 /etc/marketday
chmod 0640 /etc/marketday/config.toml

if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
    udevadm control --reload
    udevadm trigger --subsystem-match=tty --subsystem-match=usbmisc --subsystem-match=video4linux
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl restart systemd-journald
    systemctl enable marketday.service
    systemctl restart marketday.service
    echo "Marketday is running; it starts at every boot."
else
    echo "Installed; systemd is not running here, so start marketday.service once it is."
fi
