// SPDX-License-Identifier: GPL-2.0-only
//! The exporting device goes away while its dma-buf is held: by vgem (an
//! import and a mapping of it), by this process (the dma-buf fd) and by a
//! child process started after the unload. Everything keeps reading the data;
//! the unplugged xaccel file answers ENODEV; nothing splats. The caller
//! (tools/vm/guest.sh) then checks that `xaccel.ko` unloads once this program
//! has closed everything.

use std::cell::RefCell;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, Stdio};

use xaccel::{Device, Errno};
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Accel, LEN};
use xaccel_selftests::peers::{self, SharedMap, Vgem};

/// The pattern the exported BO holds.
const SEED: u64 = 0xdead;

/// What is held across the unload.
pub struct Held {
    /// The exporting device's file, kept open.
    dev: Device,
    /// Its mapping of the BO (the handle is closed before the unload).
    ours: SharedMap,
    /// The dma-buf.
    dma_buf: OwnedFd,
    /// vgem's file, with the BO imported before the unload.
    vgem: Vgem,
    /// The import's handle there.
    vgem_handle: u32,
    /// A device-memory BO's dma-buf, imported into vgem too, if the device
    /// has a CPU-visible DEVICE region.
    device_dma_buf: Option<OwnedFd>,
    /// A child process holding a mapping of a device BO, waiting on stdin
    /// to touch it again (see [`touch_device_bo`]).
    toucher: Option<std::process::Child>,
}

/// The unplug sequence: the command that unloads the backend, and the state.
pub struct Unplug {
    /// The device that exports.
    pub path: std::path::PathBuf,
    /// A shell command unloading its backend.
    pub command: String,
    /// Set by [`hold`], dropped by [`close_all`].
    pub held: RefCell<Option<Held>>,
}

fn with_held(u: &Unplug, f: impl FnOnce(&Held) -> TestResult) -> TestResult {
    match u.held.borrow().as_ref() {
        Some(held) => f(held),
        None => fail!("nothing is held (the first test failed)"),
    }
}

/// Exports a BO, imports it into vgem, closes the BO's handle.
pub fn hold(u: &Unplug) -> TestResult {
    let a = Accel::open(&u.path)?;
    let bo = a.bo()?;
    let ours = Accel::map(&a.dev, bo.handle())?;
    ours.fill(SEED);
    let dma_buf = bo.export()?;
    bo.close()?;
    let vgem = Vgem::open()?;
    let vgem_handle = peers::import_raw(vgem.as_fd(), dma_buf.as_raw_fd())?;
    let local = a.dev.regions()?.into_iter().find(|r| {
        r.kind == xaccel::RegionKind::Device && r.flags.contains(xaccel::RegionFlags::CPU_VISIBLE)
    });
    let device_dma_buf = match local {
        Some(local) => {
            let bo = xaccel::Bo::create(&a.dev, LEN as u64, local.id)?;
            Accel::map(&a.dev, bo.handle())?.fill(SEED);
            let fd = bo.export()?;
            // vgem keeps its import (and attachment) across the unload.
            peers::import_raw(vgem.as_fd(), fd.as_raw_fd())?;
            bo.close()?;
            Some(fd)
        }
        None => None,
    };
    let toucher = match device_dma_buf {
        Some(_) => Some(start_toucher(&u.path)?),
        None => None,
    };
    *u.held.borrow_mut() = Some(Held {
        dev: a.dev,
        ours,
        dma_buf,
        vgem,
        vgem_handle,
        device_dma_buf,
        toucher,
    });
    pass()
}

/// Starts a child that maps a device BO and waits (see [`touch_device_bo`]);
/// returns once it says the mapping is made.
fn start_toucher(path: &std::path::Path) -> Result<std::process::Child, String> {
    use std::io::BufRead;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--touch-device-bo")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning the child: {e}"))?;
    let mut line = String::new();
    let out = child.stdout.take().ok_or("no child stdout")?;
    std::io::BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() != "mapped" {
        let _ = child.kill();
        return Err(format!("the child said {line:?}"));
    }
    Ok(child)
}

/// The child's side: maps a device BO of `path` (written), prints
/// `mapped`, waits for a line on stdin, then reads the mapping again. The
/// device is unplugged by then, so the read must kill it with SIGBUS.
pub fn touch_device_bo(path: &std::path::Path) -> Result<(), String> {
    let a = Accel::open(path).map_err(|e| e.0)?;
    let regions = a.dev.regions().map_err(|e| e.to_string())?;
    let Some(local) = regions
        .into_iter()
        .find(|r| r.kind == xaccel::RegionKind::Device)
    else {
        return Err("no DEVICE region".into());
    };
    let bo = xaccel::Bo::create(&a.dev, LEN as u64, local.id).map_err(|e| e.to_string())?;
    let map = Accel::map(&a.dev, bo.handle()).map_err(|e| e.0)?;
    map.fill(SEED);
    println!("mapped");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    map.check(SEED)?;
    Err("the mapping of revoked device memory still reads".into())
}

