// SPDX-License-Identifier: GPL-2.0-only

//! A device's execution state: one scheduler ring per engine, and the door to the backend.
//!
//! The backend is reached through [`DeviceOps`], implemented by [`Adapter`] (generic, so
//! compiled into the backend module) around the backend's per-device data. Every path to it
//! is closed by [`Execution::shutdown`], which a [`Registration`] runs when it drops, right
//! after unplugging the device and before the backend's data (and its module) can go:
//!
//! - the rings are shut down: they never call the backend again and every job's fence
//!   signals (`ENODEV` for those that had not completed);
//! - the validation door is closed: SUBMIT gets `ENODEV` (it is also inside `drm_dev_enter()`,
//!   which the unplug already closed).
//!
//! The rings themselves live as long as the device: contexts of files still open keep using
//! them (and get `ENODEV`).
//!
//! # Lock order
//!
//! [`Execution::ops`] is a spinlock held only to clone or take the `Arc`; it nests inside
//! nothing and nothing nests inside it.
//!
//! [`Registration`]: crate::Registration

use crate::{
    backend::{Backend, DeviceLayout},
    fence::Timestamp,
    sched::{EngineOps, JobHandle, ResetDomain, Ring, RingConfig},
    submission::Submission,
    uapi,
};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{Arc, SpinLock},
    time::Delta,
};

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
#[pin_data]
pub(crate) struct Execution {
    rings: KVec<Arc<Ring>>,
    /// `None` once shut down.
    #[pin]
    ops: SpinLock<Option<Arc<dyn DeviceOps>>>,
}

impl Execution {
    /// Creates a ring per engine of `layout`, all calling `backend`.
    pub(crate) fn new<B: Backend>(
        layout: &DeviceLayout,
        backend: &Arc<Adapter<B>>,
    ) -> Result<Arc<Self>> {
        let engine_ops: Arc<dyn EngineOps> = backend.clone();
        let ops: Arc<dyn DeviceOps> = backend.clone();
        Self::build(layout, engine_ops, Some(ops))
    }

    /// The non-generic part of [`Execution::new`], so that the lock and its lockdep class are
    /// the core's alone, whatever the backend.
    fn build(
        layout: &DeviceLayout,
        engine_ops: Arc<dyn EngineOps>,
        ops: Option<Arc<dyn DeviceOps>>,
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
        let execution = Arc::pin_init(
            pin_init!(Self {
                rings,
                ops <- new_spinlock!(ops, "xaccel_execution_ops"),
            }),
            GFP_KERNEL,
        )?;
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
        Arc::pin_init(
            pin_init!(Self {
                rings: KVec::new(),
                ops <- new_spinlock!(None, "xaccel_execution_ops_idle"),
            }),
            GFP_KERNEL,
        )
    }

    /// The ring of `engine`.
    pub(crate) fn ring(&self, engine: u32) -> Option<&Arc<Ring>> {
        self.rings.get(usize::try_from(engine).ok()?)
    }

    /// The backend's validation, until shutdown (`ENODEV` after).
    pub(crate) fn ops(&self) -> Result<Arc<dyn DeviceOps>> {
        self.ops.lock().clone().ok_or(ENODEV)
    }

    /// Resets performed by all rings.
    pub(crate) fn resets(&self) -> u64 {
        self.rings.iter().map(|r| r.reset_count()).sum()
    }

    /// Stops every call into the backend; see the module documentation. Sleeps.
    pub(crate) fn shutdown(&self) {
        for ring in self.rings.iter() {
            ring.shutdown();
        }
        let ops = self.ops.lock().take();
        drop(ops);
    }
}
