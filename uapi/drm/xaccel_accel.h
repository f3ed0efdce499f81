/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xaccel: the common uAPI of the cross-vendor accelerator framework.
 *
 * Every xaccel device is a DRM accel node (/dev/accel/accelN). The ioctls in
 * this header are common to every backend; vendor extension ioctls live in
 * the range starting at DRM_XACCEL_VENDOR_BASE. Buffer objects are named by
 * GEM handles, per open file, and closed with DRM's DRM_IOCTL_GEM_CLOSE.
 *
 * Extensibility rules, which every ioctl follows:
 *  - structs only ever grow at the end; the kernel accepts older (shorter)
 *    structs, zero-extending them, as drm_ioctl() does;
 *  - arrays of items carry an item size, so items can grow too;
 *  - every flags field rejects unknown bits and every reserved field must be
 *    zero, with -EINVAL; a failed ioctl changes no state.
 */
#ifndef __UAPI_XACCEL_ACCEL_H__
#define __UAPI_XACCEL_ACCEL_H__

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* Version of this uAPI, reported by DRM_IOCTL_VERSION and the DEVICE query. */
#define DRM_XACCEL_UAPI_MAJOR		0
#define DRM_XACCEL_UAPI_MINOR		11

#define DRM_XACCEL_QUERY		0x00
#define DRM_XACCEL_BO_CREATE		0x01
#define DRM_XACCEL_BO_INFO		0x02
#define DRM_XACCEL_CONTEXT_CREATE	0x03
#define DRM_XACCEL_CONTEXT_DESTROY	0x04
#define DRM_XACCEL_SUBMIT		0x05
#define DRM_XACCEL_BO_WAIT		0x06
/* 0x07 - 0x0f are reserved for further scheduling ioctls. */
#define DRM_XACCEL_VM_CREATE		0x10
#define DRM_XACCEL_VM_DESTROY		0x11
#define DRM_XACCEL_VM_BIND		0x12
#define DRM_XACCEL_VM_UNBIND		0x13
#define DRM_XACCEL_BO_CREATE_USERPTR	0x14
/* 0x15 - 0x2f are reserved for further common ioctls. */
#define DRM_XACCEL_VENDOR_BASE		0x30
#define DRM_XACCEL_VENDOR_QUERY		0x30

#define DRM_IOCTL_XACCEL_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_QUERY, struct drm_xaccel_query)
#define DRM_IOCTL_XACCEL_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_BO_CREATE, struct drm_xaccel_bo_create)
#define DRM_IOCTL_XACCEL_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_BO_INFO, struct drm_xaccel_bo_info)
#define DRM_IOCTL_XACCEL_CONTEXT_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_CONTEXT_CREATE, struct drm_xaccel_context_create)
#define DRM_IOCTL_XACCEL_CONTEXT_DESTROY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_CONTEXT_DESTROY, struct drm_xaccel_context_destroy)
#define DRM_IOCTL_XACCEL_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_SUBMIT, struct drm_xaccel_submit)
#define DRM_IOCTL_XACCEL_BO_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_BO_WAIT, struct drm_xaccel_bo_wait)
#define DRM_IOCTL_XACCEL_VM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_VM_CREATE, struct drm_xaccel_vm_create)
#define DRM_IOCTL_XACCEL_VM_DESTROY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_VM_DESTROY, struct drm_xaccel_vm_destroy)
#define DRM_IOCTL_XACCEL_VM_BIND \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_VM_BIND, struct drm_xaccel_vm_bind)
#define DRM_IOCTL_XACCEL_VM_UNBIND \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_VM_UNBIND, struct drm_xaccel_vm_unbind)
#define DRM_IOCTL_XACCEL_BO_CREATE_USERPTR \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_BO_CREATE_USERPTR, struct drm_xaccel_bo_create_userptr)
/*
 * DRM_IOCTL_XACCEL_VENDOR_QUERY: the backend's own query types (its uAPI header,
 * e.g. hlx_accel.h), with &struct drm_xaccel_query validated exactly as
 * DRM_IOCTL_XACCEL_QUERY; an unknown type is -EINVAL.
 */
#define DRM_IOCTL_XACCEL_VENDOR_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_XACCEL_VENDOR_QUERY, struct drm_xaccel_query)

/**
 * enum drm_xaccel_query_type - What &drm_xaccel_query asks for.
 * @DRM_XACCEL_QUERY_DEVICE: one &drm_xaccel_device_info.
 * @DRM_XACCEL_QUERY_ENGINES: one &drm_xaccel_engine_info per engine.
 * @DRM_XACCEL_QUERY_REGIONS: one &drm_xaccel_region_info per memory region.
 * @DRM_XACCEL_QUERY_NOPS: one &drm_xaccel_nop_info per engine, in engine id
 *                         order (uAPI 0.11).
 */
