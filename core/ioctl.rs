// SPDX-License-Identifier: GPL-2.0-only

//! The ioctl table of every xaccel device.
//!
//! [`xaccel_ioctls!`] builds `struct drm_ioctl_desc` entries the way the kernel's
//! `declare_drm_ioctls!` does, for handlers that take the core's [`Plugged`] device: it checks
//! at compile time that the table has no gaps and that each argument type has the size encoded
//! in its ioctl number, and every entry fails with `ENODEV` once the device is unplugged.
//! `drm_ioctl()` copies arguments in and out and zero-extends older, shorter structs.

use crate::{context, device::Plugged, file::DrmFile, gem, query, submit, uapi};
use kernel::{bindings, ioctl::_IOC_NR, ioctl::_IOC_SIZE};

/// A handler of one ioctl: gets the registered device, the calling file and the kernel copy of
/// the argument.
pub(crate) type Handler<T> = fn(&Plugged<'_>, &DrmFile, &mut T) -> kernel::error::Result<u32>;

macro_rules! xaccel_ioctls {
    ($( ($cmd:ident, $arg:ty, $flags:expr, $handler:path) ),* $(,)?) => {
        /// The ioctl table, indexed by ioctl number minus `DRM_COMMAND_BASE`.
        pub(crate) const TABLE: &[bindings::drm_ioctl_desc] = {
            const _: () = {
                let mut nr = uapi::DRM_COMMAND_BASE;
                $(
                    assert!(_IOC_NR(uapi::$cmd) == nr, "ioctl table out of order");
                    assert!(_IOC_SIZE(uapi::$cmd) == core::mem::size_of::<$arg>());
                    nr += 1;
                )*
                let _ = nr;
            };
            &[$(
                bindings::drm_ioctl_desc {
                    cmd: uapi::$cmd,
                    flags: $flags,
                    func: {
                        /// # Safety
                        ///
                        /// Called by `drm_ioctl()` only, with a device of ours, the kernel
                        /// copy of the argument and the calling file.
                        #[allow(non_snake_case)]
                        unsafe extern "C" fn $cmd(
                            drm: *mut bindings::drm_device,
                            data: *mut kernel::ffi::c_void,
                            file: *mut bindings::drm_file,
                        ) -> kernel::ffi::c_int {
                            let handler: Handler<$arg> = $handler;
                            // SAFETY: DRM only calls ioctls of devices with our `drm_driver`,
                            // each embedded in an `AccelDevice`, and holds a reference to the
                            // device (through the open file) for the whole call.
                            let dev = unsafe { crate::device::AccelDevice::from_raw(drm) };
                            let Some(plugged) = dev.enter() else {
                                return kernel::error::code::ENODEV.to_errno();
                            };
                            // SAFETY: `drm_ioctl()` passes a kernel buffer of `_IOC_SIZE(cmd)`
                            // bytes, which equals `size_of::<$arg>()` (asserted above), aligned
                            // for any uAPI struct, exclusively ours for this call. uAPI structs
                            // are plain integers, valid for any bit pattern.
                            let arg = unsafe { &mut *data.cast::<$arg>() };
                            // SAFETY: `drm_ioctl()` passes the open file of the device the
                            // ioctl was issued on, which stays open for the call.
                            let file = unsafe { DrmFile::from_raw(file) };
                            match handler(&plugged, file, arg) {
                                Ok(value) => value.try_into().unwrap_or(
                                    kernel::error::code::ERANGE.to_errno(),
                                ),
                                Err(e) => e.to_errno(),
                            }
                        }
                        Some($cmd)
                    },
                    name: kernel::str::as_char_ptr_in_const_context(
                        kernel::c_str!(core::stringify!($cmd)),
                    ),
                },
            )*]
        };
    };
}

xaccel_ioctls! {
    (DRM_IOCTL_XACCEL_QUERY, uapi::drm_xaccel_query,
        0, query::query),
    (DRM_IOCTL_XACCEL_BO_CREATE, uapi::drm_xaccel_bo_create,
        0, gem::create::bo_create),
    (DRM_IOCTL_XACCEL_BO_INFO, uapi::drm_xaccel_bo_info,
        0, gem::info::bo_info),
    (DRM_IOCTL_XACCEL_CONTEXT_CREATE, uapi::drm_xaccel_context_create,
        0, context::context_create),
    (DRM_IOCTL_XACCEL_CONTEXT_DESTROY, uapi::drm_xaccel_context_destroy,
        0, context::context_destroy),
    (DRM_IOCTL_XACCEL_SUBMIT, uapi::drm_xaccel_submit,
        0, submit::submit),
}
