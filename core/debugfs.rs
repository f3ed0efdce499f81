// SPDX-License-Identifier: GPL-2.0-only

//! Per-device debugfs: `/sys/kernel/debug/accel/<device>/engines`, the scheduler's view of
//! every engine, for every backend alike.
//!
//! ```text
//! device resets=1
//! engine0 compute0 queued=0 running=1 completed=12 failed=2 last_error=-62 resets=1 deadlines=1 last_deadline_ns=123
//! ```
//!
//! `<device>` is the DRM device's unique name, its parent device's (`vaccel.0`), as for every
//! accel driver. The numbers are snapshots of the rings' counters ([`RingSnapshot`]); `resets`
//! on the device line is the total QUERY reports. The file is DRM's (`drm_debugfs_add_file()`),
//! created before the device is registered and removed when the device is released; its show
//! function is core code reading only the device's rings, which live as long as the device, so
//! it works after the backend is gone (and DRM refuses to open it once the device is unplugged).
//!
//! [`RingSnapshot`]: crate::sched::RingSnapshot

use crate::device::AccelDevice;
use kernel::{bindings, ffi::c_int, prelude::*, seq_file::SeqFile, seq_print, str::BStr};

/// A show function, given its seq_file and the device.
type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut bindings::drm_device) -> c_int;

// `drm_device` contains zero-sized members; it is only passed along by pointer.
#[allow(improper_ctypes)]
extern "C" {
    /// `drm_debugfs_add_file()` with a trampoline that calls `show` (`core/stats_c.c`).
    fn xaccel_debugfs_add(
        dev: *mut bindings::drm_device,
        name: *const kernel::ffi::c_char,
        show: ShowFn,
    );
}

/// Adds the device's debugfs files; call before registering it.
pub(crate) fn register(dev: &AccelDevice) {
    // SAFETY: `dev` is a live, initialised DRM device; the name is a static string and `show`
    // a function of this module, which outlives the device (see the module documentation).
    unsafe { xaccel_debugfs_add(dev.as_raw(), c"engines".as_char_ptr(), show_engines) };
}

/// Shows `engines`.
///
/// # Safety
///
/// `m` is the seq_file of an open `engines` file and `drm` the device it belongs to, which DRM
/// keeps alive while the file is open.
unsafe extern "C" fn show_engines(
    m: *mut bindings::seq_file,
    drm: *mut bindings::drm_device,
) -> c_int {
    // SAFETY: Every device with this file is an `AccelDevice` (added by `register` only),
    // alive while its file is open (safety requirements).
    let dev = unsafe { AccelDevice::from_raw(drm) };
    // SAFETY: `m` is a valid seq_file for the duration of this call (safety requirements).
    let seq = unsafe { SeqFile::from_raw(m) };
    seq_print!(seq, "device resets={}\n", dev.reset_count());
    for (index, engine) in (0u32..).zip(dev.layout.engines.iter()) {
        let Some(ring) = dev.exec.ring(index) else {
            continue;
        };
        let s = ring.snapshot();
        seq_print!(
            seq,
            "engine{} {} queued={} running={} completed={} failed={} last_error={} resets={} \
             deadlines={} last_deadline_ns={}\n",
            index,
            BStr::from_bytes(&engine.name.as_padded()[..engine.name.len()]),
            s.queued,
            s.running,
            s.completed,
            s.failed,
            s.last_error,
            s.resets,
            s.deadlines,
            s.last_deadline_ns
        );
    }
    0
}
