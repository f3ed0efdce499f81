// SPDX-License-Identifier: GPL-2.0-only

//! Per-file engine utilisation in `/proc/<pid>/fdinfo/<fd>`: `drm-engine-<engine>`.
//!
//! Each open file keeps one [`BusyClock`] per engine, shared by all its contexts on that engine:
//! the time during which at least one of the file's jobs was dispatched there and not done, in
//! ns, the standard key of `Documentation/gpu/drm-usage-stats.rst`. Tools sample it twice and
//! divide the difference by the wall time between the samples to get a utilisation. Every engine
//! is its own, named one (`drm-engine-capacity-<engine>` would only be printed for a capacity
//! above 1, which no xaccel engine has).
//!
//! [`show_fdinfo`] is the device's `drm_driver.show_fdinfo`: the memory keys (`gem::fdinfo`),
//! then the engine keys, then xaccel's own keys: `xaccel-contexts` and `xaccel-vms`, how many
//! contexts and device VMs the file holds (so that a tool, or a test checking that a failed
//! call left nothing behind, can count them without creating any). DRM calls it inside a
//! `drm_dev_enter()` section.
//!
//! [`BusyClock`]: crate::sched::BusyClock

use crate::{file::DrmFile, gem};
use kernel::bindings;

extern "C" {
    /// Prints `drm-engine-<engine>:\t<busy_ns> ns` (`core/stats_c.c`).
    fn xaccel_fdinfo_engine(
        p: *mut bindings::drm_printer,
        engine: *const kernel::ffi::c_char,
        busy_ns: u64,
    );

    /// Prints `xaccel-contexts:\t<contexts>` and `xaccel-vms:\t<vms>` (`core/stats_c.c`).
    fn xaccel_fdinfo_objects(p: *mut bindings::drm_printer, contexts: u32, vms: u32);
}

/// `drm_driver.show_fdinfo`: the memory keys, one busy time per engine, the object counts.
pub(crate) extern "C" fn show_fdinfo(p: *mut bindings::drm_printer, file: *mut bindings::drm_file) {
    gem::show_fdinfo(p, file);
    // SAFETY: DRM calls `show_fdinfo` with an open file of one of our devices.
    let file = unsafe { DrmFile::from_raw(file) };
    for (index, engine) in (0u32..).zip(file.device().layout.engines.iter()) {
        let Some(busy) = file.state().engine_busy(index) else {
            continue;
        };
        let ns = u64::try_from(busy.busy().as_nanos()).unwrap_or(0);
        // SAFETY: `p` is the printer DRM passed for this call; the engine name is a
        // NUL-terminated string of the device, which outlives the call.
        unsafe { xaccel_fdinfo_engine(p, engine.name.as_char_ptr(), ns) };
    }
    let state = file.state();
    let contexts = u32::try_from(state.contexts().lock().len()).unwrap_or(u32::MAX);
    let vms = u32::try_from(state.vms().len()).unwrap_or(u32::MAX);
    // SAFETY: `p` is the printer DRM passed for this call.
    unsafe { xaccel_fdinfo_objects(p, contexts, vms) };
}
