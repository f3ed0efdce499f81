// SPDX-License-Identifier: GPL-2.0-only

//! dma-buf export of page-backed buffer objects: device memory (a *dynamic* exporter) and
//! userptr (static: the pages are pinned for the object's life).
//!
//! `export` picks [`DEVICE_DMABUF_OPS`] or [`USERPTR_DMABUF_OPS`] by placement. Importers get
//! sg tables of the object's current memory for the importing device ([`map_dma_buf`]): its
//! pages DMA-mapped, or the bus addresses of its blocks of a PCI BAR; `mmap()` of the dma-buf
//! maps them as the device file does, and `dma_buf_vmap()` (another xaccel device's jobs on an
//! import) gets the object's kernel mapping ([`vmap`]), which pins the memory where it is.
//!
//! # Device memory
//!
//! [`attach_device`] decides, under the reservation lock, whether the importer reaches the
//! region ([`DeviceMemory::reach`](crate::gem::DeviceMemory::reach): host pages reach every
//! importer; a region declared `p2p` only peer-to-peer attachments; a BAR only peer-to-peer
//! attachments of devices `pci_p2pdma_distance()` finds a path to). If it does not, the
//! region's [`ExportFallback`] applies: `Refuse` fails the attach with `EOPNOTSUPP`; `Migrate`
//! moves the object to system pages ([`migrate`]), for good: after the object's fences, the
//! blocks are copied, the CPU mappings zapped (they fault in the new pages), dynamic importers
//! told ([`dma_buf_invalidate_mappings`]), and the blocks freed. Memory that is pinned by a
//! dynamic importer or mapped for the backend's device (VM binds on an MMU device, BAR memory a
//! job named) never moves: `EBUSY`.
//!
//! The backing supplies the addresses and the copy: `reach`, the BAR table [`map_dma_buf`]
//! makes (`BarMemory::map_for`, freed in [`unmap_dma_buf`]) and `DeviceBlocks::copy_out`.
//! Pin, unpin, migration, invalidation and revocation are the same for every backing.
//!
//! # Revocation
//!
//! Every device with device memory lists its exported device-memory objects
//! ([`ExportList`]). When the device is unplugged, [`revoke`] zaps every CPU mapping of the
//! device's files, and for each listed object marks it revoked, invalidates its importers'
//! mappings and zaps the mappings of its dma-buf, all under the reservation lock; afterwards
//! attach, pin, `map_dma_buf`, `mmap()` and CPU faults fail (`ENODEV`, `SIGBUS`). The dma-buf
//! and the object stay valid until their holders let go.
//!
//! # Lock order
//!
//! The device's export list mutex, then a reservation lock: [`revoke`] locks each listed
//! object under the list's mutex. Everywhere else they are taken one at a time (`exported` and
//! `release` take the list's mutex without a reservation lock); the dma-buf core holds the
//! reservation lock around `pin`, `unpin` and `map_dma_buf`, which take nothing else.
//! [`attach_device`] enters the device (`drm_dev_enter()`, an SRCU read section that unplug
//! waits for) before the reservation lock, as CPU faults do: a BAR's p2pdma provider is used
//! only inside it.
//!
//! [`dma_buf_invalidate_mappings`]: bindings::dma_buf_invalidate_mappings

use crate::{
    backend::ExportFallback,
    device::AccelDevice,
    gem::{
        bar,
        export::DmaBufOps,
        pages::{self, Memory, PagesState},
        Bo, Placement,
    },
};
use core::ptr;
use kernel::{
    bindings,
    ffi::{c_int, c_void},
    new_mutex,
    prelude::*,
    sync::Mutex,
};

extern "C" {
    /// `iosys_map_set_vaddr()` (`job_memory_c.c`).
    fn xaccel_iosys_map_set_vaddr(map: *mut bindings::iosys_map, vaddr: *mut c_void);
}

