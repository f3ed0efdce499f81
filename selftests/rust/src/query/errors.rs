// SPDX-License-Identifier: GPL-2.0-only
//! Malformed QUERY requests and the errno each must get.
//!
//! Every case starts from a valid fetch of the DEVICE item into a two-page
//! buffer of 0xAA and changes one thing. After the call, the struct the kernel
//! copied back must equal what was sent, the buffer must be untouched, and a
//! valid QUERY DEVICE must return exactly what it returned before.

use xaccel::uapi::{drm_xaccel_device_info, drm_xaccel_query, DRM_XACCEL_QUERY_DEVICE};
use xaccel::{Device, Errno};
use xaccel_selftests::raw::{errno_name, item_size, result_name, ItemBuf, FILL};
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

/// Room for one item of any size the kernel might wrongly accept (up to 4097
/// bytes): QUERY DEVICE has a single item, so even a kernel that skipped its
/// checks would write at most one item.
const BUF_LEN: usize = 2 * 4096 + 64;

/// An address below `mmap_min_addr`, never mapped.
const UNMAPPED: u64 = 8;

/// Sends a valid DEVICE fetch with `edit` applied and expects `want`.
fn expect_error(dev: &Device, edit: fn(&mut drm_xaccel_query), want: Errno) -> TestResult {
    let before = dev.query_items::<drm_xaccel_device_info>()?;
    let mut buf = ItemBuf::new(BUF_LEN);
    let mut q = drm_xaccel_query {
        type_: DRM_XACCEL_QUERY_DEVICE,
        item_size: item_size::<drm_xaccel_device_info>(),
        count: 1,
        items: buf.addr(),
        ..Default::default()
    };
    edit(&mut q);
    let sent = q;
    // SAFETY: `items` is either `buf` (see BUF_LEN), 0, or UNMAPPED.
    let result = unsafe { dev.query_raw(&mut q) };
    ensure!(
        result == Err(want),
        "got {}, expected {}\nsent {sent:?}",
        result_name(&result),
        errno_name(want)
    );
    ensure!(
        q == sent,
        "the kernel changed the struct:\nsent {sent:?}\n got {q:?}"
    );
    if let Some((at, byte)) = buf.find_not(0..BUF_LEN, FILL) {
        fail!("the failed call wrote {byte:#x} at byte {at} of the buffer");
    }
    let after = dev.query_items::<drm_xaccel_device_info>()?;
    ensure!(
        after == before,
        "QUERY DEVICE changed:\nbefore {before:?}\n after {after:?}"
    );
    pass()
}

/// Type 99 does not exist.
pub fn unknown_type(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.type_ = 99, Errno::INVAL)
}

/// Flags bit 0 is not defined.
pub fn flags_bit0(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.flags = 1, Errno::INVAL)
}

/// Flags bit 31 is not defined.
pub fn flags_bit31(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.flags = 1 << 31, Errno::INVAL)
}

/// Reserved must be zero (lowest bit).
pub fn reserved_low(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.reserved = 1, Errno::INVAL)
}

/// Reserved must be zero (highest bit).
pub fn reserved_high(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.reserved = 1 << 63, Errno::INVAL)
}

/// An item size below the first published struct size.
pub fn item_size_short(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.item_size = 8, Errno::INVAL)
}

/// Item size zero.
pub fn item_size_zero(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.item_size = 0, Errno::INVAL)
}

/// An item size above 4096.
pub fn item_size_too_big(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.item_size = 4097, Errno::INVAL)
}

/// A buffer but no count.
pub fn items_without_count(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.count = 0, Errno::INVAL)
}

/// A count but no buffer.
pub fn count_without_items(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.items = 0, Errno::INVAL)
}

/// A buffer at an unmapped address.
pub fn bad_pointer(dev: &Device) -> TestResult {
    expect_error(dev, |q| q.items = UNMAPPED, Errno::FAULT)
}

/// count * item_size does not fit in 32 bits.
pub fn size_overflow(dev: &Device) -> TestResult {
    expect_error(
        dev,
        |q| {
            q.count = u32::MAX;
            q.item_size = 4096;
        },
        Errno::OVERFLOW,
    )
}
