// SPDX-License-Identifier: GPL-2.0-only
//! Random programs, compared bit-exact with the userspace model.
//!
//! Each round makes a few BOs (1-3 pages, system or device-local) and, every other round, a VM
//! with the system BOs bound back to back (some read-only), so VA operands cross bindings.
//! Each program of the round refills every BO with random bytes, runs 1-6 random operations
//! (mixed sizes from 0 bytes to whole BOs, odd lengths, unaligned offsets, BO-list and VA
//! operands) and compares every byte of every BO with the model. The seed is printed on
//! failure, and the generator is deterministic.

use xaccel::vaccel::{Mem, Program, VectorOp};
use xaccel::{Access, Bo, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{self, Failure, TestResult};

use crate::ctx::*;
use crate::model::{Binding, Model, Op};

/// Rounds, and programs per round: 1,200 programs in all.
const ROUNDS: u64 = 40;
const PROGRAMS: u64 = 30;

/// One round's setup: BOs, their model, the VM.
struct Round<'d> {
    bos: Vec<Bo<'d>>,
    flags: Vec<u32>,
    model: Model,
    vm: Option<Vm<'d>>,
}

/// A random length for an operand of at most `max` bytes: often small and odd, sometimes
/// whole pages, sometimes 0.
fn length(rng: &mut Rng, max: u64, page: u64) -> u64 {
    let len = match rng.below(8) {
        0 => 0,
        1..=3 => 1 + rng.below(64),
        4 | 5 => 1 + rng.below(2 * page),
        _ => page * (1 + rng.below(3)) + rng.below(8),
    };
    len.min(max)
}

impl Round<'_> {
    /// A random operand of `len` bytes, writable if `write`; `None` if none was found.
    fn operand(&self, rng: &mut Rng, len: u64, write: bool) -> Option<Mem> {
        for _ in 0..16 {
            let m = if self.vm.is_some() && rng.below(2) == 0 {
                let first = self.model.bindings.first()?.va;
                let last = self.model.bindings.last()?;
                let span = last.va + last.len - first;
                if len > span {
                    continue;
                }
                Mem::Va(first + rng.below(span - len + 1))
            } else {
                let index = rng.below(self.bos.len() as u64) as usize;
                if write && self.flags[index] != WRITE {
                    continue;
                }
                let size = self.model.bos[index].len() as u64;
                if len > size {
                    continue;
                }
                Mem::bo(index as u32, rng.below(size - len + 1))
            };
            if self.model.locate(m, len, write).is_some() {
                return Some(m);
            }
        }
        None
    }

    /// A random well-defined operation, or `None` after too many tries.
    fn op(&self, rng: &mut Rng, page: u64) -> Option<Op> {
        let max = self.model.bos.iter().map(|b| b.len() as u64).min()?;
        for _ in 0..32 {
            let op = match rng.below(6) {
                0 | 1 => {
                    let len = length(rng, max, page);
                    Op::Copy {
                        dst: self.operand(rng, len, true)?,
                        src: self.operand(rng, len, false)?,
                        len,
                    }
                }
                2 => {
                    let len = length(rng, max, page);
                    Op::Fill {
                        dst: self.operand(rng, len, true)?,
                        pattern: rng.next() as u32,
                        len,
                    }
                }
                3 | 4 => {
                    let count = length(rng, max, page) / 4;
                    let op = [VectorOp::Add, VectorOp::Mul, VectorOp::Xor, VectorOp::Max]
                        [rng.below(4) as usize];
                    let a = self.operand(rng, count * 4, false)?;
                    // In place now and then.
                    let dst = match rng.below(4) {
                        0 => a,
                        _ => self.operand(rng, count * 4, true)?,
                    };
                    Op::Vector {
                        op,
                        dst,
                        a,
                        b: self.operand(rng, count * 4, false)?,
                        count,
                    }
                }
                _ => {
                    let count = length(rng, max, page) / 4;
                    Op::Sum {
                        dst: self.operand(rng, 8, true)?,
                        src: self.operand(rng, count * 4, false)?,
                        count,
                    }
                }
            };
            if self.model.well_defined(&op) {
                return Some(op);
            }
        }
        None
    }
}