enum drm_xaccel_query_type {
	DRM_XACCEL_QUERY_DEVICE = 0,
	DRM_XACCEL_QUERY_ENGINES = 1,
	DRM_XACCEL_QUERY_REGIONS = 2,
	DRM_XACCEL_QUERY_NOPS = 3,
};

/**
 * struct drm_xaccel_query - Argument of DRM_IOCTL_XACCEL_QUERY.
 *
 * Returns an array of items of one type. Call it once with @items = 0 and
 * @count = 0 to learn how many items there are and the kernel's item size,
 * then again with room for them.
 *
 * The kernel writes min(@count, available) items, each @item_size bytes
 * apart: it copies min(@item_size, kernel item size) bytes and zeroes the rest
 * of each item, so old and new userspace both work. On success it sets @count
 * to the number of items available and @item_size to the kernel's item size.
 *
 * Errors: -EINVAL for an unknown @type, nonzero @flags or @reserved, an
 * @item_size below the first published size of the item or above 4096, or
 * @items and @count not both zero or both nonzero; -EFAULT for a bad @items
 * pointer; -EOVERFLOW when @count * @item_size does not fit in 32 bits.
 */
struct drm_xaccel_query {
	/** @type: One of &enum drm_xaccel_query_type. */
	__u32 type;
	/** @flags: Must be zero. */
	__u32 flags;
	/** @item_size: In: size of one item in @items. Out: the kernel's size. */
	__u32 item_size;
	/** @count: In: room for items in @items. Out: items available. */
	__u32 count;
	/** @items: User pointer to @count items of @item_size bytes, or 0. */
	__u64 items;
	/** @reserved: Must be zero. */
	__u64 reserved;
};

/* Capabilities in &drm_xaccel_device_info.capabilities. */
/* The device has its own MMU: VM_BIND programs its page tables. */
#define DRM_XACCEL_CAP_MMU		(1ULL << 0)
/* Device memory can be exported peer-to-peer over PCIe. */
#define DRM_XACCEL_CAP_P2P		(1ULL << 1)

/**
 * struct drm_xaccel_device_info - The result of DRM_XACCEL_QUERY_DEVICE.
 */
struct drm_xaccel_device_info {
	/** @backend: Backend name, NUL-terminated (as DRM_IOCTL_VERSION). */
	char backend[16];
	/** @uapi_major: DRM_XACCEL_UAPI_MAJOR of the running kernel. */
	__u32 uapi_major;
	/** @uapi_minor: DRM_XACCEL_UAPI_MINOR of the running kernel. */
	__u32 uapi_minor;
	/** @engine_count: Number of engines (DRM_XACCEL_QUERY_ENGINES). */
	__u32 engine_count;
	/** @region_count: Number of memory regions (DRM_XACCEL_QUERY_REGIONS). */
	__u32 region_count;
	/** @capabilities: DRM_XACCEL_CAP_* bits. */
	__u64 capabilities;
	/** @va_start: First usable device virtual address. */
	__u64 va_start;
	/** @va_size: Size of the device virtual address space, 0 if none. */
	__u64 va_size;
	/** @reset_count: Engine and device resets since the device appeared. */
	__u64 reset_count;
};

/**
 * enum drm_xaccel_engine_class - Kinds of engine.
 * @DRM_XACCEL_ENGINE_COMPUTE: runs compute programs.
 * @DRM_XACCEL_ENGINE_COPY: moves and fills memory.
 * @DRM_XACCEL_ENGINE_DMA: moves memory between host and device.
 */
enum drm_xaccel_engine_class {
	DRM_XACCEL_ENGINE_COMPUTE = 0,
	DRM_XACCEL_ENGINE_COPY = 1,
	DRM_XACCEL_ENGINE_DMA = 2,
};

/**
 * struct drm_xaccel_engine_info - One item of DRM_XACCEL_QUERY_ENGINES.
 */
struct drm_xaccel_engine_info {
	/** @name: Engine name, NUL-terminated. */
	char name[16];
	/** @id: Engine index, as used when creating contexts. */
	__u32 id;
	/** @engine_class: One of &enum drm_xaccel_engine_class. */
	__u32 engine_class;
	/** @ring_credits: How much work the engine's ring holds at once. */
	__u32 ring_credits;
	/** @pad: Zero. */
	__u32 pad;
};

/* Largest command buffer of &drm_xaccel_nop_info.cmd, in bytes. */
#define DRM_XACCEL_NOP_MAX		56

