// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-soak`: one load of `make soak` (tools/vm/guest.sh), run until a deadline, next to the
//! fuzzer and the submitters. Each workload prints one summary line,
//! `soak: <workload> <devices> ops=<n> <errno>=<n>...`, and exits 1 on an outcome that is
//! never right (an errno the workload does not expect, a wrong fence status, a re-import
//! giving another handle).
//!
//! Usage: `xaccel-soak churn|pingpong|hang SECONDS DEVICE [SECOND_DEVICE]`
//! - `churn DEVICE`: buffer objects of 4 KiB to 4 MiB created in every region, up to 32 alive,
//!   the CPU-visible ones mapped and written, closed in random order (`ENOSPC`/`ENOMEM` when a
//!   region is full are counted, not failures);
//! - `pingpong DEVICE SECOND`: a BO of DEVICE (each region in turn) exported, imported by
//!   SECOND, exported again from there and imported back, which must give the first handle;
//! - `hang DEVICE` (vaccel): a HANG with a 100 ms timeout on a fresh context and a NOP queued
//!   behind it on another: the HANG times out (`ETIME`), the NOP completes.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use xaccel::vaccel::Program;
use xaccel::{Bo, Context, Device, Errno, Priority, RegionFlags, Submit, Syncobj};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::rng::Rng;

/// How long a fence may take to signal before the workload fails (a hang guard).
const GUARD: Duration = Duration::from_secs(60);

/// Operations done, and failures by errno.
#[derive(Default)]
struct Tally {
    ops: u64,
    errnos: BTreeMap<String, u64>,
}

impl Tally {
    fn errno(&mut self, errno: Errno) {
        let name = match errno {
            Errno::TIME => "ETIME".into(),
            errno => errno_name(errno).replace(' ', ""),
        };
        *self.errnos.entry(name).or_default() += 1;
    }
}

type Outcome = Result<(), String>;

/// An error's errno if it is one of `allowed` (counted), else the workload's failure.
fn allow(tally: &mut Tally, err: xaccel::Error, allowed: &[Errno], what: &str) -> Outcome {
    match err.errno() {
        Some(errno) if allowed.contains(&errno) => {
            tally.errno(errno);
            Ok(())
        }
        _ => Err(format!("{what}: {err}")),
    }
}

fn churn(dev: &Device, deadline: Instant, tally: &mut Tally) -> Outcome {
    let regions = dev.regions().map_err(|e| e.to_string())?;
    let mut rng = Rng::new(u64::from(std::process::id()));
    let mut alive: Vec<Bo<'_>> = Vec::new();
    while Instant::now() < deadline {
        if alive.len() >= 32 || (!alive.is_empty() && rng.below(3) == 0) {
            alive.swap_remove(rng.below(alive.len() as u64) as usize);
            continue;
        }
        let region = &regions[rng.below(regions.len() as u64) as usize];
        let size = 4096 << rng.below(11);
        tally.ops += 1;
        let bo = match Bo::create(dev, size, region.id) {
            Ok(bo) => bo,
            Err(e) => {
                allow(tally, e, &[Errno::NOSPC, Errno::NOMEM], "BO_CREATE")?;
                continue;
            }
        };
        if region.flags.contains(RegionFlags::CPU_VISIBLE) {
            match bo.map() {
                Ok(map) => {
                    map.write(0, &[0xa5; 64]);
                    map.write(map.len() - 64, &[0x5a; 64]);
                }
                Err(e) => allow(tally, e, &[Errno::NOMEM], "mmap")?,
            }
        }
        alive.push(bo);
    }
    Ok(())
}

fn pingpong(a: &Device, b: &Device, deadline: Instant, tally: &mut Tally) -> Outcome {
    let regions = a.regions().map_err(|e| e.to_string())?;
    let mut turn = 0;
    while Instant::now() < deadline {
        let region = &regions[turn % regions.len()];
        turn += 1;
        tally.ops += 1;
        let bo = match Bo::create(a, 1 << 20, region.id) {
            Ok(bo) => bo,
            Err(e) => {
                allow(tally, e, &[Errno::NOSPC, Errno::NOMEM], "BO_CREATE")?;
                continue;
            }
        };
        let round = || -> xaccel::Result<u32> {
            let there = b.import(bo.export()?.as_fd())?;
            let back = a.import(there.export()?.as_fd())?;
            let handle = back.handle();
            // The same object: dropping the re-import must not close the original's handle.
            std::mem::forget(back);
            Ok(handle)
        };
        match round() {
            Ok(handle) if handle == bo.handle() => {}
            Ok(handle) => {
                return Err(format!(
                    "region {}: re-import gave handle {handle}, not {}",
                    region.name,
                    bo.handle()
                ))
            }
            // A region the importer cannot reach whose BOs do not move (or not now) is refused.
            Err(e) => allow(
                tally,
                e,
                &[Errno::NOSPC, Errno::NOMEM, Errno::OPNOTSUPP, Errno::BUSY],
                "PRIME",
            )?,
        }
    }
    Ok(())
}

