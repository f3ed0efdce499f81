// SPDX-License-Identifier: GPL-2.0-only

//! [`DmaFence`]: any `struct dma_fence`, ours or another driver's.
//!
//! The scheduler's job dependencies, the fences in a shared buffer's `dma_resv`, a syncobj's or
//! a sync_file's fence: they come from anywhere, so this type only uses the generic dma-fence
//! API. It never signals: only a fence's creator may (ours do through [`Fence`]). An
//! `ARef<DmaFence>` holds one reference (`dma_fence_get()`/`dma_fence_put()`).
//!
//! [`Fence`]: super::Fence

use super::{c_helpers, Timestamp};
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    str::CStr,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        rcu,
    },
    task::MAX_SCHEDULE_TIMEOUT,
    time::{msecs_to_jiffies, Delta},
    types::Opaque,
};

/// A reference-counted handle's target: any `struct dma_fence`.
///
/// Hold it as `ARef<DmaFence>`; a `&DmaFence` is valid as long as some reference is held.
///
/// # Invariants
///
/// The wrapped `dma_fence` was initialised by `dma_fence_init()` (or `_init64()`) and its
/// reference count is non-zero while a `&DmaFence` exists.
#[repr(transparent)]
pub struct DmaFence(Opaque<bindings::dma_fence>);

// SAFETY: `struct dma_fence` is designed for use from any thread: its state changes under its
// lock or with atomic bit operations, and its reference count is atomic.
unsafe impl Send for DmaFence {}
// SAFETY: As above; every method takes `&self` and goes through the C API.
unsafe impl Sync for DmaFence {}

// SAFETY: `dma_fence_get()`/`dma_fence_put()` manage the fence's reference count; the memory is
// only released (by its ops' `release` or `dma_fence_free()`) when the count reaches zero.
unsafe impl AlwaysRefCounted for DmaFence {
    fn inc_ref(&self) {
        // SAFETY: A shared reference proves the count is non-zero (type invariant).
        unsafe { c_helpers::xaccel_dma_fence_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns to a live fence.
        unsafe { c_helpers::xaccel_dma_fence_put(obj.as_ref().as_raw()) };
    }
}

/// How [`DmaFence::wait`] sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// A signal interrupts the wait with `ERESTARTSYS`.
    Interruptible,
    /// Only the fence or the timeout ends the wait.
    Uninterruptible,
}

impl DmaFence {
    /// Borrows a fence from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `dma_fence` on which the caller holds (directly or
    /// indirectly) a reference for all of `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_fence) -> &'a Self {
        // SAFETY: `Self` is a transparent wrapper of `dma_fence`; the caller guarantees validity
        // for `'a`, which establishes the type invariant.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Takes over a reference the caller owns, e.g. one a C API returned.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `dma_fence` and the caller owns one reference to it, which
    /// the returned `ARef` drops.
    pub unsafe fn from_raw_owned(ptr: NonNull<bindings::dma_fence>) -> ARef<Self> {
        // SAFETY: The caller hands over one reference to a valid fence; `Self` is transparent.
        unsafe { ARef::from_raw(ptr.cast()) }
    }

    /// Gives the reference held by `fence` to the caller, e.g. to hand it to a C API that takes
    /// ownership. Undo with [`DmaFence::from_raw_owned`].
    pub fn into_raw(fence: ARef<Self>) -> NonNull<bindings::dma_fence> {
        ARef::into_raw(fence).cast()
    }

    /// The stub fence: signalled at boot, shared by everyone (`dma_fence_get_stub()`).
    pub fn stub() -> ARef<Self> {
        // SAFETY: `dma_fence_get_stub()` returns the stub fence with a new reference.
        let raw = unsafe { bindings::dma_fence_get_stub() };
        // SAFETY: The stub is a static, initialised fence; we own the reference just taken.
        unsafe { Self::from_raw_owned(NonNull::new_unchecked(raw)) }
    }

    /// The C fence.
    pub fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// The fence's context: fences of one context signal in seqno order.
    pub fn context(&self) -> u64 {
        // SAFETY: `context` is written by `dma_fence_init()` and never changes afterwards.
        unsafe { (*self.as_raw()).context }
    }

