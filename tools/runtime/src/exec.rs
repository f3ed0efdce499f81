// SPDX-License-Identifier: GPL-2.0-only
//! Running jobs: [`Context`]s (CONTEXT_CREATE/DESTROY), [`Submit`] (SUBMIT) and DRM
//! [`Syncobj`]s to wait on their fences, with sync_file export and import; [`Bo::wait_idle`]
//! (BO_WAIT) waits for the jobs using a buffer object.
//!
//! ```no_run
//! use std::time::Duration;
//! use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};
//! let dev = Device::open("/dev/accel/accel0")?;
//! let ctx = Context::create(&dev, 0, Priority::Normal)?;
//! let done = Syncobj::create(&dev, false)?;
//! # let (cmds, len): (Bo, u64) = todo!();
//! let seqno = ctx.submit(&Submit::new(&cmds, 0, len).signal(&done, 0))?;
//! done.wait(0, Duration::from_secs(5))?;
//! # Ok::<(), xaccel::Error>(())
//! ```

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};
use xaccel_uapi::{
    drm_xaccel_bo_wait, drm_xaccel_context_create, drm_xaccel_context_destroy, drm_xaccel_submit,
    drm_xaccel_submit_bo, drm_xaccel_syncobj_ref, DRM_COMMAND_BASE, DRM_IOCTL_BASE,
    DRM_XACCEL_BO_WAIT, DRM_XACCEL_BO_WAIT_READ, DRM_XACCEL_BO_WAIT_WRITE,
    DRM_XACCEL_CONTEXT_CREATE, DRM_XACCEL_CONTEXT_DESTROY, DRM_XACCEL_PRIORITY_HIGH,
    DRM_XACCEL_PRIORITY_LOW, DRM_XACCEL_PRIORITY_NORMAL, DRM_XACCEL_PRIORITY_REALTIME,
    DRM_XACCEL_SUBMIT,
};

use crate::bo::Bo;
use crate::device::Device;
use crate::error::{Error, Result};

const CONTEXT_CREATE: Opcode = opcode::read_write::<drm_xaccel_context_create>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_CONTEXT_CREATE) as u8,
);
const CONTEXT_DESTROY: Opcode = opcode::read_write::<drm_xaccel_context_destroy>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_CONTEXT_DESTROY) as u8,
);
const SUBMIT: Opcode = opcode::read_write::<drm_xaccel_submit>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_SUBMIT) as u8,
);
const BO_WAIT: Opcode = opcode::read_write::<drm_xaccel_bo_wait>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_BO_WAIT) as u8,
);

/// `struct drm_syncobj_create` (drm.h).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct drm_syncobj_create {
    /// Out: the handle.
    pub handle: u32,
    /// In: `DRM_SYNCOBJ_CREATE_SIGNALED`.
    pub flags: u32,
}

/// `struct drm_syncobj_destroy` (drm.h).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct drm_syncobj_destroy {
    /// In: the handle.
    pub handle: u32,
    /// Must be zero.
    pub pad: u32,
}

/// `struct drm_syncobj_handle` (drm.h): handle to fd and back.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct drm_syncobj_handle {
    /// The syncobj handle.
    pub handle: u32,
    /// `DRM_SYNCOBJ_*_FLAGS_*`.
    pub flags: u32,
    /// The file descriptor.
    pub fd: i32,
    /// Must be zero.
    pub pad: u32,
    /// Timeline point for the `_TIMELINE` flags.
    pub point: u64,
}

/// `struct drm_syncobj_timeline_wait` (drm.h).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct drm_syncobj_timeline_wait {
    /// User pointer to the handles.
    pub handles: u64,
    /// User pointer to the points.
    pub points: u64,
    /// Absolute `CLOCK_MONOTONIC` timeout.
    pub timeout_nsec: i64,
    /// Number of handles.
    pub count_handles: u32,
    /// `DRM_SYNCOBJ_WAIT_FLAGS_*`.
    pub flags: u32,
    /// Out: the first signalled one.
    pub first_signaled: u32,
    /// Must be zero.
    pub pad: u32,
    /// Deadline hint.
    pub deadline_nsec: u64,
}

