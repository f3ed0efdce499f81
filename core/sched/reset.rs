// SPDX-License-Identifier: GPL-2.0-only

//! Timeout recovery: engine resets, and device resets across every ring of a device.
//!
//! [`Ring::recover`] runs in a ring's work item, under the ring's lock, when its oldest job is
//! past its timeout. It makes the handles of every running job of the ring stale, asks the
//! backend to reset the engine, completes the timed-out job with `ETIME`, marks its entity
//! guilty (its other jobs complete with `ECANCELED`, and it refuses new ones with `EIO`) and
//! hands the other running jobs to the backend again, in order.
//!
//! When the engine reset fails, the backend resets the whole device, and that wipes every
//! engine's jobs, not only the hung one's. The rings of a device form a [`ResetDomain`]; a ring
//! in one ([`Ring::recover`] returns it) resets the device through it after releasing its own
//! lock ([`ResetDomain::reset_device`]):
//!
//! 1. every ring is **frozen** (nothing is dispatched) and the handles of its running jobs are
//!    made stale, so that the reset wiping them completes nothing;
//! 2. the backend resets the device (under the originating ring's lock, like every call);
//! 3. the guilty context's running jobs complete (the timed-out one with `ETIME`, the others
//!    with `ECANCELED`): only now, since until the reset the hung engine could still reach
//!    their memory; every ring hands its other running jobs, all innocent, to the backend
//!    again in their order (or completes them with `EIO` if the device reset failed too),
//!    thaws and runs a pass.
//!
//! Rings outside a domain (KUnit rigs, the benchmark) reset the device in place instead, and
//! only re-run their own jobs.
//!
//! # Lock order
//!
//! [`ResetDomain::rings`] (a mutex, process context) is taken before any ring's lock, and
//! ring locks are taken one at a time under it. Device resets of one device are serialised by
//! it.
//!
//! # Lifetime
//!
//! A domain holds its rings and each ring holds its domain until [`Ring::shutdown`] takes it
//! out: the cycle is broken when the device's rings shut down, which every device does.

use super::{
    entity::{cancel_queued, EntityState},
    job::{Job, JobHandle},
    ring::{Ring, RingState},
};
use crate::fence::SignallingSection;
use kernel::{
    list::List,
    new_mutex,
    prelude::*,
    sync::{atomic::Relaxed, Arc, Mutex},
    time::{Instant, Monotonic},
};

/// The rings of one device, which a device reset affects together.
#[pin_data]
pub struct ResetDomain {
    #[pin]
    rings: Mutex<KVec<Arc<Ring>>>,
}

impl ResetDomain {
    /// Makes `rings` one domain: a device reset after any of them times out re-runs the
    /// running jobs of all of them.
    pub fn join(rings: &[Arc<Ring>]) -> Result {
        let mut list = KVec::with_capacity(rings.len(), GFP_KERNEL)?;
        for ring in rings {
            list.push(ring.clone(), GFP_KERNEL)?;
        }
        let domain = Arc::pin_init(
            pin_init!(Self {
                rings <- new_mutex!(list, "xaccel_reset_domain"),
            }),
            GFP_KERNEL,
        )?;
        for ring in rings {
            ring.state.lock().domain = Some(domain.clone());
        }
        Ok(())
    }

    /// Resets the device after `origin`'s engine reset failed; see the module documentation.
    /// Process context (the work item of `origin`).
    pub(super) fn reset_device(&self, origin: &Arc<Ring>) {
        let rings = self.rings.lock();
        for ring in rings.iter() {
            ring.freeze();
        }
        let result = origin.reset_whole_device();
        pr_warn!(
            "xaccel: device reset after engine {} timed out: {}\n",
            origin.engine(),
            if result.is_ok() { "done" } else { "failed" }
        );
        for ring in rings.iter() {
            ring.thaw(result.is_ok());
        }
    }
}

impl Ring {
    /// Timeout recovery of the oldest running job; see the module documentation. Returns the
    /// domain whose device must be reset when the engine reset failed (the survivors are then
    /// left to [`ResetDomain::reset_device`]).
    pub(super) fn recover(
        self: &Arc<Self>,
        state: &mut RingState,
        retired: &mut List<Job>,
    ) -> Option<Arc<ResetDomain>> {
        let backend = state.backend.clone()?;
        let guilty = state.running.iter().next().map(|j| j.entity.clone())?;
        for job in state.running.iter() {
            job.bump_generation();
        }
        let mut reset = backend.reset_engine(self.config.engine);
        let device_wide = if reset.is_err() {
            state.domain.clone()
        } else {
            None
        };
        if reset.is_err() && device_wide.is_none() {
            reset = backend.reset_device();
        }
        self.resets.fetch_add(1, Relaxed);
        if let Some(head) = state.running.iter().next() {
            pr_warn!(
                "xaccel: engine {} job {} timed out after {} ms; reset {}\n",
                self.config.engine,
                head.seqno(),
                head.timeout.as_millis(),
                match (&device_wide, &reset) {
                    (Some(_), _) => "of the device follows",
                    (None, Ok(())) => "done",
                    (None, Err(_)) => "failed",
                }
            );
            // Before a device reset the hung engine may still reach the job's memory: its
            // fence signals once the device was reset ([`Ring::thaw`]).
            if device_wide.is_none() {
                head.finish(Err(ETIME), true);
            }
        }
        let queued = guilty.stop(EntityState::Guilty);
        if device_wide.is_none() {
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
        }
        cancel_queued(queued, ECANCELED);
        self.retire(state, retired);
        if device_wide.is_none() {
            self.rerun(state);
        }
        device_wide
    }

    /// Hands every running job to the backend again, in order, with fresh handles.
    fn rerun(&self, state: &mut RingState) {
        let Some(backend) = state.backend.clone() else {
            return;
        };
        state.head_since = Instant::<Monotonic>::now();
        let mut cursor = state.running.cursor_front();
        while let Some(peek) = cursor.peek_next() {
            if let Some(handle) = JobHandle::new(peek.arc().into()) {
                backend.run(self.config.engine, handle);
            }
            cursor.move_next();
        }
    }

    /// Device reset, step 1: no more dispatching, and the running jobs' handles go stale.
    fn freeze(&self) {
        let mut state = self.state.lock();
        state.frozen = true;
        for job in state.running.iter() {
            job.bump_generation();
        }
    }

    /// Device reset, step 2: the backend's device reset (`ENODEV` once shut down).
    fn reset_whole_device(&self) -> Result {
        let _section = SignallingSection::begin();
        let state = self.state.lock();
        state.backend.as_ref().ok_or(ENODEV)?.reset_device()
    }

    /// Device reset, step 3: the running jobs run again (`ok`) or fail with `EIO`; dispatching
    /// resumes.
    fn thaw(self: &Arc<Self>, ok: bool) {
        let mut retired = List::new();
        {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            state.frozen = false;
            // The guilty context's running jobs (on the ring whose job timed out) complete
            // now that the device was reset: the oldest, which timed out, with `ETIME`.
            let mut timed_out = true;
            for job in state.running.iter() {
                if job.entity.is_guilty() && !job.is_done() {
                    job.finish(Err(if timed_out { ETIME } else { ECANCELED }), true);
                    timed_out = false;
                }
            }
            self.retire(&mut state, &mut retired);
            if ok {
                self.rerun(&mut state);
            } else {
                for job in state.running.iter() {
                    job.finish(Err(EIO), true);
                }
                self.retire(&mut state, &mut retired);
            }
        }
        drop(retired);
        self.pump();
    }
}
