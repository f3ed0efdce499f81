// SPDX-License-Identifier: GPL-2.0-only

//! Device virtual memory: per-file VMs mapping buffer objects at device virtual addresses.
//!
//! - `va`: the VA range map of one VM, pure and KUnit-tested (`xaccel_va`).
//! - [`Vm`] (`vm`): a device VM: bind, unbind, teardown, the backend's MMU callbacks, the
//!   busy fences, and [`Vm::resolve`] for backends without an MMU.
//! - `release`: freeing unmapped buffer objects once all the VM's busy fences signalled.
//! - `dma`: the DMA addresses of a buffer object range, for MMU backends.
//! - `table`: the VMs of one open file, by id.
//! - `ioctl`: `VM_CREATE`, `VM_DESTROY`, `VM_BIND`, `VM_UNBIND`.
//!
//! # Lock order
//!
//! The file's VM table lock and a VM's state lock are never held together: ioctls look a VM up
//! (taking a reference) and drop the table lock before locking the VM. Under a VM's lock the
//! core calls the backend's MMU callbacks, which may take the backend's own locks. The buffer
//! objects' reservation locks (taken to get their pages for DMA) are taken before the VM's lock,
//! never under it: a dma-buf's reservation lock, then a VM's state lock, then the backend's
//! locks. `VM_BIND` of an import mapped peer-to-peer and the import's invalidation (revocation)
//! hold the reservation lock while they lock VMs; unbind and teardown take it only after they
//! released the VM's lock (`Bo::forget_peer_vm`).
//!
//! `Documentation/memory.rst` ("Device virtual memory") describes the rules as userspace sees
//! them.

mod dma;
pub(crate) mod ioctl;
mod release;
mod table;
mod va;
#[allow(clippy::module_inception)]
mod vm;

pub(crate) use release::wait_for_releases;
pub(crate) use table::VmTable;
pub use vm::{ResolvedPiece, Vm};
