// SPDX-License-Identifier: GPL-2.0-only
//! HLX packets: the shared types, their encoder and their decoder
//! (Documentation/hlx.rst, "Packets").
//!
//! Every packet is a whole number of little-endian 64-bit words ("qwords") and starts
//! with an 8-byte header:
//!
//! ```text
//! byte 0     opcode
//! byte 1     size of the whole packet in qwords; must equal the opcode's size
//! bytes 2-3  flags (u16): opcode-specific, undefined bits must be 0
//! bytes 4-7  imm (u32): opcode-specific immediate
//! ```
//!
//! The decoder applies every rule a packet can be checked against on its own (sizes,
//! reserved bits, field ranges, alignment). What depends on where it runs (the engine
//! kind, register permissions, addresses) is checked when it executes.

use crate::regs::NUM_SOBS;

/// Size of the header, and the packet granule.
pub const QWORD: usize = 8;
/// Largest size a header may declare, in qwords; larger (or 0) is malformed.
pub const MAX_PACKET_QWORDS: u8 = 8;
/// Most elements a VEC packet may read from one operand.
pub const MAX_VEC_ELEMENTS: u64 = 1 << 24;
/// The host bit of an HLX physical address (Documentation/hlx.rst, "Address spaces").
pub const PA_HOST: u64 = 1 << 63;

pub const OP_WREG32: u8 = 0x01;
pub const OP_MSG_LONG: u8 = 0x03;
pub const OP_FENCE: u8 = 0x08;
pub const OP_LIN_DMA: u8 = 0x09;
pub const OP_NOP: u8 = 0x0A;
pub const OP_STOP: u8 = 0x0B;
pub const OP_PTE_WRITE: u8 = 0x0C;
pub const OP_VEC: u8 = 0x10;

/// MSG_LONG flags: target field (bits 0-1) and the ADD bit.
pub const MSG_TARGET_MEM: u16 = 0;
pub const MSG_TARGET_SOB: u16 = 1;
pub const MSG_TARGET_CQ: u16 = 2;
pub const MSG_TARGET_MASK: u16 = 0x3;
pub const MSG_FLAG_ADD: u16 = 1 << 2;
/// LIN_DMA flag: fill the destination with a 32-bit pattern instead of copying.
pub const LIN_DMA_FLAG_MEMSET: u16 = 1 << 0;
/// VEC flags: operation field (bits 0-3).
pub const VEC_OP_MASK: u16 = 0xF;

/// Where a MSG_LONG writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgTarget {
    /// A 32-bit word at a device address (translated by the queue's ASID).
    Mem { addr: u64 },
    /// Sync object `index`: set it to the value, or add the value to it.
    Sob { index: u32, add: bool },
    /// The completion queue: a CQ entry carrying the value. Privileged.
    Cq,
}

/// The operation of a VEC packet, on little-endian 32-bit integers, wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VecOp {
    /// `dst[i] = a[i] + b[i]`
    Add = 0,
    /// `dst[i] = a[i] - b[i]`
    Sub = 1,
    /// `dst[i] = a[i] * b[i]` (low 32 bits)
    Mul = 2,
    /// `dst[i] = max(a[i], b[i])`, signed
    Max = 3,
    /// `dst[r] = sum over c of a[r * cols + c] * b[c]` (low 32 bits)
    Gemv = 4,
}

impl VecOp {
    fn from_bits(bits: u16) -> Option<Self> {
        Some(match bits {
            0 => Self::Add,
            1 => Self::Sub,
            2 => Self::Mul,
            3 => Self::Max,
            4 => Self::Gemv,
            _ => return None,
        })
    }
}

/// A decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// Does nothing.
    Nop,
    /// Writes `value` to the register at page offset `offset`. Privileged.
    Wreg32 { offset: u32, value: u32 },
    /// Writes `value` to a target.
    MsgLong { target: MsgTarget, value: u32 },
    /// Waits until `SOB[sob] >= target` (unsigned).
    Fence { sob: u32, target: u32 },
    /// Copies `len` bytes from `src` to `dst`, or fills them with `pattern`.
    LinDma { src: LinSrc, dst: u64, len: u32 },
    /// Halts the queue after this packet. Privileged.
    Stop,
    /// Writes a page-table entry at HBM physical address `pa`, then invalidates the
    /// MMU cache. Privileged.
    PteWrite { pa: u64, value: u64 },
    /// A vector/matrix operation on device memory.
    Vec(VecArgs),
}

