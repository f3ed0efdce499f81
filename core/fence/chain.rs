// SPDX-License-Identifier: GPL-2.0-only

//! Fence chains (`struct dma_fence_chain`): the points of a timeline syncobj.
//!
//! A chain node wraps one fence as point `seqno` of a timeline and links to the previous
//! point; the node signals once its fence and every earlier point have. Chain nodes are the
//! dma-buf core's own fences (their ops live in the kernel image), so they are independent of
//! this module; we only build and search them.
//!
//! Building is two steps, like the syncobj code does it: [`ChainNode::new`] allocates (may
//! sleep), [`ChainNode::link`] publishes the point and cannot fail for lack of memory.
//!
//! The node is allocated with `dma_fence_chain_alloc()` from this module's C, so with memory
//! allocation profiling its allocation tag is this module's: unloading the core while chain
//! nodes live on makes the kernel keep the tags and log it, which is harmless.

use super::{c_helpers, DmaFence};
use core::{mem::ManuallyDrop, ptr::NonNull};
use kernel::{prelude::*, sync::aref::ARef};

/// Memory for one timeline point, not yet part of any chain.
///
/// # Invariants
///
/// `raw` was returned by `dma_fence_chain_alloc()`, is not initialised, and is owned by this
/// value (freed with `dma_fence_chain_free()` unless [`ChainNode::link`] consumes it).
pub struct ChainNode {
    raw: NonNull<c_helpers::RawChain>,
}

// SAFETY: An unpublished chain node is plain memory owned by this value.
unsafe impl Send for ChainNode {}
// SAFETY: `&ChainNode` gives no access to the memory.
unsafe impl Sync for ChainNode {}

impl ChainNode {
    /// Allocates a node (`dma_fence_chain_alloc()`, `GFP_KERNEL`: may sleep).
    pub fn new() -> Result<Self> {
        kernel::task::might_sleep();
        // SAFETY: No requirements; may sleep, which `might_sleep()` just checked is allowed.
        let raw = unsafe { c_helpers::xaccel_dma_fence_chain_alloc() };
        // INVARIANT: A non-null result is a fresh, uninitialised allocation we own.
        Ok(Self {
            raw: NonNull::new(raw).ok_or(ENOMEM)?,
        })
    }

    /// Gives up the node's memory to C code that initialises it (`drm_syncobj_add_point()`).
    pub(crate) fn into_raw(self) -> *mut c_helpers::RawChain {
        ManuallyDrop::new(self).raw.as_ptr()
    }

    /// Publishes `fence` as point `seqno` after `prev` (`dma_fence_chain_init()`), returning
    /// the new chain head.
    ///
    /// `prev` is the timeline's current head (a chain node, or a plain fence, or `None` for the
    /// first point). If `seqno` is not after `prev`'s, the node starts a new chain context with
    /// `prev`'s seqno, as dma-fence defines. Fails with `EINVAL` if `fence` is itself a chain
    /// node: chains link through `prev` only.
    pub fn link(
        self,
        prev: Option<ARef<DmaFence>>,
        fence: ARef<DmaFence>,
        seqno: u64,
    ) -> Result<ARef<DmaFence>> {
        if fence.is_chain() {
            return Err(EINVAL);
        }
        let raw = ManuallyDrop::new(self).raw.as_ptr();
        let prev = prev.map_or(core::ptr::null_mut(), |prev| {
            DmaFence::into_raw(prev).as_ptr()
        });
        // SAFETY: `raw` is an uninitialised chain node we own (type invariant; `ManuallyDrop`
        // keeps it from being freed). `dma_fence_chain_init()` takes over our references on
        // `prev` (or NULL) and `fence`, and leaves the node with a reference count of one.
        unsafe {
            c_helpers::dma_fence_chain_init(raw, prev, DmaFence::into_raw(fence).as_ptr(), seqno)
        };
        // SAFETY: `raw` is initialised now, and its `base` is a fence on which we own the one
        // reference `dma_fence_chain_init()` created.
        Ok(unsafe {
            DmaFence::from_raw_owned(NonNull::new_unchecked(
                c_helpers::xaccel_dma_fence_chain_base(raw),
            ))
        })
    }
}

