// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: what the scheduler reports besides fences: deadline hints reaching the backend, the
//! ring counters debugfs shows, and the per-client busy clocks fdinfo shows.

#[kernel::prelude::kunit_tests(xaccel_sched_stats)]
mod tests {
    use crate::fence::Timestamp;
    use crate::sched::mock::*;
    use crate::sched::{BusyClock, Entity, Priority, RingSnapshot};
    use kernel::{
        prelude::*,
        time::{delay::fsleep, Delta},
    };

    #[test]
    fn deadline_hints_reach_the_backend() -> Result {
        let rig = Rig::new(1)?;
        let entity = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let running = entity.submit(job(1, HOLD, &[])?)?;
        let deadline = Timestamp::now() + Delta::from_millis(16);
        running.to_dma_fence().set_deadline(deadline);
        wait_until(|| rig.mock.deadlines().0 == 1)?;
        ensure!(rig.mock.deadlines().1 == deadline.as_nanos());
        let snapshot = rig.ring.snapshot();
        ensure!(snapshot.deadlines == 1 && snapshot.last_deadline_ns == deadline.as_nanos());
        // Once the fence has signalled, hints no longer reach anyone.
        ensure!(rig.mock.release(Ok(())));
        wait(&running)?;
        running.to_dma_fence().set_deadline(deadline);
        settle();
        ensure!(rig.mock.deadlines().0 == 1);
        Ok(())
    }

    #[test]
    fn counters_follow_jobs() -> Result {
        let rig = Rig::new(1)?;
        let entity = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let held = entity.submit(job(1, HOLD, &[])?)?;
        let _ok = entity.submit(job(2, COMPLETE, &[])?)?;
        let faulty = entity.submit(job(3, FAULT, &[])?)?;
        let expected = RingSnapshot {
            queued: 2,
            running: 1,
            ..RingSnapshot::default()
        };
        ensure!(rig.ring.snapshot() == expected);
        ensure!(rig.mock.release(Ok(())));
        wait(&faulty)?;
        ensure!(held.status() == Ok(true));
        let expected = RingSnapshot {
            completed: 3,
            failed: 1,
            last_error: EIO.to_errno(),
            ..RingSnapshot::default()
        };
        ensure!(rig.ring.snapshot() == expected);
        Ok(())
    }

    #[test]
    fn busy_clocks_count_while_a_client_runs() -> Result {
        let rig = Rig::new(4)?;
        let clock = BusyClock::new()?;
        let a = Entity::with_busy_clock(&rig.ring, Priority::Normal, c"a", Some(clock.clone()))?;
        let b = Entity::with_busy_clock(&rig.ring, Priority::High, c"b", Some(clock.clone()))?;
        let _stop = rig.stopper();
        ensure!(clock.busy() == Delta::ZERO);
        let first = a.submit(job(1, HOLD, &[])?)?;
        let second = b.submit(job(2, HOLD, &[])?)?;
        fsleep(Delta::from_millis(2));
        // Two jobs of one client at once count once: the clock is at least the time slept,
        // and it keeps going while they run.
        let running = clock.busy();
        ensure!(running >= Delta::from_millis(2));
        ensure!(rig.mock.release(Ok(())) && rig.mock.release(Ok(())));
        wait(&first)?;
        wait(&second)?;
        let stopped = clock.busy();
        ensure!(stopped >= running);
        fsleep(Delta::from_millis(1));
        ensure!(clock.busy() == stopped);
        Ok(())
    }
}
