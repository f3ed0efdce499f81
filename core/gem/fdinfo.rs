// SPDX-License-Identifier: GPL-2.0-only

//! Per-file memory statistics in `/proc/<pid>/fdinfo/<fd>`.
//!
//! DRM prints the common keys (`drm-driver`, `drm-client-id`) and calls [`show_fdinfo`], which
//! prints the standard memory keys of `Documentation/gpu/drm-usage-stats.rst` once per region of
//! the device, named after it: `drm-total-<region>`, `drm-shared-<region>` and
//! `drm-resident-<region>`, through `drm_print_memory_stats()`.
//!
//! The total comes from the file's own accounting ([`File`](crate::file::File)), which the
//! GEM handle callbacks keep exact. Residency and sharing change where the core does not see
//! them (pages arrive on first `mmap()`, another file may open a flink name), so they are
//! collected by walking the file's handle table, as `drm_show_memory_stats()` does.
//!
//! # Locking
//!
//! DRM calls [`show_fdinfo`] inside a `drm_dev_enter()` section. The walk holds the file's
//! `table_lock` (a spinlock) and only reads under it; objects found in the table cannot be
//! freed while it is held, because a handle's reference is only dropped after its entry is
//! cleared under that lock.

use crate::{file::DrmFile, gem::Bo};
use kernel::{bindings, ffi::c_int};

/// What walking a file's handles finds in one region.
#[derive(Default)]
struct HandleWalk {
    /// Bytes of objects other files hold handles to as well.
    shared: u64,
    /// Bytes of the objects' pages in memory.
    resident: u64,
}

impl HandleWalk {
    /// Walks the handles of `file` and sums up the objects in `region`.
    fn of(file: &DrmFile, region: u32) -> Self {
        let raw = file.as_raw();
        let mut seen = Self::default();
        // SAFETY: `raw` is an open `drm_file` (type invariants of `DrmFile`), whose table lock
        // and handle table are initialised until it is freed.
        unsafe { bindings::spin_lock(&raw mut (*raw).table_lock) };
        let mut id: c_int = 0;
        loop {
            // SAFETY: The table lock is held, as `idr_get_next()` needs; it skips the empty
            // entries of handles being created or deleted.
            let obj = unsafe { bindings::idr_get_next(&raw mut (*raw).object_idr, &mut id) };
            if obj.is_null() {
                break;
            }
            // SAFETY: An object in the table stays alive while the table lock is held (see the
            // module documentation).
            if let Some(bo) = unsafe { Bo::from_gem(obj.cast()) } {
                if bo.region() == region {
                    if bo.is_shared() {
                        seen.shared += bo.size();
                    }
                    seen.resident += bo.resident_bytes();
                }
            }
            match id.checked_add(1) {
                Some(next) => id = next,
                None => break,
            }
        }
        // SAFETY: Taken above, in this function.
        unsafe { bindings::spin_unlock(&raw mut (*raw).table_lock) };
        seen
    }
}

/// `drm_driver.show_fdinfo`: prints the memory keys of one open file.
pub(crate) extern "C" fn show_fdinfo(p: *mut bindings::drm_printer, file: *mut bindings::drm_file) {
    // SAFETY: DRM calls `show_fdinfo` with an open file of one of our devices, inside a
    // `drm_dev_enter()` section of `drm_show_fdinfo()`.
    let file = unsafe { DrmFile::from_raw(file) };
    let handle_bytes = file.state().handle_bytes();
    for (id, region) in (0u32..).zip(file.device().layout.regions.iter()) {
        let seen = HandleWalk::of(file, id);
        let total = handle_bytes.get(id);
        let stats = bindings::drm_memory_stats {
            shared: seen.shared,
            private: total.saturating_sub(seen.shared),
            resident: seen.resident,
            purgeable: 0,
            active: 0,
        };
        // SAFETY: `p` is the printer DRM passed for this call; `stats` and the region's
        // NUL-terminated name (device memory) outlive the call.
        unsafe {
            bindings::drm_print_memory_stats(
                p,
                &stats,
                bindings::drm_gem_object_status_DRM_GEM_OBJECT_RESIDENT,
                region.name.as_char_ptr(),
            )
        };
    }
}
