// SPDX-License-Identifier: GPL-2.0-only

//! Contexts: a file's scheduler entities, and `CONTEXT_CREATE`/`CONTEXT_DESTROY`.
//!
//! A context is an [`Entity`] on one engine's ring, owned by the file's [`Contexts`] table and
//! found by its id. SUBMIT holds its own reference for the duration of the call, so destroying
//! a context while another thread submits on it is safe: the entity is torn down (queued jobs
//! cancelled after the running ones finish) when the last reference goes. Closing the file
//! tears down every context the same way, in `postclose`.
//!
//! # Lock order
//!
//! A file's [`Contexts`] spinlock is taken alone: entities are created before and dropped after
//! it is held, and the table grows outside it. SUBMIT takes it once, to look its context up.

use crate::{
    device::Plugged,
    file::DrmFile,
    sched::{Entity, Priority},
    uapi,
};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{Arc, SpinLock},
};

extern "C" {
    /// `capable(CAP_SYS_NICE)` for the current task.
    fn xaccel_capable_sys_nice() -> bool;
}

/// A file's contexts, by id.
pub(crate) struct ContextTable {
    /// The last id handed out; ids are never reused within a file.
    last_id: u32,
    entries: KVec<(u32, Arc<Entity>)>,
}

/// A file's context table behind its lock.
pub(crate) type Contexts = SpinLock<ContextTable>;

/// An empty table, for a new file.
pub(crate) fn new_contexts() -> impl PinInit<Contexts> {
    new_spinlock!(
        ContextTable {
            last_id: 0,
            entries: KVec::new(),
        },
        "xaccel_file_contexts"
    )
}

/// Adds `entity` to `contexts` under a new id; the table grows outside the lock. On failure
/// (`ENOSPC` past `DRM_XACCEL_MAX_CONTEXTS` or when ids run out, `ENOMEM`) the entity is
/// dropped after the lock is released, since tearing it down sleeps.
fn insert(contexts: &Contexts, entity: Arc<Entity>) -> Result<u32> {
    loop {
        let len = {
            let mut table = contexts.lock();
            if table.entries.len() < table.entries.capacity()
                || table.entries.len() >= uapi::DRM_XACCEL_MAX_CONTEXTS as usize
            {
                let inserted = table.insert(entity);
                drop(table);
                return inserted.map_err(|(e, _entity)| e);
            }
            table.entries.len()
        };
        let room = (len + 1)
            .max(4)
            .saturating_mul(2)
            .min(uapi::DRM_XACCEL_MAX_CONTEXTS as usize);
        let mut bigger = KVec::with_capacity(room, GFP_KERNEL)?;
        let mut table = contexts.lock();
        if bigger.capacity() > table.entries.len() {
            for entry in table.entries.drain_all() {
                // Cannot fail: the capacity was checked just above.
                let _ = bigger.push_within_capacity(entry);
            }
            // The old vector is empty now: freeing it drops no entity.
            drop(core::mem::replace(&mut table.entries, bigger));
        }
    }
}

impl ContextTable {
    /// How many contexts the file holds (fdinfo `xaccel-contexts`).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The context `id`: `ENOENT` if this file has none.
    pub(crate) fn get(&self, id: u32) -> Result<Arc<Entity>> {
        self.entries
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, e)| e.clone())
            .ok_or(ENOENT)
    }

    /// Adds `entity` under a new id without allocating; on failure, gives the entity back so
    /// that it is not dropped under the lock.
    fn insert(&mut self, entity: Arc<Entity>) -> core::result::Result<u32, (Error, Arc<Entity>)> {
        if self.entries.len() >= uapi::DRM_XACCEL_MAX_CONTEXTS as usize {
            return Err((ENOSPC, entity));
        }
        let Some(id) = self.last_id.checked_add(1) else {
            return Err((ENOSPC, entity));
        };
        match self.entries.push_within_capacity((id, entity)) {
            Ok(()) => {
                self.last_id = id;
                Ok(id)
            }
            Err(full) => Err((ENOMEM, full.0 .1)),
        }
    }

    fn remove(&mut self, id: u32) -> Result<Arc<Entity>> {
        let index = self
            .entries
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(ENOENT)?;
        Ok(self.entries.remove(index).map_err(|_| ENOENT)?.1)
    }
}

/// The priority of a uAPI value: `EINVAL` if unknown, `EPERM` for realtime without
/// `CAP_SYS_NICE`.
fn priority(value: u32) -> Result<Priority> {
    let priority = match value {
        uapi::DRM_XACCEL_PRIORITY_LOW => Priority::Low,
        uapi::DRM_XACCEL_PRIORITY_NORMAL => Priority::Normal,
        uapi::DRM_XACCEL_PRIORITY_HIGH => Priority::High,
        uapi::DRM_XACCEL_PRIORITY_REALTIME => Priority::Realtime,
        _ => return Err(EINVAL),
    };
    // SAFETY: No requirements; checks the current task's credentials.
    if priority == Priority::Realtime && !unsafe { xaccel_capable_sys_nice() } {
        return Err(EPERM);
    }
    Ok(priority)
}

/// `DRM_IOCTL_XACCEL_CONTEXT_CREATE`.
pub(crate) fn context_create(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    arg: &mut uapi::drm_xaccel_context_create,
) -> Result<u32> {
    if arg.flags != 0 || arg.reserved != 0 {
        return Err(EINVAL);
    }
    let priority = priority(arg.priority)?;
    let ring = plugged.dev.exec.ring(arg.engine).ok_or(EINVAL)?;
    let busy = file.state().engine_busy(arg.engine).cloned();
    let entity = Arc::new(
        Entity::with_busy_clock(ring, priority, c"context", busy)?,
        GFP_KERNEL,
    )?;
    // Bounds what one file can make the kernel hold: jobs waiting on a fence that never
    // signals (a sw_sync fence nobody increments) would otherwise pile up without end.
    entity.limit_queue(uapi::DRM_XACCEL_MAX_QUEUED_JOBS);
    let id = insert(file.state().contexts(), entity)?;
    arg.context_id = id;
    Ok(0)
}

/// `DRM_IOCTL_XACCEL_CONTEXT_DESTROY`.
pub(crate) fn context_destroy(
    _plugged: &Plugged<'_>,
    file: &DrmFile,
    arg: &mut uapi::drm_xaccel_context_destroy,
) -> Result<u32> {
    if arg.pad != 0 {
        return Err(EINVAL);
    }
    let entity = file.state().contexts().lock().remove(arg.context_id)?;
    // Outside the lock: tearing the entity down waits for its running jobs.
    drop(entity);
    Ok(0)
}
