// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exports the Rust symbols of the `xaccel` crate: every global one the core
 * defines (its whole public backend API, generic code included) and its build-id
 * symbol, xaccel_core_build_<id>, so that backends built in this tree or outside
 * it against the SDK link against the core.
 *
 * The list is generated at build time from the core's object (see the top-level
 * Makefile), following drivers/gpu/Makefile's nova-core workaround until Kbuild
 * supports Rust crates across modules.
 */

#include <linux/export.h>

#define EXPORT_SYMBOL_RUST_GPL(sym) extern int sym; EXPORT_SYMBOL_GPL(sym)

#include "exports_xaccel_generated.h"
