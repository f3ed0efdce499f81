// SPDX-License-Identifier: GPL-2.0-only

//! SUBMIT's BO list: reservation locking and implicit synchronisation.
//!
//! [`BoList::read`] reads the list from userspace and looks its objects up (the backend
//! validates the command buffer against it); [`BoList::lock`] then takes every listed object's
//! reservation lock (`drm_exec`, ww-mutex backoff, interruptible) and reserves one fence slot
//! in each, before the job is queued.
//! Under the locks, [`BoList::implicit_fences`] collects what the job must wait for (writers;
//! readers too for objects it writes), and once the job is queued [`BoList::publish`] adds its
//! finished fence to each reservation (cannot fail: the slots are reserved). Dropping the list
//! unlocks.
//!
//! # Lock order
//!
//! The reservation locks are taken first, alone (never under the scheduler's locks); the job is
//! pushed to its entity (entity queue spinlock, fence timeline lock) with them held.

use crate::{
    fence::DmaFence,
    file::DrmFile,
    gem::Bo,
    uapi::{self, drm_xaccel_submit_bo},
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::c_int,
    prelude::*,
    sync::aref::ARef,
    uaccess::{UserPtr, UserSlice},
};

/// `struct drm_exec`, only handled by pointer.
#[repr(C)]
struct RawExec {
    _opaque: [u8; 0],
}

// `drm_gem_object` contains zero-sized members; it is only passed along by pointer.
#[allow(improper_ctypes)]
extern "C" {
    /// Locks and reserves a slot in every object (`drm_exec`); NULL with `*err` on failure.
    fn xaccel_resv_lock(
        objs: *mut *mut bindings::drm_gem_object,
        count: u32,
        err: *mut c_int,
    ) -> *mut RawExec;
    /// `dma_resv_get_fences()` for a job reading (`write` false) or writing the object.
    fn xaccel_resv_fences(
        obj: *mut bindings::drm_gem_object,
        write: bool,
        fences: *mut *mut *mut bindings::dma_fence,
        count: *mut u32,
    ) -> c_int;
    /// `dma_resv_add_fence()` with write or read usage; the object is locked, a slot reserved.
    fn xaccel_resv_add_fence(
        obj: *mut bindings::drm_gem_object,
        fence: *mut bindings::dma_fence,
        write: bool,
    );
    /// `drm_exec_fini()` and free.
    fn xaccel_resv_unlock(exec: *mut RawExec);
    /// `kfree()`.
    fn xaccel_kfree(ptr: *const c_void);
}

/// One entry of the BO list.
struct Entry {
    bo: ARef<Bo>,
    write: bool,
    implicit: bool,
}

/// The BO list of a SUBMIT, locked once [`BoList::lock`] succeeded.
///
/// # Invariants
///
/// `exec` (when `Some`) is a `drm_exec` returned by `xaccel_resv_lock()` for the objects of
/// `entries`, all locked with one fence slot reserved, until dropped.
pub(crate) struct BoList {
    entries: KVec<Entry>,
    exec: Option<NonNull<RawExec>>,
}

