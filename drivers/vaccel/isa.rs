// SPDX-License-Identifier: GPL-2.0-only

//! vaccel's command-buffer parser: untrusted bytes in, a validated program out.
//!
//! Every packet is checked before the job is queued (Documentation/vaccel.rst lists the
//! rules), and the engine executes only what is built from the operations [`parse_each`] hands
//! out, never the user's bytes, so it cannot touch memory outside what was validated: each [`Operand`]
//! carries the exact byte range it may read or write. A BO-list operand is checked here against
//! its buffer's size and access rights; a device-VA operand (when the submit names a VM) is
//! checked for overflow here and resolved through the VM, with its access, by `engine::compile`.

use crate::isa_abi as abi;
use kernel::prelude::*;

/// What the parser knows of one buffer of the submit's BO list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BoView {
    /// Size in bytes.
    pub(crate) size: u64,
    /// The submit lists the buffer for writing.
    pub(crate) writable: bool,
}

/// What a memory operand names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// An entry of the BO list; the operand's offset is a byte offset in it.
    Bo(usize),
    /// The submit's VM; the operand's offset is a device virtual address.
    Va,
}

/// A validated memory operand: `len` bytes at `offset` of `target`, read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operand {
    pub(crate) target: Target,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) write: bool,
}

/// The element-wise operations on u32 vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum VectorOp {
    Add = 0,
    Mul = 1,
    Xor = 2,
    Max = 3,
}

impl VectorOp {
    /// The operation whose `as u8` value is `v`.
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        [Self::Add, Self::Mul, Self::Xor, Self::Max]
            .into_iter()
            .find(|op| *op as u8 == v)
    }

    /// Applies the operation with the ISA's wrapping semantics.
    pub(crate) fn apply(self, a: u32, b: u32) -> u32 {
        match self {
            Self::Add => a.wrapping_add(b),
            Self::Mul => a.wrapping_mul(b),
            Self::Xor => a ^ b,
            Self::Max => a.max(b),
        }
    }
}

/// One validated instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Nop,
    /// memmove semantics: overlapping ranges copy as if through a temporary.
    Copy {
        dst: Operand,
        src: Operand,
    },
    Fill {
        dst: Operand,
        pattern: u32,
    },
    /// `dst[i] = a[i] op b[i]`; `dst` may be `a` or `b` exactly, other overlaps are unspecified.
    Vector {
        op: VectorOp,
        dst: Operand,
        a: Operand,
        b: Operand,
    },
    Sum {
        dst: Operand,
        src: Operand,
    },
    WriteTimestamp {
        dst: Operand,
    },
    Delay {
        usecs: u32,
    },
    Hang,
    Fault {
        code: u32,
    },
}

/// A validated command buffer, as a list (the KUnit tests look at it whole).
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
pub(crate) type Program = KVec<Op>;

/// Why a command buffer was rejected; `at` is the byte offset of the offending packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Empty, or larger than `VACCEL_MAX_PROGRAM_SIZE`.
    Size,
    /// Fewer bytes left than the packet needs.
    Truncated { at: usize },
    /// An opcode the ISA does not define.
    UnknownOpcode { at: usize },
    /// A header size that is not the opcode's packet size.
    PacketSize { at: usize },
    /// Nonzero flags or padding, or a value out of its range.
    Malformed { at: usize },
    /// A BO index beyond the BO list, or a VA operand when the submit names no VM.
    NoSuchBuffer { at: usize },
    /// An operand reaching outside its buffer.
    OutOfBounds { at: usize },
    /// A write to a buffer listed read-only.
    ReadOnly { at: usize },
}

impl Reject {
    /// The errno userspace gets.
    pub(crate) fn errno(self) -> Error {
        match self {
            Self::Size => E2BIG,
            Self::OutOfBounds { .. } => EFAULT,
            Self::ReadOnly { .. } => EACCES,
            Self::Truncated { .. }
            | Self::UnknownOpcode { .. }
            | Self::PacketSize { .. }
            | Self::Malformed { .. }
            | Self::NoSuchBuffer { .. } => EINVAL,
        }
    }
}

