// SPDX-License-Identifier: GPL-2.0-only

//! dma-buf import: a buffer object for memory another driver (or another xaccel device)
//! exported.
//!
//! DRM's `DRM_IOCTL_PRIME_FD_TO_HANDLE` returns the handle the file already has for the
//! dma-buf, or calls the device's `gem_prime_import` ([`gem_prime_import`]):
//!
//! - a dma-buf exported by one of this device's own buffer objects gives that object back, so
//!   re-importing an export gives the same handle;
//! - any other dma-buf becomes a [`Placement::Imported`](crate::gem::Placement::Imported) object attached to the device's DMA
//!   device: *dynamically* (with [`invalidate_mappings`]) when the exporter is dynamic (its ops
//!   have `pin`), statically otherwise. The attachment is mapped for the device at import, so
//!   an import that the device cannot reach fails there and then.
//!
//! A dynamic exporter may move the memory whenever the reservation lock is free: it then calls
//! [`invalidate_mappings`], which unmaps the attachment. Users of the device addresses (VM
//! binds, jobs) map it again under the reservation lock when they need it and wait for the
//! exporter's fences. Peer-to-peer (an sg table of PCI bus addresses) is allowed only for
//! devices whose backend declares the P2P capability.
//!
//! A device with an MMU binds an import in a VM only when its mapping is peer-to-peer, the
//! export of another xaccel device's PCI BAR region ([`Bo::with_peer_table`], which is also how
//! a job's memory leaves such an import unmapped for the CPU): the attachment is then pinned
//! until the object is freed, so a dynamic exporter never moves the memory under the page
//! tables, and the addresses the MMU keeps are PCI bus addresses of a BAR, which never become
//! host memory or IOVAs of another mapping (as DMA-API addresses of pages could, once an
//! exporter's revocation unmapped them).
//!
//! The object lists the VMs that bound it that way ([`PeerVms`]). An invalidation of a pinned
//! attachment is the exporter revoking the memory (its device is going away): besides
//! unmapping the attachment, [`invalidate_mappings`] clears the page-table entries of every
//! listed VM's bindings of the object and marks them revoked ([`Vm::revoke_peer`]), so that no
//! job reaches a BAR the exporter no longer owns. The bindings keep their VA ranges until
//! userspace unbinds them; a VM leaves the list once it maps the object no more
//! ([`Bo::forget_peer_vm`]).
//!
//! CPU mappings of an imported object are the exporter's: `mmap()` at the object's offset
//! hands the mapping to `dma_buf_mmap()`, so the mapping belongs to the dma-buf file and never
//! to this module. Exporters that cannot be mapped give `ENODEV`.
//!
//! An imported object charges nothing to the device's regions (the memory is the exporter's);
//! files holding a handle count it in the first system region, as shared memory.
//!
//! # Locking
//!
//! The import runs under the file's `prime.lock` and the device's `object_name_lock` and takes
//! the dma-buf's reservation lock to map; `invalidate_mappings` is called with that lock held.
//! [`ImportMapping`], the list of peer VMs included, is only touched under it.
//!
//! Order: the dma-buf's reservation lock, then a VM's state mutex (`VM_BIND` of a peer import
//! and `invalidate_mappings` lock the VMs of the list under it), then the backend's MMU locks.
//! The list has no lock of its own: whether a VM still maps the object must be decided under
//! the same lock as the invalidations that read the list, or one could miss a binding.

use crate::{
    device::AccelDevice,
    gem::{export, Bo},
    vm::Vm,
};
use core::{cell::UnsafeCell, ptr};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::c_int,
    page::PAGE_SIZE,
    prelude::*,
    scatterlist::SGTable,
    sync::{aref::ARef, Arc},
};

/// The mapping of an imported object's attachment for its device.
///
/// # Invariants
///
/// `sgt` is null or an sg table mapped by `dma_buf_map_attachment()` for the object's
/// attachment; `pinned` says whether this object pinned its (dynamic) attachment with
/// `dma_buf_pin()`; `peer_vms` holds each VM that maps the object peer-to-peer (and maybe,
/// briefly, one that is binding it), once, and is empty unless `pinned`. All three are read and
/// written only with the dma-buf's reservation lock held, or while nothing else can reach the
/// object (before it is published, in `free`).
pub(crate) struct ImportMapping {
    sgt: UnsafeCell<*mut bindings::sg_table>,
    pinned: UnsafeCell<bool>,
    peer_vms: UnsafeCell<KVec<Arc<Vm>>>,
}

