// SPDX-License-Identifier: GPL-2.0-only
//! The execution calls under fault injection: the backend's vendor queries, CONTEXT_CREATE and
//! _DESTROY, SUBMIT (vaccel: NOP, FILL and COPY; hlx: a LIN_DMA in a VM; both waiting for a
//! binary and a timeline syncobj and signalling a timeline point), BO_WAIT, and DRM's syncobj
//! ioctls.

use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use xaccel::hlx::{self, Packet};
use xaccel::uapi::hlx::*;
use xaccel::uapi::*;
use xaccel::vaccel::{Mem, Program};
use xaccel::{Access, Bo, Context, Device, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::Failure;

use crate::state::{jobs_seen, Check, GUARD};
use crate::sweep::{sweep, Call, Sweep};
use crate::sync;
use crate::Ctx;

type Lines = Vec<(String, Sweep)>;

/// SUBMIT's errnos besides `ENOMEM` (`Documentation/uapi.rst`).
const SUBMIT_ERRNOS: &[Errno] = &[
    Errno::INVAL,
    Errno::TOOBIG,
    Errno::NOENT,
    Errno::IO,
    Errno::FAULT,
    Errno::INTR,
    Errno::AGAIN,
    Errno::BUSY,
    Errno::OPNOTSUPP,
    Errno::NOSPC,
    Errno::ACCESS,
];

/// Bytes the SUBMIT sweep's jobs fill and copy.
const LEN: u64 = 8192;

/// An absolute CLOCK_MONOTONIC time `after` from now, in ns.
fn deadline(after: Duration) -> i64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    now.tv_sec * 1_000_000_000 + now.tv_nsec + after.as_nanos() as i64
}

pub fn vendor_query(c: &Ctx) -> Check<Lines> {
    if !c.is_hlx() {
        return Ok(Vec::new());
    }
    let mut lines = Vec::new();
    for (name, kind, size) in [
        ("HW_INFO", HLX_QUERY_HW_INFO, size_of::<hlx_hw_info>()),
        ("COUNTERS", HLX_QUERY_COUNTERS, size_of::<hlx_counters>()),
        ("QUEUES", HLX_QUERY_QUEUES, size_of::<hlx_queue_info>()),
    ] {
        let count = (c.dev.vendor_query(kind, size as u32)?.len() / size) as u32;
        let buf = RefCell::new(vec![0xAAu8; size * count as usize]);
        let s = sweep(
            c,
            &format!("VENDOR_QUERY {name}"),
            &[Errno::INVAL, Errno::OVERFLOW, Errno::FAULT],
            Call::<(), ()>::simple(
                |shot| {
                    let mut buf = buf.borrow_mut();
                    let mut q = drm_xaccel_query {
                        type_: kind,
                        item_size: size as u32,
                        count,
                        items: buf.as_mut_ptr() as u64,
                        ..Default::default()
                    };
                    // SAFETY: `buf` has room for `count` items of `size` bytes.
                    shot.fire(|| unsafe { c.dev.vendor_query_raw(&mut q) })
                },
                |()| Ok(()),
            ),
        )?;
        lines.push((name.into(), s));
    }
    Ok(lines)
}

fn context_raw(dev: &Device) -> Check<u32> {
    let mut args = drm_xaccel_context_create {
        engine: 0,
        priority: DRM_XACCEL_PRIORITY_NORMAL,
        ..Default::default()
    };
    dev.context_create_raw(&mut args)?;
    Ok(args.context_id)
}

fn context_destroy_raw(dev: &Device, context_id: u32) -> Result<(), Errno> {
    dev.context_destroy_raw(&mut drm_xaccel_context_destroy { context_id, pad: 0 })
}

pub fn context_create(c: &Ctx) -> Check<Lines> {
    let mut lines = Vec::new();
    for (name, priority) in [
        ("normal", DRM_XACCEL_PRIORITY_NORMAL),
        ("high", DRM_XACCEL_PRIORITY_HIGH),
    ] {
        let s = sweep(
            c,
            &format!("CONTEXT_CREATE {name}"),
            &[Errno::INVAL, Errno::PERM, Errno::NOSPC],
            Call::<(), u32>::simple(
                |shot| {
                    let mut args = drm_xaccel_context_create {
                        engine: 0,
                        priority,
                        ..Default::default()
                    };
                    shot.fire(|| c.dev.context_create_raw(&mut args))?;
                    Ok(args.context_id)
                },
                |id| Ok(context_destroy_raw(&c.dev, id)?),
            ),
        )?;
        lines.push((name.into(), s));
    }
    Ok(lines)
}