/// Little-endian reader over one packet.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u16(&mut self) -> u16 {
        let v = u16::from_le_bytes([self.bytes[self.pos], self.bytes[self.pos + 1]]);
        self.pos += 2;
        v
    }

    fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[self.pos..self.pos + 4]);
        self.pos += 4;
        u32::from_le_bytes(b)
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[self.pos..self.pos + 8]);
        self.pos += 8;
        u64::from_le_bytes(b)
    }
}

/// Parser state for one command buffer.
struct Parser<'a> {
    bos: &'a [BoView],
    /// The submit names a VM: VA operands are allowed.
    vm: bool,
    at: usize,
}

/// Access an operand needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl Parser<'_> {
    fn malformed(&self) -> Reject {
        Reject::Malformed { at: self.at }
    }

    /// Reads a `vaccel_memref` and checks `len` bytes of it for `access`.
    fn operand(&self, r: &mut Reader<'_>, len: u64, access: Access) -> Result<Operand, Reject> {
        let bo = r.u32();
        let pad = r.u32();
        let offset = r.u64();
        if pad != 0 {
            return Err(self.malformed());
        }
        let end = offset
            .checked_add(len)
            .ok_or(Reject::OutOfBounds { at: self.at })?;
        let write = access == Access::Write;
        if bo == abi::VACCEL_MEMREF_VA {
            // Resolved through the VM, with its access rights, by `engine::compile`.
            if !self.vm {
                return Err(Reject::NoSuchBuffer { at: self.at });
            }
            return Ok(Operand {
                target: Target::Va,
                offset,
                len,
                write,
            });
        }
        let view = self
            .bos
            .get(bo as usize)
            .ok_or(Reject::NoSuchBuffer { at: self.at })?;
        if end > view.size {
            return Err(Reject::OutOfBounds { at: self.at });
        }
        if write && !view.writable {
            return Err(Reject::ReadOnly { at: self.at });
        }
        Ok(Operand {
            target: Target::Bo(bo as usize),
            offset,
            len,
            write,
        })
    }

    /// Bytes of `count` u32 elements.
    fn elements(&self, count: u64) -> Result<u64, Reject> {
        count
            .checked_mul(4)
            .ok_or(Reject::OutOfBounds { at: self.at })
    }

    /// Decodes the body of one packet whose header was `opcode`.
    fn op(&self, opcode: u16, r: &mut Reader<'_>) -> Result<Op, Reject> {
        Ok(match opcode {
            abi::VACCEL_OP_NOP => Op::Nop,
            abi::VACCEL_OP_HANG => Op::Hang,
            abi::VACCEL_OP_COPY => {
                // The length follows the operands; read it first.
                let len = u64::from_le_bytes(tail8(r.bytes));
                let dst = self.operand(r, len, Access::Write)?;
                let src = self.operand(r, len, Access::Read)?;
                Op::Copy { dst, src }
            }
            abi::VACCEL_OP_FILL => {
                let len = u64::from_le_bytes(tail8(r.bytes));
                let dst = self.operand(r, len, Access::Write)?;
                let pattern = r.u32();
                if r.u32() != 0 {
                    return Err(self.malformed());
                }
                Op::Fill { dst, pattern }
            }
            abi::VACCEL_OP_ADD | abi::VACCEL_OP_MUL | abi::VACCEL_OP_XOR | abi::VACCEL_OP_MAX => {
                let bytes = self.elements(u64::from_le_bytes(tail8(r.bytes)))?;
                let op = match opcode {
                    abi::VACCEL_OP_ADD => VectorOp::Add,
                    abi::VACCEL_OP_MUL => VectorOp::Mul,
                    abi::VACCEL_OP_XOR => VectorOp::Xor,
                    _ => VectorOp::Max,
                };
                let dst = self.operand(r, bytes, Access::Write)?;
                let a = self.operand(r, bytes, Access::Read)?;
                let b = self.operand(r, bytes, Access::Read)?;
                Op::Vector { op, dst, a, b }
            }
            abi::VACCEL_OP_SUM => {
                let bytes = self.elements(u64::from_le_bytes(tail8(r.bytes)))?;
                let dst = self.operand(r, 8, Access::Write)?;
                let src = self.operand(r, bytes, Access::Read)?;
                Op::Sum { dst, src }
            }
            abi::VACCEL_OP_WRITE_TIMESTAMP => Op::WriteTimestamp {
                dst: self.operand(r, 8, Access::Write)?,
            },
            abi::VACCEL_OP_DELAY => {
                let usecs = r.u32();
                if r.u32() != 0 || usecs > abi::VACCEL_MAX_DELAY_US {
                    return Err(self.malformed());
                }
                Op::Delay { usecs }
            }
            abi::VACCEL_OP_FAULT => {
                let code = r.u32();
                if r.u32() != 0 || !(1..=4095).contains(&code) {
                    return Err(self.malformed());
                }
                Op::Fault { code }
            }
            _ => return Err(Reject::UnknownOpcode { at: self.at }),
        })
    }
}