impl ImportMapping {
    /// No mapping: system objects, and imports before they are mapped.
    pub(crate) fn none() -> Self {
        // INVARIANT: Null.
        Self {
            sgt: UnsafeCell::new(ptr::null_mut()),
            pinned: UnsafeCell::new(false),
            peer_vms: UnsafeCell::new(KVec::new()),
        }
    }

    /// Maps `attach` for its device, under the dma-buf's reservation lock.
    ///
    /// # Safety
    ///
    /// `attach` must be the live attachment of the object owning `self`, and `self` must be
    /// unmapped.
    unsafe fn map(&self, attach: *mut bindings::dma_buf_attachment) -> Result {
        // SAFETY: `attach` is live, and so is its dma-buf (the attachment holds it).
        let resv = unsafe { (*(*attach).dmabuf).resv };
        // SAFETY: `resv` is the dma-buf's live reservation object; no acquire context.
        to_result(unsafe { bindings::dma_resv_lock(resv, ptr::null_mut()) })?;
        // SAFETY: The reservation lock is held; `attach` is the object's (safety requirements).
        let result = unsafe { self.mapped_locked(attach) };
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(resv) };
        result.map(|_| ())
    }

    /// The attachment's mapping for its device, made now if there is none (at import, or after
    /// an exporter's invalidation unmapped it). Errors: the exporter's (`ENODEV` once it
    /// revoked the buffer).
    ///
    /// # Safety
    ///
    /// The reservation lock of `attach`'s dma-buf must be held, and `attach` must be the live
    /// attachment of the object owning `self`.
    unsafe fn mapped_locked(
        &self,
        attach: *mut bindings::dma_buf_attachment,
    ) -> Result<*mut bindings::sg_table> {
        // SAFETY: The reservation lock is held (safety requirements, type invariants).
        let sgt = unsafe { *self.sgt.get() };
        if !sgt.is_null() {
            return Ok(sgt);
        }
        // SAFETY: The reservation lock is held, as dynamic attachments require.
        let sgt = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment(
                attach,
                bindings::dma_data_direction::DMA_BIDIRECTIONAL,
            )
        })?;
        // INVARIANT: A mapping of the attachment, stored under the reservation lock.
        // SAFETY: The reservation lock is held (safety requirements).
        unsafe { *self.sgt.get() = sgt };
        Ok(sgt)
    }

    /// Unmaps the attachment if it is mapped.
    ///
    /// # Safety
    ///
    /// The reservation lock of `attach`'s dma-buf must be held, and `attach` must be the live
    /// attachment of the object owning `self`.
    unsafe fn unmap_locked(&self, attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: The reservation lock is held (safety requirements, type invariants).
        let sgt = unsafe { self.sgt.get().replace(ptr::null_mut()) };
        if !sgt.is_null() {
            // SAFETY: `sgt` is the attachment's mapping (type invariants), now forgotten.
            unsafe {
                bindings::dma_buf_unmap_attachment(
                    attach,
                    sgt,
                    bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                )
            };
        }
    }
}

/// A `dma_buf_attach_ops` table that can live in a `static`.
#[repr(transparent)]
struct AttachOps(bindings::dma_buf_attach_ops);

// SAFETY: Never written; a flag and a function pointer.
unsafe impl Sync for AttachOps {}

/// Importer ops of dynamic attachments, for devices without and with peer-to-peer DMA.
static IMPORTER_OPS: [AttachOps; 2] = [
    AttachOps(bindings::dma_buf_attach_ops {
        allow_peer2peer: false,
        invalidate_mappings: Some(invalidate_mappings),
    }),
    AttachOps(bindings::dma_buf_attach_ops {
        allow_peer2peer: true,
        invalidate_mappings: Some(invalidate_mappings),
    }),
];

/// The VMs that map an import peer-to-peer, borrowed while the dma-buf's reservation lock is
/// held (see [`Bo::with_peer_table`]).
///
/// # Invariants
///
/// The reservation lock of the object owning `mapping` is held for `'a`.
pub(crate) struct PeerVms<'a> {
    mapping: &'a ImportMapping,
}

