// SPDX-License-Identifier: GPL-2.0-only

//! The ioctl table of every xaccel device.
//!
//! [`xaccel_ioctls!`] builds `struct drm_ioctl_desc` entries the way the kernel's
//! `declare_drm_ioctls!` does, for handlers that take the core's [`Plugged`] device: it checks
//! at compile time that the entries are in increasing ioctl-number order and that each argument
//! type has the size encoded in its ioctl number, and every entry fails with `ENODEV` once the
//! device is unplugged. Numbers between entries are holes (ranges kept for other groups of
//! ioctls): their slots have no function, which `drm_ioctl()` answers with `EINVAL`.
//! `drm_ioctl()` copies arguments in and out and zero-extends older, shorter structs.

use crate::{bo_wait, context, device::Plugged, file::DrmFile, gem, query, submit, uapi, vm};
use kernel::{bindings, ioctl::_IOC_NR, ioctl::_IOC_SIZE};

/// A handler of one ioctl: gets the registered device, the calling file and the kernel copy of
/// the argument.
pub(crate) type Handler<T> = fn(&Plugged<'_>, &DrmFile, &mut T) -> kernel::error::Result<u32>;

/// The slot of an ioctl number no entry uses: no function, so `drm_ioctl()` returns `EINVAL`.
const HOLE: bindings::drm_ioctl_desc = bindings::drm_ioctl_desc {
    cmd: 0,
    flags: 0,
    func: None,
    name: core::ptr::null(),
};

macro_rules! xaccel_ioctls {
    ($( ($cmd:ident, $arg:ty, $flags:expr, $handler:path) ),* $(,)?) => {
        /// The ioctl table, indexed by ioctl number minus `DRM_COMMAND_BASE`; holes between
        /// entries have no function.
        pub(crate) const TABLE: &[bindings::drm_ioctl_desc] = {
            /// Slots: the highest entry's number plus one.
            const LEN: usize = {
                let mut len = 0;
                $(
                    let slot = (_IOC_NR(uapi::$cmd) - uapi::DRM_COMMAND_BASE) as usize;
                    if slot + 1 > len {
                        len = slot + 1;
                    }
                )*
                len
            };
            const ENTRIES: [bindings::drm_ioctl_desc; LEN] = {
                let mut table = [HOLE; LEN];
                // Entries come in strictly increasing number order, each with its size.
                let mut next = uapi::DRM_COMMAND_BASE;
                $(
                    assert!(_IOC_NR(uapi::$cmd) >= next, "ioctl table out of order");
                    assert!(_IOC_SIZE(uapi::$cmd) == core::mem::size_of::<$arg>());
                    next = _IOC_NR(uapi::$cmd) + 1;
                    table[(_IOC_NR(uapi::$cmd) - uapi::DRM_COMMAND_BASE) as usize] =
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
                };
                )*
                let _ = next;
                table
            };
            &ENTRIES
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
    (DRM_IOCTL_XACCEL_BO_WAIT, uapi::drm_xaccel_bo_wait,
        0, bo_wait::bo_wait),
    // 0x07 - 0x0f: further scheduling ioctls.
    (DRM_IOCTL_XACCEL_VM_CREATE, uapi::drm_xaccel_vm_create,
        0, vm::ioctl::vm_create),
    (DRM_IOCTL_XACCEL_VM_DESTROY, uapi::drm_xaccel_vm_destroy,
        0, vm::ioctl::vm_destroy),
    (DRM_IOCTL_XACCEL_VM_BIND, uapi::drm_xaccel_vm_bind,
        0, vm::ioctl::vm_bind),
    (DRM_IOCTL_XACCEL_VM_UNBIND, uapi::drm_xaccel_vm_unbind,
        0, vm::ioctl::vm_unbind),
    (DRM_IOCTL_XACCEL_BO_CREATE_USERPTR, uapi::drm_xaccel_bo_create_userptr,
        0, gem::userptr::bo_create_userptr),
    // 0x15 - 0x2f: further common ioctls; vendor extensions from DRM_XACCEL_VENDOR_BASE.
    (DRM_IOCTL_XACCEL_VENDOR_QUERY, uapi::drm_xaccel_query,
        0, query::vendor_query),
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kernel::prelude::kunit_tests(xaccel_ioctl_table)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_is_its_ioctl_or_a_hole() {
        for (slot, desc) in TABLE.iter().enumerate() {
            if desc.func.is_some() {
                assert_eq!((_IOC_NR(desc.cmd) - uapi::DRM_COMMAND_BASE) as usize, slot);
                assert!(!desc.name.is_null());
            } else {
                assert_eq!(desc.cmd, 0);
                assert!(desc.name.is_null());
            }
        }
    }

    #[test]
    fn the_vm_ioctls_sit_at_their_numbers_after_a_hole() {
        assert_eq!(TABLE.len(), 0x31);
        assert_eq!(TABLE[0x14].cmd, uapi::DRM_IOCTL_XACCEL_BO_CREATE_USERPTR);
        assert_eq!(TABLE[0x30].cmd, uapi::DRM_IOCTL_XACCEL_VENDOR_QUERY);
        assert!(TABLE[0x15].func.is_none() && TABLE[0x2f].func.is_none());
        assert_eq!(TABLE[0x05].cmd, uapi::DRM_IOCTL_XACCEL_SUBMIT);
        assert_eq!(TABLE[0x06].cmd, uapi::DRM_IOCTL_XACCEL_BO_WAIT);
        assert_eq!(TABLE[0x12].cmd, uapi::DRM_IOCTL_XACCEL_VM_BIND);
        assert!(TABLE[0x07].func.is_none() && TABLE[0x0f].func.is_none());
    }
}
