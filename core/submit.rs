// SPDX-License-Identifier: GPL-2.0-only

//! `DRM_IOCTL_XACCEL_SUBMIT`: one job on a context.
//!
//! Everything is checked and allocated before anything is queued, so a failed SUBMIT changes
//! nothing (the syncobjs, the context, the argument struct):
//!
//! 1. the argument's flags, padding, reserved fields, counts and timeout;
//! 2. the context, the VM (if any), the command buffer's buffer object and its bounds;
//! 3. the command buffer is copied out of the object (from its pages, no mapping; small ones
//!    to the stack) and the BO list is read (its objects looked up, not locked yet);
//! 4. the backend validates the [`Submission`] (command buffer, BO list, VA resolver) and
//!    returns the kernel-owned copy the engine will run;
//! 5. the in-syncobjs' fences (binary, or timeline points) become the job's dependencies;
//! 6. the out-syncobj and, for a timeline point, its chain node are looked up and allocated;
//! 7. BO-list objects in a PCI BAR are pinned there (`EAGAIN` if one moved since step 3, which
//!    read the device addresses the backend validated), and the job's memory is mapped: every
//!    BO-list object and every object a VA operand resolved to (see `job_memory.rs`);
//! 8. the BO list is locked (one fence slot reserved in each reservation) and the implicit
//!    fences of its objects join the dependencies (see `resv.rs`);
//! 9. the job is prepared (allocated) and only then pushed (`EBUSY` if the context's queue is
//!    full; also checked before step 2, so that a full queue costs no work), which cannot fail for lack of
//!    memory (the push hands it to the backend at once if it can run: see `sched::ring`); its
//!    finished fence is added to the BO list's reservations (then unlocked), becomes the VM's
//!    busy fence and is installed in the out-syncobj.

use crate::{
    backend::Access,
    device::Plugged,
    fence::ChainNode,
    file::DrmFile,
    gem::Bo,
    job_memory::JobMemory,
    resv::BoList,
    sched::JobDesc,
    submission::{BoDesc, Submission},
    syncobj::{self, Syncobj},
    uapi,
};
use core::mem::size_of;
use kernel::{
    prelude::*,
    time::Delta,
    uaccess::{UserPtr, UserSlice},
};

/// Command buffers up to this size are copied to the stack, not to a heap allocation.
const SMALL_COMMANDS: usize = 256;

/// Reads and resolves the in-syncobjs of `arg` into fences.
fn in_fences(
    file: &DrmFile,
    arg: &uapi::drm_xaccel_submit,
) -> Result<KVec<kernel::sync::aref::ARef<crate::fence::DmaFence>>> {
    let count = arg.in_syncobj_count as usize;
    let mut fences = KVec::with_capacity(count, GFP_KERNEL)?;
    if count == 0 {
        return Ok(fences);
    }
    let size = size_of::<uapi::drm_xaccel_syncobj_ref>();
    let addr = usize::try_from(arg.in_syncobjs).map_err(|_| EFAULT)?;
    let mut reader = UserSlice::new(UserPtr::from_addr(addr), count * size).reader();
    let mut bytes = KVec::from_elem(0u8, size, GFP_KERNEL)?;
    for _ in 0..count {
        reader.read_slice(&mut bytes)?;
        let handle = u32::from_ne_bytes(bytes[0..4].try_into().map_err(|_| EINVAL)?);
        let flags = u32::from_ne_bytes(bytes[4..8].try_into().map_err(|_| EINVAL)?);
        let point = u64::from_ne_bytes(bytes[8..16].try_into().map_err(|_| EINVAL)?);
        if flags != 0 {
            return Err(EINVAL);
        }
        fences.push(syncobj::find_fence(file, handle, point)?, GFP_KERNEL)?;
    }
    Ok(fences)
}

