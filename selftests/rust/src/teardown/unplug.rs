// SPDX-License-Identifier: GPL-2.0-only
//! `unplug`: the device is unbound or its backend unloaded while clients submit jobs and churn
//! buffer objects in a loop. Each client stops at its first error, which must be `ENODEV`;
//! then the device comes back and runs a job.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use xaccel::{Bo, Context, Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{self, Failure, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::{nop, runs_a_job, Check, GUARD};

/// Clients that submit NOPs and wait for them.
const SUBMITTERS: usize = 2;
/// Clients that create, map, touch and close buffer objects.
const CHURNERS: usize = 1;
/// Most iterations of a client: the loops are bounded even if the unplug never comes.
const MAX_ITERATIONS: u64 = 1_000_000;

/// What `unplug` runs on.
pub struct Unplug {
    device: PathBuf,
    unplug: String,
    replug: String,
    /// The backend of the device, from before the unplug.
    backend: Mutex<Option<String>>,
}

impl Unplug {
    pub fn new(device: PathBuf, unplug: String, replug: String) -> Self {
        Self {
            device,
            unplug,
            replug,
            backend: Mutex::new(None),
        }
    }
}

fn sh(command: &str) -> Check {
    let status = Command::new("sh").arg("-c").arg(command).status()?;
    ensure!(status.success(), "`{command}` failed: {status}");
    Ok(())
}

/// How a client ended: after how many iterations, and with what error.
type End = (u64, Result<(), String>);

/// The errno of a runtime error, or the error as text.
fn errno_of(e: xaccel::Error) -> Result<Errno, String> {
    e.errno().ok_or_else(|| e.to_string())
}

/// Submits NOPs and waits for each until an ioctl fails; returns that errno.
fn submitter(dev: &Device, count: &AtomicU64) -> Result<Errno, String> {
    let program = nop(dev).map_err(|e| e.0)?;
    let system = dev
        .system_region()
        .map_err(|e| e.to_string())?
        .map_or(0, |r| r.id);
    let cmds = Bo::create(dev, program.len() as u64, system).map_err(|e| e.to_string())?;
    cmds.map().map_err(|e| e.to_string())?.write(0, &program);
    let context = Context::create(dev, 0, Priority::Normal).map_err(|e| e.to_string())?;
    let done = Syncobj::create(dev, false).map_err(|e| e.to_string())?;
    for _ in 0..MAX_ITERATIONS {
        let submit = Submit::new(&cmds, 0, program.len() as u64).signal(&done, 0);
        if let Err(e) = context.submit(&submit) {
            return errno_of(e);
        }
        if let Err(e) = done.wait(0, GUARD) {
            return errno_of(e);
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
    Err("never unplugged".into())
}

/// Creates, maps, writes and closes small buffer objects until a call fails; returns its errno.
fn churner(dev: &Device, count: &AtomicU64) -> Result<Errno, String> {
    let system = dev
        .system_region()
        .map_err(|e| e.to_string())?
        .map_or(0, |r| r.id);
    for _ in 0..MAX_ITERATIONS {
        let bo = match Bo::create(dev, 4 * 4096, system) {
            Ok(bo) => bo,
            Err(e) => return errno_of(e),
        };
        match bo.map() {
            Ok(map) => {
                map.fill(0x5a);
            }
            Err(e) => return errno_of(e),
        }
        if let Err(e) = bo.close() {
            return errno_of(e);
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
    Err("never unplugged".into())
}

pub fn unplug_under_load(u: &Unplug) -> TestResult {
    let backend = Device::open(&u.device)?.device_info()?.backend;
    *u.backend.lock().map_err(|_| Failure("poisoned".into()))? = Some(backend);
    let clients = SUBMITTERS + CHURNERS;
    let counts: Vec<AtomicU64> = (0..clients).map(|_| AtomicU64::new(0)).collect();
    let ends: Vec<End> = std::thread::scope(|s| -> Check<Vec<End>> {
        let handles: Vec<_> = counts
            .iter()
            .enumerate()
            .map(|(i, count)| {
                let path = u.device.clone();
                s.spawn(move || -> End {
                    let dev = match Device::open(&path) {
                        Ok(dev) => dev,
                        Err(e) => return (0, Err(e.to_string())),
                    };
                    let end = if i < SUBMITTERS {
                        submitter(&dev, count)
                    } else {
                        churner(&dev, count)
                    };
                    let n = count.load(Ordering::Relaxed);
                    match end {
                        Ok(Errno::NODEV) => (n, Ok(())),
                        Ok(errno) => (n, Err(format!("stopped with {}", errno_name(errno)))),
                        Err(why) => (n, Err(why)),
                    }
                })
            })
            .collect();
        // Every client is going before the device goes.
        let start = Instant::now();
        while counts.iter().any(|c| c.load(Ordering::Relaxed) < 5) {
            if start.elapsed() > GUARD || handles.iter().any(|h| h.is_finished()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let unplugged = sh(&u.unplug);
        let ends = handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, Err("the client panicked".into()))))
            .collect();
        unplugged?;
        Ok(ends)
    })?;
    let summary: Vec<String> = ends
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("client {i}: {n} iterations"))
        .collect();
    tap::diag(&summary.join(", "));
    for (i, (n, end)) in ends.iter().enumerate() {
        if let Err(why) = end {
            fail!("client {i}, after {n} iterations: {why}, expected ENODEV");
        }
        ensure!(
            *n >= 5,
            "client {i} did only {n} iterations before the unplug"
        );
    }
    tap::pass()
}

pub fn comes_back(u: &Unplug) -> TestResult {
    let Some(backend) = u
        .backend
        .lock()
        .map_err(|_| Failure("poisoned".into()))?
        .clone()
    else {
        fail!("the unplug test did not run");
    };
    sh(&u.replug)?;
    let start = Instant::now();
    let dev = loop {
        match Device::open(&u.device) {
            Ok(dev) => break dev,
            Err(_) if start.elapsed() < GUARD => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => fail!("the device did not come back: {e}"),
        }
    };
    let now = dev.device_info()?.backend;
    ensure!(
        now == backend,
        "{} is a {now} device now",
        u.device.display()
    );
    runs_a_job(&dev)?;
    tap::pass()
}
