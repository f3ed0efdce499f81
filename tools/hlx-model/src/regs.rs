// SPDX-License-Identifier: GPL-2.0-only
//! The HLX register page: the first 4 KiB of BAR2 (Documentation/hlx.rst, "Registers").
//!
//! The page is ordinary shared memory, so a register write has no side effect by itself.
//! Every register has exactly one writer: the driver (`RW` in the manual) or the device
//! (`RO`). The device samples driver-written registers at defined moments (a doorbell, a
//! command, every translation); commands are the only way to make it act.
//!
//! [`Regs`] reads and writes the page as 32/64-bit little-endian atomics.

use std::sync::Arc;

use crate::shm::Mem;

/// Size of the register page; HBM starts right after it in BAR2.
pub const PAGE_SIZE: u64 = 0x1000;

/// `HLX_ID`: "HLX1" as bytes in memory.
pub const ID_VALUE: u32 = u32::from_le_bytes(*b"HLX1");
/// `HLX_VERSION`: major << 16 | minor.
pub const VERSION_VALUE: u32 = 1 << 16;

/// Number of queues (and engines): 0-1 external DMA, 2-3 internal compute.
pub const NUM_QUEUES: usize = 4;
/// Number of sync objects.
pub const NUM_SOBS: u32 = 256;
/// Number of address-space IDs (0 = MMU bypass).
pub const NUM_ASIDS: u32 = 64;
/// Number of ivshmem vectors the device uses in each direction (QEMU `vectors=8`).
pub const NUM_VECTORS: u16 = 8;
/// The control doorbell vector (driver to device).
pub const DOORBELL_CONTROL: u16 = 7;
/// MSI-X vector of the completion-queue interrupt (device to driver).
pub const VECTOR_CQ: u16 = 0;
/// MSI-X vector of the event-queue interrupt.
pub const VECTOR_EQ: u16 = 1;

// Identification and status (all RO).
pub const ID: u64 = 0x000;
pub const VERSION: u64 = 0x004;
pub const HBM_SIZE: u64 = 0x008; // u64
pub const NUM_QUEUES_REG: u64 = 0x010;
pub const NUM_SOBS_REG: u64 = 0x014;
pub const NUM_ASIDS_REG: u64 = 0x018;
pub const NUM_VECTORS_REG: u64 = 0x01C;
pub const DEV_STATUS: u64 = 0x020;
pub const PEER_ID: u64 = 0x024;
pub const HEARTBEAT: u64 = 0x028;
pub const HARD_RESET_COUNT: u64 = 0x02C;

/// `DEV_STATUS` bit: the device is initialised and accepts commands.
pub const DEV_STATUS_READY: u32 = 1 << 0;

// Command mailbox.
pub const CMD_OPCODE: u64 = 0x040; // RW
pub const CMD_ARG0: u64 = 0x044; // RW
pub const CMD_ARG1: u64 = 0x048; // RW
pub const CMD_SEQ: u64 = 0x04C; // RW
pub const CMD_DONE_SEQ: u64 = 0x050; // RO
pub const CMD_STATUS: u64 = 0x054; // RO

// Interrupts (all RO; the mask is changed with the SET_IRQ_MASK command).
pub const IRQ_MASK: u64 = 0x060;
pub const IRQ_STATUS: u64 = 0x064;
pub const IRQ_COUNT_CQ: u64 = 0x068;
pub const IRQ_COUNT_EQ: u64 = 0x06C;
/// Interrupt cause bit of the completion queue.
pub const IRQ_CQ: u32 = 1 << 0;
/// Interrupt cause bit of the event queue.
pub const IRQ_EQ: u32 = 1 << 1;
/// All cause bits.
pub const IRQ_ALL: u32 = IRQ_CQ | IRQ_EQ;

// Completion queue.
pub const CQ_BASE: u64 = 0x080; // RW u64
pub const CQ_ENTRIES: u64 = 0x088; // RW
pub const CQ_CI: u64 = 0x08C; // RW
pub const CQ_PI: u64 = 0x090; // RO
pub const CQ_STATUS: u64 = 0x094; // RO, bit 0 enabled

// Event queue.
pub const EQ_BASE: u64 = 0x0A0; // RW u64
pub const EQ_ENTRIES: u64 = 0x0A8; // RW
pub const EQ_CI: u64 = 0x0AC; // RW
pub const EQ_PI: u64 = 0x0B0; // RO
pub const EQ_STATUS: u64 = 0x0B4; // RO, bit 0 enabled
pub const EQ_DROPPED: u64 = 0x0B8; // RO

