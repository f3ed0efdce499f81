// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-teardown`: hostile teardown, in TAP version 13.
//!
//! - `kill DEVICE...`: a child process queues as many jobs as the per-context limit allows on
//!   several contexts of each device (10,000 in all on two devices), some behind a sw_sync
//!   fence that never signals, some behind a hanging job with a short timeout, and hands the
//!   fences of some of them (sync_files) to this process; then it is killed with SIGKILL.
//!   Every fence held signals, with `ECANCELED` (or `ETIME` for the hanging job), the regions'
//!   `used` and the engines' queues go back to where they were, and every device runs a job.
//! - `unplug --unplug COMMAND --replug COMMAND DEVICE`: clients submit jobs and churn buffer
//!   objects in a loop while COMMAND unbinds or unloads the device; every client stops with
//!   `ENODEV`, then the device comes back (the second command) and runs a job.
//! - `close-race [--rounds N] DEVICE`: a thread closes the file while others are in SUBMIT,
//!   VM_BIND and the first fault of a mapping on it; they all end with `EBADF` (the file is
//!   released by the last of them), every byte comes back, and the device runs a job.
//!
//! No test is timed: waits have a generous hang guard only.

mod kill;
mod race;
mod unplug;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use xaccel::hlx::{self, Packet};
use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, Failure, Test};
use xaccel_selftests::{ensure, fail};

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

/// How long anything may take before the test fails (a hang guard, not a timing check).
pub const GUARD: Duration = Duration::from_secs(120);

/// Hostile teardown (TAP output).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// SIGKILL of a process with thousands of jobs queued on every device given.
    Kill {
        /// The devices (vaccel).
        #[arg(required = true)]
        devices: Vec<PathBuf>,
        /// Jobs per context.
        #[arg(long, default_value_t = 1000)]
        jobs: u32,
    },
    /// Internal: the process `kill` kills.
    #[command(hide = true)]
    KillChild {
        /// The sw_sync fence (a sync_file) the gated jobs wait for.
        #[arg(long)]
        gate_fd: i32,
        #[arg(long)]
        jobs: u32,
        devices: Vec<PathBuf>,
    },
    /// Unbind or unload a device while clients submit in a loop.
    Unplug {
        /// Shell command that unplugs the device.
        #[arg(long)]
        unplug: String,
        /// Shell command that brings it back.
        #[arg(long)]
        replug: String,
        device: PathBuf,
    },
    /// Close the file while other threads are in SUBMIT, VM_BIND and an mmap fault.
    CloseRace {
        /// Rounds.
        #[arg(long, default_value_t = 20)]
        rounds: u32,
        device: PathBuf,
    },
}

/// A NOP program for `dev`'s backend.
pub fn nop(dev: &Device) -> Check<Vec<u8>> {
    Ok(if dev.device_info()?.backend == "hlx" {
        hlx::encode(&[Packet::Nop])
    } else {
        xaccel::vaccel::Program::new().nop().as_bytes().to_vec()
    })
}

/// `dev` runs a NOP job, which ends well.
pub fn runs_a_job(dev: &Device) -> Check {
    let program = nop(dev)?;
    let system = dev.system_region()?.map_or(0, |r| r.id);
    let cmds = Bo::create(dev, program.len() as u64, system)?;
    cmds.map()?.write(0, &program);
    let context = Context::create(dev, 0, Priority::Normal)?;
    let done = Syncobj::create(dev, false)?;
    context.submit(&Submit::new(&cmds, 0, program.len() as u64).signal(&done, 0))?;
    done.wait(0, GUARD)?;
    let status = xaccel::sync_file_status(done.export_sync_file()?.as_fd())?;
    ensure!(
        status == Ok(true),
        "{}: a NOP job ended with {status:?}",
        dev.path().display()
    );
    Ok(())
}

/// Every region's `used` of `dev`.
pub fn used(dev: &Device) -> Check<Vec<u64>> {
    Ok(dev.regions()?.iter().map(|r| r.used).collect())
}

/// Waits until `now()` gives `want` (freed objects may leave the accounting a little later).
pub fn settle<T: PartialEq + std::fmt::Debug>(
    what: &str,
    want: &T,
    mut now: impl FnMut() -> Check<T>,
) -> Check {
    let start = Instant::now();
    loop {
        let got = now()?;
        if got == *want {
            return Ok(());
        }
        if start.elapsed() > GUARD {
            fail!("{what}: {got:?}, expected {want:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The (queued, running) jobs of every engine of the device `node`, from debugfs `engines`.
pub fn queues(node: &Path) -> Check<Vec<(u64, u64)>> {
    let path = xaccel::bolist::debugfs_path(node)?.with_file_name("engines");
    let text = std::fs::read_to_string(&path).map_err(|e| Failure(format!("{path:?}: {e}")))?;
    let value = |line: &str, key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    Ok(text
        .lines()
        .filter(|l| l.starts_with("engine"))
        .map(|l| (value(l, "queued="), value(l, "running=")))
        .collect())
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    match Args::parse().command {
        Cmd::Kill { devices, jobs } => {
            let tests: &[Test<kill::Kill>] = &[(
                "SIGKILL with thousands of jobs queued: every fence signals, every byte back",
                kill::kill,
            )];
            exit(tap::run(&kill::Kill { devices, jobs }, tests))
        }
        Cmd::KillChild {
            gate_fd,
            jobs,
            devices,
        } => kill::child(gate_fd, jobs, &devices),
        Cmd::Unplug {
            unplug,
            replug,
            device,
        } => {
            let tests: &[Test<unplug::Unplug>] = &[
                (
                    "unplug while clients submit and churn BOs: each stops with ENODEV",
                    unplug::unplug_under_load,
                ),
                ("the device comes back and runs a job", unplug::comes_back),
            ];
            let u = unplug::Unplug::new(device, unplug, replug);
            exit(tap::run(&u, tests))
        }
        Cmd::CloseRace { rounds, device } => {
            let tests: &[Test<race::Race>] = &[(
                "close while SUBMIT, VM_BIND and an mmap fault run: EBADF, nothing left",
                race::close_race,
            )];
            exit(tap::run(&race::Race { device, rounds }, tests))
        }
    }
}
