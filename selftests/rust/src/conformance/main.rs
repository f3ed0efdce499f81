// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-conformance DEVICE`: does this device's backend keep every promise of the common
//! uAPI? Everything runs through the common uAPI and the device's QUERY only (regions, engines,
//! capabilities, and the engines' NOPs for jobs), so it applies to any backend, present or
//! future, whatever its command format; a backend that fails any test does not conform.
//!
//! It runs the generic suites on the device (`suites`: QUERY rules, buffer objects and their
//! accounting, mmap, device memory, VMs, contexts, SUBMIT with dependencies, timeline points,
//! sync_files, implicit sync, BO_WAIT, close with work in flight, the errno of every bad input,
//! the fuzzer), then its own tests: the NOPs on every engine and priority with any BO list,
//! NOPs in VMs (or the errno without a VA window), PRIME both ways with udmabuf, vgem and
//! another xaccel device, and unplug with work in flight (PCI functions only, last). What does
//! not apply to the device by its QUERY is skipped with the reason.
//!
//! Usage: `xaccel-conformance [--no-unplug] DEVICE`, DEVICE a node (`/dev/accel/accel2`) or an
//! index (`2`); as root, with vgem loaded and `/dev/udmabuf` for the PRIME tests. TAP version
//! 13, then `conformance: <driver> <N> passed, <M> skipped`; exits non-zero on any failure.

mod ctx;
mod nops;
mod prime;
mod suites;
mod unplug;
mod vm;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xaccel_selftests::tap::{self, Stream, Test};

use crate::ctx::Ctx;

/// Conformance of one xaccel device to the common uAPI (TAP output).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Do not unbind the device's PCI function in the unplug test.
    #[arg(long)]
    no_unplug: bool,
    /// The device: an accel node, or its index N for /dev/accel/accelN.
    device: String,
}

/// This program's own tests, in order; unplug last (the device is new afterwards).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("QUERY NOPS: one item per engine, in order, bounded, zero-padded", nops::query_nops),
    ("every engine runs its NOP, seqnos from 1",                     nops::every_engine),
    ("every priority on every engine runs the NOP",                  nops::every_priority),
    ("the NOP with a BO of every region listed: done, nothing written", nops::any_bo_list),
    ("a NOP in a VM with a binding, then in the empty VM",           vm::nop_in_a_vm),
    ("no VA window: VM_BIND anywhere -> EINVAL",                     vm::no_window),
    ("imports of udmabuf, vgem, another xaccel device: data, jobs, VM_BIND", prime::imports_in_jobs),
    ("exports to vgem and another xaccel device: data, its jobs, re-import", prime::exports_to_peers),
    ("unplug with work in flight: fences signal, ENODEV, rebind runs a NOP", unplug::unplug_with_work_in_flight),
];

fn main() -> ExitCode {
    let args = Args::parse();
    let path = match args.device.parse::<u32>() {
        Ok(index) => PathBuf::from(format!("/dev/accel/accel{index}")),
        Err(_) => PathBuf::from(&args.device),
    };
    let mut ctx = match Ctx::new(&path) {
        Ok(ctx) => ctx,
        Err(err) => {
            tap::header();
            tap::bail_out(&format!("{}: {}", path.display(), err.0));
            return ExitCode::FAILURE;
        }
    };
    ctx.unplug = !args.no_unplug;
    let mut stream = Stream::new();
    suites::run_all(&mut stream, &ctx);
    stream.run(&ctx, TESTS, "");
    let summary = stream.finish();
    println!(
        "conformance: {} {} passed, {} skipped",
        ctx.info.backend, summary.passed, summary.skipped
    );
    if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
