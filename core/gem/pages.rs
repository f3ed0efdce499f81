// SPDX-License-Identifier: GPL-2.0-only

//! Page-backed buffer objects: the memory of device-memory and userptr objects, as a list of
//! pages that the core maps for the CPU, the backend's device and dma-buf importers.
//!
//! - [`Memory`]: what backs the object now: blocks of a device-memory region, the system pages
//!   a device object migrated to (see `export_pages`), or pinned user pages ([`UserPages`]).
//! - [`PagesState`]: that memory and what depends on it (the sg table mapped for the backend's
//!   device, the object's dma-buf, pins, revocation), in a [`StateCell`] read and written only
//!   under the object's reservation lock ([`Bo::lock_state`]), which its dma-buf shares. The
//!   dma-buf core calls the exporter's `pin`, `map_dma_buf` and `invalidate_mappings` with that
//!   lock held, so moving the memory and handing it out never race.
//! - CPU mappings ([`mmap_pages`]) are PFN maps filled on fault ([`xaccel_pages_fault`]) from
//!   the current memory, so migration and revocation only zap them (`xaccel_pages_zap`).
//!
//! # Lock order
//!
//! A mapping's `mmap_lock`, then the object's reservation lock (faults), as TTM does; the
//! buddy allocator's mutex is taken under the reservation lock when blocks are freed by a
//! migration.

use crate::{
    device::AccelDevice,
    gem::{devmem::DeviceBlocks, Bo, DeviceMemory},
};
use core::{cell::UnsafeCell, ptr};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::{c_int, c_uint, c_ulong},
    page::{Page, PAGE_SIZE},
    prelude::*,
    scatterlist::SGTable,
};

// The C structs behind these pointers contain zero-sized members; they are only passed along.
#[allow(improper_ctypes)]
extern "C" {
    /// The VM operations of page-backed mappings (`pages_c.c`): fault, and the GEM reference.
    pub(crate) static xaccel_pages_vm_ops: bindings::vm_operations_struct;
    fn xaccel_pages_vma_prepare(
        vma: *mut bindings::vm_area_struct,
        read_only: bool,
        io: bool,
    ) -> c_int;
    fn xaccel_pages_insert(vmf: *mut bindings::vm_fault, page: *mut bindings::page) -> c_uint;
    fn xaccel_pages_fault_index(
        vmf: *mut bindings::vm_fault,
        obj: *mut *mut bindings::drm_gem_object,
    ) -> c_ulong;
    fn xaccel_pages_map(
        dev: *mut bindings::device,
        pages: *mut *mut bindings::page,
        count: c_uint,
        read_only: bool,
    ) -> *mut bindings::sg_table;
    fn xaccel_pages_unmap(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        read_only: bool,
    );
    fn xaccel_pages_zap(obj: *mut bindings::drm_gem_object, dma_buf: *mut bindings::dma_buf);
    fn xaccel_pages_zap_device(dev: *mut bindings::drm_device);
    fn xaccel_userptr_pin(
        start: c_ulong,
        count: c_ulong,
        write: bool,
        pages: *mut *mut bindings::page,
        owner: *mut *mut bindings::mm_struct,
    ) -> core::ffi::c_long;
    fn xaccel_userptr_unpin(
        pages: *mut *mut bindings::page,
        count: c_ulong,
        dirty: bool,
        owner: *mut bindings::mm_struct,
    );
}

/// User pages pinned for a userptr object (`FOLL_LONGTERM`), unpinned when dropped.
///
/// The pins are charged to the process's `pinned_vm` (`VmPin` in `/proc/<pid>/status`) against
/// its `RLIMIT_MEMLOCK`, as RDMA charges its long-term pins, until they are unpinned.
///
/// # Invariants
///
/// Every entry of `pages` is pinned by `pin_user_pages()` (once), for writing if `writable`,
/// and charged to the `pinned_vm` of `owner`, an `mm_struct` grabbed (`mmgrab()`) for `self`.
pub(crate) struct UserPages {
    pages: KVVec<*mut bindings::page>,
    writable: bool,
    owner: *mut bindings::mm_struct,
}