impl PeerVms<'_> {
    /// The list.
    fn vms(&mut self) -> &mut KVec<Arc<Vm>> {
        // SAFETY: The reservation lock is held (type invariants), and `&mut self` is the only
        // way to the list while it is: no other reference to it is live.
        unsafe { &mut *self.mapping.peer_vms.get() }
    }

    /// Lists `vm` unless it is listed; returns whether it was added. Errors: `ENOMEM`.
    pub(crate) fn register(&mut self, vm: &Arc<Vm>) -> Result<bool> {
        let vms = self.vms();
        if vms.iter().any(|v| ptr::eq(&**v, &**vm)) {
            return Ok(false);
        }
        vms.push(vm.clone(), GFP_KERNEL)?;
        Ok(true)
    }

    /// Takes `vm` off the list; returns its reference, for the caller to drop once the
    /// reservation lock is released.
    pub(crate) fn deregister(&mut self, vm: &Vm) -> Option<Arc<Vm>> {
        let vms = self.vms();
        let i = vms.iter().position(|v| ptr::eq(&**v, vm))?;
        vms.remove(i).ok()
    }
}

/// `dma_buf_attach_ops.invalidate_mappings`: a dynamic exporter is moving the memory, or
/// revoking it.
///
/// Called with the dma-buf's reservation lock held; may sleep. The mapping is dropped; the next
/// user of the object's device addresses maps the attachment again. If VMs map the object
/// peer-to-peer, the attachment is pinned, so the memory is not moving: the exporter revoked it.
/// Their page-table entries for it are cleared (if the importing device is still there; an
/// unplugged one has no page tables left) and their bindings marked revoked.
extern "C" fn invalidate_mappings(attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: The dma-buf core calls this for a live dynamic attachment made by `import`, whose
    // `importer_priv` is the importing `Bo`; the object detaches (in `free`) before it goes.
    let bo = unsafe { &*(*attach).importer_priv.cast::<Bo>() };
    let mapping = bo.import_mapping();
    // SAFETY: The reservation lock is held by the caller; `attach` is the object's attachment.
    unsafe { mapping.unmap_locked(attach) };
    // INVARIANT: The caller holds the reservation lock for the whole call.
    let mut peers = PeerVms { mapping };
    let vms = peers.vms();
    if vms.is_empty() {
        return;
    }
    // SAFETY: The object holds a reference to its device.
    let dev = unsafe { AccelDevice::from_raw((*bo.gem()).dev) };
    let plugged = dev.enter();
    for vm in vms.iter() {
        // Never the last reference to the VM (the list keeps its own), so nothing is freed
        // here, under the reservation lock.
        vm.revoke_peer(plugged.as_ref(), bo);
    }
}

/// The `struct device` that DMA for `dev` goes through: `drm_dev_dma_dev()`.
pub(super) fn dma_device(dev: &AccelDevice) -> *mut bindings::device {
    // SAFETY: `dev` is a live DRM device; `dma_dev` and `dev` are set before registration and
    // hold references to their devices until it is released.
    unsafe {
        let drm = dev.as_raw();
        if (*drm).dma_dev.is_null() {
            (*drm).dev
        } else {
            (*drm).dma_dev
        }
    }
}

/// `drm_driver.gem_prime_import`: the buffer object for `dma_buf` on `drm`.
pub(crate) extern "C" fn gem_prime_import(
    drm: *mut bindings::drm_device,
    dma_buf: *mut bindings::dma_buf,
) -> *mut bindings::drm_gem_object {
    // SAFETY: DRM calls this with a dma-buf it holds a reference to, for one of our devices.
    if let Some(obj) = unsafe { export::own_object(drm, dma_buf) } {
        // SAFETY: The dma-buf holds a reference to `obj`; the caller gets one more.
        unsafe { bindings::drm_gem_object_get(obj) };
        return obj;
    }
    // SAFETY: As above; DRM holds a reference to the device for the call.
    let dev = unsafe { AccelDevice::from_raw(drm) };
    // SAFETY: As above.
    match unsafe { import(dev, dma_buf) } {
        // The reference goes to DRM, which gives it to the handle.
        Ok(bo) => {
            let obj = bo.gem();
            core::mem::forget(bo);
            obj
        }
        Err(e) => e.to_ptr(),
    }
}

