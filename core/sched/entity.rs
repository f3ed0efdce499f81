// SPDX-License-Identifier: GPL-2.0-only

//! Entities: userspace contexts, each a FIFO of jobs on one ring with a priority.
//!
//! An [`Entity`] is owned by whoever created it (a context in an open file, a KUnit test). It
//! owns the fence timeline its jobs' finished fences come from, so the seqno of a job's fence is
//! its place in the FIFO. The scheduling state the ring needs lives in an [`EntityCore`] that
//! jobs and the ring share; it holds nothing whose drop sleeps, so the last reference may go in
//! any context (a backend completing a job from its interrupt handler).
//!
//! Dropping an [`Entity`] tears it down: it leaves its ring's run queues (nothing more is
//! dispatched from it), waits for its running jobs to complete (they do: on completion, through
//! timeout recovery, or when the backend goes), then completes its queued jobs with `ECANCELED`
//! in FIFO order, and finally drops its fence timeline.

use super::{
    deadline::EntityDeadlines,
    job::{Job, JobDesc},
    ring::Ring,
    stats::BusyClock,
};
use crate::fence::{DrainCounter, Fence, FenceAllocation, FenceContext};
use kernel::{
    list::{List, ListArc},
    new_spinlock_irq,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc, SpinLockIrq,
    },
};

/// An entity's priority; higher priorities are dispatched first (see the ring's arbitration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Priority {
    /// Background work.
    Low = 0,
    /// The default.
    Normal = 1,
    /// Interactive work.
    High = 2,
    /// Latency-critical work; the uAPI requires `CAP_SYS_NICE` for it.
    Realtime = 3,
}

/// How many priority levels there are.
pub(crate) const PRIORITIES: usize = 4;

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; PRIORITIES] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Realtime,
    ];

    /// The index of the priority's run queue.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Whether an entity still accepts jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntityState {
    /// Accepts and runs jobs.
    Active,
    /// One of its jobs hung and was reset: new jobs fail with `EIO`.
    Guilty,
    /// Being destroyed, or its ring lost its backend: new jobs fail with `ENODEV`.
    Closed,
}

/// An entity's FIFO, under [`EntityCore::queue`].
pub(crate) struct EntityQueue {
    jobs: List<Job>,
    pub(crate) state: EntityState,
}

/// What the ring and the jobs share of an entity.
///
/// # Invariants
///
/// - `running` counts the entity's jobs the ring dispatched that are not done.
/// - `head` describes the first job of `queue.jobs` ([`head_hint`]); it changes only under
///   `queue`'s lock, whenever the first job does.
/// - `queued` is the number of jobs in `queue.jobs`; it changes only under `queue`'s lock.
#[pin_data]
pub(crate) struct EntityCore {
    pub(crate) ring: Arc<Ring>,
    pub(crate) priority: Priority,
    /// Irq-safe: ring passes read it from any context.
    #[pin]
    pub(crate) queue: SpinLockIrq<EntityQueue>,
    /// The first queued job, for ring passes to read without the lock: 0 if the queue is
    /// empty, else its credits, with [`HEAD_WAITS`] if it has dependencies; see
    /// [`EntityCore::ready_head`].
    head: Atomic<u32>,
    running: DrainCounter,
    /// The owner's busy clock on this engine, if it keeps one (fdinfo).
    busy: Option<Arc<BusyClock>>,
    /// The most jobs the queue may hold ([`Entity::limit_queue`]); `u32::MAX` by default.
    queue_limit: Atomic<u32>,
    /// The jobs in the queue, readable without its lock ([`Entity::has_room`]).
    queued: Atomic<u32>,
}

impl EntityCore {
    /// One of the entity's jobs is about to be handed to the backend.
    pub(super) fn job_started(&self) {
        self.running.inc();
    }

    /// `job`, handed to the backend, was still running when `run` returned: the owner's busy
    /// clock starts. (A job the backend completed inside `run` took no measurable time and is
    /// not counted: no clock reading, no lock.)
    pub(super) fn job_busy(&self, job: &Job) {
        let Some(busy) = &self.busy else {
            return;
        };
        busy.start();
        if !job.take_busy_token() {
            // It completed in between, and left the stop to us.
            busy.stop();
        }
    }

    /// `job`, one of the entity's dispatched jobs, is done.
    pub(super) fn job_stopped(&self, job: &Job) {
        if let Some(busy) = &self.busy {
            if job.give_back_busy_token() {
                busy.stop();
            }
        }
        // SAFETY: Each dispatched job counted itself once in `job_started` and gives the count
        // back once, from `Job::finish` (the claimer only). The counter stays alive: the job
        // holds a reference on this entity.
        unsafe { DrainCounter::dec_and_wake(&self.running) };
    }

