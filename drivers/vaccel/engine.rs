// SPDX-License-Identifier: GPL-2.0-only

//! vaccel's engines: each runs the jobs the core's ring gives it, in order, like hardware.
//!
//! An engine is a FIFO of job handles and one work item on the core's engine queue; the
//! work item is never run twice at once, so jobs execute one after the other, and completion
//! is reported from it as a hardware interrupt would. The FIFO holds at most the ring's credits
//! (every job costs at least one), so queuing never allocates. A job that takes no time (only
//! NOP and FAULT steps) given to an idle engine completes at once, inside `Backend::run`, as a
//! fast engine would: no work item, no context switch (the core allows completion from `run`).
//! The state is an irq-safe lock: the core may call `run` from any context.
//!
//! Jobs run a compact program made by [`compile`] when the job was submitted, so execution
//! needs no allocation (it is on the fence signalling path): NOP, DELAY (sleeps, checking
//! between steps whether a reset took the job away), HANG (parks the job until a reset) and
//! FAULT (completes with `EIO`). Memory operations need the submit's buffer list, which is not
//! wired into SUBMIT yet: the parser rejects them (`EINVAL`, no such buffer).

use crate::isa::{self, Op};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, SpinLockIrq,
    },
    time::{delay::fsleep, Delta},
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};
use xaccel::{fence::Timestamp, sched::JobHandle};

/// Compact program encoding: one tag byte per step, DELAY followed by its microseconds (LE).
const STEP_NOP: u8 = 0;
const STEP_DELAY: u8 = 1;
const STEP_HANG: u8 = 2;
const STEP_FAULT: u8 = 3;

/// Validates a command buffer and compiles it for the engine (`Backend::validate`).
pub(crate) fn compile(commands: &[u8]) -> Result<KVec<u8>> {
    let program = isa::parse(commands, &[])?.map_err(|reject| reject.errno())?;
    let mut out = KVec::with_capacity(program.len() * 5, GFP_KERNEL)?;
    for op in program.iter() {
        match op {
            Op::Nop => out.push(STEP_NOP, GFP_KERNEL)?,
            Op::Delay { usecs } => {
                out.push(STEP_DELAY, GFP_KERNEL)?;
                out.extend_from_slice(&usecs.to_le_bytes(), GFP_KERNEL)?;
            }
            Op::Hang => out.push(STEP_HANG, GFP_KERNEL)?,
            Op::Fault { .. } => out.push(STEP_FAULT, GFP_KERNEL)?,
            // Memory operands need a BO list, which SUBMIT does not take yet.
            _ => return Err(EINVAL),
        }
    }
    Ok(out)
}

/// What an engine does with a job.
enum Outcome {
    Done(Result),
    Hung,
    /// A reset or shutdown took the job away while it ran.
    Abandoned,
}

/// An engine's jobs, under [`Engine::state`].
struct EngineState {
    queue: KVec<JobHandle>,
    hung: Option<JobHandle>,
    /// The work item is executing a job it took off the queue.
    busy: bool,
    stopped: bool,
}

/// One engine.
#[pin_data]
pub(crate) struct Engine {
    #[pin]
    state: SpinLockIrq<EngineState>,
    #[pin]
    work: Work<Engine>,
    /// The earliest deadline hint (`CLOCK_MONOTONIC` ns) since the engine was last idle;
    /// `i64::MAX` for none. A software engine has no clock to raise: it only keeps it.
    deadline: Atomic<i64>,
}

impl_has_work! {
    impl HasWork<Self> for Engine { self.work }
}

