#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#! Installs the host tools xaccel needs, idempotently: Debian packages, the
#! rust-src component, bindgen-cli and virtme-ng (private virtualenv). linux-perf is for
#! `make profile`, which runs the host's perf inside the VM. clang and lld build the `check`
#! kernel (KASAN with Rust needs LLVM) and the modules against it.
set -euo pipefail
. "$(dirname "$0")/env.sh"

packages=(qemu-system-x86 qemu-utils "libclang-$XACCEL_LLVM-dev" "llvm-$XACCEL_LLVM"
	"clang-$XACCEL_LLVM" "lld-$XACCEL_LLVM"
	flex bison bc libelf-dev libssl-dev cpio kmod python3-venv xz-utils
	libdrm-dev rsync dwarves gcc make linux-perf)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	xaccel_log "installing Debian packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || xaccel_die "need root to install ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	xaccel_log "adding the rust-src component"
	rustup component add rust-src
fi

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $XACCEL_BINDGEN_PIN" ]; then
	xaccel_log "installing bindgen-cli $XACCEL_BINDGEN_PIN"
	cargo install --locked --quiet "bindgen-cli@$XACCEL_BINDGEN_PIN"
fi

venv=$XACCEL_CACHE/venv
if [ "$("$venv/bin/vng" --version 2>/dev/null | awk '{print $2}')" != "$XACCEL_VIRTME_NG_PIN" ]; then
	xaccel_log "installing virtme-ng $XACCEL_VIRTME_NG_PIN into $venv"
	mkdir -p "$XACCEL_CACHE"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet "virtme-ng==$XACCEL_VIRTME_NG_PIN"
fi
