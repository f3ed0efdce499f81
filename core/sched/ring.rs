// SPDX-License-Identifier: GPL-2.0-only

//! Rings: one per engine. Arbitration between entities, credits, the watchdog and recovery.
//!
//! A [`Ring`] runs its work item on the scheduler's workqueue whenever something changes (a
//! job queued, a dependency signalled, a job completed, the watchdog fired). One pass, under
//! [`Ring::state`]:
//!
//! 1. **retire** the completed jobs from the running list (they are freed after the lock);
//! 2. **watchdog**: if the oldest running job has run longer than its timeout, **recover**;
//! 3. **dispatch**: while an entity is ready and its first job fits in the free credits, hand
//!    that job to the backend ([`EngineOps::run`]);
//! 4. re-arm the watchdog timer for the oldest running job.
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
//! order. If no reset works, they complete with `EIO` instead.
//!
//! # Calling the backend
//!
//! The backend is only called with [`Ring::state`] held, inside a fence signalling section:
//! `run` must return without waiting for the job, and nothing it or `reset_*` does may allocate
//! with `GFP_KERNEL` or wait for a fence. [`Ring::shutdown`] takes the backend out under the same
//! lock, so once it returns the backend is never called again.

use super::{
    entity::{cancel_queued, EntityCore, EntityState, PRIORITIES},
    job::{Job, JobHandle},
    LIVE_RINGS,
};
use crate::fence::{DrainCounter, SignallingSection};
use kernel::{
    impl_has_hr_timer,
    list::List,
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed, Release},
        Arc, ArcBorrow, Mutex,
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

/// What the scheduler needs from a backend to run jobs on its engines.
///
/// Implemented by the core's adapter around a [`Backend`](crate::Backend), or by a test's mock.
/// Every method is called with the ring's lock held inside a fence signalling section (see the
/// module documentation): no sleeping allocation, no waiting on fences.
pub trait EngineOps: Send + Sync {
    /// Starts `job` on `engine` and returns at once. The backend keeps the handle and
    /// completes it when the job finishes, from any context. Jobs given to one engine
    /// complete in the order they were given.
    fn run(&self, engine: u32, job: JobHandle);

    /// Resets `engine` after a timeout: once this returns, the backend has stopped every job
    /// it held for the engine and dropped or will drop their (stale) handles.
    fn reset_engine(&self, engine: u32) -> Result {
        let _ = engine;
        Err(EOPNOTSUPP)
    }

