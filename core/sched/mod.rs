// SPDX-License-Identifier: GPL-2.0-only

//! The job scheduler: entities (userspace contexts) feed rings (one per engine), rings feed
//! the backend.
//!
//! - [`Ring`]: one per engine, with a credit limit. Arbitrates between its entities (priority
//!   levels with aging, round-robin within a level), dispatches jobs whose dependencies have
//!   signalled when their credits fit, watches timeouts and recovers (see `ring.rs`).
//! - [`Entity`]: a FIFO of jobs with a priority and its own fence timeline; jobs leave it in
//!   order. Guilty of a timeout, it refuses new jobs with `EIO`.
//! - [`JobDesc`] / [`PreparedJob`]: a job's credits, timeout, payload (the backend's validated
//!   copy of the command buffer) and dependency fences; [`Entity::submit`] returns its finished
//!   fence.
//! - [`EngineOps`]: what a ring calls in the backend; [`JobHandle`]: what the backend keeps for
//!   a running job and completes from any context.
//! - [`ResetDomain`]: the rings of one device, which a device reset affects together
//!   (`reset.rs`, with timeout recovery).
//! - Deadline hints from job fences to the backend (`deadline.rs`); per-ring counters and
//!   per-client [`BusyClock`]s for debugfs and fdinfo (`stats.rs`).
//!
//! # Lock order
//!
//! 0. a [`ResetDomain`]'s mutex (device resets, process context);
//! 1. a fence signalling section (every ring pass, shutdown, and a backend's completion);
//! 2. [`Ring`]'s state spinlock, irq-safe (the backend is only ever called under it). Passes
//!    started where other locks are held (a completion inside `run`, under another ring's lock)
//!    only try it ([`Ring::pump`]), so it is never waited for under a fence's or a ring's lock;
//! 3. an entity's queue spinlock, irq-safe;
//! 4. the fence layer's locks (a fence's own lock, then a timeline's list lock), and a
//!    [`BusyClock`]'s spinlock;
//! 5. a ring's list of retired jobs waiting for its reaping work item (taken alone).
//!
//! No `GFP_KERNEL` allocation happens under 2 or 3 (entity registration grows its vector
//! outside the lock); jobs are allocated before they are queued.
//!
//! # Lifetime rules
//!
//! No job, fence, entity or ring is used after it is freed, in any order of userspace closing
//! things, the backend going away and module unload:
//!
//! 1. **References point down.** An [`Entity`] holds its ring; a job holds its entity's core
//!    (which holds the ring); the ring holds only the cores of the entities registered with it
//!    and its running jobs. The cycles (core ↔ queued job, ring ↔ registered core, ring ↔ its
//!    armed watchdog, ring ↔ its reset domain) are broken by teardown: [`Entity`]'s drop
//!    unregisters it and empties its queue; the watchdog is dropped when it fires on an idle
//!    ring and at shutdown; shutdown takes the ring's domain out.
//! 2. **The last reference may go anywhere.** A backend may complete and drop a [`JobHandle`]
//!    in hard interrupt context. Jobs, entity cores and rings hold nothing whose drop sleeps:
//!    the entity's fence timeline (whose drop waits) belongs to the [`Entity`], dropped by its
//!    owner in process context.
//! 3. **Every fence signals.** A queued job completes when it runs, when its entity is
//!    destroyed (`ECANCELED`, after the entity's running jobs, so in seqno order), when its
//!    entity is found guilty (`ECANCELED`) or when the ring shuts down (`ENODEV`). A running
//!    job completes through the backend, through timeout recovery (`ETIME`, or re-run), or at
//!    shutdown (`ENODEV`). A job owns its fence (`FenceContext::arm_owned`), so a job freed
//!    unfinished, which no path does, still signals it (`ECANCELED`) rather than leave the
//!    timeline's drop waiting.
//! 4. **The backend is called only while it exists.** Calls happen under the ring's lock;
//!    [`Ring::shutdown`] takes the backend out under that lock before the backend's module can
//!    go. Handles the backend still holds afterwards are stale or complete already-done jobs:
//!    both do nothing.
//! 5. **The core outlives its work.** Ring passes run in the contexts that hold a reference on
//!    the ring (a completing job, a pushing entity) or on the core's own workqueue; the watchdog
//!    is an hrtimer owned by the ring, cancelled when dropped; dependency callbacks run with
//!    interrupts off. A batch of retired jobs a pass hands to the ring's reaping work item
//!    (the ring ↔ its retired jobs cycle) is freed by that item, which the hand-over queues.
//!    Module exit waits until no ring exists, then destroys the workqueues (flushing them), so
//!    no core code runs after unload.
//!
//! See `Documentation/execution.rst`.

