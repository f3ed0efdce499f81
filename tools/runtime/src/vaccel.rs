// SPDX-License-Identifier: GPL-2.0-only
//! A typed encoder for vaccel programs (the instruction set of `uapi/drm/vaccel_isa.h`,
//! documented in `Documentation/vaccel.rst`).
//!
//! A [`Program`] appends fixed-size little-endian packets; memory operands are [`Mem`]s: a
//! byte offset in an entry of SUBMIT's BO list, or a device virtual address of the submit's
//! VM.
//!
//! ```
//! use xaccel::vaccel::{Mem, Program};
//! let mut p = Program::new();
//! p.fill(Mem::bo(1, 0), 0xdead_beef, 4096)
//!     .add(Mem::bo(1, 0), Mem::bo(0, 0), Mem::bo(1, 0), 1024)
//!     .sum(Mem::bo(1, 4096), Mem::bo(1, 0), 1024);
//! assert_eq!(p.packets(), 3);
//! assert_eq!(p.as_bytes().len(), 40 + 64 + 48);
//! ```

use std::mem::size_of;

use xaccel_uapi::vaccel_isa::{
    vaccel_copy, vaccel_delay, vaccel_fault, vaccel_fill, vaccel_hang, vaccel_memref, vaccel_nop,
    vaccel_packet_header, vaccel_sum, vaccel_vector, vaccel_write_timestamp, VACCEL_MEMREF_VA,
    VACCEL_OP_ADD, VACCEL_OP_COPY, VACCEL_OP_DELAY, VACCEL_OP_FAULT, VACCEL_OP_FILL,
    VACCEL_OP_HANG, VACCEL_OP_MAX, VACCEL_OP_MUL, VACCEL_OP_NOP, VACCEL_OP_SUM,
    VACCEL_OP_WRITE_TIMESTAMP, VACCEL_OP_XOR,
};

/// A memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    /// `offset` bytes into entry `index` of SUBMIT's BO list.
    Bo {
        /// Index in the BO list.
        index: u32,
        /// Byte offset, any alignment.
        offset: u64,
    },
    /// A device virtual address of the submit's VM ([`crate::Submit::vm`]).
    Va(u64),
}

impl Mem {
    /// `offset` bytes into BO-list entry `index`.
    pub fn bo(index: u32, offset: u64) -> Self {
        Self::Bo { index, offset }
    }

    fn memref(self) -> vaccel_memref {
        let (bo, offset) = match self {
            Self::Bo { index, offset } => (index, offset),
            Self::Va(va) => (VACCEL_MEMREF_VA, va),
        };
        vaccel_memref { bo, pad: 0, offset }
    }
}

/// The element-wise u32 operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorOp {
    /// Wrapping addition.
    Add,
    /// Wrapping multiplication.
    Mul,
    /// Exclusive or.
    Xor,
    /// Unsigned maximum.
    Max,
}

impl VectorOp {
    /// The opcode.
    pub fn opcode(self) -> u16 {
        match self {
            Self::Add => VACCEL_OP_ADD,
            Self::Mul => VACCEL_OP_MUL,
            Self::Xor => VACCEL_OP_XOR,
            Self::Max => VACCEL_OP_MAX,
        }
    }

    /// The operation on two elements, as the device computes it.
    pub fn apply(self, a: u32, b: u32) -> u32 {
        match self {
            Self::Add => a.wrapping_add(b),
            Self::Mul => a.wrapping_mul(b),
            Self::Xor => a ^ b,
            Self::Max => a.max(b),
        }
    }
}

/// A vaccel command buffer under construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    bytes: Vec<u8>,
    packets: usize,
}

impl Program {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded packets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of packets.
    pub fn packets(&self) -> usize {
        self.packets
    }

    fn header(&mut self, opcode: u16, size: usize) {
        let hdr = vaccel_packet_header {
            opcode,
            flags: 0,
            size: size as u32,
        };
        self.bytes.extend_from_slice(&hdr.opcode.to_le_bytes());
        self.bytes.extend_from_slice(&hdr.flags.to_le_bytes());
        self.bytes.extend_from_slice(&hdr.size.to_le_bytes());
        self.packets += 1;
    }

