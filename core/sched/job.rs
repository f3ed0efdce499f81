// SPDX-License-Identifier: GPL-2.0-only

//! Jobs: one unit of work on a ring, its dependencies, its finished fence and its completion.
//!
//! A job is built by [`Entity::prepare`] (everything that allocates: the job itself, its fence
//! memory, its dependency callbacks), queued by [`Entity::push`] (which numbers its fence and
//! cannot fail for lack of memory), dispatched by its ring when its dependencies have signalled
//! and the ring has credits, and completed exactly once: by the backend through its
//! [`JobHandle`], by timeout recovery, or by teardown.
//!
//! # Completion, exactly once
//!
//! [`Job::state`] is the single arbiter. While a job is queued or running it holds an even
//! number, `2 * generation`; a job that is done holds [`DONE`]. Each time the ring hands the job
//! to the backend it gives it a [`JobHandle`] stamped with the current generation. Timeout
//! recovery bumps the generation of every running job before it resets the engine, so a handle
//! from before the reset can no longer complete anything: its `complete()` and its drop are
//! ignored. Whoever moves the state to [`DONE`] signals the fence and returns the credits; a
//! compare-and-exchange makes that exactly one caller.
//!
//! [`Entity::prepare`]: super::Entity::prepare
//! [`Entity::push`]: super::Entity::push

use super::{entity::EntityCore, ring::Ring};
use crate::{
    fence::{DmaFence, Fence, FenceCallback},
    job_memory::JobMemory,
};
use kernel::{
    list::{impl_list_arc_safe, impl_list_item, ListLinks},
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, Full, Relaxed},
        Arc, SetOnce,
    },
    time::Delta,
};

/// [`Job::state`] of a completed job.
const DONE: u64 = 1;

/// What a submitter asks of the scheduler for one job.
pub struct JobDesc {
    /// Ring credits the job occupies while it runs: at least 1, at most the ring's limit.
    pub credits: u32,
    /// How long the job may run; `None` for the ring's default. At most the ring's maximum.
    pub timeout: Option<Delta>,
    /// The backend's validated, kernel-owned copy of the command buffer.
    pub payload: KVec<u8>,
    /// The buffer objects the job may use, mapped; [`JobMemory::none`] for none.
    pub memory: JobMemory,
    /// Fences that must signal before the job may run (explicit in-fences, implicit fences).
    pub dependencies: KVec<ARef<DmaFence>>,
}

/// Dependencies still unsignalled, shared with the fence callbacks that count them down.
pub(crate) struct DependencyCount {
    pending: Atomic<u32>,
    ring: Arc<Ring>,
}

impl DependencyCount {
    /// Counts one dependency as signalled, from its fence callback; the last one wakes the
    /// ring's work item.
    ///
    /// Not a pass right here: the callback runs under the signalled fence's lock, and a pass may
    /// signal fences of the same kind (a backend completing a job inside `run`). When the
    /// signaller is a job of the same ring, its completion runs a pass right after signalling,
    /// so the job starts from there without waiting for the work item.
    fn signalled(&self) {
        if self.pending.fetch_sub(1, Full) == 1 {
            self.ring.wake();
        }
    }

    /// Counts one dependency as signalled while the job is built: it is not queued yet, so
    /// there is nothing to wake (its push runs a pass).
    fn signalled_early(&self) {
        self.pending.fetch_sub(1, Full);
    }
}

/// One job; see the module documentation.
///
/// # Invariants
///
/// - `fence` is populated before the job is on any list, and never changes afterwards. It is
///   owned (`FenceContext::arm_owned`): the job signals it, at the latest when dropped.
/// - `state` is `2 * generation` until the job is done, then [`DONE`] for ever.
#[pin_data(PinnedDrop)]
pub(crate) struct Job {
    #[pin]
    links: ListLinks,
    pub(crate) entity: Arc<EntityCore>,
    pub(crate) credits: u32,
    pub(crate) timeout: Delta,
    payload: KVec<u8>,
    /// Mapped until the job is freed (unmapped from a work item, see `job_memory`).
    memory: JobMemory,
    fence: SetOnce<ARef<Fence>>,
    state: Atomic<u64>,
    /// The dependency callbacks; they hold the dependency fences until the job is freed.
    _callbacks: KVec<FenceCallback>,
    /// `None` for a job without dependencies.
    dependencies: Option<Arc<DependencyCount>>,
    /// Who stops the owner's busy clock: [`BUSY_IDLE`], then [`BUSY_COUNTED`] if the dispatcher
    /// started it, and [`BUSY_OVER`] once the completion came (see `EntityCore::job_busy`).
    busy: Atomic<u32>,
}

