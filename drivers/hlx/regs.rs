// SPDX-License-Identifier: GPL-2.0-only

//! HLX register offsets, commands and constants (Documentation/hlx.rst, "Registers").

/// BAR0 (QEMU's ivshmem registers): the doorbell, `peer << 16 | vector`.
pub(crate) const BAR0_DOORBELL: usize = 0x0c;

/// Identification and status (register page, BAR2 offset 0).
pub(crate) const HLX_ID: usize = 0x000;
pub(crate) const HLX_VERSION: usize = 0x004;
pub(crate) const HBM_SIZE: usize = 0x008;
pub(crate) const NUM_QUEUES: usize = 0x010;
pub(crate) const DEV_STATUS: usize = 0x020;
pub(crate) const PEER_ID: usize = 0x024;
pub(crate) const HARD_RESET_COUNT: usize = 0x02c;

/// `"HLX1"`.
pub(crate) const HLX_ID_VALUE: u32 = 0x3158_4c48;
/// The major version this driver speaks.
pub(crate) const HLX_VERSION_MAJOR: u32 = 1;

/// Command mailbox.
pub(crate) const CMD_OPCODE: usize = 0x040;
pub(crate) const CMD_ARG0: usize = 0x044;
pub(crate) const CMD_ARG1: usize = 0x048;
pub(crate) const CMD_SEQ: usize = 0x04c;
pub(crate) const CMD_DONE_SEQ: usize = 0x050;
pub(crate) const CMD_STATUS: usize = 0x054;

/// Commands.
pub(crate) const CMD_HARD_RESET: u32 = 1;
pub(crate) const CMD_SOFT_RESET: u32 = 2;
pub(crate) const CMD_QUEUE_ENABLE: u32 = 3;
pub(crate) const CMD_CQ_INIT: u32 = 5;
pub(crate) const CMD_EQ_INIT: u32 = 6;
pub(crate) const CMD_MMU_INVALIDATE: u32 = 7;
pub(crate) const CMD_SET_IRQ_MASK: u32 = 8;
pub(crate) const CMD_WEDGE: u32 = 9;

/// `CMD_STATUS` values.
pub(crate) const STATUS_OK: u32 = 0;
pub(crate) const STATUS_HUNG: u32 = 2;

/// Interrupts: bit 0 CQ, bit 1 EQ in `IRQ_MASK` (1 = masked).
pub(crate) const IRQ_MASK_ALL: u32 = 3;
pub(crate) const IRQ_COUNT_CQ: usize = 0x068;
pub(crate) const IRQ_COUNT_EQ: usize = 0x06c;

/// Completion queue.
pub(crate) const CQ_BASE: usize = 0x080;
pub(crate) const CQ_ENTRIES: usize = 0x088;
pub(crate) const CQ_CI: usize = 0x08c;
pub(crate) const CQ_PI: usize = 0x090;
/// Event queue.
pub(crate) const EQ_BASE: usize = 0x0a0;
pub(crate) const EQ_ENTRIES: usize = 0x0a8;
pub(crate) const EQ_CI: usize = 0x0ac;
pub(crate) const EQ_PI: usize = 0x0b0;
pub(crate) const EQ_DROPPED: usize = 0x0b8;

/// MMU.
pub(crate) const MMU_CTRL: usize = 0x0c0;
pub(crate) const MMU_FAULT_COUNT: usize = 0x0c4;
/// `MMU_HOP0[asid]`: the hop-0 table of an ASID (bit 0 VALID).
pub(crate) const fn mmu_hop0(asid: u32) -> usize {
    0x400 + 8 * asid as usize
}

/// Queue `q`'s register block.
pub(crate) const fn queue_reg(q: usize, reg: usize) -> usize {
    0x100 + 0x40 * q + reg
}
pub(crate) const Q_BASE: usize = 0x00;
pub(crate) const Q_SIZE: usize = 0x08;
pub(crate) const Q_PI: usize = 0x0c;
pub(crate) const Q_ASID: usize = 0x10;
pub(crate) const Q_CI: usize = 0x14;
pub(crate) const Q_STATUS: usize = 0x18;
pub(crate) const Q_SOFT_RESET_COUNT: usize = 0x2c;

/// Peer-to-peer: BAR2's PCI bus address (u64, bits 12-47) with bit 0 VALID, written at
/// bring-up so that peer devices route their DMA to this HBM.
pub(crate) const BAR2_BUS_ADDR: usize = 0x0e0;
pub(crate) const BAR2_BUS_VALID: u64 = 1;

/// Physical address bit 63: host memory (the rest is a bus address).
pub(crate) const PA_HOST: u64 = 1 << 63;

/// Doorbell vector of the command mailbox; queue `q` rings vector `q`.
pub(crate) const VECTOR_CONTROL: u32 = 7;
/// MSI-X vectors: completion queue and event queue.
pub(crate) const MSIX_CQ: u32 = 0;
pub(crate) const MSIX_EQ: u32 = 1;
/// MSI-X vectors the function has.
pub(crate) const MSIX_COUNT: u32 = 8;

/// Sizes of a CQ and an EQ entry.
pub(crate) const CQ_ENTRY_BYTES: usize = 16;
pub(crate) const EQ_ENTRY_BYTES: usize = 32;

/// EQ event types.
pub(crate) const EVENT_MMU_FAULT: u16 = 1;
pub(crate) const EVENT_ACCESS_ERROR: u16 = 2;
pub(crate) const EVENT_ILLEGAL_PACKET: u16 = 3;
