// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: the scheduler when things go wrong (timeouts and reset, guilty and innocent
//! entities, entity teardown with work queued and running, the backend going away).
//!
//! The hung jobs use short timeouts so the suite runs quickly; no check depends on timing.

#[kernel::prelude::kunit_tests(xaccel_sched_recovery)]
mod tests {
    use crate::fence::{stats, FenceContext};
    use crate::sched::mock::*;
    use crate::sched::{live_rings, Entity, Priority, ResetDomain};
    use kernel::{prelude::*, time::Delta};

    /// A job that hangs, with a 500 ms timeout: long enough for a test to queue its other jobs
    /// behind it first, even on a loaded emulated machine (a 50 ms one once expired first).
    fn hang(tag: u8) -> Result<crate::sched::JobDesc> {
        let mut desc = job(tag, HANG, &[])?;
        desc.timeout = Some(Delta::from_millis(500));
        Ok(desc)
    }

    #[test]
    fn device_reset_reruns_the_innocent_jobs_of_every_ring() -> Result {
        let before = stats();
        {
            // The engine reset fails, the device reset works and wipes both engines' jobs.
            let mock = Mock::with_resets(false, true)?;
            let hung_rig = Rig::engine(0, 2, mock.clone())?;
            let other_rig = Rig::engine(1, 2, mock.clone())?;
            ResetDomain::join(&[hung_rig.ring.clone(), other_rig.ring.clone()])?;
            let guilty = hung_rig.entity(Priority::Normal)?;
            let neighbour = hung_rig.entity(Priority::Normal)?;
            let elsewhere = other_rig.entity(Priority::Normal)?;
            let _stop_hung = hung_rig.stopper();
            let _stop_other = other_rig.stopper();
            let other_running = elsewhere.submit(job(1, HOLD, &[])?)?;
            let hung = guilty.submit(hang(3)?)?;
            let neighbour_running = neighbour.submit(job(2, HOLD, &[])?)?;
            wait(&hung)?;
            ensure!(hung.status() == Err(ETIME));
            // Both innocent jobs were handed to their engines again after the device reset.
            wait_until(|| mock.held() == 2)?;
            ensure!(mock.resets() == 2);
            ensure!(mock.log()?[..] == [1, 3, 2, 2, 1]);
            ensure!(!other_running.is_signaled() && !neighbour_running.is_signaled());
            ensure!(mock.release(Ok(())) && mock.release(Ok(())));
            wait(&other_running)?;
            wait(&neighbour_running)?;
            ensure!(other_running.status() == Ok(true) && neighbour_running.status() == Ok(true));
            ensure!(guilty.is_guilty() && !neighbour.is_guilty() && !elsewhere.is_guilty());
            // Both rings keep working.
            let after = elsewhere.submit(job(4, COMPLETE, &[])?)?;
            wait(&after)?;
            ensure!(after.status() == Ok(true));
        }
        settle();
        ensure!(live_rings() == 0 && stats() == before);
        Ok(())
    }

    #[test]
    fn timeout_resets_blames_the_guilty_and_reruns_the_innocent() -> Result {
        let before = stats();
        {
            let rig = Rig::new(4)?;
            let guilty = rig.entity(Priority::Normal)?;
            let innocent = rig.entity(Priority::Normal)?;
            let _stop = rig.stopper();
            let g1 = guilty.submit(hang(1)?)?;
            wait_until(|| rig.mock.held() == 1)?;
            let i1 = innocent.submit(job(2, HOLD, &[])?)?;
            let g2 = guilty.submit(job(3, HOLD, &[])?)?;
            let external = FenceContext::new(c"xaccel-test", c"gate", None)?;
            let gate = external.create_fence(GFP_KERNEL)?;
            let g3 = guilty.submit(job(4, COMPLETE, &[&gate])?)?;
            wait(&g1)?;
            ensure!(g1.status() == Err(ETIME));
            wait(&g2)?;
            wait(&g3)?;
            ensure!(g2.status() == Err(ECANCELED) && g3.status() == Err(ECANCELED));
            ensure!(guilty.is_guilty() && !innocent.is_guilty());
            ensure!(guilty.submit(job(5, COMPLETE, &[])?).err() == Some(EIO));
            ensure!(rig.ring.reset_count() == 1 && rig.mock.resets() == 1);
            // The innocent job was handed to the engine again and still completes normally.
            wait_until(|| rig.mock.held() == 1)?;
            ensure!(!i1.is_signaled());
            ensure!(rig.mock.release(Ok(())));
            wait(&i1)?;
            ensure!(i1.status() == Ok(true));
            ensure!(rig.mock.log()?[..] == [1, 2, 3, 2]);
            // The innocent entity keeps working.
            let i2 = innocent.submit(job(6, COMPLETE, &[])?)?;
            wait(&i2)?;
            ensure!(i2.status() == Ok(true));
            gate.signal()?;
        }
        settle();
        ensure!(live_rings() == 0 && stats() == before);
        Ok(())
    }

