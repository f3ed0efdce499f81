// SPDX-License-Identifier: GPL-2.0-only
//! Submitting and waiting: NOP jobs (the engine's, from QUERY NOPS: any backend), order,
//! dependencies across contexts and devices (held back by sw_sync gates), timeline points,
//! sync_file export and import; on vaccel also DELAY, multi-packet programs and FAULT.

use std::os::fd::AsFd;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use xaccel::uapi::{DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT, DRM_XACCEL_SUBMIT_BO_WRITE};
use xaccel::{Bo, Context, Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::*;
pub use xaccel_selftests::sw_sync;

/// A NOP job signals its out-syncobj; seqnos count from 1 per context.
pub fn nop_signals(c: &Ctx) -> TestResult {
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let done = Syncobj::create(&c.dev, false)?;
    expect_eq(run(&ctx, &bo, prog.len(), &done)?, 1, "first seqno")?;
    expect_eq(outcome(&done)?, Ok(()), "NOP fence")?;
    expect_eq(run(&ctx, &bo, prog.len(), &done)?, 2, "second seqno")?;
    expect_eq(outcome(&done)?, Ok(()), "second NOP fence")?;
    tap::pass()
}

/// Jobs of one context complete in order: a job held back by a sw_sync gate holds back the
/// next one, which has no dependency of its own.
pub fn jobs_in_order(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let first = Syncobj::create(&c.dev, false)?;
    let second = Syncobj::create(&c.dev, false)?;
    ctx.submit(
        &Submit::new(&bo, 0, prog.len() as u64)
            .wait(&gate, 0)
            .signal(&first, 0),
    )?;
    run(&ctx, &bo, prog.len(), &second)?;
    expect_pending(&second, "the job behind a gated one")?;
    timeline.inc(1)?;
    // Waiting for the second implies the first is done: a poll of the first then succeeds.
    second.wait(0, GUARD)?;
    first.wait(0, Duration::ZERO)?;
    tap::pass()
}

/// A program with several packets (NOP, DELAY, NOP) runs to completion.
pub fn multi_packet_program(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("DELAY") {
        return skip;
    }
    let ctx = c.context(&c.dev, Priority::High)?;
    let mut prog = c.nop();
    prog.extend(delay(1000));
    prog.extend(c.nop());
    let bo = c.program(&c.dev, &prog)?;
    let done = Syncobj::create(&c.dev, false)?;
    run(&ctx, &bo, prog.len(), &done)?;
    expect_eq(outcome(&done)?, Ok(()), "program fence")?;
    tap::pass()
}

/// A FAULT job's fence carries EIO; the context keeps working.
pub fn fault_reports_eio(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("FAULT") {
        return skip;
    }
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let bad = fault();
    let bad_bo = c.program(&c.dev, &bad)?;
    let done = Syncobj::create(&c.dev, false)?;
    run(&ctx, &bad_bo, bad.len(), &done)?;
    expect_eq(outcome(&done)?, Err(Errno::IO), "FAULT fence")?;
    let good = c.nop();
    let good_bo = c.program(&c.dev, &good)?;
    run(&ctx, &good_bo, good.len(), &done)?;
    expect_eq(outcome(&done)?, Ok(()), "NOP after FAULT")?;
    tap::pass()
}

/// Context B's job (on the last engine with a NOP) waits for context A's gated job through a
/// syncobj.
pub fn dependency_across_contexts(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let a = c.context(&c.dev, Priority::Normal)?;
    let b = Context::create(&c.dev, c.last, Priority::High)?;
    let (a_prog, b_prog) = (c.nop(), c.last_nop());
    let (a_bo, b_bo) = (c.program(&c.dev, &a_prog)?, c.program(&c.dev, &b_prog)?);
    let a_done = Syncobj::create(&c.dev, false)?;
    let b_done = Syncobj::create(&c.dev, false)?;
    a.submit(
        &Submit::new(&a_bo, 0, a_prog.len() as u64)
            .wait(&gate, 0)
            .signal(&a_done, 0),
    )?;
    b.submit(
        &Submit::new(&b_bo, 0, b_prog.len() as u64)
            .wait(&a_done, 0)
            .signal(&b_done, 0),
    )?;
    expect_pending(&b_done, "B's job")?;
    timeline.inc(1)?;
    b_done.wait(0, GUARD)?;
    // B only ran after A: A's fence is signalled now.
    a_done.wait(0, Duration::ZERO)?;
    tap::pass()
}

/// A job on another xaccel device (any backend with a NOP) waits for a gated job on this one,
/// through a sync_file.
pub fn dependency_across_devices(c: &Ctx) -> TestResult {
    let mut peer = None;
    for path in Device::enumerate()?.into_iter().filter(|p| *p != c.path) {
        let Ok(other) = Device::open(&path) else {
            continue;
        };
        if let Ok(Some(((engine, nop), _))) = nop_engines(&other) {
            peer = Some((other, engine, nop));
            break;
        }
    }
    let Some((other, engine, quick)) = peer else {
        return tap::skip("no other xaccel device with a NOP");
    };
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let a = c.context(&c.dev, Priority::Normal)?;
    let b = Context::create(&other, engine, Priority::Normal)?;
    let slow = c.nop();
    let slow_bo = c.program(&c.dev, &slow)?;
    let quick_bo = c.program(&other, &quick)?;
    let a_done = Syncobj::create(&c.dev, false)?;
    a.submit(
        &Submit::new(&slow_bo, 0, slow.len() as u64)
            .wait(&gate, 0)
            .signal(&a_done, 0),
    )?;
    let fence = a_done.export_sync_file()?;
    let imported = Syncobj::create(&other, false)?;
    imported.import_sync_file(fence.as_fd())?;
    let b_done = Syncobj::create(&other, false)?;
    b.submit(
        &Submit::new(&quick_bo, 0, quick.len() as u64)
            .wait(&imported, 0)
            .signal(&b_done, 0),
    )?;
    expect_pending(&b_done, "the other device's job")?;
    timeline.inc(1)?;
    b_done.wait(0, GUARD)?;
    expect_eq(
        xaccel::sync_file_status(fence.as_fd())?,
        Ok(true),
        "first device's fence",
    )?;
    tap::pass()
}

/// Jobs signal points 1 and 2 of a timeline syncobj; a job waits for point 2.
pub fn timeline_points(c: &Ctx) -> TestResult {
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let timeline = Syncobj::create(&c.dev, false)?;
    let len = prog.len() as u64;
    ctx.submit(&Submit::new(&bo, 0, len).signal(&timeline, 1))?;
    ctx.submit(&Submit::new(&bo, 0, len).signal(&timeline, 2))?;
    let other = Context::create(&c.dev, c.engine, Priority::Low)?;
    let done = Syncobj::create(&c.dev, false)?;
    other.submit(&Submit::new(&bo, 0, len).wait(&timeline, 2).signal(&done, 0))?;
    done.wait(0, GUARD)?;
    timeline.wait(2, Duration::ZERO)?;
    timeline.wait(1, Duration::ZERO)?;
    tap::pass()
}

/// An exported sync_file of a job held back by a gate is not readable (poll); it becomes
/// readable when the job completes.
pub fn sync_file_poll(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let done = Syncobj::create(&c.dev, false)?;
    ctx.submit(
        &Submit::new(&bo, 0, prog.len() as u64)
            .wait(&gate, 0)
            .signal(&done, 0),
    )?;
    let fd = done.export_sync_file()?;
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let now = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    expect_eq(
        poll(&mut fds, Some(&now))?,
        0,
        "poll of a gated job's sync_file",
    )?;
    timeline.inc(1)?;
    let timeout = rustix::event::Timespec {
        tv_sec: GUARD.as_secs() as i64,
        tv_nsec: 0,
    };
    let ready = poll(&mut fds, Some(&timeout))?;
    ensure!(ready == 1, "poll returned {ready}");
    ensure!(
        fds[0].revents().contains(PollFlags::IN),
        "sync_file not readable"
    );
    expect_eq(xaccel::sync_file_status(fd.as_fd())?, Ok(true), "status")?;
    tap::pass()
}

/// A sw_sync fence (debugfs) is an in-fence: the job runs only after it is signalled.
pub fn sw_sync_in_fence(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let done = Syncobj::create(&c.dev, false)?;
    ctx.submit(
        &Submit::new(&bo, 0, prog.len() as u64)
            .wait(&gate, 0)
            .signal(&done, 0),
    )?;
    // Not before the gate: a short wait times out (the job cannot have run).
    expect_pending(&done, "the gated job")?;
    timeline.inc(1)?;
    expect_eq(outcome(&done)?, Ok(()), "gated job")?;
    tap::pass()
}

/// Implicit synchronisation through a shared BO: a job reading it waits for the job writing
/// it (held back by a sw_sync gate); with NO_IMPLICIT it does not.
pub fn implicit_sync_through_a_bo(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let shared = Bo::create(&c.dev, 4096, c.system)?;
    let writer = c.context(&c.dev, Priority::Normal)?;
    let reader = Context::create(&c.dev, c.last, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let len = prog.len() as u64;
    let reader_prog = c.last_nop();
    let reader_bo = c.program(&c.dev, &reader_prog)?;
    let reader_len = reader_prog.len() as u64;
    let (w, opted_out, r) = (
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
    );
    writer.submit(
        &Submit::new(&bo, 0, len)
            .wait(&gate, 0)
            .bo(&shared, DRM_XACCEL_SUBMIT_BO_WRITE)
            .signal(&w, 0),
    )?;
    // Opting out: runs although the writer cannot.
    reader.submit(
        &Submit::new(&reader_bo, 0, reader_len)
            .bo(&shared, DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT)
            .signal(&opted_out, 0),
    )?;
    expect_eq(outcome(&opted_out)?, Ok(()), "reader without implicit sync")?;
    // Implicit: waits for the writer, which waits for the gate.
    reader.submit(
        &Submit::new(&reader_bo, 0, reader_len)
            .bo(&shared, 0)
            .signal(&r, 0),
    )?;
    expect_pending(&r, "the reader implicitly depending on the writer")?;
    timeline.inc(1)?;
    expect_eq(outcome(&r)?, Ok(()), "reader after the writer")?;
    w.wait(0, Duration::ZERO)?;
    tap::pass()
}
