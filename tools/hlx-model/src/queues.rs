// SPDX-License-Identifier: GPL-2.0-only
//! Rings (Documentation/hlx.rst, "Queues"): the packet rings the engines fetch from
//! ([`PacketRing`]), and the completion and event queues the device writes
//! ([`OutRing`], with [`CqEntry`] and [`EqEntry`]).
//!
//! Packet rings are byte rings with free-running 32-bit byte indices; CQ and EQ are
//! entry rings with free-running 32-bit entry indices. In both, `index % size` is the
//! position and `pi - ci` (wrapping) the fill level.

use crate::dma::{AccessFault, PhysMem};
use crate::regs::Regs;

/// Smallest packet ring, in bytes.
pub const MIN_RING_BYTES: u32 = 4096;
/// Largest packet ring, in bytes.
pub const MAX_RING_BYTES: u32 = 16 << 20;
/// Largest CQ or EQ, in entries.
pub const MAX_OUT_ENTRIES: u32 = 65536;
/// Size of a CQ entry.
pub const CQ_ENTRY_BYTES: u32 = 16;
/// Size of an EQ entry.
pub const EQ_ENTRY_BYTES: u32 = 32;

/// EQ event types.
pub const EV_MMU_FAULT: u16 = 1;
pub const EV_ACCESS_ERROR: u16 = 2;
pub const EV_ILLEGAL_PACKET: u16 = 3;
pub const EV_QUEUE_STOPPED: u16 = 4;
pub const EV_CQ_ERROR: u16 = 5;
/// `queue` of an event no queue caused.
pub const NO_QUEUE: u8 = 0xFF;

/// Error codes: the `status` of a CQ entry, `Q_ERROR`.
pub const ERR_NONE: u16 = 0;
pub const ERR_MMU_FAULT: u16 = 1;
pub const ERR_ACCESS: u16 = 2;
pub const ERR_ILLEGAL_PACKET: u16 = 3;

/// A packet ring, latched by QUEUE_ENABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRing {
    /// Physical address (HBM or host), 8-byte aligned.
    pub base: u64,
    /// Size in bytes: a power of two from [`MIN_RING_BYTES`] to [`MAX_RING_BYTES`].
    pub size: u32,
}

impl PacketRing {
    /// Checks a ring's geometry and that all of it is memory.
    pub fn new(phys: &PhysMem, base: u64, size: u32) -> Option<Self> {
        let ok = size.is_power_of_two()
            && (MIN_RING_BYTES..=MAX_RING_BYTES).contains(&size)
            && base.is_multiple_of(8)
            && readable(phys, base, u64::from(size));
        ok.then_some(Self { base, size })
    }

    /// Reads `buf.len()` bytes at free-running byte index `index`, wrapping at the end.
    pub fn fetch(&self, phys: &PhysMem, index: u32, buf: &mut [u8]) -> Result<(), AccessFault> {
        let pos = (index & (self.size - 1)) as usize;
        let first = buf.len().min(self.size as usize - pos);
        phys.read(self.base + pos as u64, &mut buf[..first], true)?;
        if first < buf.len() {
            let rest = &mut buf[first..];
            phys.read(self.base, rest, true)?;
        }
        Ok(())
    }
}

/// Whether `[pa, pa + len)` is one non-empty physical range (host allowed).
fn readable(phys: &PhysMem, pa: u64, len: u64) -> bool {
    len > 0 && phys.check(pa, len, true).is_ok()
}

/// A completion-queue entry (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CqEntry {
    /// The MSG_LONG value.
    pub data: u32,
    /// The queue that executed the MSG_LONG.
    pub queue: u16,
    /// [`ERR_NONE`], or the first error of the job it completes.
    pub status: u16,
    /// The entry's free-running CQ index.
    pub seq: u32,
}

impl CqEntry {
    /// Little-endian bytes.
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0; 16];
        b[0..4].copy_from_slice(&self.data.to_le_bytes());
        b[4..6].copy_from_slice(&self.queue.to_le_bytes());
        b[6..8].copy_from_slice(&self.status.to_le_bytes());
        b[8..12].copy_from_slice(&self.seq.to_le_bytes());
        b
    }

    /// From little-endian bytes.
    pub fn decode(b: &[u8; 16]) -> Self {
        Self {
            data: u32::from_le_bytes(b[0..4].try_into().expect("4")),
            queue: u16::from_le_bytes([b[4], b[5]]),
            status: u16::from_le_bytes([b[6], b[7]]),
            seq: u32::from_le_bytes(b[8..12].try_into().expect("4")),
        }
    }
}

/// An event-queue entry (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EqEntry {
    /// `EV_*`.
    pub kind: u16,
    /// The queue, or [`NO_QUEUE`].
    pub queue: u8,
    /// The queue's ASID when it happened.
    pub asid: u8,
    /// Type-specific information.
    pub info: u32,
    /// Type-specific address (faulting VA or PA).
    pub addr: u64,
    /// Free-running ring index of the packet that caused it.
    pub ci: u32,
    /// The entry's free-running EQ index.
    pub seq: u32,
}