impl UserPages {
    /// Pins `count` pages of the calling process from `start` (page-aligned), for writing if
    /// `writable`.
    ///
    /// Errors: `EFAULT` if part of the range is not mapped (or is I/O memory), `EACCES` if it is
    /// not readable, or not writable when `writable`, `EOPNOTSUPP` if it is file-backed and
    /// `writable`, `ENOMEM` (also beyond `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`).
    pub(crate) fn pin(start: u64, count: usize, writable: bool) -> Result<Self> {
        let mut pages = KVVec::from_elem(ptr::null_mut(), count, GFP_KERNEL)?;
        let start = c_ulong::try_from(start).map_err(|_| EFAULT)?;
        let n = c_ulong::try_from(count)?;
        let mut owner = ptr::null_mut();
        // SAFETY: `pages` has room for `count` pointers; the helper charges, checks and pins
        // under the calling process's mmap lock, and leaves nothing pinned or charged on error.
        let pinned =
            unsafe { xaccel_userptr_pin(start, n, writable, pages.as_mut_ptr(), &mut owner) };
        if pinned < 0 {
            return Err(Error::from_errno(pinned as i32));
        }
        // INVARIANT: The helper pinned and charged all `count` pages and grabbed `owner` on
        // success.
        Ok(Self {
            pages,
            writable,
            owner,
        })
    }

    /// Number of pages.
    pub(crate) fn len(&self) -> usize {
        self.pages.len()
    }
}

impl Drop for UserPages {
    fn drop(&mut self) {
        let n = self.pages.len() as c_ulong;
        // SAFETY: The pages were pinned and charged to `owner` by `pin` (type invariants) and
        // are unpinned and uncharged once, here, dropping the grab of `owner`; pages the device
        // may have written are marked dirty.
        unsafe { xaccel_userptr_unpin(self.pages.as_mut_ptr(), n, self.writable, self.owner) };
    }
}

// SAFETY: Page pointers are plain references to pinned pages; any thread may unpin them.
unsafe impl Send for UserPages {}
// SAFETY: Shared access only reads the pointers.
unsafe impl Sync for UserPages {}

/// What backs a page-backed object now.
pub(crate) enum Memory {
    /// Not page-backed: system (shmem) and imported objects.
    None,
    /// Blocks of the device-memory region the object is charged to.
    Blocks(DeviceBlocks),
    /// System pages a device-memory object moved to for an importer that cannot reach its
    /// region; never moves back.
    Migrated(KVVec<Page>),
    /// Pinned user pages.
    User(UserPages),
}

/// An sg table of an object's pages, DMA-mapped for one device; unmapped when dropped.
///
/// # Invariants
///
/// `sgt` was returned by `xaccel_pages_map()` for `dev` and `read_only`, and `dev` stays alive
/// while `self` does (the DRM device, which the object holds, holds a reference to its parent).
pub(crate) struct MappedPages {
    dev: *mut bindings::device,
    sgt: *mut bindings::sg_table,
    read_only: bool,
}

impl MappedPages {
    /// The table.
    pub(crate) fn table(&self) -> &SGTable {
        // SAFETY: `sgt` is a valid, mapped table until `self` is dropped (type invariants).
        unsafe { SGTable::from_raw(self.sgt) }
    }
}

impl Drop for MappedPages {
    fn drop(&mut self) {
        // SAFETY: Made by `xaccel_pages_map()` for `dev` and `read_only` (type invariants);
        // unmapped once.
        unsafe { xaccel_pages_unmap(self.dev, self.sgt, self.read_only) };
    }
}

/// The state of a page-backed object that changes, under its reservation lock.
pub(crate) struct PagesState {
    /// The memory now.
    pub(crate) memory: Memory,
    /// The pages mapped for the backend's device (VM binds on MMU devices), made on first use
    /// and kept until the object is freed; the memory cannot move while it exists.
    pub(crate) backend_dma: Option<MappedPages>,
    /// The object's dma-buf while it exists (set by `export`, cleared by its `release`).
    pub(crate) dma_buf: *mut bindings::dma_buf,
    /// Dynamic importers that pinned the memory (`pin`/`unpin`): it cannot move.
    pub(crate) pins: u32,
    /// The memory is mapped for the kernel for jobs (`job_memory::KernelMapping`), until the
    /// object is freed: it cannot move.
    pub(crate) kernel_mapped: bool,
    /// The device addresses of the memory (blocks of a BAR region) went to the backend's MMU
    /// (a VM bind), until the object is freed: it cannot move.
    pub(crate) local_bound: bool,
    /// The device is gone: no CPU fault, importer mapping or attach reaches the memory.
    pub(crate) revoked: bool,
}

