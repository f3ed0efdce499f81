// SPDX-License-Identifier: GPL-2.0-only

//! What a backend validates a command buffer against: a [`Submission`].
//!
//! SUBMIT hands [`Backend::validate`] the command buffer, the engine, a [`BoDesc`] per entry of
//! the BO list and, when the submit names a device VM, a resolver from device virtual addresses
//! to buffer object ranges ([`Submission::resolve`]). Memory is named by *slots*, the indices the
//! engine later uses with the job's [`JobMemory`]: slot `i < bos().len()` is BO-list entry `i`,
//! and every buffer object a VA range resolves to gets a slot after them (one per object, shared
//! by all the ranges in it). The core maps exactly those slots for the job, with exactly the
//! access validated here, and keeps the objects until the job is freed; so a backend that checks
//! every operand of a command buffer here, and runs only what it checked, never touches memory
//! it was not given.
//!
//! VA ranges are resolved when the job is submitted: a later `VM_UNBIND` does not change what a
//! queued job uses (the job holds the objects). Objects reached only through the VM take no part
//! in implicit synchronisation; userspace orders their users with syncobjs.
//!
//! [`Backend::validate`]: crate::Backend::validate
//! [`JobMemory`]: crate::JobMemory

use crate::{
    backend::{Access, VmId},
    gem::{Bo, Placement},
    vm::Vm,
};
use core::ptr;
use kernel::{prelude::*, sync::aref::ARef};

/// One entry of the BO list, as the backend sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoDesc {
    /// Size in bytes (a multiple of the page size).
    pub size: u64,
    /// What the job may do: the entry's `DRM_XACCEL_SUBMIT_BO_WRITE` flag.
    pub access: Access,
    /// Where the object's memory is.
    pub placement: Placement,
    /// The region the object's memory is accounted in.
    pub region: u32,
    /// The device address of the object's memory if it is one contiguous range of a
    /// [`RegionBacking::PciBar`] region: the device reaches the object's bytes at
    /// `[device_addr, device_addr + size)`. Once the job is validated the memory stays there
    /// while the object lives (SUBMIT pins it, `EAGAIN` if it moved meanwhile). `None` for
    /// other memory, including device memory that migrated to system memory.
    ///
    /// [`RegionBacking::PciBar`]: crate::backend::RegionBacking::PciBar
    pub device_addr: Option<u64>,
}

/// A byte range of one slot of the job's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemRange {
    /// The slot: a BO-list index, or a slot made by [`Submission::resolve`].
    pub slot: usize,
    /// Offset in the slot's buffer object.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The job being submitted, for [`Backend::validate`](crate::Backend::validate).
pub struct Submission<'a> {
    engine: u32,
    commands: &'a [u8],
    bos: &'a [BoDesc],
    vm: Option<&'a Vm>,
    /// The objects VA ranges resolved to, slot `bos.len() + i`, and whether the job writes them.
    resolved: KVec<(ARef<Bo>, bool)>,
}

impl<'a> Submission<'a> {
    /// A submission of `commands` on `engine` with the BO list `bos` and, optionally, a VM.
    pub(crate) fn new(
        engine: u32,
        commands: &'a [u8],
        bos: &'a [BoDesc],
        vm: Option<&'a Vm>,
    ) -> Self {
        Self {
            engine,
            commands,
            bos,
            vm,
            resolved: KVec::new(),
        }
    }

    /// The engine the job is for.
    pub fn engine(&self) -> u32 {
        self.engine
    }

    /// The command buffer: a kernel copy, stable while validating.
    pub fn commands(&self) -> &'a [u8] {
        self.commands
    }

    /// The BO list: entry `i` is slot `i`.
    pub fn bos(&self) -> &'a [BoDesc] {
        self.bos
    }

    /// The VM the submit names, as its backend knows it from the MMU callbacks.
    pub fn vm_id(&self) -> Option<VmId> {
        self.vm.map(|vm| vm.id())
    }

    /// Whether the submit names a VM, so that VA operands can be resolved.
    pub fn has_vm(&self) -> bool {
        self.vm.is_some()
    }

    /// Resolves `[va, va + len)` of the submit's VM for `access`, into slot ranges in address
    /// order, adding a slot for each buffer object not resolved before. An empty range resolves
    /// to nothing.
    ///
    /// Errors: `EINVAL` if the submit names no VM, `EFAULT` if any byte of the range is unmapped
    /// (or the range overflows), `EACCES` if `access` is [`Access::ReadWrite`] and any piece is
    /// mapped read-only, `ENOMEM`.
    pub fn resolve(&mut self, va: u64, len: u64, access: Access) -> Result<KVec<MemRange>> {
        let vm = self.vm.ok_or(EINVAL)?;
        if len == 0 {
            return Ok(KVec::new());
        }
        let write = access.writable();
        let pieces = vm.resolve(va, len, write)?;
        let mut ranges = KVec::with_capacity(pieces.len(), GFP_KERNEL)?;
        for piece in pieces {
            let known = self
                .resolved
                .iter()
                .position(|(bo, _)| ptr::eq(&**bo, &*piece.bo));
            let index = match known {
                Some(i) => {
                    self.resolved[i].1 |= write;
                    i
                }
                None => {
                    self.resolved.push((piece.bo, write), GFP_KERNEL)?;
                    self.resolved.len() - 1
                }
            };
            ranges.push(
                MemRange {
                    slot: self.bos.len() + index,
                    offset: piece.offset,
                    len: piece.len,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(ranges)
    }

    /// The objects VA ranges resolved to, in slot order after the BO list, with their access.
    pub(crate) fn into_resolved(self) -> KVec<(ARef<Bo>, bool)> {
        self.resolved
    }
}
