// SPDX-License-Identifier: GPL-2.0-only

//! dma-buf export: a buffer object shared with other devices and processes.
//!
//! DRM's `DRM_IOCTL_PRIME_HANDLE_TO_FD` looks the handle up, returns the dma-buf the object
//! already has, or calls the object's `export` callback ([`export`]), which builds a dma-buf
//! with the exporter ops of the object's placement. Everything a dma-buf can call is in this
//! file or in DRM's PRIME helpers, never in a backend:
//!
//! - `drm_gem_dmabuf_export()` makes the dma-buf hold a reference to the object and to the DRM
//!   device, and the module that owns the accel `file_operations` (this one) as its owner, so a
//!   held dma-buf pins `xaccel.ko` and keeps the object's memory; `drm_gem_dmabuf_release()`
//!   drops both when the last file reference to the dma-buf goes.
//! - System-memory objects are a *static* exporter ([`SYSTEM_DMABUF_OPS`], no `pin`): attaching
//!   pins the object's shmem pages (the object's `pin` callback), mapping builds an sg table of
//!   them and maps it for the importing device, `mmap()` of the dma-buf maps the pages as the
//!   device file does.
//!
//! - Device-memory and userptr objects have tables of their own (`export_pages`): device
//!   memory is a *dynamic* exporter whose `attach` applies the region's rules (direct,
//!   migration to system memory, refusal) and whose exports are revoked at unplug; userptr
//!   pages are pinned for the object's life, a static exporter.
//!
//! [`export`] picks the table by placement, and [`own_object`] recognises every table.
//!
//! # Locking
//!
//! DRM calls `export` with the file's `prime.lock` and the device's `object_name_lock` held;
//! the dma-buf core calls `attach`/`detach` and the shmem callbacks below with the object's
//! reservation lock held (the dma-buf shares it), which is what the shmem helper's `_locked`
//! functions expect.

use crate::gem::{export_pages, Bo, Placement};
use core::ptr;
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{c_char, c_int},
    prelude::*,
};

/// A `dma_buf_ops` table that can live in a `static`.
#[repr(transparent)]
pub(super) struct DmaBufOps(pub(super) bindings::dma_buf_ops);

// SAFETY: The table is never written; it holds only function pointers.
unsafe impl Sync for DmaBufOps {}

/// The exporter ops of system-memory objects: DRM's PRIME helpers, which call the object's GEM
/// callbacks (`pin`, `unpin`, `get_sg_table`, `vmap`, `vunmap`, `mmap`, below and in `object`).
///
/// Static (no `pin`): the pages are pinned from attach to detach. The shmem pages of a system
/// object never move while pinned, so importers need no invalidation.
static SYSTEM_DMABUF_OPS: DmaBufOps = DmaBufOps(bindings::dma_buf_ops {
    attach: Some(bindings::drm_gem_map_attach),
    detach: Some(bindings::drm_gem_map_detach),
    pin: None,
    unpin: None,
    map_dma_buf: Some(bindings::drm_gem_map_dma_buf),
    unmap_dma_buf: Some(bindings::drm_gem_unmap_dma_buf),
    release: Some(bindings::drm_gem_dmabuf_release),
    begin_cpu_access: None,
    end_cpu_access: None,
    mmap: Some(bindings::drm_gem_dmabuf_mmap),
    vmap: Some(bindings::drm_gem_dmabuf_vmap),
    vunmap: Some(bindings::drm_gem_dmabuf_vunmap),
});

/// The name the dma-buf core shows for our exports (`/sys/kernel/debug/dma_buf/bufinfo`).
const EXPORTER_NAME: &CStr = c"xaccel";

/// The exporter ops for objects of `placement`, `None` for placements that cannot be exported.
fn exporter_ops(placement: Placement) -> Option<&'static bindings::dma_buf_ops> {
    match placement {
        Placement::System => Some(&SYSTEM_DMABUF_OPS.0),
        Placement::Device => Some(&export_pages::DEVICE_DMABUF_OPS.0),
        Placement::Userptr => Some(&export_pages::USERPTR_DMABUF_OPS.0),
        // DRM re-exports an imported object's original dma-buf and never asks us for one.
        Placement::Imported => None,
    }
}