/// Attaches `dev` to a foreign `dma_buf` and makes an imported buffer object of it.
///
/// # Safety
///
/// `dma_buf` must be a live dma-buf the caller holds a reference to.
unsafe fn import(dev: &AccelDevice, dma_buf: *mut bindings::dma_buf) -> Result<ARef<Bo>> {
    // SAFETY: `dma_buf` is live; `size` and `ops` never change.
    let (size, dynamic) = unsafe { ((*dma_buf).size, (*(*dma_buf).ops).pin.is_some()) };
    let size = size.checked_next_multiple_of(PAGE_SIZE).ok_or(EINVAL)?;
    // An imported object is accounted in the device's first system region (there is one).
    let region = dev
        .layout
        .regions
        .iter()
        .position(|r| r.kind == crate::RegionKind::System)
        .ok_or(EINVAL)?;
    let bo = Bo::new_imported(dev, u32::try_from(region)?, size)?;
    let dma_dev = dma_device(dev);
    // SAFETY: `dma_buf` is live and `dma_dev` is the device's DMA device. A dynamic attachment
    // names the object, which detaches in `free` before it goes.
    let attach = from_err_ptr(unsafe {
        if dynamic {
            let ops = &IMPORTER_OPS[usize::from(dev.layout.capabilities.p2p)].0;
            bindings::dma_buf_dynamic_attach(
                dma_buf,
                dma_dev,
                ops,
                ptr::from_ref(&*bo).cast_mut().cast(),
            )
        } else {
            bindings::dma_buf_attach(dma_buf, dma_dev)
        }
    })?;
    // SAFETY: The object is not published yet. From here on `free` tears the import down:
    // it detaches and drops the dma-buf reference taken here, as `drm_prime_gem_destroy()`
    // expects. The object shares the dma-buf's reservation object, as DRM's imports do.
    unsafe {
        bindings::get_file((*dma_buf).file);
        let gem = bo.gem();
        (*gem).import_attach = attach;
        (*gem).resv = (*dma_buf).resv;
    }
    // SAFETY: `attach` is the object's live attachment, not mapped yet.
    unsafe { bo.import_mapping().map(attach) }?;
    Ok(bo)
}

