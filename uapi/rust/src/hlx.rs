// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
//! The hlx vendor uAPI: a mirror of `uapi/drm/hlx_accel.h`, the query types of
//! `DRM_IOCTL_XACCEL_VENDOR_QUERY` on an hlx device.
//!
//! Shared by the hlx backend (with `#[path]`) and userspace, so it uses nothing but `core`.

#![allow(non_camel_case_types)]

/// One [`hlx_hw_info`].
pub const HLX_QUERY_HW_INFO: u32 = 0;
/// One [`hlx_counters`].
pub const HLX_QUERY_COUNTERS: u32 = 1;
/// One [`hlx_queue_info`] per queue.
pub const HLX_QUERY_QUEUES: u32 = 2;

/// HW IP information and HBM usage.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hlx_hw_info {
    /// `HLX_ID`.
    pub id: u32,
    /// `HLX_VERSION`.
    pub version: u32,
    /// HBM in bytes.
    pub hbm_size: u64,
    /// First HBM byte of the HBM region (the driver's page tables are below it).
    pub hbm_user_base: u64,
    /// HBM used by page tables.
    pub page_table_bytes: u64,
    /// Queues (engines).
    pub num_queues: u32,
    /// Address spaces in use.
    pub asids_used: u32,
    /// `HARD_RESET_COUNT`.
    pub device_hard_resets: u32,
    /// Zero.
    pub pad: u32,
}

/// What the driver counted.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hlx_counters {
    /// Jobs completed without error.
    pub jobs_done: u64,
    /// Jobs completed with an error.
    pub jobs_failed: u64,
    /// MMU_FAULT events.
    pub mmu_faults: u64,
    /// ACCESS_ERROR events.
    pub access_errors: u64,
    /// ILLEGAL_PACKET events.
    pub illegal_packets: u64,
    /// Other events.
    pub other_events: u64,
    /// Queue soft resets.
    pub soft_resets: u64,
    /// Device hard resets.
    pub hard_resets: u64,
    /// Address of the last fault.
    pub last_fault_addr: u64,
    /// CQ interrupts.
    pub irq_cq: u32,
    /// EQ interrupts.
    pub irq_eq: u32,
}

/// One queue's state.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hlx_queue_info {
    /// Queue index.
    pub queue: u32,
    /// `Q_STATUS`.
    pub status: u32,
    /// `Q_CI`.
    pub ci: u32,
    /// `Q_SOFT_RESET_COUNT`.
    pub soft_resets: u32,
}