/**
 * struct drm_xaccel_nop_info - One item of DRM_XACCEL_QUERY_NOPS (uAPI 0.11).
 *
 * The command buffer of a job that does nothing on one engine, in the
 * engine's own command format, declared by the backend: copied into a
 * buffer object and given to DRM_IOCTL_XACCEL_SUBMIT (@cmd_size = @size), it
 * is validated and run like any other job (with any BO list, with or without
 * a VM) and completes without error, writing no memory. It lets generic
 * userspace (the conformance suite, xaccel-conformance) run jobs on any
 * backend without knowing its command format.
 */
struct drm_xaccel_nop_info {
	/** @engine: Engine id (DRM_XACCEL_QUERY_ENGINES). */
	__u32 engine;
	/**
	 * @size: Bytes of @cmd, at most DRM_XACCEL_NOP_MAX; 0 if the engine
	 * has no NOP (then generic userspace cannot run jobs on it).
	 */
	__u32 size;
	/** @cmd: The command buffer; bytes from @size on are zero. */
	__u8 cmd[DRM_XACCEL_NOP_MAX];
};

/**
 * enum drm_xaccel_region_kind - Where a memory region lives.
 * @DRM_XACCEL_REGION_SYSTEM: host RAM.
 * @DRM_XACCEL_REGION_DEVICE: device-local memory (HBM, VRAM).
 */
enum drm_xaccel_region_kind {
	DRM_XACCEL_REGION_SYSTEM = 0,
	DRM_XACCEL_REGION_DEVICE = 1,
};

/* Flags in &drm_xaccel_region_info.flags. */
/* The CPU can map the region. */
#define DRM_XACCEL_REGION_CPU_VISIBLE	(1ULL << 0)
/* The region can be the target of PCI peer-to-peer transfers. */
#define DRM_XACCEL_REGION_P2P		(1ULL << 1)

/**
 * struct drm_xaccel_region_info - One item of DRM_XACCEL_QUERY_REGIONS.
 */
struct drm_xaccel_region_info {
	/** @name: Region name, NUL-terminated. */
	char name[16];
	/** @id: Region index, as used when creating buffer objects. */
	__u32 id;
	/** @kind: One of &enum drm_xaccel_region_kind. */
	__u32 kind;
	/** @flags: DRM_XACCEL_REGION_* bits. */
	__u64 flags;
	/** @size: Size in bytes; for system memory, the limit on allocations. */
	__u64 size;
	/**
	 * @used: Bytes of the region's live buffer objects, at most @size. A
	 * buffer object counts with its whole size from creation until it is
	 * freed, whether or not its pages have been allocated yet.
	 */
	__u64 used;
};

/**
 * struct drm_xaccel_bo_create - Argument of DRM_IOCTL_XACCEL_BO_CREATE.
 *
 * Allocates a buffer object in a memory region of the device and returns a
 * GEM handle to it, valid in this open file only. Close it with
 * DRM_IOCTL_GEM_CLOSE; the object is freed when its last handle and its last
 * CPU mapping are gone.
 *
 * Memory of a system-memory region (DRM_XACCEL_REGION_SYSTEM) is allocated
 * when the object is first mapped, and reads as zero until written. Memory
 * of a region of kind DRM_XACCEL_REGION_DEVICE is allocated, zeroed, at
 * creation, from the region's allocator in blocks aligned to @alignment; the
 * size is rounded up to a multiple of @alignment there. Such objects can be
 * mapped if the region is CPU-visible (-ENODEV from mmap() otherwise), bound
 * in VMs and exported as dma-bufs. In a region behind a PCI BAR an object is
 * one contiguous range with a device address (BO_INFO), mapped
 * write-combined.
 *
 * The whole (rounded) size counts against the region's size from creation
 * on (&drm_xaccel_region_info.used), and in the fdinfo of every file holding
 * a handle to the object (drm-total-<region name>).
 *
 * Errors: -EINVAL for nonzero @flags, @pad or @reserved, an unknown @region,
 * a zero @size, or an @alignment that is not 0 or a power of two from the
 * page size to the rounded size; -E2BIG for a size beyond the region's size
 * (including sizes that overflow when rounded up); -ENOSPC when the region's
 * live buffer objects leave less than the size, or, in device memory, no free
 * blocks of the alignment add up to it (fragmentation); -ENOMEM when kernel memory runs out. On error nothing is
 * created and the struct is left as it was.
 */
