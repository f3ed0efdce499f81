// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_BO_CREATE`: allocates a buffer object and returns a handle to it.
//!
//! [`CreateRequest::new`] holds all of the validation and is a pure function, tested by KUnit
//! below; [`bo_create`] charges the region, builds the object and creates the handle. Nothing is
//! written back to userspace unless every step succeeded.

use crate::{
    backend::{Region, RegionKind},
    device::Plugged,
    file::DrmFile,
    gem::Bo,
    uapi::drm_xaccel_bo_create,
};
use kernel::{page::PAGE_SIZE, prelude::*};

/// The `DRM_XACCEL_BO_*` creation flags the core knows: none yet.
const KNOWN_FLAGS: u32 = 0;

/// A valid BO_CREATE request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CreateRequest {
    /// The region to allocate in.
    pub(crate) region: u32,
    /// What the region is.
    pub(crate) kind: RegionKind,
    /// The size in bytes, rounded up to a multiple of the page size (and, in device memory, of
    /// the alignment), at most the region's size.
    pub(crate) size: u64,
    /// 0, or a power of two from the page size to `size`.
    pub(crate) alignment: u64,
    /// Known `DRM_XACCEL_BO_*` flags.
    pub(crate) flags: u32,
}

impl CreateRequest {
    /// Validates `args` against the device's `regions`, with pages of `page_size` bytes.
    ///
    /// Errors: `EINVAL` for unknown flags, nonzero `pad` or `reserved`, an unknown region, a zero
    /// size or a bad alignment; `E2BIG` for a size beyond the region's size, including one whose
    /// rounding overflows.
    pub(crate) fn new(
        args: &drm_xaccel_bo_create,
        regions: &[Region],
        page_size: u64,
    ) -> Result<Self> {
        if args.flags & !KNOWN_FLAGS != 0 || args.pad != 0 || args.reserved != [0; 2] {
            return Err(EINVAL);
        }
        let region = usize::try_from(args.region)
            .ok()
            .and_then(|id| regions.get(id))
            .ok_or(EINVAL)?;
        if args.size == 0 {
            return Err(EINVAL);
        }
        let mut size = args.size.checked_next_multiple_of(page_size).ok_or(E2BIG)?;
        if size > region.size {
            return Err(E2BIG);
        }
        let alignment = args.alignment;
        if alignment != 0
            && (!alignment.is_power_of_two() || alignment < page_size || alignment > size)
        {
            return Err(EINVAL);
        }
        // Device memory comes in blocks aligned to the alignment, whole ones.
        if region.kind == RegionKind::Device && alignment != 0 {
            size = size.next_multiple_of(alignment);
            if size > region.size {
                return Err(E2BIG);
            }
        }
        Ok(Self {
            region: args.region,
            kind: region.kind,
            size,
            alignment,
            flags: args.flags,
        })
    }
}

/// The BO_CREATE ioctl.
///
/// Beyond [`CreateRequest::new`]'s errors: `ENOSPC` when the region's live buffer objects leave
/// less than the size (in device memory: no free blocks of the alignment add up to it,
/// fragmentation included), `ENOMEM` when memory for the object or its handle runs out.
pub(crate) fn bo_create(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_bo_create,
) -> Result<u32> {
    let dev = plugged.dev;
    let req = CreateRequest::new(args, &dev.layout.regions, PAGE_SIZE as u64)?;
    let bo = match req.kind {
        RegionKind::System => Bo::new_system(dev, req.region, req.size, req.flags, req.alignment)?,
        RegionKind::Device => Bo::new_device(dev, req.region, req.size, req.flags, req.alignment)?,
    };
    // The handle takes its own reference; ours goes when `bo` does. If the handle cannot be
    // created, that frees the object and returns its charge.
    args.handle = bo.create_handle(file)?;
    Ok(0)
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_create)]
mod tests {
    use super::*;
    use crate::name::Name;

    const PAGE: u64 = 4096;
    const SYSTEM_SIZE: u64 = 1 << 30;

    fn regions() -> [Region; 2] {
        [
            Region {
                name: Name::new(c"system"),
                kind: RegionKind::System,
                size: SYSTEM_SIZE,
                flags: 0,
                memory: None,
                fallback: crate::backend::ExportFallback::Refuse,
            },
            Region {
                name: Name::new(c"local"),
                kind: RegionKind::Device,
                // Not a power of two, so rounding up to an alignment can overflow it.
                size: 48 << 20,
                flags: 0,
                memory: None,
                fallback: crate::backend::ExportFallback::Refuse,
            },
        ]
    }

