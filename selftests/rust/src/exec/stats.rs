// SPDX-License-Identifier: GPL-2.0-only
//! What the core reports about execution: the per-engine counters in debugfs
//! (`/sys/kernel/debug/accel/<device>/engines`), the reset count QUERY reports, and deadline
//! hints reaching the backend.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::ioctl::{ioctl, opcode, Opcode, Setter};
use xaccel::{Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::basic::sw_sync;
use crate::ctx::*;

/// One engine line of the debugfs `engines` file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineStats {
    pub queued: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub last_error: i64,
    pub resets: u64,
    pub deadlines: u64,
    pub last_deadline_ns: i64,
}

/// The debugfs `engines` file: the device's reset count and each engine's counters.
#[derive(Debug)]
pub struct Engines {
    pub device_resets: u64,
    pub engines: Vec<EngineStats>,
}

/// The debugfs directory of the device node `path`: named after its parent device.
fn debugfs_dir(path: &Path) -> Check<PathBuf> {
    let Some(node) = path.file_name() else {
        fail!("{} has no file name", path.display());
    };
    let parent = std::fs::canonicalize(Path::new("/sys/class/accel").join(node).join("device"))?;
    let Some(name) = parent.file_name() else {
        fail!("no parent device for {}", path.display());
    };
    Ok(Path::new("/sys/kernel/debug/accel").join(name))
}

/// The value of `key=<value>` among `words`.
fn field<T: std::str::FromStr>(words: &[&str], key: &str) -> Check<T> {
    for word in words {
        if let Some(value) = word.strip_prefix(key).and_then(|w| w.strip_prefix('=')) {
            if let Ok(v) = value.parse() {
                return Ok(v);
            }
        }
    }
    fail!("no {key}= in {words:?}")
}

/// Reads and parses the `engines` file of the device node `path`.
pub fn read_engines(path: &Path) -> Check<Engines> {
    let text = std::fs::read_to_string(debugfs_dir(path)?.join("engines"))?;
    let mut device_resets = None;
    let mut engines = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(&"device") => device_resets = Some(field(&words, "resets")?),
            Some(w) if w.starts_with("engine") => {
                ensure!(
                    *w == format!("engine{}", engines.len()),
                    "engine lines out of order: {line}"
                );
                engines.push(EngineStats {
                    queued: field(&words, "queued")?,
                    running: field(&words, "running")?,
                    completed: field(&words, "completed")?,
                    failed: field(&words, "failed")?,
                    last_error: field(&words, "last_error")?,
                    resets: field(&words, "resets")?,
                    deadlines: field(&words, "deadlines")?,
                    last_deadline_ns: field(&words, "last_deadline_ns")?,
                });
            }
            _ => fail!("unexpected line in engines: {line}"),
        }
    }
    let Some(device_resets) = device_resets else {
        fail!("no device line in engines");
    };
    Ok(Engines {
        device_resets,
        engines,
    })
}

/// Engine 0's counters.
fn engine0(c: &Ctx) -> Check<EngineStats> {
    match read_engines(&c.path)?.engines.into_iter().next() {
        Some(e) => Ok(e),
        None => fail!("no engine in debugfs"),
    }
}

/// debugfs lists every engine; its counters follow jobs: completed, failed, the last error.
pub fn debugfs_counters(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("FAULT") {
        return skip;
    }
    let engines = read_engines(&c.path)?;
    expect_eq(engines.engines.len() as u32, c.engines, "engine lines")?;
    let before = engine0(c)?;
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let (ok, bad) = (c.nop(), fault());
    let (ok_bo, bad_bo) = (c.program(&c.dev, &ok)?, c.program(&c.dev, &bad)?);
    let done = Syncobj::create(&c.dev, false)?;
    run(&ctx, &ok_bo, ok.len(), &done)?;
    expect_eq(outcome(&done)?, Ok(()), "NOP")?;
    run(&ctx, &bad_bo, bad.len(), &done)?;
    ensure!(outcome(&done)?.is_err(), "FAULT completed without an error");
    let after = engine0(c)?;
    // Other files may use the engine too; ours add at least these.
    ensure!(
        after.completed >= before.completed + 2,
        "completed {} -> {}",
        before.completed,
        after.completed
    );
    ensure!(
        after.failed > before.failed,
        "failed {} -> {}",
        before.failed,
        after.failed
    );
    expect_eq(after.last_error, -5, "last_error (EIO)")?;
    tap::pass()
}

