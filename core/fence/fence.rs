// SPDX-License-Identifier: GPL-2.0-only

//! [`Fence`]: a fence the core creates, for any backend, and the one `dma_fence_ops` table.
//!
//! A fence is one allocation that starts with its `struct dma_fence`. It is created unsignalled
//! by a [`FenceContext`] with the context's next seqno, and signalled once, by whoever does the
//! work, through [`Fence::signal`] and its variants. The ops table has no `release` and no
//! `wait`, so on signalling dma-fence detaches it (sets `fence->ops` to NULL) and the fence no
//! longer depends on this module: its memory is freed by `dma_fence_free()` when the last
//! reference goes, wherever that happens. See the `fence` module documentation for the whole
//! lifetime argument.
//!
//! [`FenceContext`]: super::FenceContext

use super::{
    c_helpers,
    context::{Timeline, UNSIGNALLED_FENCES},
    counter::DrainCounter,
    DmaFence, SignallingSection, Timestamp,
};
use core::{mem::MaybeUninit, ops::Deref, ptr::NonNull};
use kernel::{
    alloc::Flags,
    bindings,
    ffi::c_char,
    prelude::*,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        atomic::{Atomic, Full, Relaxed},
    },
    types::Opaque,
};

/// A fence created by the core: `ARef<Fence>` is a reference to it.
///
/// Dereferences to [`DmaFence`] for everything any fence can do (status, waits, callbacks,
/// deadlines); adds signalling, which only the fence's creator may do.
///
/// # Invariants
///
/// - `base` is the first field and was initialised by `dma_fence_init64()` with [`FENCE_OPS`],
///   no external lock, the context id of `timeline` and a seqno of that timeline.
/// - The allocation is a `kmalloc()` one starting at `base`, and no field needs dropping, so
///   `dma_fence_free()` (the default release) frees it correctly.
/// - The fence is *attached* from arming until the thread that claimed it (set `claimed`) has
///   signalled it and run [`Fence::detach`]. While attached, the fence is counted in
///   `timeline.unsignalled`, so `timeline` is valid; `timeline` is not used once detached,
///   except by callers in an RCU read-side section that began while it was attached.
/// - Only the claiming thread signals the fence, so it is signalled at most once, by us.
/// - `link` is an initialised list node, only accessed under `timeline.fences`' lock. A listed
///   fence (`listed`) is on that list from arming until detached; an owned one never is.
#[repr(C)]
pub struct Fence {
    base: DmaFence,
    timeline: NonNull<Timeline>,
    claimed: Atomic<bool>,
    /// Armed by [`FenceContext::arm`], not [`FenceContext::arm_owned`]; never changes.
    ///
    /// [`FenceContext::arm`]: super::FenceContext::arm
    /// [`FenceContext::arm_owned`]: super::FenceContext::arm_owned
    listed: bool,
    link: Opaque<bindings::list_head>,
}

// `dma_fence_free()` frees the pointer to `base`, which must therefore be the allocation's start.
const _: () = assert!(core::mem::offset_of!(Fence, base) == 0);
// `dma_fence_free()` runs no Rust drop glue.
const _: () = assert!(!core::mem::needs_drop::<Fence>());

// SAFETY: The `dma_fence` is thread-safe (see `DmaFence`); `claimed` is atomic; `listed` never
// changes; `timeline` points to a `Sync` timeline; `link` is only touched under the timeline's
// lock.
unsafe impl Send for Fence {}
// SAFETY: As above.
unsafe impl Sync for Fence {}

// SAFETY: Same reference count as `DmaFence`: `dma_fence_get()`/`dma_fence_put()`, and the memory
// is only freed (by `dma_fence_free()`) when it reaches zero.
unsafe impl AlwaysRefCounted for Fence {
    fn inc_ref(&self) {
        self.base.inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `base` is the first field of a `repr(C)` struct, so the pointers coincide; the
        // caller gives up a reference it owns.
        unsafe { DmaFence::dec_ref(obj.cast()) };
    }
}

