// SPDX-License-Identifier: GPL-2.0-only

//! Fence contexts: one timeline of fences that signal in order.
//!
//! A [`FenceContext`] is what an engine queue (later: a scheduler entity) creates its fences
//! from. It holds the `dma_fence` context id (`dma_fence_context_alloc()`), the last sequence
//! number handed out, the driver and timeline names (copied here, never pointing into a
//! backend), the optional [`DeadlineHook`], and the list of its unsignalled fences. Dropping it
//! signals every fence still unsignalled with `ECANCELED` and waits until nothing can reach the
//! context's memory any more (see the lifetime rules in the `fence` module documentation).
//!
//! # Lock order
//!
//! 1. a fence signalling section (`dma_fence_begin_signalling()`, lockdep's `dma_fence_map`);
//! 2. a fence's own lock (its inline `spinlock_t`, taken inside the dma-fence core; fence
//!    callbacks run under it);
//! 3. [`Timeline::fences`] (`SpinLockIrq`), innermost: held only to link, unlink or find a
//!    fence and take a reference on it. Nothing is signalled, waited on or released under it.

use super::{
    counter::DrainCounter,
    fence::{Fence, FenceAllocation},
    SignallingSection, Timestamp,
};
use crate::name::Name;
use core::{mem::ManuallyDrop, ptr::NonNull};
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        new_spinlock_irq, rcu, Arc, SpinLockIrq,
    },
    types::Opaque,
};

/// Where deadline hints for a context's fences go (`dma_fence_ops.set_deadline`).
///
/// A waiter (a display flip, a compositor, userspace through `SYNC_IOC_SET_DEADLINE`) would like
/// fence `seqno` of the context signalled by `deadline`; the scheduler forwards this to the
/// backend, which may boost clocks or reorder work. The core calls it from its one static
/// `dma_fence_ops` table, so no backend code sits in that table.
///
/// # Calling context
///
/// Any context, hard interrupts included, inside an RCU read-side section and possibly under
/// other drivers' locks: implementations must not sleep and may only take interrupt-safe,
/// innermost locks. It may be called several times, concurrently, and with deadlines already in
/// the past (meaning "now"); keep the earliest. It is only called while the fence is unsignalled
/// and the context alive.
pub trait DeadlineHook: Send + Sync {
    /// Someone would like fence `seqno` of this context signalled by `deadline`.
    fn set_deadline(&self, seqno: u64, deadline: Timestamp);
}

/// The unsignalled fences of a timeline, in seqno order.
///
/// Each linked fence is one reference, owned by the list (leaked from an `ARef<Fence>` when
/// linked and taken back when unlinked).
///
/// # Invariants
///
/// `head` is an initialised `list_head`; every entry on it is the `link` of an initialised
/// [`Fence`] of this timeline, on which the list owns one reference.
#[pin_data]
pub(super) struct FenceList {
    #[pin]
    head: Opaque<bindings::list_head>,
}

// SAFETY: The list only holds pointers to fences, which are `Send` and `Sync`; it is only reached
// through its lock.
unsafe impl Send for FenceList {}

impl FenceList {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `INIT_LIST_HEAD` initialises the (pinned) head in place.
            head <- Opaque::ffi_init(|head| unsafe { bindings::INIT_LIST_HEAD(head) }),
        })
    }

    /// Appends `fence`, taking over the reference `fence` holds.
    fn push(&self, fence: ARef<Fence>) {
        let link = fence.link();
        // The list owns this reference from now on.
        let _ = ARef::into_raw(fence);
        // SAFETY: `link` is the initialised, unlinked link of a live fence (fresh from `arm`);
        // `head` is initialised (type invariant); the lock around `self` serialises list changes.
        unsafe { bindings::list_add_tail(link, self.head.get()) };
    }

    /// Unlinks `fence` if it is linked, returning the reference the list held.
    pub(super) fn remove(&self, fence: &Fence) -> Option<ARef<Fence>> {
        let link = fence.link();
        // SAFETY: `link` is an initialised list node (initialised by `arm`), either on this list
        // or self-linked after an earlier removal; the lock serialises list changes.
        if unsafe { super::c_helpers::xaccel_list_empty(link) } {
            return None;
        }
        // SAFETY: As above; the node is on this list.
        unsafe { super::c_helpers::xaccel_list_del_init(link) };
        // SAFETY: The list owned one reference to every linked fence (type invariant); unlinking
        // hands it back.
        Some(unsafe { ARef::from_raw(NonNull::from(fence)) })
    }

    /// The oldest fence nobody has started to signal, with a new reference.
    fn first_unclaimed(&self) -> Option<ARef<Fence>> {
        let head = self.head.get();
        // SAFETY: `head` is initialised, and so is every `next` on the list (type invariant).
        let mut pos = unsafe { (*head).next };
        while pos != head {
            // SAFETY: Every entry other than the head is the `link` of a live fence of this
            // timeline, on which the list holds a reference (type invariant).
            let fence = unsafe { &*Fence::from_link(pos) };
            if !fence.is_claimed() {
                return Some(ARef::from(fence));
            }
            // SAFETY: `pos` is an entry of the list, so its `next` is initialised.
            pos = unsafe { (*pos).next };
        }
        None
    }
}