impl EqEntry {
    /// Little-endian bytes.
    pub fn encode(&self) -> [u8; 32] {
        let mut b = [0; 32];
        b[0..2].copy_from_slice(&self.kind.to_le_bytes());
        b[2] = self.queue;
        b[3] = self.asid;
        b[4..8].copy_from_slice(&self.info.to_le_bytes());
        b[8..16].copy_from_slice(&self.addr.to_le_bytes());
        b[16..20].copy_from_slice(&self.ci.to_le_bytes());
        b[20..24].copy_from_slice(&self.seq.to_le_bytes());
        b
    }

    /// From little-endian bytes.
    pub fn decode(b: &[u8; 32]) -> Self {
        Self {
            kind: u16::from_le_bytes([b[0], b[1]]),
            queue: b[2],
            asid: b[3],
            info: u32::from_le_bytes(b[4..8].try_into().expect("4")),
            addr: u64::from_le_bytes(b[8..16].try_into().expect("8")),
            ci: u32::from_le_bytes(b[16..20].try_into().expect("4")),
            seq: u32::from_le_bytes(b[20..24].try_into().expect("4")),
        }
    }
}

/// What happened to an entry pushed on an [`OutRing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Written; the producer index moved.
    Written,
    /// The ring is full (`pi - ci == entries`); nothing written.
    Full,
    /// The ring was never initialised (or was disabled).
    Disabled,
}

/// Register offsets of one device-written ring (CQ or EQ).
#[derive(Debug, Clone, Copy)]
pub struct OutRegs {
    pub base: u64,
    pub entries: u64,
    pub ci: u64,
    pub pi: u64,
    pub status: u64,
}

/// A ring the device produces into: the CQ or the EQ.
#[derive(Debug)]
pub struct OutRing {
    regs: OutRegs,
    entry_bytes: u32,
    base: u64,
    entries: u32,
    pi: u32,
}

impl OutRing {
    /// A disabled ring with these registers and entry size.
    pub fn new(regs: OutRegs, entry_bytes: u32) -> Self {
        Self {
            regs,
            entry_bytes,
            base: 0,
            entries: 0,
            pi: 0,
        }
    }

    /// CQ_INIT/EQ_INIT: latches base and size from the registers and empties the ring at
    /// the driver's CI (`PI := CI`). 0 entries disables it. `false` (and no change) if
    /// the geometry is invalid.
    pub fn init(&mut self, regs: &Regs, phys: &PhysMem) -> bool {
        let base = regs.read64(self.regs.base);
        let entries = regs.read(self.regs.entries);
        if entries == 0 {
            self.reset(regs);
            return true;
        }
        let bytes = u64::from(entries) * u64::from(self.entry_bytes);
        let ok = entries.is_power_of_two()
            && (2..=MAX_OUT_ENTRIES).contains(&entries)
            && base.is_multiple_of(u64::from(self.entry_bytes))
            && readable(phys, base, bytes);
        if ok {
            self.base = base;
            self.entries = entries;
            self.pi = regs.read(self.regs.ci);
            regs.write(self.regs.pi, self.pi);
            regs.write(self.regs.status, 1);
        }
        ok
    }

    /// Disables the ring and zeroes its device-written registers.
    pub fn reset(&mut self, regs: &Regs) {
        self.entries = 0;
        self.base = 0;
        self.pi = 0;
        regs.write(self.regs.pi, 0);
        regs.write(self.regs.status, 0);
    }

    /// The free-running producer index (the next entry's `seq`).
    pub fn pi(&self) -> u32 {
        self.pi
    }

    /// Whether there is room for one more entry (the CI register is read now).
    pub fn has_room(&self, regs: &Regs) -> bool {
        self.entries != 0 && self.pi.wrapping_sub(regs.read(self.regs.ci)) < self.entries
    }

    /// Writes one entry (whose bytes already carry `seq = pi()`), then publishes the
    /// producer index with release ordering.
    pub fn push(&mut self, regs: &Regs, phys: &PhysMem, entry: &[u8]) -> Result<Push, AccessFault> {
        debug_assert_eq!(entry.len(), self.entry_bytes as usize);
        if self.entries == 0 {
            return Ok(Push::Disabled);
        }
        if !self.has_room(regs) {
            return Ok(Push::Full);
        }
        let slot = u64::from(self.pi & (self.entries - 1));
        phys.write(self.base + slot * u64::from(self.entry_bytes), entry, true)?;
        self.pi = self.pi.wrapping_add(1);
        regs.write(self.regs.pi, self.pi);
        Ok(Push::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let cq = CqEntry {
            data: 0xDEAD_BEEF,
            queue: 3,
            status: ERR_MMU_FAULT,
            seq: 77,
        };
        assert_eq!(CqEntry::decode(&cq.encode()), cq);
        assert_eq!(cq.encode()[..8], [0xEF, 0xBE, 0xAD, 0xDE, 3, 0, 1, 0]);
        let eq = EqEntry {
            kind: EV_MMU_FAULT,
            queue: 2,
            asid: 5,
            info: 0x0002_0301,
            addr: 0x1234_5678_9000,
            ci: 4096,
            seq: 9,
        };
        assert_eq!(EqEntry::decode(&eq.encode()), eq);
        assert_eq!(eq.encode()[24..], [0; 8]);
    }
}
