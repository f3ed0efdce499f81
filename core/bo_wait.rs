// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_BO_WAIT`: waits until a buffer object is idle for a CPU access.
//!
//! The jobs using an object are the fences in its reservation: SUBMIT adds every job's finished
//! fence there, as a writer or a reader (see `resv.rs`), and so do other drivers through
//! dma-buf. Waiting to read needs the writers done (`DMA_RESV_USAGE_WRITE`), waiting to write
//! needs everyone done (`DMA_RESV_USAGE_READ`). The wait itself is `dma_resv_wait_timeout()`,
//! interruptible, without the reservation lock; nothing is changed, so a failed call leaves
//! everything (the argument included) as it was.

use crate::{device::Plugged, file::DrmFile, gem::Bo, uapi};
use kernel::{bindings, error::to_result, prelude::*};

// `drm_gem_object` contains zero-sized members; it is only passed along by pointer.
#[allow(improper_ctypes)]
extern "C" {
    /// Waits for or checks the fences of `obj` (`core/exec_c.c`); 0, `-EBUSY`, `-ETIMEDOUT`,
    /// `-ERESTARTSYS`.
    fn xaccel_bo_wait_idle(
        obj: *mut bindings::drm_gem_object,
        write: bool,
        timeout_ns: i64,
    ) -> kernel::ffi::c_int;
}

/// The BO_WAIT ioctl; see the module documentation and the uAPI header.
pub(crate) fn bo_wait(
    _plugged: &Plugged<'_>,
    file: &DrmFile,
    arg: &mut uapi::drm_xaccel_bo_wait,
) -> Result<u32> {
    let known = uapi::DRM_XACCEL_BO_WAIT_READ | uapi::DRM_XACCEL_BO_WAIT_WRITE;
    if arg.flags == 0 || arg.flags & !known != 0 || arg.pad != 0 {
        return Err(EINVAL);
    }
    let bo = Bo::lookup(file, arg.handle)?;
    let write = arg.flags & uapi::DRM_XACCEL_BO_WAIT_WRITE != 0;
    // SAFETY: `bo` holds a reference on the object for the whole call; its reservation is
    // initialised with it.
    to_result(unsafe { xaccel_bo_wait_idle(bo.gem(), write, arg.timeout_ns) })?;
    Ok(0)
}