impl Deref for Fence {
    type Target = DmaFence;

    fn deref(&self) -> &DmaFence {
        &self.base
    }
}

/// The one `dma_fence_ops` table of every fence the core creates.
///
/// No `release` and no `wait`: that is what lets dma-fence detach the ops on signalling, so
/// signalled fences outlive this module safely. No `enable_signaling` and no `signaled`: our
/// fences are signalled explicitly, and always by us.
static FENCE_OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
    get_driver_name: Some(get_driver_name),
    get_timeline_name: Some(get_timeline_name),
    enable_signaling: None,
    signaled: None,
    wait: None,
    release: None,
    set_deadline: Some(set_deadline),
};

/// `dma_fence_ops.get_driver_name`.
///
/// # Safety
///
/// Called by dma-fence with one of our fences whose ops it read under `rcu_read_lock()`, i.e.
/// while the fence was attached, and within that read-side section.
unsafe extern "C" fn get_driver_name(raw: *mut bindings::dma_fence) -> *const c_char {
    // SAFETY: Per the function's safety requirements, `raw` is one of our fences and the RCU
    // section keeps its timeline alive (type invariants of `Fence`). The name lives in the
    // timeline, which outlives that section.
    unsafe { Fence::from_raw(raw).timeline() }
        .driver_name
        .as_char_ptr()
}

/// `dma_fence_ops.get_timeline_name`.
///
/// # Safety
///
/// As for [`get_driver_name`].
unsafe extern "C" fn get_timeline_name(raw: *mut bindings::dma_fence) -> *const c_char {
    // SAFETY: As in `get_driver_name`.
    unsafe { Fence::from_raw(raw).timeline() }
        .timeline_name
        .as_char_ptr()
}

/// `dma_fence_ops.set_deadline`: forwards to the context's [`DeadlineHook`], if any.
///
/// # Safety
///
/// As for [`get_driver_name`] (`dma_fence_set_deadline()` holds `rcu_read_lock()`).
///
/// [`DeadlineHook`]: super::DeadlineHook
unsafe extern "C" fn set_deadline(raw: *mut bindings::dma_fence, deadline: bindings::ktime_t) {
    // SAFETY: As in `get_driver_name`.
    let fence = unsafe { Fence::from_raw(raw) };
    // SAFETY: As in `get_driver_name`; the hook is dropped with the timeline, after an RCU grace
    // period that this call is inside of.
    if let Some(hook) = &unsafe { fence.timeline() }.deadline_hook {
        hook.set_deadline(fence.seqno(), Timestamp::from_nanos(deadline));
    }
}

/// Memory for a fence, allocated ahead of [`FenceContext::arm`].
///
/// The scheduler allocates when a job is created (where `GFP_KERNEL` is fine) and arms when the
/// job's place in its queue is decided (where allocating is not).
///
/// [`FenceContext::arm`]: super::FenceContext::arm
pub struct FenceAllocation(KBox<MaybeUninit<Fence>>);

impl FenceAllocation {
    /// Allocates memory for one fence.
    pub fn new(flags: Flags) -> Result<Self> {
        Ok(Self(KBox::new_uninit(flags)?))
    }