impl PagesState {
    /// A state holding `memory`.
    pub(crate) fn new(memory: Memory) -> Self {
        Self {
            memory,
            backend_dma: None,
            dma_buf: ptr::null_mut(),
            pins: 0,
            kernel_mapped: false,
            local_bound: false,
            revoked: false,
        }
    }

    /// Whether the memory must stay where it is: pinned by an importer, mapped for the
    /// backend's device (DMA addresses or device addresses) or mapped for jobs.
    pub(crate) fn is_pinned(&self) -> bool {
        self.pins > 0 || self.backend_dma.is_some() || self.kernel_mapped || self.local_bound
    }

    /// The device address of the memory, if it is one contiguous range of blocks of a BAR
    /// region (`device`, the object's region).
    pub(crate) fn device_addr(&self, device: Option<&DeviceMemory>) -> Option<u64> {
        match &self.memory {
            Memory::Blocks(blocks) => blocks.device_addr(device?),
            _ => None,
        }
    }

    /// The page at `index` of the object, if it has one there. `memory` is the region of a
    /// device object.
    pub(crate) fn page(
        &self,
        device: Option<&DeviceMemory>,
        index: usize,
    ) -> Option<*mut bindings::page> {
        match &self.memory {
            Memory::None => None,
            Memory::Blocks(blocks) => blocks.page(device?, index).map(Page::as_ptr),
            Memory::Migrated(pages) => pages.get(index).map(Page::as_ptr),
            Memory::User(user) => user.pages.get(index).copied(),
        }
    }

    /// Every page of the object, in order.
    pub(crate) fn pages(
        &self,
        device: Option<&DeviceMemory>,
    ) -> Result<KVVec<*mut bindings::page>> {
        let mut out = KVVec::new();
        match &self.memory {
            Memory::None => return Err(EINVAL),
            Memory::Blocks(blocks) => {
                out.reserve(usize::try_from(blocks.size())? / PAGE_SIZE, GFP_KERNEL)?;
                blocks.for_each_page(device.ok_or(EINVAL)?, |page| {
                    out.push(page.as_ptr(), GFP_KERNEL)?;
                    Ok(())
                })?;
            }
            Memory::Migrated(pages) => {
                out.reserve(pages.len(), GFP_KERNEL)?;
                for page in pages.iter() {
                    out.push(page.as_ptr(), GFP_KERNEL)?;
                }
            }
            Memory::User(user) => out.extend_from_slice(&user.pages, GFP_KERNEL)?,
        }
        Ok(out)
    }
}

/// A [`PagesState`] that is only touched under its object's reservation lock.
pub(crate) struct StateCell(UnsafeCell<PagesState>);

impl StateCell {
    /// A cell holding `state`.
    pub(crate) fn new(state: PagesState) -> Self {
        Self(UnsafeCell::new(state))
    }

    /// The state, without locking.
    ///
    /// # Safety
    ///
    /// The reservation lock of the object owning `self` must be held for `'a`, or nothing else
    /// may reach the object (creation, `free`); no other reference from this cell may be live.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get<'a>(&self) -> &'a mut PagesState {
        // SAFETY: Exclusive by the safety requirements.
        unsafe { &mut *self.0.get() }
    }
}

/// A held reservation lock of a buffer object, giving its [`PagesState`].
pub(crate) struct StateGuard<'a> {
    bo: &'a Bo,
}

impl StateGuard<'_> {
    /// The state.
    pub(crate) fn state(&mut self) -> &mut PagesState {
        // SAFETY: The reservation lock is held while `self` exists, and `&mut self` makes this
        // the only reference taken through the guard.
        unsafe { self.bo.state_cell().get() }
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Locked by `Bo::lock_state`.
        unsafe { bindings::dma_resv_unlock((*self.bo.gem()).resv) };
    }
}

impl Bo {
    /// Takes the object's reservation lock (not interruptible) for its [`PagesState`].
    pub(crate) fn lock_state(&self) -> StateGuard<'_> {
        // SAFETY: `resv` is set at initialisation and lives as long as the object. Without an
        // acquire context the lock cannot fail.
        let _ = unsafe { bindings::dma_resv_lock((*self.gem()).resv, ptr::null_mut()) };
        StateGuard { bo: self }
    }

    /// The page-backed object's pages mapped for the backend's device, mapped on first use and
    /// kept until the object is freed (the memory no longer moves). Sleeps; `ENODEV` once
    /// revoked; `ENOMEM` and DMA mapping errors.
    pub(crate) fn backend_pages(&self, dev: &AccelDevice) -> Result<&SGTable> {
        let mut guard = self.lock_state();
        let state = guard.state();
        if state.revoked {
            return Err(ENODEV);
        }
        if state.backend_dma.is_none() {
            let mapped = map_pages(
                crate::gem::import::dma_device(dev),
                &mut state.pages(self.device_memory())?,
                self.is_read_only(),
            )?;
            state.backend_dma = Some(mapped);
        }
        let table: *const SGTable = state.backend_dma.as_ref().ok_or(EINVAL)?.table();
        // SAFETY: `backend_dma` is never replaced or dropped before `free`, which cannot run
        // while `&self` is alive.
        Ok(unsafe { &*table })
    }
}