/// The source of a LIN_DMA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinSrc {
    /// A device address.
    Addr(u64),
    /// MEMSET: the destination gets this 32-bit pattern's bytes, repeated.
    Pattern(u32),
}

/// Operands of a VEC packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VecArgs {
    /// The operation.
    pub op: VecOp,
    /// Elements (elementwise) or matrix rows (GEMV); 0 is a no-op.
    pub count: u32,
    /// GEMV: matrix columns (= elements of `b`); elementwise: 0.
    pub cols: u32,
    /// Result: `count` elements.
    pub dst: u64,
    /// First operand: `count` elements, or the `count x cols` row-major matrix.
    pub a: u64,
    /// Second operand: `count` elements, or the `cols`-element vector.
    pub b: u64,
}

/// Why a packet is illegal (the `reason` of an ILLEGAL_PACKET event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Illegal {
    /// No such opcode.
    UnknownOpcode = 0,
    /// The header's size is not the opcode's.
    BadSize = 1,
    /// A reserved field or flag is not zero.
    Reserved = 2,
    /// A field is out of range or misaligned.
    BadOperand = 3,
    /// The opcode is not supported by this queue's engine.
    WrongEngine = 4,
    /// WREG32 to a register it may not write.
    BadRegister = 5,
    /// The header's size is 0 or above [`MAX_PACKET_QWORDS`]: the queue halts.
    Malformed = 6,
    /// The packet extends beyond the producer index: the queue halts.
    Truncated = 7,
    /// The doorbell latched a producer index that is not a multiple of 8 or is more
    /// than the ring size ahead of the consumer index: the queue halts.
    BadProducerIndex = 8,
}

impl Illegal {
    /// Whether the queue halts (instead of skipping the packet).
    pub fn halts(self) -> bool {
        matches!(
            self,
            Self::Malformed | Self::Truncated | Self::BadProducerIndex
        )
    }
}

/// A packet that cannot be executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal packet (opcode {opcode:#04x}): {reason:?}")]
pub struct DecodeError {
    /// The header's opcode byte.
    pub opcode: u8,
    /// The rule it breaks.
    pub reason: Illegal,
}

/// The fixed size in qwords of each opcode.
pub fn opcode_qwords(opcode: u8) -> Option<u8> {
    Some(match opcode {
        OP_NOP | OP_STOP => 1,
        OP_WREG32 | OP_MSG_LONG | OP_FENCE => 2,
        OP_LIN_DMA | OP_PTE_WRITE => 3,
        OP_VEC => 5,
        _ => return None,
    })
}