struct drm_xaccel_bo_create {
	/**
	 * @size: In: size in bytes, nonzero; rounded up to a multiple of the
	 * page size. BO_INFO returns the rounded size.
	 */
	__u64 size;
	/** @region: In: id of the region to allocate in (DRM_XACCEL_QUERY_REGIONS). */
	__u32 region;
	/** @flags: In: DRM_XACCEL_BO_* flags. None are defined yet: must be 0. */
	__u32 flags;
	/**
	 * @alignment: In: 0 (page alignment), or a power of two from the page
	 * size to the rounded size: the alignment of the object's placement
	 * and of its device addresses.
	 */
	__u64 alignment;
	/** @handle: Out: the GEM handle. Ignored on input. */
	__u32 handle;
	/** @pad: Must be zero. */
	__u32 pad;
	/** @reserved: Must be zero. */
	__u64 reserved[2];
};

/* Flags in &drm_xaccel_bo_info.flags, and (READ_ONLY) in &drm_xaccel_bo_create_userptr.flags. */
/* The device only reads the object; its CPU mappings are read-only. */
#define DRM_XACCEL_BO_READ_ONLY		(1U << 0)
/* The object is user memory (DRM_IOCTL_XACCEL_BO_CREATE_USERPTR). */
#define DRM_XACCEL_BO_USERPTR		(1U << 1)
/*
 * BO_INFO @flags, out: the object is in device memory behind a PCI BAR and
 * &drm_xaccel_bo_info.device_addr holds its device address.
 */
#define DRM_XACCEL_BO_DEVICE_ADDR	(1U << 2)

/**
 * struct drm_xaccel_bo_create_userptr - Argument of
 * DRM_IOCTL_XACCEL_BO_CREATE_USERPTR.
 *
 * Makes a buffer object of a page-aligned range of the caller's memory and
 * returns a GEM handle to it, valid in this open file only. The pages are
 * pinned (FOLL_LONGTERM) until the object is freed, so munmap() of the range
 * afterwards is safe: the object keeps the pages, and the data the process
 * wrote. The CPU sees the same memory through the range and through mmap()
 * of the object (BO_INFO's offset); the object can be bound in VMs, listed in
 * SUBMIT and (unless read-only) exported as a dma-buf. Unless
 * DRM_XACCEL_BO_READ_ONLY is set,
 * the device may write the memory: every page of the range must then be
 * writable and anonymous (not file-backed: the file's pages could be written
 * back or truncated under the pin). A read-only object takes any readable
 * memory; its VM mappings must be read-only and its CPU mappings are, SUBMIT
 * refuses it as a write target (-EACCES), the kernel maps it read-only for
 * the backend's engines, its pages are pinned without FOLL_WRITE and never
 * marked dirty, and it is never exported (a dma-buf carries no access mode:
 * PRIME_HANDLE_TO_FD gives -EACCES).
 * The size counts against the device's first system region
 * (&drm_xaccel_region_info.used) and in fdinfo. BO_INFO reports that region
 * and DRM_XACCEL_BO_USERPTR in @flags (with DRM_XACCEL_BO_READ_ONLY).
 *
 * Errors: -EINVAL for unknown @flags, nonzero @reserved, a zero @size, a
 * @userptr or @size that is not a multiple of the page size, or a range that
 * wraps around; -E2BIG for a size beyond the system region's size; -EFAULT
 * if part of the range is not mapped (or is I/O memory); -EACCES if part of
 * it is not readable, or not writable for a writable object; -EOPNOTSUPP if
 * part of it is file-backed and the object writable; -ENOSPC when the
 * region's live buffer objects leave less than the size; -ENOMEM, also when
 * the pages would take the process's pinned memory (VmPin, charged until the
 * object is freed) beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK. On error
 * nothing is created or pinned and the struct is left as it was.
 */
struct drm_xaccel_bo_create_userptr {
	/** @userptr: In: first address of the range, page-aligned. */
	__u64 userptr;
	/** @size: In: size in bytes, a nonzero multiple of the page size. */
	__u64 size;
	/** @flags: In: 0 or DRM_XACCEL_BO_READ_ONLY. */
	__u32 flags;
	/** @handle: Out: the GEM handle. Ignored on input. */
	__u32 handle;
	/** @reserved: Must be zero. */
	__u64 reserved[2];
};

/**
 * struct drm_xaccel_bo_info - Argument of DRM_IOCTL_XACCEL_BO_INFO.
 *
 * Describes the buffer object behind a handle of this file and returns the
 * offset at which mmap() of this file maps it. The offset is a fake offset,
 * the same for the object's whole life (set up at the latest by the first
 * BO_INFO); only files holding a handle to the object can map it (others get
 * -EACCES).
 * Mappings must be MAP_SHARED and start at the offset; they may be shorter
 * than the object. A mapping keeps the object alive after its handle is
 * closed.
 *
 * Errors: -EINVAL for nonzero @pad or @reserved; -ENOENT for a handle this
 * file does not have (a handle of another open file is never valid here);
 * -ENOMEM or -ENOSPC if the mmap offset cannot be set up. On error the
 * struct is left as it was.
 */