    /// Initialises the fence as number `seqno` of `timeline`, unsignalled, and returns the
    /// reference `dma_fence_init64()` created.
    ///
    /// The caller (`FenceContext::arm` or `arm_owned`) counts the fence as unsignalled before
    /// anyone else can see it and, for a `listed` one, holds the timeline's list lock and links
    /// it on the list.
    pub(super) fn init(self, timeline: NonNull<Timeline>, seqno: u64, listed: bool) -> ARef<Fence> {
        let fence = KBox::into_raw(self.0).cast::<Fence>();
        // SAFETY: `fence` is a valid, exclusively owned allocation for a `Fence` (from
        // `KBox::new_uninit`), made by kmalloc and starting at `base`. Every field is written
        // below through raw pointers before a reference to the fence is created, establishing
        // the type invariants: `timeline` is the live timeline arming it, `claimed` is false,
        // `listed` is the caller's, `link` is initialised (and linked by the caller for a listed
        // fence), and `base` is initialised with our ops, the inline lock (lock argument NULL),
        // the timeline's context id and `seqno`.
        unsafe {
            (&raw mut (*fence).timeline).write(timeline);
            (&raw mut (*fence).claimed).write(Atomic::new(false));
            (&raw mut (*fence).listed).write(listed);
            bindings::INIT_LIST_HEAD(Opaque::cast_into(&raw const (*fence).link));
            bindings::dma_fence_init64(
                (&raw mut (*fence).base).cast::<bindings::dma_fence>(),
                &FENCE_OPS,
                core::ptr::null_mut(),
                timeline.as_ref().id,
                seqno,
            );
        }
        // INVARIANT: Every field is initialised as the type invariants require (see above); the
        // caller counts the fence as unsignalled and links it before anyone else sees it.
        // SAFETY: `dma_fence_init64()` set the reference count to one, which we hand over.
        unsafe { ARef::from_raw(NonNull::new_unchecked(fence)) }
    }
}

impl Fence {
    /// Recovers one of our fences from its `dma_fence`.
    ///
    /// # Safety
    ///
    /// `raw` is the `base` of a live [`Fence`] on which the caller holds a reference (directly
    /// or through the C caller) for `'a`.
    unsafe fn from_raw<'a>(raw: *mut bindings::dma_fence) -> &'a Self {
        // SAFETY: `base` is at offset zero (checked above) and the fence is live for `'a`.
        unsafe { &*raw.cast::<Self>() }
    }

    /// Recovers a fence from its list node.
    ///
    /// # Safety
    ///
    /// `link` is the `link` field of a live [`Fence`].
    pub(super) unsafe fn from_link(link: *mut bindings::list_head) -> *const Self {
        // SAFETY: Per the safety requirements, `link` is inside a `Fence`.
        unsafe { kernel::container_of!(Opaque::cast_from(link), Self, link) }
    }

    /// The fence's list node, for its timeline's list (under its lock).
    pub(super) fn link(&self) -> *mut bindings::list_head {
        self.link.get()
    }

    /// The fence's timeline.
    ///
    /// # Safety
    ///
    /// The fence is attached, or the caller is in an RCU read-side section that began while it
    /// was (see the type invariants).
    unsafe fn timeline(&self) -> &Timeline {
        // SAFETY: Per the safety requirements the timeline is alive for as long as the caller
        // can use the reference.
        unsafe { self.timeline.as_ref() }
    }

    /// Whether some thread has started to signal the fence.
    pub(super) fn is_claimed(&self) -> bool {
        self.claimed.load(Relaxed)
    }

    /// A handle on this fence as any fence, for APIs that take foreign fences too.
    pub fn to_dma_fence(&self) -> ARef<DmaFence> {
        ARef::from(&self.base)
    }

    /// Signals the fence, timestamped now.
    ///
    /// Runs the fence's callbacks and wakes its waiters before returning. Callable from any
    /// context, hard interrupts included. Fails with `EALREADY` if the fence was already
    /// signalled (or is being signalled by another thread).
    pub fn signal(&self) -> Result {
        self.complete(None, None)
    }

    /// Signals the fence as failed with `error` (e.g. `EIO` for a faulting job, `ETIME` for a
    /// timeout, `ECANCELED` when its queue was torn down): waiters see it through
    /// [`DmaFence::status`]. Fails with `EALREADY` like [`Fence::signal`].
    pub fn signal_error(&self, error: Error) -> Result {
        self.complete(Some(error), None)
    }

    /// Signals the fence with the time the work actually completed (e.g. read from the
    /// engine), in `CLOCK_MONOTONIC` (`dma_fence_signal_timestamp()`). Fails with `EALREADY`
    /// like [`Fence::signal`].
    pub fn signal_at(&self, timestamp: Timestamp) -> Result {
        self.complete(None, Some(timestamp))
    }