/// The exporter ops of device-memory objects: dynamic (`pin`/`unpin`).
pub(super) static DEVICE_DMABUF_OPS: DmaBufOps = DmaBufOps(bindings::dma_buf_ops {
    attach: Some(attach_device),
    detach: None,
    pin: Some(pin_device),
    unpin: Some(unpin_device),
    map_dma_buf: Some(map_dma_buf),
    unmap_dma_buf: Some(unmap_dma_buf),
    release: Some(release),
    begin_cpu_access: None,
    end_cpu_access: None,
    mmap: Some(bindings::drm_gem_dmabuf_mmap),
    vmap: Some(vmap),
    // The mapping `vmap` hands out stays until the object is freed.
    vunmap: None,
});

/// The exporter ops of userptr objects: static, the pages never move.
pub(super) static USERPTR_DMABUF_OPS: DmaBufOps = DmaBufOps(bindings::dma_buf_ops {
    attach: None,
    detach: None,
    pin: None,
    unpin: None,
    map_dma_buf: Some(map_dma_buf),
    unmap_dma_buf: Some(unmap_dma_buf),
    release: Some(release),
    begin_cpu_access: None,
    end_cpu_access: None,
    mmap: Some(bindings::drm_gem_dmabuf_mmap),
    vmap: Some(vmap),
    // The mapping `vmap` hands out stays until the object is freed.
    vunmap: None,
});

/// The exported device-memory objects of one device, for [`revoke`].
///
/// Holds no references: an object is added by [`exported`] once its dma-buf exists and removed
/// by the dma-buf's [`release`] before the dma-buf drops its reference to the object, so every
/// listed object is alive while the mutex is held.
pub(crate) struct ExportList {
    objects: Pin<KBox<Mutex<KVec<*const Bo>>>>,
}

// SAFETY: The pointers are only dereferenced under the mutex (see above); `Bo` is `Sync`.
unsafe impl Send for ExportList {}
// SAFETY: As above.
unsafe impl Sync for ExportList {}

impl ExportList {
    /// An empty list.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            objects: KBox::pin_init(new_mutex!(KVec::new()), GFP_KERNEL)?,
        })
    }
}

/// The object behind one of our page-backed dma-bufs.
///
/// # Safety
///
/// `dma_buf` must be a live dma-buf made by `export` with one of the tables above.
unsafe fn object<'a>(dma_buf: *mut bindings::dma_buf) -> &'a Bo {
    // SAFETY: `priv` is the exported object, which the dma-buf holds a reference to until its
    // release.
    unsafe { Bo::from_gem_unchecked((*dma_buf).priv_.cast()) }
}

/// Records the new dma-buf of a page-backed object (in its state, and in its device's export
/// list for device memory). Fails with `ENODEV` if the device is unplugged: a revocation that
/// ran already would have missed it.
///
/// # Safety
///
/// `dma_buf` must be the dma-buf `export` just made for `bo`; its release must not run yet.
pub(super) unsafe fn exported(bo: &Bo, dma_buf: *mut bindings::dma_buf) -> Result {
    // SAFETY: The object holds its device.
    let dev = unsafe { AccelDevice::from_raw((*bo.gem()).dev) };
    let _plugged = dev.enter().ok_or(ENODEV)?;
    if bo.placement() == Placement::Device {
        dev.exports
            .objects
            .lock()
            .push(ptr::from_ref(bo), GFP_KERNEL)?;
    }
    bo.lock_state().state().dma_buf = dma_buf;
    Ok(())
}

/// `release`: the last file reference to the dma-buf is gone.
extern "C" fn release(dma_buf: *mut bindings::dma_buf) {
    // SAFETY: Called once for one of our dma-bufs, which still holds its object.
    let bo = unsafe { object(dma_buf) };
    {
        let mut guard = bo.lock_state();
        let state = guard.state();
        if state.dma_buf == dma_buf {
            state.dma_buf = ptr::null_mut();
        }
    }
    if bo.placement() == Placement::Device {
        // SAFETY: The object holds its device.
        let dev = unsafe { AccelDevice::from_raw((*bo.gem()).dev) };
        dev.exports
            .objects
            .lock()
            .retain(|listed| !ptr::eq(*listed, bo));
    }
    // SAFETY: Drops the dma-buf's references to the object and the device, last.
    unsafe { bindings::drm_gem_dmabuf_release(dma_buf) };
}

