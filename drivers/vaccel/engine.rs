// SPDX-License-Identifier: GPL-2.0-only

//! vaccel's engines: each runs the jobs the core's ring gives it, in order, like hardware.
//!
//! An engine is a FIFO of job handles and one work item on the core's engine queue; the
//! work item is never run twice at once, so jobs execute one after the other, and completion
//! is reported from it as a hardware interrupt would. The FIFO holds at most the ring's credits
//! (every job costs at least one), so queuing never allocates. A job that takes no time (only
//! NOP and FAULT steps, no `packet_latency_us`) given to an idle engine completes at once,
//! inside `Backend::run`, as a fast engine would: no work item, no context switch (the core
//! allows completion from `run`). The state is an irq-safe lock: the core may call `run` from
//! any context.
//!
//! Jobs run the compiled program [`compile`] made when the job was submitted (see `program`;
//! without `packet_latency_us`, NOPs are compiled out, so a NOP job runs an empty program),
//! on the memory the core mapped for the job (see `exec`), so execution needs no allocation.
//! With the `packet_latency_us` parameter every step first sleeps that long.

use crate::{
    exec::{self, Outcome},
    isa::{self, BoView, Op, Operand, Target},
    program::{self, Builder, Step},
};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc, SpinLockIrq,
    },
    time::Delta,
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};
use xaccel::{fence::Timestamp, sched::JobHandle, Access, MemRange, Submission};

/// Validates a submission and compiles it for the engine (`Backend::validate`).
///
/// The parser checks every packet and every BO-list operand; device-VA operands are resolved
/// here through the submit's VM, for reading or writing as the operation needs. Errors are
/// the parser's (Documentation/vaccel.rst), the VM's (`EFAULT` for an unmapped address,
/// `EACCES` for a write through a read-only mapping), `E2BIG` for a program whose operands
/// need more than `program::MAX_SPANS` pieces, and `ENOMEM`.
///
/// The whole buffer is checked before anything is resolved, so a bad packet anywhere is
/// reported as such. NOPs are only compiled in when packets have a latency
/// (`keep_nops`): otherwise they take no time and do nothing, and a program of NOPs alone
/// compiles to the empty payload, without allocating.
pub(crate) fn compile(submission: &mut Submission<'_>, keep_nops: bool) -> Result<KVec<u8>> {
    let mut views = KVec::with_capacity(submission.bos().len(), GFP_KERNEL)?;
    for bo in submission.bos() {
        views.push(
            BoView {
                size: bo.size,
                writable: bo.access.writable(),
            },
            GFP_KERNEL,
        )?;
    }
    let commands = submission.commands();
    let has_vm = submission.has_vm();
    isa::parse_each(commands, &views, has_vm, |_| Ok(()))?.map_err(|reject| reject.errno())?;
    let mut out = Builder::new();
    // Cannot reject: the same bytes were accepted just above.
    isa::parse_each(commands, &views, has_vm, |op| {
        let mut spans = |o: Operand| operand(&mut out, submission, o);
        let step = match op {
            Op::Nop if !keep_nops => return Ok(()),
            Op::Nop => Step::Nop,
            Op::Delay { usecs } => Step::Delay { usecs },
            Op::Hang => Step::Hang,
            Op::Fault { code } => Step::Fault { code },
            Op::Copy { dst, src } => Step::Copy {
                dst: spans(dst)?,
                src: spans(src)?,
                len: dst.len,
            },
            Op::Fill { dst, pattern } => Step::Fill {
                dst: spans(dst)?,
                pattern,
                len: dst.len,
            },
            Op::Vector { op, dst, a, b } => Step::Vector {
                op,
                dst: spans(dst)?,
                a: spans(a)?,
                b: spans(b)?,
                count: dst.len / 4,
            },
            Op::Sum { dst, src } => Step::Sum {
                dst: spans(dst)?,
                src: spans(src)?,
                count: src.len / 4,
            },
            Op::WriteTimestamp { dst } => Step::Timestamp { dst: spans(dst)? },
        };
        out.step(step)
    })?
    .map_err(|reject| reject.errno())?;
    out.finish()
}

