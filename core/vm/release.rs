// SPDX-License-Identifier: GPL-2.0-only

//! Releasing what a VM unmapped once the jobs that may still use it are done.
//!
//! When a VM loses mappings (unbind, destroy, its file closing) while a job that may use them
//! is still running, the buffer objects behind them must stay allocated until the job is done.
//! The scheduler adds the fence of every job that uses the VM to the VM's *busy fences*
//! ([`Vm::set_busy`](super::Vm::set_busy)): one per fence context (queue) with unsignalled jobs,
//! since jobs of different queues may end in any order. [`release_after`] takes the unmapped
//! values (the references to the buffer objects) and a snapshot of the busy fences and drops
//! the values once all of them have signalled:
//!
//! - at once if there is no busy fence or all have signalled;
//! - otherwise from a work item queued by a callback on the first unsignalled fence. Callbacks
//!   run in the signaller's context (possibly a hard interrupt, under the fence lock), where
//!   freeing a buffer object (which sleeps) is not allowed, so the callback only queues the work.
//!   The work calls [`release_after`] again with the fences left, so the values wait for each
//!   fence in turn, whatever order they signal in.
//!
//! A pending release is a [`DeferredRelease`], owned jointly by the fence callback and, after it
//! ran, the queued work. It holds the [`FenceCallback`] handle itself, so nothing cancels it
//! early. Module exit waits for every pending release ([`wait_for_releases`]) after the fence
//! layer has drained, because the work runs core code; a release that moves on to the next
//! fence is counted again before the previous count is given back.

use crate::fence::{DmaFence, DrainCounter, FenceCallback, WaitMode};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Releases queued on a busy fence and not dropped yet.
static PENDING: DrainCounter = DrainCounter::new();

/// Waits until every deferred release has run; module exit.
pub(crate) fn wait_for_releases() {
    PENDING.wait_zero();
}

/// One count in [`PENDING`], given back when dropped.
struct PendingCount(());

impl PendingCount {
    fn new() -> Self {
        PENDING.inc();
        Self(())
    }
}

impl Drop for PendingCount {
    fn drop(&mut self) {
        // SAFETY: `new` counted one, given up here; `PENDING` is a static.
        unsafe { DrainCounter::dec_and_wake(&PENDING) };
    }
}

/// What a pending release holds.
struct Held<T> {
    /// What is released.
    values: KVec<T>,
    /// The busy fences still to wait for after the one the callback is on.
    rest: KVec<ARef<DmaFence>>,
    /// The callback on the busy fence, kept here so that it is never removed early.
    callback: Option<FenceCallback>,
}

/// Values to drop once a fence has signalled.
///
/// Fields drop in declaration order: the values first, the count in [`PENDING`] last, so module
/// exit cannot pass while the values are being freed.
#[pin_data]
struct DeferredRelease<T: Send + 'static> {
    #[pin]
    held: Mutex<Held<T>>,
    #[pin]
    work: Work<DeferredRelease<T>>,
    count: PendingCount,
}

impl_has_work! {
    impl{T: Send + 'static} HasWork<Self> for DeferredRelease<T> { self.work }
}

impl<T: Send + 'static> WorkItem for DeferredRelease<T> {
    type Pointer = Arc<Self>;

    fn run(this: Arc<Self>) {
        // The fence has signalled: the handle has nothing left to remove, only references to
        // give back. The values then wait for the fences left, if any.
        let (callback, values, rest) = {
            let mut held = this.held.lock();
            (
                held.callback.take(),
                core::mem::take(&mut held.values),
                core::mem::take(&mut held.rest),
            )
        };
        drop(callback);
        release_after(values, rest);
    }
}

/// Drops `values` once every fence of `busy` has signalled: at once if there is none left
/// unsignalled, otherwise from a work item after the last one signals.
///
/// Never fails: if memory for the deferral cannot be allocated, it waits for the fence (a job
/// ends or is cancelled) and goes on with the next. Process context only; the values' `Drop`
/// must work in process context (it runs in the caller or a work item).
pub(crate) fn release_after<T: Send + 'static>(values: KVec<T>, busy: KVec<ARef<DmaFence>>) {
    let mut busy = busy;
    busy.retain(|f| !f.is_signaled());
    if values.is_empty() {
        return;
    }
    let Some(fence) = busy.pop() else {
        return;
    };
    let release = Arc::pin_init(
        pin_init!(DeferredRelease {
            held <- new_mutex!(Held {
                values: KVec::new(),
                rest: KVec::new(),
                callback: None,
            }),
            work <- new_work!("xaccel::vm::DeferredRelease::work"),
            count: PendingCount::new(),
        }),
        GFP_KERNEL,
    );
    let Ok(release) = release else {
        let _ = fence.wait(WaitMode::Uninterruptible, None);
        return release_after(values, busy);
    };
    {
        let mut held = release.held.lock();
        held.values = values;
        held.rest = busy;
    }
    let queued = release.clone();
    let added = fence.add_callback(
        move |_| {
            // Cannot fail: the work is queued once, here.
            let _ = workqueue::system().enqueue(queued);
        },
        GFP_KERNEL,
    );
    match added {
        // Kept in the release: dropped by the work, or with the last reference.
        Ok(callback) => release.held.lock().callback = Some(callback),
        // Signalled meanwhile, or no memory for the callback (then wait): go on with the
        // fences left.
        Err(e) => {
            if e != ENOENT {
                let _ = fence.wait(WaitMode::Uninterruptible, None);
            }
            let (values, rest) = {
                let mut held = release.held.lock();
                (
                    core::mem::take(&mut held.values),
                    core::mem::take(&mut held.rest),
                )
            };
            release_after(values, rest);
        }
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_vm_release)]
mod tests {
    use super::*;
    use crate::fence::{Fence, FenceContext};
    use kernel::sync::atomic::{Atomic, Relaxed};

