// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_QUERY`: device, engine, engine-NOP and memory-region information.
//!
//! The protocol (see `struct drm_xaccel_query` in the uAPI header) returns an array of items
//! whose size userspace states, so items can grow without breaking either side. [`Plan::new`]
//! holds all of the validation and is a pure function, tested by KUnit below; [`query`] only
//! gathers the items and copies them out.

use crate::{
    backend::DeviceLayout,
    device::Plugged,
    file::DrmFile,
    uapi::{self, drm_xaccel_query},
};
use core::mem::size_of;
use kernel::{
    prelude::*,
    transmute::AsBytes,
    uaccess::{UserPtr, UserSlice},
};

/// What a valid QUERY asks the kernel to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Report the number of items and the kernel's item size only.
    Probe,
    /// Write `count` items, `item_size` bytes apart, at user address `items`.
    Fetch {
        items: usize,
        item_size: usize,
        count: usize,
    },
}

impl Plan {
    /// Validates `q` for a query type with `available` items of `kernel_size` bytes each.
    ///
    /// `kernel_size` is also the smallest item size accepted: the current structs are the first
    /// published ones. Errors: `EINVAL` for flags, reserved, item size and pointer/count
    /// mismatches, `EOVERFLOW` when `count * item_size` does not fit in 32 bits.
    pub(crate) fn new(q: &drm_xaccel_query, available: usize, kernel_size: usize) -> Result<Self> {
        if q.flags != 0 || q.reserved != 0 {
            return Err(EINVAL);
        }
        match (q.items, q.count) {
            (0, 0) => return Ok(Self::Probe),
            (0, _) | (_, 0) => return Err(EINVAL),
            _ => {}
        }
        if (q.item_size as usize) < kernel_size
            || q.item_size > uapi::DRM_XACCEL_QUERY_MAX_ITEM_SIZE
        {
            return Err(EINVAL);
        }
        q.count.checked_mul(q.item_size).ok_or(EOVERFLOW)?;
        Ok(Self::Fetch {
            items: usize::try_from(q.items).map_err(|_| EFAULT)?,
            item_size: q.item_size as usize,
            count: available.min(q.count as usize),
        })
    }
}

/// Answers `q` with `items`, then updates its out fields.
///
/// `q` is left untouched on error, because `drm_ioctl()` copies it back to userspace either way.
fn respond<T: AsBytes>(q: &mut drm_xaccel_query, items: &[T]) -> Result<u32> {
    respond_bytes(q, size_of::<T>(), items.as_bytes())
}

/// [`respond`] for items of `kernel_size` bytes each, back to back in `bytes`.
fn respond_bytes(q: &mut drm_xaccel_query, kernel_size: usize, bytes: &[u8]) -> Result<u32> {
    if kernel_size == 0 || bytes.len() % kernel_size != 0 {
        return Err(EINVAL);
    }
    let count_all = bytes.len() / kernel_size;
    let available = u32::try_from(count_all).map_err(|_| EOVERFLOW)?;
    if let Plan::Fetch {
        items: addr,
        item_size,
        count,
    } = Plan::new(q, count_all, kernel_size)?
    {
        let mut writer = UserSlice::new(UserPtr::from_addr(addr), count * item_size).writer();
        let mut buffer = KVec::from_elem(0u8, item_size, GFP_KERNEL)?;
        for item in bytes.chunks_exact(kernel_size).take(count) {
            buffer[..kernel_size].copy_from_slice(item);
            writer.write_slice(&buffer)?;
        }
    }
    q.count = available;
    q.item_size = kernel_size as u32;
    Ok(0)
}

fn device_info(
    layout: &DeviceLayout,
    name: &[u8; 16],
    resets: u64,
) -> uapi::drm_xaccel_device_info {
    uapi::drm_xaccel_device_info {
        backend: *name,
        uapi_major: uapi::DRM_XACCEL_UAPI_MAJOR,
        uapi_minor: uapi::DRM_XACCEL_UAPI_MINOR,
        engine_count: layout.engines.len() as u32,
        region_count: layout.regions.len() as u32,
        capabilities: layout.capabilities.bits(),
        va_start: layout.va_range.start,
        va_size: layout.va_range.end - layout.va_range.start,
        reset_count: resets,
    }
}

/// The VENDOR_QUERY ioctl: the backend's own query types, validated like QUERY.
pub(crate) fn vendor_query(
    plugged: &Plugged<'_>,
    _file: &DrmFile,
    q: &mut drm_xaccel_query,
) -> Result<u32> {
    // The common checks first, so that a bad request never reaches the backend.
    Plan::new(q, 0, 1)?;
    let items = plugged.vendor().ok_or(EINVAL)?.query(q.type_)?;
    respond_bytes(q, items.item_size, &items.bytes)
}

