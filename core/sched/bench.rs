// SPDX-License-Identifier: GPL-2.0-only

//! The scheduler's benchmarks, the equivalents of drm_sched's "overhead" KUnit cases
//! (`drivers/gpu/drm/scheduler/tests/tests_scheduler.c`), run at module load when
//! `xaccel.sched_bench=1` (`make bench` does it, then loads `drm-sched-tests` in the same boot).
//!
//! A timed mock engine completes each job from an hrtimer (hard interrupt context) after the
//! job's "GPU" time, like drm_sched's mock scheduler. Each case queues a blocker job and the
//! measured jobs behind it on a one-credit ring, waits until the blocker runs, then releases it
//! and times until the last job's fence signals; the overhead is that time minus the jobs' own:
//!
//! - `queue`: 1000 jobs of 1000 µs on one entity;
//! - `ping-pong`: the same, alternating between two entities, each job depending on the
//!   previous one's fence;
//! - `throughput`: 1000 zero-length jobs on one entity (completed inside `run`), run
//!   [`THROUGHPUT_REPEATS`] times in a row (5-15 ms each: `make bench` takes the median of
//!   every run, as it does for drm_sched's side).
//!
//! Each prints `xaccel-sched-bench: <case> jobs=N expected=Eus actual=Aus`. The timed cases
//! add where each job's overhead went, from the engine's own timestamps (means, in ns):
//! `late=`, how long after its due time a job's timer fired (timer expiry, not the scheduler),
//! and `restart=`, from a job's timer firing to the next job's timer being started (the
//! completion, the ring's pass and the dispatch: the scheduler's share).
//!
//! A fourth line, `timer-floor`, has no scheduler at all: 1000 hrtimers of 1000 µs, each started
//! from the previous one's callback, waited for like the cases' last job (blocked on a fence, so
//! the guest idles between expiries as in the cases). Its overhead is what a timer expiry costs
//! by itself (the guest's and, under emulation, the host's timer latency): the part of both
//! schedulers' overhead that no scheduler can remove. It prints `late=` too.

use super::{EngineOps, Entity, JobDesc, JobHandle, Priority, Ring, RingConfig};
use crate::fence::{DmaFence, Fence, FenceContext, WaitMode};
use kernel::{
    impl_has_hr_timer, new_spinlock_irq,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow, SpinLockIrq,
    },
    time::{
        delay::fsleep,
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer,
            HrTimerRestart, RelativeMode,
        },
        Delta, Instant, Monotonic,
    },
};

/// Jobs per case.
const JOBS: usize = 1000;
/// "GPU" time of a timed job.
const JOB_US: u32 = 1000;
/// How many times the `throughput` case runs per load.
const THROUGHPUT_REPEATS: usize = 5;
/// Payload tag of the blocker job.
const BLOCKER: u32 = u32::MAX;

/// When a benchmark timer was started and when it fired, in ns since its case began.
struct TimerMarks {
    epoch: Instant<Monotonic>,
    started: Atomic<i64>,
    fired: Atomic<i64>,
}

impl TimerMarks {
    fn new(epoch: Instant<Monotonic>) -> Self {
        Self {
            epoch,
            started: Atomic::new(0),
            fired: Atomic::new(0),
        }
    }

    fn now(&self) -> i64 {
        (Instant::<Monotonic>::now() - self.epoch).as_nanos()
    }

    fn mark_started(&self) {
        self.started.store(self.now(), Relaxed);
    }

    fn mark_fired(&self) {
        self.fired.store(self.now(), Relaxed);
    }

    /// How long after its due time (`usecs` after it started) the timer fired.
    fn late(&self, usecs: u32) -> i64 {
        self.fired.load(Relaxed) - self.started.load(Relaxed) - i64::from(usecs) * 1000
    }
}

/// Mean ns of `f` over `items`; 0 for none.
fn mean_ns<T>(items: &[T], f: impl Fn(&T) -> i64) -> i64 {
    let count = i64::try_from(items.len()).unwrap_or(i64::MAX).max(1);
    items.iter().map(f).sum::<i64>() / count
}

