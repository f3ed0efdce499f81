// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-query`: selftest of DRM_IOCTL_VERSION and the common QUERY
//! ioctl, in TAP version 13.
//!
//! Usage: `xaccel-selftest-query [DEVICE]` (default `/dev/accel/accel0`); needs
//! an xaccel device, so run it in the VM. Exits 0 only if every test passed (or
//! was skipped), 1 otherwise, including when the device cannot be opened.
//!
//! To add a test, write a `fn(&Device) -> TestResult` in the module it belongs
//! to and add a row to [`TESTS`].

mod basic;
mod errors;
mod protocol;

use std::process::ExitCode;

use xaccel::Device;
use xaccel_selftests::tap::{self, Test};

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Device>] = &[
    ("VERSION name is the QUERY backend, version the uAPI's", basic::version_matches_query),
    ("QUERY DEVICE reports this uAPI version",                basic::device_uapi_version),
    ("ENGINES: engine_count items, ids 0..n, named",          basic::engines_listed),
    ("REGIONS: region_count items, ids 0..n, SYSTEM, used<=size", basic::regions_listed),
    ("probe returns the count and the item size",             protocol::probe),
    ("item_size + 16: extra bytes come back zeroed",          protocol::larger_item_size),
    ("item_size 4096 (the maximum) works",                    protocol::max_item_size),
    ("count < available: writes count, returns available",   protocol::partial_fetch),
    ("unknown type -> EINVAL",                                errors::unknown_type),
    ("flags bit 0 -> EINVAL",                                 errors::flags_bit0),
    ("flags bit 31 -> EINVAL",                                errors::flags_bit31),
    ("reserved 1 -> EINVAL",                                  errors::reserved_low),
    ("reserved bit 63 -> EINVAL",                             errors::reserved_high),
    ("item_size 8 (below the struct) -> EINVAL",              errors::item_size_short),
    ("item_size 0 -> EINVAL",                                 errors::item_size_zero),
    ("item_size 4097 -> EINVAL",                              errors::item_size_too_big),
    ("items set, count 0 -> EINVAL",                          errors::items_without_count),
    ("count set, items 0 -> EINVAL",                          errors::count_without_items),
    ("items at an unmapped address -> EFAULT",                errors::bad_pointer),
    ("count * item_size overflows -> EOVERFLOW",              errors::size_overflow),
    ("every device in /dev/accel answers QUERY DEVICE",       basic::every_device),
];

fn main() -> ExitCode {
    tap::device_main(|path| Device::open(path), TESTS)
}
