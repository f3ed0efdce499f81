// SPDX-License-Identifier: GPL-2.0-only
//! A typed encoder for HLX packets (Documentation/hlx.rst, "Packets"): build a command
//! buffer for an `hlx` device's queues from [`Packet`]s. [`hw_info`], [`counters`] and
//! [`queues`] read the hlx vendor queries (`uapi/drm/hlx_accel.h`); [`hbm_region`] finds the
//! HBM region, whose buffer objects' device addresses ([`crate::Bo::device_addr`]) are what
//! packets name HBM by.
//!
//! ```
//! use xaccel::hlx::{Packet, VecOp, encode};
//! let cb = encode(&[
//!     Packet::Memset { dst: 0x10_0000, len: 64, pattern: 7 },
//!     Packet::Vec { op: VecOp::Add, count: 16, dst: 0x10_1000, a: 0x10_0000, b: 0x10_0000, cols: 0 },
//! ]);
//! assert_eq!(cb.len(), 24 + 40);
//! ```

pub use xaccel_uapi::hlx::{
    hlx_counters, hlx_hw_info, hlx_queue_info, HLX_QUERY_COUNTERS, HLX_QUERY_HW_INFO,
    HLX_QUERY_QUEUES,
};

/// The device's HBM region (its device-memory region), if it has one.
pub fn hbm_region(dev: &crate::Device) -> crate::Result<Option<crate::RegionInfo>> {
    Ok(dev
        .regions()?
        .into_iter()
        .find(|r| r.kind == crate::RegionKind::Device))
}

/// Little-endian fields read in order from a uAPI item.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u32(&mut self) -> u32 {
        let (v, rest) = self.0.split_at(4);
        self.0 = rest;
        u32::from_le_bytes(v.try_into().expect("4 bytes"))
    }

    fn u64(&mut self) -> u64 {
        let (v, rest) = self.0.split_at(8);
        self.0 = rest;
        u64::from_le_bytes(v.try_into().expect("8 bytes"))
    }
}

fn one(dev: &crate::Device, kind: u32, size: usize) -> crate::Result<Vec<u8>> {
    let bytes = dev.vendor_query(kind, size as u32)?;
    if bytes.len() < size {
        return Err(crate::Error::Protocol {
            ioctl: "VENDOR_QUERY",
            problem: format!("hlx query {kind} returned no item"),
        });
    }
    Ok(bytes)
}

/// `HLX_QUERY_HW_INFO`: HW IP information and HBM usage.
pub fn hw_info(dev: &crate::Device) -> crate::Result<hlx_hw_info> {
    let bytes = one(dev, HLX_QUERY_HW_INFO, std::mem::size_of::<hlx_hw_info>())?;
    let mut f = Fields(&bytes);
    Ok(hlx_hw_info {
        id: f.u32(),
        version: f.u32(),
        hbm_size: f.u64(),
        hbm_user_base: f.u64(),
        page_table_bytes: f.u64(),
        num_queues: f.u32(),
        asids_used: f.u32(),
        device_hard_resets: f.u32(),
        pad: f.u32(),
    })
}

/// `HLX_QUERY_COUNTERS`: what the driver counted.
pub fn counters(dev: &crate::Device) -> crate::Result<hlx_counters> {
    let bytes = one(dev, HLX_QUERY_COUNTERS, std::mem::size_of::<hlx_counters>())?;
    let mut f = Fields(&bytes);
    Ok(hlx_counters {
        jobs_done: f.u64(),
        jobs_failed: f.u64(),
        mmu_faults: f.u64(),
        access_errors: f.u64(),
        illegal_packets: f.u64(),
        other_events: f.u64(),
        soft_resets: f.u64(),
        hard_resets: f.u64(),
        last_fault_addr: f.u64(),
        irq_cq: f.u32(),
        irq_eq: f.u32(),
    })
}