impl Bo {
    /// The attachment and reservation object of an imported object; `EOPNOTSUPP` for others.
    fn import_attachment(
        &self,
    ) -> Result<(*mut bindings::dma_buf_attachment, *mut bindings::dma_resv)> {
        if self.placement() != crate::gem::Placement::Imported {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: An imported object's `import_attach` is set once, before it is published, and
        // lives (with its dma-buf) until the object is freed, which `&self` prevents.
        unsafe {
            let attach = (*self.gem()).import_attach;
            if attach.is_null() {
                return Err(EOPNOTSUPP);
            }
            Ok((attach, (*(*attach).dmabuf).resv))
        }
    }

    /// Runs `f` on the imported object's mapping for its device if that mapping is
    /// peer-to-peer (PCI bus addresses of another xaccel device's BAR region: the only
    /// exporter whose mappings the core can tell apart), with the attachment pinned
    /// (until the object is freed) and mapped, under the dma-buf's reservation lock, and with
    /// the list of VMs that bound the object that way. For `VM_BIND` on a device with an MMU,
    /// which lists its VM there before it programs the page tables.
    ///
    /// Errors: `EOPNOTSUPP` if the object is not imported or its mapping is not peer-to-peer
    /// (pages: see the module documentation), the exporter's pin and map errors (`ENODEV` once
    /// it revoked the buffer), and `f`'s.
    pub(crate) fn with_peer_table<T>(
        &self,
        f: impl FnOnce(&SGTable, &mut PeerVms<'_>) -> Result<T>,
    ) -> Result<T> {
        let (attach, resv) = self.import_attachment()?;
        let mapping = self.import_mapping();
        // SAFETY: `resv` is the dma-buf's live reservation object; no acquire context.
        to_result(unsafe { bindings::dma_resv_lock(resv, ptr::null_mut()) })?;
        // SAFETY: The reservation lock is held until the end of the closure, as `pinned`, `sgt`
        // (type invariants) and dynamic attachments need.
        let result = (|| unsafe {
            let peer_table = || -> Result<*mut bindings::sg_table> {
                let sgt = mapping.mapped_locked(attach)?;
                if super::export_pages::maps_bar((*attach).dmabuf) {
                    Ok(sgt)
                } else {
                    Err(EOPNOTSUPP)
                }
            };
            // Checked before pinning: an import mapped with pages is never pinned here.
            let mut sgt = peer_table()?;
            // A static attachment's exporter pins the memory for as long as it is mapped.
            if !(*attach).importer_ops.is_null() && !*mapping.pinned.get() {
                to_result(bindings::dma_buf_pin(attach))?;
                *mapping.pinned.get() = true;
                // Pinning may have moved the memory (and invalidated the mapping).
                sgt = peer_table()?;
            }
            // The table stays mapped while the lock is held: `invalidate_mappings` needs it.
            // INVARIANT: The reservation lock is held while `f` runs.
            f(SGTable::from_raw(sgt), &mut PeerVms { mapping })
        })();
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(resv) };
        result
    }

    /// Runs `f` on the imported object's dma-buf, under its reservation lock, with the
    /// attachment mapped for the device (again, if the exporter moved the memory since): for a
    /// job's CPU mapping of the object (`dma_buf_vmap()`), which is so only asked of an exporter
    /// that still hands the memory out.
    ///
    /// Errors: `EOPNOTSUPP` if the object is not imported, the exporter's map errors (`ENODEV`
    /// once it revoked the buffer), and `f`'s.
    pub(crate) fn with_mapped_dma_buf<T>(
        &self,
        f: impl FnOnce(*mut bindings::dma_buf) -> Result<T>,
    ) -> Result<T> {
        let (attach, resv) = self.import_attachment()?;
        // SAFETY: `attach` is the object's live attachment, which holds its dma-buf.
        let dma_buf = unsafe { (*attach).dmabuf };
        // SAFETY: `resv` is the dma-buf's live reservation object; no acquire context.
        to_result(unsafe { bindings::dma_resv_lock(resv, ptr::null_mut()) })?;
        // SAFETY: The reservation lock is held; `attach` is the object's live attachment.
        let result =
            unsafe { self.import_mapping().mapped_locked(attach) }.and_then(|_| f(dma_buf));
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(resv) };
        result
    }

    /// Takes `vm` off the object's list of VMs that map it peer-to-peer, unless it still maps
    /// it: for `VM_UNBIND` and `VM_DESTROY`, after they removed bindings of the object and
    /// released the VM's lock. Decided under the reservation lock, so a concurrent bind or
    /// invalidation of the object is seen whole or not at all.
    pub(crate) fn forget_peer_vm(&self, vm: &Vm) {
        let Ok((_, resv)) = self.import_attachment() else {
            return;
        };
        // SAFETY: `resv` is the dma-buf's live reservation object; without an acquire context,
        // locking only fails if interrupted, which it is not.
        let _ = unsafe { bindings::dma_resv_lock(resv, ptr::null_mut()) };
        // INVARIANT: The reservation lock is held until the unlock below.
        let mut peers = PeerVms {
            mapping: self.import_mapping(),
        };
        let removed = if vm.maps_peer(self) {
            None
        } else {
            peers.deregister(vm)
        };
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(resv) };
        drop(removed);
    }
}

/// `free` (imported objects): unmaps and detaches, drops the dma-buf, frees the object.
///
/// # Safety
///
/// `obj` must be the GEM object of an imported [`Bo`] whose last reference is gone.
pub(super) unsafe fn release_import(obj: *mut bindings::drm_gem_object) {
    // SAFETY: `obj` is live until the caller frees it; `import_attach` is set once by `import`
    // (null if attaching failed).
    let attach = unsafe { (*obj).import_attach };
    if attach.is_null() {
        return;
    }
    // SAFETY: Nobody else holds the object, but a dynamic exporter may still invalidate the
    // attachment: the mapping is taken under the reservation lock, which the attachment keeps
    // alive.
    unsafe {
        let bo = Bo::from_gem_unchecked(obj);
        let resv = (*(*attach).dmabuf).resv;
        // Without an acquire context, locking only fails if interrupted, which it is not.
        let _ = bindings::dma_resv_lock(resv, ptr::null_mut());
        let mapping = bo.import_mapping();
        if mapping.pinned.get().replace(false) {
            bindings::dma_buf_unpin(attach);
        }
        mapping.unmap_locked(attach);
        // Empty: a VM that maps the object holds a reference to it, and leaves the list before
        // it lets go of it. Dropped after the unlock all the same.
        let peer_vms = core::mem::take(&mut *mapping.peer_vms.get());
        bindings::dma_resv_unlock(resv);
        drop(peer_vms);
        // Detaches and drops the reference `import` took.
        bindings::drm_prime_gem_destroy(obj, ptr::null_mut());
    }
}