/// A context's state that its fences point to while they are unsignalled.
///
/// # Invariants
///
/// - `id` came from `dma_fence_context_alloc(1)`.
/// - `unsignalled` counts the fences armed on this timeline whose signalling has not finished
///   (their `detach` has not run); while it is non-zero the timeline is not freed.
#[pin_data]
pub(super) struct Timeline {
    pub(super) id: u64,
    seqno: Atomic<u64>,
    pub(super) driver_name: Name<32>,
    pub(super) timeline_name: Name<32>,
    pub(super) deadline_hook: Option<Arc<dyn DeadlineHook>>,
    #[pin]
    pub(super) fences: SpinLockIrq<FenceList>,
    pub(super) unsignalled: DrainCounter,
}

/// A timeline of fences that signal in sequence-number order.
///
/// Fences are created with [`FenceContext::create_fence`] (or allocated early with
/// [`FenceAllocation::new`] and numbered later by [`FenceContext::arm`]), each with the next
/// sequence number. Signal them in that order: `dma_resv`, syncobjs and the scheduler treat a
/// signalled fence as proof that every earlier fence of its context is signalled too.
///
/// Dropping the context signals every fence still unsignalled with `ECANCELED`, then waits for
/// signallers in flight and an RCU grace period, so it may sleep: never drop it in atomic context
/// or from a fence callback.
///
/// # Examples
///
/// ```ignore
/// let ctx = FenceContext::new(c"vaccel", c"compute0", None)?;
/// let fence = ctx.create_fence(GFP_KERNEL)?;
/// // ... hand `fence.to_dma_fence()` to a syncobj, run the job ...
/// fence.signal()?;
/// ```
///
/// # Invariants
///
/// `timeline` is initialised until [`FenceContext::drop`] drops it, and counted in
/// `LIVE_CONTEXTS` until then.
pub struct FenceContext {
    /// Dropped explicitly at the end of [`FenceContext::drop`], before the context stops
    /// counting as live, so that module exit cannot overtake the deadline hook's drop.
    timeline: ManuallyDrop<Pin<KBox<Timeline>>>,
}

/// How many fence contexts exist: the core cannot unload while any does.
pub(super) static LIVE_CONTEXTS: DrainCounter = DrainCounter::new();

/// How many fences of ours are unsignalled, over all contexts.
pub(super) static UNSIGNALLED_FENCES: DrainCounter = DrainCounter::new();

impl FenceContext {
    /// Creates a context; `driver_name` and `timeline_name` are copied (at most 31 bytes each).
    ///
    /// `deadline_hook` receives deadline hints for the context's fences; it is dropped with the
    /// context, after the last call into it has returned.
    pub fn new(
        driver_name: &CStr,
        timeline_name: &CStr,
        deadline_hook: Option<Arc<dyn DeadlineHook>>,
    ) -> Result<Self> {
        // SAFETY: `dma_fence_context_alloc()` has no requirements; one context is asked for.
        let id = unsafe { bindings::dma_fence_context_alloc(1) };
        let timeline = KBox::pin_init(
            pin_init!(Timeline {
                id,
                seqno: Atomic::new(0),
                driver_name: Name::new(driver_name),
                timeline_name: Name::new(timeline_name),
                deadline_hook,
                fences <- new_spinlock_irq!(FenceList::new(), "xaccel_fence_timeline"),
                unsignalled: DrainCounter::new(),
            }),
            GFP_KERNEL,
        )?;
        LIVE_CONTEXTS.inc();
        // INVARIANT: The timeline is initialised and counted just above.
        Ok(Self {
            timeline: ManuallyDrop::new(timeline),
        })
    }

    /// The `dma_fence` context id of this timeline's fences.
    pub fn id(&self) -> u64 {
        self.timeline.id
    }

    /// The sequence number of the last fence armed, 0 before the first.
    pub fn last_seqno(&self) -> u64 {
        self.timeline.seqno.load(Relaxed)
    }

