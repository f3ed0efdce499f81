// SPDX-License-Identifier: GPL-2.0-only
//! When jobs go wrong or their owners go away: a hang recovered by a reset with an innocent
//! context continuing (vaccel's HANG), destroying a context and closing a file with work in
//! flight (the engine's NOP held back by a sw_sync gate: any backend).

use std::os::fd::AsFd;
use std::time::Duration;

use xaccel::{Errno, Priority, Submit, Syncobj};
use xaccel_selftests::fail;
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::*;

/// The first job's fence after its context went: completed, or cancelled before it started.
fn first_job_done(status: Result<bool, Errno>) -> Check {
    match status {
        Ok(true) | Err(Errno::CANCELED) => Ok(()),
        other => fail!("first job: {other:?}, expected done or ECANCELED"),
    }
}

/// A HANG times out and is reset: its fence carries ETIME, its context's next job ECANCELED,
/// SUBMIT on it fails with EIO; an innocent context on the same engine completes, and
/// QUERY's reset_count grows.
pub fn hang_is_recovered(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("HANG") {
        return skip;
    }
    let resets = c.dev.device_info()?.reset_count;
    let guilty = c.context(&c.dev, Priority::Normal)?;
    let innocent = c.context(&c.dev, Priority::Normal)?;
    let stuck = hang();
    let stuck_bo = c.program(&c.dev, &stuck)?;
    let work = delay(1000);
    let work_bo = c.program(&c.dev, &work)?;
    let (g1, g2, i1) = (
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
    );
    let timeout = Duration::from_millis(200);
    guilty.submit(
        &Submit::new(&stuck_bo, 0, stuck.len() as u64)
            .signal(&g1, 0)
            .timeout(timeout),
    )?;
    innocent.submit(&Submit::new(&work_bo, 0, work.len() as u64).signal(&i1, 0))?;
    guilty.submit(&Submit::new(&work_bo, 0, work.len() as u64).signal(&g2, 0))?;
    expect_eq(outcome(&g1)?, Err(Errno::TIME), "hung job")?;
    expect_eq(
        outcome(&g2)?,
        Err(Errno::CANCELED),
        "guilty context's next job",
    )?;
    expect_eq(outcome(&i1)?, Ok(()), "innocent job")?;
    let again = guilty.submit(&Submit::new(&work_bo, 0, work.len() as u64));
    expect_errno(
        again.map_err(|e| e.errno().unwrap_or(Errno::INVAL)),
        Errno::IO,
        "guilty SUBMIT",
    )?;
    expect_eq(c.dev.device_info()?.reset_count, resets + 1, "reset_count")?;
    // The innocent context, and new ones, keep working.
    run(&innocent, &work_bo, work.len(), &i1)?;
    expect_eq(outcome(&i1)?, Ok(()), "innocent job after the reset")?;
    tap::pass()
}

/// CONTEXT_DESTROY with a job submitted and one queued behind a sw_sync gate: the first one
/// completes (or is cancelled if it had not started), the queued one is cancelled, both fences
/// signal.
pub fn destroy_with_work_in_flight(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = crate::basic::sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let (s1, s2) = (
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
    );
    run(&ctx, &bo, prog.len(), &s1)?;
    ctx.submit(
        &Submit::new(&bo, 0, prog.len() as u64)
            .wait(&gate, 0)
            .signal(&s2, 0),
    )?;
    let (f1, f2) = (s1.export_sync_file()?, s2.export_sync_file()?);
    drop(ctx);
    // That teardown waits for a running job is proven deterministically by KUnit
    // (xaccel_sched_recovery).
    first_job_done(xaccel::sync_file_status(f1.as_fd())?)?;
    expect_eq(
        xaccel::sync_file_status(f2.as_fd())?,
        Err(Errno::CANCELED),
        "queued job",
    )?;
    timeline.inc(1)?;
    tap::pass()
}

/// Closing a file with a job submitted and one queued behind a sw_sync gate: the first one
/// completes or is cancelled, the queued one is cancelled; both sync_files (which outlive the
/// file) signal, and the device goes on.
pub fn close_with_work_in_flight(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = crate::basic::sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let dev = c.open_again()?;
    let prog = c.nop();
    let (f1, f2) = {
        let ctx = c.context(&dev, Priority::Normal)?;
        let bo = c.program(&dev, &prog)?;
        let s1 = Syncobj::create(&dev, false)?;
        let s2 = Syncobj::create(&dev, false)?;
        let local_gate = Syncobj::create(&dev, false)?;
        local_gate.import_sync_file(gate.export_sync_file()?.as_fd())?;
        run(&ctx, &bo, prog.len(), &s1)?;
        ctx.submit(
            &Submit::new(&bo, 0, prog.len() as u64)
                .wait(&local_gate, 0)
                .signal(&s2, 0),
        )?;
        let fences = (s1.export_sync_file()?, s2.export_sync_file()?);
        // Leave the context, syncobjs and BO to the file's release.
        std::mem::forget((ctx, s1, s2, local_gate, bo));
        fences
    };
    drop(dev);
    first_job_done(xaccel::sync_file_status(f1.as_fd())?)?;
    match xaccel::sync_file_status(f2.as_fd())? {
        Err(Errno::CANCELED) => {}
        other => fail!("queued job: {other:?}, expected ECANCELED"),
    }
    timeline.inc(1)?;
    // The device is still usable.
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let bo = c.program(&c.dev, &prog)?;
    let done = Syncobj::create(&c.dev, false)?;
    run(&ctx, &bo, prog.len(), &done)?;
    expect_eq(outcome(&done)?, Ok(()), "NOP after the close")?;
    tap::pass()
}