/// `mmap` (imported objects): maps the exporter's memory through `dma_buf_mmap()`.
///
/// `ENODEV` if the exporter cannot be mapped, `EINVAL` for private mappings (as for every
/// object), else the exporter's answer.
pub(super) extern "C" fn mmap_import(
    obj: *mut bindings::drm_gem_object,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: Called by `drm_gem_mmap_obj()` for an imported object it holds a reference to
    // (taken for the mapping), with the mmap lock held. The attachment and its dma-buf live as
    // long as the object.
    unsafe {
        let dma_buf = (*(*obj).import_attach).dmabuf;
        if (*(*dma_buf).ops).mmap.is_none() {
            return ENODEV.to_errno();
        }
        if xaccel_vma_is_cow(vma) {
            return EINVAL.to_errno();
        }
        // The exporter sets its own; ours (none) must not stay behind.
        (*vma).vm_private_data = ptr::null_mut();
        (*vma).vm_ops = ptr::null();
        let ret = bindings::dma_buf_mmap(dma_buf, vma, 0);
        if ret == 0 {
            // The mapping now belongs to the dma-buf's file, which it holds; it does not need
            // the reference `drm_gem_mmap_obj()` took for it. The object's own reference keeps
            // it alive for the rest of this call.
            xaccel_vma_set_dontexpand(vma);
            bindings::drm_gem_object_put(obj);
        }
        ret
    }
}

// The C structs behind these pointers contain zero-sized members; they are only passed along.
#[allow(improper_ctypes)]
extern "C" {
    /// `vma_is_cow_mapping()` of the VMA's flags, which is inline (`dmabuf_c.c`).
    fn xaccel_vma_is_cow(vma: *mut bindings::vm_area_struct) -> bool;
    /// `vm_flags_set(vma, VM_DONTEXPAND)`, which is inline (`dmabuf_c.c`).
    fn xaccel_vma_set_dontexpand(vma: *mut bindings::vm_area_struct);
    /// `dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64))`, which is inline (`dmabuf_c.c`).
    fn xaccel_dma_coerce_mask_64(dev: *mut bindings::device) -> c_int;
}

/// Gives `parent` a 64-bit DMA mask if it has none, before its accel device is registered.
///
/// Software devices (vaccel's faux devices) have no DMA mask, and mapping an attachment for a
/// device without one fails (with a warning); vgem does the same for its faux device. Bus
/// devices keep the mask their bus gave them.
///
/// # Safety
///
/// `parent` must be a live, bound device that nothing maps DMA for yet.
pub(crate) unsafe fn prepare_dma_device(parent: *mut bindings::device) -> Result {
    // SAFETY: `parent` is live (safety requirements).
    if unsafe { !(*parent).dma_mask.is_null() } {
        return Ok(());
    }
    // SAFETY: `parent` is live and unused for DMA, so its masks may change.
    to_result(unsafe { xaccel_dma_coerce_mask_64(parent) })
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_import)]
mod tests {
    //! Imports of a one-page test exporter, dynamic and static, into an unregistered device on
    //! a faux parent: what the exporter sees (pins, maps, unmaps) and what the object holds,
    //! including an invalidation by a dynamic exporter.

    use super::*;
    use crate::gem::kunit_device::device;
    use core::sync::atomic::{AtomicU32, Ordering};
    use kernel::{faux, page::Page};

    /// A one-page exporter that counts what its importers do.
    struct TestExporter {
        page: Page,
        pins: AtomicU32,
        maps: AtomicU32,
        unmaps: AtomicU32,
    }

