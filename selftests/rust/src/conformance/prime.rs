// SPDX-License-Identifier: GPL-2.0-only
//! PRIME both ways with jobs: dma-bufs of udmabuf, vgem and another xaccel device imported here
//! and used by NOP jobs (and VM binds: refused with `EOPNOTSUPP` on a device with an MMU,
//! mapped on one without), and this device's BOs exported to vgem and to another xaccel
//! device, whose jobs use them. Every side checks the data bit-exactly. The data-path details
//! of each peer are selftest-dmabuf's.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE;
use xaccel::{Access, Bo, Device, Errno, Vm};
use xaccel_selftests::peers::{self, SharedMap, Udmabuf, Vgem};
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Check, Ctx};

/// Bytes shared: 4 pages, enough to catch a page mix-up.
const LEN: usize = 4 * 4096;

/// Another xaccel device than the one under test, and its context (for its NOP): the first in
/// `/dev/accel` that answers QUERY.
fn other_device(c: &Ctx) -> Check<Option<Ctx>> {
    for path in Device::enumerate()?.into_iter().filter(|p| *p != c.path) {
        if let Ok(other) = Ctx::new(&path) {
            return Ok(Some(other));
        }
    }
    Ok(None)
}

/// A shared mapping of `bo` (of `dev`) through its device file.
fn map(dev: &Device, bo: &Bo<'_>) -> Check<SharedMap> {
    Ok(SharedMap::new(dev.as_fd(), LEN, bo.info().mmap_offset)?)
}

/// A dma-buf of another exporter, filled with the pattern `seed`, and the exporter's view of it
/// to check afterwards.
struct Source {
    name: String,
    dma_buf: OwnedFd,
    seed: u64,
    view: SharedMap,
}

/// A [`Source`] of every exporter present: udmabuf, vgem, the other xaccel device.
fn sources(other: Option<&Ctx>, vgem: Option<&Vgem>) -> Check<Vec<Source>> {
    let mut out = Vec::new();
    if let Ok(udmabuf) = Udmabuf::new(LEN) {
        udmabuf.memory.fill(11);
        out.push(Source {
            name: "udmabuf".into(),
            dma_buf: udmabuf.dma_buf,
            seed: 11,
            view: udmabuf.memory,
        });
    }
    if let Some(vgem) = vgem {
        let handle = vgem.create(LEN as u64)?;
        let view = vgem.map(handle, LEN)?;
        view.fill(12);
        out.push(Source {
            name: "vgem".into(),
            dma_buf: vgem.export(handle)?,
            seed: 12,
            view,
        });
    }
    if let Some(other) = other {
        let bo = Bo::create(&other.dev, LEN as u64, other.system)?;
        let view = map(&other.dev, &bo)?;
        view.fill(13);
        out.push(Source {
            name: format!("{} ({})", other.path.display(), other.info.backend),
            dma_buf: bo.export()?,
            seed: 13,
            view,
        });
        // The export holds the BO: its handle can go.
        drop(bo);
    }
    Ok(out)
}

/// Imports of udmabuf, vgem and another xaccel device: the import maps the exporter's data, a
/// NOP job lists it for writing and completes (the data stays), and VM_BIND maps it on a device
/// without an MMU and refuses it with `EOPNOTSUPP` on one with.
pub fn imports_in_jobs(c: &Ctx) -> TestResult {
    let other = other_device(c)?;
    let vgem = Vgem::open().ok();
    let sources = sources(other.as_ref(), vgem.as_ref())?;
    if sources.is_empty() {
        return tap::skip("no udmabuf, vgem or other xaccel device");
    }
    let job = c.any_job(&c.dev)?;
    let vm = Vm::create(&c.dev)?;
    for s in &sources {
        let bo = c.dev.import(s.dma_buf.as_fd())?;
        ensure!(
            bo.size() >= LEN as u64,
            "{}: import of {} bytes",
            s.name,
            bo.size()
        );
        map(&c.dev, &bo)?
            .check(s.seed)
            .map_err(|e| format!("{}: the import: {e}", s.name))?;
        if let Some(job) = &job {
            let status = job.run(job.submit().bo(&bo, DRM_XACCEL_SUBMIT_BO_WRITE))?;
            ensure!(status.is_ok(), "{}: the NOP ended with {status:?}", s.name);
        }
        s.view
            .check(s.seed)
            .map_err(|e| format!("{}: after the job: {e}", s.name))?;
        if c.info.va_size == 0 {
            continue;
        }
        let bind = vm.bind(&bo, 0, LEN as u64, c.info.va_start, Access::ReadWrite);
        match (c.mmu(), bind) {
            (true, Err(e)) => ensure!(
                e.errno() == Some(Errno::OPNOTSUPP),
                "{}: VM_BIND of the import: {e}, expected EOPNOTSUPP",
                s.name
            ),
            (true, Ok(_)) => fail!(
                "{}: VM_BIND of an import on an MMU device succeeded",
                s.name
            ),
            (false, Err(e)) => fail!("{}: VM_BIND of the import: {e}", s.name),
            (false, Ok(binding)) => {
                if let Some(job) = &job {
                    let status = job.run(job.submit().vm(&vm))?;
                    ensure!(
                        status.is_ok(),
                        "{}: the NOP in the VM ended with {status:?}",
                        s.name
                    );
                }
                drop(binding);
            }
        }
    }
    tap::pass()
}

/// A BO of this device exported: vgem imports it, another xaccel device imports it, maps it and
/// runs its own NOP with it; both see the data; re-importing the export here gives the BO's own
/// handle.
pub fn exports_to_peers(c: &Ctx) -> TestResult {
    let bo = Bo::create(&c.dev, LEN as u64, c.system)?;
    let ours = map(&c.dev, &bo)?;
    ours.fill(21);
    let dma_buf = bo.export()?;
    let again = c.dev.prime_fd_to_handle_raw(dma_buf.as_fd())?;
    ensure!(
        again == bo.handle(),
        "re-import gave handle {again}, not {}",
        bo.handle()
    );
    SharedMap::new(dma_buf.as_fd(), LEN, 0)?.check(21)?;
    let mut peers_seen = 0;
    if let Ok(vgem) = Vgem::open() {
        let handle = peers::import_raw(vgem.as_fd(), dma_buf.as_raw_fd())?;
        peers::gem_close(vgem.as_fd(), handle)?;
        peers_seen += 1;
    }
    if let Some(other) = other_device(c)? {
        let theirs = other.dev.import(dma_buf.as_fd())?;
        map(&other.dev, &theirs)?.check(21)?;
        if let Some(job) = other.any_job(&other.dev)? {
            let status = job.run(job.submit().bo(&theirs, 0))?;
            ensure!(
                status.is_ok(),
                "the other device's NOP ended with {status:?}"
            );
        }
        peers_seen += 1;
    }
    ours.check(21)?;
    if peers_seen == 0 {
        return tap::skip("no vgem and no other xaccel device");
    }
    tap::pass()
}