    fn memref(&mut self, m: Mem) {
        let r = m.memref();
        self.bytes.extend_from_slice(&r.bo.to_le_bytes());
        self.bytes.extend_from_slice(&r.pad.to_le_bytes());
        self.bytes.extend_from_slice(&r.offset.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// NOP.
    pub fn nop(&mut self) -> &mut Self {
        self.header(VACCEL_OP_NOP, size_of::<vaccel_nop>());
        self
    }

    /// COPY `len` bytes from `src` to `dst` (memmove semantics).
    pub fn copy(&mut self, dst: Mem, src: Mem, len: u64) -> &mut Self {
        self.header(VACCEL_OP_COPY, size_of::<vaccel_copy>());
        self.memref(dst);
        self.memref(src);
        self.u64(len);
        self
    }

    /// FILL `len` bytes at `dst` with `pattern`'s little-endian bytes, repeated.
    pub fn fill(&mut self, dst: Mem, pattern: u32, len: u64) -> &mut Self {
        self.header(VACCEL_OP_FILL, size_of::<vaccel_fill>());
        self.memref(dst);
        self.u32(pattern);
        self.u32(0);
        self.u64(len);
        self
    }

    /// `dst[i] = a[i] op b[i]` on `count` little-endian u32 elements.
    pub fn vector(&mut self, op: VectorOp, dst: Mem, a: Mem, b: Mem, count: u64) -> &mut Self {
        self.header(op.opcode(), size_of::<vaccel_vector>());
        self.memref(dst);
        self.memref(a);
        self.memref(b);
        self.u64(count);
        self
    }

    /// ADD: [`Program::vector`] with [`VectorOp::Add`].
    pub fn add(&mut self, dst: Mem, a: Mem, b: Mem, count: u64) -> &mut Self {
        self.vector(VectorOp::Add, dst, a, b, count)
    }

    /// MUL: [`Program::vector`] with [`VectorOp::Mul`].
    pub fn mul(&mut self, dst: Mem, a: Mem, b: Mem, count: u64) -> &mut Self {
        self.vector(VectorOp::Mul, dst, a, b, count)
    }

    /// XOR: [`Program::vector`] with [`VectorOp::Xor`].
    pub fn xor(&mut self, dst: Mem, a: Mem, b: Mem, count: u64) -> &mut Self {
        self.vector(VectorOp::Xor, dst, a, b, count)
    }

    /// MAX: [`Program::vector`] with [`VectorOp::Max`].
    pub fn max(&mut self, dst: Mem, a: Mem, b: Mem, count: u64) -> &mut Self {
        self.vector(VectorOp::Max, dst, a, b, count)
    }

    /// SUM: the wrapping sum of `count` u32 elements at `src`, as a u64 at `dst`.
    pub fn sum(&mut self, dst: Mem, src: Mem, count: u64) -> &mut Self {
        self.header(VACCEL_OP_SUM, size_of::<vaccel_sum>());
        self.memref(dst);
        self.memref(src);
        self.u64(count);
        self
    }

    /// WRITE_TIMESTAMP: `CLOCK_MONOTONIC` nanoseconds as a u64 at `dst`.
    pub fn write_timestamp(&mut self, dst: Mem) -> &mut Self {
        self.header(
            VACCEL_OP_WRITE_TIMESTAMP,
            size_of::<vaccel_write_timestamp>(),
        );
        self.memref(dst);
        self
    }

    /// DELAY `usecs` microseconds.
    pub fn delay(&mut self, usecs: u32) -> &mut Self {
        self.header(VACCEL_OP_DELAY, size_of::<vaccel_delay>());
        self.u32(usecs);
        self.u32(0);
        self
    }

    /// HANG: never completes (only the scheduler's timeout ends the job).
    pub fn hang(&mut self) -> &mut Self {
        self.header(VACCEL_OP_HANG, size_of::<vaccel_hang>());
        self
    }

    /// FAULT: the job fails with `-code`.
    pub fn fault(&mut self, code: u32) -> &mut Self {
        self.header(VACCEL_OP_FAULT, size_of::<vaccel_fault>());
        self.u32(code);
        self.u32(0);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_have_their_struct_sizes_and_little_endian_fields() {
        let mut p = Program::new();
        p.nop().copy(Mem::bo(1, 2), Mem::Va(0x1_0000_0000), 300);
        let b = p.as_bytes();
        assert_eq!(b.len(), 8 + 48);
        assert_eq!(&b[..8], [0, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(&b[8..16], [1, 0, 0, 0, 48, 0, 0, 0]);
        assert_eq!(&b[16..20], [1, 0, 0, 0]);
        assert_eq!(&b[24..32], 2u64.to_le_bytes());
        assert_eq!(&b[32..36], [0xff; 4]);
        assert_eq!(&b[40..48], 0x1_0000_0000u64.to_le_bytes());
        assert_eq!(&b[48..56], 300u64.to_le_bytes());
    }

    #[test]
    fn every_packet_encodes() {
        let m = Mem::bo(0, 0);
        let mut p = Program::new();
        p.fill(m, 1, 2)
            .add(m, m, m, 1)
            .mul(m, m, m, 1)
            .xor(m, m, m, 1)
            .max(m, m, m, 1)
            .sum(m, m, 1)
            .write_timestamp(m)
            .delay(5)
            .hang()
            .fault(5);
        assert_eq!(p.packets(), 10);
        assert_eq!(p.as_bytes().len(), 40 + 4 * 64 + 48 + 24 + 16 + 8 + 16);
        // Each header's size field is its packet's length: walk them.
        let (mut at, mut opcodes) = (0, Vec::new());
        while at < p.as_bytes().len() {
            let b = &p.as_bytes()[at..];
            opcodes.push(u16::from_le_bytes([b[0], b[1]]));
            at += u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
        }
        assert_eq!(opcodes, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn vector_ops_wrap() {
        assert_eq!(VectorOp::Add.apply(u32::MAX, 2), 1);
        assert_eq!(VectorOp::Mul.apply(0x1_0001, 0x1_0001), 0x2_0001);
        assert_eq!(VectorOp::Max.apply(0x8000_0000, 1), 0x8000_0000);
        assert_eq!(VectorOp::Xor.apply(0b1100, 0b1010), 0b0110);
    }
}