pub fn context_destroy(c: &Ctx) -> Check<Lines> {
    let s = sweep(
        c,
        "CONTEXT_DESTROY",
        &[Errno::INVAL, Errno::NOENT],
        Call {
            setup: Box::new(|| context_raw(&c.dev)),
            call: Box::new(|shot, id| shot.fire(|| context_destroy_raw(&c.dev, *id))),
            finish: Box::new(|id, out| match out {
                Some(()) => Ok(()),
                None => Ok(context_destroy_raw(&c.dev, id)?),
            }),
        },
    )?;
    Ok(vec![("idle context".into(), s)])
}

/// What the SUBMIT sweep's jobs run: the command buffer, the BO list and the VM.
struct Job<'d> {
    cmds: Bo<'d>,
    len: u64,
    bos: Vec<Bo<'d>>,
    vm: Option<Vm<'d>>,
    _bindings: usize,
}

/// vaccel: NOP, FILL of BO 0, COPY of BO 0 to BO 1. hlx: a LIN_DMA between two system BOs
/// bound in a VM (no BO list).
fn job(c: &Ctx) -> Check<Job<'_>> {
    let a = Bo::create(&c.dev, LEN, c.system)?;
    let b = Bo::create(&c.dev, LEN, c.system)?;
    let (program, vm) = if c.is_hlx() {
        let vm = Vm::create(&c.dev)?;
        let (src, dst) = (c.va_start, c.va_start + (1 << 20));
        vm.bind(&a, 0, LEN, src, Access::ReadWrite)?.forget();
        vm.bind(&b, 0, LEN, dst, Access::ReadWrite)?.forget();
        let program = hlx::encode(&[Packet::Copy {
            src,
            dst,
            len: LEN as u32,
        }]);
        (program, Some(vm))
    } else {
        let mut p = Program::new();
        p.nop()
            .fill(Mem::bo(0, 0), 0x1234_5678, LEN)
            .copy(Mem::bo(1, 0), Mem::bo(0, 0), LEN);
        (p.as_bytes().to_vec(), None)
    };
    let cmds = Bo::create(&c.dev, program.len() as u64, c.system)?;
    cmds.map()?.write(0, &program);
    Ok(Job {
        cmds,
        len: program.len() as u64,
        bos: if vm.is_some() { Vec::new() } else { vec![a, b] },
        vm,
        _bindings: 2,
    })
}