    /// The fence's sequence number within its context.
    pub fn seqno(&self) -> u64 {
        // SAFETY: `seqno` is written by `dma_fence_init()` and never changes afterwards.
        unsafe { (*self.as_raw()).seqno }
    }

    /// Whether the fence is signalled (`dma_fence_is_signaled()`).
    ///
    /// May signal a foreign fence whose driver reports completion through its `signaled` op.
    pub fn is_signaled(&self) -> bool {
        // SAFETY: `self` is a live fence (type invariant).
        unsafe { c_helpers::xaccel_dma_fence_is_signaled(self.as_raw()) }
    }

    /// Whether the signalled bit is set, without asking the driver
    /// (`dma_fence_test_signaled_flag()`).
    pub(super) fn test_signaled_flag(&self) -> bool {
        // SAFETY: `self` is a live fence (type invariant).
        unsafe { c_helpers::xaccel_dma_fence_test_signaled_flag(self.as_raw()) }
    }

    /// The completion status (`dma_fence_get_status()`): `Ok(false)` while pending, `Ok(true)`
    /// once signalled, `Err` once signalled with an error.
    ///
    /// Takes the fence lock: from a callback of this same fence use [`DmaFence::error`].
    pub fn status(&self) -> Result<bool> {
        // SAFETY: `self` is a live fence (type invariant).
        let status = unsafe { bindings::dma_fence_get_status(self.as_raw()) };
        to_result(status).map(|()| status > 0)
    }

    /// The error the fence was signalled with, if it is signalled with one.
    ///
    /// Lockless, so callbacks may use it on the fence they run for. Unlike
    /// [`DmaFence::is_signaled`], it does not ask a foreign driver whether the fence completed.
    pub fn error(&self) -> Option<Error> {
        // SAFETY: `self` is a live fence (type invariant).
        let error = unsafe { c_helpers::xaccel_dma_fence_error(self.as_raw()) };
        (error < 0).then(|| Error::from_errno(error))
    }

    /// When the fence was signalled, once it is.
    pub fn timestamp(&self) -> Option<Timestamp> {
        let mut ktime = 0;
        // SAFETY: `self` is a live fence; `ktime` is a valid out pointer. The helper only reads
        // the timestamp after checking the signalled bit, as the union requires.
        unsafe { c_helpers::xaccel_dma_fence_timestamp(self.as_raw(), &mut ktime) }
            .then(|| Timestamp::from_nanos(ktime))
    }

    /// Asks the fence's driver to signal it by `deadline` (`dma_fence_set_deadline()`).
    ///
    /// A hint only; ignored once the fence is signalled or by drivers without the hook.
    pub fn set_deadline(&self, deadline: Timestamp) {
        // SAFETY: `self` is a live fence (type invariant).
        unsafe { bindings::dma_fence_set_deadline(self.as_raw(), deadline.as_nanos()) };
    }

    /// Tells the fence's driver someone waits for it (`dma_fence_enable_signaling()`); waits and
    /// callbacks do this themselves.
    pub fn enable_signaling(&self) {
        // SAFETY: `self` is a live fence (type invariant).
        unsafe { bindings::dma_fence_enable_signaling(self.as_raw()) };
    }

    /// Sleeps until the fence is signalled, for at most `timeout` (`None`: no limit).
    ///
    /// Returns `Ok(())` once signalled (whatever the fence's error), `ETIME` when the timeout
    /// expires first, `ERESTARTSYS` when an interruptible wait is interrupted, or another error
    /// from a driver's custom wait. A zero timeout only polls. May sleep; never call it inside a
    /// [`SignallingSection`](super::SignallingSection).
    pub fn wait(&self, mode: WaitMode, timeout: Option<Delta>) -> Result {
        let jiffies = match timeout {
            None => MAX_SCHEDULE_TIMEOUT,
            Some(timeout) => {
                let msecs = u32::try_from(timeout.as_millis_ceil().max(0)).unwrap_or(u32::MAX);
                // `msecs_to_jiffies()` caps at `MAX_JIFFY_OFFSET`, far below `c_long::MAX`.
                c_long_from(msecs_to_jiffies(msecs))
            }
        };
        // SAFETY: `self` is a live fence (type invariant) and `jiffies` is non-negative.
        let left = unsafe {
            bindings::dma_fence_wait_timeout(
                self.as_raw(),
                mode == WaitMode::Interruptible,
                jiffies,
            )
        };
        match left {
            0 => Err(ETIME),
            left if left > 0 => Ok(()),
            // Error codes from the C side fit; anything else becomes `EINVAL`.
            err => Err(Error::from_errno(i32::try_from(err).unwrap_or(i32::MIN))),
        }
    }

