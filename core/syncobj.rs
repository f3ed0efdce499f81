// SPDX-License-Identifier: GPL-2.0-only

//! DRM syncobjs as SUBMIT uses them: in-fences (binary or timeline points) and the out-fence.
//!
//! The syncobjs themselves are DRM's (`DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE`): userspace
//! creates, waits on, exports and imports them with the standard `DRM_IOCTL_SYNCOBJ_*` ioctls.
//! The C they need that bindgen lacks is in `exec_c.c`.

use crate::{
    fence::{ChainNode, DmaFence},
    file::DrmFile,
};
use core::ptr::NonNull;
use kernel::{bindings, ffi::c_int, prelude::*, sync::aref::ARef};

/// `struct drm_syncobj`, only handled by pointer.
#[repr(C)]
struct RawSyncobj {
    _opaque: [u8; 0],
}

// `drm_file` and `drm_gem_shmem_object` contain zero-sized members; they are only passed by
// pointer, never read through these declarations.
#[allow(improper_ctypes)]
extern "C" {
    /// `drm_syncobj_find()`: a reference, or NULL.
    fn xaccel_syncobj_find(file: *mut bindings::drm_file, handle: u32) -> *mut RawSyncobj;
    /// `drm_syncobj_put()`.
    fn xaccel_syncobj_put(syncobj: *mut RawSyncobj);
    /// `drm_syncobj_find_fence()` with no flags.
    fn xaccel_syncobj_find_fence(
        file: *mut bindings::drm_file,
        handle: u32,
        point: u64,
        fence: *mut *mut bindings::dma_fence,
    ) -> c_int;
    /// `drm_syncobj_add_point()` (consuming `chain`) for a nonzero `point`, else
    /// `drm_syncobj_replace_fence()`.
    fn xaccel_syncobj_install(
        syncobj: *mut RawSyncobj,
        chain: *mut c_void,
        fence: *mut bindings::dma_fence,
        point: u64,
    );
}

/// The fence of point `point` (0: the current fence) of syncobj `handle` of `file`.
///
/// `ENOENT` for a handle the file does not have; `EINVAL` for a nonzero point on a binary
/// syncobj, or a syncobj (point) without a fence yet.
pub(crate) fn find_fence(file: &DrmFile, handle: u32, point: u64) -> Result<ARef<DmaFence>> {
    let mut fence = core::ptr::null_mut();
    // SAFETY: `file` is an open `drm_file`; `fence` is a valid out pointer.
    let ret = unsafe { xaccel_syncobj_find_fence(file.as_raw(), handle, point, &mut fence) };
    kernel::error::to_result(ret)?;
    let fence = NonNull::new(fence).ok_or(EINVAL)?;
    // SAFETY: On success `drm_syncobj_find_fence()` hands us a fence reference.
    Ok(unsafe { DmaFence::from_raw_owned(fence) })
}

/// A reference on a syncobj.
///
/// # Invariants
///
/// `raw` is a syncobj on which this value owns one reference.
pub(crate) struct Syncobj {
    raw: NonNull<RawSyncobj>,
}

impl Syncobj {
    /// Looks up `handle` in `file`: `ENOENT` if the file has no such syncobj.
    pub(crate) fn find(file: &DrmFile, handle: u32) -> Result<Self> {
        // SAFETY: `file` is an open `drm_file`.
        let raw = unsafe { xaccel_syncobj_find(file.as_raw(), handle) };
        // INVARIANT: A non-null result carries a reference for us.
        Ok(Self {
            raw: NonNull::new(raw).ok_or(ENOENT)?,
        })
    }

    /// Installs `fence` as point `point` (with `chain`, allocated beforehand), or as the binary
    /// fence for point 0. The syncobj takes its own fence reference.
    pub(crate) fn install(&self, chain: Option<ChainNode>, fence: &DmaFence, point: u64) {
        let chain: *mut c_void = match chain {
            Some(chain) if point != 0 => chain.into_raw().cast(),
            _ => core::ptr::null_mut(),
        };
        if point != 0 && chain.is_null() {
            // A point needs a chain node; the caller always allocates one (see SUBMIT).
            return;
        }
        // SAFETY: `self.raw` is a live syncobj (type invariant); `fence` is a live fence the
        // syncobj takes its own reference on; `chain` is an unpublished chain node we own,
        // which `drm_syncobj_add_point()` consumes, or NULL for a binary install.
        unsafe { xaccel_syncobj_install(self.raw.as_ptr(), chain, fence.as_raw(), point) };
    }
}

impl Drop for Syncobj {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant).
        unsafe { xaccel_syncobj_put(self.raw.as_ptr()) };
    }
}

// SAFETY: A syncobj reference may be used and dropped from any thread (syncobjs lock
// themselves).
unsafe impl Send for Syncobj {}
