// SPDX-License-Identifier: GPL-2.0-only

//! Fences: `struct dma_fence` for every xaccel backend.
//!
//! The kernel's Rust has no dma_fence abstraction; this is xaccel's. The job scheduler, syncobjs
//! and sync_files build on it. Backends never see `struct dma_fence`: they get these types.
//!
//! - [`FenceContext`]: a timeline (one `dma_fence` context id, seqnos, names, an optional
//!   [`DeadlineHook`]) that creates [`Fence`]s and cancels the unsignalled ones when it goes.
//! - [`Fence`]: a fence the core created; `ARef<Fence>`; signalled once with
//!   [`Fence::signal`], [`Fence::signal_error`] or [`Fence::signal_at`].
//! - [`DmaFence`]: any fence, ours or another driver's (dma_resv, syncobj, sync_file): status,
//!   error, timestamp, interruptible waits with timeouts, deadlines, and
//!   [`DmaFence::add_callback`], which returns a [`FenceCallback`] that removes it on drop.
//! - [`ChainNode`], [`DmaFence::chain_find_point`], [`DmaFence::chain_walk`]: timeline points.
//! - [`SignallingSection`]: the `dma_fence_begin_signalling()` annotation, for completion paths.
//! - [`stats`]: how many contexts and unsignalled fences exist, to prove nothing leaks.
//!
//! # Lifetime rules
//!
//! Fences escape: to userspace (sync_file, syncobj), to other drivers (`dma_resv` of shared
//! buffers), and outlive the job, the backend, the device and even this module. Nothing can be
//! used after it is freed, in any order of backend unload, device unplug, core unload and
//! userspace closing, because:
//!
//! 1. **A signalled fence is independent of xaccel.** Our single `dma_fence_ops` table has no
//!    `release` and no `wait`, so `dma_fence_signal()` sets `fence->ops` to NULL (Linux 7.3,
//!    RCU-protected ops). No C code calls into the core for that fence again, and
//!    `dma_fence_driver_name()`/`_timeline_name()` report `"detached-driver"`/
//!    `"signaled-timeline"`. Its memory is one `kmalloc()` allocation that starts with the
//!    `struct dma_fence` and holds nothing that needs dropping, freed by the dma-buf core's own
//!    `dma_fence_free()` (`kfree_rcu()`) whenever the last reference goes.
//! 2. **Fences use their own lock.** They are initialised with the inline lock
//!    (`dma_fence_init64()` with a NULL lock): `dma_fence_remove_callback()`,
//!    `dma_fence_get_status()` and waiters take the fence lock even long after signalling, so it
//!    must live exactly as long as the fence. Its lockdep class is dma-fence.c's, in the kernel
//!    image, so a fence that outlives this module never points at a lock class in freed
//!    module memory. (The context's own lock only guards its list of unsignalled fences.)
//! 3. **An unsignalled fence is attached to its context.** Its ops read the context's names and
//!    deadline hook. The context counts it and links it on a list that holds a reference, so it
//!    cannot be released unsignalled. An *owned* fence ([`FenceContext::arm_owned`], the
//!    scheduler's job fences) is counted but not listed: its owner holds a reference until it
//!    has signalled it, and must signal it before the context drops, which waits for it.
//! 4. **A context cannot go away with unsignalled fences.** Dropping a [`FenceContext`] (its
//!    owner going away: a queue torn down, a device unplugged) signals each remaining fence
//!    with `ECANCELED`, waits for other threads still signalling one, then waits an RCU grace
//!    period, because dma-fence may have read our ops under `rcu_read_lock()` just before they
//!    were detached. Only then are the names freed and the deadline hook dropped. The names
//!    were copied into the context, never pointing into a backend module, and a backend's hook
//!    is dropped before the backend can unload.
//! 5. **The core cannot unload with contexts.** Module exit waits until [`stats`] shows no
//!    context and no unsignalled fence; the modules that own contexts (backends) are gone by
//!    then, and module unload's own RCU grace period covers readers of our ops.
//! 6. **Callbacks are shared, never dangling.** A callback node is owned jointly by the fence's
//!    callback list and the [`FenceCallback`] handle; dropping the handle either removes it
//!    (it never runs) or leaves it to the signaller, which drops the list's share after running
//!    it. The function pointer the fence stores is the core's; the closure belongs to its
//!    creator, whose module must drop its handles before unloading.
//!
//! # Signalling rules
//!
//! - Signal the fences of one context in seqno order: a signalled fence stands for all earlier
//!   ones of its context in `dma_resv`, syncobjs and the scheduler's dependency tracking.
//! - Every unsignalled fence must eventually be signalled: on completion, with an error on
//!   failure or timeout, with `ECANCELED` when its context goes (by the context for listed
//!   fences, by their owner for owned ones).
//! - Signalling works from any context, hard interrupts included (the fence lock and the
//!   context's lock are taken with interrupts saved). Wrap completion paths in a
//!   [`SignallingSection`]: inside, no `GFP_KERNEL` allocation, no `dma_resv` lock, no fence
//!   waits. Create fences (or their [`FenceAllocation`]) before entering one.
//! - Callbacks run under the signalled fence's lock, interrupts off: they must not sleep and
//!   must not signal another inline-lock fence directly (lockdep sees recursion on the shared
//!   class); defer to a work item.
//!
//! See also `Documentation/fences.rst`.

pub(crate) mod c_helpers;
mod callback;
mod chain;
mod context;
mod counter;
#[allow(clippy::module_inception)]
mod fence;
mod foreign;
mod signalling;
mod timestamp;

pub use callback::FenceCallback;
pub use chain::{ChainNode, ChainWalk};
pub use context::{DeadlineHook, FenceContext};
pub(crate) use counter::DrainCounter;
pub use fence::{Fence, FenceAllocation};
pub use foreign::{DmaFence, WaitMode};
pub use signalling::SignallingSection;
pub use timestamp::Timestamp;

use context::{LIVE_CONTEXTS, UNSIGNALLED_FENCES};
use kernel::prelude::*;

/// What the fence layer holds at one moment: the state module exit waits to drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FenceStats {
    /// Live [`FenceContext`]s.
    pub contexts: usize,
    /// Fences of ours not yet signalled (attached to a context, so depending on this module).
    pub unsignalled: usize,
}

/// A snapshot of the fence layer's counts.
pub fn stats() -> FenceStats {
    FenceStats {
        contexts: usize::try_from(LIVE_CONTEXTS.get()).unwrap_or(0),
        unsignalled: usize::try_from(UNSIGNALLED_FENCES.get()).unwrap_or(0),
    }
}

/// Waits until no fence context and no unsignalled fence of ours remain; module exit.
pub(crate) fn wait_until_idle() {
    let now = stats();
    if now.contexts != 0 || now.unsignalled != 0 {
        pr_info!(
            "xaccel: waiting for {} fence contexts and {} unsignalled fences\n",
            now.contexts,
            now.unsignalled
        );
    }
    LIVE_CONTEXTS.wait_zero();
    UNSIGNALLED_FENCES.wait_zero();
}