/// The child's mapping of a device BO, made before the unload, gets SIGBUS
/// on its next access: the memory was revoked with the device.
pub fn device_mapping_revoked(u: &Unplug) -> TestResult {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    let mut held = u.held.borrow_mut();
    let Some(child) = held.as_mut().and_then(|h| h.toucher.as_mut()) else {
        return xaccel_selftests::tap::skip("no CPU-visible DEVICE region");
    };
    if let Some(stdin) = child.stdin.as_mut() {
        writeln!(stdin, "go")?;
    }
    let status = child.wait()?;
    ensure!(
        status.signal() == Some(7),
        "the child's access: {status}, expected SIGBUS (7)"
    );
    pass()
}

/// Exports of device memory are revoked with the device: mmap() of the
/// dma-buf and a new import (another vgem file) fail with ENODEV.
pub fn device_memory_revoked(u: &Unplug) -> TestResult {
    with_held(u, |h| {
        let Some(fd) = &h.device_dma_buf else {
            return xaccel_selftests::tap::skip("no CPU-visible DEVICE region");
        };
        let map = SharedMap::new(fd.as_fd(), LEN, 0).map(|_| ());
        ensure!(
            map == Err(Errno::NODEV),
            "mmap of a revoked dma-buf: {}",
            result_name(&map)
        );
        let vgem = Vgem::open()?;
        let import = peers::import_raw(vgem.as_fd(), fd.as_raw_fd()).map(|_| ());
        ensure!(
            import == Err(Errno::NODEV),
            "a new import of a revoked dma-buf: {}",
            result_name(&import)
        );
        pass()
    })
}

/// Runs the unload command.
pub fn unload(u: &Unplug) -> TestResult {
    let status = Command::new("sh").arg("-c").arg(&u.command).status()?;
    ensure!(status.success(), "`{}`: {status}", u.command);
    ensure!(!u.path.exists(), "{} still exists", u.path.display());
    pass()
}

/// The exporting process's mapping reads the data, and so does a mapping of
/// the dma-buf vgem hands out for its import (it must be ours).
pub fn mappings_survive(u: &Unplug) -> TestResult {
    with_held(u, |h| {
        h.ours.check(SEED)?;
        let theirs = h.vgem.export(h.vgem_handle)?;
        ensure!(
            peers::same_file(theirs.as_fd(), h.dma_buf.as_fd())?,
            "vgem handed out another dma-buf"
        );
        SharedMap::new(theirs.as_fd(), LEN, 0)?.check(SEED)?;
        pass()
    })
}

/// `mmap()` of the dma-buf fd works after the unload.
pub fn dma_buf_mmap(u: &Unplug) -> TestResult {
    with_held(u, |h| {
        SharedMap::new(h.dma_buf.as_fd(), LEN, 0)?.check(SEED)?;
        pass()
    })
}

/// A child process given the dma-buf maps it and reads the data.
pub fn child_process(u: &Unplug) -> TestResult {
    with_held(u, |h| {
        let exe = std::env::current_exe()?;
        let status = Command::new(exe)
            .arg("--check-stdin")
            .arg(SEED.to_string())
            .stdin(Stdio::from(h.dma_buf.try_clone()?))
            .status()?;
        ensure!(status.success(), "the child: {status}");
        pass()
    })
}

/// A new import into another vgem file attaches and maps the dma-buf for
/// vgem's device after the unload.
pub fn new_import(u: &Unplug) -> TestResult {
    with_held(u, |h| {
        let vgem = Vgem::open()?;
        let handle = peers::import_raw(vgem.as_fd(), h.dma_buf.as_raw_fd())?;
        let theirs = vgem.export(handle)?;
        SharedMap::new(theirs.as_fd(), LEN, 0)?.check(SEED)?;
        peers::gem_close(vgem.as_fd(), handle)?;
        pass()
    })
}

/// The unplugged device's file: PRIME import and BO_INFO give ENODEV.
pub fn unplugged_file(u: &Unplug) -> TestResult {
    with_held(u, |h| {
        let import = h.dev.prime_fd_to_handle_raw(h.dma_buf.as_fd());
        ensure!(
            import == Err(Errno::NODEV),
            "PRIME import: {}",
            result_name(&import.map(|_| ()))
        );
        let info = h
            .dev
            .bo_info(1)
            .map(|_| ())
            .map_err(|e| e.errno().unwrap_or(Errno::IO));
        ensure!(info == Err(Errno::NODEV), "BO_INFO: {}", result_name(&info));
        pass()
    })
}

/// Closes vgem's handle and file, the mapping, the dma-buf and the device.
pub fn close_all(u: &Unplug) -> TestResult {
    let Some(h) = u.held.borrow_mut().take() else {
        fail!("nothing is held");
    };
    peers::gem_close(h.vgem.as_fd(), h.vgem_handle)?;
    drop(h);
    pass()
}

/// The child's side of [`child_process`]: checks the dma-buf on stdin.
pub fn check_stdin(seed: u64) -> Result<(), String> {
    let stdin = std::io::stdin();
    let map = SharedMap::new(stdin.as_fd(), LEN, 0).map_err(|e| format!("mmap stdin: {e}"))?;
    map.check(seed)
}
