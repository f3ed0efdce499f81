// SPDX-License-Identifier: GPL-2.0-only

//! Rings: one per engine. Arbitration between entities, credits, the watchdog and recovery.
//!
//! # Passes
//!
//! Whenever something changes (a job queued, a dependency signalled, a job completed), the
//! context that changed it runs a **pass** of the ring at once, under [`Ring::state`]:
//!
//! 1. **retire** the completed jobs from the running list (they are freed after the lock);
//! 2. **dispatch**: while an entity is ready and its first job fits in the free credits, hand
//!    that job to the backend ([`EngineOps::run`]);
//! 3. arm the watchdog timer for the oldest running job if none is armed.
//!
//! So SUBMIT hands a job whose dependencies have signalled straight to the backend, and a
//! completion (from a backend's interrupt handler, say) starts the next job itself: no
//! workqueue hop on either path. Passes run in any context (the state is an irq-safe spinlock,
//! and nothing in a pass sleeps or allocates), and never wait for each other: [`Ring::pump`]
//! records the request in [`Ring::pass_wanted`] and only *tries* the lock; whoever holds it
//! re-checks the request after unlocking. That also makes a completion from inside
//! [`EngineOps::run`] (a backend that finishes a job at once) safe: the pass that called `run`
//! simply goes round again. A pass that went round [`INLINE_ROUNDS`] times, or handed
//! [`INLINE_DISPATCHES`] jobs to the backend, ends its section (the lock is dropped and
//! interrupts are on again), so no context dispatches for ever with interrupts off: not even
//! when thousands of jobs the backend completes inside `run` wait behind one that just finished.
//! A preemptible caller (a submitter, the work item) then goes on with a new section; any other
//! (an interrupt handler, a caller with interrupts off) leaves the rest to the work item.
//!
//! The ring's **work item**, on the scheduler's workqueue, does the rest: when the watchdog
//! fires it retires, checks the oldest running job against its timeout (**recover** if it is
//! past), dispatches and re-arms the watchdog for the new oldest job (a completion never
//! touches an armed watchdog: it fires, finds a younger head, and is re-armed).
//!
//! # Arbitration
//!
//! Among ready entities (first job's dependencies signalled), the highest priority level wins;
//! within a level, entities take turns (round-robin from the one after the last served). Aging:
//! each dispatch from a level while a lower level also had a ready entity counts as passing
//! that lower level over; a level passed over [`AGING_LIMIT`] times in a row gets the next
//! dispatch. So a ready job waits for at most `AGING_LIMIT` dispatches per level above it, and
//! is never starved. If the chosen job needs more credits than are free, dispatch stops until
//! credits come back (smaller jobs behind it do not overtake it).
//!
//! # Recovery
//!
//! The watchdog measures the oldest running job from when it became the oldest (the previous
//! one completed, or it was dispatched to an idle ring). Past its timeout: every running job's
//! handle is made stale ([`JobHandle`] generations), the backend resets the engine (the device
//! if that fails), the reset counter increments, the timed-out job completes with `ETIME`, its
//! entity is marked guilty (its other running and queued jobs complete with `ECANCELED` and it
//! refuses new jobs with `EIO`), and the other running jobs are handed to the backend again, in
//! order. When the engine reset fails, the whole device is reset and every ring of it re-runs
//! its running jobs (`reset.rs`). If no reset works, they complete with `EIO` instead.
//!
//! # Calling the backend
//!
//! `run` and `set_deadline` are only called with [`Ring::state`] held (a spinlock, interrupts
//! off), inside a fence signalling section, from whatever context ran the pass: the
//! submitter's, a job completion's (a hard interrupt if the backend completes from one), a
//! dependency's signalling or the work item. So `run` must return without waiting for the job,
//! and nothing it does may sleep, allocate with `GFP_KERNEL` or wait for a fence. The resets
//! are called from the work item, in process context, without the ring's lock but holding
//! [`Ring::reset_backend`], inside a fence signalling section: they may sleep, but not allocate
//! with `GFP_KERNEL` or wait for a fence. [`Ring::shutdown`] takes the backend out of both, so
//! once it returns the backend is never called again.