// MMU.
pub const MMU_CTRL: u64 = 0x0C0; // RW
pub const MMU_FAULT_COUNT: u64 = 0x0C4; // RO
pub const MMU_FAULT_VA: u64 = 0x0C8; // RO u64
pub const MMU_FAULT_INFO: u64 = 0x0D0; // RO
pub const MMU_FAULT_ID: u64 = 0x0D4; // RO: queue | asid << 8
pub const MMU_INVAL_COUNT: u64 = 0x0D8; // RO

// Peer-to-peer.
/// `BAR2_BUS_ADDR` (RW u64): the PCI bus address the host assigned to BAR2, written by
/// the driver at bring-up, with [`BAR2_BUS_VALID`]. Peers read it to decode which bus
/// addresses reach this device (Documentation/hlx.rst, "Peer-to-peer").
pub const BAR2_BUS_ADDR: u64 = 0x0E0;
/// `BAR2_BUS_ADDR` bit 0: the address is valid; without it peers decode nothing here.
pub const BAR2_BUS_VALID: u64 = 1 << 0;
/// `BAR2_BUS_ADDR` bits 12-47: the address (BAR2 is at least 8 KiB, size-aligned).
pub const BAR2_BUS_MASK: u64 = 0x0000_FFFF_FFFF_F000;

/// `MMU_CTRL` bit: translate the addresses of queues whose ASID is not 0.
pub const MMU_CTRL_ENABLE: u32 = 1 << 0;
/// `MMU_HOP0[asid]` (RW u64): hop-0 table of each ASID.
pub const MMU_HOP0: u64 = 0x400;
/// `MMU_HOP0` bit: the entry is valid.
pub const MMU_HOP0_VALID: u64 = 1 << 0;

// Per-queue blocks.
pub const QUEUE_BLOCK: u64 = 0x100;
pub const QUEUE_STRIDE: u64 = 0x40;
pub const Q_BASE: u64 = 0x00; // RW u64
pub const Q_SIZE: u64 = 0x08; // RW
pub const Q_PI: u64 = 0x0C; // RW
pub const Q_ASID: u64 = 0x10; // RW (also written by WREG32)
pub const Q_CI: u64 = 0x14; // RO
pub const Q_STATUS: u64 = 0x18; // RO
pub const Q_ERROR: u64 = 0x1C; // RO
pub const Q_PKT_COUNT: u64 = 0x20; // RO
pub const Q_JOB_COUNT: u64 = 0x24; // RO
pub const Q_ERR_JOB_COUNT: u64 = 0x28; // RO
pub const Q_SOFT_RESET_COUNT: u64 = 0x2C; // RO
pub const Q_FENCE_SOB: u64 = 0x30; // RO
pub const Q_FENCE_TARGET: u64 = 0x34; // RO
pub const Q_LATCHED_PI: u64 = 0x38; // RO

/// `Q_STATUS` bit: the current job had an error; packets are skipped up to its completion.
pub const Q_STATUS_ERROR_SKIP: u32 = 1 << 8;
/// `Q_STATUS` bit: a WEDGE command armed the engine.
pub const Q_STATUS_WEDGE_ARMED: u32 = 1 << 9;

/// Sync objects: `SOB[i]` (RW u32) at `SOB_BASE + 4 * i`.
pub const SOB_BASE: u64 = 0xC00;

/// Offset of register `reg` (a `Q_*` constant) of queue `q`.
pub const fn queue_reg(q: usize, reg: u64) -> u64 {
    QUEUE_BLOCK + q as u64 * QUEUE_STRIDE + reg
}

/// Offset of `SOB[index]`.
pub const fn sob(index: u32) -> u64 {
    SOB_BASE + 4 * index as u64
}

/// Offset of `MMU_HOP0[asid]`.
pub const fn mmu_hop0(asid: u32) -> u64 {
    MMU_HOP0 + 8 * asid as u64
}

/// Whether the 32-bit register at `offset` may be the target of a WREG32 packet: the
/// driver-written registers outside the command mailbox.
pub fn wreg32_allowed(offset: u32) -> bool {
    let off = u64::from(offset);
    if off % 4 != 0 || off >= PAGE_SIZE {
        return false;
    }
    let queue_rw = (QUEUE_BLOCK..QUEUE_BLOCK + NUM_QUEUES as u64 * QUEUE_STRIDE).contains(&off)
        && matches!((off - QUEUE_BLOCK) % QUEUE_STRIDE, 0x00..=0x13);
    queue_rw
        || (CQ_BASE..=CQ_CI).contains(&off)
        || (EQ_BASE..=EQ_CI).contains(&off)
        || off == MMU_CTRL
        || (MMU_HOP0..mmu_hop0(NUM_ASIDS)).contains(&off)
        || (SOB_BASE..sob(NUM_SOBS)).contains(&off)
}