    /// How many of this context's fences are not signalled yet; a snapshot.
    pub fn unsignalled(&self) -> usize {
        usize::try_from(self.timeline.unsignalled.get()).unwrap_or(0)
    }

    /// Allocates and arms a fence: [`FenceAllocation::new`] then [`FenceContext::arm`].
    pub fn create_fence(&self, flags: Flags) -> Result<ARef<Fence>> {
        Ok(self.arm(FenceAllocation::new(flags)?))
    }

    /// Turns an allocation into this context's next fence, unsignalled.
    ///
    /// Never fails and never allocates, so it can run where the order of fences is decided
    /// (e.g. under the scheduler's submission lock), with the allocation done earlier.
    pub fn arm(&self, allocation: FenceAllocation) -> ARef<Fence> {
        let timeline: &Timeline = &self.timeline;
        let fences = timeline.fences.lock();
        // Numbered under the lock so the list stays in seqno order.
        let seqno = timeline.seqno.fetch_add(1, Relaxed) + 1;
        let fence = allocation.init(NonNull::from(timeline), seqno, true);
        timeline.unsignalled.inc();
        UNSIGNALLED_FENCES.inc();
        fences.push(fence.clone());
        drop(fences);
        fence
    }

    /// [`FenceContext::arm`] for a fence its caller owns: the context counts it but does not
    /// list it, so neither arming nor signalling takes the context's lock, and
    /// [`FenceContext::cancel_all`] does not see it.
    ///
    /// The caller must keep a reference until it has signalled the fence, and signal it before
    /// the context is dropped: dropping the context waits until it has. Seqnos follow the order
    /// of the calls; callers that need them in their own order arm under their own lock (the
    /// scheduler arms under its entity's queue lock).
    pub fn arm_owned(&self, allocation: FenceAllocation) -> ARef<Fence> {
        let timeline: &Timeline = &self.timeline;
        let seqno = timeline.seqno.fetch_add(1, Relaxed) + 1;
        let fence = allocation.init(NonNull::from(timeline), seqno, false);
        // Counted before anyone else can see the fence (the caller publishes it).
        timeline.unsignalled.inc();
        UNSIGNALLED_FENCES.inc();
        fence
    }

    /// Signals every unsignalled fence of this context with `error` (e.g. `ECANCELED`, or
    /// `EIO` after a reset), oldest first, except owned ones ([`FenceContext::arm_owned`]).
    /// Returns how many this call signalled.
    ///
    /// Fences armed while this runs may be signalled too. Fences that another thread is
    /// signalling at the same time are left to it.
    pub fn cancel_all(&self, error: Error) -> usize {
        let _section = SignallingSection::begin();
        let mut cancelled = 0;
        loop {
            // The guard is a temporary: the lock is released before signalling.
            let Some(fence) = self.timeline.fences.lock().first_unclaimed() else {
                break;
            };
            if fence.signal_error(error).is_ok() {
                cancelled += 1;
            }
        }
        cancelled
    }
}

impl Drop for FenceContext {
    fn drop(&mut self) {
        kernel::task::might_sleep();
        let cancelled = self.cancel_all(ECANCELED);
        if cancelled > 0 {
            pr_debug!("xaccel: cancelled {} unsignalled fences\n", cancelled);
        }
        // Fences other threads were signalling finish, then nothing links to this timeline.
        self.timeline.unsignalled.wait_zero();
        // Every fence is signalled, so its ops are detached: no new call of `get_driver_name`,
        // `get_timeline_name` or `set_deadline` can reach this timeline. Those that read the ops
        // before detaching did so under `rcu_read_lock()`: wait for them before the timeline
        // (names, deadline hook) is freed.
        rcu::synchronize_rcu();
        // SAFETY: `self.timeline` is dropped exactly once, here, and not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.timeline) };
        // SAFETY: This context was counted in `new`; the counter is a static.
        unsafe { DrainCounter::dec_and_wake(&LIVE_CONTEXTS) };
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_fence_context)]
mod tests {
    use super::*;
    use crate::fence::{stats, FenceStats, WaitMode};
    use kernel::time::Delta;

    fn context(name: &CStr) -> Result<FenceContext> {
        FenceContext::new(c"xaccel-test", name, None)
    }