/// The size in bytes a header declares, if it is well-formed (1 to
/// [`MAX_PACKET_QWORDS`] qwords). This is how far a skipped packet advances.
pub fn declared_size(header: &[u8; 8]) -> Option<usize> {
    match header[1] {
        0 => None,
        n if n > MAX_PACKET_QWORDS => None,
        n => Some(usize::from(n) * QWORD),
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl Packet {
    /// The opcode.
    pub fn opcode(&self) -> u8 {
        match self {
            Self::Nop => OP_NOP,
            Self::Wreg32 { .. } => OP_WREG32,
            Self::MsgLong { .. } => OP_MSG_LONG,
            Self::Fence { .. } => OP_FENCE,
            Self::LinDma { .. } => OP_LIN_DMA,
            Self::Stop => OP_STOP,
            Self::PteWrite { .. } => OP_PTE_WRITE,
            Self::Vec(_) => OP_VEC,
        }
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        usize::from(opcode_qwords(self.opcode()).expect("known opcode")) * QWORD
    }

    /// Whether user command buffers must never contain it: WREG32, STOP, PTE_WRITE, and
    /// MSG_LONG to the completion queue.
    pub fn is_privileged(&self) -> bool {
        matches!(
            self,
            Self::Wreg32 { .. }
                | Self::Stop
                | Self::PteWrite { .. }
                | Self::MsgLong {
                    target: MsgTarget::Cq,
                    ..
                }
        )
    }

    /// Appends the packet's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (flags, imm): (u16, u32) = match *self {
            Self::Nop | Self::Stop | Self::PteWrite { .. } => (0, 0),
            Self::Wreg32 { value, .. } => (0, value),
            Self::MsgLong { target, value } => {
                let flags = match target {
                    MsgTarget::Mem { .. } => MSG_TARGET_MEM,
                    MsgTarget::Sob { add: false, .. } => MSG_TARGET_SOB,
                    MsgTarget::Sob { add: true, .. } => MSG_TARGET_SOB | MSG_FLAG_ADD,
                    MsgTarget::Cq => MSG_TARGET_CQ,
                };
                (flags, value)
            }
            Self::Fence { target, .. } => (0, target),
            Self::LinDma { src, len, .. } => match src {
                LinSrc::Addr(_) => (0, len),
                LinSrc::Pattern(_) => (LIN_DMA_FLAG_MEMSET, len),
            },
            Self::Vec(v) => (v.op as u16, v.count),
        };
        out.push(self.opcode());
        out.push(opcode_qwords(self.opcode()).expect("known opcode"));
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&imm.to_le_bytes());
        match *self {
            Self::Nop | Self::Stop => {}
            Self::Wreg32 { offset, .. } => {
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            Self::MsgLong { target, .. } => {
                let addr = match target {
                    MsgTarget::Mem { addr } => addr,
                    MsgTarget::Sob { index, .. } => u64::from(index),
                    MsgTarget::Cq => 0,
                };
                out.extend_from_slice(&addr.to_le_bytes());
            }
            Self::Fence { sob, .. } => {
                out.extend_from_slice(&sob.to_le_bytes());
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            Self::LinDma { src, dst, .. } => {
                let src = match src {
                    LinSrc::Addr(a) => a,
                    LinSrc::Pattern(p) => u64::from(p),
                };
                out.extend_from_slice(&src.to_le_bytes());
                out.extend_from_slice(&dst.to_le_bytes());
            }
            Self::PteWrite { pa, value } => {
                out.extend_from_slice(&pa.to_le_bytes());
                out.extend_from_slice(&value.to_le_bytes());
            }
            Self::Vec(v) => {
                for word in [v.dst, v.a, v.b] {
                    out.extend_from_slice(&word.to_le_bytes());
                }
                out.extend_from_slice(&v.cols.to_le_bytes());
                out.extend_from_slice(&0u32.to_le_bytes());
            }
        }
    }

    /// The packet's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        self.encode_into(&mut out);
        out
    }

    /// Decodes the packet at the start of `bytes`, which must hold at least the size its
    /// header declares ([`Illegal::Truncated`] otherwise). Returns the packet and its size.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let opcode = bytes.first().copied().unwrap_or(0);
        let err = |reason| DecodeError { opcode, reason };
        let header: &[u8; 8] = bytes
            .get(..QWORD)
            .and_then(|h| h.try_into().ok())
            .ok_or(err(Illegal::Truncated))?;
        let size = declared_size(header).ok_or(err(Illegal::Malformed))?;
        let b = bytes.get(..size).ok_or(err(Illegal::Truncated))?;
        let expected = opcode_qwords(opcode).ok_or(err(Illegal::UnknownOpcode))?;
        if usize::from(expected) * QWORD != size {
            return Err(err(Illegal::BadSize));
        }
        let flags = u16_at(b, 2);
        let imm = u32_at(b, 4);
        let check = |ok: bool, reason| if ok { Ok(()) } else { Err(err(reason)) };
        let packet = match opcode {
            OP_NOP | OP_STOP => {
                check(flags == 0 && imm == 0, Illegal::Reserved)?;
                if opcode == OP_NOP {
                    Self::Nop
                } else {
                    Self::Stop
                }
            }
            OP_WREG32 => {
                check(flags == 0 && u32_at(b, 12) == 0, Illegal::Reserved)?;
                let offset = u32_at(b, 8);
                check(
                    offset.is_multiple_of(4) && offset < 0x1000,
                    Illegal::BadOperand,
                )?;
                Self::Wreg32 { offset, value: imm }
            }
            OP_MSG_LONG => {
                check(
                    flags & !(MSG_TARGET_MASK | MSG_FLAG_ADD) == 0,
                    Illegal::Reserved,
                )?;
                let addr = u64_at(b, 8);
                let add = flags & MSG_FLAG_ADD != 0;
                let target = match flags & MSG_TARGET_MASK {
                    MSG_TARGET_MEM => {
                        check(!add, Illegal::Reserved)?;
                        check(addr.is_multiple_of(4), Illegal::BadOperand)?;
                        MsgTarget::Mem { addr }
                    }
                    MSG_TARGET_SOB => {
                        check(addr < u64::from(NUM_SOBS), Illegal::BadOperand)?;
                        MsgTarget::Sob {
                            index: addr as u32,
                            add,
                        }
                    }
                    MSG_TARGET_CQ => {
                        check(!add && addr == 0, Illegal::Reserved)?;
                        MsgTarget::Cq
                    }
                    _ => return Err(err(Illegal::BadOperand)),
                };
                Self::MsgLong { target, value: imm }
            }
            OP_FENCE => {
                check(flags == 0 && u32_at(b, 12) == 0, Illegal::Reserved)?;
                let sob = u32_at(b, 8);
                check(sob < NUM_SOBS, Illegal::BadOperand)?;
                Self::Fence { sob, target: imm }
            }
            OP_LIN_DMA => {
                check(flags & !LIN_DMA_FLAG_MEMSET == 0, Illegal::Reserved)?;
                let src = u64_at(b, 8);
                let src = if flags & LIN_DMA_FLAG_MEMSET != 0 {
                    check(src >> 32 == 0, Illegal::Reserved)?;
                    LinSrc::Pattern(src as u32)
                } else {
                    LinSrc::Addr(src)
                };
                Self::LinDma {
                    src,
                    dst: u64_at(b, 16),
                    len: imm,
                }
            }
            OP_PTE_WRITE => {
                check(flags == 0 && imm == 0, Illegal::Reserved)?;
                let pa = u64_at(b, 8);
                check(
                    pa.is_multiple_of(8) && pa & PA_HOST == 0,
                    Illegal::BadOperand,
                )?;
                Self::PteWrite {
                    pa,
                    value: u64_at(b, 16),
                }
            }
            OP_VEC => {
                check(flags & !VEC_OP_MASK == 0, Illegal::Reserved)?;
                check(u32_at(b, 36) == 0, Illegal::Reserved)?;
                let op = VecOp::from_bits(flags & VEC_OP_MASK).ok_or(err(Illegal::BadOperand))?;
                let v = VecArgs {
                    op,
                    count: imm,
                    cols: u32_at(b, 32),
                    dst: u64_at(b, 8),
                    a: u64_at(b, 16),
                    b: u64_at(b, 24),
                };
                check(vec_args_valid(&v), Illegal::BadOperand)?;
                Self::Vec(v)
            }
            _ => unreachable!("opcode_qwords knows every opcode"),
        };
        Ok((packet, size))
    }
}

/// The VEC rules: 4-byte aligned operands, `cols` 0 for elementwise and 1 or more for
/// GEMV, and no operand larger than [`MAX_VEC_ELEMENTS`].
fn vec_args_valid(v: &VecArgs) -> bool {
    let aligned = [v.dst, v.a, v.b].iter().all(|x| x % 4 == 0);
    let count = u64::from(v.count);
    let shape = match v.op {
        VecOp::Gemv => v.cols >= 1 && count * u64::from(v.cols) <= MAX_VEC_ELEMENTS,
        _ => v.cols == 0 && count <= MAX_VEC_ELEMENTS,
    };
    aligned && shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let bytes = Packet::Fence { sob: 7, target: 9 }.encode();
        assert_eq!(bytes, [8, 2, 0, 0, 9, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Packet::Nop.encode(), [0x0A, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn malformed_headers_have_no_size() {
        assert_eq!(declared_size(&[OP_NOP, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(declared_size(&[OP_NOP, 9, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(declared_size(&[0xEE, 8, 0, 0, 0, 0, 0, 0]), Some(64));
    }
}
