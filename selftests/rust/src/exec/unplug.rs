// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-exec-unplug --unplug COMMAND [DEVICE]`: unloads the backend (with the
//! shell command COMMAND) while a job hangs on the device and another is queued behind it.
//! Both fences signal with ENODEV, SUBMIT on the unplugged file fails with ENODEV, and closing
//! everything afterwards is clean. The caller (tools/vm/guest.sh) reloads the backend.

// Shared with xaccel-selftest-exec, which uses all of it.
#[allow(dead_code, unused_imports)]
mod ctx;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;
use xaccel::{Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::*;

/// Unloads the backend with jobs in flight (TAP output).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The device under test.
    #[arg(default_value = "/dev/accel/accel0")]
    device: PathBuf,
    /// A shell command unloading the device's backend.
    #[arg(long, value_name = "COMMAND")]
    unplug: String,
}

struct Unplug {
    path: PathBuf,
    command: String,
}

fn unload_with_jobs_in_flight(u: &Unplug) -> TestResult {
    let c = Ctx::new(Path::new(&u.path))?;
    let dev: &Device = &c.dev;
    let ctx = c.context(dev, Priority::Normal)?;
    let stuck = hang();
    let stuck_bo = c.program(dev, &stuck)?;
    let (s1, s2) = (Syncobj::create(dev, false)?, Syncobj::create(dev, false)?);
    let long = Duration::from_secs(60);
    ctx.submit(
        &Submit::new(&stuck_bo, 0, stuck.len() as u64)
            .signal(&s1, 0)
            .timeout(long),
    )?;
    ctx.submit(
        &Submit::new(&stuck_bo, 0, stuck.len() as u64)
            .signal(&s2, 0)
            .timeout(long),
    )?;
    let (f1, f2) = (s1.export_sync_file()?, s2.export_sync_file()?);
    expect_eq(
        xaccel::sync_file_status(f1.as_fd())?,
        Ok(false),
        "hung job before the unload",
    )?;
    let status = Command::new("sh").arg("-c").arg(&u.command).status()?;
    ensure!(status.success(), "`{}` failed: {status}", u.command);
    expect_eq(
        xaccel::sync_file_status(f1.as_fd())?,
        Err(Errno::NODEV),
        "running job",
    )?;
    expect_eq(
        xaccel::sync_file_status(f2.as_fd())?,
        Err(Errno::NODEV),
        "queued job",
    )?;
    match ctx.submit(&Submit::new(&stuck_bo, 0, stuck.len() as u64)) {
        Err(e) if e.errno() == Some(Errno::NODEV) => {}
        other => fail!("SUBMIT after the unload: {other:?}, expected ENODEV"),
    }
    // Context, syncobjs, BO and file close here, on an unplugged device.
    tap::pass()
}

const TESTS: &[Test<Unplug>] = &[(
    "unload the backend with a job hanging and one queued: ENODEV fences, clean close",
    unload_with_jobs_in_flight,
)];

fn main() -> ExitCode {
    let args = Args::parse();
    let u = Unplug {
        path: args.device,
        command: args.unplug,
    };
    if tap::run(&u, TESTS) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