/// The last eight bytes of a packet, where COPY, FILL and the vector packets keep their length.
fn tail8(packet: &[u8]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&packet[packet.len() - 8..]);
    b
}

/// The packet size of each opcode, or `None` for an unknown opcode.
fn packet_size(opcode: u16) -> Option<usize> {
    use core::mem::size_of;
    Some(match opcode {
        abi::VACCEL_OP_NOP => size_of::<abi::vaccel_nop>(),
        abi::VACCEL_OP_COPY => size_of::<abi::vaccel_copy>(),
        abi::VACCEL_OP_FILL => size_of::<abi::vaccel_fill>(),
        abi::VACCEL_OP_ADD | abi::VACCEL_OP_MUL | abi::VACCEL_OP_XOR | abi::VACCEL_OP_MAX => {
            size_of::<abi::vaccel_vector>()
        }
        abi::VACCEL_OP_SUM => size_of::<abi::vaccel_sum>(),
        abi::VACCEL_OP_WRITE_TIMESTAMP => size_of::<abi::vaccel_write_timestamp>(),
        abi::VACCEL_OP_DELAY => size_of::<abi::vaccel_delay>(),
        abi::VACCEL_OP_HANG => size_of::<abi::vaccel_hang>(),
        abi::VACCEL_OP_FAULT => size_of::<abi::vaccel_fault>(),
        _ => return None,
    })
}

/// Size of `struct vaccel_packet_header`.
const HEADER: usize = core::mem::size_of::<abi::vaccel_packet_header>();

/// The engines' NOP (`DRM_XACCEL_QUERY_NOPS`): one NOP packet, parsed and run like any program.
pub(crate) const NOP: [u8; 8] = {
    let op = abi::VACCEL_OP_NOP.to_le_bytes();
    let size = (core::mem::size_of::<abi::vaccel_nop>() as u32).to_le_bytes();
    [op[0], op[1], 0, 0, size[0], size[1], size[2], size[3]]
};

/// Parses and validates a whole command buffer against the submit's BO list; `vm` says whether
/// the submit names a VM (VA operands are refused otherwise). Hands each operation to `each`
/// in order, as soon as its packet is checked, without allocating.
///
/// Returns `Ok(Ok(()))` for a valid buffer, `Ok(Err(reject))` with the first reason to reject
/// an invalid one (the operations before it were handed out), and `Err` with the first error
/// of `each`, which stops the parse.
pub(crate) fn parse_each(
    bytes: &[u8],
    bos: &[BoView],
    vm: bool,
    mut each: impl FnMut(Op) -> Result,
) -> Result<Result<(), Reject>> {
    if bytes.is_empty() || bytes.len() > abi::VACCEL_MAX_PROGRAM_SIZE as usize {
        return Ok(Err(Reject::Size));
    }
    let mut at = 0;
    while at < bytes.len() {
        let parser = Parser { bos, vm, at };
        if bytes.len() - at < HEADER {
            return Ok(Err(Reject::Truncated { at }));
        }
        let mut header = Reader {
            bytes: &bytes[at..at + HEADER],
            pos: 0,
        };
        let (opcode, flags, size) = (header.u16(), header.u16(), header.u32() as usize);
        let Some(expected) = packet_size(opcode) else {
            return Ok(Err(Reject::UnknownOpcode { at }));
        };
        if size != expected {
            return Ok(Err(Reject::PacketSize { at }));
        }
        if bytes.len() - at < size {
            return Ok(Err(Reject::Truncated { at }));
        }
        if flags != 0 {
            return Ok(Err(parser.malformed()));
        }
        let mut body = Reader {
            bytes: &bytes[at..at + size],
            pos: HEADER,
        };
        match parser.op(opcode, &mut body) {
            Ok(op) => each(op)?,
            Err(reject) => return Ok(Err(reject)),
        }
        at += size;
    }
    Ok(Ok(()))
}

