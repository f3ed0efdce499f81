// SPDX-License-Identifier: GPL-2.0-only

//! A job's memory: the buffer objects it may use, mapped for the CPU for as long as the job
//! lives, and the bounds-checked operations a software engine runs on them.
//!
//! SUBMIT builds a [`JobMemory`] once the backend has validated the command buffer: one *slot*
//! per entry of the BO list (slot `i` is BO-list index `i`), then one per buffer object that a
//! device-VA operand resolved to ([`Submission::resolve`]). Each slot holds a reference to its
//! object and a kernel mapping of all of it:
//!
//! - system objects: the shmem helper's vmap (`drm_gem_vmap()`, which pins the pages), made by
//!   the first job that uses the object and kept until it is freed ([`KernelMapping`]);
//! - device-memory and userptr objects: `vmap()` of the object's pages (its device-memory
//!   blocks, the system pages it migrated to, or its pinned user pages), kept the same way; the
//!   memory no longer migrates once mapped (`PagesState::kernel_mapped`);
//! - imported objects: the exporter's `dma_buf_vmap()` for each job, asked under the
//!   dma-buf's reservation lock once the attachment is mapped (`Bo::with_mapped_dma_buf`, so an
//!   exporter that revoked the buffer fails the map with `ENODEV` before its `vmap` is asked);
//!   an exporter without `vmap`, and I/O memory, are refused (`EOPNOTSUPP`); an import mapped
//!   peer-to-peer (another device's BAR, `Bo::with_peer_table`) is not mapped, as BAR memory.
//!   Another xaccel device's export of device memory or userptr memory hands out that object's
//!   own [`KernelMapping`] (its `vmap`, `export_pages`), so that memory no longer migrates
//!   either;
//! - device-memory objects in a PCI BAR region: nothing. Such memory belongs to a device that
//!   reaches it itself; the core's CPU operations on the slot fail with `EOPNOTSUPP`.
//!
//! The scheduler's job owns its memory, so mappings and references last until the job's last
//! reference goes: after its fence has signalled and after the backend has dropped its
//! [`JobHandle`], so an engine still running a job that a reset abandoned still reads and writes
//! valid memory.
//!
//! Unmapping an import and dropping the last reference to an object sleep (reservation locks,
//! `vunmap()`, freeing the object), but a job may be freed anywhere, a hard interrupt included
//! (see `sched`). The slots therefore live in a [`Release`], allocated with
//! them, which [`JobMemory`]'s drop queues on the scheduler's workqueue; the work item drops
//! the slots. The queue outlives the item: a job holds its ring, and module exit destroys the
//! queue, running what is pending, only once no ring is left.
//!
//! Engines reach the memory through [`JobHandle::memory`]: reads into and writes from slices, a
//! copy between two ranges (one `memmove`) and a fill. Every operation checks its slot, its range
//! (overflow included) and, for writes, the slot's access. The backend validated the same ranges
//! before the job was queued, so a failed check is a backend bug, reported as an error, and never
//! touches memory outside the objects.
//!
//! The memory is shared: userspace mappings, other jobs and other devices may use the same bytes
//! at the same time, as with any DMA. The core only accesses it through raw pointers with bulk
//! copies, never through Rust references; racing accesses give unspecified bytes, as on
//! hardware.
//!
//! [`Submission::resolve`]: crate::Submission::resolve
//! [`JobHandle`]: crate::sched::JobHandle
//! [`JobHandle::memory`]: crate::sched::JobHandle::memory

use crate::gem::{Bo, PagesState, Placement};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::c_void,
    page::PAGE_SIZE,
    prelude::*,
    sync::{aref::ARef, Arc},
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};

// `drm_gem_object` contains zero-sized members; it is only passed along by pointer.
#[allow(improper_ctypes)]
extern "C" {
    /// Maps a system object (GEM vmap); ERR_PTR on failure, with the mapped size in `*size`
    /// (`job_memory_c.c`).
    fn xaccel_job_vmap_gem(obj: *mut bindings::drm_gem_object, size: *mut usize) -> *mut c_void;
    /// Maps an imported dma-buf (`dma_buf_vmap()`, reservation lock held); ERR_PTR on failure,
    /// with the mapped size in `*size`.
    fn xaccel_job_vmap_dma_buf(dma_buf: *mut bindings::dma_buf, size: *mut usize) -> *mut c_void;
    /// Undoes `xaccel_job_vmap_gem()`.
    fn xaccel_job_vunmap_gem(
        obj: *mut bindings::drm_gem_object,
        imported: bool,
        vaddr: *mut c_void,
    );
    /// `vmap(pages, count, VM_MAP, PAGE_KERNEL)`; NULL on failure.
    fn xaccel_job_vmap_pages(
        pages: *mut *mut bindings::page,
        count: u32,
        read_only: bool,
    ) -> *mut c_void;
    /// `vunmap()`.
    fn xaccel_job_vunmap_pages(vaddr: *mut c_void);
}

