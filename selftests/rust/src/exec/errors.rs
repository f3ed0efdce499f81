// SPDX-License-Identifier: GPL-2.0-only
//! Bad input to CONTEXT_CREATE, CONTEXT_DESTROY and SUBMIT: each gets its errno, leaves the
//! argument struct as it was, queues nothing (seqnos do not advance) and the device stays
//! usable.

use std::time::Duration;
use xaccel::uapi::{
    drm_xaccel_context_create, drm_xaccel_context_destroy, drm_xaccel_submit, drm_xaccel_submit_bo,
    drm_xaccel_syncobj_ref, DRM_XACCEL_MAX_CMD_SIZE, DRM_XACCEL_MAX_IN_SYNCOBJS,
    DRM_XACCEL_MAX_QUEUED_JOBS, DRM_XACCEL_MAX_SUBMIT_BOS, DRM_XACCEL_MAX_TIMEOUT_NS,
    DRM_XACCEL_PRIORITY_NORMAL, DRM_XACCEL_PRIORITY_REALTIME, DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT,
    DRM_XACCEL_SUBMIT_BO_WRITE,
};

use xaccel::{Errno, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::*;

/// CONTEXT_CREATE: flags, reserved, priority and engine checks; realtime for root.
pub fn context_create(c: &Ctx) -> TestResult {
    let base = drm_xaccel_context_create {
        engine: 0,
        priority: DRM_XACCEL_PRIORITY_NORMAL,
        ..Default::default()
    };
    let cases = [
        (
            "flags bit 0",
            drm_xaccel_context_create { flags: 1, ..base },
            Errno::INVAL,
        ),
        (
            "flags bit 31",
            drm_xaccel_context_create {
                flags: 1 << 31,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "reserved",
            drm_xaccel_context_create {
                reserved: 1,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "priority 4",
            drm_xaccel_context_create {
                priority: 4,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "engine = count",
            drm_xaccel_context_create {
                engine: c.engines,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "engine u32::MAX",
            drm_xaccel_context_create {
                engine: u32::MAX,
                ..base
            },
            Errno::INVAL,
        ),
    ];
    for (what, args, errno) in cases {
        let mut arg = args;
        expect_errno(c.dev.context_create_raw(&mut arg), errno, what)?;
        expect_eq(arg, args, "argument after the error")?;
    }
    // The tests run as root, which has CAP_SYS_NICE.
    let mut rt = drm_xaccel_context_create {
        priority: DRM_XACCEL_PRIORITY_REALTIME,
        ..base
    };
    c.dev.context_create_raw(&mut rt)?;
    xaccel_selftests::ensure!(rt.context_id != 0, "context id 0");
    let mut destroy = drm_xaccel_context_destroy {
        context_id: rt.context_id,
        pad: 1,
    };
    expect_errno(
        c.dev.context_destroy_raw(&mut destroy),
        Errno::INVAL,
        "destroy pad",
    )?;
    destroy.pad = 0;
    c.dev.context_destroy_raw(&mut destroy)?;
    expect_errno(
        c.dev.context_destroy_raw(&mut destroy),
        Errno::NOENT,
        "destroy twice",
    )?;
    let mut unknown = drm_xaccel_context_destroy {
        context_id: u32::MAX,
        pad: 0,
    };
    expect_errno(
        c.dev.context_destroy_raw(&mut unknown),
        Errno::NOENT,
        "destroy unknown",
    )?;
    tap::pass()
}

/// SUBMIT: every field checked, in any combination of the listed mistakes.
pub fn submit(c: &Ctx) -> TestResult {
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let bo_size = bo.size();
    let done = Syncobj::create(&c.dev, false)?;
    let empty = Syncobj::create(&c.dev, false)?;
    let signalled = Syncobj::create(&c.dev, true)?;
    let other_dev = c.open_again()?;
    // Handles are small per-file numbers: find one of the other file that this file lacks.
    let mut foreigns = Vec::new();
    let foreign = loop {
        let candidate = Syncobj::create(&other_dev, true)?;
        let ours = c
            .dev
            .syncobj_wait_raw(&[candidate.handle()], &[0], Duration::ZERO);
        if ours == Err(Errno::NOENT) {
            break candidate;
        }
        foreigns.push(candidate);
        xaccel_selftests::ensure!(foreigns.len() < 1000, "no foreign-only syncobj handle");
    };
    let first = run(&ctx, &bo, prog.len(), &done)?;
    done.wait(0, GUARD)?;

    let base = drm_xaccel_submit {
        context_id: ctx.id(),
        cmd_handle: bo.handle(),
        cmd_size: prog.len() as u64,
        out_syncobj: done.handle(),
        ..Default::default()
    };
    let refs = |r: &[drm_xaccel_syncobj_ref]| (r.as_ptr() as u64, r.len() as u32);
    let one = |handle, flags, point| {
        [drm_xaccel_syncobj_ref {
            handle,
            flags,
            point,
        }]
    };
    let foreign_ref = one(foreign.handle(), 0, 0);
    let binary_point = one(signalled.handle(), 0, 1);
    let flagged = one(signalled.handle(), 1, 0);
    let fenceless = one(empty.handle(), 0, 0);
    let too_many = vec![
        drm_xaccel_syncobj_ref {
            handle: signalled.handle(),
            flags: 0,
            point: 0
        };
        DRM_XACCEL_MAX_IN_SYNCOBJS as usize + 1
    ];
    let with_in = |r: &[drm_xaccel_syncobj_ref]| {
        let (ptr, n) = refs(r);
        drm_xaccel_submit {
            in_syncobjs: ptr,
            in_syncobj_count: n,
            ..base
        }
    };
    let with_bos = |b: &[drm_xaccel_submit_bo]| drm_xaccel_submit {
        bos: b.as_ptr() as u64,
        bo_count: b.len() as u32,
        ..base
    };
    let entry = |handle, flags| drm_xaccel_submit_bo { handle, flags };
    let many_bos = vec![entry(bo.handle(), 0); DRM_XACCEL_MAX_SUBMIT_BOS as usize + 1];
    let bad_flag = [entry(bo.handle(), 1 << 2)];
    let twice = [
        entry(bo.handle(), 0),
        entry(bo.handle(), DRM_XACCEL_SUBMIT_BO_WRITE),
    ];
    let no_such_bo = [entry(u32::MAX, DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT)];
    let bad_program = packet(99, &[]);
    let bad_bo = c.program(&c.dev, &bad_program)?;
    let mem_program = packet(OP_COPY, &[0; 56]);
    let mem_bo = c.program(&c.dev, &mem_program)?;
    let mut cases = vec![
        (
            "flags bit 0",
            drm_xaccel_submit { flags: 1, ..base },
            Errno::INVAL,
        ),
        (
            "reserved",
            drm_xaccel_submit {
                reserved: 1,
                ..base
            },
            Errno::INVAL,
        ),
        ("pad", drm_xaccel_submit { pad: 1, ..base }, Errno::INVAL),
        (
            "unknown VM",
            drm_xaccel_submit {
                vm_id: u32::MAX,
                ..base
            },
            Errno::NOENT,
        ),
        (
            "unknown context",
            drm_xaccel_submit {
                context_id: 0,
                ..base
            },
            Errno::NOENT,
        ),
        (
            "bad BO handle",
            drm_xaccel_submit {
                cmd_handle: u32::MAX,
                ..base
            },
            Errno::NOENT,
        ),
        (
            "cmd_size 0",
            drm_xaccel_submit {
                cmd_size: 0,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "command buffer past the BO's end",
            drm_xaccel_submit {
                cmd_offset: bo_size - 4,
                cmd_size: 8,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "offset overflowing",
            drm_xaccel_submit {
                cmd_offset: u64::MAX - 3,
                cmd_size: 8,
                ..base
            },
            Errno::INVAL,
        ),
        (
            "cmd_size above the maximum",
            drm_xaccel_submit {
                cmd_size: u64::from(DRM_XACCEL_MAX_CMD_SIZE) + 1,
                ..base
            },
            Errno::TOOBIG,
        ),
        (
            "timeout above the maximum",
            drm_xaccel_submit {
                timeout_ns: DRM_XACCEL_MAX_TIMEOUT_NS + 1,
                ..base
            },
            Errno::TOOBIG,
        ),
        ("too many in-syncobjs", with_in(&too_many), Errno::TOOBIG),
        ("too many BOs", with_bos(&many_bos), Errno::TOOBIG),
        ("unknown BO flag", with_bos(&bad_flag), Errno::INVAL),
        ("a BO listed twice", with_bos(&twice), Errno::INVAL),
        (
            "an unknown BO in the list",
            with_bos(&no_such_bo),
            Errno::NOENT,
        ),
        (
            "bad bos pointer",
            drm_xaccel_submit {
                bos: 8,
                bo_count: 1,
                ..base
            },
            Errno::FAULT,
        ),
        (
            "another file's syncobj",
            with_in(&foreign_ref),
            Errno::NOENT,
        ),
        (
            "point on a binary syncobj",
            with_in(&binary_point),
            Errno::INVAL,
        ),
        ("syncobj flags", with_in(&flagged), Errno::INVAL),
        ("syncobj without a fence", with_in(&fenceless), Errno::INVAL),
        (
            "bad in_syncobjs pointer",
            drm_xaccel_submit {
                in_syncobjs: 8,
                in_syncobj_count: 1,
                ..base
            },
            Errno::FAULT,
        ),
        (
            "unknown out-syncobj",
            drm_xaccel_submit {
                out_syncobj: u32::MAX,
                ..base
            },
            Errno::NOENT,
        ),
        (
            "another file's out-syncobj",
            drm_xaccel_submit {
                out_syncobj: foreign.handle(),
                ..base
            },
            Errno::NOENT,
        ),
        (
            "out_point without out-syncobj",
            drm_xaccel_submit {
                out_syncobj: 0,
                out_point: 1,
                ..base
            },
            Errno::INVAL,
        ),
    ];
    // Command buffers the backend refuses: vaccel's own rules (Documentation/vaccel.rst).
    if c.backend == "vaccel" {
        cases.extend([
            (
                "unknown opcode",
                drm_xaccel_submit {
                    cmd_handle: bad_bo.handle(),
                    cmd_size: bad_program.len() as u64,
                    ..base
                },
                Errno::INVAL,
            ),
            (
                "memory operation without a BO list",
                drm_xaccel_submit {
                    cmd_handle: mem_bo.handle(),
                    cmd_size: mem_program.len() as u64,
                    ..base
                },
                Errno::INVAL,
            ),
        ]);
    }
    for (what, args, errno) in cases {
        let mut arg = args;
        expect_errno(c.dev.submit_raw(&mut arg), errno, what)?;
        expect_eq(arg, args, what)?;
    }
    // Nothing was queued: the next job gets the next seqno, and runs.
    expect_eq(
        run(&ctx, &bo, prog.len(), &done)?,
        first + 1,
        "seqno after the errors",
    )?;
    expect_eq(outcome(&done)?, Ok(()), "job after the errors")?;
    tap::pass()
}

/// SUBMIT beyond `DRM_XACCEL_MAX_QUEUED_JOBS` jobs that have not started (held back by a
/// sw_sync gate) gets `EBUSY` with the struct unchanged; another context goes on; once the gate
/// opens every queued job runs and the context takes jobs again, with the next seqno.
pub fn queue_limit(c: &Ctx) -> TestResult {
    let Some((timeline, gate)) = crate::basic::sw_sync::gate(&c.dev)? else {
        return tap::skip("no /sys/kernel/debug/sync/sw_sync");
    };
    let ctx = c.context(&c.dev, Priority::Normal)?;
    let prog = c.nop();
    let bo = c.program(&c.dev, &prog)?;
    let len = prog.len() as u64;
    let last = Syncobj::create(&c.dev, false)?;
    for i in 0..DRM_XACCEL_MAX_QUEUED_JOBS {
        let submit = Submit::new(&bo, 0, len).wait(&gate, 0);
        let submit = if i + 1 == DRM_XACCEL_MAX_QUEUED_JOBS {
            submit.signal(&last, 0)
        } else {
            submit
        };
        let seqno = ctx.submit(&submit)?;
        expect_eq(seqno, u64::from(i) + 1, "seqno of a queued job")?;
    }
    let args = drm_xaccel_submit {
        context_id: ctx.id(),
        cmd_handle: bo.handle(),
        cmd_size: len,
        ..Default::default()
    };
    let mut arg = args;
    expect_errno(
        c.dev.submit_raw(&mut arg),
        Errno::BUSY,
        "a job beyond the limit",
    )?;
    expect_eq(arg, args, "the refused struct")?;
    // The limit is per context: another one runs a job at once.
    let other = c.context(&c.dev, Priority::Normal)?;
    let done = Syncobj::create(&c.dev, false)?;
    run(&other, &bo, prog.len(), &done)?;
    expect_eq(outcome(&done)?, Ok(()), "another context's job")?;
    timeline.inc(1)?;
    expect_eq(outcome(&last)?, Ok(()), "the last queued job")?;
    expect_eq(
        run(&ctx, &bo, prog.len(), &done)?,
        u64::from(DRM_XACCEL_MAX_QUEUED_JOBS) + 1,
        "seqno after the refusal",
    )?;
    expect_eq(outcome(&done)?, Ok(()), "a job after the queue drained")?;
    tap::pass()
}