impl Bo {
    /// The device address of the object's memory now, if it is in a BAR region (and has not
    /// migrated): what `BO_INFO` reports and a queue without an MMU uses. Sleeps.
    pub(crate) fn device_addr(&self) -> Option<u64> {
        let device = self.device_memory()?;
        self.lock_state().state().device_addr(Some(device))
    }

    /// The device address of the object's memory if it is in a BAR region, which then stays
    /// there for good (`EBUSY` for a later migration): for a job that names the object, once
    /// validated against the address of its [`BoDesc`](crate::BoDesc), which must be this one.
    /// Sleeps.
    pub(crate) fn pin_device_addr(&self) -> Option<u64> {
        let device = self.device_memory()?;
        let mut guard = self.lock_state();
        let state = guard.state();
        let addr = state.device_addr(Some(device));
        if addr.is_some() {
            state.local_bound = true;
        }
        addr
    }

    /// The `(device address, length)` ranges of the object's memory if it is in a BAR region,
    /// for the backend's MMU (`VM_BIND`); the memory no longer moves afterwards. `None` for
    /// other memory, which the MMU reaches by DMA address ([`Bo::backend_pages`]). Sleeps;
    /// `ENODEV` once revoked.
    pub(crate) fn bind_device_local(&self) -> Result<Option<KVec<(u64, u64)>>> {
        let Some(device) = self.device_memory() else {
            return Ok(None);
        };
        let Some(bar) = device.bar() else {
            return Ok(None);
        };
        let mut guard = self.lock_state();
        let state = guard.state();
        if state.revoked {
            return Err(ENODEV);
        }
        let Memory::Blocks(blocks) = &state.memory else {
            return Ok(None);
        };
        let mut ranges = KVec::new();
        for (offset, len) in blocks.ranges() {
            ranges.push((bar.device_addr(offset), len), GFP_KERNEL)?;
        }
        state.local_bound = true;
        Ok(Some(ranges))
    }
}

/// Maps `pages` for DMA by `dev`: for the device to read only if `read_only` (an IOMMU then
/// refuses its writes), else both ways.
pub(crate) fn map_pages(
    dev: *mut bindings::device,
    pages: &mut [*mut bindings::page],
    read_only: bool,
) -> Result<MappedPages> {
    let count = c_uint::try_from(pages.len())?;
    // SAFETY: `pages` are valid pages of a live object; `dev` is a live device.
    let sgt = from_err_ptr(unsafe { xaccel_pages_map(dev, pages.as_mut_ptr(), count, read_only) })?;
    // INVARIANT: Mapped for `dev` and `read_only` just above.
    Ok(MappedPages {
        dev,
        sgt,
        read_only,
    })
}

/// Unmaps an sg table made by [`map_pages`] for a dma-buf importer.
///
/// # Safety
///
/// `sgt` must come from `map_pages(dev, .., false)` (leaked with [`MappedPages::into_raw`]).
pub(crate) unsafe fn unmap_raw(dev: *mut bindings::device, sgt: *mut bindings::sg_table) {
    // SAFETY: By the safety requirements.
    unsafe { xaccel_pages_unmap(dev, sgt, false) };
}

impl MappedPages {
    /// Gives up ownership of the table, for a dma-buf importer; see [`unmap_raw`]. Only tables
    /// mapped both ways are handed out: read-only objects are never exported.
    pub(crate) fn into_raw(self) -> Result<*mut bindings::sg_table> {
        if self.read_only {
            // Dropped: unmapped with its own direction.
            return Err(EACCES);
        }
        let sgt = self.sgt;
        core::mem::forget(self);
        Ok(sgt)
    }
}

