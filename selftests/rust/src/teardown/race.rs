// SPDX-License-Identifier: GPL-2.0-only
//! `close-race`: one thread closes the device file while three others are in SUBMIT, VM_BIND
//! and VM_UNBIND, and BO_CREATE, `mmap()` and the first write to the mapping, on that file.
//! A close does not end calls already made (they hold the file), so the file is released by
//! whichever of them finishes last (or by the last mapping going); every thread then gets
//! `EBADF` from its next call. Every round must give every byte back.
//!
//! The threads use raw handles only: no wrapper may close a handle through the fd number
//! after the close, when a later open could have reused it.

use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::*;
use xaccel::{Device, Errno};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::{nop, runs_a_job, settle, used, Check, GUARD};

/// What `close-race` runs on.
pub struct Race {
    pub device: PathBuf,
    pub rounds: u32,
}

/// Most iterations of a thread: bounded even if the close never came.
const MAX_ITERATIONS: u64 = 100_000;

/// Iterations each thread makes before the file is closed.
const BEFORE_CLOSE: u64 = 3;

/// The objects of one round, by raw handle.
struct Setup {
    system: u32,
    context: u32,
    cmds: u32,
    cmd_len: u64,
    vm: u32,
    bind_bo: u32,
    va: u64,
}

fn setup(dev: &Device) -> Check<Setup> {
    let system = dev.system_region()?.map_or(0, |r| r.id);
    let program = nop(dev)?;
    let page = rustix::param::page_size() as u64;
    let mut create = drm_xaccel_bo_create {
        size: page,
        region: system,
        ..Default::default()
    };
    dev.bo_create_raw(&mut create)?;
    let cmds = create.handle;
    let offset = dev.bo_info(cmds)?.mmap_offset;
    // SAFETY: A new shared mapping of the command BO; unmapped below.
    let map = unsafe {
        mmap(
            std::ptr::null_mut(),
            page as usize,
            ProtFlags::WRITE,
            MapFlags::SHARED,
            dev.as_fd(),
            offset,
        )
    }?;
    // SAFETY: `program` fits in the page just mapped, writable.
    unsafe {
        std::ptr::copy_nonoverlapping(program.as_ptr(), map.cast::<u8>(), program.len());
        munmap(map, page as usize)?;
    }
    dev.bo_create_raw(&mut create)?;
    let bind_bo = create.handle;
    let mut context = drm_xaccel_context_create {
        engine: 0,
        priority: DRM_XACCEL_PRIORITY_NORMAL,
        ..Default::default()
    };
    dev.context_create_raw(&mut context)?;
    let mut vm = drm_xaccel_vm_create::default();
    dev.vm_create_raw(&mut vm)?;
    Ok(Setup {
        system,
        context: context.context_id,
        cmds,
        cmd_len: program.len() as u64,
        vm: vm.vm_id,
        bind_bo,
        va: dev.device_info()?.va_start,
    })
}

/// SUBMITs a NOP until a call fails (`EBUSY`, a full queue, is waited out).
fn submitter(dev: &Device, s: &Setup, count: &AtomicU64) -> Errno {
    for _ in 0..MAX_ITERATIONS {
        let mut args = drm_xaccel_submit {
            context_id: s.context,
            cmd_handle: s.cmds,
            cmd_size: s.cmd_len,
            ..Default::default()
        };
        match dev.submit_raw(&mut args) {
            Ok(()) => count.fetch_add(1, Ordering::Relaxed),
            Err(Errno::BUSY) => {
                std::thread::yield_now();
                continue;
            }
            Err(e) => return e,
        };
    }
    Errno::TIMEDOUT
}

