// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
//! The xaccel uAPI as Rust types: a line-by-line mirror of `uapi/drm/xaccel_accel.h`.
//!
//! This file is shared verbatim by the kernel core (included with `#[path]`) and the
//! userspace crate `xaccel-uapi`, so it uses nothing but `core`. The host test
//! `tests/layout.rs` checks every size and offset against the C header.

#![allow(non_camel_case_types)]

/// `DRM_XACCEL_UAPI_MAJOR`.
pub const DRM_XACCEL_UAPI_MAJOR: u32 = 0;
/// `DRM_XACCEL_UAPI_MINOR`.
pub const DRM_XACCEL_UAPI_MINOR: u32 = 11;

/// `DRM_COMMAND_BASE` from `drm.h`.
pub const DRM_COMMAND_BASE: u32 = 0x40;
/// `DRM_IOCTL_BASE` from `drm.h`.
pub const DRM_IOCTL_BASE: u32 = b'd' as u32;

/// Ioctl number offset of QUERY.
pub const DRM_XACCEL_QUERY: u32 = 0x00;
/// Ioctl number offset of BO_CREATE.
pub const DRM_XACCEL_BO_CREATE: u32 = 0x01;
/// Ioctl number offset of BO_INFO.
pub const DRM_XACCEL_BO_INFO: u32 = 0x02;
/// Ioctl number offset of CONTEXT_CREATE.
pub const DRM_XACCEL_CONTEXT_CREATE: u32 = 0x03;
/// Ioctl number offset of CONTEXT_DESTROY.
pub const DRM_XACCEL_CONTEXT_DESTROY: u32 = 0x04;
/// Ioctl number offset of SUBMIT.
pub const DRM_XACCEL_SUBMIT: u32 = 0x05;
/// Ioctl number offset of BO_WAIT.
pub const DRM_XACCEL_BO_WAIT: u32 = 0x06;
/// Ioctl number offset of VM_CREATE.
pub const DRM_XACCEL_VM_CREATE: u32 = 0x10;
/// Ioctl number offset of VM_DESTROY.
pub const DRM_XACCEL_VM_DESTROY: u32 = 0x11;
/// Ioctl number offset of VM_BIND.
pub const DRM_XACCEL_VM_BIND: u32 = 0x12;
/// Ioctl number offset of VM_UNBIND.
pub const DRM_XACCEL_VM_UNBIND: u32 = 0x13;
/// Ioctl number offset of BO_CREATE_USERPTR.
pub const DRM_XACCEL_BO_CREATE_USERPTR: u32 = 0x14;
/// First ioctl number offset of the vendor extensions.
pub const DRM_XACCEL_VENDOR_BASE: u32 = 0x30;
/// `DRM_XACCEL_VENDOR_QUERY`: the backend's own query types.
pub const DRM_XACCEL_VENDOR_QUERY: u32 = 0x30;

/// Linux `_IOC(dir, type, nr, size)` for x86 and the other asm-generic architectures.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

/// `DRM_IOWR(DRM_COMMAND_BASE + nr, T)`.
pub const fn drm_iowr<T>(nr: u32) -> u32 {
    ioc(
        3,
        DRM_IOCTL_BASE,
        DRM_COMMAND_BASE + nr,
        core::mem::size_of::<T>(),
    )
}

/// `DRM_IOCTL_XACCEL_QUERY`.
pub const DRM_IOCTL_XACCEL_QUERY: u32 = drm_iowr::<drm_xaccel_query>(DRM_XACCEL_QUERY);
/// `DRM_IOCTL_XACCEL_BO_CREATE`.
pub const DRM_IOCTL_XACCEL_BO_CREATE: u32 = drm_iowr::<drm_xaccel_bo_create>(DRM_XACCEL_BO_CREATE);
/// `DRM_IOCTL_XACCEL_BO_INFO`.
pub const DRM_IOCTL_XACCEL_BO_INFO: u32 = drm_iowr::<drm_xaccel_bo_info>(DRM_XACCEL_BO_INFO);
/// `DRM_IOCTL_XACCEL_CONTEXT_CREATE`.
pub const DRM_IOCTL_XACCEL_CONTEXT_CREATE: u32 =
    drm_iowr::<drm_xaccel_context_create>(DRM_XACCEL_CONTEXT_CREATE);
/// `DRM_IOCTL_XACCEL_CONTEXT_DESTROY`.
pub const DRM_IOCTL_XACCEL_CONTEXT_DESTROY: u32 =
    drm_iowr::<drm_xaccel_context_destroy>(DRM_XACCEL_CONTEXT_DESTROY);