pub fn submit(c: &Ctx) -> Check<Lines> {
    let job = job(c)?;
    let context = Context::create(&c.dev, 0, Priority::Normal)?;
    let binary = Syncobj::create(&c.dev, true)?;
    let timeline = Syncobj::create(&c.dev, false)?;
    sync::signal(&c.dev, timeline.handle(), 1)?;
    let out = Syncobj::create(&c.dev, false)?;
    let waits = [
        drm_xaccel_syncobj_ref {
            handle: binary.handle(),
            flags: 0,
            point: 0,
        },
        drm_xaccel_syncobj_ref {
            handle: timeline.handle(),
            flags: 0,
            point: 1,
        },
    ];
    let bos: Vec<drm_xaccel_submit_bo> = job
        .bos
        .iter()
        .map(|bo| drm_xaccel_submit_bo {
            handle: bo.handle(),
            flags: DRM_XACCEL_SUBMIT_BO_WRITE,
        })
        .collect();
    let point = Cell::new(1u64);
    let seen = RefCell::new(Vec::new());
    let s = sweep(
        c,
        "SUBMIT",
        SUBMIT_ERRNOS,
        Call {
            setup: Box::new(|| Ok(())),
            call: Box::new(|shot, ()| {
                *seen.borrow_mut() = jobs_seen(&c.node).map_err(|_| Errno::IO)?;
                let mut args = drm_xaccel_submit {
                    context_id: context.id(),
                    cmd_handle: job.cmds.handle(),
                    cmd_size: job.len,
                    in_syncobjs: waits.as_ptr() as u64,
                    in_syncobj_count: waits.len() as u32,
                    bos: if bos.is_empty() {
                        0
                    } else {
                        bos.as_ptr() as u64
                    },
                    bo_count: bos.len() as u32,
                    out_syncobj: out.handle(),
                    out_point: point.get(),
                    vm_id: job.vm.as_ref().map_or(0, Vm::id),
                    ..Default::default()
                };
                shot.fire(|| c.dev.submit_raw(&mut args))
            }),
            finish: Box::new(|(), done| {
                let signalled = sync::point(&c.dev, out.handle())?;
                match done {
                    Some(()) => {
                        out.wait(point.get(), GUARD)?;
                        point.set(point.get() + 1);
                    }
                    None => {
                        // Nothing queued, no fence installed, no BO reserved.
                        ensure!(
                            signalled == point.get() - 1,
                            "the out-syncobj is at point {signalled}, was {}",
                            point.get() - 1
                        );
                        let now = jobs_seen(&c.node)?;
                        ensure!(
                            now == *seen.borrow(),
                            "the scheduler saw jobs: {now:?}, was {:?}",
                            seen.borrow()
                        );
                        for bo in &job.bos {
                            let mut args = drm_xaccel_bo_wait {
                                handle: bo.handle(),
                                flags: DRM_XACCEL_BO_WAIT_WRITE,
                                ..Default::default()
                            };
                            c.dev.bo_wait_raw(&mut args).map_err(|e| {
                                Failure(format!("a listed BO is busy after the failure: {e}"))
                            })?;
                        }
                    }
                }
                Ok(())
            }),
        },
    )?;
    // The jobs did their work: BO 1 (vaccel) holds the fill pattern.
    if let Some(b) = job.bos.get(1) {
        let mut word = [0u8; 4];
        b.map()?.read(LEN as usize - 4, &mut word);
        ensure!(
            u32::from_le_bytes(word) == 0x1234_5678,
            "COPY's destination holds {word:x?}"
        );
    }
    let name = if c.is_hlx() {
        "LIN_DMA in a VM"
    } else {
        "NOP, FILL, COPY"
    };
    Ok(vec![(name.into(), s)])
}

pub fn bo_wait(c: &Ctx) -> Check<Lines> {
    let bo = Bo::create(&c.dev, LEN, c.system)?;
    let program = if c.is_hlx() {
        hlx::encode(&[Packet::Nop])
    } else {
        Program::new().nop().as_bytes().to_vec()
    };
    let cmds = Bo::create(&c.dev, program.len() as u64, c.system)?;
    cmds.map()?.write(0, &program);
    let context = Context::create(&c.dev, 0, Priority::Normal)?;
    let s = sweep(
        c,
        "BO_WAIT",
        &[
            Errno::INVAL,
            Errno::NOENT,
            Errno::BUSY,
            Errno::TIMEDOUT,
            Errno::INTR,
        ],
        Call {
            setup: Box::new(|| {
                let submit =
                    Submit::new(&cmds, 0, program.len() as u64).bo(&bo, DRM_XACCEL_SUBMIT_BO_WRITE);
                context.submit(&submit)?;
                Ok(())
            }),
            call: Box::new(|shot, ()| {
                let mut args = drm_xaccel_bo_wait {
                    handle: bo.handle(),
                    flags: DRM_XACCEL_BO_WAIT_WRITE,
                    timeout_ns: deadline(GUARD),
                    pad: 0,
                };
                shot.fire(|| c.dev.bo_wait_raw(&mut args))
            }),
            finish: Box::new(|(), _| Ok(bo.wait_idle(xaccel::CpuAccess::Write, Some(GUARD))?)),
        },
    )?;
    Ok(vec![("a BO a job writes".into(), s)])
}

