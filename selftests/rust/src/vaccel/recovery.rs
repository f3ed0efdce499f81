// SPDX-License-Identifier: GPL-2.0-only
//! A HANG recovered through the core's timeout path while an innocent context's memory job
//! waits behind it, and two vaccel devices sharing a BO through dma-buf.

use std::time::Duration;

use xaccel::vaccel::{Mem, Program};
use xaccel::{Access, Bo, Context, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::*;

/// A command buffer BO holding `program`.
fn commands<'d>(c: &'d Ctx, dev: &'d xaccel::Device, program: &Program) -> Check<Bo<'d>> {
    let bo = Bo::create(dev, program.as_bytes().len() as u64, c.system)?;
    bo.map()?.write(0, program.as_bytes());
    Ok(bo)
}

/// HANG with a short timeout on one context; a COPY on an innocent context of the same engine,
/// queued behind it, completes with the right bytes once the engine is reset; the guilty
/// context's next job is cancelled and its SUBMITs fail with EIO.
pub fn hang_recovered(c: &Ctx) -> TestResult {
    let guilty = Context::create(&c.dev, 0, Priority::Normal)?;
    let innocent = Context::create(&c.dev, 0, Priority::Normal)?;
    let mut hang = Program::new();
    hang.hang();
    let hang_bo = commands(c, &c.dev, &hang)?;
    let mut copy = Program::new();
    copy.copy(Mem::bo(0, 1), Mem::bo(1, 0), c.page - 1);
    let copy_bo = commands(c, &c.dev, &copy)?;
    let mut rng = Rng::new(42);
    let data = rng.bytes(c.page as usize);
    let src = c.bo_with(c.system, c.page, &data)?;
    let dst = Bo::create(&c.dev, c.page, *c.placements().last().unwrap())?;
    let (g1, g2, i1) = (
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
        Syncobj::create(&c.dev, false)?,
    );
    let len = |p: &Program| p.as_bytes().len() as u64;
    guilty.submit(
        &Submit::new(&hang_bo, 0, len(&hang))
            .signal(&g1, 0)
            .timeout(Duration::from_millis(200)),
    )?;
    innocent.submit(
        &Submit::new(&copy_bo, 0, len(&copy))
            .bo(&dst, WRITE)
            .bo(&src, READ)
            .signal(&i1, 0),
    )?;
    guilty.submit(
        &Submit::new(&copy_bo, 0, len(&copy))
            .bo(&dst, WRITE)
            .bo(&src, READ)
            .signal(&g2, 0),
    )?;
    ensure!(
        outcome(&g1)? == Err(Errno::TIME),
        "the hung job did not time out"
    );
    match outcome(&g2)? {
        Err(Errno::CANCELED) => {}
        other => fail!("the guilty context's next job: {other:?}, expected ECANCELED"),
    }
    match outcome(&i1)? {
        Ok(()) => {}
        Err(e) => fail!("the innocent job failed: {}", errno_name(e)),
    }
    let got = contents(&dst)?;
    expect_bytes(&got[1..], &data[..c.page as usize - 1], "the innocent copy")?;
    match guilty.submit(&Submit::new(&hang_bo, 0, len(&hang))) {
        Err(e) if e.errno() == Some(Errno::IO) => {}
        other => fail!("SUBMIT on the guilty context: {other:?}, expected EIO"),
    }
    // The innocent context goes on.
    let runner = Runner::new(&c.dev, c.system)?;
    let mut fill = Program::new();
    fill.fill(Mem::bo(0, 0), 0x0102_0304, 8);
    runner.run_ok(&fill, &[(&dst, WRITE)], None)?;
    expect_bytes(
        &contents(&dst)?[..8],
        &[4, 3, 2, 1, 4, 3, 2, 1],
        "a job after the reset",
    )?;
    tap::pass()
}

/// A job's VA operands are resolved at SUBMIT and it keeps their BOs: unbinding both ranges
/// and closing the source's handle while the job waits behind a DELAY does not change what it
/// copies; the same program submitted afterwards is rejected with EFAULT.
pub fn unbind_while_queued(c: &Ctx) -> TestResult {
    let runner = Runner::new(&c.dev, c.system)?;
    let vm = Vm::create(&c.dev)?;
    let size = 2 * c.page;
    let data = Rng::new(7).bytes(size as usize);
    let src = c.bo_with(c.system, size, &data)?;
    let dst = Bo::create(&c.dev, size, c.system)?;
    let (from, to) = (c.va_start, c.va_start + size);
    let src_binding = vm.bind(&src, 0, size, from, Access::ReadOnly)?;
    let dst_binding = vm.bind(&dst, 0, size, to, Access::ReadWrite)?;
    let mut p = Program::new();
    p.delay(50_000)
        .copy(Mem::Va(to + 1), Mem::Va(from + 3), size - 3);
    runner.submit(p.as_bytes(), &[], Some(&vm))?;
    drop(src_binding);
    drop(dst_binding);
    drop(src);
    runner.wait_ok()?;
    expect_bytes(
        &contents(&dst)?[1..size as usize - 2],
        &data[3..],
        "the copy",
    )?;
    match runner.submit(p.as_bytes(), &[], Some(&vm)) {
        Err(Errno::FAULT) => {}
        other => fail!("the program after the unbind: {other:?}, expected EFAULT"),
    }
    tap::pass()
}

/// FAULT ends the job with its code as the fence's error; the context goes on.
pub fn fault_code(c: &Ctx) -> TestResult {
    let runner = Runner::new(&c.dev, c.system)?;
    for (code, errno) in [
        (5, Errno::IO),
        (7, Errno::TOOBIG),
        (4095, Errno::from_raw_os_error(4095)),
    ] {
        let mut p = Program::new();
        p.nop().fault(code).nop();
        match runner.run(&p, &[], None)? {
            Err(e) if e == errno => {}
            other => fail!("FAULT {code}: {other:?}, expected {}", errno_name(errno)),
        }
    }
    let mut nop = Program::new();
    nop.nop();
    runner.run_ok(&nop, &[], None)?;
    tap::pass()
}

/// Device 0 fills a BO of its own, device 1 copies it through its import into one of its own
/// BOs, submitted at once: the import's implicit fences order the jobs. Then device 1 writes
/// through the import and device 0's mapping of the BO sees it.
pub fn dma_buf_between_devices(c: &Ctx) -> TestResult {
    let Some(second) = &c.second else {
        return tap::skip("no second vaccel device");
    };
    let shared = Bo::create(&c.dev, 2 * c.page, c.system)?;
    let fd = shared.export()?;
    let import = second.import(std::os::fd::AsFd::as_fd(&fd))?;
    let system1 = second.system_region()?.map(|r| r.id).unwrap_or(0);
    let mine = Bo::create(second, 2 * c.page, system1)?;

    let writer = Runner::new(&c.dev, c.system)?;
    let reader = Runner::new(second, system1)?;
    let mut fill = Program::new();
    fill.delay(20_000)
        .fill(Mem::bo(0, 0), 0xfeed_f00d, 2 * c.page);
    let mut copy = Program::new();
    copy.copy(Mem::bo(0, 3), Mem::bo(1, 1), 2 * c.page - 3);
    writer.submit(fill.as_bytes(), &[(&shared, WRITE)], None)?;
    reader.submit(copy.as_bytes(), &[(&mine, WRITE), (&import, READ)], None)?;
    writer.wait_ok()?;
    reader.wait_ok()?;
    let pattern = 0xfeed_f00du32.to_le_bytes();
    let want: Vec<u8> = (1..2 * c.page as usize - 2)
        .map(|i| pattern[i % 4])
        .collect();
    expect_bytes(
        &contents(&mine)?[3..],
        &want,
        "device 1's copy of device 0's fill",
    )?;

    let mut back = Program::new();
    back.fill(Mem::bo(0, 5), 0x6162_6364, 4);
    reader.run_ok(&back, &[(&import, WRITE)], None)?;
    expect_bytes(
        &contents(&shared)?[5..9],
        b"dcba",
        "device 0's view of device 1's write",
    )?;
    tap::pass()
}
