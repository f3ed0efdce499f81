// SPDX-License-Identifier: GPL-2.0-only

//! A mock backend for the scheduler's KUnit suites, and the helpers the suites share.
//!
//! A job's payload is `[tag, behaviour]`: the mock logs the tag of every job it is asked to
//! run (in order) and then completes it at once ([`COMPLETE`]), fails it with `EIO`
//! ([`FAULT`]), or holds it until the test releases it ([`HOLD`]) or a reset drops it
//! ([`HANG`]: the test never releases it).

use super::{EngineOps, Entity, JobDesc, JobHandle, Priority, Ring, RingConfig};
use crate::fence::{DmaFence, Fence, Timestamp, WaitMode};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc, SpinLockIrq,
    },
    time::{delay::fsleep, Delta, Instant, Monotonic},
};

/// Complete the job at once.
pub(super) const COMPLETE: u8 = 0;
/// Hold the job until [`Mock::release`].
pub(super) const HOLD: u8 = 1;
/// Hold the job; the test never releases it, a reset drops it.
pub(super) const HANG: u8 = 2;
/// Fail the job with `EIO` at once.
pub(super) const FAULT: u8 = 3;

/// Most jobs a test may run or hold.
const CAPACITY: usize = 512;

/// The mock backend.
#[pin_data]
pub(super) struct Mock {
    #[pin]
    log: SpinLockIrq<KVec<u8>>,
    #[pin]
    held: SpinLockIrq<KVec<(u8, JobHandle)>>,
    resets: Atomic<u32>,
    engine_reset_works: bool,
    device_reset_works: bool,
    deadlines: Atomic<u32>,
    last_deadline: Atomic<i64>,
    /// The task whose runs [`Mock::runs_by_watched`] counts (0: none).
    watched: Atomic<i32>,
    runs_by_watched: Atomic<u32>,
}

impl Mock {
    /// A mock whose engine reset works or fails (then the device reset fails too).
    pub(super) fn new(engine_reset_works: bool) -> Result<Arc<Self>> {
        Self::with_resets(engine_reset_works, false)
    }