pub(crate) mod bench;
mod deadline;
mod entity;
mod job;
mod reset;
mod ring;
mod stats;

pub use entity::{Entity, PreparedJob, Priority};
pub use job::{JobDesc, JobHandle};
pub use reset::ResetDomain;
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
pub(crate) use ring::INLINE_DISPATCHES;
pub use ring::{EngineOps, Ring, RingConfig, AGING_LIMIT};
pub use stats::{BusyClock, RingSnapshot};

use crate::fence::DrainCounter;
use kernel::{bindings, error::to_result, prelude::*, workqueue::Queue};

/// How many rings exist: module exit waits for none.
static LIVE_RINGS: DrainCounter = DrainCounter::new();

extern "C" {
    /// Allocates the scheduler's workqueue (`alloc_workqueue()` is a macro).
    fn xaccel_sched_wq_init() -> kernel::ffi::c_int;
    /// `destroy_workqueue()` of it.
    fn xaccel_sched_wq_exit();
    /// The workqueue, valid between init and exit.
    fn xaccel_sched_wq_get() -> *mut bindings::workqueue_struct;
    /// The unbound workqueue that frees batches of retired jobs, valid between init and exit.
    fn xaccel_reap_wq_get() -> *mut bindings::workqueue_struct;
    /// `flush_workqueue()` of both.
    fn xaccel_sched_wq_flush();
    /// `preemptible()`.
    fn xaccel_sched_preemptible() -> bool;
}

/// Whether the caller is preemptible process context (never without `CONFIG_PREEMPT_COUNT`).
pub(crate) fn caller_is_preemptible() -> bool {
    // SAFETY: Reads the current context's preempt count and interrupt flag; no requirements.
    unsafe { xaccel_sched_preemptible() }
}

/// Creates the scheduler's workqueues; module init.
pub(crate) fn init() -> Result {
    // SAFETY: Called once, from module init, before any ring exists.
    to_result(unsafe { xaccel_sched_wq_init() })
}

/// Waits until no ring is left, then destroys the workqueues; module exit.
pub(crate) fn exit() {
    LIVE_RINGS.wait_zero();
    // SAFETY: `init` succeeded (module init failed otherwise) and no ring is left to queue work;
    // destroying the queue waits for work items still running.
    unsafe { xaccel_sched_wq_exit() };
}

/// How many rings exist; a snapshot.
pub fn live_rings() -> usize {
    usize::try_from(LIVE_RINGS.get()).unwrap_or(0)
}

/// Waits until every ring pass queued so far has run, and every job retired so far is freed.
pub fn flush() {
    kernel::task::might_sleep();
    // SAFETY: The queue is valid between module init and exit, and callers run in between.
    unsafe { xaccel_sched_wq_flush() };
}

/// The core's scheduler workqueue, for backends' engine work items too.
///
/// A backend that queues work here must [`flush`] it before its module can unload (from its
/// device data's drop, which runs after the rings stopped calling it), so that none of its code
/// runs afterwards.
pub fn engine_queue() -> &'static Queue {
    workqueue()
}

/// The scheduler's workqueue.
fn workqueue() -> &'static Queue {
    // SAFETY: Between module init and exit the queue is valid; rings, the only users, exist only
    // in between (exit waits for them).
    unsafe { Queue::from_raw(xaccel_sched_wq_get()) }
}

/// The queue of the rings' reaping work items (`Ring`'s retired batches).
fn reap_queue() -> &'static Queue {
    // SAFETY: As for `workqueue`.
    unsafe { Queue::from_raw(xaccel_reap_wq_get()) }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
mod mock;
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
mod tests_basic;
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
mod tests_recovery;
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
mod tests_stats;