/// `drm_gem_object_funcs.export`: makes a dma-buf of a buffer object.
///
/// `flags` are the `O_CLOEXEC`/`O_RDWR` flags DRM already checked (`DRM_CLOEXEC | DRM_RDWR`).
pub(super) extern "C" fn export(
    obj: *mut bindings::drm_gem_object,
    flags: c_int,
) -> *mut bindings::dma_buf {
    // SAFETY: DRM calls `export` for an object with one of our funcs tables (a `Bo`), holding a
    // reference to it for the call.
    let Some(bo) = (unsafe { Bo::from_gem(obj) }) else {
        return EINVAL.to_ptr();
    };
    // A dma-buf carries no access mode: every importer's device may write it, and its mmap()
    // may be writable. A read-only object is therefore never exported.
    if bo.is_read_only() {
        return EACCES.to_ptr();
    }
    let Some(ops) = exporter_ops(bo.placement()) else {
        return EINVAL.to_ptr();
    };
    // SAFETY: `obj` is live; its device, the device's `drm_driver` and that driver's `fops`
    // (the core's static accel file operations) live at least as long as the object.
    let (dev, owner) = unsafe {
        let dev = (*obj).dev;
        (dev, (*(*(*dev).driver).fops).owner)
    };
    let mut info = bindings::dma_buf_export_info {
        exp_name: EXPORTER_NAME.as_char_ptr().cast::<c_char>(),
        owner,
        ops,
        // SAFETY: `obj` is live; its size and reservation object never change.
        size: unsafe { (*obj).size },
        flags,
        // SAFETY: As above.
        resv: unsafe { (*obj).resv },
        priv_: obj.cast(),
    };
    // SAFETY: `info` describes a live object of `dev`; on success the dma-buf holds a reference
    // to both, dropped by `drm_gem_dmabuf_release()`, the table's `release`.
    let dma_buf = unsafe { bindings::drm_gem_dmabuf_export(dev, &mut info) };
    if bo.placement() == Placement::System || from_err_ptr(dma_buf).is_err() {
        return dma_buf;
    }
    // SAFETY: `dma_buf` was just made for `bo`, and we hold its only reference.
    match unsafe { export_pages::exported(bo, dma_buf) } {
        Ok(()) => dma_buf,
        Err(e) => {
            // SAFETY: Our reference; its release undoes what `exported` did.
            unsafe { bindings::dma_buf_put(dma_buf) };
            e.to_ptr()
        }
    }
}

/// The object behind `dma_buf` if it is an export of one of `drm`'s buffer objects.
///
/// Re-importing such a dma-buf into its own device gives the same object, so the same handle
/// in a file that has one.
///
/// # Safety
///
/// `dma_buf` must be a live dma-buf (the caller holds a reference to its file).
pub(super) unsafe fn own_object(
    drm: *mut bindings::drm_device,
    dma_buf: *mut bindings::dma_buf,
) -> Option<*mut bindings::drm_gem_object> {
    // SAFETY: `dma_buf` is live; `ops` and `priv` are set at export and never change.
    let (ops, obj) = unsafe {
        (
            (*dma_buf).ops,
            (*dma_buf).priv_.cast::<bindings::drm_gem_object>(),
        )
    };
    if !ptr::eq(ops, &SYSTEM_DMABUF_OPS.0)
        && !ptr::eq(ops, &export_pages::DEVICE_DMABUF_OPS.0)
        && !ptr::eq(ops, &export_pages::USERPTR_DMABUF_OPS.0)
    {
        return None;
    }
    // SAFETY: Our exports' `priv` is the exported GEM object, which the dma-buf holds a
    // reference to until it is released.
    (unsafe { (*obj).dev } == drm).then_some(obj)
}