    /// # Safety
    ///
    /// `attach` must be a live attachment of a test export.
    unsafe fn exporter<'a>(attach: *mut bindings::dma_buf_attachment) -> &'a TestExporter {
        // SAFETY: A test export's `priv` is its `TestExporter`, alive until release.
        unsafe { &*(*(*attach).dmabuf).priv_.cast::<TestExporter>() }
    }

    extern "C" fn test_pin(attach: *mut bindings::dma_buf_attachment) -> c_int {
        // SAFETY: Called by the dma-buf core for an attachment of a test export.
        unsafe { exporter(attach) }
            .pins
            .fetch_add(1, Ordering::Relaxed);
        0
    }

    extern "C" fn test_unpin(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: As in `test_pin`.
        unsafe { exporter(attach) }
            .pins
            .fetch_sub(1, Ordering::Relaxed);
    }

    extern "C" fn test_map(
        attach: *mut bindings::dma_buf_attachment,
        _dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table {
        // SAFETY: As in `test_pin`.
        let e = unsafe { exporter(attach) };
        let mut page = e.page.as_ptr();
        // SAFETY: One valid page; no device, so no segment limit. Nothing maps it for DMA: the
        // tests only count mappings.
        let sgt = unsafe { bindings::drm_prime_pages_to_sg(ptr::null_mut(), &mut page, 1) };
        if from_err_ptr(sgt).is_ok() {
            e.maps.fetch_add(1, Ordering::Relaxed);
        }
        sgt
    }

    extern "C" fn test_unmap(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        _dir: bindings::dma_data_direction,
    ) {
        // SAFETY: As in `test_pin`; `sgt` was allocated by `test_map`.
        unsafe {
            exporter(attach).unmaps.fetch_add(1, Ordering::Relaxed);
            bindings::sg_free_table(sgt);
            bindings::kfree(sgt.cast());
        }
    }

    extern "C" fn test_release(dma_buf: *mut bindings::dma_buf) {
        // SAFETY: `priv` is the `KBox` `export` leaked; the dma-buf is going away.
        drop(unsafe { KBox::from_raw((*dma_buf).priv_.cast::<TestExporter>()) });
    }

    /// The ops of a test export: dynamic with `pin`/`unpin`, static without.
    fn ops(dynamic: bool) -> &'static bindings::dma_buf_ops {
        const fn table(dynamic: bool) -> bindings::dma_buf_ops {
            bindings::dma_buf_ops {
                attach: None,
                detach: None,
                pin: if dynamic { Some(test_pin) } else { None },
                unpin: if dynamic { Some(test_unpin) } else { None },
                map_dma_buf: Some(test_map),
                unmap_dma_buf: Some(test_unmap),
                release: Some(test_release),
                begin_cpu_access: None,
                end_cpu_access: None,
                mmap: None,
                vmap: None,
                vunmap: None,
            }
        }
        static DYNAMIC: export::DmaBufOps = export::DmaBufOps(table(true));
        static STATIC: export::DmaBufOps = export::DmaBufOps(table(false));
        if dynamic {
            &DYNAMIC.0
        } else {
            &STATIC.0
        }
    }

    /// A test export and its exporter; dropping it drops the test's dma-buf reference.
    struct Export {
        dma_buf: *mut bindings::dma_buf,
        exporter: *const TestExporter,
    }

    impl Export {
        fn new(dynamic: bool) -> Result<Self> {
            let exporter = KBox::new(
                TestExporter {
                    page: Page::alloc_page(GFP_KERNEL)?,
                    pins: AtomicU32::new(0),
                    maps: AtomicU32::new(0),
                    unmaps: AtomicU32::new(0),
                },
                GFP_KERNEL,
            )?;
            let exporter = KBox::into_raw(exporter);
            let info = bindings::dma_buf_export_info {
                exp_name: c"xaccel-kunit".as_char_ptr(),
                owner: ptr::null_mut(),
                ops: ops(dynamic),
                size: PAGE_SIZE,
                flags: 2, // O_RDWR
                resv: ptr::null_mut(),
                priv_: exporter.cast(),
            };
            // SAFETY: `info` is complete; on success `release` frees the exporter.
            match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
                Ok(dma_buf) => Ok(Self { dma_buf, exporter }),
                Err(e) => {
                    // SAFETY: Not exported, so still ours.
                    drop(unsafe { KBox::from_raw(exporter) });
                    Err(e)
                }
            }
        }