/// Maps all of a system, device-memory or userptr object for the kernel: the shmem helper's
/// vmap (which pins its pages) or `vmap()` of its pages. May sleep (takes the object's
/// reservation lock); `ENODEV` once the device memory was revoked.
fn map_whole(bo: &Bo) -> Result<NonNull<u8>> {
    let vaddr = match bo.placement() {
        Placement::System => {
            let mut size = 0;
            // SAFETY: `bo` is a live system object (the caller holds it); `size` is a valid out
            // pointer.
            from_err_ptr(unsafe { xaccel_job_vmap_gem(bo.gem(), &mut size) })?
        }
        Placement::Device | Placement::Userptr => return map_pages(bo, bo.lock_state().state()),
        Placement::Imported => return Err(EINVAL),
    };
    NonNull::new(vaddr.cast::<u8>()).ok_or(ENOMEM)
}

/// Maps all of a device-memory or userptr object, `bo`, whose reservation lock the caller holds
/// (`state` is its state): `vmap()` of its pages, which no longer move afterwards. `ENODEV`
/// once the device memory was revoked; `EINVAL` for memory without pages (a BAR).
fn map_pages(bo: &Bo, state: &mut PagesState) -> Result<NonNull<u8>> {
    if state.revoked {
        return Err(ENODEV);
    }
    let mut pages = state.pages(bo.device_memory())?;
    // SAFETY: `pages` holds valid pages, which the object owns until it is freed (the caller
    // holds it) and which cannot move once `kernel_mapped` is set below, under the reservation
    // lock the caller holds; `vmap()` does not keep the array.
    // A read-only object is mapped read-only: a write through the mapping faults.
    let vaddr = unsafe {
        xaccel_job_vmap_pages(
            pages.as_mut_ptr(),
            u32::try_from(pages.len())?,
            bo.is_read_only(),
        )
    };
    let vaddr = NonNull::new(vaddr.cast::<u8>()).ok_or(ENOMEM)?;
    state.kernel_mapped = true;
    Ok(vaddr)
}

/// Undoes [`map_whole`] (and [`map_pages`], what it does for page-backed objects).
///
/// # Safety
///
/// `vaddr` must come from `map_whole(bo)` or `map_pages(bo, ..)` and not be used afterwards.
unsafe fn unmap_whole(bo: &Bo, vaddr: NonNull<u8>) {
    let vaddr = vaddr.as_ptr().cast::<c_void>();
    match bo.placement() {
        // SAFETY: A GEM vmap of this object (safety requirements), released once.
        Placement::System => unsafe { xaccel_job_vunmap_gem(bo.gem(), false, vaddr) },
        // SAFETY: A `vmap()` (safety requirements), released once.
        _ => unsafe { xaccel_job_vunmap_pages(vaddr) },
    }
}

/// The kernel mapping of a system, device-memory or userptr buffer object that jobs use.
///
/// The first job that needs it maps the whole object ([`map_whole`]); the mapping, and so the
/// pinning of a system object's pages, stays until the object is freed (`free` calls
/// [`KernelMapping::unmap`]). Mapping and pinning 64 MiB costs far more than copying it, so
/// jobs reusing an object pay it once. Imported objects are mapped per job instead, through
/// their exporter, which may want its memory back between jobs; when the exporter is another
/// xaccel device's device-memory or userptr object, its `vmap` hands out that object's mapping
/// ([`KernelMapping::get_or_map_locked`]), so the jobs of both devices share one.
///
/// # Invariants
///
/// `vaddr` is null or a mapping of the whole object owning this, made by [`map_whole`] or
/// [`map_pages`].
pub(crate) struct KernelMapping {
    vaddr: AtomicPtr<u8>,
}