/// `HLX_QUERY_QUEUES`: every queue's state.
pub fn queues(dev: &crate::Device) -> crate::Result<Vec<hlx_queue_info>> {
    let size = std::mem::size_of::<hlx_queue_info>();
    let bytes = dev.vendor_query(HLX_QUERY_QUEUES, size as u32)?;
    Ok(bytes
        .chunks_exact(size)
        .map(|item| {
            let mut f = Fields(item);
            hlx_queue_info {
                queue: f.u32(),
                status: f.u32(),
                ci: f.u32(),
                soft_resets: f.u32(),
            }
        })
        .collect())
}

/// Opcodes.
pub const OP_WREG32: u8 = 0x01;
/// MSG_LONG.
pub const OP_MSG_LONG: u8 = 0x03;
/// FENCE.
pub const OP_FENCE: u8 = 0x08;
/// LIN_DMA.
pub const OP_LIN_DMA: u8 = 0x09;
/// NOP.
pub const OP_NOP: u8 = 0x0A;
/// STOP.
pub const OP_STOP: u8 = 0x0B;
/// PTE_WRITE.
pub const OP_PTE_WRITE: u8 = 0x0C;
/// VEC.
pub const OP_VEC: u8 = 0x10;

/// The queues of an HLX device, as engine ids.
pub const ENGINE_DMA0: u32 = 0;
/// Second DMA queue.
pub const ENGINE_DMA1: u32 = 1;
/// First compute queue.
pub const ENGINE_CMP0: u32 = 2;
/// Second compute queue.
pub const ENGINE_CMP1: u32 = 3;

/// Where a MSG_LONG writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgTarget {
    /// A 32-bit word of memory.
    Mem,
    /// A sync object (`addr` is its index); `add` adds instead of setting.
    Sob {
        /// Add the value instead of setting it.
        add: bool,
    },
    /// The completion queue (privileged: the driver refuses it in user command buffers).
    Cq,
}

/// VEC operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum VecOp {
    /// `dst[i] = a[i] + b[i]`.
    Add = 0,
    /// `dst[i] = a[i] - b[i]`.
    Sub = 1,
    /// `dst[i] = a[i] * b[i]`.
    Mul = 2,
    /// `dst[i] = max(a[i], b[i])` (signed).
    Max = 3,
    /// `dst[r] = sum over c of a[r * cols + c] * b[c]`.
    Gemv = 4,
}

/// One HLX packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    /// Nothing.
    Nop,
    /// Copy `len` bytes from `src` to `dst`.
    Copy {
        /// Source device address.
        src: u64,
        /// Destination device address.
        dst: u64,
        /// Bytes.
        len: u32,
    },
    /// Fill `len` bytes at `dst` with the 4 bytes of `pattern`.
    Memset {
        /// Destination device address.
        dst: u64,
        /// Bytes.
        len: u32,
        /// The pattern, little-endian.
        pattern: u32,
    },
    /// Write `value` to a target.
    MsgLong {
        /// Where.
        target: MsgTarget,
        /// Address (memory) or sync object index.
        addr: u64,
        /// The value.
        value: u32,
    },
    /// Wait until sync object `sob` reaches `target`.
    Fence {
        /// Sync object index.
        sob: u32,
        /// Value waited for.
        target: u32,
    },
    /// Vector compute on 32-bit integers (compute queues only).
    Vec {
        /// The operation.
        op: VecOp,
        /// Elements, or matrix rows for GEMV.
        count: u32,
        /// Result address.
        dst: u64,
        /// First operand (the matrix for GEMV).
        a: u64,
        /// Second operand (the vector for GEMV).
        b: u64,
        /// GEMV columns; 0 otherwise.
        cols: u32,
    },
    /// Register write (privileged).
    Wreg32 {
        /// Register-page offset.
        offset: u32,
        /// Value.
        value: u32,
    },
    /// Stop the queue (privileged).
    Stop,
    /// Page-table entry write (privileged).
    PteWrite {
        /// HBM address of the PTE.
        pa: u64,
        /// The PTE.
        value: u64,
    },
}