/// `DRM_SYNCOBJ_CREATE_SIGNALED`.
pub const DRM_SYNCOBJ_CREATE_SIGNALED: u32 = 1;
/// `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`.
pub const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE: u32 = 1;
/// `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`.
pub const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE: u32 = 1;
/// `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL`.
pub const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL: u32 = 1;

const SYNCOBJ_CREATE: Opcode = opcode::read_write::<drm_syncobj_create>(DRM_IOCTL_BASE as u8, 0xBF);
const SYNCOBJ_DESTROY: Opcode =
    opcode::read_write::<drm_syncobj_destroy>(DRM_IOCTL_BASE as u8, 0xC0);
const SYNCOBJ_HANDLE_TO_FD: Opcode =
    opcode::read_write::<drm_syncobj_handle>(DRM_IOCTL_BASE as u8, 0xC1);
const SYNCOBJ_FD_TO_HANDLE: Opcode =
    opcode::read_write::<drm_syncobj_handle>(DRM_IOCTL_BASE as u8, 0xC2);
const SYNCOBJ_TIMELINE_WAIT: Opcode =
    opcode::read_write::<drm_syncobj_timeline_wait>(DRM_IOCTL_BASE as u8, 0xCA);

/// `struct sync_file_info` (linux/sync_file.h).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct sync_file_info {
    name: [u8; 32],
    status: i32,
    flags: u32,
    num_fences: u32,
    pad: u32,
    sync_fence_info: u64,
}

const SYNC_IOC_FILE_INFO: Opcode = opcode::read_write::<sync_file_info>(b'>', 4);

fn ioctl_err(ioctl: &'static str) -> impl Fn(Errno) -> Error {
    move |errno| Error::Ioctl { ioctl, errno }
}

impl Device {
    /// `DRM_IOCTL_XACCEL_CONTEXT_CREATE` as is.
    pub fn context_create_raw(&self, args: &mut drm_xaccel_context_create) -> Result<(), Errno> {
        // SAFETY: The opcode's size and direction match `drm_xaccel_context_create`.
        unsafe { ioctl(self.as_fd(), Updater::<CONTEXT_CREATE, _>::new(args)) }
    }

    /// `DRM_IOCTL_XACCEL_CONTEXT_DESTROY` as is.
    pub fn context_destroy_raw(&self, args: &mut drm_xaccel_context_destroy) -> Result<(), Errno> {
        // SAFETY: The opcode's size and direction match `drm_xaccel_context_destroy`.
        unsafe { ioctl(self.as_fd(), Updater::<CONTEXT_DESTROY, _>::new(args)) }
    }

    /// `DRM_IOCTL_XACCEL_SUBMIT` as is.
    pub fn submit_raw(&self, args: &mut drm_xaccel_submit) -> Result<(), Errno> {
        // SAFETY: The opcode's size and direction match `drm_xaccel_submit`; the pointers
        // inside are the caller's business (the kernel checks them).
        unsafe { ioctl(self.as_fd(), Updater::<SUBMIT, _>::new(args)) }
    }

    /// `DRM_IOCTL_XACCEL_BO_WAIT` as is.
    pub fn bo_wait_raw(&self, args: &mut drm_xaccel_bo_wait) -> Result<(), Errno> {
        // SAFETY: The opcode's size and direction match `drm_xaccel_bo_wait`.
        unsafe { ioctl(self.as_fd(), Updater::<BO_WAIT, _>::new(args)) }
    }

    /// `DRM_IOCTL_SYNCOBJ_CREATE`: a new syncobj handle, signalled or not.
    pub fn syncobj_create_raw(&self, signaled: bool) -> Result<u32, Errno> {
        let mut args = drm_syncobj_create {
            handle: 0,
            flags: if signaled {
                DRM_SYNCOBJ_CREATE_SIGNALED
            } else {
                0
            },
        };
        // SAFETY: The opcode's size and direction match `drm_syncobj_create`.
        unsafe { ioctl(self.as_fd(), Updater::<SYNCOBJ_CREATE, _>::new(&mut args)) }?;
        Ok(args.handle)
    }