/// The SUBMIT ioctl; see the module documentation.
pub(crate) fn submit(
    plugged: &Plugged<'_>,
    file: &DrmFile,
    arg: &mut uapi::drm_xaccel_submit,
) -> Result<u32> {
    if arg.flags != 0 || arg.pad != 0 || arg.reserved != 0 {
        return Err(EINVAL);
    }
    if arg.in_syncobj_count > uapi::DRM_XACCEL_MAX_IN_SYNCOBJS {
        return Err(E2BIG);
    }
    if arg.cmd_size == 0 {
        return Err(EINVAL);
    }
    if arg.cmd_size > u64::from(uapi::DRM_XACCEL_MAX_CMD_SIZE)
        || arg.timeout_ns > uapi::DRM_XACCEL_MAX_TIMEOUT_NS
    {
        return Err(E2BIG);
    }
    let timeout = match arg.timeout_ns {
        0 => None,
        ns => Some(Delta::from_nanos(i64::try_from(ns)?)),
    };
    let entity = file.state().contexts().lock().get(arg.context_id)?;
    // Before any work: a full queue refuses the job anyway (`Entity::push` decides).
    if !entity.has_room() {
        return Err(EBUSY);
    }
    let engine = entity.engine();
    let vm = match arg.vm_id {
        0 => None,
        id => Some(file.state().vms().get(id)?),
    };

    // The command buffer, copied out of its object, and the BO list, validated by the backend.
    let bo = Bo::lookup(file, arg.cmd_handle)?;
    let size = usize::try_from(arg.cmd_size)?;
    let mut small = [0u8; SMALL_COMMANDS];
    let mut large = KVec::new();
    let commands = if size <= SMALL_COMMANDS {
        &mut small[..size]
    } else {
        large = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        &mut large[..]
    };
    bo.read(arg.cmd_offset, commands)?;
    drop(bo);
    let mut bos = BoList::read(file, arg.bos, arg.bo_count)?;
    let mut descs = KVec::with_capacity(arg.bo_count as usize, GFP_KERNEL)?;
    for (bo, write) in bos.entries() {
        descs.push(
            BoDesc {
                size: bo.size(),
                access: if write {
                    Access::ReadWrite
                } else {
                    Access::ReadOnly
                },
                placement: bo.placement(),
                region: bo.region(),
                device_addr: bo.device_addr(),
            },
            GFP_KERNEL,
        )?;
    }
    let mut submission = Submission::new(engine, commands, &descs, vm.as_deref());
    let payload = plugged.dev.exec.validate(plugged, &mut submission)?;
    let resolved = submission.into_resolved();
    drop(large);

    let mut dependencies = in_fences(file, arg)?;
    let out = match arg.out_syncobj {
        0 => None,
        handle => {
            let syncobj = Syncobj::find(file, handle)?;
            let chain = match arg.out_point {
                0 => None,
                _ => Some(ChainNode::new()?),
            };
            Some((syncobj, chain))
        }
    };
    if arg.out_syncobj == 0 && arg.out_point != 0 {
        return Err(EINVAL);
    }

    // BAR memory stays where the backend validated it from now on (`EAGAIN` if an export
    // moved it meanwhile: the device addresses checked are stale).
    for ((bo, _), desc) in bos.entries().zip(descs.iter()) {
        if desc.device_addr.is_some() && bo.pin_device_addr() != desc.device_addr {
            return Err(EAGAIN);
        }
    }

    // The job's memory: the BO list's objects, then those VA operands resolved to. Mapped
    // once every input is known good, since a first mapping pins an object's pages.
    let mut slots = KVec::with_capacity(descs.len() + resolved.len(), GFP_KERNEL)?;
    for (bo, write) in bos.entries() {
        slots.push((bo.clone(), write), GFP_KERNEL)?;
    }
    for slot in resolved {
        slots.push(slot, GFP_KERNEL)?;
    }
    let memory = JobMemory::map(slots)?;

    bos.lock()?;
    bos.implicit_fences(&mut dependencies)?;
    let job = entity.prepare(JobDesc {
        credits: 1,
        timeout,
        payload,
        memory,
        dependencies,
    })?;
    let fence = entity.push(job)?;
    bos.publish(&fence);
    drop(bos);
    if let Some(vm) = vm {
        vm.set_busy(fence.to_dma_fence());
    }
    if let Some((syncobj, chain)) = out {
        syncobj.install(chain, &fence, arg.out_point);
    }
    arg.seqno = fence.seqno();
    Ok(0)
}
