// SPDX-License-Identifier: GPL-2.0-only
//! Unplug with work in flight, on a device the test can unplug and plug back safely: a PCI
//! function with a driver bound (its sysfs `unbind` and `bind`). Jobs on every engine with a
//! NOP, some held back by a sw_sync gate, and a CPU mapping are in flight when the function
//! unbinds: every fence signals, the open file gets `ENODEV`, the mapping stays readable or
//! faults nothing, and after the rebind the device runs a NOP again. Software devices are
//! unplugged by unloading their backend (selftest-exec-unplug, selftest-teardown): SKIP.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use xaccel::{Errno, Priority, Submit, Syncobj};
use xaccel_selftests::sw_sync;
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Check, Ctx, GUARD};

/// The PCI function behind an accel node and its driver's sysfs directory.
struct Function {
    /// `/sys/bus/pci/devices/<bdf>`.
    dir: PathBuf,
    /// The function's address, what `bind` and `unbind` take.
    bdf: String,
    /// `/sys/bus/pci/drivers/<driver>`.
    driver: PathBuf,
}

/// The PCI function of `node` with its bound driver, or why there is none.
fn function(node: &Path) -> Result<Function, String> {
    let name = node.file_name().ok_or("no node name")?;
    let dir = fs::canonicalize(Path::new("/sys/class/accel").join(name).join("device"))
        .map_err(|e| format!("no parent device: {e}"))?;
    let subsystem = fs::canonicalize(dir.join("subsystem")).map_err(|e| e.to_string())?;
    if subsystem.file_name().is_none_or(|s| s != "pci") {
        return Err("not a PCI function (a software device: its backend unloads instead)".into());
    }
    let driver = fs::canonicalize(dir.join("driver")).map_err(|_| "no driver bound")?;
    let bdf = dir
        .file_name()
        .and_then(|b| b.to_str())
        .ok_or("no PCI address")?
        .to_owned();
    Ok(Function { dir, bdf, driver })
}

/// The accel node of the function once it is bound again.
fn node_of(f: &Function) -> Check<PathBuf> {
    let start = Instant::now();
    loop {
        if let Ok(entries) = fs::read_dir(f.dir.join("accel")) {
            if let Some(entry) = entries.flatten().next() {
                let node = Path::new("/dev/accel").join(entry.file_name());
                if node.exists() {
                    return Ok(node);
                }
            }
        }
        ensure!(
            start.elapsed() < GUARD,
            "{} has no accel node after the bind",
            f.bdf
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the sync_file `fd` signals; its status.
fn settled(fd: &OwnedFd) -> Check<Result<bool, Errno>> {
    let start = Instant::now();
    loop {
        match xaccel::sync_file_status(fd.as_fd())? {
            Ok(false) if start.elapsed() < GUARD => std::thread::sleep(Duration::from_millis(20)),
            Ok(false) => fail!("a job's fence did not signal after the unplug"),
            status => return Ok(status),
        }
    }
}

/// Jobs in flight (running, queued, gated) on every engine with a NOP and a mapped BO when the
/// PCI function unbinds: every fence signals, done or with `ENODEV` (the gated ones `ENODEV`),
/// ioctls get `ENODEV`, the mapping reads its data; the function binds again and runs a NOP.
pub fn unplug_with_work_in_flight(c: &Ctx) -> TestResult {
    if !c.unplug {
        return tap::skip("--no-unplug");
    }
    let f = match function(&c.path) {
        Ok(f) => f,
        Err(why) => return tap::skip(why),
    };
    let Some((timeline, gate)) = sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let (engines, _) = c.job_engines();
    let checks = {
        let dev = c.open_again()?;
        let local_gate = Syncobj::create(&dev, false)?;
        local_gate.import_sync_file(gate.export_sync_file()?.as_fd())?;
        let mut jobs = Vec::new();
        let mut fences = Vec::new();
        for &engine in &engines {
            let Some(job) = c.job(&dev, engine, Priority::Normal)? else {
                continue;
            };
            for i in 0..8 {
                let done = Syncobj::create(&dev, false)?;
                let submit = job.submit().signal(&done, 0);
                let submit: Submit<'_> = if i >= 4 {
                    submit.wait(&local_gate, 0)
                } else {
                    submit
                };
                job.context.submit(&submit)?;
                fences.push((done.export_sync_file()?, i >= 4));
            }
            jobs.push(job);
        }
        let bo = xaccel::Bo::create(&dev, 4096, c.system)?;
        let map = bo.map()?;
        map.fill(0x77);
        fs::write(f.driver.join("unbind"), &f.bdf).map_err(|e| format!("unbind {}: {e}", f.bdf))?;
        let checks = (|| -> Check {
            // Done before the unplug, or ENODEV (Documentation/execution.rst); a gated job
            // cannot have run.
            for (fd, gated) in &fences {
                match (settled(fd)?, gated) {
                    (Ok(_), false) | (Err(Errno::NODEV), _) => {}
                    (status, _) => fail!("a job in flight (gated: {gated}) ended with {status:?}"),
                }
            }
            if let Some(job) = jobs.first() {
                let submitted = job.context.submit(&job.submit());
                ensure!(
                    submitted.as_ref().err().and_then(|e| e.errno()) == Some(Errno::NODEV),
                    "SUBMIT after the unplug: {submitted:?}, expected ENODEV"
                );
            }
            // System memory outlives the device: the mapping still reads what was written.
            ensure!(
                map.find_not(0x77).is_none(),
                "the mapping changed with the unplug"
            );
            let info = dev.device_info();
            ensure!(
                info.as_ref().err().and_then(|e| e.errno()) == Some(Errno::NODEV),
                "QUERY after the unplug: {info:?}, expected ENODEV"
            );
            Ok(())
        })();
        drop(jobs);
        checks
    };
    timeline.inc(1)?;
    let bound = fs::write(f.driver.join("bind"), &f.bdf);
    checks?;
    bound.map_err(|e| format!("bind {}: {e}", f.bdf))?;
    let node = node_of(&f)?;
    let again = Ctx::new(&node)?;
    if let Some(job) = again.any_job(&again.dev)? {
        let status = job.run(job.submit())?;
        ensure!(status.is_ok(), "NOP after the rebind ended with {status:?}");
    }
    tap::pass()
}
