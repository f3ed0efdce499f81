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
//!
//! # Address spaces
//!
//! A backend with an MMU may keep an address space and page tables per VM. The VM holds its
//! device, and when the VM itself goes (its last reference: the file's table after destroy, a
//! SUBMIT that looked it up, an import's peer list) it hands a [`MmuRelease`] to
//! [`release_after`] with its busy fences: once every job that could use the VM is done, the
//! backend is told ([`Backend::mmu_release`](crate::Backend::mmu_release)) and may reuse them.
//! Teardown keeps the busy fences for that, and a SUBMIT racing with the destroy adds its job's
//! fence before it lets the VM go, so no job validated against the VM is missed.
//!
//! # Peer-to-peer imports
//!
//! A binding of an import mapped peer-to-peer (another device's BAR, on a device with an MMU)
//! is made under the dma-buf's reservation lock, and the VM is listed on the object
//! (`gem::import::PeerVms`) before the page tables are programmed. When the exporter revokes the
//! memory, the importer's invalidation ([`Vm::revoke_peer`]) clears the page-table entries of
//! the VM's bindings of the object and marks them *revoked*: [`Vm::resolve`] fails on them with
//! `EFAULT`, jobs already queued fault in the device MMU, and the VA range stays taken until
//! userspace unbinds it (without clearing it twice). A VM leaves the object's list once it no
//! longer maps the object (`Bo::forget_peer_vm`, after unbind and teardown), which also breaks
//! the reference cycle VM -> binding -> object -> list -> VM.
//!
//! # Lock order
//!
//! A dma-buf's reservation lock, then the VM's state mutex, then the backend's MMU locks (see
//! `vm/mod.rs`). No reservation lock is taken under the state mutex, and no buffer object's
//! last reference is dropped under it (freeing an object takes its reservation lock).

use super::{
    dma,
    release::release_after,
    va::{Extent, VaMap},
};
use crate::{
    backend::{Access, DmaRange, MmuOps, VmId},
    device::{AccelDevice, Plugged},
    fence::{DmaFence, WaitMode},
    gem::{Bo, Placement},
};
use core::{
    ptr,
    sync::atomic::{AtomicU64, Ordering},
};
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
    /// An import bound peer-to-peer: the VM is on the object's list of peer VMs.
    peer: bool,
    /// The exporter revoked the memory: the page tables no longer map it, jobs cannot name it.
    revoked: bool,
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
    /// The device whose backend learns of the VM's end (`None` for the core's tests).
    device: Option<ARef<AccelDevice>>,
}

/// Tells a device's backend that a VM is gone and its jobs are done
/// ([`Backend::mmu_release`](crate::Backend::mmu_release)), when dropped by [`release_after`].
struct MmuRelease {
    device: ARef<AccelDevice>,
    vm: VmId,
}

