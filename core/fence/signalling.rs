// SPDX-License-Identifier: GPL-2.0-only

//! Fence signalling critical sections: `dma_fence_begin_signalling()`/`_end_signalling()`.
//!
//! Everything a fence's completion depends on, from the moment the fence is visible to others
//! until it is signalled, must be annotated, so that lockdep checks it against the cross-driver
//! contract (see `Documentation/driver-api/dma-buf.rst`, "fence signalling annotation"): no
//! `GFP_KERNEL` allocation, no `dma_resv` lock, no waiting on fences inside. The core's own
//! signalling paths ([`Fence::signal`] and friends, [`FenceContext::cancel_all`]) open one
//! themselves; an engine's completion thread or interrupt handler opens one around the whole
//! path that leads to signalling.
//!
//! [`Fence::signal`]: super::Fence::signal
//! [`FenceContext::cancel_all`]: super::FenceContext::cancel_all

#[cfg(CONFIG_LOCKDEP)]
use super::c_helpers::{xaccel_dma_fence_begin_signalling, xaccel_dma_fence_end_signalling};
use kernel::types::NotThreadSafe;

/// A fence signalling critical section, open while the value lives.
///
/// Sections nest freely and work in interrupt and process context (in atomic context the
/// annotation is a no-op, see `dma_fence_begin_signalling()`). The guard is not [`Send`]: a
/// section ends on the thread that began it.
///
/// # Examples
///
/// ```ignore
/// // An engine's completion path.
/// let _section = SignallingSection::begin();
/// let done = ring.retire_completed();
/// for job in done {
///     job.fence().signal()?;
/// }
/// ```
///
/// # Invariants
///
/// `cookie` is the value `dma_fence_begin_signalling()` returned on this thread, not yet passed
/// to `dma_fence_end_signalling()`.
#[must_use = "the section ends when the guard is dropped"]
pub struct SignallingSection {
    cookie: bool,
    _not_send: NotThreadSafe,
}

impl SignallingSection {
    /// Begins a section (`dma_fence_begin_signalling()`).
    ///
    /// Without `CONFIG_LOCKDEP` the annotation is empty and this calls nothing: it sits on every
    /// job's path, several times.
    pub fn begin() -> Self {
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: No requirements; the cookie is handed back to `dma_fence_end_signalling()` on
        // this thread by `drop`.
        let cookie = unsafe { xaccel_dma_fence_begin_signalling() };
        // What `dma_fence_begin_signalling()` returns without lockdep.
        #[cfg(not(CONFIG_LOCKDEP))]
        let cookie = true;
        // INVARIANT: `cookie` was just returned by `dma_fence_begin_signalling()`.
        Self {
            cookie,
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for SignallingSection {
    fn drop(&mut self) {
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: By the type invariant, `cookie` is the unused cookie of a section begun on this
        // thread (the guard is not `Send`).
        unsafe {
            xaccel_dma_fence_end_signalling(self.cookie)
        };
        #[cfg(not(CONFIG_LOCKDEP))]
        let _ = self.cookie;
    }
}
