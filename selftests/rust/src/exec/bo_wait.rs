// SPDX-License-Identifier: GPL-2.0-only
//! `DRM_IOCTL_XACCEL_BO_WAIT`: waiting until a buffer object is idle, and its bad inputs.

use std::time::Duration;

use xaccel::uapi::{
    drm_xaccel_bo_info, drm_xaccel_bo_wait, DRM_XACCEL_BO_WAIT_READ, DRM_XACCEL_BO_WAIT_WRITE,
    DRM_XACCEL_SUBMIT_BO_WRITE,
};
use xaccel::{Bo, CpuAccess, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::basic::sw_sync;
use crate::ctx::*;

/// The errno of a failed `wait_idle`, or `None` if it succeeded.
fn wait_errno(bo: &Bo<'_>, access: CpuAccess, timeout: Option<Duration>) -> Check<Option<Errno>> {
    match bo.wait_idle(access, timeout) {
        Ok(()) => Ok(None),
        Err(e) => match e.errno() {
            Some(errno) => Ok(Some(errno)),
            None => fail!("BO_WAIT: {e}"),
        },
    }
}

/// A BO a gated job writes is busy for both accesses; one it only reads is busy for writing
/// only; both are idle once the job is done.
pub fn waits_for_the_jobs_using_a_bo(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let written = Bo::create(&c.dev, 4096, c.system)?;
    let read = Bo::create(&c.dev, 4096, c.system)?;
    let idle = Bo::create(&c.dev, 4096, c.system)?;
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let done = Syncobj::create(&c.dev, false)?;
    ctx.submit(
        &Submit::new(&bo, 0, prog.len() as u64)
            .wait(&gate, 0)
            .bo(&written, DRM_XACCEL_SUBMIT_BO_WRITE)
            .bo(&read, 0)
            .signal(&done, 0),
    )?;
    expect_eq(
        wait_errno(&idle, CpuAccess::Write, None)?,
        None,
        "unused BO",
    )?;
    expect_eq(
        wait_errno(&written, CpuAccess::Read, None)?,
        Some(Errno::BUSY),
        "written BO, read, no wait",
    )?;
    expect_eq(
        wait_errno(&written, CpuAccess::Write, Some(Duration::from_millis(20)))?,
        Some(Errno::TIMEDOUT),
        "written BO, write, 20 ms",
    )?;
    expect_eq(
        wait_errno(&read, CpuAccess::Read, None)?,
        None,
        "read BO, read",
    )?;
    expect_eq(
        wait_errno(&read, CpuAccess::Write, None)?,
        Some(Errno::BUSY),
        "read BO, write",
    )?;
    timeline.inc(1)?;
    expect_eq(
        wait_errno(&written, CpuAccess::Write, Some(GUARD))?,
        None,
        "written BO after the job",
    )?;
    expect_eq(
        wait_errno(&read, CpuAccess::Write, None)?,
        None,
        "read BO after",
    )?;
    expect_eq(outcome(&done)?, Ok(()), "the job")?;
    tap::pass()
}

/// Bad flags, padding and handles fail with their errno and leave the struct unchanged.
pub fn bad_input(c: &Ctx) -> TestResult {
    let bo = Bo::create(&c.dev, 4096, c.system)?;
    let other = c.open_again()?;
    let base = drm_xaccel_bo_wait {
        handle: bo.handle(),
        flags: DRM_XACCEL_BO_WAIT_READ,
        ..Default::default()
    };
    let mut unknown_handle = base;
    unknown_handle.handle = 0xffff;
    let cases = [
        (
            "no flags",
            drm_xaccel_bo_wait { flags: 0, ..base },
            Errno::INVAL,
        ),
        (
            "unknown flag",
            drm_xaccel_bo_wait {
                flags: DRM_XACCEL_BO_WAIT_WRITE | 1 << 2,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "nonzero pad",
            drm_xaccel_bo_wait { pad: 1, ..base },
            Errno::INVAL,
        ),
        ("unknown handle", unknown_handle, Errno::NOENT),
        (
            "handle 0",
            drm_xaccel_bo_wait { handle: 0, ..base },
            Errno::NOENT,
        ),
    ];
    for (what, args, errno) in cases {
        let mut copy = args;
        expect_errno(c.dev.bo_wait_raw(&mut copy), errno, what)?;
        expect_eq(copy, args, what)?;
    }
    // A handle only another file has is not found: create BOs there until one has a number
    // this file lacks (BO_INFO says so).
    let mut foreigns = Vec::new();
    let foreign = loop {
        let candidate = Bo::create(&other, 4096, c.system)?;
        let mut info = drm_xaccel_bo_info {
            handle: candidate.handle(),
            ..Default::default()
        };
        if c.dev.bo_info_raw(&mut info) == Err(Errno::NOENT) {
            break candidate;
        }
        foreigns.push(candidate);
        ensure!(foreigns.len() < 1000, "no foreign-only BO handle");
    };
    let mut args = drm_xaccel_bo_wait {
        handle: foreign.handle(),
        ..base
    };
    expect_errno(
        c.dev.bo_wait_raw(&mut args),
        Errno::NOENT,
        "another file's handle",
    )?;
    // Still usable: a valid wait succeeds.
    let mut args = base;
    expect_eq(c.dev.bo_wait_raw(&mut args), Ok(()), "valid wait")?;
    tap::pass()
}
