// SPDX-License-Identifier: GPL-2.0-only

//! A device VM: the mappings of buffer objects at device virtual addresses of one address space.
//!
//! A [`Vm`] belongs to one open file (see `table`) and keeps its mappings in a [`VaMap`] of
//! [`Binding`]s: a reference on the buffer object and the access rights. On devices with an MMU
//! ([`Capabilities::mmu`](crate::Capabilities)) binding and unbinding also program the device's
//! page tables through the backend's [`MmuOps`]; on the others nothing is programmed and the
//! backend's engines translate VA operands with [`Vm::resolve`].
//!
//! # Lifetimes
//!
//! A mapping holds a reference on its buffer object, so closing the object's handle does not
//! free mapped memory. Unmapped bindings (unbind, destroy, the file closing) go to
//! [`release_after`] with the VM's busy fences, the latest job fence of every queue that used
//! the VM (jobs of different queues end in any order): the references, and with the last one
//! the pages, are dropped only once every job that may use the VM is done. The page tables are cleared
//! at once, so the VA range can be bound again right away.

use super::{
    dma,
    release::release_after,
    va::{Extent, VaMap},
};
use crate::{
    backend::{Access, MmuOps, VmId},
    device::Plugged,
    fence::{DmaFence, WaitMode},
    gem::Bo,
};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    alloc::kvec::PushError,
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
};

/// What one mapping maps: a buffer object and what the device may do with it.
#[derive(Clone)]
pub(crate) struct Binding {
    bo: ARef<Bo>,
    access: Access,
}

/// The lockable state of a VM.
struct VmState {
    map: VaMap<Binding>,
    /// The fences of the jobs that may use the VM, at most one per fence context (the latest:
    /// a context's fences signal in order); unmapped objects wait for all of them. Signalled
    /// entries are reused, and the vector keeps a free slot when it can, so adding a job's
    /// fence seldom allocates.
    busy: KVec<ARef<DmaFence>>,
    /// Cleared by [`Vm::teardown`]: a destroyed VM takes no new mappings.
    alive: bool,
}

/// Ids for the backends' page tables; see [`VmId`].
static NEXT_VM_ID: AtomicU64 = AtomicU64::new(1);

/// A device virtual address space of one open file.
#[pin_data(PinnedDrop)]
pub struct Vm {
    id: VmId,
    #[pin]
    state: Mutex<VmState>,
}

/// A piece of a buffer object behind a VA range, as [`Vm::resolve`] returns it.
pub struct ResolvedPiece {
    /// The first device virtual address of the piece.
    pub va: u64,
    /// Length in bytes.
    pub len: u64,
    /// The buffer object; the reference keeps its memory while the piece is held.
    pub bo: ARef<Bo>,
    /// Offset in the buffer object of the byte at `va`.
    pub offset: u64,
}