struct drm_xaccel_bo_info {
	/** @handle: In: a GEM handle of this file. */
	__u32 handle;
	/** @pad: In: must be zero. */
	__u32 pad;
	/** @size: Out: size in bytes, a multiple of the page size. */
	__u64 size;
	/** @region: Out: id of the region the object was created in. */
	__u32 region;
	/**
	 * @flags: Out: DRM_XACCEL_BO_* flags: DRM_XACCEL_BO_USERPTR for user
	 * memory, DRM_XACCEL_BO_READ_ONLY for read-only objects,
	 * DRM_XACCEL_BO_DEVICE_ADDR when @device_addr is valid.
	 */
	__u32 flags;
	/** @mmap_offset: Out: the offset to pass to mmap() on this file. */
	__u64 mmap_offset;
	/**
	 * @device_addr: Out: with DRM_XACCEL_BO_DEVICE_ADDR, the address at
	 * which the device reaches the object's first byte: the object is one
	 * contiguous range of device memory behind a PCI BAR (a region
	 * declared that way by the backend, e.g. hlx's HBM), and the backend's
	 * command buffers may name [@device_addr, @device_addr + @size) when
	 * the object is in a SUBMIT's BO list. Zero otherwise, also once the
	 * object migrated to system memory. Ignored on input.
	 */
	__u64 device_addr;
	/** @reserved: In: must be zero. Out: zero. */
	__u64 reserved;
};

/**
 * DOC: device virtual memory
 *
 * A VM is a device virtual address space of one open file: VM_CREATE makes
 * one and returns its id (a file may have several), VM_BIND maps a page
 * range of a buffer object at a device virtual address (VA) of it,
 * VM_UNBIND removes the mappings of a VA range, VM_DESTROY (or closing the
 * file) removes the VM and all its mappings. VM ids, like GEM handles, are
 * per file: another file's id is never valid. VAs, sizes and buffer object
 * offsets are multiples of the page size, and every mapped VA lies in the
 * device's VA window (&drm_xaccel_device_info.va_start, .va_size).
 *
 * A mapping holds a reference on its buffer object: closing the handle
 * does not free a mapped object; unbinding or destroying releases it, and
 * never while a job that may use the VM is still running (the release waits
 * for the job's fence). On devices with an MMU (DRM_XACCEL_CAP_MMU) binding
 * programs the device's page tables; on the others the kernel translates
 * VAs itself when jobs use them.
 */

/**
 * struct drm_xaccel_vm_create - Argument of DRM_IOCTL_XACCEL_VM_CREATE.
 *
 * Creates an empty VM in this open file.
 *
 * Errors: -EINVAL for nonzero @flags or @reserved; -ENOSPC when the file
 * has 1024 VMs (or has used up all 2^32 - 1 ids); -ENOMEM. On error nothing is created and the struct is left
 * as it was.
 */
struct drm_xaccel_vm_create {
	/** @flags: In: must be zero. */
	__u32 flags;
	/** @vm_id: Out: the VM's id in this file, never 0. Ignored on input. */
	__u32 vm_id;
	/** @reserved: Must be zero. */
	__u64 reserved[2];
};

/**
 * struct drm_xaccel_vm_destroy - Argument of DRM_IOCTL_XACCEL_VM_DESTROY.
 *
 * Destroys a VM of this file and unbinds everything bound in it. Its id is
 * not reused by the file.
 *
 * Errors: -EINVAL for nonzero @pad or @reserved; -ENOENT for an id this file
 * has no VM for (never created, destroyed, or another file's).
 */
struct drm_xaccel_vm_destroy {
	/** @vm_id: In: the VM. */
	__u32 vm_id;
	/** @pad: Must be zero. */
	__u32 pad;
	/** @reserved: Must be zero. */
	__u64 reserved;
};

/* Flags of &drm_xaccel_vm_bind: exactly one of the two. */
/* Jobs may only read through the mapping. */
#define DRM_XACCEL_VM_BIND_READ_ONLY	(1 << 0)
/* Jobs may read and write through the mapping. */
#define DRM_XACCEL_VM_BIND_READ_WRITE	(1 << 1)

