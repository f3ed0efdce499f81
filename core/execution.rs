// SPDX-License-Identifier: GPL-2.0-only

//! A device's execution state: one scheduler ring per engine, and the door to the backend.
//!
//! The backend is reached through [`DeviceOps`], implemented by [`Adapter`] (generic, so
//! compiled into the backend module) around the backend's per-device data. Every path to it
//! is closed before the backend's data (and its module) can go, when a [`Registration`] drops:
//!
//! - validation ([`Execution::validate`]) is only reached from SUBMIT, inside a
//!   `drm_dev_enter()` section ([`Plugged`]), and `drm_dev_unplug()` waits for those sections
//!   and fails new ones before the backend's data drops; so it needs no lock and no reference;
//! - [`Execution::shutdown`], which the registration runs right after unplugging, shuts the
//!   rings down: they never call the backend again and every job's fence signals (`ENODEV`
//!   for those that had not completed).
//!
//! The rings themselves live as long as the device: contexts of files still open keep using
//! them (and get `ENODEV`).
//!
//! # Lock order
//!
//! The execution state has no lock of its own; the rings' are in `sched`.
//!
//! [`Registration`]: crate::Registration

use crate::{
    backend::{Backend, DeviceLayout},
    device::Plugged,
    fence::Timestamp,
    sched::{EngineOps, JobHandle, ResetDomain, Ring, RingConfig},
    submission::Submission,
    uapi,
};
use core::ptr::NonNull;
use kernel::{prelude::*, sync::Arc, time::Delta};

/// A job's timeout when SUBMIT gives none.
pub(crate) const DEFAULT_JOB_TIMEOUT: Delta = Delta::from_secs(10);

/// What the core calls in a backend besides the rings' [`EngineOps`].
pub(crate) trait DeviceOps: Send + Sync {
    /// [`Backend::validate`].
    fn validate(&self, submission: &mut Submission<'_>) -> Result<KVec<u8>>;
}

/// A backend's per-device data, as the core's rings and SUBMIT see it.
pub(crate) struct Adapter<B: Backend> {
    pub(crate) data: Pin<KBox<B::Device>>,
}

impl<B: Backend> EngineOps for Adapter<B> {
    fn run(&self, engine: u32, job: JobHandle) {
        B::run(&self.data, engine, job);
    }

    fn reset_engine(&self, engine: u32) -> Result {
        B::reset_engine(&self.data, engine)
    }

    fn reset_device(&self) -> Result {
        B::reset_device(&self.data)
    }

    fn set_deadline(&self, engine: u32, deadline: Timestamp) -> Result {
        B::set_deadline(&self.data, engine, deadline)
    }
}

impl<B: Backend> DeviceOps for Adapter<B> {
    fn validate(&self, submission: &mut Submission<'_>) -> Result<KVec<u8>> {
        B::validate(&self.data, submission)
    }
}

/// One device's rings and its door to the backend; see the module documentation.
///
/// # Invariants
///
/// `validator`, if set, points at the per-device data of the backend whose [`Registration`]
/// created this state, as its [`DeviceOps`]; the registration keeps that data until after the
/// device is unplugged, so it is valid inside any [`Plugged`] section of the device.
///
/// [`Registration`]: crate::Registration
pub(crate) struct Execution {
    rings: KVec<Arc<Ring>>,
    validator: Option<NonNull<dyn DeviceOps>>,
}

// SAFETY: The rings are `Send + Sync`; `validator` points at `Send + Sync` backend data
// (`DeviceOps: Send + Sync`) and is only dereferenced by `validate`, from any thread.
unsafe impl Send for Execution {}
// SAFETY: As above.
unsafe impl Sync for Execution {}

impl Execution {
    /// Creates a ring per engine of `layout`, all calling `backend`.
    pub(crate) fn new<B: Backend>(
        layout: &DeviceLayout,
        backend: &Arc<Adapter<B>>,
    ) -> Result<Arc<Self>> {
        let engine_ops: Arc<dyn EngineOps> = backend.clone();
        let validator: &dyn DeviceOps = &**backend;
        // INVARIANT: `backend` is the registration's: it keeps the data until after unplug.
        Self::build(layout, engine_ops, Some(NonNull::from(validator)))
    }

    /// The non-generic part of [`Execution::new`], so that the lock and its lockdep class are
    /// the core's alone, whatever the backend.
    fn build(
        layout: &DeviceLayout,
        engine_ops: Arc<dyn EngineOps>,
        validator: Option<NonNull<dyn DeviceOps>>,
    ) -> Result<Arc<Self>> {
        let mut rings = KVec::with_capacity(layout.engines.len(), GFP_KERNEL)?;
        for (engine, desc) in (0u32..).zip(layout.engines.iter()) {
            let config = RingConfig {
                engine,
                credit_limit: desc.ring_credits,
                default_timeout: DEFAULT_JOB_TIMEOUT,
                max_timeout: Delta::from_nanos(uapi::DRM_XACCEL_MAX_TIMEOUT_NS as i64),
            };
            rings.push(Ring::new(config, engine_ops.clone())?, GFP_KERNEL)?;
        }
        let execution = Arc::new(Self { rings, validator }, GFP_KERNEL)?;
        // A device reset affects every engine: it re-runs the innocent jobs of all rings. The
        // rings and their domain hold each other until `Execution::shutdown`.
        if let Err(e) = ResetDomain::join(&execution.rings) {
            execution.shutdown();
            return Err(e);
        }
        Ok(execution)
    }

    /// No rings and no backend: for devices made without a [`Registration`] (KUnit).
    ///
    /// [`Registration`]: crate::Registration
    #[cfg(CONFIG_XACCEL_KUNIT_TEST)]
    pub(crate) fn idle() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                rings: KVec::new(),
                validator: None,
            },
            GFP_KERNEL,
        )?)
    }

    /// The ring of `engine`.
    pub(crate) fn ring(&self, engine: u32) -> Option<&Arc<Ring>> {
        self.rings.get(usize::try_from(engine).ok()?)
    }

    /// The backend's validation of `submission` ([`Backend::validate`]), for SUBMIT on the
    /// device `plugged` holds; `ENODEV` for another device or one without a backend (KUnit).
    pub(crate) fn validate(
        &self,
        plugged: &Plugged<'_>,
        submission: &mut Submission<'_>,
    ) -> Result<KVec<u8>> {
        if !core::ptr::eq(&*plugged.dev.exec, self) {
            return Err(ENODEV);
        }
        let validator = self.validator.ok_or(ENODEV)?;
        // SAFETY: `plugged` is a section of the device this state belongs to (checked above),
        // so the backend's data is alive for its duration (type invariant).
        unsafe { validator.as_ref() }.validate(submission)
    }

    /// Resets performed by all rings.
    pub(crate) fn resets(&self) -> u64 {
        self.rings.iter().map(|r| r.reset_count()).sum()
    }

    /// Stops every call into the backend from the rings; see the module documentation. Runs
    /// after the device is unplugged (or was never registered). Sleeps.
    pub(crate) fn shutdown(&self) {
        for ring in self.rings.iter() {
            ring.shutdown();
        }
    }
}