    /// [`Fence::signal_error`] with an explicit timestamp, as in [`Fence::signal_at`].
    pub fn signal_error_at(&self, error: Error, timestamp: Timestamp) -> Result {
        self.complete(Some(error), Some(timestamp))
    }

    fn complete(&self, error: Option<Error>, timestamp: Option<Timestamp>) -> Result {
        // Whoever flips `claimed` signals; everyone else reports that it is done or underway.
        if self.claimed.xchg(true, Full) {
            return Err(EALREADY);
        }
        let _section = SignallingSection::begin();
        let raw = self.as_raw();
        if let Some(error) = error {
            // SAFETY: We claimed the fence, so nobody has signalled it (type invariant: only
            // the claimer signals); `error` is a valid negative errno by `Error`'s invariant.
            unsafe { c_helpers::xaccel_dma_fence_set_error(raw, error.to_errno()) };
        }
        let timestamp = timestamp.unwrap_or_else(Timestamp::now);
        // SAFETY: `raw` is a live fence (we hold a reference through `&self`). This runs the
        // callbacks and detaches the ops under the fence's inline lock, taken irqsave.
        unsafe { bindings::dma_fence_signal_timestamp(raw, timestamp.as_nanos()) };
        // SAFETY: We claimed the fence and have signalled it; nobody else detaches it.
        unsafe { self.detach() };
        Ok(())
    }

    /// Unlinks the signalled fence from its timeline and stops counting it as unsignalled.
    ///
    /// # Safety
    ///
    /// The caller claimed the fence and has signalled it; called once per fence.
    unsafe fn detach(&self) {
        let timeline = self.timeline.as_ptr();
        if self.listed {
            // SAFETY: The fence is still counted in `unsignalled`, so its timeline is alive. The
            // lock guard is a temporary, released at the end of the statement.
            let list_ref = unsafe { &*timeline }.fences.lock().remove(self);
            // The list's reference; the caller still holds one, so this is not the last.
            drop(list_ref);
        }
        // SAFETY: Every attached fence is counted once in the static `UNSIGNALLED_FENCES`; this
        // gives up this fence's count.
        unsafe { DrainCounter::dec_and_wake(&UNSIGNALLED_FENCES) };
        // SAFETY: As above for the timeline's count. This is our last access to the timeline:
        // once the count is zero its owner may free it.
        unsafe { DrainCounter::dec_and_wake(&raw const (*timeline).unsignalled) };
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_fence)]
mod tests {
    use super::*;
    use crate::fence::{DeadlineHook, FenceContext};
    use kernel::{interrupt::local_interrupt_disable, sync::Arc, time::Delta};

    fn context(name: &CStr) -> Result<FenceContext> {
        FenceContext::new(c"xaccel-test", name, None)
    }

    #[test]
    fn signal_takes_effect_exactly_once() -> Result {
        let ctx = context(c"once")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        ensure!(!fence.is_signaled() && fence.status() == Ok(false));
        ensure!(fence.timestamp().is_none() && fence.error().is_none());
        fence.signal()?;
        ensure!(fence.is_signaled() && fence.status() == Ok(true));
        ensure!(fence.signal() == Err(EALREADY));
        // A late error neither sticks nor warns.
        ensure!(fence.signal_error(EIO) == Err(EALREADY));
        ensure!(fence.status() == Ok(true) && fence.error().is_none());
        ensure!(ctx.unsignalled() == 0);
        Ok(())
    }

    #[test]
    fn error_reaches_dma_fence_get_status() -> Result {
        let ctx = context(c"error")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        fence.signal_error(EIO)?;
        // SAFETY: `fence` is a live fence.
        let status = unsafe { bindings::dma_fence_get_status(fence.as_raw()) };
        ensure!(status == EIO.to_errno());
        ensure!(fence.status() == Err(EIO) && fence.error() == Some(EIO));
        ensure!(fence.is_signaled() && fence.timestamp().is_some());
        Ok(())
    }

