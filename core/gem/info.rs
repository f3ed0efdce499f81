// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_BO_INFO`: what a handle names, and where to `mmap()` it.
//!
//! The mmap offset is DRM's fake offset for the object: system-memory objects get it from the
//! shmem helper when they are created, other placements will get it the first time it is asked
//! for. `mmap()` of the device file at that offset maps the object, and only files holding a
//! handle to it may do so. Objects in device memory behind a PCI BAR also report their device
//! address (`DRM_XACCEL_BO_DEVICE_ADDR`).

use crate::{
    device::Plugged,
    file::DrmFile,
    gem::Bo,
    uapi::{drm_xaccel_bo_info, DRM_XACCEL_BO_DEVICE_ADDR},
};
use kernel::prelude::*;

/// Checks the input side of BO_INFO: `pad` and `reserved` must be zero (`EINVAL`).
fn check_input(args: &drm_xaccel_bo_info) -> Result {
    if args.pad != 0 || args.reserved != 0 {
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
    let device_addr = bo.device_addr();
    let device_flag = device_addr.map_or(0, |_| DRM_XACCEL_BO_DEVICE_ADDR);
    *args = drm_xaccel_bo_info {
        handle: args.handle,
        pad: 0,
        size: bo.size(),
        region: bo.region(),
        flags: bo.flags() | device_flag,
        mmap_offset,
        device_addr: device_addr.unwrap_or(0),
        reserved: 0,
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
            device_addr: 1 << 22,
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
        let reserved = drm_xaccel_bo_info {
            reserved: 1,
            ..Default::default()
        };
        assert_eq!(check_input(&reserved), Err(EINVAL));
    }
}
