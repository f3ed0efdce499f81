// SPDX-License-Identifier: GPL-2.0-only

//! What the scheduler counts for debugfs and fdinfo: per-ring job counters and per-client busy
//! clocks.
//!
//! - [`RingStats`]: jobs queued, running and completed on one ring, the last error a job
//!   completed with, and the deadline hints the backend took. Updated with relaxed atomics on
//!   the job paths (push, dispatch, completion); read as a [`RingSnapshot`], which is only a
//!   snapshot (the counters move while it is taken).
//! - [`BusyClock`]: how long a client (an open file) had work running on one engine: the time
//!   during which at least one of its jobs was dispatched and not done, whatever the number of
//!   its jobs or contexts on the engine. fdinfo prints it as `drm-engine-<engine>`.
//!
//! # Lock order
//!
//! [`BusyClock::inner`] is innermost and irq-safe: it is taken on the dispatch and completion
//! paths (under the ring's lock, or in a completion's context) and takes nothing.

use crate::fence::Timestamp;
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, SpinLockIrq,
    },
    time::{Delta, Instant, Monotonic},
};

/// One ring's job counters; see the module documentation.
pub(crate) struct RingStats {
    queued: Atomic<u64>,
    running: Atomic<u64>,
    completed: Atomic<u64>,
    failed: Atomic<u64>,
    last_error: Atomic<i32>,
    deadlines: Atomic<u64>,
    last_deadline: Atomic<i64>,
    /// Batches of retired jobs handed to the ring's reaping work item (for tests).
    reap_batches: Atomic<u64>,
}

/// A snapshot of one ring's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingSnapshot {
    /// Jobs queued on the ring's entities, not dispatched yet.
    pub queued: u64,
    /// Jobs handed to the backend, not done yet.
    pub running: u64,
    /// Jobs done, whatever their result (cancelled ones included).
    pub completed: u64,
    /// Jobs done with an error.
    pub failed: u64,
    /// The (negative) errno of the last job done with an error, 0 if none was.
    pub last_error: i32,
    /// Engine resets the ring performed after timeouts.
    pub resets: u64,
    /// Deadline hints the backend took.
    pub deadlines: u64,
    /// The last deadline hint the backend took (`CLOCK_MONOTONIC` ns), 0 if none.
    pub last_deadline_ns: i64,
}

impl RingStats {
    pub(super) const fn new() -> Self {
        Self {
            queued: Atomic::new(0),
            running: Atomic::new(0),
            completed: Atomic::new(0),
            failed: Atomic::new(0),
            last_error: Atomic::new(0),
            deadlines: Atomic::new(0),
            last_deadline: Atomic::new(0),
            reap_batches: Atomic::new(0),
        }
    }

    /// A batch of retired jobs went to the reaping work item.
    pub(super) fn reap_batch(&self) {
        self.reap_batches.add(1, Relaxed);
    }

    /// Batches of retired jobs handed to the reaping work item so far.
    #[cfg(CONFIG_XACCEL_KUNIT_TEST)]
    pub(super) fn reap_batches(&self) -> u64 {
        self.reap_batches.load(Relaxed)
    }

    /// A job was queued on one of the ring's entities.
    pub(super) fn queued(&self) {
        self.queued.add(1, Relaxed);
    }

    /// A queued job was handed to the backend.
    pub(super) fn dispatched(&self) {
        let _ = self.queued.fetch_sub(1, Relaxed);
        self.running.add(1, Relaxed);
    }

    /// A job is done: it had been dispatched (`was_running`) or was still queued.
    pub(super) fn done(&self, was_running: bool, result: Result) {
        if was_running {
            let _ = self.running.fetch_sub(1, Relaxed);
        } else {
            let _ = self.queued.fetch_sub(1, Relaxed);
        }
        self.completed.add(1, Relaxed);
        if let Err(e) = result {
            self.failed.add(1, Relaxed);
            self.last_error.store(e.to_errno(), Relaxed);
        }
    }

    /// The backend took a deadline hint.
    pub(super) fn deadline_taken(&self, deadline: Timestamp) {
        self.deadlines.add(1, Relaxed);
        self.last_deadline.store(deadline.as_nanos(), Relaxed);
    }

    /// The counters now, with the ring's reset count.
    pub(super) fn snapshot(&self, resets: u64) -> RingSnapshot {
        RingSnapshot {
            queued: self.queued.load(Relaxed),
            running: self.running.load(Relaxed),
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            last_error: self.last_error.load(Relaxed),
            resets,
            deadlines: self.deadlines.load(Relaxed),
            last_deadline_ns: self.last_deadline.load(Relaxed),
        }
    }
}

/// What [`BusyClock::inner`] protects.
struct BusyState {
    /// The client's jobs running on the engine now.
    running: u32,
    /// When `running` last went from 0 to 1.
    since: Instant<Monotonic>,
    /// Busy time of the intervals that ended.
    total: Delta,
}

/// How long one client kept one engine busy; see the module documentation.
#[pin_data]
pub struct BusyClock {
    #[pin]
    inner: SpinLockIrq<BusyState>,
}

impl BusyClock {
    /// A stopped clock at zero.
    pub fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                inner <- new_spinlock_irq!(
                    BusyState {
                        running: 0,
                        since: Instant::now(),
                        total: Delta::ZERO,
                    },
                    "xaccel_busy_clock"
                ),
            }),
            GFP_KERNEL,
        )
    }

    /// One of the client's jobs was dispatched.
    pub(super) fn start(&self) {
        let mut state = self.inner.lock();
        if state.running == 0 {
            state.since = Instant::now();
        }
        state.running += 1;
    }

    /// One of the client's dispatched jobs is done.
    pub(super) fn stop(&self) {
        let mut state = self.inner.lock();
        state.running = state.running.saturating_sub(1);
        if state.running == 0 {
            state.total = state.total + state.since.elapsed();
        }
    }

    /// The busy time so far, the running interval included; never decreases.
    pub fn busy(&self) -> Delta {
        let state = self.inner.lock();
        if state.running > 0 {
            state.total + state.since.elapsed()
        } else {
            state.total
        }
    }
}