use super::{
    deadline::PendingDeadline,
    entity::{cancel_queued, EntityCore, EntityState, PRIORITIES},
    job::{Job, JobHandle},
    reset::ResetDomain,
    stats::{RingSnapshot, RingStats},
    LIVE_RINGS,
};
use crate::fence::{DrainCounter, SignallingSection, Timestamp};
use kernel::{
    impl_has_hr_timer,
    list::List,
    new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed, Release},
        barrier::smp_mb,
        Arc, ArcBorrow, Mutex, SpinLockIrq,
    },
    time::{
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer,
            HrTimerRestart, RelativeMode,
        },
        Delta, Instant, Monotonic,
    },
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};

/// How many dispatches in a row may pass over a priority level that has a ready job.
pub const AGING_LIMIT: u32 = 8;

/// How many times one [`Ring::pump`] goes round before it leaves the rest to the work item.
const INLINE_ROUNDS: u32 = 64;

/// How many jobs one section of a pass (ring lock held, interrupts off) hands to the backend
/// before it leaves the rest to the work item.
pub(crate) const INLINE_DISPATCHES: u32 = 64;

/// How many retired jobs a pass frees itself; a larger batch (a backend that completes jobs
/// inside `run`, dozens per section) goes to the ring's reaping work item, on an unbound queue,
/// so that whoever ran the pass does not pay for it.
const REAP_INLINE: usize = 4;

/// What the scheduler needs from a backend to run jobs on its engines.
///
/// Implemented by the core's adapter around a [`Backend`](crate::Backend), or by a test's mock.
/// Every method is called inside a fence signalling section (no allocation but `GFP_ATOMIC`, no
/// waiting on fences); `run` and `set_deadline` with the ring's spinlock held (interrupts off)
/// in any context, the resets from the ring's work item, where they may sleep (see the module
/// documentation).
pub trait EngineOps: Send + Sync {
    /// Starts `job` on `engine` and returns at once. The backend keeps the handle and
    /// completes it when the job finishes, from any context. Jobs given to one engine
    /// complete in the order they were given.
    fn run(&self, engine: u32, job: JobHandle);

    /// Resets `engine` after a timeout: once this returns, the backend has stopped every job
    /// it held for the engine and dropped or will drop their (stale) handles. Process context;
    /// may sleep.
    fn reset_engine(&self, engine: u32) -> Result {
        let _ = engine;
        Err(EOPNOTSUPP)
    }

    /// Resets the whole device, when an engine reset is unsupported or failed. Process
    /// context; may sleep.
    fn reset_device(&self) -> Result {
        Err(EOPNOTSUPP)
    }

    /// A waiter would like the work queued on `engine` done by `deadline` (a hint; see
    /// `deadline.rs`). `Ok` if the backend took it into account.
    fn set_deadline(&self, engine: u32, deadline: Timestamp) -> Result {
        let _ = (engine, deadline);
        Err(EOPNOTSUPP)
    }
}

/// A ring's parameters, from the device description and the core's limits.
#[derive(Clone, Copy, Debug)]
pub struct RingConfig {
    /// The engine index passed to [`EngineOps`].
    pub engine: u32,
    /// The most credits in flight at once (at least 1).
    pub credit_limit: u32,
    /// A job's timeout when its submitter gives none.
    pub default_timeout: Delta,
    /// The longest timeout a submitter may ask for.
    pub max_timeout: Delta,
}

/// What [`Ring::state`] protects.
pub(super) struct RingState {
    /// `None` once the ring is shut down.
    pub(super) backend: Option<Arc<dyn EngineOps>>,
    /// The rings a device reset affects along with this one, until shutdown.
    pub(super) domain: Option<Arc<ResetDomain>>,
    /// Resets in progress (a timeout recovery of this ring, a device reset of its domain):
    /// nothing is dispatched while nonzero.
    pub(super) frozen: u32,
    /// The entities on this ring, per priority level.
    entities: [KVec<Arc<EntityCore>>; PRIORITIES],
    /// Per level, where the round-robin resumes.
    next: [usize; PRIORITIES],
    /// Per level, dispatches in a row that passed it over while it had a ready entity.
    passed_over: [u32; PRIORITIES],
    /// Dispatched jobs, oldest first, until retired.
    pub(super) running: List<Job>,
    /// When the oldest running job became the oldest.
    pub(super) head_since: Instant<Monotonic>,
    /// The armed (or fired, not yet re-armed) watchdog, if any.
    watchdog: Option<ArcHrTimerHandle<Ring>>,
    /// When the armed watchdog fires.
    watchdog_at: Instant<Monotonic>,
}