    /// The busy fences of a test: `fences` as a list.
    fn fence_list(fences: &[&Fence]) -> Result<KVec<ARef<DmaFence>>> {
        let mut list = KVec::with_capacity(fences.len(), GFP_KERNEL)?;
        for f in fences {
            list.push(f.to_dma_fence(), GFP_KERNEL)?;
        }
        Ok(list)
    }

    /// Counts its drops in a shared counter: a stand-in for a buffer object reference.
    struct Tracked(Arc<Atomic<u32>>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.add(1, Relaxed);
        }
    }

    fn tracked(n: usize) -> Result<(Arc<Atomic<u32>>, KVec<Tracked>)> {
        let dropped = Arc::new(Atomic::new(0), GFP_KERNEL)?;
        let mut values = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            values.push(Tracked(dropped.clone()), GFP_KERNEL)?;
        }
        Ok((dropped, values))
    }

    #[test]
    fn without_a_busy_fence_values_go_at_once() -> Result {
        let (dropped, values) = tracked(3)?;
        release_after(values, KVec::new());
        ensure!(dropped.load(Relaxed) == 3);
        Ok(())
    }

    #[test]
    fn a_signalled_busy_fence_does_not_delay() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"vm-done", None)?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        fence.signal()?;
        let (dropped, values) = tracked(2)?;
        release_after(values, fence_list(&[&fence])?);
        ensure!(dropped.load(Relaxed) == 2);
        Ok(())
    }

    #[test]
    fn an_unsignalled_busy_fence_defers_until_it_signals() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"vm-busy", None)?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let (dropped, values) = tracked(2)?;
        release_after(values, fence_list(&[&fence])?);
        // Nothing is released while the job may run, however long that is.
        ensure!(dropped.load(Relaxed) == 0);
        let (later, more) = tracked(1)?;
        release_after(more, fence_list(&[&fence])?);
        ensure!(later.load(Relaxed) == 0);
        fence.signal()?;
        // The callback queued the work; wait for it (not a timing assumption: it blocks until
        // every pending release has run).
        wait_for_releases();
        ensure!(dropped.load(Relaxed) == 2);
        ensure!(later.load(Relaxed) == 1);
        Ok(())
    }

    #[test]
    fn a_cancelled_job_releases_too() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"vm-cancel", None)?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let (dropped, values) = tracked(1)?;
        release_after(values, fence_list(&[&fence])?);
        ensure!(dropped.load(Relaxed) == 0);
        // The queue goes away: its fences signal with ECANCELED.
        drop(ctx);
        wait_for_releases();
        ensure!(dropped.load(Relaxed) == 1);
        ensure!(fence.error() == Some(ECANCELED));
        Ok(())
    }

    #[test]
    fn values_wait_for_every_busy_fence_whatever_order_they_signal_in() -> Result {
        // Two queues on one VM: the later job ends first.
        let first_queue = FenceContext::new(c"xaccel-test", c"vm-first", None)?;
        let second_queue = FenceContext::new(c"xaccel-test", c"vm-second", None)?;
        let earlier = first_queue.create_fence(GFP_KERNEL)?;
        let later = second_queue.create_fence(GFP_KERNEL)?;
        let (dropped, values) = tracked(2)?;
        release_after(values, fence_list(&[&earlier, &later])?);

        later.signal()?;
        // Until the work queued by the signal has run and let go of `later` (the fence's last
        // other reference), whatever it did with the values.
        while later.ref_count() > 1 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
        }
        ensure!(dropped.load(Relaxed) == 0);

        earlier.signal()?;
        wait_for_releases();
        ensure!(dropped.load(Relaxed) == 2);
        Ok(())
    }
}
