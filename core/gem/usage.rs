// SPDX-License-Identifier: GPL-2.0-only

//! Memory accounting: bytes per region, per device and per open file.
//!
//! A device counts the bytes of every live buffer object in each of its regions against the
//! region's size, its budget: a [`Charge`] reserves a buffer object's bytes when it is created
//! and gives them back when the object is freed. A file counts the bytes of the objects it holds
//! handles to. Both are [`RegionCounters`]: atomics, no locks.

use crate::{backend::Region, device::AccelDevice, gem::DeviceMemory};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{prelude::*, sync::aref::ARef};

/// One byte counter per memory region of a device, indexed by region id.
pub struct RegionCounters {
    bytes: KVec<AtomicU64>,
}

impl RegionCounters {
    /// Zeroed counters for `regions` regions.
    pub(crate) fn new(regions: usize) -> Result<Self> {
        let mut bytes = KVec::with_capacity(regions, GFP_KERNEL)?;
        for _ in 0..regions {
            bytes.push(AtomicU64::new(0), GFP_KERNEL)?;
        }
        Ok(Self { bytes })
    }

    /// The bytes counted in `region`; 0 for a region that does not exist.
    pub fn get(&self, region: u32) -> u64 {
        self.counter(region)
            .map_or(0, |bytes| bytes.load(Ordering::Relaxed))
    }

    fn counter(&self, region: u32) -> Option<&AtomicU64> {
        self.bytes.get(usize::try_from(region).ok()?)
    }

    /// Counts `bytes` more in `region`.
    pub(crate) fn add(&self, region: u32, bytes: u64) {
        if let Some(counter) = self.counter(region) {
            counter.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Counts `bytes` fewer in `region`; they must have been added before.
    pub(crate) fn sub(&self, region: u32, bytes: u64) {
        if let Some(counter) = self.counter(region) {
            counter.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Counts `bytes` more in `region` if the total stays within `limit`.
    ///
    /// Returns `ENOSPC` (and counts nothing) if it would not, `EINVAL` for an unknown region.
    pub(crate) fn try_add(&self, region: u32, bytes: u64, limit: u64) -> Result {
        let counter = self.counter(region).ok_or(EINVAL)?;
        counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .map(|_| ())
            .map_err(|_| ENOSPC)
    }
}

/// Bytes of one region of a device, reserved for one buffer object until dropped.
///
/// Holds a reference to the device, so the accounting it returns to outlives every buffer object.
///
/// # Invariants
///
/// `bytes` were added to `dev.region_used` in `region` by [`Charge::reserve`] and are subtracted
/// exactly once, on drop.
pub(crate) struct Charge {
    dev: ARef<AccelDevice>,
    region: u32,
    bytes: u64,
}

impl Charge {
    /// Reserves `bytes` of `region` on `dev`, within the region's size.
    ///
    /// Returns `ENOSPC` if the region's live buffer objects leave less than `bytes`, `EINVAL`
    /// for an unknown region.
    pub(crate) fn reserve(dev: &AccelDevice, region: u32, bytes: u64) -> Result<Self> {
        let limit = dev
            .layout
            .regions
            .get(usize::try_from(region)?)
            .ok_or(EINVAL)?
            .size;
        dev.region_used.try_add(region, bytes, limit)?;
        // INVARIANT: `bytes` were just added to `region`.
        Ok(Self {
            dev: dev.into(),
            region,
            bytes,
        })
    }

    /// The allocator and backing of the region, if it is device memory.
    pub(crate) fn device_memory(&self) -> Option<&DeviceMemory> {
        self.region_desc()?.memory.as_ref()
    }

    /// The region the bytes are reserved in, as the device declared it.
    pub(crate) fn region_desc(&self) -> Option<&Region> {
        self.dev
            .layout
            .regions
            .get(usize::try_from(self.region).ok()?)
    }

    /// The region the bytes are reserved in.
    pub(crate) fn region(&self) -> u32 {
        self.region
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        // The device reference (a field) is only dropped after this.
        self.dev.region_used.sub(self.region, self.bytes);
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_usage)]
mod tests {
    use super::*;

    #[test]
    fn counters_start_at_zero_and_add_up() -> Result {
        let c = RegionCounters::new(2)?;
        assert_eq!((c.get(0), c.get(1)), (0, 0));
        c.add(1, 4096);
        c.add(1, 8192);
        assert_eq!((c.get(0), c.get(1)), (0, 12288));
        c.sub(1, 4096);
        assert_eq!(c.get(1), 8192);
        Ok(())
    }

    #[test]
    fn unknown_regions_count_nothing() -> Result {
        let c = RegionCounters::new(1)?;
        c.add(1, 4096);
        c.add(u32::MAX, 4096);
        assert_eq!((c.get(0), c.get(1)), (0, 0));
        assert_eq!(c.try_add(1, 1, 10), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn try_add_stops_at_the_limit() -> Result {
        let c = RegionCounters::new(1)?;
        assert_eq!(c.try_add(0, 6, 10), Ok(()));
        assert_eq!(c.try_add(0, 5, 10), Err(ENOSPC));
        assert_eq!(c.get(0), 6);
        assert_eq!(c.try_add(0, 4, 10), Ok(()));
        assert_eq!(c.get(0), 10);
        assert_eq!(c.try_add(0, 1, 10), Err(ENOSPC));
        Ok(())
    }

    #[test]
    fn try_add_does_not_wrap() -> Result {
        let c = RegionCounters::new(1)?;
        assert_eq!(c.try_add(0, 1 << 40, u64::MAX), Ok(()));
        assert_eq!(c.try_add(0, u64::MAX, u64::MAX), Err(ENOSPC));
        assert_eq!(c.get(0), 1 << 40);
        Ok(())
    }
}