    /// `DRM_IOCTL_SYNCOBJ_DESTROY`.
    pub fn syncobj_destroy_raw(&self, handle: u32) -> Result<(), Errno> {
        let mut args = drm_syncobj_destroy { handle, pad: 0 };
        // SAFETY: The opcode's size and direction match `drm_syncobj_destroy`.
        unsafe { ioctl(self.as_fd(), Updater::<SYNCOBJ_DESTROY, _>::new(&mut args)) }
    }

    /// `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT` for all of `handles` at `points` (0: binary), up to
    /// `timeout` from now. `Err(ETIME)` on timeout.
    pub fn syncobj_wait_raw(
        &self,
        handles: &[u32],
        points: &[u64],
        timeout: Duration,
    ) -> Result<(), Errno> {
        assert_eq!(handles.len(), points.len());
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let now = now.tv_sec as i64 * 1_000_000_000 + now.tv_nsec as i64;
        let mut args = drm_syncobj_timeline_wait {
            handles: handles.as_ptr() as u64,
            points: points.as_ptr() as u64,
            timeout_nsec: now.saturating_add(timeout.as_nanos().try_into().unwrap_or(i64::MAX)),
            count_handles: handles.len() as u32,
            flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
            ..Default::default()
        };
        // SAFETY: The opcode's size and direction match; `handles` and `points` hold
        // `count_handles` entries each and outlive the call.
        unsafe {
            ioctl(
                self.as_fd(),
                Updater::<SYNCOBJ_TIMELINE_WAIT, _>::new(&mut args),
            )
        }
    }

    /// Exports the fence of syncobj `handle` as a sync_file.
    pub fn syncobj_export_sync_file_raw(&self, handle: u32) -> Result<OwnedFd, Errno> {
        let mut args = drm_syncobj_handle {
            handle,
            flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
            fd: -1,
            ..Default::default()
        };
        // SAFETY: The opcode's size and direction match `drm_syncobj_handle`.
        unsafe {
            ioctl(
                self.as_fd(),
                Updater::<SYNCOBJ_HANDLE_TO_FD, _>::new(&mut args),
            )
        }?;
        // SAFETY: On success the kernel installed a new file descriptor that we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(args.fd) })
    }

    /// Replaces the fence of syncobj `handle` with a sync_file's.
    pub fn syncobj_import_sync_file_raw(
        &self,
        handle: u32,
        fd: BorrowedFd<'_>,
    ) -> Result<(), Errno> {
        let mut args = drm_syncobj_handle {
            handle,
            flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
            fd: fd.as_raw_fd(),
            ..Default::default()
        };
        // SAFETY: The opcode's size and direction match `drm_syncobj_handle`.
        unsafe {
            ioctl(
                self.as_fd(),
                Updater::<SYNCOBJ_FD_TO_HANDLE, _>::new(&mut args),
            )
        }
    }
}

/// A sync_file's status: `Ok(true)` signalled, `Ok(false)` pending, `Err(errno)` signalled
/// with that error.
pub fn sync_file_status(fd: BorrowedFd<'_>) -> Result<Result<bool, Errno>> {
    let mut info = sync_file_info::default();
    // SAFETY: The opcode's size and direction match `sync_file_info`; `num_fences` 0 asks for
    // no fence array.
    unsafe { ioctl(fd, Updater::<SYNC_IOC_FILE_INFO, _>::new(&mut info)) }
        .map_err(ioctl_err("SYNC_IOC_FILE_INFO"))?;
    Ok(match info.status {
        1 => Ok(true),
        0 => Ok(false),
        e => Err(Errno::from_raw_os_error(-e)),
    })
}

/// A context's priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Background work.
    Low,
    /// The default.
    Normal,
    /// Interactive work.
    High,
    /// Needs `CAP_SYS_NICE`.
    Realtime,
}