    /// A mock whose engine and device resets work or fail as given.
    pub(super) fn with_resets(
        engine_reset_works: bool,
        device_reset_works: bool,
    ) -> Result<Arc<Self>> {
        let log = KVec::with_capacity(CAPACITY, GFP_KERNEL)?;
        let held = KVec::with_capacity(CAPACITY, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                log <- new_spinlock_irq!(log),
                held <- new_spinlock_irq!(held),
                resets: Atomic::new(0),
                engine_reset_works,
                device_reset_works,
                deadlines: Atomic::new(0),
                last_deadline: Atomic::new(0),
                watched: Atomic::new(0),
                runs_by_watched: Atomic::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// The tags of the jobs run so far, in order.
    pub(super) fn log(&self) -> Result<KVec<u8>> {
        let log = self.log.lock();
        let mut copy = KVec::with_capacity(log.len(), GFP_ATOMIC)?;
        copy.extend_from_slice(&log, GFP_ATOMIC)?;
        Ok(copy)
    }

    /// How many jobs were run so far.
    pub(super) fn runs(&self) -> usize {
        self.log.lock().len()
    }

    /// How many jobs the mock holds.
    pub(super) fn held(&self) -> usize {
        self.held.lock().len()
    }

    /// Resets the mock was asked for.
    pub(super) fn resets(&self) -> u32 {
        self.resets.load(Relaxed)
    }

    /// Deadline hints the mock took, and the last one (ns).
    pub(super) fn deadlines(&self) -> (u32, i64) {
        (
            self.deadlines.load(Relaxed),
            self.last_deadline.load(Relaxed),
        )
    }

    /// From now on, counts the jobs run in the calling task's context.
    pub(super) fn watch_current_task(&self) {
        self.runs_by_watched.store(0, Relaxed);
        self.watched.store(kernel::current!().pid(), Relaxed);
    }

    /// Jobs run in the watched task's context since [`Mock::watch_current_task`].
    pub(super) fn runs_by_watched(&self) -> u32 {
        self.runs_by_watched.load(Relaxed)
    }

    /// Completes the oldest held job with `result`; `false` if none is held.
    pub(super) fn release(&self, result: Result) -> bool {
        let handle = {
            let mut held = self.held.lock();
            if held.is_empty() {
                return false;
            }
            held.remove(0).ok().map(|(_, h)| h)
        };
        match handle {
            Some(handle) => {
                handle.complete(result);
                true
            }
            None => false,
        }
    }
}

impl EngineOps for Mock {
    fn run(&self, _engine: u32, job: JobHandle) {
        let (tag, behaviour) = match job.payload() {
            [tag, behaviour, ..] => (*tag, *behaviour),
            _ => (0, COMPLETE),
        };
        let _ = self.log.lock().push_within_capacity(tag);
        let watched = self.watched.load(Relaxed);
        if watched != 0 && kernel::current!().pid() == watched {
            self.runs_by_watched.add(1, Relaxed);
        }
        match behaviour {
            HOLD | HANG => {
                if let Err(e) = self.held.lock().push_within_capacity((tag, job)) {
                    // Out of room: fail the job (outside the lock).
                    let (_, job) = e.0;
                    job.complete(Err(ENOSPC));
                }
            }
            FAULT => job.complete(Err(EIO)),
            _ => job.complete(Ok(())),
        }
    }

    fn reset_engine(&self, _engine: u32) -> Result {
        // Resets may sleep (a real one waits for its hardware): this proves the core calls them
        // where sleeping is allowed (`might_sleep` complains otherwise).
        sleep_like_hardware();
        self.resets.add(1, Relaxed);
        if !self.engine_reset_works {
            return Err(EIO);
        }
        // The engine forgets its jobs. Their handles are stale now: dropping them does nothing
        // (the vector keeps its capacity for the re-run jobs).
        self.held.lock().clear();
        Ok(())
    }

    fn reset_device(&self) -> Result {
        sleep_like_hardware();
        self.resets.add(1, Relaxed);
        if !self.device_reset_works {
            return Err(EIO);
        }
        // Every engine forgets its jobs.
        self.held.lock().clear();
        Ok(())
    }

    fn set_deadline(&self, _engine: u32, deadline: Timestamp) -> Result {
        self.last_deadline.store(deadline.as_nanos(), Relaxed);
        self.deadlines.add(1, Relaxed);
        Ok(())
    }
}

/// Sleeps briefly, as a reset waiting for hardware would.
fn sleep_like_hardware() {
    kernel::task::might_sleep();
    fsleep(Delta::from_micros(200));
}

/// A ring on a mock, shut down when dropped (declare it after the entities: it drops first).
pub(super) struct Rig {
    pub(super) mock: Arc<Mock>,
    pub(super) ring: Arc<Ring>,
}

impl Rig {
    /// A mock ring with `credits`, a 10 s default and 20 s maximum timeout.
    pub(super) fn new(credits: u32) -> Result<Self> {
        Self::with_mock(credits, Mock::new(true)?)
    }

    pub(super) fn with_mock(credits: u32, mock: Arc<Mock>) -> Result<Self> {
        Self::engine(0, credits, mock)
    }

    /// A ring for `engine` with `credits` on `mock` (which several rigs may share).
    pub(super) fn engine(engine: u32, credits: u32, mock: Arc<Mock>) -> Result<Self> {
        let ring = Ring::new(
            RingConfig {
                engine,
                credit_limit: credits,
                default_timeout: Delta::from_secs(10),
                max_timeout: Delta::from_secs(20),
            },
            mock.clone(),
        )?;
        Ok(Self { mock, ring })
    }

    /// An entity on the ring.
    pub(super) fn entity(&self, priority: Priority) -> Result<Entity> {
        Entity::new(&self.ring, priority, c"test")
    }

    /// Queues `count` jobs the mock completes inside `run` (tags 1 to `count`) on `entity`,
    /// behind a held one (tag 0) that has started. Returns the held job's fence and the last
    /// one's.
    pub(super) fn queue_behind_held(
        &self,
        entity: &Entity,
        count: u8,
    ) -> Result<(ARef<Fence>, ARef<Fence>)> {
        let blocker = entity.submit(job(0, HOLD, &[])?)?;
        wait_until(|| self.mock.held() == 1)?;
        let mut last = None;
        for tag in 1..=count {
            last = Some(entity.submit(job(tag, COMPLETE, &[])?)?);
        }
        Ok((blocker, last.ok_or(EINVAL)?))
    }

    /// A stopper for the ring; declare it after the entities so it drops before them.
    pub(super) fn stopper(&self) -> Stopper {
        Stopper(self.ring.clone())
    }
}

/// Shuts a ring down when dropped, so entities dropped afterwards never wait for held jobs.
pub(super) struct Stopper(Arc<Ring>);

impl Drop for Stopper {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// A job description: one credit, the payload `[tag, behaviour]`, the given dependencies.
pub(super) fn job(tag: u8, behaviour: u8, deps: &[&DmaFence]) -> Result<JobDesc> {
    let mut payload = KVec::new();
    payload.extend_from_slice(&[tag, behaviour], GFP_KERNEL)?;
    let mut dependencies = KVec::new();
    for dep in deps {
        dependencies.push(ARef::from(*dep), GFP_KERNEL)?;
    }
    Ok(JobDesc {
        credits: 1,
        timeout: None,
        payload,
        memory: crate::job_memory::JobMemory::none(),
        dependencies,
    })
}

/// Waits for `fence`, with a hang guard (not a timing assertion).
pub(super) fn wait(fence: &Fence) -> Result {
    fence.wait(WaitMode::Uninterruptible, Some(Delta::from_secs(20)))
}

/// Polls `cond` until it holds; fails after 20 s (a hang guard, not a timing assertion).
pub(super) fn wait_until(cond: impl Fn() -> bool) -> Result {
    let start = Instant::<Monotonic>::now();
    while !cond() {
        if start.elapsed() > Delta::from_secs(20) {
            return Err(ETIMEDOUT);
        }
        fsleep(Delta::from_millis(1));
    }
    Ok(())
}

/// Waits until the ring passes queued so far ran, so dropped rings are freed.
pub(super) fn settle() {
    super::flush();
}
