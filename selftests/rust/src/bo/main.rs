// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-bo`: selftest of buffer objects (BO_CREATE, BO_INFO,
//! mmap, GEM_CLOSE) and of memory accounting (QUERY REGIONS `used`, fdinfo),
//! in TAP version 13.
//!
//! Usage: `xaccel-selftest-bo [DEVICE]` (default `/dev/accel/accel0`); needs
//! an xaccel device with a system-memory region, so run it in the VM. Exits 0
//! only if every test passed (or was skipped), 1 otherwise. Nothing else may
//! allocate on the device while it runs: the accounting tests expect exact
//! numbers.
//!
//! To add a test, write a `fn(&Ctx) -> TestResult` in the module it belongs
//! to and add a row to [`TESTS`].

mod accounting;
mod basic;
mod ctx;
mod errors;
mod handles;
mod mapping;

use std::process::ExitCode;

use xaccel_selftests::tap::{self, Test};

use crate::ctx::Ctx;

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("BO_CREATE 1 byte: one page in the region, an mmap offset", basic::create_and_info),
    ("sizes are rounded up to whole pages",                     basic::rounded_size),
    ("an alignment equal to the size is accepted",              basic::aligned),
    ("write through one mapping, read through another",         basic::write_read),
    ("contents survive unmapping and mapping again",            basic::contents_persist),
    ("fresh BOs read as zero in every page after a freed one",  basic::fresh_is_zero),
    ("a mapping may be shorter than the BO",                    mapping::short_mapping),
    ("mapping beyond the BO's size -> EINVAL",                  mapping::beyond_size),
    ("mapping from inside the BO -> EINVAL",                    mapping::inside_offset),
    ("MAP_PRIVATE -> EINVAL",                                   mapping::private_mapping),
    ("a mapping keeps the BO alive after GEM_CLOSE",            mapping::outlives_handle),
    ("mapping through another open file -> EACCES",             mapping::other_file),
    ("a write fault maps 16 pages writable, in the right places", mapping::write_fault_maps_around),
    ("a read fault maps 16 pages read-only; writes still fault", mapping::read_fault_maps_around_read_only),
    ("fault-around stops at the end of a short mapping",         mapping::fault_around_stops_at_mapping_end),
    ("closed handles: GEM_CLOSE -> EINVAL, BO_INFO -> ENOENT",  handles::closed_handle),
    ("another file's handle: ENOENT, EINVAL, BO untouched",     handles::other_files_handle),
    ("closing the file frees its BOs",                          handles::file_close_frees),
    ("size 0 -> EINVAL",                                        errors::size_zero),
    ("size u64::MAX -> E2BIG",                                  errors::size_max),
    ("size u64::MAX - 4095 -> E2BIG",                           errors::size_max_page),
    ("size beyond the region -> E2BIG",                         errors::size_beyond_region),
    ("region budget exhausted -> ENOSPC, room again after close", errors::budget),
    ("alignment of 3 pages -> EINVAL",                          errors::align_not_power),
    ("alignment below a page -> EINVAL",                        errors::align_small),
    ("alignment above the size -> EINVAL",                      errors::align_big),
    ("flags bit 0 -> EINVAL",                                   errors::flags_bit0),
    ("flags bit 31 -> EINVAL",                                  errors::flags_bit31),
    ("pad -> EINVAL",                                           errors::pad),
    ("reserved[0] -> EINVAL",                                   errors::reserved0),
    ("reserved[1] -> EINVAL",                                   errors::reserved1),
    ("region id = region count -> EINVAL",                      errors::region_count),
    ("region id u32::MAX -> EINVAL",                            errors::region_max),
    ("BO_INFO pad or reserved -> EINVAL",                       errors::info_reserved),
    ("BO_INFO handles 0 and u32::MAX -> ENOENT",                errors::info_bad_handle),
    ("QUERY used grows by the rounded size and shrinks",        accounting::query_used),
    ("QUERY used counts every file's BOs",                      accounting::used_all_files),
    ("fdinfo lists every region, in QUERY order",               accounting::fdinfo_regions),
    ("fdinfo drm-total grows and shrinks, resident on touch",   accounting::fdinfo_total),
    ("fdinfo of another file does not count these BOs",         accounting::fdinfo_per_file),
    ("a flink-opened BO: shared in both fdinfos, used once",    accounting::fdinfo_shared),
];

fn main() -> ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