/// Typed access to the register page of a BAR2 mapping.
#[derive(Debug, Clone)]
pub struct Regs {
    bar: Arc<Mem>,
}

impl Regs {
    /// The register page at the start of `bar`.
    pub fn new(bar: Arc<Mem>) -> Self {
        assert!(bar.len() > PAGE_SIZE);
        Self { bar }
    }

    /// Reads a 32-bit register.
    pub fn read(&self, offset: u64) -> u32 {
        debug_assert!(offset < PAGE_SIZE);
        self.bar.load32(offset)
    }

    /// Writes a 32-bit register.
    pub fn write(&self, offset: u64, value: u32) {
        debug_assert!(offset < PAGE_SIZE);
        self.bar.store32(offset, value);
    }

    /// Reads a 64-bit register.
    pub fn read64(&self, offset: u64) -> u64 {
        debug_assert!(offset < PAGE_SIZE);
        self.bar.load64(offset)
    }

    /// Writes a 64-bit register.
    pub fn write64(&self, offset: u64, value: u64) {
        debug_assert!(offset < PAGE_SIZE);
        self.bar.store64(offset, value);
    }

    /// Adds `value` (wrapping) to a 32-bit register, atomically.
    pub fn add(&self, offset: u64, value: u32) {
        debug_assert!(offset < PAGE_SIZE);
        self.bar.add32(offset, value);
    }

    /// Adds 1 (wrapping) to a 32-bit counter register the device owns.
    pub fn bump(&self, offset: u64) {
        self.write(offset, self.read(offset).wrapping_add(1));
    }

    /// Reads register `reg` of queue `q`.
    pub fn queue(&self, q: usize, reg: u64) -> u32 {
        self.read(queue_reg(q, reg))
    }

    /// Writes register `reg` of queue `q`.
    pub fn set_queue(&self, q: usize, reg: u64, value: u32) {
        self.write(queue_reg(q, reg), value);
    }

    /// Reads `SOB[index]`.
    pub fn sob(&self, index: u32) -> u32 {
        self.read(sob(index))
    }

    /// Zeroes the whole page, then writes the identification registers.
    pub fn init_identity(&self, hbm_size: u64, peer_id: u16) {
        self.bar
            .write(0, &[0; PAGE_SIZE as usize])
            .expect("register page");
        self.write(ID, ID_VALUE);
        self.write(VERSION, VERSION_VALUE);
        self.write64(HBM_SIZE, hbm_size);
        self.write(NUM_QUEUES_REG, NUM_QUEUES as u32);
        self.write(NUM_SOBS_REG, NUM_SOBS);
        self.write(NUM_ASIDS_REG, NUM_ASIDS);
        self.write(NUM_VECTORS_REG, u32::from(NUM_VECTORS));
        self.write(PEER_ID, u32::from(peer_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_overlap() {
        assert_eq!(queue_reg(NUM_QUEUES - 1, Q_LATCHED_PI), 0x1F8);
        assert!(queue_reg(NUM_QUEUES, 0) <= MMU_HOP0);
        assert_eq!(mmu_hop0(NUM_ASIDS), 0x600);
        assert_eq!(sob(NUM_SOBS), PAGE_SIZE);
        assert_eq!(ID_VALUE, 0x3158_4C48);
    }

    #[test]
    fn wreg32_targets_are_driver_registers() {
        for ok in [
            queue_reg(1, Q_ASID),
            queue_reg(3, Q_BASE + 4),
            CQ_CI,
            MMU_CTRL,
            mmu_hop0(63) + 4,
            sob(255),
        ] {
            assert!(wreg32_allowed(ok as u32), "{ok:#x}");
        }
        for bad in [
            ID,
            CMD_SEQ,
            CMD_OPCODE,
            IRQ_MASK,
            CQ_PI,
            queue_reg(0, Q_CI),
            queue_reg(2, Q_STATUS),
            MMU_FAULT_VA,
            0x700,
            sob(0) + 2,
            PAGE_SIZE,
        ] {
            assert!(!wreg32_allowed(bad as u32), "{bad:#x}");
        }
    }
}