impl BoList {
    /// Reads `count` entries at `addr` and looks the objects up in `file`, without locking.
    ///
    /// `E2BIG` above `DRM_XACCEL_MAX_SUBMIT_BOS`; `EINVAL` for unknown flags or a handle listed
    /// twice; `ENOENT` for a handle the file lacks; `EACCES` for a read-only object listed for
    /// writing (`DRM_XACCEL_SUBMIT_BO_WRITE`), whatever the command buffer does with it;
    /// `EFAULT`.
    pub(crate) fn read(file: &DrmFile, addr: u64, count: u32) -> Result<Self> {
        if count > uapi::DRM_XACCEL_MAX_SUBMIT_BOS {
            return Err(E2BIG);
        }
        let count = count as usize;
        let mut entries = KVec::with_capacity(count, GFP_KERNEL)?;
        if count == 0 {
            return Ok(Self {
                entries,
                exec: None,
            });
        }
        let size = core::mem::size_of::<drm_xaccel_submit_bo>();
        let addr = usize::try_from(addr).map_err(|_| EFAULT)?;
        let mut reader = UserSlice::new(UserPtr::from_addr(addr), count * size).reader();
        let known = uapi::DRM_XACCEL_SUBMIT_BO_WRITE | uapi::DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT;
        let mut handles = KVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            let mut raw = [0u8; 8];
            reader.read_slice(&mut raw)?;
            let handle = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let flags = u32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]);
            if flags & !known != 0 || handles.contains(&handle) {
                return Err(EINVAL);
            }
            handles.push(handle, GFP_KERNEL)?;
            let bo = Bo::lookup(file, handle)?;
            let write = flags & uapi::DRM_XACCEL_SUBMIT_BO_WRITE != 0;
            // The object's own access bounds the job's: a device writes nothing its user could
            // not (the backend only ever sees this entry's access).
            if write && bo.is_read_only() {
                return Err(EACCES);
            }
            entries.push(
                Entry {
                    bo,
                    write,
                    implicit: flags & uapi::DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT == 0,
                },
                GFP_KERNEL,
            )?;
        }
        // INVARIANT: Not locked.
        Ok(Self {
            entries,
            exec: None,
        })
    }

    /// Each entry's object and whether the job writes it, in list order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&ARef<Bo>, bool)> {
        self.entries.iter().map(|e| (&e.bo, e.write))
    }

    /// Locks every listed object and reserves one fence slot in each. Once, before
    /// [`BoList::implicit_fences`] and [`BoList::publish`]. `EINTR` if interrupted, `ENOMEM`.
    pub(crate) fn lock(&mut self) -> Result {
        if self.entries.is_empty() || self.exec.is_some() {
            return Ok(());
        }
        let mut objs = KVec::with_capacity(self.entries.len(), GFP_KERNEL)?;
        for entry in self.entries.iter() {
            objs.push(entry.bo.gem(), GFP_KERNEL)?;
        }
        let mut err = 0;
        // SAFETY: `objs` holds live GEM objects (we hold references in `entries`); their
        // number is at most `DRM_XACCEL_MAX_SUBMIT_BOS`.
        let exec = unsafe { xaccel_resv_lock(objs.as_mut_ptr(), objs.len() as u32, &mut err) };
        let exec = NonNull::new(exec).ok_or_else(|| Error::from_errno(err))?;
        // INVARIANT: `exec` locked every object of `entries` with a slot reserved.
        self.exec = Some(exec);
        Ok(())
    }

    /// The fences the job must wait for, from the reservations of its implicit entries.
    /// `EINVAL` if the list is not locked.
    pub(crate) fn implicit_fences(&self, into: &mut KVec<ARef<DmaFence>>) -> Result {
        if self.exec.is_none() && !self.entries.is_empty() {
            return Err(EINVAL);
        }
        for entry in self.entries.iter().filter(|e| e.implicit) {
            let mut fences = core::ptr::null_mut();
            let mut count = 0u32;
            // SAFETY: The object is live and locked (type invariants); the out pointers are
            // valid.
            kernel::error::to_result(unsafe {
                xaccel_resv_fences(entry.bo.gem(), entry.write, &mut fences, &mut count)
            })?;
            let mut result = Ok(());
            for i in 0..count as usize {
                // SAFETY: `dma_resv_get_fences()` returned `count` fence references in a
                // kmalloc'ed array; each is ours to take over exactly once, here.
                let fence =
                    unsafe { DmaFence::from_raw_owned(NonNull::new_unchecked(*fences.add(i))) };
                if result.is_ok() {
                    result = into.push(fence, GFP_KERNEL).map_err(Error::from);
                }
            }
            // SAFETY: The array came from kmalloc (or is NULL for none) and is not used again.
            unsafe { xaccel_kfree(fences.cast()) };
            result?;
        }
        Ok(())
    }

    /// Adds the job's finished fence to every listed object, as a writer or a reader; nothing
    /// if the list is not locked.
    pub(crate) fn publish(&self, fence: &DmaFence) {
        if self.exec.is_none() {
            return;
        }
        for entry in self.entries.iter() {
            // SAFETY: The object is locked with a slot reserved (type invariants); `fence` is
            // live and the reservation takes its own reference.
            unsafe { xaccel_resv_add_fence(entry.bo.gem(), fence.as_raw(), entry.write) };
        }
    }
}

impl Drop for BoList {
    fn drop(&mut self) {
        if let Some(exec) = self.exec.take() {
            // SAFETY: `exec` came from `xaccel_resv_lock()` and is released once, here.
            unsafe { xaccel_resv_unlock(exec.as_ptr()) };
        }
    }
}
