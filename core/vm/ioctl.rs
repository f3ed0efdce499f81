// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_VM_CREATE`, `_VM_DESTROY`, `_VM_BIND` and `_VM_UNBIND`.
//!
//! [`BindRequest::new`] and [`UnbindRequest::new`] hold the argument checks that need no state
//! and are pure functions, tested by KUnit below; the handlers look up the VM and the buffer
//! object and call [`Vm`](super::Vm). Nothing is written back to userspace unless the call
//! succeeded.

use crate::{
    backend::Access,
    device::Plugged,
    file::DrmFile,
    gem::Bo,
    uapi::{
        drm_xaccel_vm_bind, drm_xaccel_vm_create, drm_xaccel_vm_destroy, drm_xaccel_vm_unbind,
        DRM_XACCEL_VM_BIND_READ_ONLY, DRM_XACCEL_VM_BIND_READ_WRITE,
    },
};
use core::ops::Range;
use kernel::{page::PAGE_SIZE, prelude::*};

/// A VM_BIND request whose VA range is valid for the device.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BindRequest {
    pub(crate) va: u64,
    pub(crate) size: u64,
    pub(crate) bo_offset: u64,
    pub(crate) access: Access,
}

/// Whether `value` is a multiple of `page`.
fn aligned(value: u64, page: u64) -> bool {
    value % page == 0
}

impl BindRequest {
    /// Checks `args` against the device's VA `window`, with pages of `page` bytes.
    ///
    /// Errors (all `EINVAL`): unknown flags or not exactly one access flag, nonzero `pad` or
    /// `reserved`, a zero size, a VA, size or offset that is not page-aligned, a VA range that
    /// overflows or is not inside `window`. The object range is checked against the object.
    pub(crate) fn new(args: &drm_xaccel_vm_bind, window: &Range<u64>, page: u64) -> Result<Self> {
        let access = match args.flags {
            DRM_XACCEL_VM_BIND_READ_ONLY => Access::ReadOnly,
            DRM_XACCEL_VM_BIND_READ_WRITE => Access::ReadWrite,
            _ => return Err(EINVAL),
        };
        if args.pad != 0 || args.reserved != [0; 2] || args.size == 0 {
            return Err(EINVAL);
        }
        if !aligned(args.va, page) || !aligned(args.size, page) || !aligned(args.bo_offset, page) {
            return Err(EINVAL);
        }
        let end = args.va.checked_add(args.size).ok_or(EINVAL)?;
        if args.va < window.start || end > window.end {
            return Err(EINVAL);
        }
        args.bo_offset.checked_add(args.size).ok_or(EINVAL)?;
        Ok(Self {
            va: args.va,
            size: args.size,
            bo_offset: args.bo_offset,
            access,
        })
    }

    /// Checks the object range against an object of `bo_size` bytes (`EINVAL` if beyond it).
    pub(crate) fn check_object(&self, bo_size: u64) -> Result {
        match self.bo_offset.checked_add(self.size) {
            Some(end) if end <= bo_size => Ok(()),
            _ => Err(EINVAL),
        }
    }
}

/// A valid VM_UNBIND request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnbindRequest {
    pub(crate) va: u64,
    pub(crate) size: u64,
}

impl UnbindRequest {
    /// Checks `args`, with pages of `page` bytes.
    ///
    /// Errors (all `EINVAL`): nonzero `flags` or `reserved`, a zero size, a VA or size that is
    /// not page-aligned, a range that overflows. A range outside the VA window is valid here and
    /// simply not mapped (`ENOENT` from the VM).
    pub(crate) fn new(args: &drm_xaccel_vm_unbind, page: u64) -> Result<Self> {
        if args.flags != 0 || args.reserved != [0; 2] || args.size == 0 {
            return Err(EINVAL);
        }
        if !aligned(args.va, page) || !aligned(args.size, page) {
            return Err(EINVAL);
        }
        args.va.checked_add(args.size).ok_or(EINVAL)?;
        Ok(Self {
            va: args.va,
            size: args.size,
        })
    }
}

/// The VM_CREATE ioctl. Errors: `EINVAL` for nonzero `flags` or `reserved`, `ENOSPC`, `ENOMEM`.
pub(crate) fn vm_create(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_vm_create,
) -> Result<u32> {
    if args.flags != 0 || args.reserved != [0; 2] {
        return Err(EINVAL);
    }
    args.vm_id = file.state().vms().create(plugged.dev)?;
    Ok(0)
}

/// The VM_DESTROY ioctl. Errors: `EINVAL` for nonzero `pad` or `reserved`, `ENOENT` for an id
/// this file has no VM for.
pub(crate) fn vm_destroy(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_vm_destroy,
) -> Result<u32> {
    if args.pad != 0 || args.reserved != 0 {
        return Err(EINVAL);
    }
    file.state().vms().destroy(plugged, args.vm_id)?;
    Ok(0)
}

/// The VM_BIND ioctl: [`BindRequest::new`]'s errors, `ENOENT` for an unknown VM or handle,
/// `EINVAL` for an object range beyond the object, then those of `Vm::bind`.
pub(crate) fn vm_bind(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_vm_bind,
) -> Result<u32> {
    let req = BindRequest::new(args, &plugged.dev.layout.va_range, PAGE_SIZE as u64)?;
    let vm = file.state().vms().get(args.vm_id)?;
    let bo = Bo::lookup(file, args.handle)?;
    req.check_object(bo.size())?;
    vm.bind(plugged, req.va, bo, req.bo_offset, req.size, req.access)?;
    Ok(0)
}