    #[test]
    fn failed_reset_completes_the_innocent_with_eio() -> Result {
        let rig = Rig::with_mock(2, Mock::new(false)?)?;
        let guilty = rig.entity(Priority::Normal)?;
        let innocent = rig.entity(Priority::Normal)?;
        let _stop = rig.stopper();
        let g1 = guilty.submit(hang(1)?)?;
        let i1 = innocent.submit(job(2, HOLD, &[])?)?;
        wait(&g1)?;
        wait(&i1)?;
        ensure!(g1.status() == Err(ETIME) && i1.status() == Err(EIO));
        ensure!(rig.ring.reset_count() == 1);
        // The innocent entity is not blamed.
        let i2 = innocent.submit(job(3, COMPLETE, &[])?)?;
        wait(&i2)?;
        ensure!(i2.status() == Ok(true));
        Ok(())
    }

    #[test]
    fn destroying_an_entity_cancels_what_never_ran() -> Result {
        let before = stats();
        {
            let rig = Rig::new(2)?;
            let _stop = rig.stopper();
            let external = FenceContext::new(c"xaccel-test", c"never", None)?;
            let never = external.create_fence(GFP_KERNEL)?;
            let entity = rig.entity(Priority::High)?;
            let f1 = entity.submit(job(1, COMPLETE, &[&never])?)?;
            let f2 = entity.submit(job(2, COMPLETE, &[])?)?;
            drop(entity);
            ensure!(f1.status() == Err(ECANCELED) && f2.status() == Err(ECANCELED));
            // The dependency signalling later finds nothing to run.
            never.signal()?;
            settle();
            ensure!(rig.mock.runs() == 0);
        }
        settle();
        ensure!(live_rings() == 0 && stats() == before);
        Ok(())
    }

    #[test]
    fn destroying_an_entity_waits_for_its_running_job() -> Result {
        let rig = Rig::new(1)?;
        let _stop = rig.stopper();
        let entity = rig.entity(Priority::Normal)?;
        let f1 = entity.submit(hang(1)?)?;
        let f2 = entity.submit(job(2, COMPLETE, &[])?)?;
        wait_until(|| rig.mock.held() == 1)?;
        // Returns once the hung job timed out; the queued one never runs.
        drop(entity);
        ensure!(f1.status() == Err(ETIME));
        ensure!(f2.status() == Err(ECANCELED));
        ensure!(f1.timestamp() <= f2.timestamp());
        ensure!(rig.mock.log()?[..] == [1]);
        Ok(())
    }

    #[test]
    fn shutdown_signals_everything_with_enodev() -> Result {
        let before = stats();
        {
            let rig = Rig::new(1)?;
            let entity = rig.entity(Priority::Normal)?;
            let running = entity.submit(job(1, HOLD, &[])?)?;
            let queued = entity.submit(job(2, COMPLETE, &[])?)?;
            wait_until(|| rig.mock.held() == 1)?;
            rig.ring.shutdown();
            ensure!(running.status() == Err(ENODEV) && queued.status() == Err(ENODEV));
            ensure!(entity.submit(job(3, COMPLETE, &[])?).err() == Some(ENODEV));
            ensure!(Entity::new(&rig.ring, Priority::Low, c"late").err() == Some(ENODEV));
            // The backend's late completion of the running job changes nothing.
            ensure!(rig.mock.release(Ok(())));
            ensure!(running.status() == Err(ENODEV));
            settle();
            ensure!(rig.mock.runs() == 1);
        }
        settle();
        ensure!(live_rings() == 0 && stats() == before);
        Ok(())
    }
}
