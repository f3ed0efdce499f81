// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-fuzz`: random calls of every xaccel ioctl and of `mmap()` on one open file,
//! in TAP version 13. Each call builds a plausible argument struct from the objects earlier calls made; one call
//! in three is left clean, and in the others each field is replaced one time in four by a
//! hostile value (stale handles, stray flag and reserved bits, huge and unaligned sizes and
//! counts, null, unmapped, forbidden and kernel pointers).
//!
//! It checks that every call succeeds or fails with an errno `Documentation/uapi.rst` gives that
//! ioctl, that every ioctl both succeeded and failed at least once (the calls reach past
//! validation), that closing the file gives every region's bytes back, and that the device still
//! runs a job. `make check` fails on any kernel splat the calls cause. Jobs are the engines'
//! NOPs (QUERY NOPS), so SUBMIT must succeed on any backend whose engines have one.
//!
//! Usage: `xaccel-selftest-fuzz [DEVICE]`. The run is deterministic: `XACCEL_FUZZ_SEED` and
//! `XACCEL_FUZZ_CALLS` change the seed (default 1) and the number of calls (default 10000); a
//! failure prints both.

mod ops;
mod values;

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use xaccel::{Bo, Context, Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{self, pass, skip, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ops::{Fuzzer, CALLS, CMD_BYTES, NOP_SLOT};
use crate::values::{Draw, Scratch};

/// How long freed objects may take to leave the accounting (deferred releases).
const GUARD: Duration = Duration::from_secs(20);

/// The device under test and the run's parameters.
struct Ctx {
    path: PathBuf,
    seed: u64,
    calls: u64,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn open(path: &Path) -> Result<Ctx, xaccel::Error> {
    Device::open(path)?;
    Ok(Ctx {
        path: path.to_owned(),
        seed: env_number("XACCEL_FUZZ_SEED", 1),
        calls: env_number("XACCEL_FUZZ_CALLS", 10000),
    })
}

/// Bytes used in each region, seen through `dev`.
fn used(dev: &Device) -> Result<Vec<u64>, xaccel::Error> {
    Ok(dev.regions()?.iter().map(|r| r.used).collect())
}

/// Per ioctl: successes, and failures per errno.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: BTreeMap<i32, u64>,
}

/// Runs the calls on a file of their own and closes it; returns the tallies.
fn fuzz(ctx: &Ctx) -> Result<Vec<Tally>, String> {
    let dev = Device::open(&ctx.path).map_err(|e| e.to_string())?;
    let info = dev.device_info().map_err(|e| e.to_string())?;
    let page = rustix::param::page_size();
    let cmd = Bo::create(&dev, CMD_BYTES as u64, 0).map_err(|e| e.to_string())?;
    // Each engine's NOP in its slot.
    let mut nops = Vec::new();
    let map = cmd.map().map_err(|e| e.to_string())?;
    for nop in dev.nops().map_err(|e| e.to_string())? {
        let at = NOP_SLOT * nop.engine as usize;
        if at + NOP_SLOT <= CMD_BYTES {
            map.write(at, &nop.cmd);
            nops.push(nop.cmd.len() as u64);
        }
    }
    drop(map);
    let mut fuzzer = Fuzzer {
        dev: &dev,
        rng: Draw::new(ctx.seed),
        scratch: Scratch::new(16, page).map_err(|e| e.to_string())?,
        page: page as u64,
        regions: info.region_count,
        engines: info.engine_count,
        va_start: info.va_start,
        cmd: cmd.handle(),
        nops,
        engine_of: Default::default(),
        bos: Vec::new(),
        contexts: Vec::new(),
        vms: Vec::new(),
        syncobjs: Vec::new(),
        fenced: Vec::new(),
        bindings: Vec::new(),
        maps: Vec::new(),
    };
    let mut tallies: Vec<Tally> = CALLS.iter().map(|_| Tally::default()).collect();
    for n in 0..ctx.calls {
        if n % 16 == 0 {
            fuzzer.refresh_syncobjs();
        }
        let which = fuzzer.rng.below(CALLS.len() as u64) as usize;
        match fuzzer.call(which) {
            Ok(()) => tallies[which].ok += 1,
            Err(errno) if CALLS[which].1.contains(&errno) => {
                *tallies[which]
                    .errors
                    .entry(errno.raw_os_error())
                    .or_default() += 1
            }
            Err(errno) => {
                return Err(format!(
                    "call {n} ({}) failed with {}, which uapi.rst does not give it",
                    CALLS[which].0,
                    errno_name(errno)
                ))
            }
        }
    }
    // The file closes with whatever the calls left: BOs, contexts, VMs, jobs, bindings.
    drop(fuzzer);
    drop(cmd);
    drop(dev);
    Ok(tallies)
}

/// Every call succeeds or fails with a documented errno; every ioctl both succeeds and fails.
fn documented_errnos(ctx: &Ctx) -> TestResult {
    let observer = Device::open(&ctx.path)?;
    let before = used(&observer)?;
    let runs_jobs = observer.nops()?.iter().any(|n| !n.cmd.is_empty());
    let tallies = match fuzz(ctx) {
        Ok(tallies) => tallies,
        Err(msg) => fail!("seed {} calls {}: {msg}", ctx.seed, ctx.calls),
    };
    for ((name, _), tally) in CALLS.iter().zip(&tallies) {
        let errors: Vec<String> = tally
            .errors
            .iter()
            .map(|(&e, n)| format!("{} x{n}", errno_name(Errno::from_raw_os_error(e))))
            .collect();
        println!("# {name}: {} ok, {}", tally.ok, errors.join(", "));
    }
    for ((name, _), tally) in CALLS.iter().zip(&tallies) {
        // SUBMIT needs an engine with a NOP.
        let must_succeed = *name != "SUBMIT" || runs_jobs;
        ensure!(
            tally.ok > 0 || !must_succeed,
            "seed {}: {name} never succeeded",
            ctx.seed
        );
        ensure!(
            !tally.errors.is_empty(),
            "seed {}: {name} never failed",
            ctx.seed
        );
    }
    // Freed objects may leave the accounting a little later (deferred releases).
    let start = Instant::now();
    loop {
        let after = used(&observer)?;
        if after == before {
            break;
        }
        ensure!(
            start.elapsed() < GUARD,
            "seed {}: regions used {before:?} before, {after:?} after the file closed",
            ctx.seed
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pass()
}

/// The device still runs a job after the fuzzing: the first NOP, waited for.
fn still_runs_jobs(ctx: &Ctx) -> TestResult {
    let dev = Device::open(&ctx.path)?;
    let Some(nop) = dev.nops()?.into_iter().find(|n| !n.cmd.is_empty()) else {
        return skip("no engine has a NOP");
    };
    let cmds = Bo::create(&dev, nop.cmd.len() as u64, 0)?;
    cmds.map()?.write(0, &nop.cmd);
    let context = Context::create(&dev, nop.engine, Priority::Normal)?;
    let done = Syncobj::create(&dev, false)?;
    context.submit(&Submit::new(&cmds, 0, nop.cmd.len() as u64).signal(&done, 0))?;
    done.wait(0, GUARD)?;
    let status = xaccel::sync_file_status(done.export_sync_file()?.as_fd())?;
    ensure!(status == Ok(true), "the job ended with {status:?}");
    pass()
}

/// Every test, in order: (TAP name, function).
const TESTS: &[Test<Ctx>] = &[
    (
        "random ioctls: documented errnos, all bytes back at close",
        documented_errnos,
    ),
    ("the device still runs a job", still_runs_jobs),
];

fn main() -> ExitCode {
    tap::device_main(open, TESTS)
}