/// `DRM_IOCTL_XACCEL_SUBMIT`.
pub const DRM_IOCTL_XACCEL_SUBMIT: u32 = drm_iowr::<drm_xaccel_submit>(DRM_XACCEL_SUBMIT);
/// `DRM_IOCTL_XACCEL_BO_WAIT`.
pub const DRM_IOCTL_XACCEL_BO_WAIT: u32 = drm_iowr::<drm_xaccel_bo_wait>(DRM_XACCEL_BO_WAIT);
/// `DRM_IOCTL_XACCEL_VM_CREATE`.
pub const DRM_IOCTL_XACCEL_VM_CREATE: u32 = drm_iowr::<drm_xaccel_vm_create>(DRM_XACCEL_VM_CREATE);
/// `DRM_IOCTL_XACCEL_VM_DESTROY`.
pub const DRM_IOCTL_XACCEL_VM_DESTROY: u32 =
    drm_iowr::<drm_xaccel_vm_destroy>(DRM_XACCEL_VM_DESTROY);
/// `DRM_IOCTL_XACCEL_VM_BIND`.
pub const DRM_IOCTL_XACCEL_VM_BIND: u32 = drm_iowr::<drm_xaccel_vm_bind>(DRM_XACCEL_VM_BIND);
/// `DRM_IOCTL_XACCEL_VM_UNBIND`.
pub const DRM_IOCTL_XACCEL_VM_UNBIND: u32 = drm_iowr::<drm_xaccel_vm_unbind>(DRM_XACCEL_VM_UNBIND);
/// `DRM_IOCTL_XACCEL_BO_CREATE_USERPTR`.
pub const DRM_IOCTL_XACCEL_BO_CREATE_USERPTR: u32 =
    drm_iowr::<drm_xaccel_bo_create_userptr>(DRM_XACCEL_BO_CREATE_USERPTR);
/// `DRM_IOCTL_XACCEL_VENDOR_QUERY`.
pub const DRM_IOCTL_XACCEL_VENDOR_QUERY: u32 =
    drm_iowr::<drm_xaccel_query>(DRM_XACCEL_VENDOR_QUERY);

/// `DRM_XACCEL_QUERY_DEVICE`: one [`drm_xaccel_device_info`].
pub const DRM_XACCEL_QUERY_DEVICE: u32 = 0;
/// `DRM_XACCEL_QUERY_ENGINES`: one [`drm_xaccel_engine_info`] per engine.
pub const DRM_XACCEL_QUERY_ENGINES: u32 = 1;
/// `DRM_XACCEL_QUERY_REGIONS`: one [`drm_xaccel_region_info`] per region.
pub const DRM_XACCEL_QUERY_REGIONS: u32 = 2;
/// `DRM_XACCEL_QUERY_NOPS`: one [`drm_xaccel_nop_info`] per engine (uAPI 0.11).
pub const DRM_XACCEL_QUERY_NOPS: u32 = 3;

/// Largest item size QUERY accepts.
pub const DRM_XACCEL_QUERY_MAX_ITEM_SIZE: u32 = 4096;

/// `struct drm_xaccel_query`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_query {
    /// One of the `DRM_XACCEL_QUERY_*` types (`type` in C).
    pub type_: u32,
    /// Must be zero.
    pub flags: u32,
    /// In: size of one item in `items`. Out: the kernel's item size.
    pub item_size: u32,
    /// In: room for items in `items`. Out: items available.
    pub count: u32,
    /// User pointer to `count` items of `item_size` bytes, or 0.
    pub items: u64,
    /// Must be zero.
    pub reserved: u64,
}

/// `DRM_XACCEL_CAP_MMU`.
pub const DRM_XACCEL_CAP_MMU: u64 = 1 << 0;
/// `DRM_XACCEL_CAP_P2P`.
pub const DRM_XACCEL_CAP_P2P: u64 = 1 << 1;

/// `struct drm_xaccel_device_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_device_info {
    /// Backend name, NUL-terminated.
    pub backend: [u8; 16],
    /// `DRM_XACCEL_UAPI_MAJOR` of the running kernel.
    pub uapi_major: u32,
    /// `DRM_XACCEL_UAPI_MINOR` of the running kernel.
    pub uapi_minor: u32,
    /// Number of engines.
    pub engine_count: u32,
    /// Number of memory regions.
    pub region_count: u32,
    /// `DRM_XACCEL_CAP_*` bits.
    pub capabilities: u64,
    /// First usable device virtual address.
    pub va_start: u64,
    /// Size of the device virtual address space, 0 if none.
    pub va_size: u64,
    /// Engine and device resets since the device appeared.
    pub reset_count: u64,
}

