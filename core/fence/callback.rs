// SPDX-License-Identifier: GPL-2.0-only

//! Fence callbacks: a closure run once when a fence (ours or foreign) signals.
//!
//! # Ownership
//!
//! A registered callback is a [`CallbackNode`] shared by two owners through an [`Arc`]:
//!
//! - the C side: the fence's callback list holds one reference, leaked into it by
//!   [`DmaFence::add_callback`] and taken back by exactly one of: [`run_callback`] (the fence
//!   signalled) or [`FenceCallback`]'s removal (`dma_fence_remove_callback()` succeeded);
//! - the [`FenceCallback`] handle, which also holds a reference on the fence.
//!
//! So the node is never freed while the fence may still call it. Dropping (or
//! [`cancel`](FenceCallback::cancel)ling) the handle guarantees that, once it returns, the
//! closure has either run, is running on another CPU as part of signalling (which keeps the node
//! alive), or will never run. The C side only ever calls [`run_callback`], a non-generic core
//! function; the closure's code belongs to whoever added it, which must drop its handles before
//! its module goes away.

use super::DmaFence;
use core::cell::UnsafeCell;
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*,
    sync::{aref::ARef, rcu, Arc},
    types::Opaque,
};

/// A callback's code: the closure, until it runs.
trait Callback: Send {
    /// Runs the closure the first time; does nothing afterwards.
    fn run_once(&mut self, fence: &DmaFence);
}

impl<F: FnOnce(&DmaFence) + Send> Callback for Option<F> {
    fn run_once(&mut self, fence: &DmaFence) {
        if let Some(f) = self.take() {
            f(fence);
        }
    }
}

/// A registered callback: the C `dma_fence_cb` and the closure it runs.
///
/// # Invariants
///
/// `func` is only accessed by [`run_callback`] (which the fence calls at most once, under its
/// lock) and, if the callback was never registered or was removed before running, by whoever
/// then holds the last reference. These never overlap.
struct CallbackNode {
    cb: Opaque<bindings::dma_fence_cb>,
    func: UnsafeCell<KBox<dyn Callback>>,
}

// SAFETY: The closure is `Send`; `cb` is only touched by the dma-fence core under the fence lock.
unsafe impl Send for CallbackNode {}
// SAFETY: Shared references never touch `func` except as the type invariant allows, one at a
// time; `cb` belongs to the C side.
unsafe impl Sync for CallbackNode {}

/// The `dma_fence_func_t` of every callback the core registers.
///
/// # Safety
///
/// Called by the dma-fence core, once, when `fence` signals, for a `cb` registered by
/// [`DmaFence::add_callback`]: `cb` is inside a [`CallbackNode`] on which the fence's callback
/// list owns one [`Arc`] reference.
unsafe extern "C" fn run_callback(
    fence: *mut bindings::dma_fence,
    cb: *mut bindings::dma_fence_cb,
) {
    // SAFETY: `cb` is the `cb` field of a `CallbackNode`, and the reference the C side owned is
    // handed to us (see the safety requirements).
    let node = unsafe {
        Arc::from_raw(kernel::container_of!(
            Opaque::cast_from(cb),
            CallbackNode,
            cb
        ))
    };
    // SAFETY: The signaller holds a reference on `fence` while running its callbacks.
    let fence = unsafe { DmaFence::from_raw(fence) };
    // SAFETY: The fence calls each callback once, and nobody else touches `func` while the node
    // is registered (type invariant).
    unsafe { (*node.func.get()).run_once(fence) };
    // `node` drops here: the C side's reference is given up.
}

/// A registered fence callback; dropping it removes the callback if it has not run.
///
/// Returned by [`DmaFence::add_callback`]. Keep it for as long as the callback may be needed;
/// see the module documentation for what dropping it guarantees.
///
/// # Invariants
///
/// `node.cb` was registered on `fence` by `dma_fence_add_callback()`. Until `settled` is set,
/// the fence's callback list owns one reference on `node`, unless the fence has signalled, in
/// which case [`run_callback`] owns it.
#[must_use = "dropping the handle removes the callback"]
pub struct FenceCallback {
    fence: ARef<DmaFence>,
    node: Arc<CallbackNode>,
    /// Set once removal was tried, so it is tried only once.
    settled: bool,
}

