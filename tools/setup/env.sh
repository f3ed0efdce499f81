# SPDX-License-Identifier: GPL-2.0-only
#! Shared paths and pins for xaccel's host tooling. Sourced, never executed.
#
# Everything downloaded or built lives in the cache below, never in the repo:
#   $XACCEL_CACHE/src/linux-<debian version>/   extracted kernel source
#   $XACCEL_CACHE/build/<version>-<config hash>/ kernel build (incremental)
#   $XACCEL_CACHE/venv/                          virtme-ng, pinned
#   $XACCEL_CACHE/apt/                           private apt state for the source .deb

XACCEL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XACCEL_CACHE=${XACCEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xaccel}

# Pins. The kernel source falls back to another 7.3.x when this one has gone.
XACCEL_KERNEL_PKG=linux-source-7.3
XACCEL_KERNEL_PIN=7.3.4-1~bpo13+1
XACCEL_KERNEL_SUITE=trixie-backports
XACCEL_BINDGEN_PIN=0.73.0
XACCEL_VIRTME_NG_PIN=1.42
XACCEL_LLVM=19

export LIBCLANG_PATH=/usr/lib/llvm-$XACCEL_LLVM/lib
export PATH="$HOME/.cargo/bin:$PATH"

xaccel_log() { printf 'xaccel: %s\n' "$*" >&2; }
xaccel_die() { printf 'xaccel: error: %s\n' "$*" >&2; exit 1; }