/// Sets up round `n`: BOs in random regions, with a VM every other round.
fn round<'d>(c: &'d Ctx, rng: &mut Rng, n: u64) -> Check<Round<'d>> {
    let placements = c.placements();
    let count = 2 + rng.below(3) as usize;
    let mut round = Round {
        bos: Vec::new(),
        flags: Vec::new(),
        model: Model::default(),
        vm: None,
    };
    for i in 0..count {
        let region = placements[rng.below(placements.len() as u64) as usize];
        let size = c.page * (1 + rng.below(3));
        round.bos.push(Bo::create(&c.dev, size, region)?);
        // Entry 0 is always writable, the others mostly.
        let writable = i == 0 || rng.below(4) != 0;
        round.flags.push(if writable { WRITE } else { READ });
        round.model.read_only.push(!writable);
        round.model.bos.push(vec![0; size as usize]);
    }
    if n % 2 == 1 {
        let vm = Vm::create(&c.dev)?;
        let mut va = c.va_start;
        for (i, bo) in round.bos.iter().enumerate() {
            // Device memory cannot be bound yet: only system BOs get a VA.
            if bo.info().region != c.system {
                continue;
            }
            let writable = rng.below(4) != 0;
            let access = if writable {
                Access::ReadWrite
            } else {
                Access::ReadOnly
            };
            vm.bind(bo, 0, bo.size(), va, access)?.forget();
            round.model.bindings.push(Binding {
                va,
                len: bo.size(),
                bo: i,
                offset: 0,
                writable,
            });
            va += bo.size();
        }
        if !round.model.bindings.is_empty() {
            round.vm = Some(vm);
        }
    }
    Ok(round)
}

/// At least 1,000 random programs, bit-exact against the model.
pub fn random_programs(c: &Ctx) -> TestResult {
    let seed = 0x7661_6363_656c_0001;
    let mut rng = Rng::new(seed);
    let runner = Runner::new(&c.dev, c.system)?;
    let (mut programs, mut ops, mut va_ops) = (0, 0, 0);
    for n in 0..ROUNDS {
        let mut round = round(c, &mut rng, n)?;
        for p in 0..PROGRAMS {
            for (bo, data) in round.bos.iter().zip(round.model.bos.iter_mut()) {
                *data = rng.bytes(data.len());
                bo.map()?.write(0, data);
            }
            let mut program = Program::new();
            let mut list = Vec::new();
            for _ in 0..1 + rng.below(6) {
                let Some(op) = round.op(&mut rng, c.page) else {
                    continue;
                };
                op.encode(&mut program);
                va_ops += op
                    .operands()
                    .iter()
                    .any(|(m, _, _)| matches!(m, Mem::Va(_))) as u32;
                round.model.apply(&op);
                list.push(op);
            }
            if list.is_empty() {
                program.nop();
            }
            let bos: Vec<_> = round
                .bos
                .iter()
                .zip(&round.flags)
                .map(|(b, f)| (b, *f))
                .collect();
            let context = |e: Failure| {
                Failure(format!(
                    "seed {seed:#x}, round {n}, program {p}: {}\n{list:#?}",
                    e.0
                ))
            };
            runner
                .run_ok(&program, &bos, round.vm.as_ref())
                .map_err(context)?;
            for (i, bo) in round.bos.iter().enumerate() {
                expect_bytes(&contents(bo)?, &round.model.bos[i], &format!("BO {i}"))
                    .map_err(context)?;
            }
            programs += 1;
            ops += list.len();
        }
        // Unbind before the BOs go (the bindings were forgotten, the VM's drop destroys it).
        round.vm.take();
    }
    ensure!(programs >= 1000, "only {programs} programs ran");
    ensure!(
        va_ops > 100,
        "only {va_ops} operations used device addresses"
    );
    tap::diag(&format!(
        "{programs} programs, {ops} operations ({va_ops} with VA operands)"
    ));
    tap::pass()
}