        fn counts(&self) -> (u32, u32, u32) {
            // SAFETY: The exporter lives until the dma-buf, which `self` holds, is released.
            let e = unsafe { &*self.exporter };
            let load = |c: &AtomicU32| c.load(Ordering::Relaxed);
            (load(&e.pins), load(&e.maps), load(&e.unmaps))
        }
    }

    impl Drop for Export {
        fn drop(&mut self) {
            // SAFETY: The reference `dma_buf_export()` gave us.
            unsafe { bindings::dma_buf_put(self.dma_buf) };
        }
    }

    /// The mapping an imported object holds, read under the reservation lock.
    fn mapped(bo: &Bo) -> Result<bool> {
        // SAFETY: An imported object's attachment and reservation object live as long as it.
        let resv = unsafe { (*(*(*bo.gem()).import_attach).dmabuf).resv };
        // SAFETY: A live reservation object, no acquire context.
        to_result(unsafe { bindings::dma_resv_lock(resv, ptr::null_mut()) })?;
        // SAFETY: The reservation lock is held (type invariants of `ImportMapping`).
        let mapped = unsafe { !(*bo.import_mapping().sgt.get()).is_null() };
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(resv) };
        Ok(mapped)
    }

    #[test]
    fn a_dynamic_export_is_attached_dynamically_and_invalidated() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-dyn", None)?;
        let dev = device(&faux, false)?;
        let export = Export::new(true)?;
        // SAFETY: The test holds a reference to the dma-buf.
        let bo = unsafe { import(&dev, export.dma_buf) }?;
        ensure!(bo.placement() == crate::gem::Placement::Imported);
        ensure!(bo.size() == PAGE_SIZE as u64);
        // SAFETY: The attachment lives as long as `bo`.
        let attach = unsafe { (*bo.gem()).import_attach };
        // SAFETY: As above.
        let (ops, peer2peer) = unsafe { ((*attach).importer_ops, (*attach).peer2peer) };
        ensure!(ptr::eq(ops, &IMPORTER_OPS[0].0) && !peer2peer);
        // Mapped at import, not pinned: the exporter may move it.
        ensure!(export.counts() == (0, 1, 0) && mapped(&bo)?);
        // SAFETY: The dma-buf is live; its reservation lock is taken around the call, as
        // `dma_buf_invalidate_mappings()` requires.
        unsafe {
            let resv = (*export.dma_buf).resv;
            to_result(bindings::dma_resv_lock(resv, ptr::null_mut()))?;
            bindings::dma_buf_invalidate_mappings(export.dma_buf);
            bindings::dma_resv_unlock(resv);
        }
        ensure!(export.counts() == (0, 1, 1) && !mapped(&bo)?);
        drop(bo);
        // Freed: detached, nothing more unmapped.
        ensure!(export.counts() == (0, 1, 1));
        Ok(())
    }

    #[test]
    fn a_static_export_is_mapped_until_the_object_is_freed() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-static", None)?;
        let dev = device(&faux, true)?;
        let export = Export::new(false)?;
        // SAFETY: The test holds a reference to the dma-buf.
        let bo = unsafe { import(&dev, export.dma_buf) }?;
        // SAFETY: The attachment lives as long as `bo`.
        ensure!(unsafe { (*(*bo.gem()).import_attach).importer_ops }.is_null());
        ensure!(export.counts() == (0, 1, 0) && mapped(&bo)?);
        drop(bo);
        ensure!(export.counts() == (0, 1, 1));
        Ok(())
    }

    #[test]
    fn p2p_devices_allow_peer_to_peer_on_dynamic_attachments() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-p2p", None)?;
        let dev = device(&faux, true)?;
        let export = Export::new(true)?;
        // SAFETY: The test holds a reference to the dma-buf.
        let bo = unsafe { import(&dev, export.dma_buf) }?;
        // SAFETY: The attachment lives as long as `bo`.
        ensure!(unsafe { (*(*bo.gem()).import_attach).peer2peer });
        Ok(())
    }
}