/**
 * struct drm_xaccel_vm_bind - Argument of DRM_IOCTL_XACCEL_VM_BIND.
 *
 * Maps bytes [@bo_offset, @bo_offset + @size) of a buffer object at
 * [@va, @va + @size) of a VM of this file.
 *
 * Errors: -EINVAL for unknown @flags, none or both of the access flags,
 * nonzero @pad or @reserved, a zero @size, an @va, @size or @bo_offset that
 * is not a multiple of the page size, a VA range not inside the device's VA
 * window (or overflowing), or a buffer object range beyond the object's size
 * (or overflowing); -ENOENT for a VM id or GEM handle this file does not
 * have; -EEXIST when any page of the VA range is already mapped; -EACCES
 * for DRM_XACCEL_VM_BIND_READ_WRITE of a read-only object;
 * -EOPNOTSUPP for an imported object on a device with an MMU unless its
 * exporter mapped it peer-to-peer (PCI bus addresses); -ENOSPC when the
 * device's MMU has no address space or page table left for it; -ENOMEM.
 * On error the VM is unchanged and the struct is left as it was.
 */
struct drm_xaccel_vm_bind {
	/** @vm_id: In: the VM. */
	__u32 vm_id;
	/** @handle: In: GEM handle of the buffer object, in this file. */
	__u32 handle;
	/** @bo_offset: In: first byte of the object to map, page-aligned. */
	__u64 bo_offset;
	/** @size: In: bytes to map, a nonzero multiple of the page size. */
	__u64 size;
	/** @va: In: device virtual address of the first byte, page-aligned. */
	__u64 va;
	/** @flags: In: DRM_XACCEL_VM_BIND_READ_ONLY or _READ_WRITE. */
	__u32 flags;
	/** @pad: Must be zero. */
	__u32 pad;
	/** @reserved: Must be zero. */
	__u64 reserved[2];
};

/**
 * struct drm_xaccel_vm_unbind - Argument of DRM_IOCTL_XACCEL_VM_UNBIND.
 *
 * Unmaps [@va, @va + @size) of a VM of this file. The range may span
 * several mappings and cut into them: what sticks out of the range stays
 * mapped, so unbinding the middle of a mapping leaves two.
 *
 * Errors: -EINVAL for nonzero @flags or @reserved, a zero @size, an @va or
 * @size that is not a multiple of the page size, or a range that overflows;
 * -ENOENT for a VM id this file does not have, or when any page of the range
 * is not mapped; -ENOMEM. On error the VM is unchanged.
 */
struct drm_xaccel_vm_unbind {
	/** @vm_id: In: the VM. */
	__u32 vm_id;
	/** @flags: In: must be zero. */
	__u32 flags;
	/** @va: In: first address to unmap, page-aligned. */
	__u64 va;
	/** @size: In: bytes to unmap, a nonzero multiple of the page size. */
	__u64 size;
	/** @reserved: Must be zero. */
	__u64 reserved[2];
};

/* Context priorities (struct drm_xaccel_context_create.priority). */
#define DRM_XACCEL_PRIORITY_LOW		0
#define DRM_XACCEL_PRIORITY_NORMAL	1
#define DRM_XACCEL_PRIORITY_HIGH	2
/* Realtime needs CAP_SYS_NICE. */
#define DRM_XACCEL_PRIORITY_REALTIME	3

/* Most contexts one open file may have. */
#define DRM_XACCEL_MAX_CONTEXTS		256

/**
 * struct drm_xaccel_context_create - Argument of DRM_IOCTL_XACCEL_CONTEXT_CREATE.
 *
 * Creates a context: a queue of jobs on one engine, run in submission order,
 * with a priority. Higher priorities are scheduled first, contexts of one
 * priority take turns, and aging keeps lower priorities from starving (see
 * Documentation/execution.rst). A context whose job timed out is "guilty":
 * SUBMIT on it fails with -EIO; destroy it and create a new one.
 *
 * Errors: -EINVAL for an unknown engine or priority, nonzero @flags or
 * @reserved; -EPERM for DRM_XACCEL_PRIORITY_REALTIME without CAP_SYS_NICE;
 * -ENOSPC when the file has DRM_XACCEL_MAX_CONTEXTS contexts; -ENOMEM. On
 * error nothing is created and the struct is left as it was.
 */
struct drm_xaccel_context_create {
	/** @engine: In: id of the engine (DRM_XACCEL_QUERY_ENGINES). */
	__u32 engine;
	/** @priority: In: DRM_XACCEL_PRIORITY_*. */
	__u32 priority;
	/** @flags: In: none defined yet, must be 0. */
	__u32 flags;
	/** @context_id: Out: the context's id in this file, nonzero. */
	__u32 context_id;
	/** @reserved: Must be zero. */
	__u64 reserved;
};

/**
 * struct drm_xaccel_context_destroy - Argument of DRM_IOCTL_XACCEL_CONTEXT_DESTROY.
 *
 * Destroys a context: jobs that never started complete with -ECANCELED,
 * after the running ones finish (or time out). Their fences always signal.
 * Closing the file destroys every context it has the same way.
 *
 * Errors: -EINVAL for nonzero @pad; -ENOENT for an id this file does not
 * have.
 */