/// VM_BIND and VM_UNBIND of one page until a call fails.
fn binder(dev: &Device, s: &Setup, count: &AtomicU64) -> Errno {
    let page = rustix::param::page_size() as u64;
    for _ in 0..MAX_ITERATIONS {
        let mut bind = drm_xaccel_vm_bind {
            vm_id: s.vm,
            handle: s.bind_bo,
            size: page,
            va: s.va,
            flags: DRM_XACCEL_VM_BIND_READ_WRITE,
            ..Default::default()
        };
        if let Err(e) = dev.vm_bind_raw(&mut bind) {
            return e;
        }
        let mut unbind = drm_xaccel_vm_unbind {
            vm_id: s.vm,
            va: s.va,
            size: page,
            ..Default::default()
        };
        if let Err(e) = dev.vm_unbind_raw(&mut unbind) {
            return e;
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
    Errno::TIMEDOUT
}

/// A new BO, mapped and written (its first fault), unmapped, until a call fails. The handles
/// stay: the file's release frees them.
fn faulter(dev: &Device, s: &Setup, count: &AtomicU64) -> Errno {
    let len = 4 * rustix::param::page_size();
    for _ in 0..MAX_ITERATIONS {
        let mut create = drm_xaccel_bo_create {
            size: len as u64,
            region: s.system,
            ..Default::default()
        };
        if let Err(e) = dev.bo_create_raw(&mut create) {
            return e;
        }
        let mut info = drm_xaccel_bo_info {
            handle: create.handle,
            ..Default::default()
        };
        if let Err(e) = dev.bo_info_raw(&mut info) {
            return e;
        }
        // SAFETY: A new shared mapping at an address the kernel picks; unmapped below.
        let map = match unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                dev.as_fd(),
                info.mmap_offset,
            )
        } {
            Ok(map) => map,
            Err(e) => return e,
        };
        // SAFETY: The mapping just made, `len` bytes, writable; the mapping holds the file and
        // the BO, closed or not.
        unsafe {
            map.cast::<u8>().write_volatile(1);
            map.cast::<u8>().add(len - 1).write_volatile(2);
            let _ = munmap(map, len);
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
    Errno::TIMEDOUT
}

fn round(r: &Race, observer: &Device, before: &[u64], n: u32) -> Check<[u64; 3]> {
    // Never dropped: the file is closed by number below, and the number may be reused.
    let dev = ManuallyDrop::new(Device::open(&r.device)?);
    let s = setup(&dev)?;
    let counts = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let ends: [Errno; 3] = std::thread::scope(|scope| {
        let workers: [fn(&Device, &Setup, &AtomicU64) -> Errno; 3] = [submitter, binder, faulter];
        let handles: Vec<_> = workers
            .into_iter()
            .zip(&counts)
            .map(|(work, count)| {
                let (dev, s) = (&*dev, &s);
                scope.spawn(move || work(dev, s, count))
            })
            .collect();
        let start = Instant::now();
        while counts
            .iter()
            .any(|c| c.load(Ordering::Relaxed) < BEFORE_CLOSE)
            && !handles.iter().any(|h| h.is_finished())
            && start.elapsed() < GUARD
        {
            std::thread::yield_now();
        }
        // SAFETY: The fd is the device's, closed once here; `dev` is never dropped, and no
        // one uses the number after the workers are joined.
        unsafe { rustix::io::close(dev.as_fd().as_raw_fd()) };
        let mut ends = [Errno::TIMEDOUT; 3];
        for (end, h) in ends.iter_mut().zip(handles) {
            *end = h.join().unwrap_or(Errno::NOTRECOVERABLE);
        }
        ends
    });
    for (what, end) in ["SUBMIT", "VM_BIND", "mmap fault"].iter().zip(ends) {
        ensure!(
            end == Errno::BADF,
            "round {n}: the {what} thread ended with {}, expected EBADF",
            errno_name(end)
        );
    }
    settle(
        &format!("round {n}: regions used"),
        &before.to_vec(),
        || used(observer),
    )?;
    Ok(counts.map(|c| c.load(Ordering::Relaxed)))
}

pub fn close_race(r: &Race) -> TestResult {
    let observer = Device::open(&r.device)?;
    let before = used(&observer)?;
    let mut totals = [0u64; 3];
    for n in 0..r.rounds {
        let counts = round(r, &observer, &before, n)?;
        for (t, c) in totals.iter_mut().zip(counts) {
            *t += c;
        }
        if counts.iter().any(|&c| c < BEFORE_CLOSE) {
            fail!("round {n}: a thread did less than {BEFORE_CLOSE} calls: {counts:?}");
        }
    }
    tap::diag(&format!(
        "{} rounds: {} SUBMITs, {} binds, {} faulted mappings",
        r.rounds, totals[0], totals[1], totals[2]
    ));
    runs_a_job(&observer)?;
    tap::pass()
}
