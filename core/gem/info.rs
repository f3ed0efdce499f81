// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_BO_INFO`: what a handle names, and where to `mmap()` it.
//!
//! The mmap offset is DRM's fake offset for the object: system-memory objects get it from the
//! shmem helper when they are created, other placements will get it the first time it is asked
//! for. `mmap()` of the device file at that offset maps the object, and only files holding a
//! handle to it may do so.

use crate::{device::Plugged, file::DrmFile, gem::Bo, uapi::drm_xaccel_bo_info};
use kernel::prelude::*;

/// Checks the input side of BO_INFO: `pad` and `reserved` must be zero (`EINVAL`).
fn check_input(args: &drm_xaccel_bo_info) -> Result {
    if args.pad != 0 || args.reserved != [0; 2] {
        return Err(EINVAL);
    }
    Ok(())
}

/// The BO_INFO ioctl.
///
/// Errors: `EINVAL` for nonzero `pad` or `reserved`, `ENOENT` for a handle this file does not
/// have, `ENOMEM` or `ENOSPC` if the mmap offset cannot be set up.
pub(crate) fn bo_info(
    _plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_bo_info,
) -> Result<u32> {
    check_input(args)?;
    let bo = Bo::lookup(file, args.handle)?;
    let mmap_offset = bo.mmap_offset()?;
    *args = drm_xaccel_bo_info {
        handle: args.handle,
        pad: 0,
        size: bo.size(),
        region: bo.region(),
        flags: bo.flags(),
        mmap_offset,
        reserved: [0; 2],
    };
    Ok(0)
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_info)]
mod tests {
    use super::*;

    #[test]
    fn only_the_handle_is_input() {
        let args = drm_xaccel_bo_info {
            handle: 7,
            // Output fields may hold anything on input.
            size: u64::MAX,
            region: 3,
            flags: 1,
            mmap_offset: 1 << 40,
            ..Default::default()
        };
        assert_eq!(check_input(&args), Ok(()));
    }

    #[test]
    fn pad_and_reserved_must_be_zero() {
        let pad = drm_xaccel_bo_info {
            pad: 1,
            ..Default::default()
        };
        assert_eq!(check_input(&pad), Err(EINVAL));
        for i in 0..2 {
            let mut args = drm_xaccel_bo_info::default();
            args.reserved[i] = 1;
            assert_eq!(check_input(&args), Err(EINVAL));
        }
    }
}
