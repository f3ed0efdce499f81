// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: the scheduler's normal operation with a mock backend (submission, ordering, errors,
//! dependencies, concurrent submitters, credits, priorities and aging).

#[kernel::prelude::kunit_tests(xaccel_sched)]
mod tests {
    use crate::fence::{stats, FenceContext};
    use crate::sched::mock::*;
    use crate::sched::{live_rings, Entity, JobDesc, Priority, AGING_LIMIT, INLINE_DISPATCHES};
    use kernel::{
        new_spinlock_irq,
        prelude::*,
        sync::{aref::ARef, completion::Completion, Arc, SetOnce},
        time::Delta,
        workqueue,
    };

    #[test]
    fn jobs_run_in_order_and_signal_their_fences() -> Result {
        let before = stats();
        {
            let rig = Rig::new(4)?;
            let entity = rig.entity(Priority::Normal)?;
            let _stop = rig.stopper();
            let f1 = entity.submit(job(1, COMPLETE, &[])?)?;
            let f2 = entity.submit(job(2, FAULT, &[])?)?;
            let f3 = entity.submit(job(3, COMPLETE, &[])?)?;
            ensure!(f1.seqno() == 1 && f2.seqno() == 2 && f3.seqno() == 3);
            ensure!(f1.context() == entity.fence_context());
            wait(&f3)?;
            ensure!(f1.status() == Ok(true));
            ensure!(f2.status() == Err(EIO));
            ensure!(f3.status() == Ok(true));
            ensure!(rig.mock.log()?[..] == [1, 2, 3]);
            ensure!(rig.ring.credits_in_flight() == 0);
        }
        settle();
        ensure!(live_rings() == 0);
        ensure!(stats() == before);
        Ok(())
    }

    #[test]
    fn one_pass_hands_a_bounded_number_of_jobs_to_the_backend() -> Result {
        // 200 jobs the backend completes inside `run` wait behind a held one. Releasing it with
        // interrupts off runs a pass in this task that may not go on in further sections: it
        // starts at most INLINE_DISPATCHES of them, and the work item starts the rest.
        const QUEUED: u8 = 200;
        let irqs_off = KBox::pin_init(new_spinlock_irq!(()), GFP_KERNEL)?;
        let rig = Rig::new(1)?;
        let entity = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let (blocker, last) = rig.queue_behind_held(&entity, QUEUED)?;
        rig.mock.watch_current_task();
        let released = {
            let _irqs_off = irqs_off.lock();
            rig.mock.release(Ok(()))
        };
        ensure!(released);
        wait(&last)?;
        ensure!(blocker.status() == Ok(true) && last.status() == Ok(true));
        ensure!(rig.mock.runs_by_watched() <= INLINE_DISPATCHES);
        let log = rig.mock.log()?;
        ensure!(log.len() == usize::from(QUEUED) + 1);
        ensure!(log
            .iter()
            .enumerate()
            .all(|(i, &tag)| usize::from(tag) == i));
        ensure!(rig.ring.credits_in_flight() == 0);
        Ok(())
    }

    #[test]
    fn a_batch_of_retired_jobs_is_freed_by_the_reaping_work_item() -> Result {
        // 100 jobs the backend completes inside `run`, behind a held one: the pass that releases
        // it retires them a section at a time, more than a pass frees itself, so the ring's
        // reaping work item frees them. Each holds the ring (through its entity): once the item
        // has run, nothing does.
        {
            let rig = Rig::new(1)?;
            let entity = rig.entity(Priority::Normal)?;
            let _stop = rig.stopper();
            let (blocker, last) = rig.queue_behind_held(&entity, 100)?;
            ensure!(rig.mock.release(Ok(())));
            wait(&last)?;
            ensure!(blocker.status() == Ok(true) && last.status() == Ok(true));
            ensure!(rig.ring.stats.reap_batches() >= 1);
        }
        settle();
        ensure!(live_rings() == 0);
        Ok(())
    }