/// A fence's outcome: signalled without error, or its error.
fn outcome(sync: &Syncobj<'_>) -> Result<Result<(), Errno>, String> {
    sync.wait(0, GUARD).map_err(|e| format!("wait: {e}"))?;
    let fd = sync.export_sync_file().map_err(|e| e.to_string())?;
    match xaccel::sync_file_status(fd.as_fd()).map_err(|e| e.to_string())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => Err("a waited-for fence is not signalled".into()),
        Err(errno) => Ok(Err(errno)),
    }
}

fn hang(dev: &Device, deadline: Instant, tally: &mut Tally) -> Outcome {
    let err = |e: xaccel::Error| e.to_string();
    let bytes = |p: &Program| -> xaccel::Result<(Bo<'_>, u64)> {
        let bo = Bo::create(dev, p.as_bytes().len() as u64, 0)?;
        bo.map()?.write(0, p.as_bytes());
        Ok((bo, p.as_bytes().len() as u64))
    };
    let (hang_bo, hang_len) = bytes(Program::new().hang()).map_err(err)?;
    let (nop_bo, nop_len) = bytes(Program::new().nop()).map_err(err)?;
    let innocent = Context::create(dev, 0, Priority::Normal).map_err(err)?;
    while Instant::now() < deadline {
        tally.ops += 1;
        // A context that hung is guilty and refuses further jobs: a new one every time.
        let guilty = Context::create(dev, 0, Priority::Normal).map_err(err)?;
        let (g, i) = (
            Syncobj::create(dev, false).map_err(err)?,
            Syncobj::create(dev, false).map_err(err)?,
        );
        guilty
            .submit(
                &Submit::new(&hang_bo, 0, hang_len)
                    .signal(&g, 0)
                    .timeout(Duration::from_millis(100)),
            )
            .map_err(err)?;
        innocent
            .submit(&Submit::new(&nop_bo, 0, nop_len).signal(&i, 0))
            .map_err(err)?;
        match outcome(&g)? {
            Err(Errno::TIME) => tally.errno(Errno::TIME),
            other => return Err(format!("the HANG ended with {other:?}, not ETIME")),
        }
        if let Err(errno) = outcome(&i)? {
            return Err(format!("the innocent NOP failed: {}", errno_name(errno)));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = || {
        eprintln!("usage: xaccel-soak churn|pingpong|hang SECONDS DEVICE [SECOND_DEVICE]");
        ExitCode::from(2)
    };
    let (Some(workload), Some(Ok(seconds)), Some(path)) = (
        args.get(1),
        args.get(2).map(|s| s.parse::<u64>()),
        args.get(3).map(PathBuf::from),
    ) else {
        return usage();
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let open = |p: &PathBuf| Device::open(p).map_err(|e| e.to_string());
    let mut tally = Tally::default();
    let mut devices = path.display().to_string();
    let result = open(&path).and_then(|dev| match workload.as_str() {
        "churn" => churn(&dev, deadline, &mut tally),
        "hang" => hang(&dev, deadline, &mut tally),
        "pingpong" => {
            let Some(second) = args.get(4).map(PathBuf::from) else {
                return Err("pingpong needs a second device".into());
            };
            devices = format!("{devices}+{}", second.display());
            pingpong(&dev, &open(&second)?, deadline, &mut tally)
        }
        _ => Err(format!("unknown workload {workload}")),
    });
    let errnos: Vec<String> = tally
        .errnos
        .iter()
        .map(|(name, n)| format!("{name}={n}"))
        .collect();
    println!(
        "soak: {workload} {devices} ops={} {}",
        tally.ops,
        errnos.join(" ")
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            println!("soak: {workload} {devices} FAILED: {msg}");
            ExitCode::FAILURE
        }
    }
}