/// One engine's ring; see the module documentation.
///
/// # Invariants
///
/// - `in_flight` is the sum of the credits of the dispatched jobs that are not done, and never
///   exceeds `config.credit_limit`.
/// - The ring is counted in [`LIVE_RINGS`] from creation to drop.
/// - While [`Ring::reaped`] holds jobs, [`Ring::reap_work`] is queued or running (and will take
///   them): their references on the ring are dropped by it.
#[pin_data(PinnedDrop)]
pub struct Ring {
    pub(super) config: RingConfig,
    #[pin]
    pub(super) state: SpinLockIrq<RingState>,
    /// Nonzero when a pass was asked for since the last one began; see [`Ring::pump`].
    pass_wanted: Atomic<u32>,
    /// Nonzero when the work item must check the watchdog: it fired, or must fire earlier.
    watchdog_due: Atomic<u32>,
    /// Completions of this ring's jobs between signalling and their pass; see [`Ring::wake`].
    completing: Atomic<u32>,
    in_flight: Atomic<u32>,
    dead: Atomic<bool>,
    pub(super) resets: Atomic<u64>,
    /// The earliest deadline hint not yet handed to the backend.
    deadline: PendingDeadline,
    /// The backend as resets call it, outside [`Ring::state`] (they may sleep); held for the
    /// whole reset, and taken out by [`Ring::shutdown`], which so waits for a reset in progress.
    #[pin]
    pub(super) reset_backend: Mutex<Option<Arc<dyn EngineOps>>>,
    /// Counters for debugfs.
    pub(super) stats: RingStats,
    /// Retired jobs waiting for [`Ring::reap_work`]; see [`Ring::dispose`].
    #[pin]
    reaped: SpinLockIrq<List<Job>>,
    #[pin]
    work: Work<Ring>,
    /// Frees [`Ring::reaped`], on the unbound reaping queue.
    #[pin]
    reap_work: Work<Ring, 1>,
    #[pin]
    timer: HrTimer<Ring>,
}