    fn args(size: u64) -> drm_xaccel_bo_create {
        drm_xaccel_bo_create {
            size,
            ..Default::default()
        }
    }

    fn check(args: &drm_xaccel_bo_create) -> Result<CreateRequest> {
        CreateRequest::new(args, &regions(), PAGE)
    }

    #[test]
    fn sizes_are_rounded_up_to_pages() {
        for (asked, got) in [
            (1, PAGE),
            (PAGE, PAGE),
            (PAGE + 1, 2 * PAGE),
            (SYSTEM_SIZE, SYSTEM_SIZE),
        ] {
            assert_eq!(check(&args(asked)).map(|r| r.size), Ok(got));
        }
    }

    #[test]
    fn zero_size_is_invalid() {
        assert_eq!(check(&args(0)), Err(EINVAL));
    }

    #[test]
    fn sizes_beyond_the_region_are_too_big() {
        for size in [
            SYSTEM_SIZE + 1,
            u64::MAX - (PAGE - 1),
            u64::MAX - PAGE,
            u64::MAX,
        ] {
            assert_eq!(check(&args(size)), Err(E2BIG));
        }
    }

    #[test]
    fn flags_pad_and_reserved_must_be_zero() {
        for bit in [0, 1, 31] {
            let a = drm_xaccel_bo_create {
                flags: 1 << bit,
                ..args(PAGE)
            };
            assert_eq!(check(&a), Err(EINVAL));
        }
        let a = drm_xaccel_bo_create {
            pad: 1,
            ..args(PAGE)
        };
        assert_eq!(check(&a), Err(EINVAL));
        for i in 0..2 {
            let mut a = args(PAGE);
            a.reserved[i] = 1 << 63;
            assert_eq!(check(&a), Err(EINVAL));
        }
    }

    #[test]
    fn device_memory_sizes_round_up_to_the_alignment() {
        let with = |size, alignment| {
            check(&drm_xaccel_bo_create {
                region: 1,
                alignment,
                ..args(size)
            })
            .map(|r| (r.kind, r.size))
        };
        assert_eq!(with(PAGE, 0), Ok((RegionKind::Device, PAGE)));
        assert_eq!(with(3 * PAGE, 2 * PAGE), Ok((RegionKind::Device, 4 * PAGE)));
        assert_eq!(with(48 << 20, 1 << 20), Ok((RegionKind::Device, 48 << 20)));
        assert_eq!(with((48 << 20) + 1, 0), Err(E2BIG));
        assert_eq!(with(40 << 20, 32 << 20), Err(E2BIG));
    }

    #[test]
    fn regions_must_exist() {
        for region in [2, u32::MAX] {
            let a = drm_xaccel_bo_create {
                region,
                ..args(PAGE)
            };
            assert_eq!(check(&a), Err(EINVAL));
        }
    }

    #[test]
    fn alignment_is_zero_or_a_page_multiple_power_of_two_up_to_the_size() {
        let with = |size, alignment| {
            check(&drm_xaccel_bo_create {
                alignment,
                ..args(size)
            })
            .map(|r| r.alignment)
        };
        assert_eq!(with(PAGE, 0), Ok(0));
        assert_eq!(with(PAGE, PAGE), Ok(PAGE));
        assert_eq!(with(PAGE + 1, 2 * PAGE), Ok(2 * PAGE));
        assert_eq!(with(2 << 20, 2 << 20), Ok(2 << 20));
        for bad in [1, 2048, 3 * PAGE, 2 * PAGE, 1 << 63] {
            assert_eq!(with(PAGE, bad), Err(EINVAL));
        }
    }

    #[test]
    fn a_valid_request_keeps_everything() {
        let a = drm_xaccel_bo_create {
            size: 3 * PAGE - 5,
            alignment: 2 * PAGE,
            ..Default::default()
        };
        assert_eq!(
            check(&a),
            Ok(CreateRequest {
                region: 0,
                kind: RegionKind::System,
                size: 3 * PAGE,
                alignment: 2 * PAGE,
                flags: 0,
            })
        );
    }
}