    /// Runs `f` with the fence's driver and timeline names (`dma_fence_driver_name()`,
    /// `dma_fence_timeline_name()`), inside the RCU read-side section they require.
    ///
    /// Once a fence is signalled its driver may be gone: dma-fence then reports
    /// `"detached-driver"` and `"signaled-timeline"`. `f` must not sleep.
    pub fn with_names<R>(&self, f: impl FnOnce(&CStr, &CStr) -> R) -> R {
        let _rcu = rcu::read_lock();
        // SAFETY: `self` is a live fence; the RCU read lock is held as both functions require,
        // and the returned strings are used only inside it (before `_rcu` drops).
        let (driver, timeline) = unsafe {
            (
                CStr::from_char_ptr(bindings::dma_fence_driver_name(self.as_raw())),
                CStr::from_char_ptr(bindings::dma_fence_timeline_name(self.as_raw())),
            )
        };
        f(driver, timeline)
    }

    /// The fence's reference count (`kref_read()`): a snapshot, for diagnostics and tests.
    pub fn ref_count(&self) -> u32 {
        // SAFETY: `self` is a live fence (type invariant).
        unsafe { c_helpers::xaccel_dma_fence_refcount(self.as_raw()) }
    }
}

/// `jiffies` as the `signed long` the wait API takes.
fn c_long_from(jiffies: kernel::time::Jiffies) -> kernel::ffi::c_long {
    kernel::ffi::c_long::try_from(jiffies).unwrap_or(MAX_SCHEDULE_TIMEOUT - 1)
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_fence_foreign)]
mod tests {
    use super::*;
    use crate::fence::FenceContext;

    #[test]
    fn stub_is_signalled_without_error() -> Result {
        let stub = DmaFence::stub();
        ensure!(stub.is_signaled());
        ensure!(stub.status() == Ok(true));
        ensure!(stub.error().is_none());
        ensure!(stub.timestamp().is_some());
        ensure!(stub.wait(WaitMode::Interruptible, Some(Delta::from_millis(1))) == Ok(()));
        Ok(())
    }

    #[test]
    fn wait_on_our_fence_through_the_c_api() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"foreign", None)?;
        let ours = ctx.create_fence(GFP_KERNEL)?;
        let foreign: ARef<DmaFence> = ours.to_dma_fence();
        ensure!(foreign.as_raw() == ours.as_raw());
        ensure!(foreign.context() == ctx.id());
        ensure!(!foreign.is_signaled());
        ensure!(foreign.status() == Ok(false));
        // Unsignalled: a zero timeout polls, a one-jiffy timeout expires.
        ensure!(foreign.wait(WaitMode::Interruptible, Some(Delta::ZERO)) == Err(ETIME));
        ensure!(foreign.wait(WaitMode::Uninterruptible, Some(Delta::from_millis(1))) == Err(ETIME));
        ours.signal()?;
        // Signalled: returns at once, with or without a timeout.
        ensure!(foreign.wait(WaitMode::Interruptible, Some(Delta::ZERO)) == Ok(()));
        ensure!(foreign.wait(WaitMode::Interruptible, None) == Ok(()));
        ensure!(foreign.is_signaled());
        Ok(())
    }

    #[test]
    fn foreign_handles_count_references() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"foreign", None)?;
        let ours = ctx.create_fence(GFP_KERNEL)?;
        let before = ours.ref_count();
        let handles = [ours.to_dma_fence(), ours.to_dma_fence()];
        ensure!(ours.ref_count() == before + 2);
        let raw = DmaFence::into_raw(ours.to_dma_fence());
        ensure!(ours.ref_count() == before + 3);
        // SAFETY: `raw` owns the reference `into_raw` gave up just above.
        drop(unsafe { DmaFence::from_raw_owned(raw) });
        drop(handles);
        ensure!(ours.ref_count() == before);
        ours.signal()?;
        Ok(())
    }
}