/// `attach` (device memory): decides where the importer reads from, by the region's rules.
extern "C" fn attach_device(
    dma_buf: *mut bindings::dma_buf,
    attach: *mut bindings::dma_buf_attachment,
) -> c_int {
    // SAFETY: Called for one of our device-memory dma-bufs and an attachment being set up.
    let (bo, peer2peer, importer) =
        unsafe { (object(dma_buf), (*attach).peer2peer, (*attach).dev) };
    let (Some(memory), Some(region)) = (bo.device_memory(), bo.region_desc()) else {
        return EINVAL.to_errno();
    };
    // The p2pdma provider of a BAR lives while the device is registered. Entered before the
    // reservation lock, as CPU faults do.
    // SAFETY: The object holds its device.
    let dev = unsafe { AccelDevice::from_raw((*bo.gem()).dev) };
    let Some(_plugged) = dev.enter() else {
        return ENODEV.to_errno();
    };
    let mut guard = bo.lock_state();
    let state = guard.state();
    if state.revoked {
        return ENODEV.to_errno();
    }
    if matches!(state.memory, Memory::Migrated(_)) {
        return 0;
    }
    let result = match memory.reach(peer2peer, importer) {
        Err(e) if e == EREMOTEIO => match region.fallback {
            ExportFallback::Refuse => Err(EOPNOTSUPP),
            ExportFallback::Migrate => migrate(bo, state),
        },
        other => other,
    };
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Moves a device-memory object to system pages; see the module documentation.
fn migrate(bo: &Bo, state: &mut PagesState) -> Result {
    if state.is_pinned() {
        return Err(EBUSY);
    }
    let (Memory::Blocks(blocks), Some(memory)) = (&state.memory, bo.device_memory()) else {
        return Err(EINVAL);
    };
    // Jobs using the object (their fences are in its reservation) finish first.
    // SAFETY: The reservation lock is held; no timeout, not interruptible.
    let waited = unsafe {
        bindings::dma_resv_wait_timeout(
            (*bo.gem()).resv,
            bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
            false,
            kernel::ffi::c_long::MAX.unsigned_abs(),
        )
    };
    if waited < 0 {
        return Err(Error::from_errno(waited as i32));
    }
    // Nothing else writes the blocks while the reservation lock is held and the fences have
    // signalled (CPU writers through a mapping race with the copy as they would with any
    // move; their mappings are zapped right after).
    let copy = blocks.copy_out(memory)?;
    pages::zap_cpu_mappings(bo, state);
    if !state.dma_buf.is_null() {
        // SAFETY: The reservation lock of the object's live dma-buf is held.
        unsafe { bindings::dma_buf_invalidate_mappings(state.dma_buf) };
    }
    // The blocks go back to the region's allocator here.
    state.memory = Memory::Migrated(copy);
    Ok(())
}

/// `pin` (device memory): a dynamic importer needs the memory to stay where it is.
extern "C" fn pin_device(attach: *mut bindings::dma_buf_attachment) -> c_int {
    // SAFETY: Called with the reservation lock held, for an attachment of our dma-buf.
    let state = unsafe { object((*attach).dmabuf).state_cell().get() };
    if state.revoked {
        return ENODEV.to_errno();
    }
    state.pins += 1;
    0
}

/// `unpin` (device memory): undoes a `pin`.
extern "C" fn unpin_device(attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: As in `pin_device`, for a pinned attachment.
    let state = unsafe { object((*attach).dmabuf).state_cell().get() };
    state.pins = state.pins.saturating_sub(1);
}

/// `map_dma_buf`: the addresses of the object's current memory for the importing device: the
/// bus addresses of its BAR blocks (an importer that reaches the BAR: any other was refused or
/// migrated the object at attach), or its pages DMA-mapped for the device.
extern "C" fn map_dma_buf(
    attach: *mut bindings::dma_buf_attachment,
    _dir: bindings::dma_data_direction,
) -> *mut bindings::sg_table {
    // SAFETY: Called with the reservation lock held, for a live attachment of our dma-buf.
    let (bo, state, dev) = unsafe {
        let bo = object((*attach).dmabuf);
        (bo, bo.state_cell().get(), (*attach).dev)
    };
    if state.revoked {
        return ENODEV.to_ptr();
    }
    if let (Memory::Blocks(blocks), Some(bar)) =
        (&state.memory, bo.device_memory().and_then(|m| m.bar()))
    {
        let mut ranges = KVec::new();
        for range in blocks.ranges() {
            if let Err(e) = ranges.push(range, GFP_KERNEL) {
                return Error::from(e).to_ptr();
            }
        }
        // SAFETY: The reservation lock is held; not revoked, so the device is registered (the
        // revocation at unplug takes the same lock); the importer reached the BAR at attach.
        return match unsafe { bar.map_for(attach, &ranges) } {
            Ok(sgt) => sgt,
            Err(e) => e.to_ptr(),
        };
    }
    let mapped = state
        .pages(bo.device_memory())
        .and_then(|mut list| pages::map_pages(dev, &mut list, bo.is_read_only()))
        .and_then(pages::MappedPages::into_raw);
    match mapped {
        Ok(sgt) => sgt,
        Err(e) => e.to_ptr(),
    }
}

/// `vmap`: a kernel mapping of all of the object for an importer's CPU (another xaccel
/// device's jobs, `job_memory`): the object's own [`KernelMapping`], the one its device's jobs
/// use, made now if it has none and kept until the object is freed, so the memory no longer
/// moves (a later migration gets `EBUSY`). BAR memory has no pages to map (`EOPNOTSUPP`):
/// importers that reach it use its bus addresses, and the others had the object migrated when
/// they attached.
///
/// [`KernelMapping`]: crate::job_memory::KernelMapping
extern "C" fn vmap(dma_buf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) -> c_int {
    // SAFETY: `dma_buf_vmap()` calls this for one of our dma-bufs with its reservation lock
    // held, which the object's state needs.
    let (bo, state) = unsafe {
        let bo = object(dma_buf);
        (bo, bo.state_cell().get())
    };
    if state.revoked {
        return ENODEV.to_errno();
    }
    if matches!(state.memory, Memory::Blocks(_))
        && bo.device_memory().and_then(|m| m.bar()).is_some()
    {
        return EOPNOTSUPP.to_errno();
    }
    match bo.kernel_map().get_or_map_locked(bo, state) {
        Ok(vaddr) => {
            // SAFETY: `map` is the caller's `iosys_map`; the address is system memory, mapped
            // until the object is freed, which the dma-buf (held by the caller) prevents.
            unsafe { xaccel_iosys_map_set_vaddr(map, vaddr.as_ptr().cast()) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Whether `map_dma_buf` maps `dma_buf` for importers as PCI bus addresses of a BAR: one of our
/// exports of device memory in a PCI BAR region, neither migrated nor revoked. (Importers
/// cannot tell from the table: with `CONFIG_DMABUF_DEBUG` no importer's table has pages.)
///
/// # Safety
///
/// `dma_buf` must be a live dma-buf whose reservation lock the caller holds.
pub(super) unsafe fn maps_bar(dma_buf: *mut bindings::dma_buf) -> bool {
    // SAFETY: `dma_buf` is live; its `ops` never change.
    if !ptr::eq(unsafe { (*dma_buf).ops }, &DEVICE_DMABUF_OPS.0) {
        return false;
    }
    // SAFETY: One of our device-memory dma-bufs; the reservation lock is held, so the state
    // may be read, and this is its only reference while we look.
    let (bo, state) = unsafe {
        let bo = object(dma_buf);
        (bo, bo.state_cell().get())
    };
    !state.revoked
        && matches!(state.memory, Memory::Blocks(_))
        && bo.device_memory().and_then(|m| m.bar()).is_some()
}

/// `unmap_dma_buf`: undoes a `map_dma_buf`.
extern "C" fn unmap_dma_buf(
    attach: *mut bindings::dma_buf_attachment,
    sgt: *mut bindings::sg_table,
    _dir: bindings::dma_data_direction,
) {
    // SAFETY: `sgt` was made by `map_dma_buf` for this attachment: by `map_for` if it maps a
    // BAR, else by `map_pages` for the attachment's device.
    unsafe {
        if bar::is_bar_table(sgt) {
            bar::unmap_for(attach, sgt);
        } else {
            pages::unmap_raw((*attach).dev, sgt);
        }
    }
}

/// Revokes the exported device memory of `dev`, which was just unplugged; see the module
/// documentation.
pub(crate) fn revoke(dev: &AccelDevice) {
    pages::zap_device_mappings(dev);
    let objects = dev.exports.objects.lock();
    for &bo in objects.iter() {
        // SAFETY: Listed objects are alive while the list is locked (see `ExportList`).
        let bo = unsafe { &*bo };
        let mut guard = bo.lock_state();
        let state = guard.state();
        state.revoked = true;
        if !state.dma_buf.is_null() {
            // SAFETY: The reservation lock of the object's live dma-buf is held.
            unsafe { bindings::dma_buf_invalidate_mappings(state.dma_buf) };
        }
        pages::zap_cpu_mappings(bo, state);
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_gem_export_devmem)]
mod tests {
    //! What importers of a device-memory export get under each rule of the region, and what
    //! revocation does to them, on an unregistered device with a core-backed region.

    use super::*;
    use crate::gem::{export::export, import::dma_device, kunit_device};
    use core::ptr::NonNull;
    use core::sync::atomic::{AtomicU32, Ordering};
    use kernel::{
        error::from_err_ptr,
        faux,
        page::{BorrowedPage, Page, PAGE_SIZE},
        sync::aref::ARef,
    };

    /// The page at `index` of `bo`, read or written by `f` under the object's lock.
    fn with_page(bo: &Bo, index: usize, f: impl FnOnce(&Page) -> Result) -> Result {
        let mut guard = bo.lock_state();
        let page = guard
            .state()
            .page(bo.device_memory(), index)
            .ok_or(EINVAL)?;
        // SAFETY: A page of the object's memory, which cannot change while the lock is held.
        let page = unsafe { BorrowedPage::from_raw(NonNull::new(page).ok_or(EINVAL)?) };
        f(&page)
    }

    const REGION: u64 = 1 << 20;
    const SIZE: u64 = 4 * PAGE_SIZE as u64;

    /// A device whose region 1 is `REGION` bytes of core pages, reachable peer-to-peer only
    /// (`p2p`) or by everyone, with `fallback` for the others.
    fn device(
        faux: &faux::Registration,
        p2p: bool,
        fallback: ExportFallback,
    ) -> Result<ARef<AccelDevice>> {
        kunit_device::device_with_local(faux, REGION, true, p2p, fallback)
    }

    static INVALIDATIONS: AtomicU32 = AtomicU32::new(0);

    extern "C" fn count_invalidation(_attach: *mut bindings::dma_buf_attachment) {
        INVALIDATIONS.fetch_add(1, Ordering::Relaxed);
    }

    /// A dynamic peer-to-peer importer that counts invalidations.
    struct PeerOps(bindings::dma_buf_attach_ops);
    // SAFETY: Never written.
    unsafe impl Sync for PeerOps {}
    static PEER: PeerOps = PeerOps(bindings::dma_buf_attach_ops {
        allow_peer2peer: true,
        invalidate_mappings: Some(count_invalidation),
    });

    /// Exports `bo`; the reference is dropped with the returned guard.
    struct Exported(*mut bindings::dma_buf);

    impl Drop for Exported {
        fn drop(&mut self) {
            // SAFETY: The reference `export` returned.
            unsafe { bindings::dma_buf_put(self.0) };
        }
    }

    /// Maps and unmaps `attach` under the reservation lock: the mapping's outcome.
    fn map_once(attach: *mut bindings::dma_buf_attachment) -> Result {
        // SAFETY: `attach` is live; the lock is held around the map and unmap, as dynamic
        // attachments require.
        unsafe {
            let resv = (*(*attach).dmabuf).resv;
            let _ = bindings::dma_resv_lock(resv, ptr::null_mut());
            let sgt = bindings::dma_buf_map_attachment(
                attach,
                bindings::dma_data_direction::DMA_BIDIRECTIONAL,
            );
            let result = from_err_ptr(sgt).map(|sgt| {
                bindings::dma_buf_unmap_attachment(
                    attach,
                    sgt,
                    bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                )
            });
            bindings::dma_resv_unlock(resv);
            result
        }
    }

    #[test]
    fn p2p_only_memory_refuses_static_importers_and_is_revoked() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-devexp", None)?;
        let dev = device(&faux, true, ExportFallback::Refuse)?;
        let bo = Bo::new_device(&dev, 1, SIZE, 0, 0)?;
        let dma_buf = Exported(from_err_ptr(export(bo.gem(), 2))?);
        let dma_dev = dma_device(&dev);
        // SAFETY: The dma-buf is live while `dma_buf` is held.
        let refused = from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf.0, dma_dev) });
        ensure!(refused.err() == Some(EOPNOTSUPP));
        // SAFETY: As above; the attachment is detached below.
        let attach = from_err_ptr(unsafe {
            bindings::dma_buf_dynamic_attach(dma_buf.0, dma_dev, &PEER.0, ptr::null_mut())
        })?;
        let before = INVALIDATIONS.load(Ordering::Relaxed);
        let mapped = map_once(attach);
        revoke(&dev);
        let invalidated = INVALIDATIONS.load(Ordering::Relaxed) - before;
        let after = map_once(attach);
        // SAFETY: Made above, not mapped.
        unsafe { bindings::dma_buf_detach(dma_buf.0, attach) };
        ensure!(mapped.is_ok());
        ensure!(invalidated == 1);
        ensure!(after.err() == Some(ENODEV));
        Ok(())
    }

    #[test]
    fn migration_moves_the_data_and_frees_the_blocks() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-migrate", None)?;
        let dev = device(&faux, true, ExportFallback::Migrate)?;
        let memory = dev.layout.regions[1].memory.as_ref().ok_or(EINVAL)?;
        let bo = Bo::new_device(&dev, 1, SIZE, 0, 0)?;
        let pattern = [0x5au8; 16];
        // SAFETY: The test owns the object; 16 bytes at 8 are inside the page.
        with_page(&bo, 3, |page| unsafe {
            page.write_raw(pattern.as_ptr(), 8, 16)
        })?;
        ensure!(memory.avail() == REGION - SIZE);
        let dma_buf = Exported(from_err_ptr(export(bo.gem(), 2))?);
        // SAFETY: The dma-buf is live while `dma_buf` is held.
        let attach =
            from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf.0, dma_device(&dev)) })?;
        let mapped = map_once(attach);
        let migrated = matches!(bo.lock_state().state().memory, Memory::Migrated(_));
        let mut read = [0u8; 16];
        // SAFETY: As above.
        with_page(&bo, 3, |page| unsafe {
            page.read_raw(read.as_mut_ptr(), 8, 16)
        })?;
        // SAFETY: Made above, not mapped.
        unsafe { bindings::dma_buf_detach(dma_buf.0, attach) };
        ensure!(mapped.is_ok() && migrated);
        ensure!(read == pattern);
        ensure!(memory.avail() == REGION);
        Ok(())
    }

    #[test]
    fn vmap_maps_the_memory_which_then_stays() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-vmap", None)?;
        let dev = device(&faux, true, ExportFallback::Migrate)?;
        let bo = Bo::new_device(&dev, 1, SIZE, 0, 0)?;
        let pattern = [0xa5u8; 16];
        // SAFETY: The test owns the object; 16 bytes at 8 are inside the page.
        with_page(&bo, 2, |page| unsafe {
            page.write_raw(pattern.as_ptr(), 8, 16)
        })?;
        let dma_buf = Exported(from_err_ptr(export(bo.gem(), 2))?);
        let mut map = bindings::iosys_map::default();
        let mut read = [0u8; 16];
        // SAFETY: The dma-buf is live while `dma_buf` is held; vmap and vunmap under its
        // reservation lock, as they require. The mapping covers the object's `SIZE` bytes, so
        // 16 bytes at page 2, byte 8, are inside it.
        let mapped = unsafe {
            let resv = (*dma_buf.0).resv;
            let _ = bindings::dma_resv_lock(resv, ptr::null_mut());
            let ret = bindings::dma_buf_vmap(dma_buf.0, &mut map);
            if ret == 0 {
                let vaddr = map.__bindgen_anon_1.vaddr.cast::<u8>();
                ptr::copy_nonoverlapping(vaddr.add(2 * PAGE_SIZE + 8), read.as_mut_ptr(), 16);
                bindings::dma_buf_vunmap(dma_buf.0, &mut map);
            }
            bindings::dma_resv_unlock(resv);
            ret
        };
        // An importer that does not reach the region would move the object: it is mapped now.
        // SAFETY: As above.
        let busy =
            from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf.0, dma_device(&dev)) }).err();
        ensure!(mapped == 0 && !map.is_iomem);
        ensure!(read == pattern);
        ensure!(busy == Some(EBUSY));
        Ok(())
    }

    #[test]
    fn pinned_or_device_mapped_memory_does_not_move() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-busy", None)?;
        let dev = device(&faux, true, ExportFallback::Migrate)?;
        let dma_dev = dma_device(&dev);
        let bo = Bo::new_device(&dev, 1, SIZE, 0, 0)?;
        let dma_buf = Exported(from_err_ptr(export(bo.gem(), 2))?);
        // SAFETY: The dma-buf is live while `dma_buf` is held; detached below.
        let peer = from_err_ptr(unsafe {
            bindings::dma_buf_dynamic_attach(dma_buf.0, dma_dev, &PEER.0, ptr::null_mut())
        })?;
        // SAFETY: `peer` is a live dynamic attachment; pinning needs the reservation lock.
        let pin = |pin: bool| unsafe {
            let resv = (*dma_buf.0).resv;
            let _ = bindings::dma_resv_lock(resv, ptr::null_mut());
            let ret = if pin {
                bindings::dma_buf_pin(peer)
            } else {
                bindings::dma_buf_unpin(peer);
                0
            };
            bindings::dma_resv_unlock(resv);
            ret
        };
        let pinned = pin(true);
        // SAFETY: As above.
        let busy = from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf.0, dma_dev) }).err();
        pin(false);
        // Mapped for the backend's device (a VM bind on an MMU device): still busy.
        let mapped = bo.backend_pages(&dev).map(|_| ());
        // SAFETY: As above.
        let still = from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf.0, dma_dev) }).err();
        let moved = matches!(bo.lock_state().state().memory, Memory::Migrated(_));
        // SAFETY: Made above, not mapped.
        unsafe { bindings::dma_buf_detach(dma_buf.0, peer) };
        ensure!(pinned == 0 && busy == Some(EBUSY));
        ensure!(mapped.is_ok() && still == Some(EBUSY) && !moved);
        Ok(())
    }
}