    #[test]
    fn timestamps_follow_signalling_order() -> Result {
        let ctx = context(c"time")?;
        let first = ctx.create_fence(GFP_KERNEL)?;
        let second = ctx.create_fence(GFP_KERNEL)?;
        let start = Timestamp::now();
        first.signal()?;
        second.signal()?;
        let end = Timestamp::now();
        let (t1, t2) = (
            first.timestamp().ok_or(EINVAL)?,
            second.timestamp().ok_or(EINVAL)?,
        );
        ensure!(start <= t1 && t1 <= t2 && t2 <= end);
        Ok(())
    }

    #[test]
    fn explicit_timestamps_are_kept() -> Result {
        let ctx = context(c"explicit")?;
        let ok = ctx.create_fence(GFP_KERNEL)?;
        let failed = ctx.create_fence(GFP_KERNEL)?;
        let when = Timestamp::from_nanos(Timestamp::now().as_nanos() / 2);
        ok.signal_at(when)?;
        failed.signal_error_at(ETIME, when + Delta::from_nanos(1))?;
        ensure!(ok.timestamp() == Some(when) && ok.error().is_none());
        ensure!(failed.timestamp() == Some(when + Delta::from_nanos(1)));
        ensure!(failed.error() == Some(ETIME));
        Ok(())
    }

    struct Recorder {
        calls: Atomic<u32>,
        seqno: Atomic<u64>,
        deadline: Atomic<i64>,
    }

    impl DeadlineHook for Recorder {
        fn set_deadline(&self, seqno: u64, deadline: Timestamp) {
            self.seqno.store(seqno, Relaxed);
            self.deadline.store(deadline.as_nanos(), Relaxed);
            self.calls.add(1, Relaxed);
        }
    }

    #[test]
    fn deadlines_reach_the_hook_while_unsignalled() -> Result {
        let recorder = Arc::new(
            Recorder {
                calls: Atomic::new(0),
                seqno: Atomic::new(0),
                deadline: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let hook: Arc<dyn DeadlineHook> = recorder.clone();
        let ctx = FenceContext::new(c"xaccel-test", c"deadline", Some(hook))?;
        let first = ctx.create_fence(GFP_KERNEL)?;
        let second = ctx.create_fence(GFP_KERNEL)?;
        let deadline = Timestamp::now() + Delta::from_millis(16);
        // Through the C API, as another driver or sync_file would.
        second.to_dma_fence().set_deadline(deadline);
        ensure!(recorder.calls.load(Relaxed) == 1);
        ensure!(recorder.seqno.load(Relaxed) == second.seqno());
        ensure!(recorder.deadline.load(Relaxed) == deadline.as_nanos());
        first.signal()?;
        second.signal()?;
        // Signalled fences have no ops any more: the hint goes nowhere.
        second.set_deadline(deadline + Delta::from_millis(1));
        ensure!(recorder.calls.load(Relaxed) == 1);
        Ok(())
    }

    #[test]
    fn names_are_ours_until_signalled_then_detached() -> Result {
        let ctx = context(c"names")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let ours = fence.with_names(|driver, timeline| {
            driver.to_bytes() == b"xaccel-test" && timeline.to_bytes() == b"names"
        });
        ensure!(ours);
        fence.signal()?;
        // dma-fence dropped our ops: nothing of this module is reachable from the fence.
        let detached = fence.with_names(|driver, timeline| {
            driver.to_bytes() == b"detached-driver" && timeline.to_bytes() == b"signaled-timeline"
        });
        ensure!(detached);
        Ok(())
    }

    #[test]
    fn signalling_with_interrupts_disabled() -> Result {
        let ctx = context(c"irqoff")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let result = {
            let _irq = local_interrupt_disable();
            fence.signal()
        };
        result?;
        ensure!(fence.is_signaled() && ctx.unsignalled() == 0);
        Ok(())
    }
}