/// The shmem object of a system-memory buffer object.
///
/// # Safety
///
/// `obj` must be the GEM object of a live system-memory [`Bo`].
unsafe fn shmem_of(obj: *mut bindings::drm_gem_object) -> *mut bindings::drm_gem_shmem_object {
    // SAFETY: A system `Bo` begins with an initialised `drm_gem_shmem_object` whose `base` is
    // `obj` (type invariants of `Bo`).
    unsafe { kernel::container_of!(obj, bindings::drm_gem_shmem_object, base) }
}

/// `pin` (system objects): keeps the pages in memory while a dma-buf attachment exists.
pub(super) extern "C" fn pin_system(obj: *mut bindings::drm_gem_object) -> c_int {
    // SAFETY: Called through `SYSTEM_FUNCS` with the object's reservation lock held, as the
    // helper requires (by `drm_gem_map_attach()`).
    unsafe { bindings::drm_gem_shmem_pin_locked(shmem_of(obj)) }
}

/// `unpin` (system objects): the attachment that pinned the pages is gone.
pub(super) extern "C" fn unpin_system(obj: *mut bindings::drm_gem_object) {
    // SAFETY: As in `pin_system`, with a pin taken there (`drm_gem_map_detach()`).
    unsafe { bindings::drm_gem_shmem_unpin_locked(shmem_of(obj)) }
}

/// `get_sg_table` (system objects): the pinned pages as an sg table, for `map_dma_buf`.
pub(super) extern "C" fn sg_table_system(
    obj: *mut bindings::drm_gem_object,
) -> *mut bindings::sg_table {
    // SAFETY: Called through `SYSTEM_FUNCS` by `drm_gem_map_dma_buf()` for an attachment, which
    // pinned the pages when it attached.
    unsafe { bindings::drm_gem_shmem_get_sg_table(shmem_of(obj)) }
}

/// `vmap` (system objects): a kernel mapping for `dma_buf_vmap()` importers.
pub(super) extern "C" fn vmap_system(
    obj: *mut bindings::drm_gem_object,
    map: *mut bindings::iosys_map,
) -> c_int {
    // SAFETY: Called through `SYSTEM_FUNCS` with the reservation lock held (`drm_gem_vmap()`).
    unsafe { bindings::drm_gem_shmem_vmap_locked(shmem_of(obj), map) }
}

/// `vunmap` (system objects): undoes `vmap_system`.
pub(super) extern "C" fn vunmap_system(
    obj: *mut bindings::drm_gem_object,
    map: *mut bindings::iosys_map,
) {
    // SAFETY: As in `vmap_system`, for a mapping it made.
    unsafe { bindings::drm_gem_shmem_vunmap_locked(shmem_of(obj), map) }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_export)]
mod tests {
    //! What an importer of a system-memory export gets: the object's own pages, pinned from
    //! attach to detach, in an sg table DMA-mapped for the importing device.

    use super::*;
    use crate::gem::{import::dma_device, kunit_device::device};
    use kernel::{error::from_err_ptr, faux, page::PAGE_SIZE, sync::aref::ARef};

    const PAGES: usize = 4;

    /// How many attachments pin the object's pages.
    fn pins(bo: &Bo) -> i32 {
        // SAFETY: A system object's shmem state lives as long as it; a lone racy read of the
        // counter is enough in a single-threaded test.
        unsafe { ptr::read_volatile(&raw const (*shmem_of(bo.gem())).pages_pin_count.refs.counter) }
    }

