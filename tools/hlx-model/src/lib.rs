// SPDX-License-Identifier: GPL-2.0-only
//! `hlx_model`: the pre-silicon model of HLX, xaccel's fictional habanalabs-class ASIC.
//!
//! The hardware manual is `Documentation/hlx.rst`; this crate implements it. The
//! binary (`hlx-model`, see `main.rs` and this crate's README) serves QEMU's
//! ivshmem-doorbell protocol on a UNIX socket, so that the VM sees an ivshmem-doorbell
//! PCI function (1af4:1110) whose BAR2 is the HLX register page followed by HBM.
//!
//! One concept per module:
//!
//! | module | what |
//! | --- | --- |
//! | [`protocol`] | ivshmem server protocol (and the client side, for tests) |
//! | [`server`] | the event loop: socket, doorbell eventfds, heartbeat |
//! | [`shm`] | shared mappings (BAR2 memfd or file, guest-RAM file, peer BAR2 files); all `unsafe` lives here |
//! | [`regs`] | the register page layout |
//! | [`packets`] | packet types, encoder, decoder |
//! | [`queues`] | packet rings, CQ and EQ, their entries |
//! | [`mmu`] | page-table walks and the translation cache |
//! | [`dma`] | physical address space, guest RAM layout, peers, engine data paths |
//! | [`engines`] | packet execution, errors, wedges |
//! | [`compute`] | the VEC unit |
//! | [`interrupts`] | interrupt causes, mask, eventfds |
//! | [`device`] | the device: doorbells, commands, resets, scheduling |
//!
//! Everything but [`server`] and [`protocol`] is plain, synchronous code that tests
//! drive directly: `cargo test -p hlx-model`.

pub mod compute;
pub mod device;
pub mod dma;
pub mod engines;
pub mod interrupts;
pub mod mmu;
pub mod packets;
pub mod protocol;
pub mod queues;
pub mod regs;
pub mod server;
pub mod shm;