/// Zaps every CPU mapping of `bo` (through the device file and its dma-buf): they fault again.
pub(crate) fn zap_cpu_mappings(bo: &Bo, state: &PagesState) {
    // SAFETY: The object is live; `dma_buf` is null or the object's live dma-buf (cleared by its
    // release under the same lock the caller holds).
    unsafe { xaccel_pages_zap(bo.gem(), state.dma_buf) };
}

/// Zaps every CPU mapping made through the files of `dev` (system objects fault back in, others
/// check whether their memory was revoked).
pub(crate) fn zap_device_mappings(dev: &AccelDevice) {
    // SAFETY: `dev` is a live DRM device whose anonymous inode lives as long as it.
    unsafe { xaccel_pages_zap_device(dev.as_raw()) };
}

/// `mmap` of page-backed objects: a PFN map filled on fault. DRM checked the size and took the
/// mapping's object reference, which `xaccel_pages_vm_ops` keeps.
pub(super) extern "C" fn mmap_pages(
    obj: *mut bindings::drm_gem_object,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: DRM calls `mmap` for an object with one of our page-backed funcs tables, alive
    // for the call.
    let bo = unsafe { Bo::from_gem_unchecked(obj) };
    if bo.device_memory().is_some_and(|m| !m.cpu_visible()) {
        return ENODEV.to_errno();
    }
    if bo.lock_state().state().revoked {
        return ENODEV.to_errno();
    }
    let read_only = bo.flags() & crate::uapi::DRM_XACCEL_BO_READ_ONLY != 0;
    // BAR memory is I/O memory: no `get_user_pages()` through the mapping, whatever it holds
    // later (a migrated object's pages fault in as RAM).
    let io = bo.device_memory().is_some_and(|m| m.bar().is_some());
    // SAFETY: `vma` is a mapping being set up by `mmap()`, with its lock held.
    match to_result(unsafe { xaccel_pages_vma_prepare(vma, read_only, io) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `vm_operations_struct.fault` of page-backed objects: inserts the object's current page.
///
/// `SIGBUS` beyond the object, once the memory is revoked or the device unplugged.
#[no_mangle]
pub(crate) extern "C" fn xaccel_pages_fault(vmf: *mut bindings::vm_fault) -> c_uint {
    const SIGBUS: c_uint = bindings::vm_fault_reason_VM_FAULT_SIGBUS as c_uint;
    // SAFETY: The fault handler runs with the mapping's `mmap_lock` held; the mapping holds a
    // reference to the object in `vm_private_data` (DRM's `vm_open`/`vm_close`).
    let (bo, index) = unsafe {
        let mut obj = ptr::null_mut();
        let index = xaccel_pages_fault_index(vmf, &mut obj);
        (Bo::from_gem_unchecked(obj), index)
    };
    // SAFETY: The object holds its device.
    let dev = unsafe { AccelDevice::from_raw((*bo.gem()).dev) };
    // Device memory is revoked with its device; the other pages are host memory.
    let plugged = dev.enter();
    if plugged.is_none() && bo.device_memory().is_some() {
        return SIGBUS;
    }
    fault_locked(bo, vmf, index)
}

fn fault_locked(bo: &Bo, vmf: *mut bindings::vm_fault, index: c_ulong) -> c_uint {
    const SIGBUS: c_uint = bindings::vm_fault_reason_VM_FAULT_SIGBUS as c_uint;
    let mut guard = bo.lock_state();
    let state = guard.state();
    if state.revoked {
        return SIGBUS;
    }
    if let (Memory::Blocks(blocks), Some(bar)) = (
        &state.memory,
        bo.device_memory().and_then(DeviceMemory::bar),
    ) {
        let offset = (index as u64)
            .checked_mul(PAGE_SIZE as u64)
            .and_then(|offset| blocks.region_offset(offset));
        return match offset {
            // SAFETY: `vmf` is the fault being handled, of a PFN map (`mmap_pages`); the caller
            // holds the device registered. The blocks are the object's until the lock is
            // dropped, and a move zaps the mapping before they are freed, as below.
            Some(offset) => unsafe { bar.insert(vmf, offset) },
            None => SIGBUS,
        };
    }
    // `pgoff_t` is an `unsigned long`, which the kernel's `ffi` makes a `usize`.
    match state.page(bo.device_memory(), index) {
        // SAFETY: `vmf` is the fault being handled; the page belongs to the object's memory,
        // which cannot change while the reservation lock is held, and a change zaps the
        // mapping afterwards (`zap_cpu_mappings`) before the page is freed.
        Some(page) => unsafe { xaccel_pages_insert(vmf, page) },
        None => SIGBUS,
    }
}
