// SPDX-License-Identifier: GPL-2.0-only

//! Deadline hints: from `dma_fence_set_deadline()` on a job's finished fence to the backend.
//!
//! Each entity's fence context has an [`EntityDeadlines`] hook. A waiter's hint (a syncobj wait
//! with a deadline, `SYNC_IOC_SET_DEADLINE` on an exported sync_file, another driver) reaches it
//! in any context, under other drivers' locks: it only records the deadline in its ring's
//! [`PendingDeadline`] (keeping the earliest) and wakes the ring's work item. The next pass hands
//! the earliest pending deadline to the backend ([`EngineOps::set_deadline`]) under the ring's
//! lock, like every other call into the backend, so a hint can never reach a backend that has
//! gone: it is dropped instead.
//!
//! [`EngineOps::set_deadline`]: super::EngineOps::set_deadline

use super::Ring;
use crate::fence::{DeadlineHook, Timestamp};
use kernel::sync::{
    atomic::{Atomic, Full, Relaxed},
    Arc,
};

/// The earliest deadline not yet handed to the backend.
pub(super) struct PendingDeadline(Atomic<i64>);

impl PendingDeadline {
    /// No deadline pending.
    const NONE: i64 = i64::MAX;

    pub(super) const fn new() -> Self {
        Self(Atomic::new(Self::NONE))
    }

    /// Records `deadline` unless an earlier one is pending.
    pub(super) fn offer(&self, deadline: Timestamp) {
        let ns = deadline.as_nanos().min(Self::NONE - 1);
        let mut current = self.0.load(Relaxed);
        while ns < current {
            match self.0.cmpxchg(current, ns, Full) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
    }

    /// Takes the pending deadline, if any.
    pub(super) fn take(&self) -> Option<Timestamp> {
        match self.0.xchg(Self::NONE, Full) {
            Self::NONE => None,
            ns => Some(Timestamp::from_nanos(ns)),
        }
    }
}

/// The [`DeadlineHook`] of an entity's fence context: forwards hints to the entity's ring.
pub(super) struct EntityDeadlines {
    pub(super) ring: Arc<Ring>,
}

impl DeadlineHook for EntityDeadlines {
    fn set_deadline(&self, _seqno: u64, deadline: Timestamp) {
        self.ring.offer_deadline(deadline);
    }
}