impl Drop for ChainNode {
    fn drop(&mut self) {
        // SAFETY: The node was never initialised or published (type invariant).
        unsafe { c_helpers::xaccel_dma_fence_chain_free(self.raw.as_ptr()) };
    }
}

impl DmaFence {
    /// Whether this fence is a chain node (`dma_fence_is_chain()`).
    pub fn is_chain(&self) -> bool {
        // SAFETY: `self` is a live fence.
        unsafe { c_helpers::xaccel_dma_fence_is_chain(self.as_raw()) }
    }

    /// For a chain node, the fence it wraps; any other fence is returned as is
    /// (`dma_fence_chain_contained()`).
    pub fn chain_contained(&self) -> &DmaFence {
        // SAFETY: `self` is live; a chain node holds a reference on its fence for as long as it
        // lives, which `&self` guarantees for the returned borrow.
        unsafe { DmaFence::from_raw(c_helpers::xaccel_dma_fence_chain_contained(self.as_raw())) }
    }

    /// Finds the chain node that signals point `seqno`, searching back from this chain head
    /// (`dma_fence_chain_find_seqno()`).
    ///
    /// Returns the node (whose [`chain_contained`](DmaFence::chain_contained) fence is the
    /// point's), `None` when every point up to `seqno` has signalled (the search collects
    /// signalled nodes as it walks), or `EINVAL` if this fence is not a chain node or the
    /// timeline has not reached `seqno` yet. `seqno` 0 returns this fence itself.
    pub fn chain_find_point(&self, seqno: u64) -> Result<Option<ARef<DmaFence>>> {
        let mut cursor = DmaFence::into_raw(ARef::from(self)).as_ptr();
        // SAFETY: `cursor` points to a live fence on which we own a reference. On success the
        // function gives that reference up and leaves `cursor` NULL or owning a reference on the
        // node found; on failure it leaves `cursor` and its reference unchanged.
        let ret = unsafe { c_helpers::dma_fence_chain_find_seqno(&mut cursor, seqno) };
        // SAFETY: In every case `cursor` now is NULL or a fence we own one reference on.
        let found = NonNull::new(cursor).map(|raw| unsafe { DmaFence::from_raw_owned(raw) });
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(found)
    }

    /// Walks the chain from this node back to its oldest unsignalled point, collecting signalled
    /// nodes on the way (`dma_fence_chain_for_each()`). A fence that is not a chain node yields
    /// only itself.
    pub fn chain_walk(&self) -> ChainWalk {
        ChainWalk {
            next: Some(ARef::from(self)),
        }
    }
}

/// Iterator over the nodes of a fence chain, newest first; see [`DmaFence::chain_walk`].
pub struct ChainWalk {
    next: Option<ARef<DmaFence>>,
}

impl Iterator for ChainWalk {
    type Item = ARef<DmaFence>;

    fn next(&mut self) -> Option<ARef<DmaFence>> {
        let current = self.next.take()?;
        let walker = DmaFence::into_raw(current.clone()).as_ptr();
        // SAFETY: `walker` is a live fence we own a reference on, which `dma_fence_chain_walk()`
        // consumes; it returns NULL or the previous node with a new reference we then own.
        let prev = unsafe { c_helpers::dma_fence_chain_walk(walker) };
        // SAFETY: As just said, a non-null `prev` comes with a reference.
        self.next = NonNull::new(prev).map(|raw| unsafe { DmaFence::from_raw_owned(raw) });
        Some(current)
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_fence_chain)]
mod tests {
    use super::*;
    use crate::fence::{Fence, FenceContext};
    use kernel::alloc::KVec;