    #[test]
    fn seqnos_increase_per_context_and_contexts_differ() -> Result {
        let a = context(c"a")?;
        let b = context(c"b")?;
        ensure!(a.id() != b.id());
        ensure!(a.last_seqno() == 0);
        let a1 = a.create_fence(GFP_KERNEL)?;
        let a2 = a.create_fence(GFP_KERNEL)?;
        let b1 = b.create_fence(GFP_KERNEL)?;
        ensure!(a1.seqno() == 1 && a2.seqno() == 2 && b1.seqno() == 1);
        ensure!(a1.context() == a.id() && a2.context() == a.id() && b1.context() == b.id());
        ensure!(a.last_seqno() == 2 && b.last_seqno() == 1);
        for fence in [&a1, &a2, &b1] {
            fence.signal()?;
        }
        Ok(())
    }

    #[test]
    fn arming_numbers_fences_in_arming_order() -> Result {
        let ctx = context(c"arm")?;
        let early = FenceAllocation::new(GFP_KERNEL)?;
        let late = FenceAllocation::new(GFP_KERNEL)?;
        // An allocation that is never armed is simply freed.
        drop(FenceAllocation::new(GFP_KERNEL)?);
        let first = ctx.arm(late);
        let second = ctx.arm(early);
        ensure!(first.seqno() == 1 && second.seqno() == 2);
        ensure!(!first.is_signaled() && !second.is_signaled());
        first.signal()?;
        second.signal()?;
        Ok(())
    }

    #[test]
    fn dropping_the_context_cancels_what_is_unsignalled() -> Result {
        let before = stats();
        let ctx = context(c"drop")?;
        let done = ctx.create_fence(GFP_KERNEL)?;
        let kept = ctx.create_fence(GFP_KERNEL)?;
        // Nobody but the context holds this one; it is still signalled (and freed) on drop.
        drop(ctx.create_fence(GFP_KERNEL)?);
        ensure!(
            stats()
                == FenceStats {
                    contexts: before.contexts + 1,
                    unsignalled: before.unsignalled + 3,
                }
        );
        ensure!(ctx.unsignalled() == 3);
        // Ours and the context's.
        ensure!(kept.ref_count() == 2);
        done.signal()?;
        ensure!(ctx.unsignalled() == 2);
        ensure!(stats().unsignalled == before.unsignalled + 2);
        drop(ctx);
        ensure!(stats() == before);
        ensure!(done.status() == Ok(true));
        ensure!(kept.status() == Err(ECANCELED));
        ensure!(kept.signal() == Err(EALREADY));
        // The context's reference went with it.
        ensure!(kept.ref_count() == 1);
        // The fence outlives its context and no longer reaches it.
        ensure!(kept.wait(WaitMode::Uninterruptible, Some(Delta::ZERO)) == Ok(()));
        let detached = kept.with_names(|driver, _| driver.to_bytes() == b"detached-driver");
        ensure!(detached && kept.timestamp().is_some());
        Ok(())
    }

    #[test]
    fn owned_fences_are_counted_not_listed() -> Result {
        let before = stats();
        let ctx = context(c"owned")?;
        let listed = ctx.create_fence(GFP_KERNEL)?;
        let owned = ctx.arm_owned(FenceAllocation::new(GFP_KERNEL)?);
        ensure!(listed.seqno() == 1 && owned.seqno() == 2);
        ensure!(ctx.unsignalled() == 2 && stats().unsignalled == before.unsignalled + 2);
        // Only the owner holds it: the context keeps no reference.
        ensure!(owned.ref_count() == 1 && listed.ref_count() == 2);
        // Cancelling leaves it to its owner.
        ensure!(ctx.cancel_all(EIO) == 1);
        ensure!(listed.error() == Some(EIO) && !owned.is_signaled());
        ensure!(ctx.unsignalled() == 1);
        owned.signal()?;
        ensure!(owned.signal() == Err(EALREADY));
        ensure!(ctx.unsignalled() == 0 && owned.ref_count() == 1);
        drop(ctx);
        ensure!(stats() == before);
        ensure!(owned.status() == Ok(true) && owned.timestamp().is_some());
        Ok(())
    }

    #[test]
    fn cancel_all_keeps_the_context_usable() -> Result {
        let ctx = context(c"reset")?;
        let a = ctx.create_fence(GFP_KERNEL)?;
        let b = ctx.create_fence(GFP_KERNEL)?;
        ensure!(ctx.cancel_all(EIO) == 2);
        ensure!(a.error() == Some(EIO) && b.error() == Some(EIO));
        ensure!(ctx.unsignalled() == 0);
        ensure!(ctx.cancel_all(EIO) == 0);
        let c = ctx.create_fence(GFP_KERNEL)?;
        ensure!(c.seqno() == 3 && !c.is_signaled());
        c.signal()?;
        ensure!(c.error().is_none());
        Ok(())
    }
}