    #[test]
    fn a_full_queue_refuses_jobs_until_one_starts() -> Result {
        let rig = Rig::new(1)?;
        let entity = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        entity.limit_queue(2);
        // The held job runs (it holds the only credit): it is not queued.
        let held = entity.submit(job(0, HOLD, &[])?)?;
        wait_until(|| rig.mock.held() == 1)?;
        let first = entity.submit(job(1, COMPLETE, &[])?)?;
        let second = entity.submit(job(2, COMPLETE, &[])?)?;
        ensure!(!entity.has_room());
        ensure!(entity.submit(job(3, COMPLETE, &[])?).err() == Some(EBUSY));
        // Nothing of the refused job remains: the queue drains, and the next job gets the next
        // seqno.
        ensure!(rig.mock.release(Ok(())));
        wait(&second)?;
        ensure!(held.status() == Ok(true) && first.status() == Ok(true));
        ensure!(entity.has_room());
        let next = entity.submit(job(4, COMPLETE, &[])?)?;
        ensure!(next.seqno() == 4);
        wait(&next)?;
        ensure!(rig.mock.log()?[..] == [0, 1, 2, 4]);
        Ok(())
    }

    #[test]
    fn invalid_jobs_are_refused() -> Result {
        let rig = Rig::new(2)?;
        let entity = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let with = |credits, timeout| -> Result<JobDesc> {
            let mut desc = job(0, COMPLETE, &[])?;
            desc.credits = credits;
            desc.timeout = timeout;
            Ok(desc)
        };
        ensure!(entity.submit(with(0, None)?).err() == Some(EINVAL));
        ensure!(entity.submit(with(3, None)?).err() == Some(EINVAL));
        ensure!(entity.submit(with(1, Some(Delta::ZERO))?).err() == Some(EINVAL));
        ensure!(entity.submit(with(1, Some(Delta::from_secs(21)))?).err() == Some(E2BIG));
        // Nothing was queued or numbered.
        ensure!(rig.mock.runs() == 0);
        let ok = entity.submit(with(2, Some(Delta::from_secs(20)))?)?;
        wait(&ok)?;
        ensure!(ok.seqno() == 1 && ok.status() == Ok(true));
        Ok(())
    }

    #[test]
    fn dependencies_hold_jobs_back() -> Result {
        let rig = Rig::new(4)?;
        let a = rig.entity(Priority::Normal)?;
        let b = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let external = FenceContext::new(c"xaccel-test", c"external", None)?;
        let gate = external.create_fence(GFP_KERNEL)?;
        // a1 waits for the external fence; b1 waits for a1 (a chain across entities).
        let a1 = a.submit(job(1, COMPLETE, &[&gate])?)?;
        let b1 = b.submit(job(2, COMPLETE, &[&a1])?)?;
        // b2 has no dependency of its own, but leaves b only after b1.
        let b2 = b.submit(job(3, COMPLETE, &[])?)?;
        settle();
        ensure!(rig.mock.runs() == 0);
        ensure!(!a1.is_signaled() && !b1.is_signaled() && !b2.is_signaled());
        gate.signal()?;
        wait(&b2)?;
        ensure!(rig.mock.log()?[..] == [1, 2, 3]);
        // An already signalled dependency does not delay anything.
        let done = a.submit(job(4, COMPLETE, &[&gate])?)?;
        wait(&done)?;
        Ok(())
    }