    /// The credits of the first job if it may run now (dependencies met). Called by ring passes,
    /// under the ring's lock.
    ///
    /// Takes no lock for an empty queue or a first job without dependencies: the hint is
    /// exact there. Under the ring's lock the first job of a registered entity only goes
    /// through [`EntityCore::pop_head`] or [`EntityCore::stop`], which the lock holder itself
    /// calls; and a push into an empty queue after the hint was read pumps the ring, whose
    /// lock holder then goes round again (see `Ring::pump`).
    pub(super) fn ready_head(&self) -> Option<u32> {
        let head = self.head.load(Acquire);
        if head == 0 {
            return None;
        }
        if head & HEAD_WAITS == 0 {
            return Some(head);
        }
        let queue = self.queue.lock();
        let head = queue.jobs.iter().next()?;
        head.dependencies_met().then_some(head.credits)
    }

    /// Takes the first job off the FIFO.
    pub(super) fn pop_head(&self) -> Option<ListArc<Job>> {
        let mut queue = self.queue.lock();
        let job = queue.jobs.pop_front()?;
        // INVARIANT: One job fewer in the list, under the lock.
        self.queued.store(self.queued.load(Relaxed) - 1, Relaxed);
        // INVARIANT: The first job changed, under the lock.
        self.head.store(head_hint(&queue.jobs), Release);
        Some(job)
    }

    /// Moves the entity to `state` (unless it is already closed) and takes every queued job.
    pub(super) fn stop(&self, state: EntityState) -> List<Job> {
        let mut queue = self.queue.lock();
        if queue.state != EntityState::Closed {
            queue.state = state;
        }
        let mut taken = List::new();
        taken.push_all_back(&mut queue.jobs);
        // INVARIANT: The list is empty now, under the lock.
        self.queued.store(0, Relaxed);
        // INVARIANT: Empty now, under the lock.
        self.head.store(0, Release);
        taken
    }

    /// Whether a job timed out on this entity.
    pub(crate) fn is_guilty(&self) -> bool {
        self.queue.lock().state == EntityState::Guilty
    }
}

/// [`EntityCore::head`]'s flag for a first job with dependencies: its readiness needs the lock.
const HEAD_WAITS: u32 = 1 << 31;

/// The hint for a queue whose jobs are `jobs`; see [`EntityCore::head`].
fn head_hint(jobs: &List<Job>) -> u32 {
    match jobs.iter().next() {
        None => 0,
        // Credits are at least 1 and at most a ring's limit, far below `HEAD_WAITS`.
        Some(job) if job.has_dependencies() => job.credits | HEAD_WAITS,
        Some(job) => job.credits,
    }
}

/// Completes every job of `jobs` (never dispatched) with `error`, in order.
pub(super) fn cancel_queued(jobs: List<Job>, error: Error) {
    for job in jobs {
        job.finish(Err(error), false);
    }
}

/// A job with everything allocated, ready for [`Entity::push`].
pub struct PreparedJob {
    job: ListArc<Job>,
    fence: FenceAllocation,
}

/// A userspace context: a FIFO of jobs on one ring, with a priority.
///
/// # Examples
///
/// ```ignore
/// let entity = Entity::new(&ring, Priority::Normal, c"ctx1")?;
/// let memory = JobMemory::none();
/// let fence = entity.submit(JobDesc { credits: 1, timeout: None, payload, memory, dependencies })?;
/// fence.wait(WaitMode::Interruptible, None)?;
/// ```
pub struct Entity {
    core: Arc<EntityCore>,
    /// Dropped last, after the teardown in [`Entity::drop`].
    fences: FenceContext,
}

impl Entity {
    /// Creates an entity on `ring`; `name` names its fence timeline (at most 31 bytes kept).
    ///
    /// Fails with `ENODEV` if the ring has lost its backend.
    pub fn new(ring: &Arc<Ring>, priority: Priority, name: &CStr) -> Result<Self> {
        Self::with_busy_clock(ring, priority, name, None)
    }