/// One job's timer: completes the job it holds when it fires.
#[pin_data]
struct JobTimer {
    #[pin]
    timer: HrTimer<JobTimer>,
    #[pin]
    job: SpinLockIrq<Option<JobHandle>>,
    marks: TimerMarks,
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for JobTimer {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl HrTimerCallback for JobTimer {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        this.marks.mark_fired();
        let job = this.job.lock().take();
        if let Some(job) = job {
            job.complete(Ok(()));
        }
        HrTimerRestart::NoRestart
    }
}

/// The timed mock engine: one preallocated timer per job, so `run` never allocates.
#[pin_data]
struct TimedEngine {
    timers: KVec<Arc<JobTimer>>,
    #[pin]
    handles: SpinLockIrq<KVec<Option<ArcHrTimerHandle<JobTimer>>>>,
    #[pin]
    blocker: SpinLockIrq<Option<JobHandle>>,
}

impl TimedEngine {
    fn new() -> Result<Arc<Self>> {
        let mut timers = KVec::with_capacity(JOBS, GFP_KERNEL)?;
        let mut handles = KVec::with_capacity(JOBS, GFP_KERNEL)?;
        let epoch = Instant::now();
        for _ in 0..JOBS {
            timers.push(
                Arc::pin_init(
                    pin_init!(JobTimer {
                        timer <- HrTimer::new(),
                        job <- new_spinlock_irq!(None),
                        marks: TimerMarks::new(epoch),
                    }),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
            handles.push(None, GFP_KERNEL)?;
        }
        Arc::pin_init(
            pin_init!(Self {
                timers,
                handles <- new_spinlock_irq!(handles),
                blocker <- new_spinlock_irq!(None),
            }),
            GFP_KERNEL,
        )
    }

    /// The timed jobs' mean expiry lateness and mean time from one job's timer firing to the
    /// next one's start, in ns (see the module documentation); after a case with `usecs` jobs.
    fn breakdown(&self, usecs: u32) -> (i64, i64) {
        let late = mean_ns(&self.timers, |t| t.marks.late(usecs));
        // Each job but the first, from its predecessor's expiry.
        let restart = mean_ns(&self.timers[1..], |t| t.marks.started.load(Relaxed))
            - mean_ns(&self.timers[..JOBS - 1], |t| t.marks.fired.load(Relaxed));
        (late, restart)
    }

    /// Completes the blocker; `false` if it is not running yet.
    fn release(&self) -> bool {
        let blocker = self.blocker.lock().take();
        blocker.map(|job| job.complete(Ok(()))).is_some()
    }
}

impl EngineOps for TimedEngine {
    fn run(&self, _engine: u32, job: JobHandle) {
        let word = |i: usize| {
            job.payload()
                .get(i..i + 4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (index, usecs) = (word(0), word(4));
        if index == BLOCKER {
            *self.blocker.lock() = Some(job);
            return;
        }
        let Some(timer) = self.timers.get(index as usize) else {
            job.complete(Err(EINVAL));
            return;
        };
        if usecs == 0 {
            job.complete(Ok(()));
            return;
        }
        *timer.job.lock() = Some(job);
        timer.marks.mark_started();
        let handle = timer.clone().start(Delta::from_micros(i64::from(usecs)));
        // The old handle of this slot (none: each timer is used once per case) would cancel
        // the timer if dropped; keep the new one until the case ends.
        let old = self.handles.lock()[index as usize].replace(handle);
        drop(old);
    }
}

/// One link of the timer-floor chain: when it fires it starts the next link, or records the
/// end time if it is the last.
#[pin_data]
struct FloorTimer {
    #[pin]
    timer: HrTimer<FloorTimer>,
    next: Option<Arc<FloorTimer>>,
    /// The handle of this link's own timer, set by whoever started it and kept until the case
    /// ends (dropping it would cancel the timer).
    #[pin]
    handle: SpinLockIrq<Option<ArcHrTimerHandle<FloorTimer>>>,
    /// When the last link fired (`None` until then); shared by every link.
    end: Arc<SpinLockIrq<Option<Instant<Monotonic>>>>,
    /// The last link's: signalled when it fires, for the waiter.
    done: Option<ARef<Fence>>,
    marks: TimerMarks,
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for FloorTimer {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl FloorTimer {
    /// Starts this link's timer and keeps its handle.
    fn start_link(self: &Arc<Self>) {
        self.marks.mark_started();
        let handle = self.clone().start(Delta::from_micros(i64::from(JOB_US)));
        *self.handle.lock() = Some(handle);
    }
}

impl HrTimerCallback for FloorTimer {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        this.marks.mark_fired();
        match &this.next {
            Some(next) => next.start_link(),
            None => *this.end.lock() = Some(Instant::now()),
        }
        if let Some(done) = &this.done {
            // Cannot fail: only this callback signals the fence, once.
            let _ = done.signal();
        }
        HrTimerRestart::NoRestart
    }
}

/// Every link of a timer-floor chain, oldest (the last to fire) first.
struct FloorChain(KVec<Arc<FloorTimer>>);

impl Drop for FloorChain {
    fn drop(&mut self) {
        // Newest first: each link then goes while the vector still holds the one it points to,
        // so no drop recurses down the chain.
        while let Some(link) = self.0.pop() {
            drop(link);
        }
    }
}

/// The timer-floor case: the time from starting the first of [`JOBS`] chained timers until the
/// last fires, in µs, and the timers' mean expiry lateness in ns.
fn timer_floor() -> Result<(i64, i64)> {
    let last_fired = Arc::pin_init(new_spinlock_irq!(None), GFP_KERNEL)?;
    let context = FenceContext::new(c"xaccel", c"sched-bench-floor", None)?;
    let done = context.create_fence(GFP_KERNEL)?;
    let mut links = FloorChain(KVec::with_capacity(JOBS, GFP_KERNEL)?);
    let mut next: Option<Arc<FloorTimer>> = None;
    let epoch = Instant::now();
    for i in 0..JOBS {
        let shared_end = last_fired.clone();
        let link_done = (i == 0).then(|| done.clone());
        let link = Arc::pin_init(
            pin_init!(FloorTimer {
                timer <- HrTimer::new(),
                next: next.take(),
                handle <- new_spinlock_irq!(None),
                end: shared_end,
                done: link_done,
                marks: TimerMarks::new(epoch),
            }),
            GFP_KERNEL,
        )?;
        links.0.push(link.clone(), GFP_KERNEL)?;
        next = Some(link);
    }
    let first = next.ok_or(EINVAL)?;
    let start = Instant::<Monotonic>::now();
    first.start_link();
    // Blocked like the cases' wait for their last job (the end time is taken by the last
    // callback); the timeout is a hang guard.
    let waited = done.wait(WaitMode::Uninterruptible, Some(Delta::from_secs(60)));
    // Every timer has fired or is cancelled here, before the links (and their handles) go.
    links
        .0
        .iter()
        .for_each(|link| drop(link.handle.lock().take()));
    drop(first);
    if waited.is_err() {
        // The chain was cut short: nobody else signals the fence.
        let _ = done.signal_error(ETIMEDOUT);
    }
    let late = mean_ns(&links.0, |link| link.marks.late(JOB_US));
    let finished = *last_fired.lock();
    finished
        .map(|end| ((end - start).as_micros_ceil(), late))
        .ok_or(ETIMEDOUT)
}

/// A job of `usecs` on timer `index`, depending on `dep`.
fn job(index: u32, usecs: u32, dep: Option<ARef<DmaFence>>) -> Result<JobDesc> {
    let mut payload = KVec::with_capacity(8, GFP_KERNEL)?;
    payload.extend_from_slice(&index.to_le_bytes(), GFP_KERNEL)?;
    payload.extend_from_slice(&usecs.to_le_bytes(), GFP_KERNEL)?;
    let mut dependencies = KVec::new();
    if let Some(dep) = dep {
        dependencies.push(dep, GFP_KERNEL)?;
    }
    Ok(JobDesc {
        credits: 1,
        timeout: None,
        payload,
        memory: crate::job_memory::JobMemory::none(),
        dependencies,
    })
}

/// Runs one case: `entities` entities, jobs of `usecs`, chained if `chain`. Returns the
/// time from releasing the blocker to the last fence, in µs, and for timed jobs
/// [`TimedEngine::breakdown`].
fn case(entities: usize, usecs: u32, chain: bool) -> Result<(i64, Option<(i64, i64)>)> {
    let engine = TimedEngine::new()?;
    let ring = Ring::new(
        RingConfig {
            engine: 0,
            credit_limit: 1,
            default_timeout: Delta::from_secs(60),
            max_timeout: Delta::from_secs(60),
        },
        engine.clone(),
    )?;
    let mut list = KVec::with_capacity(entities, GFP_KERNEL)?;
    for _ in 0..entities {
        list.push(Entity::new(&ring, Priority::Normal, c"bench")?, GFP_KERNEL)?;
    }
    let result = (|| -> Result<(i64, Option<(i64, i64)>)> {
        list[0].submit(job(BLOCKER, 0, None)?)?;
        let mut last: Option<ARef<Fence>> = None;
        for i in 0..JOBS {
            let dep = if chain {
                last.as_ref().map(|f| f.to_dma_fence())
            } else {
                None
            };
            last = Some(list[i % entities].submit(job(i as u32, usecs, dep)?)?);
        }
        let last = last.ok_or(EINVAL)?;
        // Wait (a hang guard, not a measurement) until the blocker occupies the ring.
        let mut tries = 0;
        while engine.blocker.lock().is_none() {
            tries += 1;
            if tries > 10_000 {
                return Err(ETIMEDOUT);
            }
            fsleep(Delta::from_millis(1));
        }
        let start = Instant::<Monotonic>::now();
        if !engine.release() {
            return Err(EINVAL);
        }
        last.wait(WaitMode::Uninterruptible, Some(Delta::from_secs(60)))?;
        let elapsed = start.elapsed();
        if last.status() != Ok(true) {
            return Err(EIO);
        }
        let breakdown = (usecs > 0).then(|| engine.breakdown(usecs));
        Ok((elapsed.as_micros_ceil(), breakdown))
    })();
    // Stop everything before the entities wait for their jobs.
    ring.shutdown();
    drop(list);
    engine
        .handles
        .lock()
        .iter_mut()
        .for_each(|h| drop(h.take()));
    result
}

/// Runs every case and prints the results; module init with `sched_bench=1`.
pub(crate) fn run() {
    let cases: [(&str, usize, u32, bool, usize); 3] = [
        ("queue", 1, JOB_US, false, 1),
        ("ping-pong", 2, JOB_US, true, 1),
        ("throughput", 1, 0, false, THROUGHPUT_REPEATS),
    ];
    let runs = cases
        .iter()
        .flat_map(|&(name, entities, usecs, chain, repeats)| {
            core::iter::repeat_n((name, entities, usecs, chain), repeats)
        });
    for (name, entities, usecs, chain) in runs {
        let expected = JOBS as i64 * i64::from(usecs);
        match case(entities, usecs, chain) {
            Ok((actual, None)) => pr_info!(
                "xaccel-sched-bench: {} jobs={} expected={}us actual={}us\n",
                name,
                JOBS,
                expected,
                actual
            ),
            Ok((actual, Some((late, restart)))) => pr_info!(
                "xaccel-sched-bench: {} jobs={} expected={}us actual={}us late={}ns restart={}ns\n",
                name,
                JOBS,
                expected,
                actual,
                late,
                restart
            ),
            Err(e) => pr_err!("xaccel-sched-bench: {} failed: {:?}\n", name, e),
        }
    }
    match timer_floor() {
        Ok((actual, late)) => pr_info!(
            "xaccel-sched-bench: timer-floor jobs={} expected={}us actual={}us late={}ns\n",
            JOBS,
            JOBS as i64 * i64::from(JOB_US),
            actual,
            late
        ),
        Err(e) => pr_err!("xaccel-sched-bench: timer-floor failed: {:?}\n", e),
    }
    super::flush();
}
