// SPDX-License-Identifier: GPL-2.0-only

//! Releasing what a VM unmapped once the jobs that may still use it are done.
//!
//! When a VM loses mappings (unbind, destroy, its file closing) while a job that may use them
//! is still running, the buffer objects behind them must stay allocated until the job is done.
//! The scheduler attaches the fence of the VM's latest job to the VM as its *busy fence*
//! ([`Vm::set_busy`](super::Vm::set_busy)); [`release_after`] takes the unmapped values (the
//! references to the buffer objects) and drops them:
//!
//! - at once if there is no busy fence or it has signalled;
//! - otherwise from a work item queued by a fence callback when the fence signals. Callbacks run
//!   in the signaller's context (possibly a hard interrupt, under the fence lock), where freeing
//!   a buffer object (which sleeps) is not allowed, so the callback only queues the work.
//!
//! A pending release is a [`DeferredRelease`], owned jointly by the fence callback and, after it
//! ran, the queued work. It holds the [`FenceCallback`] handle itself, so nothing cancels it
//! early. Module exit waits for every pending release ([`wait_for_releases`]) after the fence
//! layer has drained, because the work runs core code.

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
        // give back. Dropping `this` (usually the last reference) drops the values.
        drop(this.held.lock().callback.take());
    }
}

/// Drops `values` once `busy` has signalled: at once if it is `None` or signalled already,
/// otherwise from a work item after it signals.
///
/// Never fails: if memory for the deferral cannot be allocated, it waits for the fence (a job
/// ends or is cancelled) and then drops the values. Process context only; the values' `Drop`
/// must work in process context (it runs in the caller or a work item).
pub(crate) fn release_after<T: Send + 'static>(values: KVec<T>, busy: Option<ARef<DmaFence>>) {
    let Some(fence) = busy.filter(|f| !f.is_signaled()) else {
        return;
    };
    if values.is_empty() {
        return;
    }
    let release = Arc::pin_init(
        pin_init!(DeferredRelease {
            held <- new_mutex!(Held {
                values: KVec::new(),
                callback: None,
            }),
            work <- new_work!("xaccel::vm::DeferredRelease::work"),
            count: PendingCount::new(),
        }),
        GFP_KERNEL,
    );
    let Ok(release) = release else {
        let _ = fence.wait(WaitMode::Uninterruptible, None);
        return;
    };
    release.held.lock().values = values;
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
        // Signalled meanwhile: dropping `release` below releases the values now.
        Err(e) if e == ENOENT => {}
        // No memory for the callback: wait, then release.
        Err(_) => {
            let _ = fence.wait(WaitMode::Uninterruptible, None);
        }
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_vm_release)]
mod tests {
    use super::*;
    use crate::fence::FenceContext;
    use kernel::sync::atomic::{Atomic, Relaxed};

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
        release_after(values, None);
        ensure!(dropped.load(Relaxed) == 3);
        Ok(())
    }

    #[test]
    fn a_signalled_busy_fence_does_not_delay() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"vm-done", None)?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        fence.signal()?;
        let (dropped, values) = tracked(2)?;
        release_after(values, Some(fence.to_dma_fence()));
        ensure!(dropped.load(Relaxed) == 2);
        Ok(())
    }

    #[test]
    fn an_unsignalled_busy_fence_defers_until_it_signals() -> Result {
        let ctx = FenceContext::new(c"xaccel-test", c"vm-busy", None)?;
        let fence = ctx.create_fence(GFP_KERNEL)?;
        let (dropped, values) = tracked(2)?;
        release_after(values, Some(fence.to_dma_fence()));
        // Nothing is released while the job may run, however long that is.
        ensure!(dropped.load(Relaxed) == 0);
        let (later, more) = tracked(1)?;
        release_after(more, Some(fence.to_dma_fence()));
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
        release_after(values, Some(fence.to_dma_fence()));
        ensure!(dropped.load(Relaxed) == 0);
        // The queue goes away: its fences signal with ECANCELED.
        drop(ctx);
        wait_for_releases();
        ensure!(dropped.load(Relaxed) == 1);
        ensure!(fence.error() == Some(ECANCELED));
        Ok(())
    }
}