struct drm_xaccel_context_destroy {
	/** @context_id: In: a context of this file. */
	__u32 context_id;
	/** @pad: Must be zero. */
	__u32 pad;
};

/* Most in-syncobjs one SUBMIT may wait for. */
#define DRM_XACCEL_MAX_IN_SYNCOBJS	64
/* Most buffer objects in one SUBMIT's BO list. */
#define DRM_XACCEL_MAX_SUBMIT_BOS	256
/* Largest command buffer, in bytes. */
#define DRM_XACCEL_MAX_CMD_SIZE		(1U << 20)
/* Longest per-job timeout, in nanoseconds (60 s). */
#define DRM_XACCEL_MAX_TIMEOUT_NS	60000000000ULL
/*
 * Most jobs one context holds that have not started (queued behind their
 * dependencies or the engine); SUBMIT refuses more with -EBUSY.
 */
#define DRM_XACCEL_MAX_QUEUED_JOBS	1024

/**
 * struct drm_xaccel_syncobj_ref - A syncobj and a point on it.
 */
struct drm_xaccel_syncobj_ref {
	/** @handle: A syncobj handle of this file. */
	__u32 handle;
	/** @flags: None defined yet, must be 0. */
	__u32 flags;
	/**
	 * @point: A timeline point, or 0 for the syncobj's current fence (a
	 * binary syncobj, or the latest point of a timeline).
	 */
	__u64 point;
};

/* The job writes the buffer object (else it only reads it). */
#define DRM_XACCEL_SUBMIT_BO_WRITE		(1U << 0)
/* No implicit synchronisation on this buffer object (see SUBMIT). */
#define DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT	(1U << 1)

/**
 * struct drm_xaccel_submit_bo - One entry of SUBMIT's BO list.
 */
struct drm_xaccel_submit_bo {
	/** @handle: A GEM handle of this file. */
	__u32 handle;
	/** @flags: DRM_XACCEL_SUBMIT_BO_*. */
	__u32 flags;
};

/**
 * struct drm_xaccel_submit - Argument of DRM_IOCTL_XACCEL_SUBMIT.
 *
 * Queues one job on a context. The command buffer is @cmd_size bytes at
 * @cmd_offset of the buffer object @cmd_handle; the kernel copies it and
 * the backend validates the copy before the job is queued (it may reject it,
 * see the backend's documentation), so the buffer may be reused at once.
 * The job runs once every in-syncobj's fence has signalled; its finished
 * fence is installed in @out_syncobj (if nonzero) at @out_point (0: replace
 * a binary syncobj's fence).
 *
 * The BO list names the buffer objects the job uses, each read or written
 * (DRM_XACCEL_SUBMIT_BO_WRITE). Implicit synchronisation: unless an entry has
 * DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT, the job also waits for the fences in the
 * object's reservation (every writer's; and every reader's if the job writes
 * it), and in any case its finished fence is added there, as a writer or a
 * reader, so later users of the object (other jobs, other devices, dma-buf
 * importers) wait for it.
 *
 * Device virtual addresses: with @vm_id, the backend resolves the command
 * buffer's VA operands through that VM when the job is submitted; the job
 * keeps the buffer objects they resolved to until it is done, even if they
 * are unbound meanwhile. Those objects take no part in implicit
 * synchronisation (order their users with syncobjs).
 *
 * The fence signals with an error if the job
 * faults (-EIO), times out (-ETIME), is cancelled (-ECANCELED: its context
 * was destroyed or found guilty) or the device goes away (-ENODEV).
 *
 * Errors: -EINVAL for nonzero @flags, @pad, @reserved or syncobj flags, a
 * zero @cmd_size, a command buffer outside its buffer object, unknown BO
 * flags, a handle listed twice, a nonzero
 * point on a binary in-syncobj, an in-syncobj without a fence; -E2BIG for
 * more than DRM_XACCEL_MAX_IN_SYNCOBJS in-syncobjs or
 * DRM_XACCEL_MAX_SUBMIT_BOS buffer objects, a command buffer larger
 * than DRM_XACCEL_MAX_CMD_SIZE or a timeout above
 * DRM_XACCEL_MAX_TIMEOUT_NS; -ENOENT for an unknown context, buffer object,
 * VM or syncobj (handles of other files are never found); -EIO on a guilty
 * context; -EACCES for a read-only buffer object (DRM_XACCEL_BO_READ_ONLY)
 * listed with DRM_XACCEL_SUBMIT_BO_WRITE; -EOPNOTSUPP if the backend does
 * not execute jobs, or if an imported buffer object the job uses (listed,
 * or reached through the VM) cannot be mapped for the CPU (its exporter has
 * no vmap, or maps I/O memory); -EFAULT for a bad @in_syncobjs or @bos
 * pointer; -EINTR if interrupted while locking the
 * buffer objects; -EAGAIN if a listed buffer object in device memory behind
 * a PCI BAR migrated (a dma-buf export) while the command buffer was being
 * checked against its device address (retry); -EBUSY if the context
 * already holds DRM_XACCEL_MAX_QUEUED_JOBS jobs that have not started (wait
 * for one of its fences and retry); -ENOSPC if the device's MMU has no
 * address space left for the @vm_id's VM; the backend's errno for a
 * rejected command buffer; -ENODEV once the device is gone, or once the
 * exporter of an imported buffer object the job uses revoked it. On error nothing
 * is queued and the struct is left as it was. Listed buffer objects in
 * device memory behind a PCI BAR stay there from a successful check on.
 */