/// [`parse_each`] into a list of operations: `Ok(Ok(program))` for a valid buffer,
/// `Ok(Err(reject))` for an invalid one, `Err` only when allocating the list fails.
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
pub(crate) fn parse(bytes: &[u8], bos: &[BoView], vm: bool) -> Result<Result<Program, Reject>> {
    let mut program = KVec::new();
    let parsed = parse_each(bytes, bos, vm, |op| {
        program.push(op, GFP_KERNEL)?;
        Ok(())
    })?;
    Ok(parsed.map(|()| program))
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(vaccel_isa)]
mod tests {
    use super::*;

    /// Little-endian packet builder.
    struct Asm(KVec<u8>);

    impl Asm {
        fn new() -> Self {
            Self(KVec::new())
        }
        fn put(&mut self, bytes: &[u8]) -> &mut Self {
            self.0.extend_from_slice(bytes, GFP_KERNEL).unwrap();
            self
        }
        fn u16(&mut self, v: u16) -> &mut Self {
            self.put(&v.to_le_bytes())
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.put(&v.to_le_bytes())
        }
        fn u64(&mut self, v: u64) -> &mut Self {
            self.put(&v.to_le_bytes())
        }
        fn header(&mut self, opcode: u16) -> &mut Self {
            self.u16(opcode)
                .u16(0)
                .u32(packet_size(opcode).unwrap() as u32)
        }
        fn memref(&mut self, bo: u32, offset: u64) -> &mut Self {
            self.u32(bo).u32(0).u64(offset)
        }
        fn copy(&mut self, dst: (u32, u64), src: (u32, u64), len: u64) -> &mut Self {
            self.header(abi::VACCEL_OP_COPY)
                .memref(dst.0, dst.1)
                .memref(src.0, src.1)
                .u64(len)
        }
    }

    const RW: BoView = BoView {
        size: 4096,
        writable: true,
    };
    const RO: BoView = BoView {
        size: 4096,
        writable: false,
    };

    fn reject(bytes: &[u8], bos: &[BoView]) -> Reject {
        parse(bytes, bos, false).unwrap().unwrap_err()
    }

    /// A BO-list operand.
    fn bo(index: usize, offset: u64, len: u64, write: bool) -> Operand {
        Operand {
            target: Target::Bo(index),
            offset,
            len,
            write,
        }
    }