pub fn syncobj_create(c: &Ctx) -> Check<Lines> {
    let mut lines = Vec::new();
    for (name, signaled) in [("unsignalled", false), ("signalled", true)] {
        let s = sweep(
            c,
            &format!("SYNCOBJ_CREATE {name}"),
            &[],
            Call::<(), u32>::simple(
                |shot| {
                    let mut args = sync::Create {
                        handle: 0,
                        flags: if signaled { sync::CREATE_SIGNALED } else { 0 },
                    };
                    // SAFETY: CREATE takes a `Create`, which holds no pointers.
                    shot.fire(|| unsafe { sync::raw::<{ sync::CREATE }, _>(&c.dev, &mut args) })?;
                    Ok(args.handle)
                },
                |handle| Ok(sync::destroy(&c.dev, handle)?),
            ),
        )?;
        lines.push((name.into(), s));
    }
    Ok(lines)
}

pub fn syncobj_destroy(c: &Ctx) -> Check<Lines> {
    let s = sweep(
        c,
        "SYNCOBJ_DESTROY",
        &[],
        Call {
            setup: Box::new(|| Ok(sync::create(&c.dev, true)?)),
            call: Box::new(|shot, handle| shot.fire(|| sync::destroy(&c.dev, *handle))),
            finish: Box::new(|handle, out| match out {
                Some(()) => Ok(()),
                None => Ok(sync::destroy(&c.dev, handle)?),
            }),
        },
    )?;
    Ok(vec![("signalled".into(), s)])
}

pub fn syncobj_export(c: &Ctx) -> Check<Lines> {
    let mut lines = Vec::new();
    for (name, sync_file) in [("syncobj fd", false), ("sync_file", true)] {
        // DRM's drm_syncobj_export_sync_file() reports a failed sync_file_create() (an
        // allocation) as EINVAL: the kernel's errno, not xaccel's.
        let allowed: &[Errno] = if sync_file { &[Errno::INVAL] } else { &[] };
        let s = sweep(
            c,
            &format!("SYNCOBJ_HANDLE_TO_FD {name}"),
            allowed,
            Call {
                setup: Box::new(|| Ok(sync::create(&c.dev, true)?)),
                call: Box::new(|shot, handle| {
                    shot.fire(|| sync::export(&c.dev, *handle, sync_file))
                }),
                finish: Box::new(|handle, fd: Option<OwnedFd>| {
                    drop(fd);
                    Ok(sync::destroy(&c.dev, handle)?)
                }),
            },
        )?;
        lines.push((name.into(), s));
    }
    Ok(lines)
}

/// A signalled job fence of `c`'s device as a sync_file.
fn job_sync_file(c: &Ctx) -> Check<OwnedFd> {
    let program = if c.is_hlx() {
        hlx::encode(&[Packet::Nop])
    } else {
        Program::new().nop().as_bytes().to_vec()
    };
    let cmds = Bo::create(&c.dev, program.len() as u64, c.system)?;
    cmds.map()?.write(0, &program);
    let context = Context::create(&c.dev, 0, Priority::Normal)?;
    let done = Syncobj::create(&c.dev, false)?;
    context.submit(&Submit::new(&cmds, 0, program.len() as u64).signal(&done, 0))?;
    done.wait(0, GUARD)?;
    Ok(done.export_sync_file()?)
}

pub fn syncobj_import(c: &Ctx) -> Check<Lines> {
    let other = c.open_again()?;
    let theirs = Syncobj::create(&other, true)?;
    let syncobj_fd = sync::export(&other, theirs.handle(), false)?;
    let s1 = sweep(
        c,
        "SYNCOBJ_FD_TO_HANDLE of another file's syncobj",
        &[],
        Call::<(), u32>::simple(
            |shot| shot.fire(|| sync::import(&c.dev, syncobj_fd.as_fd(), None)),
            |handle| Ok(sync::destroy(&c.dev, handle)?),
        ),
    )?;
    let fence = job_sync_file(c)?;
    let s2 = sweep(
        c,
        "SYNCOBJ_FD_TO_HANDLE of a job's sync_file",
        &[],
        Call {
            setup: Box::new(|| Ok(sync::create(&c.dev, false)?)),
            call: Box::new(|shot, handle| {
                shot.fire(|| sync::import(&c.dev, fence.as_fd(), Some(*handle)))
            }),
            finish: Box::new(|handle, _| Ok(sync::destroy(&c.dev, handle)?)),
        },
    )?;
    Ok(vec![
        ("syncobj fd".into(), s1),
        ("job sync_file".into(), s2),
    ])
}