impl KernelMapping {
    /// No mapping yet.
    pub(crate) const fn new() -> Self {
        // INVARIANT: Null.
        Self {
            vaddr: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The mapping of `bo`, which must own `self`, made now if it has none. May sleep.
    fn get_or_map(&self, bo: &Bo) -> Result<NonNull<u8>> {
        self.get_or(bo, || map_whole(bo))
    }

    /// The mapping of `bo`, a device-memory or userptr object owning `self` whose reservation
    /// lock the caller holds (`state` is its state), made now if it has none: for the `vmap` of
    /// the object's dma-buf, which the dma-buf core calls with that lock held. May sleep.
    pub(crate) fn get_or_map_locked(&self, bo: &Bo, state: &mut PagesState) -> Result<NonNull<u8>> {
        self.get_or(bo, || map_pages(bo, state))
    }

    /// The mapping of `bo` (owning `self`), or the one `map` makes if it has none; `map` is
    /// [`map_whole`] or [`map_pages`] of `bo`.
    fn get_or(&self, bo: &Bo, map: impl FnOnce() -> Result<NonNull<u8>>) -> Result<NonNull<u8>> {
        if let Some(vaddr) = NonNull::new(self.vaddr.load(Ordering::Acquire)) {
            return Ok(vaddr);
        }
        let new = map()?;
        // INVARIANT: Only a mapping of the whole object is stored, once.
        match self.vaddr.compare_exchange(
            core::ptr::null_mut(),
            new.as_ptr(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(new),
            Err(winner) => {
                // Another job mapped it first: keep theirs.
                // SAFETY: `new` was made just above and is not used.
                unsafe { unmap_whole(bo, new) };
                NonNull::new(winner).ok_or(EINVAL)
            }
        }
    }

    /// Unmaps, if mapped.
    ///
    /// # Safety
    ///
    /// `bo` must own `self`, and nothing may use the mapping any more (the object is being
    /// freed).
    pub(crate) unsafe fn unmap(&self, bo: &Bo) {
        if let Some(vaddr) = NonNull::new(self.vaddr.swap(core::ptr::null_mut(), Ordering::AcqRel))
        {
            // SAFETY: By the type invariants `vaddr` came from `map_whole(bo)` or
            // `map_pages(bo, ..)`; it was taken out of `self` just above, and nobody uses it
            // (safety requirements).
            unsafe { unmap_whole(bo, vaddr) };
        }
    }
}

/// One buffer object of a job, mapped.
///
/// # Invariants
///
/// `vaddr` is `None` or a kernel mapping of the first `size` bytes of `bo`: its [`KernelMapping`], valid
/// until `bo` is freed, or, for an import (`imported`), the exporter's vmap made for this slot
/// and valid until the slot is dropped. `bo` keeps the memory and the mapping alive.
struct Slot {
    bo: ARef<Bo>,
    /// `None` for BAR memory (ours, or an import mapped peer-to-peer), which the core does not
    /// map for jobs.
    vaddr: Option<NonNull<u8>>,
    size: usize,
    writable: bool,
    imported: bool,
}

// SAFETY: `vaddr` is a kernel virtual address, valid in any thread; the slot hands out no
// references to the memory behind it, only bulk copies through raw pointers.
unsafe impl Send for Slot {}
// SAFETY: As above: `&Slot` only allows copies through the pointer, which any thread may do.
unsafe impl Sync for Slot {}

impl Slot {
    /// Maps all of `bo` (or finds its mapping); may sleep (it takes the object's reservation
    /// lock).
    fn map(bo: ARef<Bo>, writable: bool) -> Result<Self> {
        // SUBMIT and VM_BIND refuse this before; the slot's access is what every CPU write of
        // an engine is checked against, so it is checked here once more.
        if writable && bo.is_read_only() {
            return Err(EACCES);
        }
        let bo_size = usize::try_from(bo.size())?;
        let imported = bo.placement() == Placement::Imported;
        // An import mapped peer-to-peer is another device's BAR, reached by the backend's device
        // through the bus (its attachment is pinned: the memory stays): not mapped, as BAR memory.
        let peer = if imported {
            match bo.with_peer_table(|_, _| Ok(())) {
                Ok(()) => true,
                Err(e) if e == EOPNOTSUPP => false,
                Err(e) => return Err(e),
            }
        } else {
            false
        };
        let (vaddr, size) = if imported && !peer {
            let mut size = 0;
            let vaddr = bo.with_mapped_dma_buf(|dma_buf| {
                // SAFETY: `dma_buf` is the import's live dma-buf, whose reservation lock is held;
                // `size` is a valid out pointer.
                from_err_ptr(unsafe { xaccel_job_vmap_dma_buf(dma_buf, &mut size) })
            })?;
            let vaddr = NonNull::new(vaddr.cast::<u8>()).ok_or(ENOMEM)?;
            // An exporter's dma-buf may be shorter than the object (rounded up to whole pages).
            (vaddr, size.min(bo_size))
        } else if peer || bo.device_addr().is_some() {
            // BAR memory, which stays where it is once a job names it (`Bo::pin_device_addr`).
            let vaddr = None;
            // INVARIANT: No mapping.
            return Ok(Self {
                bo,
                vaddr,
                size: bo_size,
                writable,
                imported: false,
            });
        } else {
            (bo.kernel_map().get_or_map(&bo)?, bo_size)
        };
        // INVARIANT: A mapping of at least `size` bytes of `bo`, of the kind `imported` says.
        Ok(Self {
            bo,
            vaddr: Some(vaddr),
            size,
            writable,
            imported,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let (true, Some(vaddr)) = (self.imported, self.vaddr) {
            // SAFETY: The exporter's vmap made for this slot (type invariants), not used again;
            // the object is still held.
            unsafe { xaccel_job_vunmap_gem(self.bo.gem(), true, vaddr.as_ptr().cast::<c_void>()) };
        }
    }
}

/// The slots of a job, and the work item that drops them in process context.
#[pin_data]
struct Release {
    slots: KVec<Slot>,
    #[pin]
    work: Work<Release>,
}

impl_has_work! {
    impl HasWork<Self> for Release { self.work }
}

impl WorkItem for Release {
    type Pointer = Arc<Release>;

    fn run(this: Arc<Release>) {
        // The last reference: the slots are unmapped here.
        drop(this);
    }
}

/// The memory of one job; see the module documentation.
pub struct JobMemory {
    /// `None` for a job that uses no memory.
    mapped: Option<Arc<Release>>,
}

impl JobMemory {
    /// No memory: for jobs whose command buffer names no buffer object.
    pub fn none() -> Self {
        Self { mapped: None }
    }

    /// Maps every object of `bos` (a reference and whether the job may write it), in order:
    /// slot `i` is `bos[i]`. May sleep. Errors: `ENOMEM`, `EACCES` for a read-only object to be
    /// written, `EOPNOTSUPP` for an import whose exporter cannot be mapped for the CPU (no
    /// `vmap`, or I/O memory), `ENODEV` for one whose exporter revoked it, the exporter's other
    /// map and vmap errors.
    pub(crate) fn map(bos: KVec<(ARef<Bo>, bool)>) -> Result<Self> {
        if bos.is_empty() {
            return Ok(Self::none());
        }
        let mut slots = KVec::with_capacity(bos.len(), GFP_KERNEL)?;
        for (bo, writable) in bos {
            slots.push(Slot::map(bo, writable)?, GFP_KERNEL)?;
        }
        let release = Arc::pin_init(
            pin_init!(Release {
                slots,
                work <- new_work!("xaccel_job_memory_release"),
            }),
            GFP_KERNEL,
        )?;
        Ok(Self {
            mapped: Some(release),
        })
    }

    fn slot_list(&self) -> &[Slot] {
        self.mapped.as_ref().map_or(&[], |r| &r.slots)
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slot_list().len()
    }

    /// Size of slot `slot` in bytes, `None` if there is no such slot.
    pub fn slot_size(&self, slot: usize) -> Option<u64> {
        self.slot_list().get(slot).map(|s| s.size as u64)
    }

    /// The address of `len` bytes at `offset` of `slot`, checked: `EINVAL` for no such slot,
    /// `EFAULT` for a range outside it, `EACCES` for a `write` to a read-only slot,
    /// `EOPNOTSUPP` for BAR memory (not mapped).
    fn range(&self, slot: usize, offset: u64, len: u64, write: bool) -> Result<*mut u8> {
        let s = self.slot_list().get(slot).ok_or(EINVAL)?;
        let vaddr = s.vaddr.ok_or(EOPNOTSUPP)?;
        match offset.checked_add(len) {
            Some(end) if end <= s.size as u64 => {}
            _ => return Err(EFAULT),
        }
        if write && !s.writable {
            return Err(EACCES);
        }
        // SAFETY: `offset <= size` (checked), so the result is inside, or one past the end
        // of, the slot's mapping (type invariants of `Slot`).
        Ok(unsafe { vaddr.as_ptr().add(offset as usize) })
    }

    /// Copies `dst.len()` bytes at `offset` of `slot` into `dst`.
    pub fn read(&self, slot: usize, offset: u64, dst: &mut [u8]) -> Result {
        let src = self.range(slot, offset, dst.len() as u64, false)?;
        // SAFETY: `src` is valid for `dst.len()` bytes (checked against the mapping, which lives
        // as long as `self`); `dst` is a distinct, exclusively borrowed buffer.
        unsafe { core::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `src` to `offset` of `slot`.
    pub fn write(&self, slot: usize, offset: u64, src: &[u8]) -> Result {
        let dst = self.range(slot, offset, src.len() as u64, true)?;
        // SAFETY: `dst` is valid for `src.len()` bytes of a writable slot (checked); `src` is a
        // kernel buffer distinct from job memory.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        Ok(())
    }

    /// Copies `len` bytes from `src_offset` of `src` to `dst_offset` of `dst` with one `memcpy`,
    /// or one `memmove` when the two ranges overlap in the kernel's address space: overlapping
    /// ranges of one mapping copy as if through a temporary buffer.
    ///
    /// Both are the kernel's string functions. `memcpy` is preferred because on CPUs without
    /// fast short `rep movsb` (and under emulators, where `rep movsb` costs a loop iteration per
    /// byte) `memmove` still takes `rep movsb` while `memcpy` copies eight bytes at a time.
    pub fn copy(
        &self,
        dst: usize,
        dst_offset: u64,
        src: usize,
        src_offset: u64,
        len: u64,
    ) -> Result {
        let to = self.range(dst, dst_offset, len, true)?;
        let from = self.range(src, src_offset, len, false)?;
        // `len` fits in `usize`: it is at most a slot's size.
        let len = len as usize;
        let (t, f) = (to as usize, from as usize);
        if t.checked_add(len).is_some_and(|end| end <= f)
            || f.checked_add(len).is_some_and(|end| end <= t)
        {
            // SAFETY: Both ranges are valid for `len` bytes (checked), `to` is writable, and the
            // two address ranges are disjoint (just checked).
            unsafe { core::ptr::copy_nonoverlapping(from, to, len) };
        } else {
            // SAFETY: Both ranges are valid for `len` bytes (checked), `to` is writable; `copy`
            // is `memmove`, correct for overlapping ranges.
            unsafe { core::ptr::copy(from, to, len) };
        }
        Ok(())
    }

    /// Fills `len` bytes at `offset` of `slot` with `pattern` repeated: byte `i` of the range is
    /// `pattern[i % pattern.len()]`. `EINVAL` for an empty pattern.
    pub fn fill(&self, slot: usize, offset: u64, len: u64, pattern: &[u8]) -> Result {
        let dst = self.range(slot, offset, len, true)?;
        if pattern.is_empty() {
            return Err(EINVAL);
        }
        // `len` is at most a slot's size, so it fits in `usize`.
        let len = len as usize;
        let first = pattern.len().min(len);
        // SAFETY: `dst` is valid for `len` bytes of a writable slot (checked); `pattern` is a
        // kernel buffer distinct from job memory.
        unsafe { core::ptr::copy_nonoverlapping(pattern.as_ptr(), dst, first) };
        // Double the filled prefix, a multiple of the pattern's length, until the end.
        let mut filled = first;
        while filled < len {
            let chunk = filled.min(len - filled);
            // SAFETY: `[0, chunk)` and `[filled, filled + chunk)` are inside the checked range
            // and disjoint (`chunk <= filled`).
            unsafe { core::ptr::copy_nonoverlapping(dst, dst.add(filled), chunk) };
            filled += chunk;
        }
        Ok(())
    }
}

impl Drop for JobMemory {
    fn drop(&mut self) {
        if let Some(release) = self.mapped.take() {
            // Never fails: the item is queued once, here. The queue exists while any ring does,
            // and a job (the owner) holds its ring.
            let _ = crate::sched::engine_queue().enqueue(release);
        }
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_job_memory)]
mod tests {
    use super::*;
    use crate::{device::AccelDevice, gem::kunit_device};
    use kernel::faux;

    const P: u64 = PAGE_SIZE as u64;

    /// An unregistered device with a system region (0) and a 64 KiB core-backed local region (1).
    fn device(faux: &faux::Registration) -> Result<ARef<AccelDevice>> {
        kunit_device::device_with_local(faux, 16 * P, false, false, crate::ExportFallback::Refuse)
    }

    /// Slot 0: two system pages, writable; slot 1: a local page, writable; slot 2: one system
    /// page, read-only.
    fn memory(dev: &AccelDevice) -> Result<(JobMemory, ARef<Bo>)> {
        let sys = Bo::new_system(dev, 0, 2 * P, 0, 0)?;
        let mut bos = KVec::new();
        bos.push((sys.clone(), true), GFP_KERNEL)?;
        bos.push((Bo::new_device(dev, 1, P, 0, 0)?, true), GFP_KERNEL)?;
        bos.push((Bo::new_system(dev, 0, P, 0, 0)?, false), GFP_KERNEL)?;
        Ok((JobMemory::map(bos)?, sys))
    }

    #[test]
    fn operations_reach_the_objects_memory() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-jobmem", None)?;
        let dev = device(&faux)?;
        let (mem, sys) = memory(&dev)?;
        ensure!(mem.slots() == 3);
        ensure!(mem.slot_size(1) == Some(P) && mem.slot_size(3).is_none());

        // A write across the page boundary of slot 0 is seen through the object itself.
        let bytes = [1u8, 2, 3, 4, 5, 6, 7];
        mem.write(0, P - 3, &bytes)?;
        let mut back = [0u8; 7];
        sys.read(P - 3, &mut back)?;
        ensure!(back == bytes);

        // Copy to device memory at an odd offset, and back.
        mem.copy(1, 101, 0, P - 3, 7)?;
        let mut out = [0u8; 9];
        mem.read(1, 100, &mut out)?;
        ensure!(out == [0, 1, 2, 3, 4, 5, 6, 7, 0]);

        // Overlapping copies move as if through a temporary buffer.
        mem.copy(1, 102, 1, 101, 7)?;
        mem.read(1, 100, &mut out)?;
        ensure!(out == [0, 1, 1, 2, 3, 4, 5, 6, 7]);
        mem.copy(1, 100, 1, 102, 7)?;
        mem.read(1, 100, &mut out)?;
        ensure!(out == [1, 2, 3, 4, 5, 6, 7, 6, 7]);

        // A fill repeats the pattern from the range's start, whatever the length.
        mem.fill(0, 1, 2 * P - 2, &[0xa, 0xb, 0xc])?;
        let mut tail = [0u8; 5];
        mem.read(0, 2 * P - 5, &mut tail)?;
        // Byte i of the range is pattern[i % 3]; the range starts at 1.
        let want = |at: u64| [0xa, 0xb, 0xc][((at - 1) % 3) as usize];
        ensure!(
            tail == [
                want(2 * P - 5),
                want(2 * P - 4),
                want(2 * P - 3),
                want(2 * P - 2),
                0
            ]
        );
        mem.read(0, 0, &mut tail)?;
        ensure!(tail == [0, 0xa, 0xb, 0xc, 0xa]);
        drop(mem);
        crate::sched::flush();
        Ok(())
    }

    #[test]
    fn every_access_is_checked() -> Result {
        let faux = faux::Registration::new(c"xaccel-kunit-jobmem-checks", None)?;
        let dev = device(&faux)?;
        let (mem, _sys) = memory(&dev)?;
        let mut buf = [0u8; 8];
        ensure!(mem.read(3, 0, &mut buf) == Err(EINVAL));
        ensure!(mem.read(1, P - 7, &mut buf) == Err(EFAULT));
        ensure!(mem.read(0, u64::MAX - 3, &mut buf) == Err(EFAULT));
        ensure!(mem.write(2, 0, &buf) == Err(EACCES));
        ensure!(mem.copy(2, 0, 0, 0, 8) == Err(EACCES));
        ensure!(mem.copy(0, 0, 1, P, 1) == Err(EFAULT));
        ensure!(mem.copy(0, 0, 1, 0, u64::MAX) == Err(EFAULT));
        ensure!(mem.fill(0, 0, 8, &[]) == Err(EINVAL));
        ensure!(mem.fill(2, 0, 8, &[1]) == Err(EACCES));
        // Reads of read-only slots and empty ranges at the very end are fine.
        mem.read(2, P - 8, &mut buf)?;
        mem.copy(0, 2 * P, 1, P, 0)?;
        let none = JobMemory::none();
        ensure!(none.slots() == 0 && none.read(0, 0, &mut buf) == Err(EINVAL));
        drop(mem);
        crate::sched::flush();
        Ok(())
    }
}