/// `DRM_XACCEL_ENGINE_COMPUTE`.
pub const DRM_XACCEL_ENGINE_COMPUTE: u32 = 0;
/// `DRM_XACCEL_ENGINE_COPY`.
pub const DRM_XACCEL_ENGINE_COPY: u32 = 1;
/// `DRM_XACCEL_ENGINE_DMA`.
pub const DRM_XACCEL_ENGINE_DMA: u32 = 2;

/// `struct drm_xaccel_engine_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_engine_info {
    /// Name, NUL-terminated.
    pub name: [u8; 16],
    /// Index, as used by other ioctls.
    pub id: u32,
    /// One of the `DRM_XACCEL_ENGINE_*` classes.
    pub engine_class: u32,
    /// How much work the engine's ring holds at once.
    pub ring_credits: u32,
    /// Zero.
    pub pad: u32,
}

/// `DRM_XACCEL_NOP_MAX`: largest command buffer of [`drm_xaccel_nop_info::cmd`], in bytes.
pub const DRM_XACCEL_NOP_MAX: u32 = 56;

/// `struct drm_xaccel_nop_info`: the command buffer of a job that does nothing on one engine.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct drm_xaccel_nop_info {
    /// Engine id.
    pub engine: u32,
    /// Bytes of `cmd`, at most `DRM_XACCEL_NOP_MAX`; 0 if the engine has no NOP.
    pub size: u32,
    /// The command buffer; bytes from `size` on are zero.
    pub cmd: [u8; DRM_XACCEL_NOP_MAX as usize],
}

impl Default for drm_xaccel_nop_info {
    fn default() -> Self {
        Self {
            engine: 0,
            size: 0,
            cmd: [0; DRM_XACCEL_NOP_MAX as usize],
        }
    }
}

/// `DRM_XACCEL_REGION_SYSTEM`.
pub const DRM_XACCEL_REGION_SYSTEM: u32 = 0;
/// `DRM_XACCEL_REGION_DEVICE`.
pub const DRM_XACCEL_REGION_DEVICE: u32 = 1;
/// `DRM_XACCEL_REGION_CPU_VISIBLE`.
pub const DRM_XACCEL_REGION_CPU_VISIBLE: u64 = 1 << 0;
/// `DRM_XACCEL_REGION_P2P`.
pub const DRM_XACCEL_REGION_P2P: u64 = 1 << 1;

/// `struct drm_xaccel_region_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_region_info {
    /// Name, NUL-terminated.
    pub name: [u8; 16],
    /// Index, as used by other ioctls.
    pub id: u32,
    /// One of the `DRM_XACCEL_REGION_*` kinds.
    pub kind: u32,
    /// `DRM_XACCEL_REGION_*` flag bits.
    pub flags: u64,
    /// Size in bytes.
    pub size: u64,
    /// Bytes allocated now.
    pub used: u64,
}

/// `struct drm_xaccel_bo_create`: allocates a buffer object, returns a GEM handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_bo_create {
    /// In: size in bytes, nonzero; rounded up to a multiple of the page size.
    pub size: u64,
    /// In: id of the region to allocate in.
    pub region: u32,
    /// In: `DRM_XACCEL_BO_*` flags; none are defined yet, must be 0.
    pub flags: u32,
    /// In: 0, or a power of two from the page size to the rounded size.
    pub alignment: u64,
    /// Out: the GEM handle.
    pub handle: u32,
    /// Must be zero.
    pub pad: u32,
    /// Must be zero.
    pub reserved: [u64; 2],
}

/// `DRM_XACCEL_BO_READ_ONLY`: the device only reads the object; CPU mappings are read-only.
pub const DRM_XACCEL_BO_READ_ONLY: u32 = 1 << 0;
/// `DRM_XACCEL_BO_USERPTR`: the object is user memory (BO_INFO `flags`).
pub const DRM_XACCEL_BO_USERPTR: u32 = 1 << 1;
/// `DRM_XACCEL_BO_DEVICE_ADDR`: BO_INFO's `device_addr` is valid (device memory behind a BAR).
pub const DRM_XACCEL_BO_DEVICE_ADDR: u32 = 1 << 2;

