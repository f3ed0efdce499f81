// SPDX-License-Identifier: GPL-2.0-only
//! The QUERY buffer protocol: probing, item sizes larger than the struct
//! (forward compatibility), and fetching fewer items than there are.
//!
//! Buffers start as all 0xAA so that bytes the kernel wrote, zeroed or left
//! alone can be told apart.

use xaccel::uapi::{
    drm_xaccel_device_info, drm_xaccel_engine_info, drm_xaccel_region_info,
    DRM_XACCEL_QUERY_MAX_ITEM_SIZE,
};
use xaccel::{Device, QueryItem};
use xaccel_selftests::raw::{item_size, result_name, ItemBuf, FILL};
use xaccel_selftests::tap::{pass, skip, Failure, TestResult};
use xaccel_selftests::{ensure, fail};

/// How many items each query type should have, from QUERY DEVICE.
struct Counts {
    engines: u32,
    regions: u32,
}

fn counts(dev: &Device) -> Result<Counts, Failure> {
    let info = dev.device_info()?;
    Ok(Counts {
        engines: info.engine_count,
        regions: info.region_count,
    })
}

/// Probes `T`: items = 0, count = 0 must return `expected` and our item size.
fn probe_one<T: QueryItem>(dev: &Device, expected: u32) -> Result<(), Failure> {
    let mut buf = ItemBuf::new(0);
    let (result, q) = buf.query::<T>(dev, item_size::<T>(), 0);
    ensure!(
        result.is_ok(),
        "{}: probe failed: {}",
        T::NAME,
        result_name(&result)
    );
    ensure!(
        q.count == expected,
        "{}: probe count {}, expected {expected}",
        T::NAME,
        q.count
    );
    ensure!(
        q.item_size == item_size::<T>(),
        "{}: kernel item_size {}, struct size {}",
        T::NAME,
        q.item_size,
        item_size::<T>()
    );
    ensure!(
        q.type_ == T::TYPE && q.flags == 0 && q.reserved == 0,
        "{}: probe changed {q:?}",
        T::NAME
    );
    ensure!(
        q.items == 0,
        "{}: probe set items to {:#x}",
        T::NAME,
        q.items
    );
    Ok(())
}

/// Probing each type returns its count and the struct size.
pub fn probe(dev: &Device) -> TestResult {
    let c = counts(dev)?;
    probe_one::<drm_xaccel_device_info>(dev, 1)?;
    probe_one::<drm_xaccel_engine_info>(dev, c.engines)?;
    probe_one::<drm_xaccel_region_info>(dev, c.regions)?;
    pass()
}

/// Fetches all items of `T` with a stride of `stride` bytes and checks that
/// each item matches a normal fetch, the rest of each slot is zero and the slot
/// after the last item is untouched.
fn fetch_with_stride<T: QueryItem + PartialEq + std::fmt::Debug>(
    dev: &Device,
    stride: u32,
) -> Result<(), Failure> {
    let expected = dev.query_items::<T>()?;
    if expected.is_empty() {
        return Ok(());
    }
    let n = u32::try_from(expected.len())?;
    let (size, step) = (item_size::<T>() as usize, stride as usize);
    let mut buf = ItemBuf::new(step * (expected.len() + 1));
    let (result, q) = buf.query::<T>(dev, stride, n);
    ensure!(
        result.is_ok(),
        "{}: item_size {stride}: {}",
        T::NAME,
        result_name(&result)
    );
    ensure!(
        q.count == n,
        "{}: count {} after fetching {n}",
        T::NAME,
        q.count
    );
    ensure!(
        q.item_size == item_size::<T>(),
        "{}: item_size came back {}",
        T::NAME,
        q.item_size
    );
    for (i, want) in expected.iter().enumerate() {
        let got: T = buf.item(i * step);
        ensure!(
            &got == want,
            "{}: item {i} is {got:?}, expected {want:?}",
            T::NAME
        );
        let tail = i * step + size..(i + 1) * step;
        if let Some((at, byte)) = buf.find_not(tail, 0) {
            fail!("{}: item {i}: byte {at} is {byte:#x}, not zeroed", T::NAME);
        }
    }
    let after = expected.len() * step..buf.len();
    if let Some((at, byte)) = buf.find_not(after, FILL) {
        fail!("{}: wrote byte {at} ({byte:#x}) past {n} items", T::NAME);
    }
    Ok(())
}

/// All query types with a stride of `size + extra`.
fn all_with_extra(dev: &Device, extra: impl Fn(u32) -> u32) -> TestResult {
    let stride = |size| size + extra(size);
    fetch_with_stride::<drm_xaccel_device_info>(
        dev,
        stride(item_size::<drm_xaccel_device_info>()),
    )?;
    fetch_with_stride::<drm_xaccel_engine_info>(
        dev,
        stride(item_size::<drm_xaccel_engine_info>()),
    )?;
    fetch_with_stride::<drm_xaccel_region_info>(
        dev,
        stride(item_size::<drm_xaccel_region_info>()),
    )?;
    pass()
}

/// item_size = struct size + 16 works; the 16 extra bytes come back zeroed.
pub fn larger_item_size(dev: &Device) -> TestResult {
    all_with_extra(dev, |_| 16)
}

/// item_size = 4096, the largest allowed, works the same way.
pub fn max_item_size(dev: &Device) -> TestResult {
    all_with_extra(dev, |size| DRM_XACCEL_QUERY_MAX_ITEM_SIZE - size)
}

/// Fetches one item fewer than `T` has; checks only that many are written and
/// the full count comes back.
fn partial_fetch_of<T: QueryItem + PartialEq + std::fmt::Debug>(
    dev: &Device,
) -> Result<(), Failure> {
    let expected = dev.query_items::<T>()?;
    let n = u32::try_from(expected.len())?;
    let size = item_size::<T>() as usize;
    let mut buf = ItemBuf::new(size * (expected.len() + 1));
    let (result, q) = buf.query::<T>(dev, item_size::<T>(), n - 1);
    ensure!(
        result.is_ok(),
        "{}: fetching {} of {n}: {}",
        T::NAME,
        n - 1,
        result_name(&result)
    );
    ensure!(
        q.count == n,
        "{}: count {} after fetching {} of {n}",
        T::NAME,
        q.count,
        n - 1
    );
    for (i, want) in expected.iter().take(expected.len() - 1).enumerate() {
        let got: T = buf.item(i * size);
        ensure!(
            &got == want,
            "{}: item {i} is {got:?}, expected {want:?}",
            T::NAME
        );
    }
    let after = (expected.len() - 1) * size..buf.len();
    if let Some((at, byte)) = buf.find_not(after, FILL) {
        fail!(
            "{}: wrote byte {at} ({byte:#x}) past {} items",
            T::NAME,
            n - 1
        );
    }
    Ok(())
}

/// A fetch with room for fewer items than available writes only those.
pub fn partial_fetch(dev: &Device) -> TestResult {
    let c = counts(dev)?;
    let mut tested = false;
    if c.engines >= 2 {
        partial_fetch_of::<drm_xaccel_engine_info>(dev)?;
        tested = true;
    }
    if c.regions >= 2 {
        partial_fetch_of::<drm_xaccel_region_info>(dev)?;
        tested = true;
    }
    if !tested {
        return skip("needs a device with 2 or more engines or regions");
    }
    pass()
}