impl Vm {
    /// A new, empty VM.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                id: NEXT_VM_ID.fetch_add(1, Ordering::Relaxed),
                state <- new_mutex!(VmState {
                    map: VaMap::new(),
                    busy: KVec::new(),
                    alive: true,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// The id the backend's MMU callbacks get for this VM.
    pub fn id(&self) -> VmId {
        self.id
    }

    /// Maps `[va, va + size)` to bytes `[offset, offset + size)` of `bo`, with `access` rights.
    ///
    /// The caller has checked alignment, the device's VA window and the object range. On a device
    /// with an MMU the backend programs its page tables first, with the DMA addresses of the
    /// object's pages (shmem pages, device-memory blocks, pinned user pages) or the device
    /// addresses of its blocks of a PCI BAR region; the memory then never moves. Errors: `ENOENT` if the VM was destroyed, `EEXIST` if any address of the
    /// range is mapped, `EACCES` for a read-write mapping of a read-only object, `EOPNOTSUPP`
    /// for an imported object on an MMU device unless it is mapped peer-to-peer, `ENODEV` for revoked device memory, the
    /// backend's and the DMA layer's errors, `ENOMEM`. On error the VM is unchanged.
    pub(crate) fn bind(
        &self,
        plugged: &Plugged<'_>,
        va: u64,
        bo: ARef<Bo>,
        offset: u64,
        size: u64,
        access: Access,
    ) -> Result {
        if access.writable() && bo.flags() & crate::uapi::DRM_XACCEL_BO_READ_ONLY != 0 {
            return Err(EACCES);
        }
        let mmu = plugged.mmu();
        // Outside the VM's lock: this takes the object's reservation lock.
        let pages = match mmu {
            Some(_) => Some(dma::mmu_ranges(plugged.dev, &bo, offset, size)?),
            None => None,
        };
        let mut state = self.state.lock();
        if !state.alive {
            return Err(ENOENT);
        }
        if state.map.overlaps(va, super::va::last_of(va, size)?) {
            return Err(EEXIST);
        }
        if let (Some(mmu), Some(pages)) = (mmu, &pages) {
            mmu.map(self.id, va, pages, access)?;
        }
        let inserted = state.map.insert(va, size, offset, Binding { bo, access });
        if inserted.is_err() {
            if let Some(mmu) = mmu {
                mmu.unmap(self.id, va, size);
            }
        }
        inserted
    }

    /// Unmaps `[va, va + size)`, which may span several mappings and cut into them.
    ///
    /// Errors: `ENOENT` if the VM was destroyed or any address of the range is unmapped,
    /// `ENOMEM`. On error the VM is unchanged. The unmapped objects are released once the busy
    /// fence has signalled.
    pub(crate) fn unbind(&self, plugged: &Plugged<'_>, va: u64, size: u64) -> Result {
        let mut state = self.state.lock();
        if !state.alive {
            return Err(ENOENT);
        }
        let mut busy = KVec::with_capacity(state.busy.len(), GFP_KERNEL)?;
        for fence in state.busy.iter().filter(|f| !f.is_signaled()) {
            busy.push(fence.clone(), GFP_KERNEL)?;
        }
        let removed = state.map.remove(va, size)?;
        if let Some(mmu) = plugged.mmu() {
            mmu.unmap(self.id, va, size);
        }
        drop(state);
        release_after(removed, busy);
        Ok(())
    }

    /// Destroys the VM: unmaps everything (clearing the device's page tables if `plugged` is
    /// given; an unplugged device has none left to clear) and takes no mappings afterwards.
    pub(crate) fn teardown(&self, plugged: Option<&Plugged<'_>>) {
        let mut state = self.state.lock();
        state.alive = false;
        let removed = state.map.take_all();
        if let Some(mmu) = plugged.and_then(Plugged::mmu) {
            unmap_all(mmu, self.id, &removed);
        }
        let busy = core::mem::take(&mut state.busy);
        drop(state);
        release_after(removed, busy);
    }

    /// Adds the fence of a job that may use the VM: until it, and the fences of the other jobs
    /// that may use the VM, have signalled, unmapped buffer objects are kept. For the scheduler,
    /// after the job was pushed (it cannot fail).
    ///
    /// The fence replaces an earlier one of its fence context (which signals first; a later one
    /// already there is kept instead) or a signalled one; only a fence of a new context with no
    /// free slot makes the list grow. Should that allocation fail, the oldest fence is waited
    /// for (outside the lock) and its slot reused.
    pub fn set_busy(&self, fence: ARef<DmaFence>) {
        let mut fence = fence;
        loop {
            let mut state = self.state.lock();
            let busy = &mut state.busy;
            if let Some(same) = busy.iter_mut().find(|f| f.context() == fence.context()) {
                // Two SUBMITs may get here in either order: keep the later fence. Job fences
                // have 64-bit seqnos (`dma_fence_init64()`), which never wrap.
                if fence.seqno() > same.seqno() {
                    *same = fence;
                }
            } else if let Some(free) = busy.iter_mut().find(|f| f.is_signaled()) {
                *free = fence;
            } else {
                if busy.len() == busy.capacity() {
                    let _ = busy.reserve(1, GFP_KERNEL);
                }
                match busy.push_within_capacity(fence) {
                    Ok(()) => {}
                    Err(PushError(back)) => {
                        // No memory: once the oldest job has ended its slot is free. Waited
                        // for outside the lock, which the engines may need to end it.
                        fence = back;
                        let Some(oldest) = busy.first().cloned() else {
                            // Empty, and not even one slot: wait for the job itself, which
                            // then needs no tracking.
                            drop(state);
                            let _ = fence.wait(WaitMode::Uninterruptible, None);
                            return;
                        };
                        drop(state);
                        let _ = oldest.wait(WaitMode::Uninterruptible, None);
                        continue;
                    }
                }
            }
            // Room for the next queue's fence, if memory allows: the next call need not
            // allocate.
            if busy.len() == busy.capacity() {
                let _ = busy.reserve(1, GFP_KERNEL);
            }
            return;
        }
    }

    /// Number of unsignalled busy fences; for tests.
    pub fn busy_count(&self) -> usize {
        self.state
            .lock()
            .busy
            .iter()
            .filter(|f| !f.is_signaled())
            .count()
    }

    /// Translates `[va, va + len)` into the buffer object pieces behind it, in address order,
    /// for engines of devices without an MMU.
    ///
    /// Errors: `EINVAL` for an empty range, `EFAULT` if the range overflows, the VM was
    /// destroyed or any address of the range is unmapped, `EACCES` if `write` is asked and any
    /// piece is read-only, `ENOMEM`.
    pub fn resolve(&self, va: u64, len: u64, write: bool) -> Result<KVec<ResolvedPiece>> {
        let state = self.state.lock();
        if !state.alive {
            return Err(EFAULT);
        }
        let pieces = state.map.resolve(va, len).map_err(|e| match e {
            e if e == ENOENT || e == EOVERFLOW => EFAULT,
            e => e,
        })?;
        if write && pieces.iter().any(|p| !p.value.access.writable()) {
            return Err(EACCES);
        }
        let mut out = KVec::with_capacity(pieces.len(), GFP_KERNEL)?;
        for p in pieces.iter() {
            out.push(
                ResolvedPiece {
                    va: p.va,
                    len: p.len,
                    bo: p.value.bo.clone(),
                    offset: p.offset,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(out)
    }

    /// Number of mappings; for tests and statistics.
    pub fn mapping_count(&self) -> usize {
        self.state.lock().map.extents().len()
    }
}

/// Clears every range of `extents` from the device's page tables.
fn unmap_all(mmu: &dyn MmuOps, vm: VmId, extents: &[Extent<Binding>]) {
    for e in extents {
        mmu.unmap(vm, e.start, e.len());
    }
}

#[pinned_drop]
impl PinnedDrop for Vm {
    fn drop(self: Pin<&mut Self>) {
        // Normally torn down already (VM_DESTROY, file close); this only releases leftovers.
        self.teardown(None);
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_vm)]
mod tests {
    use super::*;
    use crate::{
        backend::{Backend, Capabilities},
        device::Registration,
        fence::FenceContext,
        gem::kunit_device,
        vm::release::wait_for_releases,
    };
    use kernel::{faux, page::PAGE_SIZE};

    const P: u64 = PAGE_SIZE as u64;
    const VA: u64 = 1 << 32;

    /// A backend without an MMU, for a device the tests register themselves.
    struct TestBackend;

    impl Backend for TestBackend {
        const NAME: &'static CStr = c"xaccel-vm-test";
        const DESC: &'static CStr = c"xaccel VM KUnit device";
        type Device = ();
    }

    /// Registers a test device with the VA window `VA..1 TiB` under `faux`.
    fn register(faux: &faux::Registration) -> Result<Registration<TestBackend>> {
        let desc = kunit_device::desc(Capabilities::default(), VA..(1 << 40))?;
        Registration::new(faux.as_ref().as_ref(), &desc, Ok(()))
    }

    #[test]
    fn unbinding_while_busy_keeps_the_memory_until_the_fence_signals() -> Result {
        let faux = faux::Registration::new(c"xaccel-vm-test", None)?;
        let reg = register(&faux)?;
        let dev = reg.device();
        // Dropped before `reg`, whose unplug waits for it.
        let plugged = dev.enter().ok_or(ENODEV)?;
        let ctx = FenceContext::new(c"xaccel-test", c"vm-job", None)?;

        let bo = Bo::new_system(dev, 0, 4 * P, 0, 0)?;
        let vm = Vm::new()?;
        vm.bind(&plugged, VA, bo.clone(), 0, 4 * P, Access::ReadWrite)?;
        // The mapping's reference is the only one left.
        drop(bo);
        ensure!(dev.region_used.get(0) == 4 * P);

        // A job using the VM is running: unbinding everything, in three calls that split the
        // mapping first, must not free the memory.
        let job = ctx.create_fence(GFP_KERNEL)?;
        vm.set_busy(job.to_dma_fence());
        vm.unbind(&plugged, VA + P, P)?;
        vm.unbind(&plugged, VA, P)?;
        vm.unbind(&plugged, VA + 2 * P, 2 * P)?;
        ensure!(vm.mapping_count() == 0);
        ensure!(vm.resolve(VA, P, false).err() == Some(EFAULT));
        ensure!(dev.region_used.get(0) == 4 * P);

        // The job ends: the memory goes (once the queued work has run).
        job.signal()?;
        wait_for_releases();
        ensure!(dev.region_used.get(0) == 0);
        Ok(())
    }

    #[test]
    fn destroying_a_busy_vm_defers_too_and_idle_unbinds_do_not() -> Result {
        let faux = faux::Registration::new(c"xaccel-vm-test", None)?;
        let reg = register(&faux)?;
        let dev = reg.device();
        let plugged = dev.enter().ok_or(ENODEV)?;
        let ctx = FenceContext::new(c"xaccel-test", c"vm-job", None)?;

        let vm = Vm::new()?;
        vm.bind(
            &plugged,
            VA,
            Bo::new_system(dev, 0, P, 0, 0)?,
            0,
            P,
            Access::ReadOnly,
        )?;
        // No job: unbinding frees at once.
        vm.unbind(&plugged, VA, P)?;
        ensure!(dev.region_used.get(0) == 0);

        vm.bind(
            &plugged,
            VA,
            Bo::new_system(dev, 0, 2 * P, 0, 0)?,
            0,
            2 * P,
            Access::ReadWrite,
        )?;
        let job = ctx.create_fence(GFP_KERNEL)?;
        vm.set_busy(job.to_dma_fence());
        vm.teardown(Some(&plugged));
        ensure!(
            vm.bind(
                &plugged,
                VA,
                Bo::new_system(dev, 0, P, 0, 0)?,
                0,
                P,
                Access::ReadWrite
            ) == Err(ENOENT)
        );
        ensure!(dev.region_used.get(0) == 2 * P);
        // The queue goes away: its job is cancelled, which signals the fence too.
        drop(ctx);
        wait_for_releases();
        ensure!(dev.region_used.get(0) == 0);
        Ok(())
    }

    #[test]
    fn unmapped_memory_waits_for_every_queue_not_only_the_latest_job() -> Result {
        let faux = faux::Registration::new(c"xaccel-vm-test", None)?;
        let reg = register(&faux)?;
        let dev = reg.device();
        let plugged = dev.enter().ok_or(ENODEV)?;
        // Two queues (contexts) on one VM.
        let first_queue = FenceContext::new(c"xaccel-test", c"vm-first", None)?;
        let second_queue = FenceContext::new(c"xaccel-test", c"vm-second", None)?;

        let vm = Vm::new()?;
        vm.bind(
            &plugged,
            VA,
            Bo::new_system(dev, 0, 2 * P, 0, 0)?,
            0,
            2 * P,
            Access::ReadWrite,
        )?;
        // A long job on the first queue, then two on the second: the second queue keeps only
        // its latest fence.
        let earlier = first_queue.create_fence(GFP_KERNEL)?;
        vm.set_busy(earlier.to_dma_fence());
        let short = second_queue.create_fence(GFP_KERNEL)?;
        vm.set_busy(short.to_dma_fence());
        let later = second_queue.create_fence(GFP_KERNEL)?;
        vm.set_busy(later.to_dma_fence());
        // Two SUBMITs racing: the earlier fence coming last does not replace the later one.
        vm.set_busy(short.to_dma_fence());
        ensure!(vm.busy_count() == 2);

        // The later jobs end first; then everything is unbound.
        short.signal()?;
        // `later` is still tracked.
        ensure!(vm.busy_count() == 2);
        later.signal()?;
        ensure!(vm.busy_count() == 1);
        vm.unbind(&plugged, VA, 2 * P)?;
        ensure!(dev.region_used.get(0) == 2 * P);

        // A third queue's job reuses the signalled slot.
        let third_queue = FenceContext::new(c"xaccel-test", c"vm-third", None)?;
        let third = third_queue.create_fence(GFP_KERNEL)?;
        vm.set_busy(third.to_dma_fence());
        ensure!(vm.busy_count() == 2);
        vm.bind(
            &plugged,
            VA,
            Bo::new_system(dev, 0, P, 0, 0)?,
            0,
            P,
            Access::ReadWrite,
        )?;
        ensure!(dev.region_used.get(0) == 3 * P);
        vm.teardown(Some(&plugged));

        // The first queue's job ends: the first object goes, the second waits for the third.
        earlier.signal()?;
        // (Waits until the queued release has run; a premature release fails the check below.)
        while dev.region_used.get(0) > P {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
        }
        ensure!(dev.region_used.get(0) == P);
        third.signal()?;
        wait_for_releases();
        ensure!(dev.region_used.get(0) == 0);
        Ok(())
    }

    #[test]
    fn resolve_checks_bounds_and_write_permission() -> Result {
        let faux = faux::Registration::new(c"xaccel-vm-test", None)?;
        let reg = register(&faux)?;
        let dev = reg.device();
        let plugged = dev.enter().ok_or(ENODEV)?;

        let vm = Vm::new()?;
        let ro = Bo::new_system(dev, 0, 2 * P, 0, 0)?;
        let rw = Bo::new_system(dev, 0, 2 * P, 0, 0)?;
        vm.bind(&plugged, VA, ro.clone(), P, P, Access::ReadOnly)?;
        vm.bind(&plugged, VA + P, rw.clone(), 0, 2 * P, Access::ReadWrite)?;

        // Across the two mappings, cut to the range.
        let pieces = vm.resolve(VA + 16, P + 32, false)?;
        ensure!(pieces.len() == 2);
        ensure!(pieces[0].va == VA + 16 && pieces[0].len == P - 16 && pieces[0].offset == P + 16);
        ensure!(core::ptr::eq(&*pieces[0].bo, &*ro));
        ensure!(pieces[1].va == VA + P && pieces[1].len == 48 && pieces[1].offset == 0);
        ensure!(core::ptr::eq(&*pieces[1].bo, &*rw));
        drop(pieces);
        // Writes: only through the read-write mapping.
        ensure!(vm.resolve(VA + P, 2 * P, true)?.len() == 1);
        ensure!(vm.resolve(VA + P - 1, 2, true).err() == Some(EACCES));
        // Out of bounds, empty, overflowing.
        ensure!(vm.resolve(VA + 3 * P - 1, 2, false).err() == Some(EFAULT));
        ensure!(vm.resolve(VA - 1, 1, false).err() == Some(EFAULT));
        ensure!(vm.resolve(VA, 0, false).err() == Some(EINVAL));
        ensure!(vm.resolve(u64::MAX, 2, false).err() == Some(EFAULT));
        vm.teardown(Some(&plugged));
        Ok(())
    }
}
