// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-vaccel`: selftest of vaccel's instruction set, in TAP version 13: every
//! memory operation and 1,000+ random programs bit-exact against a userspace model, every
//! validation rejection, HANG recovery with an innocent memory job, and a BO shared by two
//! vaccel devices through dma-buf.
//!
//! Usage: `xaccel-selftest-vaccel [DEVICE [SECOND]]` (defaults `/dev/accel/accel0`,
//! `/dev/accel/accel1`; the sharing test is skipped without a second device). Exits 0 only
//! if every test passed (or was skipped).

mod ctx;
mod model;
mod ops;
mod random;
mod recovery;
mod rejects;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xaccel_selftests::tap::{self, Test};

use crate::ctx::Ctx;

/// Selftest of the vaccel instruction set (TAP output).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The vaccel device under test.
    #[arg(default_value = "/dev/accel/accel0")]
    device: PathBuf,
    /// A second vaccel device, for sharing through dma-buf.
    #[arg(default_value = "/dev/accel/accel1")]
    second: PathBuf,
}

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("COPY, unaligned, odd length, overlapping both ways",          ops::copy),
    ("FILL, unaligned, odd length",                                 ops::fill),
    ("ADD wraps, in place too",                                     ops::add),
    ("MUL wraps, in place too",                                     ops::mul),
    ("XOR, in place too",                                           ops::xor),
    ("MAX is unsigned, in place too",                               ops::max),
    ("SUM into a u64, unaligned",                                   ops::sum),
    ("WRITE_TIMESTAMP: CLOCK_MONOTONIC, in order",                  ops::write_timestamp),
    ("1,200 random programs bit-exact, both placements, VM or not", random::random_programs),
    ("every rejection with its errno; nothing queued; still works", rejects::rejections),
    ("a queued VA job keeps the BOs unbound and closed under it",   recovery::unbind_while_queued),
    ("FAULT's fence carries -code; the context goes on",           recovery::fault_code),
    ("HANG times out and resets; an innocent COPY completes",       recovery::hang_recovered),
    ("a BO shared by two devices through dma-buf, implicit sync",   recovery::dma_buf_between_devices),
];

fn main() -> ExitCode {
    let args = Args::parse();
    let ctx = match Ctx::new(&args.device, &args.second) {
        Ok(ctx) => ctx,
        Err(e) => {
            tap::header();
            tap::bail_out(&e.0);
            return ExitCode::FAILURE;
        }
    };
    if tap::run(&ctx, TESTS) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