struct drm_xaccel_submit {
	/** @context_id: In: a context of this file. */
	__u32 context_id;
	/** @flags: In: none defined yet, must be 0. */
	__u32 flags;
	/** @cmd_handle: In: the buffer object holding the command buffer. */
	__u32 cmd_handle;
	/** @in_syncobj_count: In: entries at @in_syncobjs. */
	__u32 in_syncobj_count;
	/** @cmd_offset: In: byte offset of the command buffer in its object. */
	__u64 cmd_offset;
	/** @cmd_size: In: size of the command buffer in bytes, nonzero. */
	__u64 cmd_size;
	/** @in_syncobjs: In: user pointer to struct drm_xaccel_syncobj_ref[]. */
	__u64 in_syncobjs;
	/** @bos: In: user pointer to struct drm_xaccel_submit_bo[]. */
	__u64 bos;
	/** @bo_count: In: entries at @bos. */
	__u32 bo_count;
	/** @out_syncobj: In: syncobj to receive the job's fence, or 0. */
	__u32 out_syncobj;
	/** @out_point: In: timeline point for @out_syncobj, or 0. */
	__u64 out_point;
	/** @timeout_ns: In: the job's timeout, or 0 for the device default. */
	__u64 timeout_ns;
	/** @seqno: Out: the job's sequence number in its context, from 1. */
	__u64 seqno;
	/**
	 * @vm_id: In: a VM of this file (DRM_IOCTL_XACCEL_VM_CREATE) whose
	 * mappings the command buffer's device-VA operands name, or 0 for none.
	 */
	__u32 vm_id;
	/** @pad: Must be zero. */
	__u32 pad;
	/** @reserved: Must be zero. */
	__u64 reserved;
};

/* BO_WAIT: wait for the jobs that write the object (before the CPU reads it). */
#define DRM_XACCEL_BO_WAIT_READ		(1U << 0)
/* BO_WAIT: wait for every job that uses the object (before the CPU writes it). */
#define DRM_XACCEL_BO_WAIT_WRITE	(1U << 1)

/**
 * struct drm_xaccel_bo_wait - Argument of DRM_IOCTL_XACCEL_BO_WAIT.
 *
 * Waits until a buffer object is idle for the CPU access @flags name, like
 * msm's, etnaviv's and panfrost's WAIT_BO: with DRM_XACCEL_BO_WAIT_READ until
 * every job writing it is done, with DRM_XACCEL_BO_WAIT_WRITE until every job
 * using it (reading or writing) is done. The fences waited for are those in
 * the object's reservation (see SUBMIT's BO list: the jobs of every device
 * and file that listed it, and other drivers' through dma-buf). A job that
 * completed with an error counts as done.
 *
 * @timeout_ns is an absolute CLOCK_MONOTONIC time, like the DRM syncobj
 * waits; 0 (or a time already past) only checks.
 *
 * Errors: -EINVAL for no or unknown @flags or nonzero @pad; -ENOENT for an
 * unknown handle; -EBUSY if the object is busy and @timeout_ns is 0 or past;
 * -ETIMEDOUT if it is still busy at @timeout_ns; -ERESTARTSYS (seen as
 * -EINTR) if a signal interrupts the wait. The struct is never changed.
 */
struct drm_xaccel_bo_wait {
	/** @handle: In: a GEM handle of this file. */
	__u32 handle;
	/** @flags: In: DRM_XACCEL_BO_WAIT_READ and/or DRM_XACCEL_BO_WAIT_WRITE. */
	__u32 flags;
	/** @timeout_ns: In: absolute CLOCK_MONOTONIC deadline in ns; 0: do not wait. */
	__s64 timeout_ns;
	/** @pad: Must be zero. */
	__u64 pad;
};

#if defined(__cplusplus)
}
#endif

#endif /* __UAPI_XACCEL_ACCEL_H__ */
