// SPDX-License-Identifier: GPL-2.0-only

//! `/sys/kernel/debug/accel/<device>/bos`: every buffer object of a device, per open file.
//!
//! One line per handle, after a `#` header naming the columns:
//!
//! ```text
//! # client handle size region placement exported imported pinned
//! 7 1 65536 system system no no no
//! 7 2 4096 local device yes no yes
//! ```
//!
//! `client` is the file's `drm-client-id` (as in fdinfo), `region` the region's name,
//! `placement` one of `system`, `device`, `migrated` (device memory moved to system pages by an
//! export), `userptr`, `imported`; `exported` says whether the object has a dma-buf, `pinned`
//! whether its memory cannot move or be swapped (shmem pages pinned by an importer, device
//! memory pinned by an importer or mapped for the backend's device or for jobs, userptr pages
//! always).
//! `xaccel bo` (the CLI) reads it.
//!
//! # Locking
//!
//! The C side (`debugfs_c.c`) holds the device's `filelist_mutex`; for each file the handles are
//! collected, with a reference each, under the file's `table_lock` (a spinlock, so the list is
//! allocated atomically), then printed with each object's reservation lock taken for its state.
//! So: `filelist_mutex`, then `table_lock` alone, then a reservation lock alone.

use crate::{
    device::AccelDevice,
    file::DrmFile,
    gem::{pages::Memory, Bo, Placement},
};
use core::ptr;
use kernel::{bindings, ffi::c_int, prelude::*, str::CString, sync::aref::ARef};

// The C structs behind these pointers contain zero-sized members; they are only passed along.
#[allow(improper_ctypes)]
extern "C" {
    fn xaccel_bos_register(dev: *mut bindings::drm_device);
}

/// Adds the `bos` file to `dev`'s debugfs directory, before the device is registered.
pub(crate) fn register(dev: &AccelDevice) {
    // SAFETY: `dev` is a live, initialised DRM device; the file goes with its debugfs directory
    // when the device is released, and its callback is core code.
    unsafe { xaccel_bos_register(dev.as_raw()) };
}

/// The handles of `file` with a reference to each object, collected under its table lock.
fn handles(file: &DrmFile) -> KVec<(u32, ARef<Bo>)> {
    let raw = file.as_raw();
    let mut out = KVec::new();
    // SAFETY: `raw` is an open `drm_file`; its table lock and handle table are initialised.
    unsafe { bindings::spin_lock(&raw mut (*raw).table_lock) };
    let mut id: c_int = 0;
    loop {
        // SAFETY: The table lock is held, as `idr_get_next()` needs.
        let obj = unsafe { bindings::idr_get_next(&raw mut (*raw).object_idr, &mut id) };
        if obj.is_null() {
            break;
        }
        // SAFETY: An object in the table stays alive while the table lock is held (a handle's
        // reference is dropped only after its entry is cleared under the lock).
        if let Some(bo) = unsafe { Bo::from_gem(obj.cast()) } {
            // Atomic: a spinlock is held. A full memory simply shortens the list.
            if out.push((id as u32, ARef::from(bo)), GFP_ATOMIC).is_err() {
                break;
            }
        }
        match id.checked_add(1) {
            Some(next) => id = next,
            None => break,
        }
    }
    // SAFETY: Taken above.
    unsafe { bindings::spin_unlock(&raw mut (*raw).table_lock) };
    out
}

/// One line of the file for `bo`, named `handle` in the file of client `client`.
fn line(out: &mut KVec<u8>, client: u64, handle: u32, bo: &Bo) -> Result {
    let region = bo
        .region_desc()
        .and_then(|r| core::str::from_utf8(&r.name.as_padded()[..r.name.len()]).ok())
        .unwrap_or("?");
    // SAFETY: `dma_buf` changes under DRM's locks; a lone racy read is what statistics need.
    let exported = unsafe { !ptr::read_volatile(&raw const (*bo.gem()).dma_buf).is_null() };
    let (placement, pinned) = match bo.placement() {
        Placement::System => ("system", bo.shmem_pinned()),
        Placement::Imported => ("imported", false),
        Placement::Userptr => ("userptr", true),
        Placement::Device => {
            let mut guard = bo.lock_state();
            let state = guard.state();
            let migrated = matches!(state.memory, Memory::Migrated(_));
            let pinned = state.is_pinned();
            (if migrated { "migrated" } else { "device" }, pinned)
        }
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    let text = CString::try_from_fmt(fmt!(
        "{client} {handle} {} {region} {placement} {} {} {}\n",
        bo.size(),
        yes(exported),
        yes(bo.placement() == Placement::Imported),
        yes(pinned)
    ))?;
    Ok(out.extend_from_slice(text.to_bytes(), GFP_KERNEL)?)
}

/// Called by the C show callback for each open file of the device, under `filelist_mutex`.
#[no_mangle]
pub(crate) extern "C" fn xaccel_bos_show_file(
    m: *mut bindings::seq_file,
    file: *mut bindings::drm_file,
) {
    // SAFETY: The C side passes an open file of one of our devices, kept on the device's file
    // list (so open) by the `filelist_mutex` it holds.
    let file = unsafe { DrmFile::from_raw(file) };
    // SAFETY: As above.
    let client = unsafe { (*file.as_raw()).client_id };
    let mut out = KVec::new();
    for (handle, bo) in handles(file).iter() {
        if line(&mut out, client, *handle, bo).is_err() {
            break;
        }
    }
    // SAFETY: `m` is the seq_file of this show call; `out` is valid for its length.
    unsafe { bindings::seq_write(m, out.as_ptr().cast(), out.len()) };
}
