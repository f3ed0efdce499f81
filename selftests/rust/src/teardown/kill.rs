// SPDX-License-Identifier: GPL-2.0-only
//! `kill`: SIGKILL of a process with thousands of jobs queued (see the crate documentation).
//!
//! The child queues, on each device, three contexts of jobs behind a sw_sync fence that is never
//! signalled (the first job waits for it, the others for their turn) and two contexts of jobs
//! behind a HANG with a 5 s timeout. It exports the fences of the first, middle and last job of
//! every context as sync_files and prints their numbers; this process takes them
//! (`pidfd_getfd`), kills the child and waits for every one to signal.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rustix::ioctl::{ioctl, opcode, Opcode, Updater};
use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};
use xaccel::vaccel::Program;
use xaccel::{Bo, Context, Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{self, Failure, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::{queues, runs_a_job, settle, used, Check, GUARD};

/// What `kill` runs on.
pub struct Kill {
    pub devices: Vec<PathBuf>,
    pub jobs: u32,
}

#[repr(C)]
struct SwSyncCreateFence {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

const SW_SYNC_CREATE_FENCE: Opcode = opcode::read_write::<SwSyncCreateFence>(b'W', 0);

/// A sw_sync timeline's fence at point 1, never signalled while the timeline is open; `None`
/// without sw_sync (debugfs).
fn gate() -> Check<Option<(File, OwnedFd)>> {
    let Ok(timeline) = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/sys/kernel/debug/sync/sw_sync")
    else {
        return Ok(None);
    };
    let mut data = SwSyncCreateFence {
        value: 1,
        name: *b"xaccel-teardown\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        fence: -1,
    };
    // SAFETY: The opcode matches `SwSyncCreateFence`, which holds no pointers.
    unsafe {
        ioctl(
            timeline.as_fd(),
            Updater::<SW_SYNC_CREATE_FENCE, _>::new(&mut data),
        )
    }?;
    // SAFETY: The kernel installed a new fd that nothing else owns.
    let fence = unsafe { OwnedFd::from_raw_fd(data.fence) };
    Ok(Some((timeline, fence)))
}

/// The kinds of job whose fence the child hands over, and the errors their fences may end with.
fn expected(kind: &str) -> &'static [Errno] {
    match kind {
        // The HANG itself: timed out, or cancelled if it never got the engine.
        "hang" => &[Errno::TIME, Errno::CANCELED],
        // Behind the never-signalled fence, or behind the HANG: never ran.
        _ => &[Errno::CANCELED],
    }
}

/// A fence the child exported: its kind, the job's index in its context, the fd.
struct Held {
    what: String,
    kind: String,
    fd: OwnedFd,
}

pub fn kill(k: &Kill) -> TestResult {
    let Some((_timeline, gate)) = gate()? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let observers = k
        .devices
        .iter()
        .map(Device::open)
        .collect::<Result<Vec<_>, _>>()?;
    let before: Vec<Vec<u64>> = observers.iter().map(used).collect::<Check<_>>()?;
    let nodes: Vec<PathBuf> = k
        .devices
        .iter()
        .map(std::fs::canonicalize)
        .collect::<Result<_, _>>()?;
    let idle: Vec<Vec<(u64, u64)>> = nodes
        .iter()
        .map(|n| queues(n).map(|q| vec![(0, 0); q.len()]))
        .collect::<Check<_>>()?;

    // Without close-on-exec, for the child.
    let gate_for_child = rustix::io::dup(gate.as_fd())?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("kill-child")
        .args(["--gate-fd", &gate_for_child.as_raw_fd().to_string()])
        .args(["--jobs", &k.jobs.to_string()])
        .args(&k.devices)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    drop(gate_for_child);
    let result = take_fences(&mut child);
    // SIGKILL, whatever happened: the point of the test.
    child.kill()?;
    let status = child.wait()?;
    let (held, jobs) = result?;
    ensure!(
        std::os::unix::process::ExitStatusExt::signal(&status) == Some(9),
        "the child was not killed by SIGKILL: {status}"
    );
    tap::diag(&format!(
        "{jobs} jobs queued, {} fences held across the kill",
        held.len()
    ));

    // Every fence signals, with the error its job must end with.
    let start = Instant::now();
    for h in &held {
        let status = loop {
            match xaccel::sync_file_status(h.fd.as_fd())? {
                Ok(false) if start.elapsed() < GUARD => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(false) => fail!("{}: its fence never signalled after the kill", h.what),
                done => break done,
            }
        };
        let want = expected(&h.kind);
        match status {
            Err(errno) if want.contains(&errno) => {}
            Err(errno) => fail!(
                "{}: fence error {}, want {want:?}",
                h.what,
                errno_name(errno)
            ),
            Ok(_) => fail!("{}: its fence signalled without an error", h.what),
        }
    }
    for ((dev, was), (node, idle)) in observers.iter().zip(&before).zip(nodes.iter().zip(&idle)) {
        let name = node.display();
        settle(&format!("{name}: engines (queued, running)"), idle, || {
            queues(node)
        })?;
        settle(&format!("{name}: regions used"), was, || used(dev))?;
        runs_a_job(dev)?;
    }
    tap::pass()
}

/// Reads the child's report and takes the fences it names; returns them and the jobs queued.
fn take_fences(child: &mut std::process::Child) -> Check<(Vec<Held>, u64)> {
    let pidfd = pidfd_open(Pid::from_child(child), PidfdFlags::empty())?;
    let Some(stdout) = child.stdout.take() else {
        fail!("no pipe from the child");
    };
    let mut held = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["fence", device, context, kind, job, fd] => {
                let fd: i32 = fd.parse().map_err(|_| Failure(line.clone()))?;
                let fd = pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty())?;
                if kind == "gated" {
                    let status = xaccel::sync_file_status(fd.as_fd())?;
                    ensure!(status == Ok(false), "{line}: {status:?} before the kill");
                }
                held.push(Held {
                    what: format!("{device} context {context} job {job} ({kind})"),
                    kind: kind.to_owned(),
                    fd,
                });
            }
            ["note", ..] => tap::diag(&line),
            ["ready", jobs] => {
                let jobs = jobs.parse().map_err(|_| Failure(line.clone()))?;
                return Ok((held, jobs));
            }
            _ => fail!("the child said: {line}"),
        }
    }
    fail!("the child ended before it was ready")
}

