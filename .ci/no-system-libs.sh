#!/usr/bin/env bash
# The README's promise, checked where a development machine cannot hide a broken one: the
# default build (`cargo run`, `cargo test`) needs nothing but Rust. Run before .ci/run
# installs anything; pkg-config and -dev packages left on this machine by an earlier run are
# made invisible instead of trusted.
#
# 1. Every `-sys` crate in the default features' normal dependency tree is one we know needs
#    no system library, and with the feature that makes it so. A new one fails here until
#    someone has looked at what it links.
# 2. The workspace builds with a pkg-config that fails loudly, so a build script that asks
#    for a system library cannot be satisfied by one this machine happens to have.
# 3. The binaries need nothing beyond the C runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0

# crate name → the feature it must have ("-" for none needed), and why it is harmless.
declare -A needs=(
    [dirs-sys]="-"                       # Rust; asks libc for the home directory
    [linux-raw-sys]="-"                  # Rust declarations of Linux's syscall ABI
    [libsqlite3-sys]="bundled"           # SQLite compiled from its bundled source by cc
    [wayland-sys]="dlopen"               # libwayland-client loaded at run time by winit
    [yeslogic-fontconfig-sys]="dlopen"   # libfontconfig loaded at run time by fontique
)
while read -r name version features; do
    [[ "$name" == *-sys ]] || continue
    features=${features% (\*)}
    want=${needs[$name]:-}
    if [ -z "$want" ]; then
        echo "no-system-libs: $name $version is new in the default build; check what it links, then list it in $0" >&2
        fail=1
    elif [ "$want" != "-" ] && [[ ",$features," != *",$want,"* ]]; then
        echo "no-system-libs: $name $version is built without its '$want' feature (has: ${features:-none}): it would link a system library" >&2
        fail=1
    fi
done < <(cargo tree --workspace -e normal --prefix none -f '{p} {f}' | sort -u)

shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
cat >"$shim/pkg-config" <<'SH'
#!/bin/sh
echo "no-system-libs: a build script asked pkg-config for: $*" >&2
exit 1
SH
chmod +x "$shim/pkg-config"
if ! PKG_CONFIG="$shim/pkg-config" PATH="$shim:$PATH" cargo build --workspace --bins; then
    echo "no-system-libs: the default build needs a system library (see above)" >&2
    exit 1
fi

for bin in target/debug/marketday target/debug/marketday-cloud; do
    while read -r lib; do
        case "$lib" in
            libc.so.*|libm.so.*|libgcc_s.so.*|ld-linux*.so.*|libpthread.so.*|libdl.so.*|librt.so.*) ;;
            *) echo "no-system-libs: $bin links $lib" >&2; fail=1 ;;
        esac
    done < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done

if [ "$fail" -ne 0 ]; then
    echo "no-system-libs: the default build must work on a machine with only Rust (README, first paragraph)" >&2
    exit 1
fi
echo "no-system-libs: the default build needs only Rust and the C runtime"