impl_has_work! {
    impl HasWork<Self> for Ring { self.work }
    impl HasWork<Self, 1> for Ring { self.reap_work }
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Ring {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl Ring {
    /// Creates a ring that runs jobs through `backend`. `EINVAL` for 0 credits or a default
    /// timeout that is not positive or above the maximum.
    pub fn new(config: RingConfig, backend: Arc<dyn EngineOps>) -> Result<Arc<Self>> {
        if config.credit_limit == 0
            || config.default_timeout <= Delta::ZERO
            || config.default_timeout > config.max_timeout
        {
            return Err(EINVAL);
        }
        let ring = Arc::pin_init(
            pin_init!(Self {
                config,
                reset_backend <- new_mutex!(Some(backend.clone()), "xaccel_ring_reset"),
                state <- new_spinlock_irq!(
                    RingState {
                        backend: Some(backend),
                        domain: None,
                        frozen: 0,
                        entities: [KVec::new(), KVec::new(), KVec::new(), KVec::new()],
                        next: [0; PRIORITIES],
                        passed_over: [0; PRIORITIES],
                        running: List::new(),
                        head_since: Instant::now(),
                        watchdog: None,
                        watchdog_at: Instant::now(),
                    },
                    "xaccel_ring"
                ),
                pass_wanted: Atomic::new(0),
                watchdog_due: Atomic::new(0),
                completing: Atomic::new(0),
                in_flight: Atomic::new(0),
                dead: Atomic::new(false),
                resets: Atomic::new(0),
                deadline: PendingDeadline::new(),
                stats: RingStats::new(),
                reaped <- new_spinlock_irq!(List::new(), "xaccel_ring_reaped"),
                work <- new_work!("xaccel_ring::work"),
                reap_work <- new_work!("xaccel_ring::reap_work"),
                timer <- HrTimer::new(),
            }),
            GFP_KERNEL,
        )?;
        LIVE_RINGS.inc();
        Ok(ring)
    }

    /// The ring's engine index.
    pub fn engine(&self) -> u32 {
        self.config.engine
    }

    /// The most credits in flight at once.
    pub fn credit_limit(&self) -> u32 {
        self.config.credit_limit
    }

    /// Credits held by dispatched jobs that are not done; a snapshot.
    pub fn credits_in_flight(&self) -> u32 {
        self.in_flight.load(Relaxed)
    }

    /// Resets this ring has performed.
    pub fn reset_count(&self) -> u64 {
        self.resets.load(Relaxed)
    }

    /// The ring's job counters now.
    pub fn snapshot(&self) -> RingSnapshot {
        self.stats.snapshot(self.reset_count())
    }

    /// Records a deadline hint for the backend and wakes the work item to hand it over; any
    /// context (see `deadline.rs`).
    pub(super) fn offer_deadline(self: &Arc<Self>, deadline: Timestamp) {
        self.deadline.offer(deadline);
        self.wake();
    }

    /// Hands the pending deadline hint, if any, to the backend.
    fn deliver_deadline(&self, state: &RingState) {
        let Some(deadline) = self.deadline.take() else {
            return;
        };
        if let Some(backend) = &state.backend {
            if backend.set_deadline(self.config.engine, deadline).is_ok() {
                self.stats.deadline_taken(deadline);
            }
        }
    }

    /// Whether the ring lost its backend.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Acquire)
    }

    /// The timeout for a job that asks for `requested`: `EINVAL` for zero or negative, `E2BIG`
    /// above the maximum.
    pub(super) fn timeout_for(&self, requested: Option<Delta>) -> Result<Delta> {
        match requested {
            None => Ok(self.config.default_timeout),
            Some(t) if t <= Delta::ZERO => Err(EINVAL),
            Some(t) if t > self.config.max_timeout => Err(E2BIG),
            Some(t) => Ok(t),
        }
    }

    /// Schedules a pass of the ring's work item; any context.
    fn kick(self: &Arc<Self>) {
        // Already queued: that pass will see whatever changed.
        let _ = super::workqueue().enqueue::<Arc<Ring>, 0>(self.clone());
    }

    /// Asks for a pass from the work item; any context, including under a fence's lock (a
    /// dependency callback), where [`Ring::pump`] must not run.
    ///
    /// While a job of this ring is completing (between [`Ring::completion_begins`] and
    /// [`Ring::completion_ends`], which pumps), the request is left to that completion: it
    /// clears `completing` after this sets `pass_wanted` (both fully ordered), then pumps and
    /// sees the request. So a job that depends on the previous job of its own ring starts from
    /// the completion path, with no workqueue hop.
    pub(super) fn wake(self: &Arc<Self>) {
        self.pass_wanted.xchg(1, Full);
        if self.completing.load(Relaxed) == 0 {
            self.kick();
        }
    }

    /// A dispatched job of this ring is about to signal its fence.
    pub(super) fn completion_begins(&self) {
        let _ = self.completing.fetch_add(1, Full);
    }

    /// The job's completion is over: runs the pass that starts the next job.
    pub(super) fn completion_ends(self: &Arc<Self>) {
        let _ = self.completing.fetch_sub(1, Full);
        self.pump();
    }

    /// Runs a pass now, in the caller's context, unless one is running: then that one goes
    /// round again. Any context; never sleeps or waits for the lock.
    pub(crate) fn pump(self: &Arc<Self>) {
        self.pass_wanted.xchg(1, Full);
        self.drain_passes();
    }

    /// Runs the passes asked for in [`Ring::pass_wanted`] while the lock can be had.
    ///
    /// Whoever asks for a pass sets `pass_wanted` (a full barrier) before trying the lock; whoever
    /// holds the lock clears it before each round and looks again after unlocking (a full
    /// barrier in between). So a request that found the lock taken is seen by its holder.
    fn drain_passes(self: &Arc<Self>) {
        loop {
            let mut retired = List::new();
            let mut retired_count = 0;
            let mut rounds = 0;
            let mut handed_off = false;
            let mut budget = INLINE_DISPATCHES;
            let rearm;
            {
                let _section = SignallingSection::begin();
                let Some(mut state) = self.state.try_lock() else {
                    return;
                };
                while self.pass_wanted.xchg(0, Full) != 0 {
                    if rounds == INLINE_ROUNDS || budget == 0 {
                        // Enough with interrupts off: the work item goes on from here.
                        self.pass_wanted.xchg(1, Full);
                        handed_off = true;
                        break;
                    }
                    rounds += 1;
                    retired_count += self.retire(&mut state, &mut retired);
                    if !self.dispatch(&mut state, &mut budget) {
                        // More may be ready: the next round hands them to the work item.
                        self.pass_wanted.xchg(1, Full);
                    }
                }
                self.deliver_deadline(&state);
                rearm = self.arm_watchdog(&mut state);
            }
            // Completed jobs are freed outside the lock.
            self.dispose(retired, retired_count);
            if rearm {
                self.watchdog_due.xchg(1, Full);
            }
            // A preemptible caller goes on with a new section (`pass_wanted` is set); the others
            // leave the rest to the work item.
            let leave = handed_off && !super::caller_is_preemptible();
            if rearm || leave {
                self.kick();
            }
            if leave {
                return;
            }
            smp_mb(Full);
            if self.pass_wanted.load(Relaxed) == 0 {
                return;
            }
        }
    }

    /// Arms the watchdog for the oldest running job if none is armed. Returns whether the armed
    /// one fires later than that job's deadline: the work item then re-arms it.
    fn arm_watchdog(self: &Arc<Self>, state: &mut RingState) -> bool {
        let Some(deadline) = Self::deadline(state) else {
            return false;
        };
        if state.watchdog.is_some() {
            return deadline - state.watchdog_at < Delta::ZERO;
        }
        let delay = deadline - Instant::now();
        let delay = if delay < Delta::ZERO {
            Delta::ZERO
        } else {
            delay
        };
        state.watchdog = Some(self.clone().start(delay));
        state.watchdog_at = deadline;
        false
    }

    /// A dispatched job is done: its credits are free again. The caller then pumps the ring.
    pub(super) fn return_credits(&self, credits: u32) {
        self.in_flight.fetch_sub(credits, Full);
    }

    /// Adds an entity to its priority's run queue. Allocates outside the lock.
    pub(super) fn register(&self, entity: &Arc<EntityCore>) -> Result {
        let level = entity.priority.index();
        loop {
            let needed = {
                let mut state = self.state.lock();
                if state.backend.is_none() {
                    return Err(ENODEV);
                }
                match state.entities[level].push_within_capacity(entity.clone()) {
                    Ok(()) => return Ok(()),
                    Err(_) => state.entities[level].len() + 1,
                }
            };
            // Grow by swapping in a larger vector; the fence signalling rules forbid
            // allocating under the ring lock.
            let mut bigger = KVec::with_capacity(needed.max(4) * 2, GFP_KERNEL)?;
            let mut state = self.state.lock();
            if bigger.capacity() > state.entities[level].len() {
                for e in state.entities[level].drain_all() {
                    // Cannot fail: the capacity was checked just above.
                    let _ = bigger.push_within_capacity(e);
                }
                let old = core::mem::replace(&mut state.entities[level], bigger);
                drop(state);
                drop(old);
            }
        }
    }

    /// Removes an entity from its run queue: nothing more is dispatched from it.
    pub(super) fn unregister(&self, entity: &EntityCore) {
        let level = entity.priority.index();
        let mut state = self.state.lock();
        let list = &mut state.entities[level];
        if let Some(i) = list.iter().position(|e| core::ptr::eq(&**e, entity)) {
            // The ring still holds other references: this one is never the last.
            let _ = list.remove(i);
        }
    }

    /// Stops the ring for good: the backend is never called again (a reset in progress is
    /// waited for), every running job
    /// completes with `ENODEV`, then every queued one, and new jobs fail with `ENODEV`.
    /// Called when the backend goes away (device unplug, module unload); sleeps.
    pub fn shutdown(&self) {
        let (backend, watchdog, retired, domain) = {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            self.dead.store(true, Release);
            let backend = state.backend.take();
            for job in state.running.iter() {
                job.finish(Err(ENODEV), true);
            }
            let mut retired = List::new();
            retired.push_all_back(&mut state.running);
            for level in state.entities.iter() {
                for entity in level.iter() {
                    cancel_queued(entity.stop(EntityState::Closed), ENODEV);
                }
            }
            (backend, state.watchdog.take(), retired, state.domain.take())
        };
        // Waits for a reset in progress, which holds the backend there; none starts afterwards.
        let reset_backend = self.reset_backend.lock().take();
        // Outside the lock: the timer callback only queues work, the backend's drop may sleep.
        drop(watchdog);
        drop(retired);
        drop(backend);
        drop(reset_backend);
        drop(domain);
    }

    /// The arbitration: the entity whose first job runs next, if any may run now.
    ///
    /// Returns the level and index of the entity. See the module documentation for the rule.
    fn pick(&self, state: &mut RingState) -> Option<(usize, usize)> {
        let free = self.config.credit_limit - self.in_flight.load(Acquire);
        let mut candidates: [Option<(usize, u32)>; PRIORITIES] = [None; PRIORITIES];
        for (level, list) in state.entities.iter().enumerate() {
            let n = list.len();
            let start = state.next[level];
            candidates[level] = (0..n)
                .map(|k| (start + k).checked_rem(n).unwrap_or(0))
                .find_map(|i| list[i].ready_head().map(|credits| (i, credits)));
        }
        // The highest ready level, unless a lower one has waited long enough (the lowest
        // starving level first: it has been passed over by the most levels).
        let highest = (0..PRIORITIES).rev().find(|&l| candidates[l].is_some())?;
        let level = (0..highest)
            .find(|&l| candidates[l].is_some() && state.passed_over[l] >= AGING_LIMIT)
            .unwrap_or(highest);
        let (index, credits) = candidates[level]?;
        if credits > free {
            return None;
        }
        for (l, candidate) in candidates.iter().enumerate() {
            if l == level {
                state.passed_over[l] = 0;
            } else if l < highest && candidate.is_some() {
                state.passed_over[l] += 1;
            }
        }
        state.next[level] = index + 1;
        Some((level, index))
    }

    /// Dispatches jobs while the arbitration picks one, at most `budget` of them (counted
    /// down). Returns `false` if it stopped because the budget ran out.
    pub(super) fn dispatch(self: &Arc<Self>, state: &mut RingState, budget: &mut u32) -> bool {
        if state.frozen > 0 {
            return true;
        }
        // Out of the state while jobs are handed to it, and back before the lock goes: nobody
        // else can look meanwhile (they would need the lock), and it saves two reference count
        // updates per round on the path every job takes.
        let Some(backend) = state.backend.take() else {
            return true;
        };
        let finished = self.dispatch_to(state, &*backend, budget);
        state.backend = Some(backend);
        finished
    }

    /// [`Ring::dispatch`]'s loop, with the backend taken out of `state`.
    fn dispatch_to(
        &self,
        state: &mut RingState,
        backend: &dyn EngineOps,
        budget: &mut u32,
    ) -> bool {
        loop {
            if *budget == 0 {
                return false;
            }
            let Some((level, index)) = self.pick(state) else {
                return true;
            };
            let Some(job) = state.entities[level][index].pop_head() else {
                continue;
            };
            if job.is_done() {
                // Completed while queued (cannot happen today; be robust): skip it.
                continue;
            }
            *budget -= 1;
            self.in_flight.fetch_add(job.credits, Full);
            self.stats.dispatched();
            job.entity.job_started();
            let was_idle = state.running.is_empty();
            let handle = JobHandle::new(job.clone_arc());
            state.running.push_back(job);
            if let Some(handle) = handle {
                backend.run(self.config.engine, handle);
            }
            // A job the backend completed inside `run` needs no clock: the next round retires
            // it (and measures its successor from then). The job is the running list's last:
            // only lock holders change the list.
            let still_running = match state.running.cursor_back().peek_prev() {
                Some(job) if !job.is_done() => {
                    job.entity.job_busy(&job);
                    true
                }
                _ => false,
            };
            if still_running && was_idle {
                state.head_since = Instant::now();
            }
        }
    }

    /// Takes the completed jobs off the running list, into `retired`; returns how many.
    pub(super) fn retire(&self, state: &mut RingState, retired: &mut List<Job>) -> usize {
        let mut count = 0;
        let mut front_moved = false;
        let mut first = true;
        let mut cursor = state.running.cursor_front();
        while let Some(peek) = cursor.peek_next() {
            if peek.is_done() {
                count += 1;
                front_moved |= first;
                retired.push_back(peek.remove());
            } else {
                first = false;
                cursor.move_next();
            }
        }
        // Only a running job has a start to measure from (dispatch sets it on an idle ring).
        if front_moved && !state.running.is_empty() {
            state.head_since = Instant::now();
        }
        count
    }

    /// Frees `retired` (`count` jobs) now if there are at most [`REAP_INLINE`] of them, or hands
    /// them to the reaping work item. Called without the ring's lock; any context.
    fn dispose(self: &Arc<Self>, mut retired: List<Job>, count: usize) {
        if count <= REAP_INLINE {
            drop(retired);
            return;
        }
        self.reaped.lock().push_all_back(&mut retired);
        self.stats.reap_batch();
        // INVARIANT: Queued after the jobs are in the list; if it was queued already, that run
        // has not taken the list yet, or this call's queueing comes after it (a running item
        // can be queued again).
        let _ = super::reap_queue().enqueue::<Arc<Ring>, 1>(self.clone());
    }

    /// The oldest running job's deadline, if a job is running.
    pub(super) fn deadline(state: &RingState) -> Option<Instant<Monotonic>> {
        let head = state.running.iter().next()?;
        Some(state.head_since + head.timeout)
    }

    /// The work item's pass: [`Ring::drain_passes`]' work, plus the watchdog: recovery when the
    /// oldest job is past its deadline, and a fresh timer for the oldest job.
    fn watchdog_pass(self: &Arc<Self>) {
        // Recovery first, if the oldest job is past its deadline: it resets the engine without
        // the ring's lock (the backend may sleep), then the pass below dispatches again.
        self.recover_if_due();
        let mut retired = List::new();
        {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            self.pass_wanted.xchg(0, Full);
            self.retire(&mut state, &mut retired);
            let mut budget = INLINE_DISPATCHES;
            if !self.dispatch(&mut state, &mut budget) {
                // The rest in another section, below (interrupts on in between).
                self.pass_wanted.xchg(1, Full);
            }
            self.deliver_deadline(&state);
            // Cancelled under the lock (its callback only queues this work item), before the
            // timer is started again.
            drop(state.watchdog.take());
            self.arm_watchdog(&mut state);
        }
        // Completed jobs are freed here, outside the lock: their dependency fences may call
        // other drivers' release functions.
        drop(retired);
        // Requests that found the lock taken during this pass.
        smp_mb(Full);
        if self.pass_wanted.load(Relaxed) != 0 {
            self.drain_passes();
        }
    }
}

impl WorkItem for Ring {
    type Pointer = Arc<Ring>;

    fn run(this: Arc<Ring>) {
        if this.watchdog_due.xchg(0, Full) != 0 {
            this.watchdog_pass();
        } else {
            this.drain_passes();
        }
    }
}

impl WorkItem<1> for Ring {
    type Pointer = Arc<Ring>;

    fn run(this: Arc<Ring>) {
        let mut batch = List::new();
        batch.push_all_back(&mut this.reaped.lock());
        // Outside the lock: a job's drop may call other drivers' fence release functions.
        drop(batch);
    }
}

impl HrTimerCallback for Ring {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        // Hard interrupt context: the work item does the checking.
        let ring: Arc<Self> = this.into();
        ring.watchdog_due.xchg(1, Full);
        ring.kick();
        HrTimerRestart::NoRestart
    }
}

#[pinned_drop]
impl PinnedDrop for Ring {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Counted once in `new`; the counter is a static.
        unsafe { DrainCounter::dec_and_wake(&LIVE_RINGS) };
    }
}