impl Engine {
    /// An idle engine whose ring holds `credits`.
    pub(crate) fn new(credits: u32) -> Result<Arc<Self>> {
        let queue = KVec::with_capacity(credits as usize, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                state <- new_spinlock_irq!(EngineState {
                    queue,
                    hung: None,
                    busy: false,
                    stopped: false,
                }),
                work <- new_work!("vaccel_engine"),
                deadline: Atomic::new(i64::MAX),
            }),
            GFP_KERNEL,
        )
    }

    /// Queues a job (`Backend::run`), or runs it at once if it takes no time and the engine is
    /// idle (the core serialises `run` per engine, so nothing overtakes it); never sleeps or
    /// allocates.
    pub(crate) fn submit(self: &Arc<Self>, job: JobHandle) {
        let refused = {
            let mut state = self.state.lock();
            if state.stopped {
                Some(job)
            } else if state.queue.is_empty()
                && !state.busy
                && state.hung.is_none()
                && Self::is_instant(job.payload())
            {
                drop(state);
                match Self::execute(&job) {
                    Outcome::Done(result) => job.complete(result),
                    // Not for instant programs; dropping the handle cancels the job.
                    Outcome::Hung | Outcome::Abandoned => {}
                }
                return;
            } else {
                state.queue.push_within_capacity(job).err().map(|e| e.0)
            }
        };
        match refused {
            // More jobs than credits: the core never does this.
            Some(job) => job.complete(Err(ENOSPC)),
            None => {
                let _ = xaccel::sched::engine_queue().enqueue(self.clone());
            }
        }
    }

    /// Keeps the earliest deadline hint (`Backend::set_deadline`).
    pub(crate) fn set_deadline(&self, deadline: Timestamp) {
        let mut current = self.deadline.load(Relaxed);
        while deadline.as_nanos() < current {
            match self.deadline.cmpxchg(current, deadline.as_nanos(), Relaxed) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
    }

    /// Forgets every job (`Backend::reset_engine`): their handles are stale by now.
    pub(crate) fn reset(&self) {
        let mut state = self.state.lock();
        state.queue.clear();
        state.hung = None;
    }

    /// Stops for good (the device goes away): queued jobs are dropped, nothing runs again.
    pub(crate) fn stop(&self) {
        let mut state = self.state.lock();
        state.stopped = true;
        state.queue.clear();
        state.hung = None;
    }

    /// Whether a compiled program takes no time: NOP and FAULT steps only.
    fn is_instant(steps: &[u8]) -> bool {
        steps
            .iter()
            .all(|&tag| tag == STEP_NOP || tag == STEP_FAULT)
    }

    /// Runs one job's program.
    fn execute(job: &JobHandle) -> Outcome {
        let mut steps = job.payload();
        while let Some((&tag, rest)) = steps.split_first() {
            if !job.is_current() {
                return Outcome::Abandoned;
            }
            steps = rest;
            match tag {
                STEP_NOP => {}
                STEP_DELAY => {
                    let Some((usecs, rest)) = steps.split_first_chunk::<4>() else {
                        return Outcome::Done(Err(EINVAL));
                    };
                    steps = rest;
                    fsleep(Delta::from_micros(i64::from(u32::from_le_bytes(*usecs))));
                }
                STEP_HANG => return Outcome::Hung,
                STEP_FAULT => return Outcome::Done(Err(EIO)),
                _ => return Outcome::Done(Err(EINVAL)),
            }
        }
        Outcome::Done(Ok(()))
    }
}

impl WorkItem for Engine {
    type Pointer = Arc<Engine>;

    fn run(this: Arc<Engine>) {
        loop {
            let job = {
                let mut state = this.state.lock();
                state.busy = false;
                if state.queue.is_empty() {
                    // Idle: the hints were about work that is done.
                    this.deadline.store(i64::MAX, Relaxed);
                }
                if state.stopped || state.hung.is_some() || state.queue.is_empty() {
                    return;
                }
                match state.queue.remove(0) {
                    Ok(job) => {
                        state.busy = true;
                        job
                    }
                    Err(_) => return,
                }
            };
            match Self::execute(&job) {
                Outcome::Done(result) => job.complete(result),
                Outcome::Hung => {
                    let mut state = this.state.lock();
                    if !state.stopped && job.is_current() {
                        state.hung = Some(job);
                    }
                    // Else dropped here: stale or already completed, it does nothing.
                }
                Outcome::Abandoned => {}
            }
        }
    }
}