/// `struct drm_xaccel_bo_create_userptr`: a buffer object of the caller's pinned memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_bo_create_userptr {
    /// In: first address of the range, page-aligned.
    pub userptr: u64,
    /// In: size in bytes, a nonzero multiple of the page size.
    pub size: u64,
    /// In: 0 or `DRM_XACCEL_BO_READ_ONLY`.
    pub flags: u32,
    /// Out: the GEM handle.
    pub handle: u32,
    /// Must be zero.
    pub reserved: [u64; 2],
}

/// `struct drm_xaccel_bo_info`: describes the buffer object behind a handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_bo_info {
    /// In: a GEM handle of this file.
    pub handle: u32,
    /// In: must be zero.
    pub pad: u32,
    /// Out: size in bytes, a multiple of the page size.
    pub size: u64,
    /// Out: id of the region the object was created in.
    pub region: u32,
    /// Out: `DRM_XACCEL_BO_*` flags: `USERPTR` for user memory, `READ_ONLY`, `DEVICE_ADDR`.
    pub flags: u32,
    /// Out: the offset to pass to `mmap()` on the same file.
    pub mmap_offset: u64,
    /// Out: with `DRM_XACCEL_BO_DEVICE_ADDR`, the device address of the object's first byte.
    /// Ignored on input.
    pub device_addr: u64,
    /// In: must be zero. Out: zero.
    pub reserved: u64,
}

/// `struct drm_xaccel_vm_create`: creates a VM in the calling file.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_vm_create {
    /// In: must be zero.
    pub flags: u32,
    /// Out: the VM's id in this file, never 0.
    pub vm_id: u32,
    /// Must be zero.
    pub reserved: [u64; 2],
}

/// `struct drm_xaccel_vm_destroy`: destroys a VM and its mappings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_vm_destroy {
    /// In: the VM.
    pub vm_id: u32,
    /// Must be zero.
    pub pad: u32,
    /// Must be zero.
    pub reserved: u64,
}

/// `DRM_XACCEL_VM_BIND_READ_ONLY`: jobs may only read through the mapping.
pub const DRM_XACCEL_VM_BIND_READ_ONLY: u32 = 1 << 0;
/// `DRM_XACCEL_VM_BIND_READ_WRITE`: jobs may read and write through the mapping.
pub const DRM_XACCEL_VM_BIND_READ_WRITE: u32 = 1 << 1;

/// `struct drm_xaccel_vm_bind`: maps a page range of a buffer object into a VM.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_vm_bind {
    /// In: the VM.
    pub vm_id: u32,
    /// In: GEM handle of the buffer object.
    pub handle: u32,
    /// In: first byte of the object to map, page-aligned.
    pub bo_offset: u64,
    /// In: bytes to map, a nonzero multiple of the page size.
    pub size: u64,
    /// In: device virtual address of the first byte, page-aligned.
    pub va: u64,
    /// In: `DRM_XACCEL_VM_BIND_READ_ONLY` or `DRM_XACCEL_VM_BIND_READ_WRITE`.
    pub flags: u32,
    /// Must be zero.
    pub pad: u32,
    /// Must be zero.
    pub reserved: [u64; 2],
}

/// `struct drm_xaccel_vm_unbind`: unmaps a VA range of a VM.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_vm_unbind {
    /// In: the VM.
    pub vm_id: u32,
    /// In: must be zero.
    pub flags: u32,
    /// In: first address to unmap, page-aligned.
    pub va: u64,
    /// In: bytes to unmap, a nonzero multiple of the page size.
    pub size: u64,
    /// Must be zero.
    pub reserved: [u64; 2],
}

/// `DRM_XACCEL_PRIORITY_LOW`.
pub const DRM_XACCEL_PRIORITY_LOW: u32 = 0;
/// `DRM_XACCEL_PRIORITY_NORMAL`.
pub const DRM_XACCEL_PRIORITY_NORMAL: u32 = 1;
/// `DRM_XACCEL_PRIORITY_HIGH`.
pub const DRM_XACCEL_PRIORITY_HIGH: u32 = 2;
/// `DRM_XACCEL_PRIORITY_REALTIME`: needs `CAP_SYS_NICE`.
pub const DRM_XACCEL_PRIORITY_REALTIME: u32 = 3;
/// `DRM_XACCEL_MAX_CONTEXTS`: most contexts per open file.
pub const DRM_XACCEL_MAX_CONTEXTS: u32 = 256;

/// `struct drm_xaccel_context_create`: creates a context on an engine.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_context_create {
    /// In: id of the engine.
    pub engine: u32,
    /// In: `DRM_XACCEL_PRIORITY_*`.
    pub priority: u32,
    /// In: must be 0.
    pub flags: u32,
    /// Out: the context's id in this file, nonzero.
    pub context_id: u32,
    /// Must be zero.
    pub reserved: u64,
}