    #[test]
    fn concurrent_submitters_all_complete_in_order() -> Result {
        const SUBMITTERS: usize = 4;
        const JOBS: u8 = 50;
        let rig = Rig::new(8)?;
        let mut entities = KVec::new();
        let mut lasts = KVec::new();
        let mut dones = KVec::new();
        for _ in 0..SUBMITTERS {
            entities.push(
                Arc::new(rig.entity(Priority::Normal)?, GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        let _stop = rig.stopper();
        for entity in entities.iter() {
            let last = Arc::new(
                SetOnce::<Result<ARef<crate::fence::Fence>>>::new(),
                GFP_KERNEL,
            )?;
            let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
            let (entity, out, finished) = (entity.clone(), last.clone(), done.clone());
            workqueue::system().try_spawn(GFP_KERNEL, move || {
                let mut result = Err(EINVAL);
                for tag in 0..JOBS {
                    result = job(tag, COMPLETE, &[]).and_then(|d| entity.submit(d));
                    if result.is_err() {
                        break;
                    }
                }
                out.populate(result);
                finished.complete_all();
            })?;
            lasts.push(last, GFP_KERNEL)?;
            dones.push(done, GFP_KERNEL)?;
        }
        for (last, done) in lasts.iter().zip(dones.iter()) {
            done.wait_for_completion();
            let fence = match (**last).as_ref() {
                Some(Ok(fence)) => fence.clone(),
                _ => return Err(EINVAL),
            };
            wait(&fence)?;
            ensure!(fence.seqno() == u64::from(JOBS) && fence.status() == Ok(true));
        }
        ensure!(rig.mock.runs() == SUBMITTERS * usize::from(JOBS));
        // Per entity, the tags ran in submission order: the log interleaves the entities, so
        // count that each tag value appears SUBMITTERS times in total, every one in order.
        let log = rig.mock.log()?;
        let mut seen = [0u8; SUBMITTERS];
        for tag in log.iter() {
            // Some submitter's next expected tag must be this one.
            let Some(slot) = seen.iter_mut().find(|s| **s == *tag) else {
                return Err(EINVAL);
            };
            *slot += 1;
        }
        ensure!(seen.iter().all(|s| *s == JOBS));
        Ok(())
    }

    #[test]
    fn credits_in_flight_never_exceed_the_limit() -> Result {
        let rig = Rig::new(4)?;
        let entity = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let mut fences = KVec::new();
        for tag in 0..5 {
            let mut desc = job(tag, HOLD, &[])?;
            desc.credits = 2;
            fences.push(entity.submit(desc)?, GFP_KERNEL)?;
        }
        // A 3-credit job behind them does not overtake anything.
        let mut big = job(9, COMPLETE, &[])?;
        big.credits = 3;
        let big = entity.submit(big)?;
        wait_until(|| rig.mock.held() == 2)?;
        settle();
        ensure!(rig.mock.held() == 2 && rig.ring.credits_in_flight() == 4);
        for expected_runs in [3usize, 4, 5] {
            ensure!(rig.mock.release(Ok(())));
            wait_until(|| rig.mock.runs() == expected_runs)?;
            ensure!(rig.ring.credits_in_flight() <= 4);
        }
        while rig.mock.release(Ok(())) {}
        wait(&big)?;
        ensure!(fences.iter().all(|f| f.status() == Ok(true)));
        ensure!(rig.mock.log()?[..] == [0, 1, 2, 3, 4, 9]);
        ensure!(rig.ring.credits_in_flight() == 0);
        Ok(())
    }

    /// Submits `count` auto-completing jobs tagged `tag..` on `entity`.
    fn flood(entity: &Entity, tag: u8, count: u8) -> Result<ARef<crate::fence::Fence>> {
        let mut last = Err(EINVAL);
        for i in 0..count {
            last = entity.submit(job(tag + i, COMPLETE, &[])?);
        }
        last
    }

    #[test]
    fn higher_priorities_go_first_and_levels_take_turns() -> Result {
        let rig = Rig::new(1)?;
        let blocker = rig.entity(Priority::Low)?;
        let low = rig.entity(Priority::Low)?;
        let normal_a = rig.entity(Priority::Normal)?;
        let normal_b = rig.entity(Priority::Normal)?;
        let high = rig.entity(Priority::High)?;
        let realtime = rig.entity(Priority::Realtime)?;
        let _stop = rig.stopper();
        let _held = blocker.submit(job(100, HOLD, &[])?)?;
        wait_until(|| rig.mock.held() == 1)?;
        let l = flood(&low, 10, 1)?;
        flood(&normal_a, 20, 2)?;
        flood(&normal_b, 30, 2)?;
        flood(&high, 40, 1)?;
        flood(&realtime, 50, 1)?;
        ensure!(rig.mock.release(Ok(())));
        wait(&l)?;
        ensure!(rig.mock.log()?[..] == [100, 50, 40, 20, 30, 21, 31, 10]);
        Ok(())
    }

    #[test]
    fn aging_bounds_the_wait_of_lower_priorities() -> Result {
        let rig = Rig::new(1)?;
        let blocker = rig.entity(Priority::Low)?;
        let low = rig.entity(Priority::Low)?;
        let high = rig.entity(Priority::High)?;
        let _stop = rig.stopper();
        let _held = blocker.submit(job(200, HOLD, &[])?)?;
        wait_until(|| rig.mock.held() == 1)?;
        let last_high = flood(&high, 0, 40)?;
        let l = low.submit(job(99, COMPLETE, &[])?)?;
        ensure!(rig.mock.release(Ok(())));
        wait(&l)?;
        wait(&last_high)?;
        let log = rig.mock.log()?;
        let position = log.iter().position(|t| *t == 99).ok_or(EINVAL)?;
        // After the blocker: exactly AGING_LIMIT high jobs pass the low one over.
        ensure!(position == 1 + AGING_LIMIT as usize);
        ensure!(log.len() == 42);
        Ok(())
    }
}