/// [`Job::busy`]: the clock was not started for the job.
const BUSY_IDLE: u32 = 0;
/// [`Job::busy`]: the clock was started; the completion stops it.
const BUSY_COUNTED: u32 = 1;
/// [`Job::busy`]: the job completed.
const BUSY_OVER: u32 = 2;

impl_list_arc_safe! {
    impl ListArcSafe<0> for Job { untracked; }
}
impl_list_item! {
    impl ListItem<0> for Job { using ListLinks { self.links }; }
}

impl Job {
    /// Builds a job for `entity` whose timeout is already checked; registers its dependency
    /// callbacks (they may fire at once: they only wake the ring). A job without dependencies
    /// allocates nothing but itself.
    pub(super) fn new(
        entity: Arc<EntityCore>,
        credits: u32,
        timeout: Delta,
        payload: KVec<u8>,
        memory: JobMemory,
        dependencies: KVec<ARef<DmaFence>>,
    ) -> Result<kernel::list::ListArc<Self>> {
        let (dependencies, callbacks) = if dependencies.is_empty() {
            (None, KVec::new())
        } else {
            let (count, callbacks) = Self::watch(&entity, dependencies)?;
            (Some(count), callbacks)
        };
        kernel::list::ListArc::pin_init(
            try_pin_init!(Self {
                links <- ListLinks::new(),
                entity,
                credits,
                timeout,
                payload,
                memory,
                fence: SetOnce::new(),
                state: Atomic::new(0),
                _callbacks: callbacks,
                dependencies,
                busy: Atomic::new(BUSY_IDLE),
            }),
            GFP_KERNEL,
        )
    }

    /// Registers a callback on each of `dependencies` that counts it down (they may fire at
    /// once); returns the count and the callbacks.
    fn watch(
        entity: &EntityCore,
        dependencies: KVec<ARef<DmaFence>>,
    ) -> Result<(Arc<DependencyCount>, KVec<FenceCallback>)> {
        let count = Arc::new(
            DependencyCount {
                // One extra count, dropped below once every callback is registered, so the
                // ring is not woken for a half-built job.
                pending: Atomic::new(1),
                ring: entity.ring.clone(),
            },
            GFP_KERNEL,
        )?;
        let mut callbacks = KVec::with_capacity(dependencies.len(), GFP_KERNEL)?;
        for fence in dependencies.iter() {
            count.pending.add(1, Relaxed);
            let on_signal = count.clone();
            match fence.add_callback(move |_| on_signal.signalled(), GFP_KERNEL) {
                Ok(callback) => callbacks.push(callback, GFP_KERNEL)?,
                // Already signalled: nothing to wait for.
                Err(e) if e == ENOENT => count.signalled_early(),
                Err(e) => {
                    count.signalled_early();
                    return Err(e);
                }
            }
        }
        // The callbacks hold their own references; the fences themselves are not needed.
        drop(dependencies);
        count.signalled_early();
        Ok((count, callbacks))
    }

    /// Gives the job its finished fence; called once, when it is queued.
    pub(super) fn set_fence(&self, fence: ARef<Fence>) {
        let first = self.fence.populate(fence);
        debug_assert!(first);
    }