fn header(out: &mut Vec<u8>, opcode: u8, qwords: u8, flags: u16, imm: u32) {
    out.push(opcode);
    out.push(qwords);
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&imm.to_le_bytes());
}

fn qword(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

impl Packet {
    /// Appends the packet's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match *self {
            Packet::Nop => header(out, OP_NOP, 1, 0, 0),
            Packet::Stop => header(out, OP_STOP, 1, 0, 0),
            Packet::Copy { src, dst, len } => {
                header(out, OP_LIN_DMA, 3, 0, len);
                qword(out, src);
                qword(out, dst);
            }
            Packet::Memset { dst, len, pattern } => {
                header(out, OP_LIN_DMA, 3, 1, len);
                qword(out, u64::from(pattern));
                qword(out, dst);
            }
            Packet::MsgLong {
                target,
                addr,
                value,
            } => {
                let flags = match target {
                    MsgTarget::Mem => 0,
                    MsgTarget::Sob { add } => 1 | if add { 4 } else { 0 },
                    MsgTarget::Cq => 2,
                };
                header(out, OP_MSG_LONG, 2, flags, value);
                qword(out, addr);
            }
            Packet::Fence { sob, target } => {
                header(out, OP_FENCE, 2, 0, target);
                qword(out, u64::from(sob));
            }
            Packet::Vec {
                op,
                count,
                dst,
                a,
                b,
                cols,
            } => {
                header(out, OP_VEC, 5, op as u16, count);
                qword(out, dst);
                qword(out, a);
                qword(out, b);
                qword(out, u64::from(cols));
            }
            Packet::Wreg32 { offset, value } => {
                header(out, OP_WREG32, 2, 0, value);
                qword(out, u64::from(offset));
            }
            Packet::PteWrite { pa, value } => {
                header(out, OP_PTE_WRITE, 3, 0, 0);
                qword(out, pa);
                qword(out, value);
            }
        }
    }
}

/// Encodes packets into a command buffer.
pub fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        p.encode_into(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_manual() {
        let sizes = [
            (Packet::Nop, 8),
            (Packet::Stop, 8),
            (
                Packet::Copy {
                    src: 0,
                    dst: 0,
                    len: 0,
                },
                24,
            ),
            (
                Packet::Memset {
                    dst: 0,
                    len: 0,
                    pattern: 0,
                },
                24,
            ),
            (
                Packet::MsgLong {
                    target: MsgTarget::Mem,
                    addr: 0,
                    value: 0,
                },
                16,
            ),
            (Packet::Fence { sob: 0, target: 0 }, 16),
            (
                Packet::Vec {
                    op: VecOp::Gemv,
                    count: 0,
                    dst: 0,
                    a: 0,
                    b: 0,
                    cols: 0,
                },
                40,
            ),
            (
                Packet::Wreg32 {
                    offset: 0,
                    value: 0,
                },
                16,
            ),
            (Packet::PteWrite { pa: 0, value: 0 }, 24),
        ];
        for (p, bytes) in sizes {
            let cb = encode(&[p]);
            assert_eq!(cb.len(), bytes, "{p:?}");
            assert_eq!(usize::from(cb[1]) * 8, bytes, "{p:?}");
        }
    }

    #[test]
    fn fields_are_little_endian_in_place() {
        let cb = encode(&[Packet::MsgLong {
            target: MsgTarget::Sob { add: true },
            addr: 9,
            value: 0x0102_0304,
        }]);
        assert_eq!(cb, [3, 2, 5, 0, 4, 3, 2, 1, 9, 0, 0, 0, 0, 0, 0, 0]);
        let cb = encode(&[Packet::Memset {
            dst: 0x1000,
            len: 16,
            pattern: 0xaabbccdd,
        }]);
        assert_eq!(&cb[..8], &[9, 3, 1, 0, 16, 0, 0, 0]);
        assert_eq!(&cb[8..16], &0xaabbccddu64.to_le_bytes());
        assert_eq!(&cb[16..24], &0x1000u64.to_le_bytes());
    }
}