    /// Three points on a timeline: the fences and the chain head.
    struct Timeline {
        ctx: FenceContext,
        fences: [ARef<Fence>; 3],
        head: ARef<DmaFence>,
    }

    fn timeline() -> Result<Timeline> {
        let ctx = FenceContext::new(c"xaccel-test", c"chain", None)?;
        let fences = [
            ctx.create_fence(GFP_KERNEL)?,
            ctx.create_fence(GFP_KERNEL)?,
            ctx.create_fence(GFP_KERNEL)?,
        ];
        let mut head = None;
        for (seqno, fence) in (1..).zip(&fences) {
            head = Some(ChainNode::new()?.link(head, fence.to_dma_fence(), seqno)?);
        }
        Ok(Timeline {
            ctx,
            fences,
            head: head.ok_or(EINVAL)?,
        })
    }

    fn walk_seqnos(head: &DmaFence) -> Result<KVec<u64>> {
        let mut seqnos = KVec::new();
        for node in head.chain_walk() {
            seqnos.push(node.seqno(), GFP_KERNEL)?;
        }
        Ok(seqnos)
    }

    #[test]
    fn points_are_found_while_unsignalled() -> Result {
        let t = timeline()?;
        ensure!(t.head.is_chain() && t.head.seqno() == 3);
        ensure!(t.head.context() != t.ctx.id());
        for (seqno, fence) in (1..).zip(&t.fences) {
            let node = t.head.chain_find_point(seqno)?.ok_or(EINVAL)?;
            ensure!(node.seqno() == seqno && node.context() == t.head.context());
            ensure!(node.chain_contained().as_raw() == fence.as_raw());
        }
        ensure!(t.head.chain_find_point(4).err() == Some(EINVAL));
        let same = t.head.chain_find_point(0)?.ok_or(EINVAL)?;
        ensure!(same.as_raw() == t.head.as_raw());
        // A plain fence is not a chain.
        ensure!(t.fences[0].chain_find_point(1).err() == Some(EINVAL));
        ensure!(t.fences[0].chain_contained().as_raw() == t.fences[0].as_raw());
        ensure!(walk_seqnos(&t.head)?[..] == [3, 2, 1]);
        ensure!(!t.head.is_signaled());
        Ok(())
    }

    #[test]
    fn signalled_points_are_collected() -> Result {
        let t = timeline()?;
        t.fences[0].signal()?;
        t.fences[1].signal()?;
        // Point 2 and everything before it signalled: nothing left to wait for.
        ensure!(t.head.chain_find_point(2)?.is_none());
        let last = t.head.chain_find_point(3)?.ok_or(EINVAL)?;
        ensure!(last.chain_contained().as_raw() == t.fences[2].as_raw());
        ensure!(walk_seqnos(&t.head)?[..] == [3]);
        ensure!(!t.head.is_signaled());
        t.fences[2].signal()?;
        ensure!(t.head.is_signaled());
        Ok(())
    }

    #[test]
    fn chains_release_their_references() -> Result {
        let t = timeline()?;
        // Ours, the context's list's, and the chain node's.
        ensure!(t.fences.iter().all(|fence| fence.ref_count() == 3));
        drop(t.head);
        ensure!(t.fences.iter().all(|fence| fence.ref_count() == 2));
        Ok(())
    }

    #[test]
    fn chains_nest_only_through_prev() -> Result {
        let t = timeline()?;
        let nested = ChainNode::new()?.link(None, t.head.clone(), 4);
        ensure!(nested.err() == Some(EINVAL));
        // A point whose seqno does not advance starts a new chain context.
        let ctx = FenceContext::new(c"xaccel-test", c"restart", None)?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let restarted = ChainNode::new()?.link(Some(t.head.clone()), fence.to_dma_fence(), 2)?;
        ensure!(restarted.context() != t.head.context() && restarted.seqno() == 3);
        Ok(())
    }
}
