// SPDX-License-Identifier: GPL-2.0-only

//! Timeout recovery: engine resets, and device resets across every ring of a device.
//!
//! [`Ring::recover_if_due`] runs in a ring's work item when its oldest job is past its timeout.
//! Under the ring's lock it makes the handles of every running job of the ring stale and
//! freezes the ring (nothing is dispatched); then, without the lock, it asks the backend to
//! reset the engine, which may sleep (a reset that waits for the hardware is the common case);
//! then, under the lock again, it completes the timed-out job with `ETIME`, marks its entity
//! guilty (its other jobs complete with `ECANCELED`, and it refuses new ones with `EIO`), hands
//! the other running jobs to the backend again, in order, and thaws the ring. Completions that
//! arrive meanwhile come through stale handles and do nothing.
//!
//! When the engine reset fails, the backend resets the whole device, and that wipes every
//! engine's jobs, not only the hung one's. The rings of a device form a [`ResetDomain`]; a ring
//! in one resets the device through it after its own recovery ([`ResetDomain::reset_device`]):
//!
//! 1. every ring is **frozen** (nothing is dispatched) and the handles of its running jobs are
//!    made stale, so that the reset wiping them completes nothing;
//! 2. the backend resets the device, without any ring's lock (it may sleep);
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
//! [`ResetDomain::rings`] (a mutex, process context), then a ring's `reset_backend` (a mutex,
//! held for a whole reset; [`Ring::shutdown`] takes the backend out of it, so it waits for a
//! reset in progress and none starts afterwards), then the ring's state (a spinlock). Ring
//! locks are taken one at a time under the domain's. Device resets of one device are
//! serialised by it. The backend's reset callbacks run inside a fence signalling section:
//! they may sleep, but not allocate with `GFP_KERNEL` or wait for fences.
//!
//! # Lifetime
//!
//! A domain holds its rings and each ring holds its domain until [`Ring::shutdown`] takes it
//! out: the cycle is broken when the device's rings shut down, which every device does.

use super::{
    entity::{cancel_queued, EntityCore, EntityState},
    job::{Job, JobHandle},
    ring::{Ring, RingState},
};
use crate::fence::SignallingSection;
use kernel::{
    list::List,
    new_mutex,
    prelude::*,
    sync::{atomic::Relaxed, Arc, Mutex},
    time::{Delta, Instant, Monotonic},
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
    /// Timeout recovery, if the oldest running job is past its deadline; from the ring's work
    /// item (process context). See the module documentation.
    pub(super) fn recover_if_due(self: &Arc<Self>) {
        // Held for the whole recovery: `shutdown` waits for it, and takes the backend out.
        let reset_backend = self.reset_backend.lock();
        let Some(backend) = reset_backend.as_ref() else {
            return;
        };
        // Step 1, under the ring's lock: the running jobs' handles go stale, nothing is
        // dispatched, and the guilty entity is the oldest job's.
        let (guilty, domain) = {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            if Self::deadline(&state).is_none_or(|d| d - Instant::now() > Delta::ZERO) {
                return;
            }
            let Some(guilty) = state.running.iter().next().map(|j| j.entity.clone()) else {
                return;
            };
            for job in state.running.iter() {
                job.bump_generation();
            }
            state.frozen += 1;
            (guilty, state.domain.clone())
        };
        // Step 2, without the ring's lock: the backend may sleep while it resets. The device
        // reset follows here for a ring outside a domain, through the domain otherwise.
        let (reset, device_wide) = {
            let _section = SignallingSection::begin();
            match backend.reset_engine(self.config.engine) {
                Ok(()) => (Ok(()), None),
                Err(e) if domain.is_some() => (Err(e), domain),
                Err(_) => (backend.reset_device(), None),
            }
        };
        self.resets.fetch_add(1, Relaxed);
        // Step 3, under the ring's lock again.
        let mut retired = List::new();
        {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            self.settle_recovery(
                &mut state,
                &mut retired,
                &guilty,
                &reset,
                device_wide.is_some(),
            );
        }
        drop(retired);
        drop(reset_backend);
        // The engine reset failed: the whole device is reset, for every ring of it.
        if let Some(domain) = device_wide {
            domain.reset_device(self);
        }
    }

    /// Recovery, step 3: completes the timed-out job with `ETIME` and the guilty entity's
    /// other jobs with `ECANCELED` (unless a device reset follows: then they complete once it
    /// is done, [`Ring::thaw`]), the innocent ones with `EIO` if no reset worked, and hands the
    /// rest to the backend again.
    fn settle_recovery(
        &self,
        state: &mut RingState,
        retired: &mut List<Job>,
        guilty: &Arc<EntityCore>,
        reset: &Result,
        device_wide: bool,
    ) {
        state.frozen -= 1;
        if let Some(head) = state.running.iter().next() {
            pr_warn!(
                "xaccel: engine {} job {} timed out after {} ms; reset {}\n",
                self.config.engine,
                head.seqno(),
                head.timeout.as_millis(),
                match (device_wide, reset) {
                    (true, _) => "of the device follows",
                    (false, Ok(())) => "done",
                    (false, Err(_)) => "failed",
                }
            );
            // Before a device reset the hung engine may still reach the job's memory: its
            // fence signals once the device was reset ([`Ring::thaw`]).
            if !device_wide {
                head.finish(Err(ETIME), true);
            }
        }
        let queued = guilty.stop(EntityState::Guilty);
        if !device_wide {
            for job in state.running.iter() {
                if job.is_done() {
                    continue;
                }
                if core::ptr::eq(&*job.entity, &**guilty) {
                    job.finish(Err(ECANCELED), true);
                } else if reset.is_err() {
                    job.finish(Err(EIO), true);
                }
            }
        }
        cancel_queued(queued, ECANCELED);
        self.retire(state, retired);
        if !device_wide {
            self.rerun(state);
        }
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
        state.frozen += 1;
        for job in state.running.iter() {
            job.bump_generation();
        }
    }

    /// Device reset, step 2: the backend's device reset, without the ring's lock (the backend
    /// may sleep); `ENODEV` once shut down.
    fn reset_whole_device(&self) -> Result {
        let reset_backend = self.reset_backend.lock();
        let _section = SignallingSection::begin();
        reset_backend.as_ref().ok_or(ENODEV)?.reset_device()
    }

    /// Device reset, step 3: the running jobs run again (`ok`) or fail with `EIO`; dispatching
    /// resumes.
    fn thaw(self: &Arc<Self>, ok: bool) {
        let mut retired = List::new();
        {
            let _section = SignallingSection::begin();
            let mut state = self.state.lock();
            state.frozen -= 1;
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