    /// The job's finished fence.
    pub(crate) fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref().map(|f| &**f)
    }

    /// The fence's sequence number in its entity, 0 before the job is queued.
    pub(crate) fn seqno(&self) -> u64 {
        self.fence().map_or(0, |f| f.seqno())
    }

    /// Whether the job was built with dependencies still unsignalled.
    pub(super) fn has_dependencies(&self) -> bool {
        self.dependencies.is_some()
    }

    /// The dispatcher started the busy clock for the job: `false` if the job completed first
    /// (the dispatcher then stops the clock itself).
    pub(super) fn take_busy_token(&self) -> bool {
        self.busy.cmpxchg(BUSY_IDLE, BUSY_COUNTED, Full).is_ok()
    }

    /// The job completed: `true` if its busy clock was started, so the completion stops it.
    pub(super) fn give_back_busy_token(&self) -> bool {
        self.busy.xchg(BUSY_OVER, Full) == BUSY_COUNTED
    }

    /// Whether every dependency has signalled.
    pub(super) fn dependencies_met(&self) -> bool {
        self.dependencies
            .as_ref()
            .is_none_or(|count| count.pending.load(Relaxed) == 0)
    }

    /// Whether the job is done (its fence is signalled or being signalled).
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Relaxed) == DONE
    }

    /// The current generation, for a new [`JobHandle`]; `None` if the job is done.
    pub(super) fn generation(&self) -> Option<u64> {
        let state = self.state.load(Acquire);
        (state != DONE).then_some(state / 2)
    }

    /// Invalidates the handles given out so far; `false` if the job is done.
    pub(super) fn bump_generation(&self) -> bool {
        let state = self.state.load(Acquire);
        state != DONE && self.state.cmpxchg(state, state + 2, Full).is_ok()
    }

    /// Moves the job to done if it is at `generation` (or at any generation for `None`).
    fn claim(&self, generation: Option<u64>) -> bool {
        loop {
            let state = self.state.load(Acquire);
            if state == DONE || generation.is_some_and(|g| state != 2 * g) {
                return false;
            }
            if self.state.cmpxchg(state, DONE, Full).is_ok() {
                return true;
            }
        }
    }

    /// Completes the job from any state but done, with `result`; `was_running` if the ring
    /// dispatched it (its credits and its entity's running count are then given back).
    /// Returns `false` if someone else completed it first.
    pub(super) fn finish(&self, result: Result, was_running: bool) -> bool {
        self.finish_generation(None, result, was_running)
    }

    fn finish_generation(
        &self,
        generation: Option<u64>,
        result: Result,
        was_running: bool,
    ) -> bool {
        if !self.claim(generation) {
            return false;
        }
        // Credits first, so that whoever sees the fence signalled also sees them free; the
        // entity's running count last, because its teardown may drop the fence timeline as
        // soon as it reaches zero.
        if was_running {
            self.entity.ring.completion_begins();
            self.entity.ring.return_credits(self.credits);
        }
        self.entity.ring.stats.done(was_running, result);
        if let Some(fence) = self.fence() {
            // Cannot fail: only the claimer signals, and we hold the claim.
            let _ = match result {
                Ok(()) => fence.signal(),
                Err(e) => fence.signal_error(e),
            };
        }
        if was_running {
            self.entity.job_stopped(self);
            // The next job starts from here: no workqueue hop between completion and dispatch.
            self.entity.ring.completion_ends();
        }
        true
    }
}

#[pinned_drop]
impl PinnedDrop for Job {
    fn drop(self: Pin<&mut Self>) {
        // Every path completes a queued job before its last reference goes (see the lifetime
        // rules in `mod.rs`), so this finds the fence signalled. Should one ever be missed, its
        // owned fence still signals: nothing waits for it for ever.
        if let Some(fence) = self.fence() {
            if fence.signal_error(ECANCELED).is_ok() {
                pr_warn!("xaccel: a job was dropped before it completed\n");
            }
        }
    }
}

/// The backend's handle on a job it was asked to run.
///
/// The backend keeps it while the job runs (in its engine thread, or with the hardware ring
/// slot) and reports the outcome with [`JobHandle::complete`], from any context including hard
/// interrupts. Dropping a handle without completing it completes the job with `ECANCELED`. A
/// handle from before an engine reset is stale: completing or dropping it does nothing, because
/// the core has already decided that job's fate.
pub struct JobHandle {
    job: Arc<Job>,
    generation: u64,
    done: bool,
}

impl JobHandle {
    /// A handle on the current run of `job`; `None` if the job is done.
    pub(super) fn new(job: Arc<Job>) -> Option<Self> {
        let generation = job.generation()?;
        Some(Self {
            job,
            generation,
            done: false,
        })
    }

    /// The backend's validated command buffer.
    pub fn payload(&self) -> &[u8] {
        &self.job.payload
    }

    /// The job's memory: its BO list and the objects its VA operands resolved to, mapped for
    /// the CPU, in the slots [`Backend::validate`] was given. Valid as long as the handle.
    ///
    /// [`Backend::validate`]: crate::Backend::validate
    pub fn memory(&self) -> &JobMemory {
        &self.job.memory
    }

    /// The job's credits on its ring.
    pub fn credits(&self) -> u32 {
        self.job.credits
    }

    /// The job's sequence number in its entity (its finished fence's seqno).
    pub fn seqno(&self) -> u64 {
        self.job.seqno()
    }

    /// Whether this run of the job still counts: it is not done and no reset made it stale.
    pub fn is_current(&self) -> bool {
        self.job.generation() == Some(self.generation)
    }

    /// Reports the job finished: `Ok(())`, or `Err(e)` with the error its fence carries (e.g.
    /// `EIO` for a fault). Signals the fence, returns the credits and wakes the ring. Any
    /// context, hard interrupts included; does nothing for a stale handle.
    pub fn complete(mut self, result: Result) {
        self.done = true;
        self.job
            .finish_generation(Some(self.generation), result, true);
    }
}

impl Drop for JobHandle {
    fn drop(&mut self) {
        if !self.done {
            self.job
                .finish_generation(Some(self.generation), Err(ECANCELED), true);
        }
    }
}