impl Priority {
    /// The uAPI value.
    pub fn raw(self) -> u32 {
        match self {
            Self::Low => DRM_XACCEL_PRIORITY_LOW,
            Self::Normal => DRM_XACCEL_PRIORITY_NORMAL,
            Self::High => DRM_XACCEL_PRIORITY_HIGH,
            Self::Realtime => DRM_XACCEL_PRIORITY_REALTIME,
        }
    }
}

/// A context: jobs on one engine, in order; destroyed when dropped.
#[derive(Debug)]
pub struct Context<'d> {
    dev: &'d Device,
    id: u32,
}

impl<'d> Context<'d> {
    /// Creates a context on `engine`.
    pub fn create(dev: &'d Device, engine: u32, priority: Priority) -> Result<Self> {
        let mut args = drm_xaccel_context_create {
            engine,
            priority: priority.raw(),
            ..Default::default()
        };
        dev.context_create_raw(&mut args)
            .map_err(ioctl_err("CONTEXT_CREATE"))?;
        Ok(Self {
            dev,
            id: args.context_id,
        })
    }

    /// The context's id in its file.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Queues a job; returns its sequence number in this context.
    pub fn submit(&self, submit: &Submit<'_>) -> Result<u64> {
        let mut args = submit.to_raw(self.id);
        self.dev
            .submit_raw(&mut args)
            .map_err(ioctl_err("SUBMIT"))?;
        Ok(args.seqno)
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        let mut args = drm_xaccel_context_destroy {
            context_id: self.id,
            pad: 0,
        };
        // The id is ours; closing the file destroys it anyway.
        let _: Result<(), Errno> = self.dev.context_destroy_raw(&mut args);
    }
}

/// A job to submit: its command buffer, the fences it waits for and the one it signals.
#[derive(Debug)]
pub struct Submit<'a> {
    cmd_handle: u32,
    cmd_offset: u64,
    cmd_size: u64,
    waits: Vec<drm_xaccel_syncobj_ref>,
    bos: Vec<drm_xaccel_submit_bo>,
    signal: Option<(u32, u64)>,
    timeout: Option<Duration>,
    vm_id: u32,
    _bo: std::marker::PhantomData<&'a ()>,
}

impl<'a> Submit<'a> {
    /// A job running `size` bytes of commands at `offset` of `cmds`.
    pub fn new(cmds: &'a Bo<'_>, offset: u64, size: u64) -> Self {
        Self {
            cmd_handle: cmds.handle(),
            cmd_offset: offset,
            cmd_size: size,
            waits: Vec::new(),
            bos: Vec::new(),
            signal: None,
            timeout: None,
            vm_id: 0,
            _bo: std::marker::PhantomData,
        }
    }

    /// Waits for `point` of `syncobj` (0: its current fence) before running.
    pub fn wait(mut self, syncobj: &Syncobj<'_>, point: u64) -> Self {
        self.waits.push(drm_xaccel_syncobj_ref {
            handle: syncobj.handle,
            flags: 0,
            point,
        });
        self
    }

    /// Lists a buffer object the job uses, with `DRM_XACCEL_SUBMIT_BO_*` flags (write,
    /// no implicit synchronisation).
    pub fn bo(mut self, bo: &'a Bo<'_>, flags: u32) -> Self {
        self.bos.push(drm_xaccel_submit_bo {
            handle: bo.handle(),
            flags,
        });
        self
    }

    /// Installs the job's fence in `syncobj` at `point` (0: replaces its fence).
    pub fn signal(mut self, syncobj: &Syncobj<'_>, point: u64) -> Self {
        self.signal = Some((syncobj.handle, point));
        self
    }

    /// Resolves the command buffer's device-VA operands through `vm` (SUBMIT's `vm_id`).
    pub fn vm(mut self, vm: &'a crate::Vm<'_>) -> Self {
        self.vm_id = vm.id();
        self
    }

