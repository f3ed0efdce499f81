// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-vm`: selftest of device VMs (VM_CREATE, VM_DESTROY,
//! VM_BIND, VM_UNBIND) and of the buffer object lifetimes they hold, in TAP
//! version 13.
//!
//! Usage: `xaccel-selftest-vm [DEVICE]` (default `/dev/accel/accel0`); needs
//! an xaccel device with a VA window and a system-memory region, so run it in
//! the VM. Exits 0 only if every test passed (or was skipped), 1 otherwise.
//! Nothing else may allocate on the device while it runs: the lifetime tests
//! expect exact QUERY `used` numbers.
//!
//! Every error case starts from a VM with one mapping, makes one bad call,
//! expects its errno and the struct back unchanged, then proves the VM is
//! unchanged (the mapping is whole, the target range is free) and the device
//! usable.

mod basic;
mod ctx;
mod errors;
mod lifetime;

use std::process::ExitCode;

use xaccel_selftests::tap::{self, Test};

use crate::ctx::Ctx;

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("QUERY DEVICE reports a VA window",                          basic::va_window),
    ("several VMs per file, distinct nonzero ids, destroyed",     basic::several_vms),
    ("1024 VMs per file, then ENOSPC; room again after a destroy", basic::vm_limit),
    ("bind and unbind a BO range, read-only and read-write",      basic::bind_unbind),
    ("the same VA in two VMs is independent",                     basic::vms_independent),
    ("overlapping binds -> EEXIST, adjacent binds work",          basic::overlap),
    ("unbind of an unmapped range -> ENOENT",                     basic::unbind_unmapped),
    ("unbinding the middle splits a mapping; the hole rebinds",   basic::split_middle),
    ("unbinding either end trims a mapping",                      basic::split_ends),
    ("one unbind spans adjacent mappings",                        basic::unbind_across),
    ("a bind ending at the top of the VA window works",           basic::window_top),
    ("misaligned VA -> EINVAL",                                   errors::misaligned_va),
    ("misaligned size -> EINVAL",                                 errors::misaligned_size),
    ("misaligned BO offset -> EINVAL",                            errors::misaligned_offset),
    ("zero size -> EINVAL",                                       errors::zero_size),
    ("VA below the window -> EINVAL",                             errors::below_window),
    ("VA range past the window's end -> EINVAL",                  errors::past_window),
    ("VA range overflowing 64 bits -> EINVAL",                    errors::va_overflow),
    ("BO offset + size beyond the BO -> EINVAL",                  errors::beyond_bo),
    ("BO offset + size overflowing -> EINVAL",                    errors::bo_overflow),
    ("unknown, missing and conflicting flags -> EINVAL",          errors::bind_flags),
    ("nonzero pad or reserved in VM_BIND -> EINVAL",              errors::bind_reserved),
    ("VM_UNBIND flags, reserved, misaligned, zero -> EINVAL",     errors::unbind_bad),
    ("misaligned unbind inside a mapping -> EINVAL, no split",    errors::unbind_misaligned_inside),
    ("VM_CREATE flags or reserved -> EINVAL",                     errors::create_bad),
    ("VM_DESTROY pad or reserved -> EINVAL",                      errors::destroy_bad),
    ("VM ids 0, u32::MAX, destroyed, another file's -> ENOENT",   errors::bad_vm_ids),
    ("BO handles 0, closed, another file's -> ENOENT",            errors::bad_handles),
    ("a bound BO outlives GEM_CLOSE until unbound",               lifetime::outlives_handle),
    ("a split BO is released with its last piece",                lifetime::split_release),
    ("VM_DESTROY releases the bound BOs",                         lifetime::destroy_releases),
    ("closing a file with live mappings releases the BOs",        lifetime::close_releases),
];

fn main() -> ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