/// `struct drm_xaccel_context_destroy`: destroys a context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_context_destroy {
    /// In: a context of this file.
    pub context_id: u32,
    /// Must be zero.
    pub pad: u32,
}

/// `DRM_XACCEL_MAX_IN_SYNCOBJS`: most in-syncobjs per SUBMIT.
pub const DRM_XACCEL_MAX_IN_SYNCOBJS: u32 = 64;
/// `DRM_XACCEL_MAX_SUBMIT_BOS`: most buffer objects per SUBMIT.
pub const DRM_XACCEL_MAX_SUBMIT_BOS: u32 = 256;
/// `DRM_XACCEL_SUBMIT_BO_WRITE`: the job writes the buffer object.
pub const DRM_XACCEL_SUBMIT_BO_WRITE: u32 = 1 << 0;
/// `DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT`: no implicit synchronisation on it.
pub const DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT: u32 = 1 << 1;
/// `DRM_XACCEL_MAX_CMD_SIZE`: largest command buffer in bytes.
pub const DRM_XACCEL_MAX_CMD_SIZE: u32 = 1 << 20;
/// `DRM_XACCEL_MAX_TIMEOUT_NS`: longest per-job timeout.
pub const DRM_XACCEL_MAX_TIMEOUT_NS: u64 = 60_000_000_000;
/// `DRM_XACCEL_MAX_QUEUED_JOBS`: most jobs a context holds that have not started.
pub const DRM_XACCEL_MAX_QUEUED_JOBS: u32 = 1024;

/// `struct drm_xaccel_syncobj_ref`: a syncobj and a point on it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_syncobj_ref {
    /// A syncobj handle of this file.
    pub handle: u32,
    /// Must be 0.
    pub flags: u32,
    /// A timeline point, or 0 for the current fence.
    pub point: u64,
}

/// `struct drm_xaccel_submit_bo`: one entry of SUBMIT's BO list.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_submit_bo {
    /// A GEM handle of this file.
    pub handle: u32,
    /// `DRM_XACCEL_SUBMIT_BO_*`.
    pub flags: u32,
}

/// `struct drm_xaccel_submit`: queues one job on a context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_submit {
    /// In: a context of this file.
    pub context_id: u32,
    /// In: must be 0.
    pub flags: u32,
    /// In: the buffer object holding the command buffer.
    pub cmd_handle: u32,
    /// In: entries at `in_syncobjs`.
    pub in_syncobj_count: u32,
    /// In: byte offset of the command buffer in its object.
    pub cmd_offset: u64,
    /// In: size of the command buffer in bytes, nonzero.
    pub cmd_size: u64,
    /// In: user pointer to `drm_xaccel_syncobj_ref[]`.
    pub in_syncobjs: u64,
    /// In: user pointer to `drm_xaccel_submit_bo[]`.
    pub bos: u64,
    /// In: entries at `bos`.
    pub bo_count: u32,
    /// In: syncobj to receive the job's fence, or 0.
    pub out_syncobj: u32,
    /// In: timeline point for `out_syncobj`, or 0.
    pub out_point: u64,
    /// In: the job's timeout in ns, or 0 for the device default.
    pub timeout_ns: u64,
    /// Out: the job's sequence number in its context, from 1.
    pub seqno: u64,
    /// In: a VM of this file whose mappings device-VA operands name, or 0 for none.
    pub vm_id: u32,
    /// Must be zero.
    pub pad: u32,
    /// Must be zero.
    pub reserved: u64,
}

/// `DRM_XACCEL_BO_WAIT_READ`: wait for the jobs writing the object.
pub const DRM_XACCEL_BO_WAIT_READ: u32 = 1 << 0;
/// `DRM_XACCEL_BO_WAIT_WRITE`: wait for every job using the object.
pub const DRM_XACCEL_BO_WAIT_WRITE: u32 = 1 << 1;

/// `struct drm_xaccel_bo_wait`: waits until a buffer object is idle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_xaccel_bo_wait {
    /// In: a GEM handle of this file.
    pub handle: u32,
    /// In: `DRM_XACCEL_BO_WAIT_READ` and/or `DRM_XACCEL_BO_WAIT_WRITE`.
    pub flags: u32,
    /// In: absolute `CLOCK_MONOTONIC` deadline in ns; 0: do not wait.
    pub timeout_ns: i64,
    /// Must be zero.
    pub pad: u64,
}
