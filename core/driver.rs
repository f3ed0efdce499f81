// SPDX-License-Identifier: GPL-2.0-only

//! The per-device `struct drm_driver` and the C callbacks behind it.
//!
//! The kernel's Rust DRM abstractions build one `const` `drm_driver` per driver type and cannot
//! register accel (`DRIVER_COMPUTE_ACCEL`) devices. xaccel needs both: every device carries its
//! own vtable, embedded in [`AccelDevice`], so the backend's name reaches `DRM_IOCTL_VERSION`
//! without any pointer into the backend module, and the features include
//! `DRIVER_COMPUTE_ACCEL`. All callbacks here (device release, file open and close, fdinfo,
//! dma-buf import) are
//! non-generic core functions, so they stay valid after a backend module is gone.

use crate::{device::AccelDevice, engine_fdinfo, file, gem, ioctl, uapi};
use kernel::{bindings, ffi::c_char};

// `file_operations` has zero-sized members; the static is only ever address-taken, never read.
#[allow(improper_ctypes)]
extern "C" {
    /// The accel `file_operations` (`DRM_ACCEL_FOPS`), defined in `xaccel_c.c` because its
    /// initialiser is a C macro. Its owner is this module, so an open file pins the core.
    static xaccel_accel_fops: bindings::file_operations;
}

/// Builds a device's `drm_driver`.
///
/// `release` is left out while the device is being built, so that a failed construction does
/// not drop fields that were never written (see [`AccelDevice`]).
pub(crate) fn vtable(
    name: *const c_char,
    desc: *const c_char,
    with_release: bool,
) -> bindings::drm_driver {
    // SAFETY: `drm_driver` holds only integers, raw pointers and `Option` of function pointers,
    // for all of which the all-zero pattern is valid (null, zero, `None`).
    let zero: bindings::drm_driver = unsafe { core::mem::zeroed() };
    bindings::drm_driver {
        release: if with_release { Some(release) } else { None },
        open: Some(file::open),
        postclose: Some(file::postclose),
        show_fdinfo: Some(engine_fdinfo::show_fdinfo),
        gem_prime_import: Some(gem::gem_prime_import),
        major: uapi::DRM_XACCEL_UAPI_MAJOR as i32,
        minor: uapi::DRM_XACCEL_UAPI_MINOR as i32,
        patchlevel: 0,
        name: name.cast_mut(),
        desc: desc.cast_mut(),
        driver_features: bindings::drm_driver_feature_DRIVER_GEM
            | bindings::drm_driver_feature_DRIVER_COMPUTE_ACCEL
            | bindings::drm_driver_feature_DRIVER_SYNCOBJ
            | bindings::drm_driver_feature_DRIVER_SYNCOBJ_TIMELINE,
        ioctls: ioctl::TABLE.as_ptr(),
        num_ioctls: ioctl::TABLE.len() as i32,
        // Taking the address of an extern static creates no reference and reads nothing.
        fops: &raw const xaccel_accel_fops,
        ..zero
    }
}

/// `drm_driver.release`: the last reference to the DRM device is gone.
extern "C" fn release(drm: *mut bindings::drm_device) {
    // SAFETY: DRM calls `release` once, from `drm_dev_put()` dropping the last reference, with a
    // device that `AccelDevice::create` allocated and fully initialised (the callback is only
    // installed once construction succeeded).
    unsafe { AccelDevice::drop_fields(drm) };
}