    /// Resets the whole device, when an engine reset is unsupported or failed.
    fn reset_device(&self) -> Result {
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
struct RingState {
    /// `None` once the ring is shut down.
    backend: Option<Arc<dyn EngineOps>>,
    /// The entities on this ring, per priority level.
    entities: [KVec<Arc<EntityCore>>; PRIORITIES],
    /// Per level, where the round-robin resumes.
    next: [usize; PRIORITIES],
    /// Per level, dispatches in a row that passed it over while it had a ready entity.
    passed_over: [u32; PRIORITIES],
    /// Dispatched jobs, oldest first, until retired.
    running: List<Job>,
    /// When the oldest running job became the oldest.
    head_since: Instant<Monotonic>,
    /// The armed watchdog, if any.
    watchdog: Option<ArcHrTimerHandle<Ring>>,
}

/// One engine's ring; see the module documentation.
///
/// # Invariants
///
/// - `in_flight` is the sum of the credits of the dispatched jobs that are not done, and never
///   exceeds `config.credit_limit`.
/// - The ring is counted in [`LIVE_RINGS`] from creation to drop.
#[pin_data(PinnedDrop)]
pub struct Ring {
    config: RingConfig,
    #[pin]
    state: Mutex<RingState>,
    in_flight: Atomic<u32>,
    dead: Atomic<bool>,
    resets: Atomic<u64>,
    #[pin]
    work: Work<Ring>,
    #[pin]
    timer: HrTimer<Ring>,
}

impl_has_work! {
    impl HasWork<Self> for Ring { self.work }
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
                state <- new_mutex!(
                    RingState {
                        backend: Some(backend),
                        entities: [KVec::new(), KVec::new(), KVec::new(), KVec::new()],
                        next: [0; PRIORITIES],
                        passed_over: [0; PRIORITIES],
                        running: List::new(),
                        head_since: Instant::now(),
                        watchdog: None,
                    },
                    "xaccel_ring"
                ),
                in_flight: Atomic::new(0),
                dead: Atomic::new(false),
                resets: Atomic::new(0),
                work <- new_work!("xaccel_ring::work"),
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
    pub(crate) fn kick(self: &Arc<Self>) {
        // Already queued: that pass will see whatever changed.
        let _ = super::workqueue().enqueue(self.clone());
    }

    /// A dispatched job is done: its credits are free again.
    pub(super) fn return_credits(self: &Arc<Self>, credits: u32) {
        self.in_flight.fetch_sub(credits, Full);
        self.kick();
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

    /// Stops the ring for good: the backend is never called again, every running job
    /// completes with `ENODEV`, then every queued one, and new jobs fail with `ENODEV`.
    /// Called when the backend goes away (device unplug, module unload); sleeps.
    pub fn shutdown(&self) {
        let (backend, watchdog, retired) = {
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
            (backend, state.watchdog.take(), retired)
        };
        // Outside the lock: the timer callback only queues work, the backend's drop may sleep.
        drop(watchdog);
        drop(retired);
        drop(backend);
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
                .map(|k| (start + k) % n)
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

    /// Dispatches jobs while the arbitration picks one.
    fn dispatch(self: &Arc<Self>, state: &mut RingState) {
        let Some(backend) = state.backend.clone() else {
            return;
        };
        while let Some((level, index)) = self.pick(state) {
            let entity = state.entities[level][index].clone();
            let Some(job) = entity.pop_head() else {
                continue;
            };
            if job.is_done() {
                // Completed while queued (cannot happen today; be robust): skip it.
                continue;
            }
            self.in_flight.fetch_add(job.credits, Full);
            entity.job_started();
            if state.running.is_empty() {
                state.head_since = Instant::now();
            }
            let handle = JobHandle::new(job.clone_arc());
            state.running.push_back(job);
            if let Some(handle) = handle {
                backend.run(self.config.engine, handle);
            }
        }
    }

    /// Takes the completed jobs off the running list, into `retired`.
    fn retire(&self, state: &mut RingState, retired: &mut List<Job>) {
        let mut front_moved = false;
        let mut first = true;
        let mut cursor = state.running.cursor_front();
        while let Some(peek) = cursor.peek_next() {
            if peek.is_done() {
                front_moved |= first;
                retired.push_back(peek.remove());
            } else {
                first = false;
                cursor.move_next();
            }
        }
        if front_moved {
            state.head_since = Instant::now();
        }
    }

    /// The oldest running job's deadline, if a job is running.
    fn deadline(state: &RingState) -> Option<Instant<Monotonic>> {
        let head = state.running.iter().next()?;
        Some(state.head_since + head.timeout)
    }

    /// Timeout recovery; see the module documentation.
    fn recover(self: &Arc<Self>, state: &mut RingState, retired: &mut List<Job>) {
        let Some(backend) = state.backend.clone() else {
            return;
        };
        let Some(guilty) = state.running.iter().next().map(|j| j.entity.clone()) else {
            return;
        };
        for job in state.running.iter() {
            job.bump_generation();
        }
        let reset = backend
            .reset_engine(self.config.engine)
            .or_else(|_| backend.reset_device());
        self.resets.fetch_add(1, Relaxed);
        if let Some(head) = state.running.iter().next() {
            pr_warn!(
                "xaccel: engine {} job {} timed out after {} ms; reset {}\n",
                self.config.engine,
                head.seqno(),
                head.timeout.as_millis(),
                if reset.is_ok() { "done" } else { "failed" }
            );
            head.finish(Err(ETIME), true);
        }
        let queued = guilty.stop(EntityState::Guilty);
        for job in state.running.iter() {
            if job.is_done() {
                continue;
            }
            if core::ptr::eq(&*job.entity, &*guilty) {
                job.finish(Err(ECANCELED), true);
            } else if reset.is_err() {
                job.finish(Err(EIO), true);
            }
        }
        cancel_queued(queued, ECANCELED);
        self.retire(state, retired);
        // The survivors run again, in their original order.
        state.head_since = Instant::now();
        let mut cursor = state.running.cursor_front();
        while let Some(peek) = cursor.peek_next() {
            if let Some(handle) = JobHandle::new(peek.arc().into()) {
                backend.run(self.config.engine, handle);
            }
            cursor.move_next();
        }
    }

    /// One pass of the ring; see the module documentation.
    fn pass(self: &Arc<Self>) {
        let mut retired = List::new();
        let watchdog;
        {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            self.retire(&mut state, &mut retired);
            if Self::deadline(&state).is_some_and(|d| d - Instant::now() <= Delta::ZERO) {
                self.recover(&mut state, &mut retired);
            }
            self.dispatch(&mut state);
            // Re-arm for the oldest running job; the old handle is cancelled outside the lock.
            watchdog = state.watchdog.take();
            if let Some(deadline) = Self::deadline(&state) {
                let delay = deadline - Instant::now();
                let delay = if delay < Delta::ZERO {
                    Delta::ZERO
                } else {
                    delay
                };
                drop(watchdog);
                state.watchdog = Some(self.clone().start(delay));
                drop(state);
                drop(retired);
                return;
            }
        }
        drop(watchdog);
        // Completed jobs are freed here, outside the lock: their dependency fences may call
        // other drivers' release functions.
        drop(retired);
    }
}

impl WorkItem for Ring {
    type Pointer = Arc<Ring>;

    fn run(this: Arc<Ring>) {
        this.pass();
    }
}

impl HrTimerCallback for Ring {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        // Hard interrupt context: the work item does the checking.
        let ring: Arc<Self> = this.into();
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
