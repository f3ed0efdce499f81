// SPDX-License-Identifier: GPL-2.0-only
//! The reference: vaccel's memory operations computed in userspace, on copies of the BOs.
//!
//! [`Op`] is one operation with typed operands; [`Model`] applies it to flat copies of the
//! test's BOs, resolving device-VA operands through its own copy of the VM's bindings. The
//! model copies through temporaries (`memmove` semantics), which is what the manual defines for
//! the operand overlaps tests generate ([`Model::well_defined`]).

use xaccel::vaccel::{Mem, Program, VectorOp};

/// One memory operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// COPY.
    Copy { dst: Mem, src: Mem, len: u64 },
    /// FILL.
    Fill { dst: Mem, pattern: u32, len: u64 },
    /// ADD, MUL, XOR, MAX.
    Vector {
        op: VectorOp,
        dst: Mem,
        a: Mem,
        b: Mem,
        count: u64,
    },
    /// SUM.
    Sum { dst: Mem, src: Mem, count: u64 },
}

impl Op {
    /// Appends the op's packet to `p`.
    pub fn encode(&self, p: &mut Program) {
        match *self {
            Op::Copy { dst, src, len } => p.copy(dst, src, len),
            Op::Fill { dst, pattern, len } => p.fill(dst, pattern, len),
            Op::Vector {
                op,
                dst,
                a,
                b,
                count,
            } => p.vector(op, dst, a, b, count),
            Op::Sum { dst, src, count } => p.sum(dst, src, count),
        };
    }

    /// The op's operands: (operand, bytes, written).
    pub fn operands(&self) -> Vec<(Mem, u64, bool)> {
        match *self {
            Op::Copy { dst, src, len } => vec![(dst, len, true), (src, len, false)],
            Op::Fill { dst, len, .. } => vec![(dst, len, true)],
            Op::Vector {
                dst, a, b, count, ..
            } => {
                vec![
                    (dst, count * 4, true),
                    (a, count * 4, false),
                    (b, count * 4, false),
                ]
            }
            Op::Sum { dst, src, count } => vec![(dst, 8, true), (src, count * 4, false)],
        }
    }
}

/// A VM binding: `len` bytes at `va` map `bo` from `offset`.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub va: u64,
    pub len: u64,
    pub bo: usize,
    pub offset: u64,
    pub writable: bool,
}

/// A piece of memory: (BO, offset, length).
pub type Piece = (usize, u64, u64);

/// The test's BOs (BO-list entry `i` is `bos[i]`), which of them the BO list lets jobs write
/// (all if `read_only` is empty) and the VM's bindings.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub bos: Vec<Vec<u8>>,
    pub read_only: Vec<bool>,
    pub bindings: Vec<Binding>,
}

impl Model {
    /// The memory behind `len` bytes of `m`, or `None` if any byte is unmapped or outside its
    /// BO, or (`write`) read-only through the VM.
    pub fn locate(&self, m: Mem, len: u64, write: bool) -> Option<Vec<Piece>> {
        match m {
            Mem::Bo { index, offset } => {
                let size = self.bos.get(index as usize)?.len() as u64;
                if write && self.read_only.get(index as usize) == Some(&true) {
                    return None;
                }
                (offset.checked_add(len)? <= size).then(|| vec![(index as usize, offset, len)])
            }
            Mem::Va(va) => {
                let mut pieces = Vec::new();
                let (mut at, end) = (va, va.checked_add(len)?);
                while at < end {
                    let b = self
                        .bindings
                        .iter()
                        .find(|b| b.va <= at && at < b.va + b.len)?;
                    if write && !b.writable {
                        return None;
                    }
                    let n = (b.va + b.len).min(end) - at;
                    pieces.push((b.bo, b.offset + (at - b.va), n));
                    at += n;
                }
                Some(pieces)
            }
        }
    }

    fn read(&self, m: Mem, len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len as usize);
        for (bo, offset, n) in self.locate(m, len, false).expect("validated operand") {
            out.extend_from_slice(&self.bos[bo][offset as usize..(offset + n) as usize]);
        }
        out
    }

    fn write(&mut self, m: Mem, data: &[u8]) {
        let mut at = 0;
        for (bo, offset, n) in self
            .locate(m, data.len() as u64, true)
            .expect("validated operand")
        {
            let n = n as usize;
            self.bos[bo][offset as usize..offset as usize + n].copy_from_slice(&data[at..at + n]);
            at += n;
        }
    }

    /// Applies `op` as vaccel defines it.
    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Copy { dst, src, len } => {
                let data = self.read(src, len);
                self.write(dst, &data);
            }
            Op::Fill { dst, pattern, len } => {
                let p = pattern.to_le_bytes();
                let data: Vec<u8> = (0..len as usize).map(|i| p[i % 4]).collect();
                self.write(dst, &data);
            }
            Op::Vector {
                op,
                dst,
                a,
                b,
                count,
            } => {
                let (x, y) = (self.read(a, count * 4), self.read(b, count * 4));
                let out: Vec<u8> = x
                    .chunks_exact(4)
                    .zip(y.chunks_exact(4))
                    .flat_map(|(x, y)| {
                        let x = u32::from_le_bytes(x.try_into().unwrap());
                        let y = u32::from_le_bytes(y.try_into().unwrap());
                        op.apply(x, y).to_le_bytes()
                    })
                    .collect();
                self.write(dst, &out);
            }
            Op::Sum { dst, src, count } => {
                let sum = self
                    .read(src, count * 4)
                    .chunks_exact(4)
                    .fold(0u64, |s, e| {
                        s.wrapping_add(u64::from(u32::from_le_bytes(e.try_into().unwrap())))
                    });
                self.write(dst, &sum.to_le_bytes());
            }
        }
    }

    /// Whether `op` is valid here (every operand inside its memory, writable where written)
    /// and its result is defined by the manual: a COPY's operands overlap only when named the
    /// same way (one BO-list entry, or both VAs); a vector op's destination is exactly an
    /// input or disjoint from it.
    pub fn well_defined(&self, op: &Op) -> bool {
        let mut located = Vec::new();
        for (m, len, write) in op.operands() {
            match self.locate(m, len, write) {
                Some(pieces) => located.push(pieces),
                None => return false,
            }
        }
        let overlap = |x: &[Piece], y: &[Piece]| {
            x.iter().any(|&(b1, o1, n1)| {
                y.iter()
                    .any(|&(b2, o2, n2)| b1 == b2 && o1 < o2 + n2 && o2 < o1 + n1)
            })
        };
        match *op {
            Op::Copy { dst, src, .. } => {
                let same_space = match (dst, src) {
                    (Mem::Va(_), Mem::Va(_)) => true,
                    (Mem::Bo { index: i, .. }, Mem::Bo { index: j, .. }) => i == j,
                    _ => false,
                };
                same_space || !overlap(&located[0], &located[1])
            }
            Op::Vector { .. } => {
                (1..3).all(|i| located[0] == located[i] || !overlap(&located[0], &located[i]))
            }
            _ => true,
        }
    }
}
