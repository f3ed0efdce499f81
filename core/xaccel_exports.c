// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exports the Rust symbols of the `xaccel` crate that backend modules use.
 *
 * The list is generated at build time from the symbols the backends' objects
 * leave undefined (see the top-level Makefile), following drivers/gpu/Makefile's
 * nova-core workaround until Kbuild supports Rust crates across modules.
 */

#include <linux/export.h>

#define EXPORT_SYMBOL_RUST_GPL(sym) extern int sym; EXPORT_SYMBOL_GPL(sym)

#include "exports_xaccel_generated.h"