    /// Overrides the job's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The raw argument for context `context_id`; pointers borrow `self`.
    pub fn to_raw(&self, context_id: u32) -> drm_xaccel_submit {
        let (out_syncobj, out_point) = self.signal.unwrap_or((0, 0));
        drm_xaccel_submit {
            context_id,
            cmd_handle: self.cmd_handle,
            cmd_offset: self.cmd_offset,
            cmd_size: self.cmd_size,
            in_syncobjs: if self.waits.is_empty() {
                0
            } else {
                self.waits.as_ptr() as u64
            },
            in_syncobj_count: self.waits.len() as u32,
            bos: if self.bos.is_empty() {
                0
            } else {
                self.bos.as_ptr() as u64
            },
            bo_count: self.bos.len() as u32,
            out_syncobj,
            out_point,
            timeout_ns: self
                .timeout
                .map_or(0, |t| t.as_nanos().try_into().unwrap_or(u64::MAX)),
            vm_id: self.vm_id,
            ..Default::default()
        }
    }
}

/// A DRM syncobj of a device file; destroyed when dropped.
#[derive(Debug)]
pub struct Syncobj<'d> {
    dev: &'d Device,
    handle: u32,
}

impl<'d> Syncobj<'d> {
    /// Creates a syncobj, with a signalled fence or none.
    pub fn create(dev: &'d Device, signaled: bool) -> Result<Self> {
        let handle = dev
            .syncobj_create_raw(signaled)
            .map_err(ioctl_err("SYNCOBJ_CREATE"))?;
        Ok(Self { dev, handle })
    }

    /// The handle.
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Waits until `point` (0: the current fence) has signalled, at most `timeout`
    /// (`ETIME` then).
    pub fn wait(&self, point: u64, timeout: Duration) -> Result<()> {
        self.dev
            .syncobj_wait_raw(&[self.handle], &[point], timeout)
            .map_err(ioctl_err("SYNCOBJ_TIMELINE_WAIT"))
    }

    /// The current fence as a sync_file (pollable; its status tells errors apart).
    pub fn export_sync_file(&self) -> Result<OwnedFd> {
        self.dev
            .syncobj_export_sync_file_raw(self.handle)
            .map_err(ioctl_err("SYNCOBJ_HANDLE_TO_FD"))
    }

    /// Replaces the fence with a sync_file's (from any driver).
    pub fn import_sync_file(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.dev
            .syncobj_import_sync_file_raw(self.handle, fd)
            .map_err(ioctl_err("SYNCOBJ_FD_TO_HANDLE"))
    }
}

impl Drop for Syncobj<'_> {
    fn drop(&mut self) {
        let _: Result<(), Errno> = self.dev.syncobj_destroy_raw(self.handle);
    }
}

/// What the CPU is about to do with a buffer object, for [`Bo::wait_idle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuAccess {
    /// Read it: the jobs writing it must be done.
    Read,
    /// Write it: every job using it must be done.
    Write,
}

impl Bo<'_> {
    /// `DRM_IOCTL_XACCEL_BO_WAIT`: waits up to `timeout` (`None`: only checks) until the jobs
    /// using the object are done for `access`. `Err` with `EBUSY` (checked, busy) or
    /// `ETIMEDOUT` if they are not.
    pub fn wait_idle(&self, access: CpuAccess, timeout: Option<Duration>) -> Result<()> {
        let timeout_ns = match timeout {
            None => 0,
            Some(t) => {
                let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
                let now = now.tv_sec as i64 * 1_000_000_000 + now.tv_nsec as i64;
                now.saturating_add(i64::try_from(t.as_nanos()).unwrap_or(i64::MAX))
            }
        };
        let mut args = drm_xaccel_bo_wait {
            handle: self.handle(),
            flags: match access {
                CpuAccess::Read => DRM_XACCEL_BO_WAIT_READ,
                CpuAccess::Write => DRM_XACCEL_BO_WAIT_WRITE,
            },
            timeout_ns,
            pad: 0,
        };
        self.device()
            .bo_wait_raw(&mut args)
            .map_err(ioctl_err("BO_WAIT"))
    }
}
