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
//! A file's [`Contexts`] mutex is taken alone: entities are created before and dropped after it
//! is held.

use crate::{
    device::Plugged,
    file::DrmFile,
    sched::{Entity, Priority},
    uapi,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
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
pub(crate) type Contexts = Mutex<ContextTable>;

/// An empty table, for a new file.
pub(crate) fn new_contexts() -> impl PinInit<Contexts> {
    new_mutex!(
        ContextTable {
            last_id: 0,
            entries: KVec::new(),
        },
        "xaccel_file_contexts"
    )
}

impl ContextTable {
    /// The context `id`: `ENOENT` if this file has none.
    pub(crate) fn get(&self, id: u32) -> Result<Arc<Entity>> {
        self.entries
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, e)| e.clone())
            .ok_or(ENOENT)
    }

    fn insert(&mut self, entity: Arc<Entity>) -> Result<u32> {
        if self.entries.len() >= uapi::DRM_XACCEL_MAX_CONTEXTS as usize {
            return Err(ENOSPC);
        }
        let id = self.last_id.checked_add(1).ok_or(ENOSPC)?;
        self.entries.push((id, entity), GFP_KERNEL)?;
        self.last_id = id;
        Ok(id)
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
    let id = file.state().contexts().lock().insert(entity)?;
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