/// The child: queues the jobs, prints the fences, then waits to be killed.
pub fn child(gate_fd: i32, jobs: u32, devices: &[PathBuf]) -> ExitCode {
    // SAFETY: The parent passed the fd, open until this process exits.
    let gate = unsafe { BorrowedFd::borrow_raw(gate_fd) };
    let opened: Result<Vec<Device>, _> = devices.iter().map(Device::open).collect();
    let result = opened
        .map_err(Failure::from)
        .and_then(|devs| queue_jobs(gate, jobs, &devs).map(|n| (devs, n)));
    match result {
        Ok((_devices, queued)) => {
            println!("ready {queued}");
            // Until SIGKILL: the parent never writes.
            let _ = std::io::stdin().read(&mut [0u8; 1]);
            ExitCode::SUCCESS
        }
        Err(Failure(why)) => {
            println!("error {why}");
            ExitCode::FAILURE
        }
    }
}

/// Per device: the gated contexts, then the hanging ones. Everything stays alive (leaked) until
/// the process dies. Returns the jobs queued.
fn queue_jobs(gate: BorrowedFd<'_>, jobs: u32, devs: &[Device]) -> Check<u64> {
    const GATED: u32 = 3;
    const HANGING: u32 = 2;
    let mut queued = 0;
    let mut plans = Vec::new();
    for (d, dev) in devs.iter().enumerate() {
        let system = dev.system_region()?.map_or(0, |r| r.id);
        let mut p = Program::new();
        p.nop();
        let nop_len = p.as_bytes().len() as u64;
        p.hang();
        let program = p.as_bytes().to_vec();
        let cmds = Bo::create(dev, program.len() as u64, system)?;
        cmds.map()?.write(0, &program);
        let gated = Syncobj::create(dev, false)?;
        gated.import_sync_file(gate)?;
        let engines = dev.device_info()?.engine_count.max(1);
        plans.push((d, dev, cmds, nop_len, program.len() as u64, gated, engines));
    }
    // All gated contexts first, so that the hangs start as late as possible.
    for hanging in [false, true] {
        let count = if hanging { HANGING } else { GATED };
        for (d, dev, cmds, nop_len, total, gated, engines) in &plans {
            for i in 0..count {
                let context = Context::create(dev, i % engines, Priority::Normal)?;
                let label = if hanging { GATED + i } else { i };
                for j in 0..jobs {
                    let mut submit = if hanging && j == 0 {
                        Submit::new(cmds, *nop_len, total - nop_len).timeout(Duration::from_secs(5))
                    } else {
                        Submit::new(cmds, 0, *nop_len)
                    };
                    if !hanging && j == 0 {
                        submit = submit.wait(gated, 0);
                    }
                    let sampled = j == 0 || j == jobs / 2 || j + 1 == jobs;
                    let out = if sampled {
                        Some(Syncobj::create(dev, false)?)
                    } else {
                        None
                    };
                    if let Some(out) = &out {
                        submit = submit.signal(out, 0);
                    }
                    match context.submit(&submit) {
                        Ok(_) => queued += 1,
                        // The HANG timed out already: the context is guilty.
                        Err(e) if hanging && e.errno() == Some(Errno::IO) => {
                            println!("note device {d} context {label}: guilty after {j} jobs");
                            break;
                        }
                        Err(e) => return Err(e.into()),
                    }
                    if let Some(out) = out {
                        let kind = match (hanging, j) {
                            (false, _) => "gated",
                            (true, 0) => "hang",
                            (true, _) => "queued",
                        };
                        let fd = out.export_sync_file()?;
                        println!("fence {d} {label} {kind} {j} {}", fd.as_raw_fd());
                        std::mem::forget(fd);
                    }
                }
                std::mem::forget(context);
            }
        }
    }
    for plan in plans {
        std::mem::forget(plan);
    }
    Ok(queued)
}