/// The spans of one parsed operand: itself for a BO-list operand, the VM's pieces for a VA.
fn operand(
    out: &mut Builder,
    submission: &mut Submission<'_>,
    o: Operand,
) -> Result<program::Operand> {
    match o.target {
        Target::Bo(index) => {
            let range = MemRange {
                slot: index,
                offset: o.offset,
                len: o.len,
            };
            out.operand(&[range], o.offset, u32::try_from(index)?)
        }
        Target::Va => {
            let access = if o.write {
                Access::ReadWrite
            } else {
                Access::ReadOnly
            };
            let ranges = submission.resolve(o.offset, o.len, access)?;
            out.operand(&ranges, o.offset, program::SPACE_VA)
        }
    }
}

/// An engine's jobs, under [`Engine::state`].
struct EngineState {
    queue: KVec<JobHandle>,
    hung: Option<JobHandle>,
    /// The work item is executing a job it took off the queue.
    busy: bool,
    stopped: bool,
}

impl EngineState {
    /// Nothing queued, executing or hung, and not stopped: a new job may run at once.
    fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.busy && self.hung.is_none() && !self.stopped
    }
}

/// One engine.
#[pin_data]
pub(crate) struct Engine {
    #[pin]
    state: SpinLockIrq<EngineState>,
    /// [`EngineState::is_idle`], readable without the lock; updated under it on every change.
    idle: Atomic<bool>,
    #[pin]
    work: Work<Engine>,
    /// Sleep before each step (`packet_latency_us`).
    latency: Delta,
    /// The earliest deadline hint (`CLOCK_MONOTONIC` ns) since the engine was last idle;
    /// `i64::MAX` for none. A software engine has no clock to raise: it only keeps it.
    deadline: Atomic<i64>,
}

impl_has_work! {
    impl HasWork<Self> for Engine { self.work }
}

impl Engine {
    /// An idle engine whose ring holds `credits`, sleeping `latency` before each step.
    pub(crate) fn new(credits: u32, latency: Delta) -> Result<Arc<Self>> {
        let queue = KVec::with_capacity(credits as usize, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                state <- new_spinlock_irq!(EngineState {
                    queue,
                    hung: None,
                    busy: false,
                    stopped: false,
                }),
                idle: Atomic::new(true),
                work <- new_work!("vaccel_engine"),
                latency,
                deadline: Atomic::new(i64::MAX),
            }),
            GFP_KERNEL,
        )
    }

    /// Queues a job (`Backend::run`), or runs it at once if it takes no time and the engine is
    /// idle; never sleeps or allocates.
    ///
    /// The idle check needs no lock: the core serialises `run` per engine under its ring's lock
    /// and never calls `reset_engine` meanwhile (the ring is frozen while it resets), so nothing
    /// else queues a job meanwhile, and an idle engine's work item has nothing left to execute.
    /// So nothing overtakes the job run here.
    pub(crate) fn submit(self: &Arc<Self>, job: JobHandle) {
        if self.idle.load(Acquire) && self.latency == Delta::ZERO && exec::is_instant(job.payload())
        {
            match exec::run(&job, Delta::ZERO) {
                Outcome::Done(result) => job.complete(result),
                // Not for instant programs; dropping the handle cancels the job.
                Outcome::Hung | Outcome::Abandoned => {}
            }
            return;
        }
        let refused = {
            let mut state = self.state.lock();
            if state.stopped {
                Some(job)
            } else {
                let refused = state.queue.push_within_capacity(job).err().map(|e| e.0);
                self.idle.store(state.is_idle(), Release);
                refused
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
        self.idle.store(state.is_idle(), Release);
    }

    /// Stops for good (the device goes away): queued jobs are dropped, nothing runs again.
    pub(crate) fn stop(&self) {
        let mut state = self.state.lock();
        state.stopped = true;
        state.queue.clear();
        state.hung = None;
        self.idle.store(false, Release);
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
                    // Release: whoever sees the engine idle sees the jobs it executed done.
                    this.idle.store(state.is_idle(), Release);
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
            match exec::run(&job, this.latency) {
                Outcome::Done(result) => job.complete(result),
                Outcome::Hung => {
                    let mut state = this.state.lock();
                    if !state.stopped && job.is_current() {
                        state.hung = Some(job);
                        this.idle.store(false, Release);
                    }
                    // Else dropped here: stale or already completed, it does nothing.
                }
                Outcome::Abandoned => {}
            }
        }
    }
}
