// SPDX-License-Identifier: GPL-2.0-only
//! The engines' NOPs (`DRM_XACCEL_QUERY_NOPS`, Documentation/uapi.rst "Engine NOPs"): what
//! QUERY returns for them, and that each runs through the backend on its engine, at every
//! priority, with any BO list (a BO of every region, listed for writing: it stays untouched).

use xaccel::uapi::{drm_xaccel_nop_info, DRM_XACCEL_NOP_MAX};
use xaccel::{Bo, Priority, RegionInfo};
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Check, Ctx};

/// One item per engine, in engine order; sizes within `DRM_XACCEL_NOP_MAX`, the rest zero; the
/// runtime's view agrees.
pub fn query_nops(c: &Ctx) -> TestResult {
    let raw = c.dev.query_items::<drm_xaccel_nop_info>()?;
    ensure!(
        raw.len() == c.engines.len(),
        "{} NOP items for {} engines",
        raw.len(),
        c.engines.len()
    );
    for (i, item) in raw.iter().enumerate() {
        ensure!(
            item.engine as usize == i,
            "item {i} names engine {}",
            item.engine
        );
        ensure!(
            item.size <= DRM_XACCEL_NOP_MAX,
            "engine {i}: NOP of {} bytes",
            item.size
        );
        let tail = &item.cmd[item.size as usize..];
        ensure!(
            tail.iter().all(|&b| b == 0),
            "engine {i}: bytes after the NOP are not zero"
        );
    }
    ensure!(
        c.nops
            .iter()
            .map(|n| n.cmd.len())
            .eq(raw.iter().map(|n| n.size as usize)),
        "Device::nops() disagrees with the raw items"
    );
    tap::pass()
}

/// Skips when no engine has a NOP; else the engines that have one and a note on the others.
fn engines_or_skip(c: &Ctx) -> Result<(Vec<u32>, String), TestResult> {
    let (engines, note) = c.job_engines();
    if engines.is_empty() {
        return Err(tap::skip("no engine has a NOP"));
    }
    if !note.is_empty() {
        println!("# {note}: their jobs are not tested");
    }
    Ok((engines, note))
}

/// Every engine with a NOP runs it: the fence signals without an error, seqnos count from 1.
pub fn every_engine(c: &Ctx) -> TestResult {
    let (engines, _) = match engines_or_skip(c) {
        Ok(e) => e,
        Err(skip) => return skip,
    };
    for engine in engines {
        let Some(job) = c.job(&c.dev, engine, Priority::Normal)? else {
            fail!("engine {engine} lost its NOP");
        };
        for round in 1..=2 {
            let done = xaccel::Syncobj::create(&c.dev, false)?;
            let seqno = job.context.submit(&job.submit().signal(&done, 0))?;
            ensure!(
                seqno == round,
                "engine {engine}: seqno {seqno}, expected {round}"
            );
            let status = crate::ctx::outcome(&done)?;
            ensure!(
                status.is_ok(),
                "engine {engine}: the NOP ended with {status:?}"
            );
        }
    }
    tap::pass()
}

/// Contexts of every priority on every engine run the NOP (realtime only as root: it needs
/// `CAP_SYS_NICE`).
pub fn every_priority(c: &Ctx) -> TestResult {
    let (engines, _) = match engines_or_skip(c) {
        Ok(e) => e,
        Err(skip) => return skip,
    };
    let root = rustix::process::geteuid().is_root();
    for engine in engines {
        for priority in [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Realtime,
        ] {
            if priority == Priority::Realtime && !root {
                // CONTEXT_CREATE's EPERM is selftest-exec's.
                continue;
            }
            let Some(job) = c.job(&c.dev, engine, priority)? else {
                fail!("engine {engine} lost its NOP");
            };
            let status = job.run(job.submit())?;
            ensure!(
                status.is_ok(),
                "engine {engine}, {priority:?}: the NOP ended with {status:?}"
            );
        }
    }
    tap::pass()
}

/// A BO of `region`, filled with `byte` if the CPU can map it.
fn region_bo<'d>(c: &'d Ctx, region: &RegionInfo, byte: u8) -> Check<Bo<'d>> {
    let page = rustix::param::page_size() as u64;
    let bo = Bo::create(&c.dev, page, region.id)?;
    if region.flags.contains(xaccel::RegionFlags::CPU_VISIBLE) {
        bo.map()?.fill(byte);
    }
    Ok(bo)
}

/// The NOP with a BO of every region in its BO list, read-only and for writing: the job
/// completes and writes nothing (the CPU-visible BOs read as before).
pub fn any_bo_list(c: &Ctx) -> TestResult {
    let Some(job) = c.any_job(&c.dev)? else {
        return tap::skip("no engine has a NOP");
    };
    let bos = c
        .regions
        .iter()
        .map(|r| region_bo(c, r, 0x5a))
        .collect::<Check<Vec<_>>>()?;
    let mut submit = job.submit();
    for (i, bo) in bos.iter().enumerate() {
        let flags = if i % 2 == 0 {
            xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE
        } else {
            0
        };
        submit = submit.bo(bo, flags);
    }
    let status = job.run(submit)?;
    ensure!(
        status.is_ok(),
        "the NOP with a BO list ended with {status:?}"
    );
    for (region, bo) in c.regions.iter().zip(&bos) {
        if region.flags.contains(xaccel::RegionFlags::CPU_VISIBLE) {
            let at = bo.map()?.find_not(0x5a);
            ensure!(at.is_none(), "the NOP wrote {} at {at:?}", region.name);
        }
    }
    tap::pass()
}
