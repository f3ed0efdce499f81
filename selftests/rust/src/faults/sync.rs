// SPDX-License-Identifier: GPL-2.0-only
//! DRM's syncobj ioctls (`include/uapi/drm/drm.h`) as raw calls on a device file, each making
//! exactly one system call, so that the fault-injection sweeps can arm it alone.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};
use xaccel::uapi::DRM_IOCTL_BASE;
use xaccel::Device;

/// `struct drm_syncobj_create`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Create {
    pub handle: u32,
    pub flags: u32,
}

/// `struct drm_syncobj_destroy`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Destroy {
    pub handle: u32,
    pub pad: u32,
}

/// `struct drm_syncobj_handle`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Handle {
    pub handle: u32,
    pub flags: u32,
    pub fd: i32,
    pub pad: u32,
    pub point: u64,
}

/// `struct drm_syncobj_timeline_wait`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct TimelineWait {
    pub handles: u64,
    pub points: u64,
    pub timeout_nsec: i64,
    pub count_handles: u32,
    pub flags: u32,
    pub first_signaled: u32,
    pub pad: u32,
    pub deadline_nsec: u64,
}

/// `struct drm_syncobj_timeline_array` (QUERY, TIMELINE_SIGNAL).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct TimelineArray {
    pub handles: u64,
    pub points: u64,
    pub count_handles: u32,
    pub flags: u32,
}

/// `struct drm_syncobj_transfer`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Transfer {
    pub src_handle: u32,
    pub dst_handle: u32,
    pub src_point: u64,
    pub dst_point: u64,
    pub flags: u32,
    pub pad: u32,
}

/// `DRM_SYNCOBJ_CREATE_SIGNALED`.
pub const CREATE_SIGNALED: u32 = 1;
/// `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE` (and the import flag, same bit).
pub const SYNC_FILE: u32 = 1;
/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL`.
pub const WAIT_ALL: u32 = 1;

const BASE: u8 = DRM_IOCTL_BASE as u8;
pub const CREATE: Opcode = opcode::read_write::<Create>(BASE, 0xBF);
pub const DESTROY: Opcode = opcode::read_write::<Destroy>(BASE, 0xC0);
pub const HANDLE_TO_FD: Opcode = opcode::read_write::<Handle>(BASE, 0xC1);
pub const FD_TO_HANDLE: Opcode = opcode::read_write::<Handle>(BASE, 0xC2);
pub const TIMELINE_WAIT: Opcode = opcode::read_write::<TimelineWait>(BASE, 0xCA);
pub const QUERY: Opcode = opcode::read_write::<TimelineArray>(BASE, 0xCB);
pub const TRANSFER: Opcode = opcode::read_write::<Transfer>(BASE, 0xCC);
pub const TIMELINE_SIGNAL: Opcode = opcode::read_write::<TimelineArray>(BASE, 0xCD);

/// One syncobj ioctl `OP` with `args` as is.
///
/// # Safety
///
/// `T` is the struct of `OP`, and any pointer in `args` is valid for what the ioctl reads or
/// writes through it.
pub unsafe fn raw<const OP: Opcode, T>(dev: &Device, args: &mut T) -> Result<(), Errno> {
    // SAFETY: The caller's contract.
    unsafe { ioctl(dev.as_fd(), Updater::<OP, T>::new(args)) }
}

/// Creates a syncobj (`signaled`: with a signalled fence).
pub fn create(dev: &Device, signaled: bool) -> Result<u32, Errno> {
    let mut args = Create {
        handle: 0,
        flags: if signaled { CREATE_SIGNALED } else { 0 },
    };
    // SAFETY: CREATE takes a `Create`, which holds no pointers.
    unsafe { raw::<CREATE, _>(dev, &mut args) }?;
    Ok(args.handle)
}

/// Destroys syncobj `handle`.
pub fn destroy(dev: &Device, handle: u32) -> Result<(), Errno> {
    let mut args = Destroy { handle, pad: 0 };
    // SAFETY: DESTROY takes a `Destroy`, which holds no pointers.
    unsafe { raw::<DESTROY, _>(dev, &mut args) }
}

/// Exports `handle` as a syncobj fd, or (`sync_file`) its fence as a sync_file.
pub fn export(dev: &Device, handle: u32, sync_file: bool) -> Result<OwnedFd, Errno> {
    let mut args = Handle {
        handle,
        flags: if sync_file { SYNC_FILE } else { 0 },
        fd: -1,
        ..Default::default()
    };
    // SAFETY: HANDLE_TO_FD takes a `Handle`, which holds no pointers.
    unsafe { raw::<HANDLE_TO_FD, _>(dev, &mut args) }?;
    // SAFETY: On success the kernel installed a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(args.fd) })
}

/// Imports a syncobj fd as a new handle, or (`into`) a sync_file's fence into syncobj `into`.
pub fn import(dev: &Device, fd: BorrowedFd<'_>, into: Option<u32>) -> Result<u32, Errno> {
    let mut args = Handle {
        handle: into.unwrap_or(0),
        flags: if into.is_some() { SYNC_FILE } else { 0 },
        fd: fd.as_raw_fd(),
        ..Default::default()
    };
    // SAFETY: FD_TO_HANDLE takes a `Handle`, which holds no pointers.
    unsafe { raw::<FD_TO_HANDLE, _>(dev, &mut args) }?;
    Ok(args.handle)
}

/// Signals `point` of timeline syncobj `handle` (0: a binary syncobj).
pub fn signal(dev: &Device, handle: u32, point: u64) -> Result<(), Errno> {
    let (handles, points) = ([handle], [point]);
    let mut args = TimelineArray {
        handles: handles.as_ptr() as u64,
        points: points.as_ptr() as u64,
        count_handles: 1,
        flags: 0,
    };
    // SAFETY: `handles` and `points` hold one entry each and outlive the call.
    unsafe { raw::<TIMELINE_SIGNAL, _>(dev, &mut args) }
}

/// The last signalled point of timeline syncobj `handle`.
pub fn point(dev: &Device, handle: u32) -> Result<u64, Errno> {
    let handles = [handle];
    let mut points = [0u64];
    let mut args = TimelineArray {
        handles: handles.as_ptr() as u64,
        points: points.as_mut_ptr() as u64,
        count_handles: 1,
        flags: 0,
    };
    // SAFETY: `handles` and `points` hold one entry each and outlive the call; the kernel
    // writes `points`.
    unsafe { raw::<QUERY, _>(dev, &mut args) }?;
    Ok(points[0])
}