    /// [`Entity::new`] for a client that keeps a busy clock on the ring's engine: the time its
    /// jobs run is counted on `busy` (several entities may share one clock).
    ///
    /// Deadline hints on the entity's fences reach the ring's backend (see `deadline.rs`).
    pub fn with_busy_clock(
        ring: &Arc<Ring>,
        priority: Priority,
        name: &CStr,
        busy: Option<Arc<BusyClock>>,
    ) -> Result<Self> {
        let hook = Arc::new(EntityDeadlines { ring: ring.clone() }, GFP_KERNEL)?;
        let fences = FenceContext::new(c"xaccel", name, Some(hook))?;
        let core = Arc::pin_init(
            pin_init!(EntityCore {
                ring: ring.clone(),
                priority,
                queue <- new_spinlock_irq!(
                    EntityQueue {
                        jobs: List::new(),
                        state: EntityState::Active,
                    },
                    "xaccel_entity_queue"
                ),
                head: Atomic::new(0),
                running: DrainCounter::new(),
                busy,
                queue_limit: Atomic::new(u32::MAX),
                queued: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        ring.register(&core)?;
        Ok(Self { core, fences })
    }

    /// The engine of the entity's ring.
    pub fn engine(&self) -> u32 {
        self.core.ring.engine()
    }

    /// The entity's priority.
    pub fn priority(&self) -> Priority {
        self.core.priority
    }

    /// Limits the jobs the entity holds that have not started (queued behind their
    /// dependencies or the ring's credits) to `max`: [`Entity::push`] refuses more with `EBUSY`.
    /// Unlimited by default.
    pub fn limit_queue(&self, max: u32) {
        self.core.queue_limit.store(max, Relaxed);
    }

    /// Whether the queue has room for another job now (a hint: [`Entity::push`] decides).
    /// Takes no lock: it is on every SUBMIT's path, and an irq-safe lock's unlock is costly
    /// under emulation (see `Documentation/testing.rst`, "Profiling").
    pub fn has_room(&self) -> bool {
        self.core.queued.load(Relaxed) < self.core.queue_limit.load(Relaxed)
    }

    /// Whether one of the entity's jobs timed out: new jobs are refused with `EIO`.
    pub fn is_guilty(&self) -> bool {
        self.core.is_guilty()
    }

    /// The `dma_fence` context of the entity's finished fences.
    pub fn fence_context(&self) -> u64 {
        self.fences.id()
    }

    /// Checks `desc` against the ring and allocates the job; may sleep.
    ///
    /// `EINVAL` for 0 credits, more credits than the ring holds, or a zero timeout; `E2BIG` for
    /// a timeout above the ring's maximum.
    pub fn prepare(&self, desc: JobDesc) -> Result<PreparedJob> {
        let ring = &self.core.ring;
        if desc.credits == 0 || desc.credits > ring.credit_limit() {
            return Err(EINVAL);
        }
        let timeout = ring.timeout_for(desc.timeout)?;
        let fence = FenceAllocation::new(GFP_KERNEL)?;
        let job = Job::new(
            self.core.clone(),
            desc.credits,
            timeout,
            desc.payload,
            desc.memory,
            desc.dependencies,
        )?;
        Ok(PreparedJob { job, fence })
    }

    /// Queues a prepared job and returns its finished fence. Never allocates.
    ///
    /// The ring runs a pass right away, in the caller's context: a job whose dependencies have
    /// signalled and that fits in the ring's free credits is handed to the backend before this
    /// returns (and may even be done by then).
    ///
    /// `EIO` if the entity is guilty of a timeout, `ENODEV` if it is being destroyed or its ring
    /// lost its backend, `EBUSY` if its queue is full ([`Entity::limit_queue`]); the job is then
    /// dropped unqueued.
    pub fn push(&self, prepared: PreparedJob) -> Result<ARef<Fence>> {
        let PreparedJob { job, fence } = prepared;
        let mut queue = self.core.queue.lock();
        match queue.state {
            EntityState::Active if !self.core.ring.is_dead() => {}
            EntityState::Guilty => return Err(EIO),
            _ => return Err(ENODEV),
        }
        if self.core.queued.load(Relaxed) >= self.core.queue_limit.load(Relaxed) {
            return Err(EBUSY);
        }
        // The job owns its fence and signals it, whatever happens to it (see `job.rs`); armed
        // under the queue lock, so seqnos follow the FIFO.
        let fence = self.fences.arm_owned(fence);
        job.set_fence(fence.clone());
        self.core.ring.stats.queued();
        let was_empty = queue.jobs.is_empty();
        queue.jobs.push_back(job);
        // INVARIANT: One job more in the list, under the lock.
        self.core
            .queued
            .store(self.core.queued.load(Relaxed) + 1, Relaxed);
        if was_empty {
            // INVARIANT: The job is the first now, under the lock. Release: a pass that reads
            // the hint sees the job; one that read the old hint is followed by the pump below.
            self.core.head.store(head_hint(&queue.jobs), Release);
        }

        drop(queue);
        self.core.ring.pump();
        Ok(fence)
    }

    /// [`Entity::prepare`] then [`Entity::push`].
    pub fn submit(&self, desc: JobDesc) -> Result<ARef<Fence>> {
        self.push(self.prepare(desc)?)
    }
}

impl Drop for Entity {
    fn drop(&mut self) {
        kernel::task::might_sleep();
        // Nothing more is dispatched from this entity...
        self.core.ring.unregister(&self.core);
        // ... and nothing more queued: the queue is taken after the running jobs are done, so
        // fences signal in seqno order.
        self.core.queue.lock().state = EntityState::Closed;
        self.core.running.wait_zero();
        cancel_queued(self.core.stop(EntityState::Closed), ECANCELED);
        // `self.fences` drops next: every fence of the timeline is signalled by now.
    }
}
