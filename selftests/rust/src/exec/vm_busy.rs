// SPDX-License-Identifier: GPL-2.0-only
//! A VM shared by jobs of several contexts keeps unbound memory until every one of them is done,
//! not only the latest submitted one.

use std::thread::sleep;
use std::time::{Duration, Instant};

use xaccel::{Access, Bo, Context, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::*;

/// QUERY REGIONS `used` of the system region.
fn used(c: &Ctx) -> Check<u64> {
    match c.dev.regions()?.iter().find(|r| r.id == c.system) {
        Some(r) => Ok(r.used),
        None => fail!("region {} disappeared", c.system),
    }
}

/// Context A runs a DELAY job with a VM, then context B (another engine) a NOP with the same
/// VM, which ends first. A BO unbound and closed after the NOP ended stays allocated while the
/// DELAY job runs, and goes once it ended.
pub fn unbind_waits_for_every_context(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("DELAY with VA operands") {
        return skip;
    }
    if c.engines < 2 {
        return tap::skip("needs two engines");
    }
    let va_start = c.dev.device_info()?.va_start;
    let page = rustix::param::page_size() as u64;
    let quick = c.nop();
    let quick_bo = c.program(&c.dev, &quick)?;
    let a = Context::create(&c.dev, 0, Priority::Normal)?;
    let b = Context::create(&c.dev, 1, Priority::Normal)?;
    let first = Syncobj::create(&c.dev, false)?;
    let second = Syncobj::create(&c.dev, false)?;
    // The DELAY job must still run when the memory is checked; a longer one is tried if it
    // ended first (which proves nothing either way).
    // One DELAY packet lasts at most a second; the job timeout is 10 s.
    for seconds in [2, 4, 8] {
        let slow: Vec<u8> = (0..seconds).flat_map(|_| delay(1_000_000)).collect();
        let slow_bo = c.program(&c.dev, &slow)?;
        let vm = Vm::create(&c.dev)?;
        let before = used(c)?;
        let bo = Bo::create(&c.dev, 4 * page, c.system)?;
        let binding = vm.bind(&bo, 0, 4 * page, va_start, Access::ReadWrite)?;
        bo.close()?;
        a.submit(
            &Submit::new(&slow_bo, 0, slow.len() as u64)
                .signal(&first, 0)
                .vm(&vm),
        )?;
        b.submit(
            &Submit::new(&quick_bo, 0, quick.len() as u64)
                .signal(&second, 0)
                .vm(&vm),
        )?;
        second.wait(0, GUARD)?;
        binding.unbind()?;
        let held = used(c)?;
        if first.wait(0, Duration::ZERO).err().and_then(|e| e.errno()) != Some(Errno::TIME) {
            // Ended before the check: try again with a longer job.
            first.wait(0, GUARD)?;
            continue;
        }
        ensure!(
            held == before + 4 * page,
            "unbound while context A's job runs: QUERY used {held}, expected {}",
            before + 4 * page
        );
        first.wait(0, GUARD)?;
        // The release runs from a work item queued when the fence signalled.
        let start = Instant::now();
        while used(c)? != before {
            ensure!(start.elapsed() < GUARD, "the unbound BO was never released");
            sleep(Duration::from_millis(10));
        }
        return tap::pass();
    }
    fail!("every DELAY job ended before the check")
}