impl FenceCallback {
    /// The fence the callback is on.
    pub fn fence(&self) -> &DmaFence {
        &self.fence
    }

    /// Removes the callback: returns `true` if it was removed before running (it never will),
    /// `false` if the fence signalled first (it has run, or is running on another CPU).
    pub fn cancel(mut self) -> bool {
        self.remove()
    }

    fn remove(&mut self) -> bool {
        if core::mem::replace(&mut self.settled, true) {
            return false;
        }
        // A signalled fence's driver may free data outside the fence (an external lock) after a
        // grace period, so only touch the fence lock if it was unsignalled inside this section.
        let _rcu = rcu::read_lock();
        if self.fence.test_signaled_flag() {
            // The signaller owns the node's C reference: it runs (or ran) the callback.
            return false;
        }
        // SAFETY: `cb` was registered on `self.fence` by `add_callback`; we hold a reference on
        // the fence, and the RCU section keeps its lock valid (see above).
        let removed =
            unsafe { bindings::dma_fence_remove_callback(self.fence.as_raw(), self.node.cb.get()) };
        if removed {
            // SAFETY: The callback will never run, so the reference the C side owned (leaked by
            // `add_callback`) is ours to drop.
            drop(unsafe { Arc::from_raw(Arc::as_ptr(&self.node)) });
        }
        removed
    }
}

impl Drop for FenceCallback {
    fn drop(&mut self) {
        self.remove();
    }
}

impl DmaFence {
    /// Runs `f` once when the fence signals (`dma_fence_add_callback()`).
    ///
    /// Fails with `ENOENT` if the fence is already signalled (`f` is then dropped without
    /// running; check [`DmaFence::is_signaled`] or [`DmaFence::status`] and act directly), or
    /// `ENOMEM`. `f` runs in the signaller's context, possibly a hard interrupt, under the
    /// fence's lock with interrupts off: it must not sleep, allocate with `GFP_KERNEL`, or
    /// signal another fence directly (all inline fence locks share one lockdep class; defer to
    /// a work item instead).
    pub fn add_callback(
        &self,
        f: impl FnOnce(&DmaFence) + Send + 'static,
        flags: Flags,
    ) -> Result<FenceCallback> {
        let func: KBox<dyn Callback> = KBox::new(Some(f), flags)?;
        let node = Arc::new(
            CallbackNode {
                cb: Opaque::uninit(),
                func: UnsafeCell::new(func),
            },
            flags,
        )?;
        // The fence's callback list's reference; see the module documentation.
        let list_ref = Arc::into_raw(node.clone());
        // SAFETY: `self` is a live fence; `cb` is pinned in the `Arc` allocation, which the
        // leaked reference keeps alive until `run_callback` or a successful removal takes it
        // back; `run_callback` matches `dma_fence_func_t`.
        let ret = unsafe {
            bindings::dma_fence_add_callback(self.as_raw(), node.cb.get(), Some(run_callback))
        };
        if ret != 0 {
            // SAFETY: The callback was not registered, so the leaked reference is still ours.
            drop(unsafe { Arc::from_raw(list_ref) });
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: `cb` is registered on `self`, whose callback list owns `list_ref`.
        Ok(FenceCallback {
            fence: ARef::from(self),
            node,
            settled: false,
        })
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_fence_callback)]
mod tests {
    use super::*;
    use crate::fence::{c_helpers, ChainNode, FenceContext, WaitMode};
    use kernel::{
        sync::atomic::{Atomic, Relaxed},
        time::Delta,
    };

    fn context(name: &CStr) -> Result<FenceContext> {
        FenceContext::new(c"xaccel-test", name, None)
    }

    fn counter() -> Result<Arc<Atomic<u32>>> {
        Ok(Arc::new(Atomic::new(0), GFP_KERNEL)?)
    }

    /// A callback that counts its runs in `runs`.
    fn count_into(runs: &Arc<Atomic<u32>>) -> impl FnOnce(&DmaFence) + Send + 'static {
        let runs = runs.clone();
        move |_| runs.add(1, Relaxed)
    }

