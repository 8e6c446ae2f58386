#!/bin/sh
# Builds the kiosk's .deb for the Pi (arm64, cross-compiled from x86_64) and for amd64 kiosks,
# into target/debian/. The first run installs what it needs: Debian's cross compiler and the
# arm64 libraries the KMS backend links (libinput, libudev, libxkbcommon), libclang for the
# camera's V4L2 bindings, fontconfig (Slint's text stack links it), and cargo-deb.
#
#   deploy-pi/build-debs.sh [arm64] [amd64]      (both when none is named)
set -eu
cd "$(dirname "$0")/.."

arches=${*:-arm64 amd64}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

need() {
    missing=""
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        $sudo apt-get update -qq
        # shellcheck disable=SC2086 # a list of package names
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
}

need pkg-config libclang-dev
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb

for arch in $arches; do
    case "$arch" in
        amd64)
            need libinput-dev libudev-dev libxkbcommon-dev libfontconfig-dev
            cargo deb --locked
            ;;
        arm64)
            if ! dpkg --print-foreign-architectures | grep -qx arm64; then
                $sudo dpkg --add-architecture arm64
            fi
            need gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
                libinput-dev:arm64 libudev-dev:arm64 libxkbcommon-dev:arm64 libfontconfig-dev:arm64
            rustup target add aarch64-unknown-linux-gnu >/dev/null
            CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
            CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
            AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
            PKG_CONFIG_ALLOW_CROSS=1 \
            PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
            BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--target=aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include" \
                cargo deb --locked --target aarch64-unknown-linux-gnu
            ;;
        *)
            echo "build-debs.sh: unknown architecture $arch (arm64 or amd64)" >&2
            exit 2
            ;;
    esac
done
ls -l target/debian/*.deb target/aarch64-unknown-linux-gnu/debian/*.deb 2>/dev/null || true