    /// The DMA address of each page of `sgt`, page by page.
    fn dma_pages(sgt: *mut bindings::sg_table) -> Result<KVec<u64>> {
        let mut pages = KVec::new();
        // SAFETY: `sgt` is a mapped table; its `nents` DMA segments are walked with `sg_next()`.
        unsafe {
            let mut sg = (*sgt).sgl;
            for _ in 0..(*sgt).nents {
                let (addr, len) = (bindings::sg_dma_address(sg), bindings::sg_dma_len(sg));
                let mut off = 0;
                while off < u64::from(len) {
                    pages.push(addr + off, GFP_KERNEL)?;
                    off += PAGE_SIZE as u64;
                }
                sg = bindings::sg_next(sg);
            }
        }
        Ok(pages)
    }

    #[test]
    fn importers_get_the_objects_pinned_pages() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-export", None)?;
        let dev = device(&faux, false)?;
        let bo: ARef<Bo> = Bo::new_system(&dev, 0, (PAGES * PAGE_SIZE) as u64, 0, 0)?;
        // O_RDWR, as `DRM_RDWR` asks.
        let dma_buf = from_err_ptr(export(bo.gem(), 2))?;
        let dma_dev = dma_device(&dev);
        let result = (|| -> Result {
            // SAFETY: `dma_buf` is live (we hold its reference); the faux device has a mask.
            let attach = from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf, dma_dev) })?;
            ensure!(pins(&bo) == 1);
            // SAFETY: `attach` is live and static: the unlocked variant takes the lock.
            let sgt = from_err_ptr(unsafe {
                bindings::dma_buf_map_attachment_unlocked(
                    attach,
                    bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                )
            });
            let mut same = sgt.is_ok();
            if let Ok(sgt) = sgt {
                let got = dma_pages(sgt)?;
                same = got.len() == PAGES;
                for (i, &addr) in got.iter().enumerate().take(PAGES) {
                    // SAFETY: The pages are pinned by the attachment; mapping one of them again
                    // for the same device gives its DMA address, unmapped right away.
                    let want = unsafe {
                        let page = *(*shmem_of(bo.gem())).pages.add(i);
                        let want = bindings::dma_map_page_attrs(
                            dma_dev,
                            page,
                            0,
                            PAGE_SIZE,
                            bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                            bindings::DMA_ATTR_SKIP_CPU_SYNC as usize,
                        );
                        bindings::dma_unmap_page_attrs(
                            dma_dev,
                            want,
                            PAGE_SIZE,
                            bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                            bindings::DMA_ATTR_SKIP_CPU_SYNC as usize,
                        );
                        want
                    };
                    same &= addr == want;
                }
                // SAFETY: The mapping made above, of `attach`.
                unsafe {
                    bindings::dma_buf_unmap_attachment_unlocked(
                        attach,
                        sgt,
                        bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                    )
                };
            }
            // SAFETY: Made above; nothing uses it afterwards.
            unsafe { bindings::dma_buf_detach(dma_buf, attach) };
            ensure!(same);
            ensure!(pins(&bo) == 0);
            Ok(())
        })();
        // SAFETY: The reference `export` returned; the dma-buf drops its object reference.
        unsafe { bindings::dma_buf_put(dma_buf) };
        result
    }

    #[test]
    fn own_exports_are_recognised_only_on_their_device() -> Result {
        // Two parents: devices on one parent would share its name, and so its debugfs directory.
        let faux_a = faux::Registration::new(c"xaccel-kunit-own-a", None)?;
        let faux_b = faux::Registration::new(c"xaccel-kunit-own-b", None)?;
        let (a, b) = (device(&faux_a, false)?, device(&faux_b, false)?);
        let bo = Bo::new_system(&a, 0, PAGE_SIZE as u64, 0, 0)?;
        let dma_buf = from_err_ptr(export(bo.gem(), 2))?;
        // SAFETY: `dma_buf` is live until the put below.
        let (on_a, on_b) = unsafe {
            (
                own_object(a.as_raw(), dma_buf),
                own_object(b.as_raw(), dma_buf),
            )
        };
        // SAFETY: The reference `export` returned.
        unsafe { bindings::dma_buf_put(dma_buf) };
        ensure!(on_a == Some(bo.gem()) && on_b.is_none());
        Ok(())
    }
}