/// A timeline syncobj whose points 1 and 2 are signalled.
fn timeline(c: &Ctx) -> Check<Syncobj<'_>> {
    let t = Syncobj::create(&c.dev, false)?;
    sync::signal(&c.dev, t.handle(), 1)?;
    sync::signal(&c.dev, t.handle(), 2)?;
    Ok(t)
}

pub fn syncobj_wait(c: &Ctx) -> Check<Lines> {
    let t = timeline(c)?;
    let handles = [t.handle()];
    let points = [2u64];
    let s = sweep(
        c,
        "SYNCOBJ_TIMELINE_WAIT",
        &[],
        Call::<(), ()>::simple(
            |shot| {
                let mut args = sync::TimelineWait {
                    handles: handles.as_ptr() as u64,
                    points: points.as_ptr() as u64,
                    timeout_nsec: deadline(GUARD),
                    count_handles: 1,
                    flags: sync::WAIT_ALL,
                    ..Default::default()
                };
                // SAFETY: `handles` and `points` hold one entry each and outlive the call.
                shot.fire(|| unsafe { sync::raw::<{ sync::TIMELINE_WAIT }, _>(&c.dev, &mut args) })
            },
            |()| Ok(()),
        ),
    )?;
    Ok(vec![("a signalled point".into(), s)])
}

pub fn syncobj_query(c: &Ctx) -> Check<Lines> {
    let t = timeline(c)?;
    let s = sweep(
        c,
        "SYNCOBJ_QUERY",
        &[],
        Call::<(), u64>::simple(
            |shot| shot.fire(|| sync::point(&c.dev, t.handle())),
            |point| {
                ensure!(point == 2, "QUERY gave point {point}, expected 2");
                Ok(())
            },
        ),
    )?;
    Ok(vec![("a timeline".into(), s)])
}

pub fn syncobj_transfer(c: &Ctx) -> Check<Lines> {
    let src = Syncobj::create(&c.dev, true)?;
    let s = sweep(
        c,
        "SYNCOBJ_TRANSFER",
        &[],
        Call {
            setup: Box::new(|| Ok(sync::create(&c.dev, false)?)),
            call: Box::new(|shot, dst| {
                let mut args = sync::Transfer {
                    src_handle: src.handle(),
                    dst_handle: *dst,
                    dst_point: 1,
                    ..Default::default()
                };
                // SAFETY: TRANSFER takes a `Transfer`, which holds no pointers.
                shot.fire(|| unsafe { sync::raw::<{ sync::TRANSFER }, _>(&c.dev, &mut args) })
            }),
            finish: Box::new(|dst, out| {
                let point = sync::point(&c.dev, dst)?;
                let want = u64::from(out.is_some());
                sync::destroy(&c.dev, dst)?;
                ensure!(point == want, "the timeline is at {point}, expected {want}");
                Ok(())
            }),
        },
    )?;
    Ok(vec![("binary to timeline point".into(), s)])
}

pub fn syncobj_signal(c: &Ctx) -> Check<Lines> {
    let s = sweep(
        c,
        "SYNCOBJ_TIMELINE_SIGNAL",
        &[],
        Call {
            setup: Box::new(|| Ok(sync::create(&c.dev, false)?)),
            call: Box::new(|shot, handle| {
                let (handles, points) = ([*handle], [1u64]);
                let mut args = sync::TimelineArray {
                    handles: handles.as_ptr() as u64,
                    points: points.as_ptr() as u64,
                    count_handles: 1,
                    flags: 0,
                };
                // SAFETY: `handles` and `points` hold one entry each and outlive the call.
                shot.fire(|| unsafe {
                    sync::raw::<{ sync::TIMELINE_SIGNAL }, _>(&c.dev, &mut args)
                })
            }),
            finish: Box::new(|handle, out| {
                let point = sync::point(&c.dev, handle)?;
                sync::destroy(&c.dev, handle)?;
                let want = u64::from(out.is_some());
                ensure!(point == want, "the timeline is at {point}, expected {want}");
                Ok(())
            }),
        },
    )?;
    Ok(vec![("point 1".into(), s)])
}