/// The VM_UNBIND ioctl: [`UnbindRequest::new`]'s errors, `ENOENT` for an unknown VM, then those
/// of `Vm::unbind`.
pub(crate) fn vm_unbind(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    args: &mut drm_xaccel_vm_unbind,
) -> Result<u32> {
    let req = UnbindRequest::new(args, PAGE_SIZE as u64)?;
    let vm = file.state().vms().get(args.vm_id)?;
    vm.unbind(plugged, req.va, req.size)?;
    Ok(0)
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_vm_ioctl)]
mod tests {
    use super::*;

    const P: u64 = 4096;
    const WINDOW: Range<u64> = (1 << 32)..(1 << 40);

    fn bind(va: u64, size: u64, bo_offset: u64) -> drm_xaccel_vm_bind {
        drm_xaccel_vm_bind {
            vm_id: 1,
            handle: 1,
            bo_offset,
            size,
            va,
            flags: DRM_XACCEL_VM_BIND_READ_WRITE,
            ..Default::default()
        }
    }

    fn check(args: &drm_xaccel_vm_bind) -> Result<BindRequest> {
        BindRequest::new(args, &WINDOW, P)
    }

    #[test]
    fn a_valid_bind_keeps_everything() {
        let mut a = bind(WINDOW.start, 2 * P, P);
        a.flags = DRM_XACCEL_VM_BIND_READ_ONLY;
        assert_eq!(
            check(&a),
            Ok(BindRequest {
                va: WINDOW.start,
                size: 2 * P,
                bo_offset: P,
                access: Access::ReadOnly
            })
        );
        assert!(check(&bind(WINDOW.end - P, P, 0)).is_ok());
    }

    #[test]
    fn exactly_one_access_flag() {
        for flags in [0, 3, 4, 1 << 31, DRM_XACCEL_VM_BIND_READ_ONLY | 8] {
            let a = drm_xaccel_vm_bind {
                flags,
                ..bind(WINDOW.start, P, 0)
            };
            assert_eq!(check(&a), Err(EINVAL));
        }
    }

    #[test]
    fn pad_and_reserved_must_be_zero() {
        let a = drm_xaccel_vm_bind {
            pad: 1,
            ..bind(WINDOW.start, P, 0)
        };
        assert_eq!(check(&a), Err(EINVAL));
        for i in 0..2 {
            let mut a = bind(WINDOW.start, P, 0);
            a.reserved[i] = 1;
            assert_eq!(check(&a), Err(EINVAL));
        }
    }

    #[test]
    fn everything_is_page_aligned_and_nonzero() {
        for (va, size, offset) in [
            (WINDOW.start + 1, P, 0),
            (WINDOW.start, P + 1, 0),
            (WINDOW.start, P, 512),
            (WINDOW.start, 0, 0),
        ] {
            assert_eq!(check(&bind(va, size, offset)), Err(EINVAL));
        }
    }

    #[test]
    fn the_va_range_stays_in_the_window() {
        for (va, size) in [
            (WINDOW.start - P, P),
            (WINDOW.start - P, 2 * P),
            (WINDOW.end, P),
            (WINDOW.end - P, 2 * P),
            (u64::MAX - P + 1, P),
            (WINDOW.start, u64::MAX - P + 1),
        ] {
            assert_eq!(check(&bind(va, size, 0)), Err(EINVAL));
        }
        // An empty window takes nothing.
        assert_eq!(BindRequest::new(&bind(0, P, 0), &(0..0), P), Err(EINVAL));
    }

    #[test]
    fn the_object_range_is_checked_without_overflow() {
        let req = check(&bind(WINDOW.start, 2 * P, 2 * P)).unwrap();
        assert_eq!(req.check_object(4 * P), Ok(()));
        assert_eq!(req.check_object(3 * P), Err(EINVAL));
        assert_eq!(check(&bind(WINDOW.start, P, u64::MAX - P + 1)), Err(EINVAL));
    }

    #[test]
    fn unbind_checks() {
        let ok = drm_xaccel_vm_unbind {
            vm_id: 1,
            va: 3 * P,
            size: P,
            ..Default::default()
        };
        assert_eq!(
            UnbindRequest::new(&ok, P),
            Ok(UnbindRequest { va: 3 * P, size: P })
        );
        let bad = [
            drm_xaccel_vm_unbind { flags: 1, ..ok },
            drm_xaccel_vm_unbind {
                reserved: [0, 1],
                ..ok
            },
            drm_xaccel_vm_unbind { size: 0, ..ok },
            drm_xaccel_vm_unbind { va: P + 1, ..ok },
            drm_xaccel_vm_unbind { size: P - 1, ..ok },
            drm_xaccel_vm_unbind {
                va: u64::MAX - P + 1,
                size: P,
                ..ok
            },
        ];
        for args in bad.iter() {
            assert_eq!(UnbindRequest::new(args, P), Err(EINVAL));
        }
    }
}
