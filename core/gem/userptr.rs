// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_BO_CREATE_USERPTR`: a buffer object of the caller's own memory.
//!
//! The pages of a page-aligned range of the calling process are pinned for the object's life
//! (`pin_user_pages()` with `FOLL_LONGTERM`, and `FOLL_WRITE` unless the object is read-only),
//! after checking, under the same mmap lock, that every VMA of the range is readable, writable
//! if the object is, and anonymous if the object is writable (file-backed pages may be written
//! back and truncated behind a long-term pin). The object then behaves as any other: handles,
//! `mmap()` through the device file (the same pages, read-only for read-only objects), VM
//! binds, BO lists, dma-buf export; `munmap()` of the original range leaves the pages with
//! the object. They are charged to the device's first system region, and to the process's
//! pinned memory against `RLIMIT_MEMLOCK` (`UserPages`).
//!
//! [`UserptrRequest::new`] holds the argument checks, a pure function tested by KUnit below.

use crate::{
    backend::{Region, RegionKind},
    device::Plugged,
    file::DrmFile,
    gem::{pages::UserPages, Bo},
    uapi::{drm_xaccel_bo_create_userptr, DRM_XACCEL_BO_READ_ONLY, DRM_XACCEL_BO_USERPTR},
};
use kernel::{page::PAGE_SIZE, prelude::*};

/// A valid request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UserptrRequest {
    /// The region the pages are charged to.
    pub(crate) region: u32,
    /// The first address, page-aligned.
    pub(crate) start: u64,
    /// Number of pages.
    pub(crate) pages: usize,
    /// The device may write them.
    pub(crate) writable: bool,
}

impl UserptrRequest {
    /// Checks `args` against the device's `regions`, with pages of `page` bytes.
    ///
    /// Errors: `EINVAL` for unknown flags, nonzero `reserved`, a zero size, an address or size
    /// that is not page-aligned, or a range that wraps around; `E2BIG` for a size beyond the
    /// first system region's size.
    pub(crate) fn new(
        args: &drm_xaccel_bo_create_userptr,
        regions: &[Region],
        page: u64,
    ) -> Result<Self> {
        if args.flags & !DRM_XACCEL_BO_READ_ONLY != 0 || args.reserved != [0; 2] {
            return Err(EINVAL);
        }
        if args.size == 0 || args.userptr % page != 0 || args.size % page != 0 {
            return Err(EINVAL);
        }
        args.userptr.checked_add(args.size).ok_or(EINVAL)?;
        let (region, system) = (0u32..)
            .zip(regions.iter())
            .find(|(_, r)| r.kind == RegionKind::System)
            .ok_or(EINVAL)?;
        if args.size > system.size {
            return Err(E2BIG);
        }
        Ok(Self {
            region,
            start: args.userptr,
            pages: usize::try_from(args.size / page)?,
            writable: args.flags & DRM_XACCEL_BO_READ_ONLY == 0,
        })
    }
}

/// The BO_CREATE_USERPTR ioctl.
///
/// Beyond [`UserptrRequest::new`]'s errors: `EFAULT` if part of the range is not mapped (or is
/// I/O memory), `EACCES` if part of it is not readable, or not writable for a writable object,
/// `EOPNOTSUPP` if part of it is file-backed and the object writable, `ENOSPC` when the region's
/// budget is used up, `ENOMEM` (also beyond `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`).
pub(crate) fn bo_create_userptr(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_bo_create_userptr,
) -> Result<u32> {
    let dev = plugged.dev;
    let req = UserptrRequest::new(args, &dev.layout.regions, PAGE_SIZE as u64)?;
    let pages = UserPages::pin(req.start, req.pages, req.writable)?;
    let mut flags = DRM_XACCEL_BO_USERPTR;
    if !req.writable {
        flags |= DRM_XACCEL_BO_READ_ONLY;
    }
    let bo = Bo::new_userptr(dev, req.region, pages, flags)?;
    // The handle takes its own reference; if it cannot be created, the object is freed (and
    // its pages unpinned) with `bo`.
    args.handle = bo.create_handle(file)?;
    Ok(0)
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_userptr)]
mod tests {
    use super::*;
    use crate::name::Name;

    const PAGE: u64 = 4096;
    const SYSTEM: u64 = 1 << 30;
    const ADDR: u64 = 0x7f00_0000_0000;

    fn regions() -> [Region; 2] {
        let region = |kind, size| Region {
            name: Name::new(c"r"),
            kind,
            size,
            flags: 0,
            memory: None,
            fallback: crate::backend::ExportFallback::Refuse,
        };
        [
            region(RegionKind::Device, 1 << 20),
            region(RegionKind::System, SYSTEM),
        ]
    }

    fn args(userptr: u64, size: u64, flags: u32) -> drm_xaccel_bo_create_userptr {
        drm_xaccel_bo_create_userptr {
            userptr,
            size,
            flags,
            ..Default::default()
        }
    }

    fn check(args: &drm_xaccel_bo_create_userptr) -> Result<UserptrRequest> {
        UserptrRequest::new(args, &regions(), PAGE)
    }

    #[test]
    fn a_valid_range_is_kept_and_charged_to_the_system_region() {
        assert_eq!(
            check(&args(ADDR, 3 * PAGE, 0)),
            Ok(UserptrRequest {
                region: 1,
                start: ADDR,
                pages: 3,
                writable: true
            })
        );
        assert_eq!(
            check(&args(ADDR, PAGE, DRM_XACCEL_BO_READ_ONLY)).map(|r| r.writable),
            Ok(false)
        );
    }

    #[test]
    fn unaligned_and_empty_ranges_are_invalid() {
        for (addr, size) in [(ADDR + 1, PAGE), (ADDR, PAGE + 1), (ADDR, 0), (ADDR, 100)] {
            assert_eq!(check(&args(addr, size, 0)), Err(EINVAL));
        }
    }

    #[test]
    fn ranges_that_wrap_are_invalid_and_huge_ones_too_big() {
        assert_eq!(check(&args(u64::MAX - PAGE + 1, 2 * PAGE, 0)), Err(EINVAL));
        assert_eq!(check(&args(u64::MAX - PAGE + 1, PAGE, 0)), Err(EINVAL));
        assert_eq!(check(&args(PAGE, SYSTEM + PAGE, 0)), Err(E2BIG));
        assert_eq!(check(&args(PAGE, SYSTEM, 0)).map(|r| r.pages), Ok(1 << 18));
    }

    #[test]
    fn unknown_flags_and_reserved_are_invalid() {
        for flags in [DRM_XACCEL_BO_USERPTR, 1 << 2, 1 << 31] {
            assert_eq!(check(&args(ADDR, PAGE, flags)), Err(EINVAL));
        }
        for i in 0..2 {
            let mut a = args(ADDR, PAGE, 0);
            a.reserved[i] = 1;
            assert_eq!(check(&a), Err(EINVAL));
        }
    }
}