    #[test]
    fn the_engine_nop_parses_with_or_without_a_vm() {
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_NOP);
        assert_eq!(a.0[..], NOP[..]);
        for vm in [false, true] {
            assert!(matches!(parse(&NOP, &[], vm), Ok(Ok(_))));
        }
    }

    #[test]
    fn every_opcode_parses() {
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_NOP);
        a.copy((0, 1), (1, 3), 100);
        a.header(abi::VACCEL_OP_FILL)
            .memref(0, 7)
            .u32(0xdead_beef)
            .u32(0)
            .u64(9);
        for op in [
            abi::VACCEL_OP_ADD,
            abi::VACCEL_OP_MUL,
            abi::VACCEL_OP_XOR,
            abi::VACCEL_OP_MAX,
        ] {
            a.header(op).memref(0, 0).memref(1, 4).memref(0, 8).u64(10);
        }
        a.header(abi::VACCEL_OP_SUM)
            .memref(0, 4088)
            .memref(1, 1)
            .u64(1023);
        a.header(abi::VACCEL_OP_WRITE_TIMESTAMP).memref(0, 4088);
        a.header(abi::VACCEL_OP_DELAY).u32(5).u32(0);
        a.header(abi::VACCEL_OP_HANG);
        a.header(abi::VACCEL_OP_FAULT).u32(5).u32(0);
        let program = parse(&a.0, &[RW, RO], false).unwrap().unwrap();
        assert_eq!(program.len(), 12);
        assert_eq!(program[0], Op::Nop);
        let dst = bo(0, 1, 100, true);
        let src = bo(1, 3, 100, false);
        assert_eq!(program[1], Op::Copy { dst, src });
        let dst = bo(0, 7, 9, true);
        assert_eq!(
            program[2],
            Op::Fill {
                dst,
                pattern: 0xdead_beef
            }
        );
        assert!(matches!(
            program[3],
            Op::Vector {
                op: VectorOp::Add,
                ..
            }
        ));
        assert!(matches!(program[6], Op::Vector { op: VectorOp::Max, dst, .. } if dst.len == 40));
        assert!(matches!(program[7], Op::Sum { dst, src } if dst.len == 8 && src.len == 4092));
        assert_eq!(program[9], Op::Delay { usecs: 5 });
        assert_eq!(program[10], Op::Hang);
        assert_eq!(program[11], Op::Fault { code: 5 });
    }

    #[test]
    fn unknown_opcode_is_rejected() {
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_NOP).u16(99).u16(0).u32(8);
        assert_eq!(reject(&a.0, &[RW]), Reject::UnknownOpcode { at: 8 });
        assert_eq!(reject(&a.0, &[RW]).errno(), EINVAL);
    }

    #[test]
    fn truncated_packets_are_rejected() {
        let mut a = Asm::new();
        a.copy((0, 0), (0, 0), 8);
        for cut in [1, 7, 8, 47] {
            assert_eq!(reject(&a.0[..cut], &[RW]), Reject::Truncated { at: 0 });
        }
    }

    #[test]
    fn wrong_sizes_flags_and_padding_are_rejected() {
        let mut a = Asm::new();
        a.u16(abi::VACCEL_OP_NOP).u16(0).u32(16).u64(0);
        assert_eq!(reject(&a.0, &[RW]), Reject::PacketSize { at: 0 });
        let mut a = Asm::new();
        a.u16(abi::VACCEL_OP_NOP).u16(1).u32(8);
        assert_eq!(reject(&a.0, &[RW]), Reject::Malformed { at: 0 });
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_FILL)
            .u32(0)
            .u32(1)
            .u64(0)
            .u32(0)
            .u32(0)
            .u64(4);
        assert_eq!(reject(&a.0, &[RW]), Reject::Malformed { at: 0 });
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_DELAY)
            .u32(abi::VACCEL_MAX_DELAY_US + 1)
            .u32(0);
        assert_eq!(reject(&a.0, &[RW]), Reject::Malformed { at: 0 });
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_FAULT).u32(0).u32(0);
        assert_eq!(reject(&a.0, &[RW]), Reject::Malformed { at: 0 });
    }

    #[test]
    fn operands_stay_inside_their_buffers() {
        let mut a = Asm::new();
        a.copy((0, 4000), (1, 0), 97);
        assert_eq!(reject(&a.0, &[RW, RO]), Reject::OutOfBounds { at: 0 });
        assert_eq!(reject(&a.0, &[RW, RO]).errno(), EFAULT);
        let mut a = Asm::new();
        a.copy((0, u64::MAX - 1), (1, 0), 2);
        assert_eq!(reject(&a.0, &[RW, RO]), Reject::OutOfBounds { at: 0 });
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_ADD)
            .memref(0, 0)
            .memref(0, 0)
            .memref(0, 0)
            .u64(u64::MAX / 2);
        assert_eq!(reject(&a.0, &[RW]), Reject::OutOfBounds { at: 0 });
        let mut a = Asm::new();
        a.copy((0, 4096), (0, 0), 0);
        // An empty range at the very end is inside the buffer.
        assert!(parse(&a.0, &[RW], false).unwrap().is_ok());
    }

    #[test]
    fn buffers_must_exist_and_be_writable() {
        let mut a = Asm::new();
        a.copy((2, 0), (0, 0), 4);
        assert_eq!(reject(&a.0, &[RW, RW]), Reject::NoSuchBuffer { at: 0 });
        let mut a = Asm::new();
        a.copy((abi::VACCEL_MEMREF_VA, 0), (0, 0), 4);
        assert_eq!(reject(&a.0, &[RW]), Reject::NoSuchBuffer { at: 0 });
        // With a VM, VA operands parse (the VM checks them), overflow excepted.
        let program = parse(&a.0, &[RW], true).unwrap().unwrap();
        let va = Operand {
            target: Target::Va,
            offset: 0,
            len: 4,
            write: true,
        };
        assert_eq!(
            program[0],
            Op::Copy {
                dst: va,
                src: bo(0, 0, 4, false)
            }
        );
        let mut a = Asm::new();
        a.copy((abi::VACCEL_MEMREF_VA, u64::MAX - 2), (0, 0), 4);
        assert_eq!(
            parse(&a.0, &[RW], true).unwrap().unwrap_err(),
            Reject::OutOfBounds { at: 0 }
        );
        let mut a = Asm::new();
        a.header(abi::VACCEL_OP_NOP).copy((1, 0), (0, 0), 4);
        assert_eq!(reject(&a.0, &[RW, RO]), Reject::ReadOnly { at: 8 });
        assert_eq!(reject(&a.0, &[RW, RO]).errno(), EACCES);
    }

    #[test]
    fn empty_and_oversized_buffers_are_rejected() {
        assert_eq!(reject(&[], &[RW]), Reject::Size);
        let big =
            KVec::from_elem(0u8, abi::VACCEL_MAX_PROGRAM_SIZE as usize + 8, GFP_KERNEL).unwrap();
        assert_eq!(reject(&big, &[RW]), Reject::Size);
        assert_eq!(Reject::Size.errno(), E2BIG);
    }

    #[test]
    fn fuzzed_bytes_never_escape_validation() {
        // xorshift64: deterministic, so a failure reproduces.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bos = [
            RW,
            RO,
            BoView {
                size: 64,
                writable: true,
            },
        ];
        let mut accepted = 0;
        for round in 0..2000 {
            let mut a = Asm::new();
            for _ in 0..(1 + next() % 6) {
                // Valid headers with random bodies reach deep into the parser.
                let opcode = (next() % 13) as u16;
                let size = packet_size(opcode).unwrap_or(8);
                let mut header = Asm::new();
                header.u16(opcode).u16(0).u32(size as u32);
                if round % 4 != 0 {
                    a.put(&header.0);
                }
                for _ in 0..(size - 8) / 8 {
                    let word = next();
                    // Small values make in-bounds operands likely.
                    a.u64(if word % 3 == 0 { word } else { word % 72 });
                }
            }
            let Ok(program) = parse(&a.0, &bos, false).unwrap() else {
                continue;
            };
            accepted += 1;
            for op in program.iter() {
                let operands = match *op {
                    Op::Copy { dst, src } | Op::Sum { dst, src } => [Some(dst), Some(src), None],
                    Op::Fill { dst, .. } | Op::WriteTimestamp { dst } => [Some(dst), None, None],
                    Op::Vector { dst, a, b, .. } => [Some(dst), Some(a), Some(b)],
                    _ => [None, None, None],
                };
                for o in operands.into_iter().flatten() {
                    let Target::Bo(index) = o.target else {
                        panic!("a VA operand without a VM");
                    };
                    assert!(index < bos.len());
                    assert!(o.offset.checked_add(o.len).unwrap() <= bos[index].size);
                    assert!(!o.write || bos[index].writable);
                }
            }
        }
        // The fuzzer must reach valid programs too, or it tests nothing.
        assert!(accepted > 0);
    }
}