impl Drop for MmuRelease {
    fn drop(&mut self) {
        // After an unplug the backend's data is gone, and with it what it kept for the VM.
        if let Some(plugged) = self.device.enter() {
            if let Some(mmu) = plugged.mmu() {
                mmu.release(self.vm);
            }
        }
    }
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
    /// A new, empty VM of `device` (whose backend is told when the VM is gone).
    pub(crate) fn new(device: Option<ARef<AccelDevice>>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                id: NEXT_VM_ID.fetch_add(1, Ordering::Relaxed),
                state <- new_mutex!(VmState {
                    map: VaMap::new(),
                    busy: KVec::new(),
                    alive: true,
                }),
                device,
            }),
            GFP_KERNEL,
        )
    }

    /// Copies of the busy fences that have not signalled.
    fn unsignalled(busy: &[ARef<DmaFence>]) -> Result<KVec<ARef<DmaFence>>> {
        let mut copy = KVec::with_capacity(busy.len(), GFP_KERNEL)?;
        for fence in busy.iter().filter(|f| !f.is_signaled()) {
            copy.push(fence.clone(), GFP_KERNEL)?;
        }
        Ok(copy)
    }

    /// The id the backend's MMU callbacks get for this VM.
    pub fn id(&self) -> VmId {
        self.id
    }

    /// Maps `[va, va + size)` to bytes `[offset, offset + size)` of `bo`, with `access` rights.
    ///
    /// The caller has checked alignment, the device's VA window and the object range. On a device
    /// with an MMU the backend programs its page tables first, with the DMA addresses of the
    /// object's pages (shmem pages, device-memory blocks, pinned user pages), the device
    /// addresses of its blocks of a PCI BAR region, or, for an import mapped peer-to-peer, the
    /// exporter's bus addresses (then under the dma-buf's reservation lock, with the VM listed
    /// on the object for revocation); the memory then never moves. Errors: `ENOENT` if the VM
    /// was destroyed, `EEXIST` if any address of the range is mapped, `EACCES` for a read-write
    /// mapping of a read-only object, `EOPNOTSUPP` for an imported object on an MMU device
    /// unless it is mapped peer-to-peer, `ENODEV` for revoked device memory, the backend's and
    /// the DMA layer's errors, `ENOMEM`. On error the VM is unchanged.
    pub(crate) fn bind(
        self: &Arc<Self>,
        plugged: &Plugged<'_>,
        va: u64,
        bo: ARef<Bo>,
        offset: u64,
        size: u64,
        access: Access,
    ) -> Result {
        if access.writable() && bo.is_read_only() {
            return Err(EACCES);
        }
        let at = Place {
            va,
            offset,
            size,
            access,
        };
        let Some(mmu) = plugged.mmu() else {
            return self.insert(None, &bo, at, false);
        };
        if bo.placement() == Placement::Imported {
            return bo.with_peer_table(|table, peers| {
                let pages = dma::peer_ranges(table, offset, size)?;
                let listed = peers.register(self)?;
                let inserted = self.insert(Some((mmu, &pages)), &bo, at, true);
                if inserted.is_err() && listed {
                    // Not the last reference: the caller holds one.
                    drop(peers.deregister(self));
                }
                inserted
            });
        }
        // Outside the VM's lock: this takes the object's reservation lock.
        let pages = dma::mmu_ranges(plugged.dev, &bo, offset, size)?;
        self.insert(Some((mmu, &pages)), &bo, at, false)
    }

    /// The locked part of [`Vm::bind`]: programs the page tables (if `mmu` is given, with
    /// `pages`) and records the mapping. `bo` stays referenced by the caller, so a failed insert
    /// never frees it under the lock.
    fn insert(
        &self,
        mmu: Option<(&dyn MmuOps, &[DmaRange])>,
        bo: &ARef<Bo>,
        at: Place,
        peer: bool,
    ) -> Result {
        let Place {
            va,
            offset,
            size,
            access,
        } = at;
        let mut state = self.state.lock();
        if !state.alive {
            return Err(ENOENT);
        }
        if state.map.overlaps(va, super::va::last_of(va, size)?) {
            return Err(EEXIST);
        }
        if let Some((mmu, pages)) = mmu {
            mmu.map(self.id, va, pages, access)?;
        }
        let binding = Binding {
            bo: bo.clone(),
            access,
            peer,
            revoked: false,
        };
        let inserted = state.map.insert(va, size, offset, binding);
        if inserted.is_err() {
            if let Some((mmu, _)) = mmu {
                mmu.unmap(self.id, va, size);
            }
        }
        inserted
    }

    /// The exporter of `bo`, an import this VM may map peer-to-peer, revoked its memory: clears
    /// the page-table entries of the VM's bindings of it (if `plugged` is given; an unplugged
    /// device has none left) and marks them revoked. Called by the import's invalidation, with
    /// the dma-buf's reservation lock held.
    pub(crate) fn revoke_peer(&self, plugged: Option<&Plugged<'_>>, bo: &Bo) {
        let mmu = plugged.and_then(Plugged::mmu);
        let mut state = self.state.lock();
        for (start, len, binding) in state.map.values_mut() {
            if binding.peer && !binding.revoked && ptr::eq(&*binding.bo, bo) {
                if let Some(mmu) = mmu {
                    mmu.unmap(self.id, start, len);
                }
                binding.revoked = true;
            }
        }
    }

    /// Whether the VM maps `bo` peer-to-peer (revoked bindings included).
    pub(crate) fn maps_peer(&self, bo: &Bo) -> bool {
        self.state
            .lock()
            .map
            .extents()
            .iter()
            .any(|e| e.value.peer && ptr::eq(&*e.value.bo, bo))
    }

    /// Takes the VM off the peer lists of the imports among `removed` that it maps no more.
    /// Called without the VM's lock (the objects' reservation locks come first).
    fn forget_peers(&self, removed: &[Extent<Binding>]) {
        for (i, e) in removed.iter().enumerate() {
            let seen = removed[..i]
                .iter()
                .any(|p| p.value.peer && ptr::eq(&*p.value.bo, &*e.value.bo));
            if e.value.peer && !seen {
                e.value.bo.forget_peer_vm(self);
            }
        }
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
        let busy = Self::unsignalled(&state.busy)?;
        let removed = state.map.remove(va, size)?;
        if let Some(mmu) = plugged.mmu() {
            if removed.iter().any(|e| e.value.revoked) {
                // Revoked pieces were cleared already.
                unmap_all(mmu, self.id, &removed);
            } else {
                mmu.unmap(self.id, va, size);
            }
        }
        drop(state);
        self.forget_peers(&removed);
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
        // The fences stay for the VM's own end (see "Address spaces"). Without memory for the
        // copy, the jobs are waited for here instead, outside the lock.
        let (busy, wait) = match Self::unsignalled(&state.busy) {
            Ok(copy) => (copy, KVec::new()),
            Err(_) => (KVec::new(), core::mem::take(&mut state.busy)),
        };
        drop(state);
        for fence in &wait {
            let _ = fence.wait(WaitMode::Uninterruptible, None);
        }
        self.forget_peers(&removed);
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
    /// for the backends' validation of VA operands.
    ///
    /// Errors: `EINVAL` for an empty range, `EFAULT` if the range overflows, the VM was
    /// destroyed or any address of the range is unmapped or revoked, `EACCES` if `write` is
    /// asked and any piece is read-only, `ENOMEM`.
    pub fn resolve(&self, va: u64, len: u64, write: bool) -> Result<KVec<ResolvedPiece>> {
        let state = self.state.lock();
        if !state.alive {
            return Err(EFAULT);
        }
        let pieces = state.map.resolve(va, len).map_err(|e| match e {
            e if e == ENOENT || e == EOVERFLOW => EFAULT,
            e => e,
        })?;
        if pieces.iter().any(|p| p.value.revoked) {
            return Err(EFAULT);
        }
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

/// Where [`Vm::bind`] maps: the VA range, the object offset, the rights.
#[derive(Clone, Copy)]
struct Place {
    va: u64,
    offset: u64,
    size: u64,
    access: Access,
}

/// Clears every range of `extents` from the device's page tables, but revoked ones, which were
/// cleared when they were revoked.
fn unmap_all(mmu: &dyn MmuOps, vm: VmId, extents: &[Extent<Binding>]) {
    for e in extents.iter().filter(|e| !e.value.revoked) {
        mmu.unmap(vm, e.start, e.len());
    }
}

#[pinned_drop]
impl PinnedDrop for Vm {
    fn drop(self: Pin<&mut Self>) {
        // Normally torn down already (VM_DESTROY, file close); this only releases leftovers.
        self.teardown(None);
        let this = self.project();
        let Some(device) = this.device.take() else {
            return;
        };
        let busy = core::mem::take(&mut this.state.lock().busy);
        let release = MmuRelease {
            device,
            vm: *this.id,
        };
        match KVec::with_capacity(1, GFP_KERNEL) {
            Ok(mut one) => {
                // Cannot fail: room for one was just allocated.
                let _ = one.push_within_capacity(release);
                release_after(one, busy);
            }
            Err(_) => {
                // No memory to defer it: wait for the jobs, then release.
                for fence in &busy {
                    let _ = fence.wait(WaitMode::Uninterruptible, None);
                }
                drop(release);
            }
        }
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[path = "vm_tests.rs"]
mod vm_tests;