/// The device's reset count is the same in debugfs and QUERY.
pub fn debugfs_resets_match_query(c: &Ctx) -> TestResult {
    let engines = read_engines(&c.path)?;
    let info = c.dev.device_info()?;
    expect_eq(engines.device_resets, info.reset_count, "device resets")?;
    let sum: u64 = engines.engines.iter().map(|e| e.resets).sum();
    expect_eq(sum, info.reset_count, "sum of engine resets")?;
    tap::pass()
}

/// `struct sync_set_deadline` (linux/sync_file.h).
#[repr(C)]
struct SyncSetDeadline {
    deadline_ns: u64,
    pad: u64,
}

const SYNC_IOC_SET_DEADLINE: Opcode = opcode::write::<SyncSetDeadline>(b'>', 5);

/// A deadline set on an exported sync_file of a queued job reaches the backend (debugfs counts
/// the hints vaccel took).
pub fn deadline_reaches_the_backend(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("deadline hints") {
        return skip;
    }
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
    let before = engine0(c)?;
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let deadline = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64 + 5_000_000;
    let sync_file = done.export_sync_file()?;
    let arg = SyncSetDeadline {
        deadline_ns: deadline,
        pad: 0,
    };
    // SAFETY: The opcode matches `struct sync_set_deadline`.
    unsafe {
        ioctl(
            sync_file.as_fd(),
            Setter::<SYNC_IOC_SET_DEADLINE, _>::new(arg),
        )
    }?;
    // The hint travels through the ring's work item: wait for it (a hang guard).
    let start = Instant::now();
    let after = loop {
        let now = engine0(c)?;
        if now.deadlines > before.deadlines {
            break now;
        }
        if start.elapsed() > GUARD {
            fail!("no deadline hint reached the backend");
        }
        sleep(Duration::from_millis(1));
    };
    expect_eq(after.last_deadline_ns, deadline as i64, "last deadline")?;
    timeline.inc(1)?;
    expect_eq(outcome(&done)?, Ok(()), "gated job")?;
    tap::pass()
}

/// fdinfo: `drm-engine-<engine>` for every engine, counting the time the file's jobs ran
/// (at least a DELAY's length), and nothing on engines it did not use.
pub fn fdinfo_engine_busy(c: &Ctx) -> TestResult {
    if let Some(skip) = c.vaccel_only("DELAY") {
        return skip;
    }
    let dev = c.open_again()?;
    let names: Vec<String> = dev.engines()?.into_iter().map(|e| e.name).collect();
    let idle = dev.fdinfo()?;
    let listed: Vec<&str> = idle.engines.iter().map(|e| e.engine.as_str()).collect();
    expect_eq(
        listed,
        names.iter().map(String::as_str).collect(),
        "engine keys",
    )?;
    ensure!(
        idle.engines.iter().all(|e| e.busy_ns == 0),
        "busy before any job: {:?}",
        idle.engines
    );
    let ctx = c.context(&dev, Priority::Normal)?;
    let prog = delay(2000);
    let bo = c.program(&dev, &prog)?;
    let done = Syncobj::create(&dev, false)?;
    run(&ctx, &bo, prog.len(), &done)?;
    expect_eq(outcome(&done)?, Ok(()), "DELAY job")?;
    let after = dev.fdinfo()?;
    let busy = after.engine(&names[0]).unwrap_or(0);
    ensure!(
        busy >= 2_000_000,
        "engine 0 busy {busy} ns after a 2 ms job"
    );
    for name in &names[1..] {
        expect_eq(after.engine(name), Some(0), "an unused engine")?;
    }
    // Monotonic: a later read is never smaller.
    ensure!(
        dev.fdinfo()?.engine(&names[0]).unwrap_or(0) >= busy,
        "busy time went back"
    );
    tap::pass()
}