    #[test]
    fn runs_exactly_once_when_signalled() -> Result {
        let ctx = context(c"once")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let runs = counter()?;
        let first = fence.add_callback(count_into(&runs), GFP_KERNEL)?;
        let second = fence.add_callback(count_into(&runs), GFP_KERNEL)?;
        ensure!(runs.load(Relaxed) == 0);
        fence.signal()?;
        ensure!(runs.load(Relaxed) == 2);
        ensure!(fence.signal() == Err(EALREADY));
        ensure!(runs.load(Relaxed) == 2);
        // Both ran: there is nothing left to cancel.
        ensure!(!first.cancel());
        drop(second);
        ensure!(runs.load(Relaxed) == 2);
        Ok(())
    }

    #[test]
    fn added_after_signalling_is_refused_and_never_runs() -> Result {
        let ctx = context(c"late")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        fence.signal()?;
        let runs = counter()?;
        ensure!(fence.add_callback(count_into(&runs), GFP_KERNEL).err() == Some(ENOENT));
        // The same through a foreign fence: the signalled stub.
        let stub = DmaFence::stub();
        ensure!(stub.add_callback(count_into(&runs), GFP_KERNEL).err() == Some(ENOENT));
        ensure!(runs.load(Relaxed) == 0);
        Ok(())
    }

    #[test]
    fn removed_callbacks_never_run() -> Result {
        let ctx = context(c"removed")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let runs = counter()?;
        let cancelled = fence.add_callback(count_into(&runs), GFP_KERNEL)?;
        ensure!(cancelled.fence().as_raw() == fence.as_raw());
        ensure!(cancelled.cancel());
        // Dropping the handle removes it too.
        drop(fence.add_callback(count_into(&runs), GFP_KERNEL)?);
        let kept = fence.add_callback(count_into(&runs), GFP_KERNEL)?;
        fence.signal()?;
        ensure!(runs.load(Relaxed) == 1);
        drop(kept);
        Ok(())
    }

    #[test]
    fn callbacks_see_the_error_and_release_the_fence() -> Result {
        let ctx = context(c"error")?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let seen = Arc::new(Atomic::new(0i32), GFP_KERNEL)?;
        let recorder = seen.clone();
        let refs_before = fence.ref_count();
        let handle = fence.add_callback(
            move |f| recorder.store(f.error().map_or(1, Error::to_errno), Relaxed),
            GFP_KERNEL,
        )?;
        // The handle holds a reference on the fence.
        ensure!(fence.ref_count() == refs_before + 1);
        fence.signal_error(EIO)?;
        ensure!(seen.load(Relaxed) == EIO.to_errno());
        drop(handle);
        // The context's list reference went on signalling, the handle's on drop.
        ensure!(fence.ref_count() == refs_before - 1);
        Ok(())
    }

    /// A dma_fence_chain signals from irq_work, i.e. in hard interrupt context: a callback on it
    /// signals one of our fences there, which exercises the irqsave paths under lockdep.
    #[test]
    fn signalling_from_hard_interrupt_context() -> Result {
        let upstream_ctx = context(c"upstream")?;
        let downstream_ctx = context(c"downstream")?;
        let point = upstream_ctx.create_fence(GFP_KERNEL)?;
        let downstream = downstream_ctx.create_fence(GFP_KERNEL)?;
        let chain = ChainNode::new()?.link(None, point.to_dma_fence(), 1)?;
        let in_hardirq = counter()?;
        let (flag, target) = (in_hardirq.clone(), downstream.clone());
        let handle = chain.add_callback(
            move |_| {
                // SAFETY: No requirements.
                if unsafe { c_helpers::xaccel_in_hardirq() } {
                    flag.add(1, Relaxed);
                }
                // Chain nodes have their own lock class, so this nests cleanly.
                let _ = target.signal();
            },
            GFP_KERNEL,
        )?;
        point.signal()?;
        // A hang guard, not a timing assertion: irq_work runs almost at once.
        downstream.wait(WaitMode::Uninterruptible, Some(Delta::from_secs(10)))?;
        ensure!(downstream.status() == Ok(true));
        ensure!(in_hardirq.load(Relaxed) == 1);
        ensure!(chain.is_signaled());
        ensure!(!handle.cancel());
        Ok(())
    }
}
