// SPDX-License-Identifier: GPL-2.0-only
//! Every memory operation, bit-exact against the model, in every pair of placements (system and
//! device-local memory), with odd lengths and unaligned offsets.

use rustix::time::{clock_gettime, ClockId};
use xaccel::vaccel::{Mem, Program, VectorOp};
use xaccel::Bo;
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::*;
use crate::model::{Model, Op};

/// Sizes of the two BOs: three pages, so operands cross page boundaries.
const PAGES: u64 = 3;

/// Runs `op` with BO 0 (written) in `dst_region` and BO 1 (read) in `src_region`, both full of
/// random bytes, and compares both BOs with the model.
fn check(c: &Ctx, runner: &Runner<'_>, op: Op, regions: (u32, u32), seed: u64) -> Check {
    let mut rng = Rng::new(seed);
    let size = PAGES * c.page;
    let mut model = Model {
        bos: vec![rng.bytes(size as usize), rng.bytes(size as usize)],
        read_only: vec![false, true],
        bindings: Vec::new(),
    };
    // Vector tests want extremes now and then, to check the wrapping.
    for bo in model.bos.iter_mut() {
        for chunk in bo.chunks_exact_mut(64) {
            chunk[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        }
    }
    let dst = c.bo_with(regions.0, size, &model.bos[0])?;
    let src = c.bo_with(regions.1, size, &model.bos[1])?;
    ensure!(
        model.well_defined(&op),
        "test bug: {op:?} is not well defined"
    );
    let mut program = Program::new();
    op.encode(&mut program);
    model.apply(&op);
    runner.run_ok(&program, &[(&dst, WRITE), (&src, READ)], None)?;
    expect_bytes(
        &contents(&dst)?,
        &model.bos[0],
        &format!("destination of {op:?}"),
    )?;
    expect_bytes(&contents(&src)?, &model.bos[1], "source")
}

/// Runs `op` in every pair of placements.
fn every_placement(c: &Ctx, op: Op) -> TestResult {
    let runner = Runner::new(&c.dev, c.system)?;
    for (i, &dst) in c.placements().iter().enumerate() {
        for (j, &src) in c.placements().iter().enumerate() {
            check(c, &runner, op, (dst, src), 1 + (i * 2 + j) as u64)?;
        }
    }
    tap::pass()
}

/// COPY of three pages less some odd bytes between unaligned offsets, and overlapping copies
/// in one BO in both directions (memmove).
pub fn copy(c: &Ctx) -> TestResult {
    let len = PAGES * c.page - 11;
    every_placement(
        c,
        Op::Copy {
            dst: Mem::bo(0, 7),
            src: Mem::bo(1, 3),
            len,
        },
    )?;
    for (dst, src) in [(5, 1), (1, 5), (c.page + 3, 2), (2, c.page + 3)] {
        every_placement(
            c,
            Op::Copy {
                dst: Mem::bo(0, dst),
                src: Mem::bo(0, src),
                len: c.page + 13,
            },
        )?;
    }
    tap::pass()
}

/// FILL of an odd length at an odd offset: the pattern starts at the range.
pub fn fill(c: &Ctx) -> TestResult {
    every_placement(
        c,
        Op::Fill {
            dst: Mem::bo(0, 3),
            pattern: 0x1122_3344,
            len: 2 * c.page + 7,
        },
    )
}

/// One vector operation over 1,001 elements at unaligned offsets, and in place.
fn vector(c: &Ctx, op: VectorOp) -> TestResult {
    let count = 1001;
    every_placement(
        c,
        Op::Vector {
            op,
            dst: Mem::bo(0, 1),
            a: Mem::bo(1, 6),
            b: Mem::bo(1, c.page + 3),
            count,
        },
    )?;
    every_placement(
        c,
        Op::Vector {
            op,
            dst: Mem::bo(0, 5),
            a: Mem::bo(0, 5),
            b: Mem::bo(1, 2),
            count,
        },
    )
}

/// ADD, wrapping.
pub fn add(c: &Ctx) -> TestResult {
    vector(c, VectorOp::Add)
}

/// MUL, wrapping.
pub fn mul(c: &Ctx) -> TestResult {
    vector(c, VectorOp::Mul)
}

/// XOR.
pub fn xor(c: &Ctx) -> TestResult {
    vector(c, VectorOp::Xor)
}

/// MAX, unsigned.
pub fn max(c: &Ctx) -> TestResult {
    vector(c, VectorOp::Max)
}

/// SUM of 2,999 elements (a u64 beyond u32 range) to an unaligned destination.
pub fn sum(c: &Ctx) -> TestResult {
    every_placement(
        c,
        Op::Sum {
            dst: Mem::bo(0, 13),
            src: Mem::bo(1, 1),
            count: 2999,
        },
    )?;
    // Known answer: n elements of u32::MAX.
    let runner = Runner::new(&c.dev, c.system)?;
    let ones = c.bo_with(c.system, c.page, &vec![0xff; c.page as usize])?;
    let out = Bo::create(&c.dev, c.page, c.system)?;
    let n = c.page / 4;
    let mut p = Program::new();
    p.sum(Mem::bo(0, 0), Mem::bo(1, 0), n);
    runner.run_ok(&p, &[(&out, WRITE), (&ones, READ)], None)?;
    let mut got = [0u8; 8];
    out.map()?.read(0, &mut got);
    expect_bytes(
        &got,
        &(n * u64::from(u32::MAX)).to_le_bytes(),
        "SUM of u32::MAX",
    )?;
    tap::pass()
}

fn monotonic_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// WRITE_TIMESTAMP: CLOCK_MONOTONIC ns, between the times read before SUBMIT and after the
/// fence, at an unaligned offset, bytes around untouched; two in one program are ordered.
pub fn write_timestamp(c: &Ctx) -> TestResult {
    let runner = Runner::new(&c.dev, c.system)?;
    for region in c.placements() {
        let bo = c.bo_with(region, c.page, &vec![0xaa; c.page as usize])?;
        let mut p = Program::new();
        p.write_timestamp(Mem::bo(0, 3))
            .delay(100)
            .write_timestamp(Mem::bo(0, 11));
        let before = monotonic_ns();
        runner.run_ok(&p, &[(&bo, WRITE)], None)?;
        let after = monotonic_ns();
        let got = contents(&bo)?;
        let stamp = |at: usize| u64::from_le_bytes(got[at..at + 8].try_into().unwrap());
        let (first, second) = (stamp(3), stamp(11));
        ensure!(
            before <= first && first <= second && second <= after,
            "timestamps {first}, {second} not within [{before}, {after}] in order"
        );
        ensure!(
            got[..3].iter().chain(&got[19..]).all(|&b| b == 0xaa),
            "bytes around the timestamps changed"
        );
    }
    tap::pass()
}