/// The QUERY ioctl.
pub(crate) fn query(
    plugged: &Plugged<'_>,
    _file: &DrmFile,
    q: &mut drm_xaccel_query,
) -> Result<u32> {
    let dev = plugged.dev;
    let layout = &dev.layout;
    match q.type_ {
        uapi::DRM_XACCEL_QUERY_DEVICE => respond(
            q,
            &[device_info(
                layout,
                dev.name().as_padded(),
                dev.reset_count(),
            )],
        ),
        uapi::DRM_XACCEL_QUERY_ENGINES => {
            let mut out = KVec::with_capacity(layout.engines.len(), GFP_KERNEL)?;
            for (id, e) in layout.engines.iter().enumerate() {
                out.push(
                    uapi::drm_xaccel_engine_info {
                        name: *e.name.as_padded(),
                        id: id as u32,
                        engine_class: e.class as u32,
                        ring_credits: e.ring_credits,
                        pad: 0,
                    },
                    GFP_KERNEL,
                )?;
            }
            respond(q, &out)
        }
        uapi::DRM_XACCEL_QUERY_NOPS => {
            let mut out = KVec::with_capacity(layout.engines.len(), GFP_KERNEL)?;
            for (id, e) in (0u32..).zip(layout.engines.iter()) {
                out.push(
                    uapi::drm_xaccel_nop_info {
                        engine: id,
                        size: e.nop_len,
                        cmd: e.nop,
                    },
                    GFP_KERNEL,
                )?;
            }
            respond(q, &out)
        }
        uapi::DRM_XACCEL_QUERY_REGIONS => {
            let mut out = KVec::with_capacity(layout.regions.len(), GFP_KERNEL)?;
            for (id, r) in (0u32..).zip(layout.regions.iter()) {
                out.push(
                    uapi::drm_xaccel_region_info {
                        name: *r.name.as_padded(),
                        id,
                        kind: r.kind as u32,
                        flags: r.flags,
                        size: r.size,
                        used: dev.region_used.get(id),
                    },
                    GFP_KERNEL,
                )?;
            }
            respond(q, &out)
        }
        _ => Err(EINVAL),
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_query)]
mod tests {
    use super::*;

    const SIZE: usize = 48;

    fn fetch(item_size: u32, count: u32) -> drm_xaccel_query {
        drm_xaccel_query {
            type_: 0,
            flags: 0,
            item_size,
            count,
            items: 0x1000,
            reserved: 0,
        }
    }

    #[test]
    fn probe_needs_no_buffer() {
        let q = drm_xaccel_query::default();
        assert_eq!(Plan::new(&q, 3, SIZE), Ok(Plan::Probe));
    }

    #[test]
    fn fetch_is_clamped_to_available_items() {
        let plan = Plan::new(&fetch(SIZE as u32, 10), 3, SIZE);
        assert_eq!(
            plan,
            Ok(Plan::Fetch {
                items: 0x1000,
                item_size: SIZE,
                count: 3
            })
        );
        let plan = Plan::new(&fetch(SIZE as u32 + 16, 2), 3, SIZE);
        assert_eq!(
            plan,
            Ok(Plan::Fetch {
                items: 0x1000,
                item_size: SIZE + 16,
                count: 2
            })
        );
    }

    #[test]
    fn flags_and_reserved_must_be_zero() {
        let mut q = fetch(SIZE as u32, 1);
        q.flags = 1 << 31;
        assert_eq!(Plan::new(&q, 1, SIZE), Err(EINVAL));
        let mut q = fetch(SIZE as u32, 1);
        q.reserved = 1;
        assert_eq!(Plan::new(&q, 1, SIZE), Err(EINVAL));
        let probe = drm_xaccel_query {
            flags: 2,
            ..Default::default()
        };
        assert_eq!(Plan::new(&probe, 1, SIZE), Err(EINVAL));
    }

    #[test]
    fn pointer_and_count_go_together() {
        let mut q = fetch(SIZE as u32, 0);
        assert_eq!(Plan::new(&q, 1, SIZE), Err(EINVAL));
        q.items = 0;
        q.count = 1;
        assert_eq!(Plan::new(&q, 1, SIZE), Err(EINVAL));
    }

    #[test]
    fn item_size_is_bounded() {
        assert_eq!(Plan::new(&fetch(0, 1), 1, SIZE), Err(EINVAL));
        assert_eq!(Plan::new(&fetch(SIZE as u32 - 1, 1), 1, SIZE), Err(EINVAL));
        assert_eq!(Plan::new(&fetch(4097, 1), 1, SIZE), Err(EINVAL));
        assert!(Plan::new(&fetch(4096, 1), 1, SIZE).is_ok());
    }

    #[test]
    fn total_size_overflow_is_reported() {
        assert_eq!(Plan::new(&fetch(4096, u32::MAX), 1, SIZE), Err(EOVERFLOW));
        assert!(Plan::new(&fetch(4096, (u32::MAX / 4096) - 1), 1, SIZE).is_ok());
    }
}
