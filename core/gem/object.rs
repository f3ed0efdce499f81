// SPDX-License-Identifier: GPL-2.0-only

//! Buffer objects: the GEM objects of xaccel devices.
//!
//! A buffer object ([`Bo`]) is memory that userspace allocates in one region of a device, names
//! by a GEM handle of its open file, maps with `mmap()` and, as the core grows, binds into device
//! VMs. Every byte of it is charged to its region's budget from creation to free.
//!
//! # Placements and layout
//!
//! A [`Bo`] begins with a `drm_gem_shmem_object`, whose first member is the `drm_gem_object` DRM
//! knows it by: every GEM object of an xaccel device sits at offset 0 of its `Bo`, and its
//! `funcs` table says which placement it has. [`Placement::System`] objects are built on the
//! kernel's shmem helper (`drm_gem_shmem_init()`): a shmem file whose pages are allocated, zeroed,
//! when the object is first mapped, and CPU mappings through the fake-offset mechanism
//! (`drm_gem_mmap()`). [`Placement::Imported`] objects (dma-bufs of other exporters, see
//! `import`) initialise only the base object, with `drm_gem_private_object_init()`, and have a
//! funcs table of their own, as do [`Placement::Device`] objects (blocks of a device-memory
//! region's `gpu_buddy` allocator, `devmem`, mapped by the core's own `mmap` callback); so will
//! userptr objects. The alignment a buffer object was created with is kept for device
//! addresses.
//!
//! # Lifetime
//!
//! GEM counts the references: each handle, each CPU mapping and each [`ARef<Bo>`] holds one. The
//! last one calls `free`, core code in this file, which releases the shmem state, returns the
//! region's bytes (the [`Charge`]) and drops the object's reference to its device. A handle keeps
//! its file open and a mapping keeps its file alive, and each file holds the core module, so
//! `free` cannot outlive the code it runs.

use crate::{
    device::AccelDevice,
    file::DrmFile,
    gem::{
        export, import,
        import::ImportMapping,
        pages::{self, Memory, PagesState, StateCell, UserPages},
        usage::Charge,
        DeviceMemory,
    },
    job_memory::KernelMapping,
};
use core::ptr::{self, NonNull};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::{c_int, c_uint},
    page::PAGE_SIZE,
    prelude::*,
    scatterlist::SGTable,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

/// Where a buffer object's memory lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Host memory in a shmem file: allocated when first used, zeroed, swappable while not
    /// mapped, always CPU-mappable.
    System,
    /// Another exporter's dma-buf, attached to the device: CPU-mappable if the exporter is.
    Imported,
    /// Blocks of a device-memory region, allocated and zeroed at creation: CPU-mappable if the
    /// region is CPU-visible (`devmem`). An export to an importer that cannot reach the region
    /// may move them to system pages (`export_pages`).
    Device,
    /// Pages of a process's memory, pinned (`FOLL_LONGTERM`) from creation to free (`userptr`).
    Userptr,
}

/// A `drm_gem_object_funcs` table that can live in a `static`.
#[repr(transparent)]
struct GemFuncs(bindings::drm_gem_object_funcs);

// SAFETY: The table is never written. Its pointers are to functions and to a `static` C table,
// which any thread may read.
unsafe impl Sync for GemFuncs {}

// The C structs behind these pointers contain zero-sized members; they are only passed along.
#[allow(improper_ctypes)]
extern "C" {
    /// `drm_gem_shmem_object_print_info()`, which is inline (`shmem_c.c`).
    fn xaccel_shmem_print_info(
        p: *mut bindings::drm_printer,
        indent: c_uint,
        obj: *const bindings::drm_gem_object,
    );
    /// `drm_gem_shmem_object_mmap()`, which is inline (`shmem_c.c`).
    fn xaccel_shmem_mmap(
        obj: *mut bindings::drm_gem_object,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int;
}

/// The GEM callbacks of system-memory buffer objects: the shmem helper's for CPU mappings, the
/// core's for lifetime, accounting and sharing (`export`). All of them live in `xaccel.ko` or in
/// the helper module it depends on, never in a backend.
static SYSTEM_FUNCS: GemFuncs = GemFuncs(bindings::drm_gem_object_funcs {
    free: Some(free),
    open: Some(open_handle),
    close: Some(close_handle),
    print_info: Some(xaccel_shmem_print_info),
    export: Some(export::export),
    pin: Some(export::pin_system),
    unpin: Some(export::unpin_system),
    get_sg_table: Some(export::sg_table_system),
    vmap: Some(export::vmap_system),
    vunmap: Some(export::vunmap_system),
    mmap: Some(xaccel_shmem_mmap),
    evict: None,
    status: None,
    rss: None,
    // Taking the address of an extern static reads nothing. The helper's, with fault-around
    // (`shmem_fault`).
    vm_ops: &raw const super::shmem_fault::xaccel_shmem_vm_ops,
});

/// The GEM callbacks of imported buffer objects. DRM never exports them (it hands out the
/// original dma-buf), and their CPU mappings are the exporter's (`import`).
static IMPORT_FUNCS: GemFuncs = GemFuncs(bindings::drm_gem_object_funcs {
    free: Some(free),
    open: Some(open_handle),
    close: Some(close_handle),
    print_info: None,
    export: Some(export::export),
    pin: None,
    unpin: None,
    get_sg_table: None,
    vmap: None,
    vunmap: None,
    mmap: Some(import::mmap_import),
    evict: None,
    status: None,
    rss: None,
    vm_ops: ptr::null(),
});
// `drm_gem_shmem_object` contains zero-sized members; it is only passed along by pointer.
#[allow(improper_ctypes)]
extern "C" {
    /// Copies `len` bytes at `offset` of `shmem` to `dst` from its shmem file's pages (in
    /// `core/exec_c.c`).
    fn xaccel_bo_read(
        shmem: *mut bindings::drm_gem_shmem_object,
        offset: u64,
        dst: *mut kernel::ffi::c_void,
        len: usize,
    ) -> kernel::ffi::c_int;
}

/// The GEM callbacks of page-backed buffer objects (device memory, userptr): the core's, with
/// CPU mappings filled on fault from the object's current pages (`pages`) and the page
/// exporter (`export_pages`).
const fn page_funcs() -> bindings::drm_gem_object_funcs {
    bindings::drm_gem_object_funcs {
        free: Some(free),
        open: Some(open_handle),
        close: Some(close_handle),
        print_info: None,
        export: Some(export::export),
        pin: None,
        unpin: None,
        get_sg_table: None,
        vmap: None,
        vunmap: None,
        mmap: Some(pages::mmap_pages),
        evict: None,
        status: None,
        rss: None,
        // Taking the address of an extern static reads nothing.
        vm_ops: &raw const pages::xaccel_pages_vm_ops,
    }
}

/// The GEM callbacks of device-memory buffer objects.
static DEVICE_FUNCS: GemFuncs = GemFuncs(page_funcs());

/// The GEM callbacks of userptr buffer objects: the same code, a table of their own, so that
/// the table names the placement.
static USERPTR_FUNCS: GemFuncs = GemFuncs(page_funcs());

/// A buffer object.
///
/// # Invariants
///
/// - The object is in a [`KBox`] that only `free` reclaims, when GEM's reference count drops to
///   zero, and `base.funcs` says how it was initialised: `SYSTEM_FUNCS` for
///   [`Placement::System`], by `drm_gem_shmem_init()`; `IMPORT_FUNCS` for
///   [`Placement::Imported`], by `drm_gem_private_object_init()` (the rest of `shmem` zero);
///   `DEVICE_FUNCS` for [`Placement::Device`] and `USERPTR_FUNCS` for [`Placement::Userptr`],
///   likewise.
/// - `state` holds [`Memory::None`] for system and imported objects; for device objects,
///   `base.size` bytes of blocks of the device-memory region `charge` is in, or as many
///   migrated system pages; for userptr objects, `base.size / PAGE_SIZE` pinned user pages.
/// - `charge` holds `base.size` bytes of the object's region on `base.dev`, or none for an
///   imported object (its memory is the exporter's).
/// - `import` is unmapped unless the object is imported.
/// - `kernel_map` is empty for imported objects.
/// - `base.size` is a multiple of the page size and never changes.
#[repr(C)]
pub struct Bo {
    /// First: the `drm_gem_object` of every placement is at offset 0.
    shmem: Opaque<bindings::drm_gem_shmem_object>,
    placement: Placement,
    flags: u32,
    alignment: u64,
    /// Before `charge`: the memory goes back before the device reference goes.
    state: StateCell,
    charge: Charge,
    import: ImportMapping,
    /// The kernel mapping jobs use (`job_memory`), made on first use, unmapped in `free`.
    kernel_map: KernelMapping,
}

// SAFETY: GEM objects are built for concurrent use: the reference count is atomic, the C state
// has its own locks (the reservation lock), and the Rust fields are immutable after creation
// except `state`, which only changes under the reservation lock.
unsafe impl Send for Bo {}
// SAFETY: As above.
unsafe impl Sync for Bo {}

impl Bo {
    /// Creates a system-memory buffer object of `size` bytes (a nonzero multiple of the page
    /// size) in `region`, charging them to the region.
    ///
    /// Returns `ENOSPC` if the region's budget cannot take `size` more bytes, `ENOMEM` (or
    /// another error of the shmem layer, but never its `ENOSPC`) if the object cannot be set up.
    pub(crate) fn new_system(
        dev: &AccelDevice,
        region: u32,
        size: u64,
        flags: u32,
        alignment: u64,
    ) -> Result<ARef<Self>> {
        let len = usize::try_from(size)?;
        if len == 0 || len % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        let charge = Charge::reserve(dev, region, size)?;
        // Initialised in place: the GEM object is large (locks, lockdep maps).
        let bo = KBox::init(
            try_init!(Self {
                shmem <- Opaque::init_zeroed(),
                placement: Placement::System,
                flags,
                alignment,
                state: StateCell::new(PagesState::new(Memory::None)),
                charge,
                import: ImportMapping::none(),
                kernel_map: KernelMapping::new(),
            }),
            GFP_KERNEL,
        )?;
        let bo = KBox::into_raw(bo);
        // SAFETY: `bo` is a fresh allocation nobody else knows, its shmem object zeroed as
        // `drm_gem_shmem_init()` expects; `funcs` is set first so that the helper keeps it. `dev`
        // is a live device and `len` a nonzero multiple of the page size.
        let ret = unsafe {
            let shmem = (*bo).shmem.get();
            (*shmem).base.funcs = &SYSTEM_FUNCS.0;
            bindings::drm_gem_shmem_init(dev.as_raw(), shmem, len)
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: A failed `drm_gem_shmem_init()` undoes its own work and the object was never
            // published, so the allocation is ours to free, and the charge with it.
            drop(unsafe { KBox::from_raw(bo) });
            // The shmem layer reports a failed inode allocation as `ENOSPC`
            // (`shmem_get_inode()`), but its kernel mount has no size limit: here that can only
            // mean no memory. `ENOSPC` is the region's budget, checked above.
            return Err(if e == ENOSPC { ENOMEM } else { e });
        }
        // INVARIANT: Initialised with `SYSTEM_FUNCS` in a `KBox` that `free` reclaims; `charge`
        // holds `size` bytes, the object's size.
        // SAFETY: `drm_gem_shmem_init()` set the reference count to one, which the `ARef` takes
        // over; `bo` comes from `KBox::into_raw`, so it is not null.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(bo)) })
    }

    /// Creates a device-memory buffer object of `size` bytes (a nonzero multiple of the page
    /// size and of `alignment`) in the device-memory `region`, charging them to the region and
    /// allocating them, zeroed, from its allocator in blocks aligned to `alignment`.
    ///
    /// Returns `EINVAL` if `region` is not device memory, `ENOSPC` if the region's budget or
    /// free blocks (fragmentation included) cannot take `size` more bytes, `ENOMEM`.
    pub(crate) fn new_device(
        dev: &AccelDevice,
        region: u32,
        size: u64,
        flags: u32,
        alignment: u64,
    ) -> Result<ARef<Self>> {
        let len = usize::try_from(size)?;
        let charge = Charge::reserve(dev, region, size)?;
        let blocks = charge
            .device_memory()
            .ok_or(EINVAL)?
            .alloc(size, alignment)?;
        // INVARIANT: `charge` and `blocks` hold `size` bytes of the device-memory region, the
        // object's size.
        Self::new_private(
            dev,
            len,
            &DEVICE_FUNCS,
            try_init!(Self {
                shmem <- Opaque::init_zeroed(),
                placement: Placement::Device,
                flags,
                alignment,
                state: StateCell::new(PagesState::new(Memory::Blocks(blocks))),
                charge,
                import: ImportMapping::none(),
                kernel_map: KernelMapping::new(),
            }),
        )
    }

    /// Creates an imported buffer object of `size` bytes (a nonzero multiple of the page size)
    /// accounted in `region`, not attached yet: `import` attaches it to a dma-buf.
    ///
    /// Nothing is charged to the region. Returns `ENOMEM` if the object cannot be allocated.
    pub(super) fn new_imported(dev: &AccelDevice, region: u32, size: usize) -> Result<ARef<Self>> {
        if size == 0 || size % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        let charge = Charge::reserve(dev, region, 0)?;
        // INVARIANT: Nothing is charged and the object is unmapped until `import` attaches it.
        Self::new_private(
            dev,
            size,
            &IMPORT_FUNCS,
            try_init!(Self {
                shmem <- Opaque::init_zeroed(),
                placement: Placement::Imported,
                flags: 0,
                alignment: 0,
                state: StateCell::new(PagesState::new(Memory::None)),
                charge,
                import: ImportMapping::none(),
                kernel_map: KernelMapping::new(),
            }),
        )
    }

    /// Creates a userptr buffer object of `pages` pinned user pages, charged to the system
    /// `region`; `flags` are `DRM_XACCEL_BO_USERPTR` and, for read-only pages,
    /// `DRM_XACCEL_BO_READ_ONLY`.
    ///
    /// Returns `ENOSPC` if the region's budget cannot take them, `ENOMEM`.
    pub(crate) fn new_userptr(
        dev: &AccelDevice,
        region: u32,
        pages: UserPages,
        flags: u32,
    ) -> Result<ARef<Self>> {
        let len = pages.len().checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        if len == 0 {
            return Err(EINVAL);
        }
        let charge = Charge::reserve(dev, region, len as u64)?;
        // INVARIANT: `charge` holds the bytes of the `len / PAGE_SIZE` pinned pages.
        Self::new_private(
            dev,
            len,
            &USERPTR_FUNCS,
            try_init!(Self {
                shmem <- Opaque::init_zeroed(),
                placement: Placement::Userptr,
                flags,
                alignment: 0,
                state: StateCell::new(PagesState::new(Memory::User(pages))),
                charge,
                import: ImportMapping::none(),
                kernel_map: KernelMapping::new(),
            }),
        )
    }

    /// Allocates `init` (whose GEM object is zeroed) and makes it a private GEM object of `len`
    /// bytes, a nonzero multiple of the page size, with `funcs`: the objects that are not shmem
    /// (device memory, imports).
    fn new_private(
        dev: &AccelDevice,
        len: usize,
        funcs: &'static GemFuncs,
        init: impl Init<Self, Error>,
    ) -> Result<ARef<Self>> {
        let bo = KBox::into_raw(KBox::init(init, GFP_KERNEL)?);
        // SAFETY: `bo` is a fresh allocation nobody else knows, its GEM object zeroed; `dev` is a
        // live device and `len` a nonzero multiple of the page size (checked by the callers).
        unsafe {
            let gem = &raw mut (*(*bo).shmem.get()).base;
            (*gem).funcs = &funcs.0;
            bindings::drm_gem_private_object_init(dev.as_raw(), gem, len);
        }
        // INVARIANT: Initialised with one of our funcs tables in a `KBox` that `free` reclaims.
        // SAFETY: `drm_gem_private_object_init()` set the reference count to one, which the
        // `ARef` takes over; `bo` comes from `KBox::into_raw`, so it is not null.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(bo)) })
    }

    /// Looks up the buffer object behind `handle` in `file`.
    ///
    /// Returns `ENOENT` if the file has no such handle. Handles are per file: another file's
    /// handle never finds anything here.
    pub(crate) fn lookup(file: &DrmFile, handle: u32) -> Result<ARef<Self>> {
        // SAFETY: `file` is an open `drm_file` (type invariants of `DrmFile`).
        let obj = unsafe { bindings::drm_gem_object_lookup(file.as_raw(), handle) };
        let obj = NonNull::new(obj).ok_or(ENOENT)?;
        // SAFETY: The lookup returned a live object with a reference we now own.
        match unsafe { Self::from_gem(obj.as_ptr()) } {
            // SAFETY: The `ARef` takes over the lookup's reference.
            Some(bo) => Ok(unsafe { ARef::from_raw(NonNull::from(bo)) }),
            None => {
                // SAFETY: We give back the lookup's reference and do not use `obj` again.
                unsafe { bindings::drm_gem_object_put(obj.as_ptr()) };
                Err(ENOENT)
            }
        }
    }

    /// The buffer object containing `obj`, if `obj` is one.
    ///
    /// # Safety
    ///
    /// `obj` must point at a live GEM object that stays alive for `'a`.
    pub(crate) unsafe fn from_gem<'a>(obj: *mut bindings::drm_gem_object) -> Option<&'a Self> {
        // SAFETY: `obj` is live (safety requirements); `funcs` is set before the object is
        // published and never changes.
        let funcs = unsafe { (*obj).funcs };
        if !ptr::eq(funcs, &SYSTEM_FUNCS.0)
            && !ptr::eq(funcs, &IMPORT_FUNCS.0)
            && !ptr::eq(funcs, &DEVICE_FUNCS.0)
            && !ptr::eq(funcs, &USERPTR_FUNCS.0)
        {
            return None;
        }
        // SAFETY: Only the constructors above install these tables, on the `base` of the shmem
        // object embedded in a `Bo`, which lives as long as `obj` does.
        Some(unsafe { Self::from_gem_unchecked(obj) })
    }

    /// The buffer object containing `obj`.
    ///
    /// # Safety
    ///
    /// `obj` must be the GEM object of a live [`Bo`] that stays alive for `'a`.
    pub(super) unsafe fn from_gem_unchecked<'a>(obj: *mut bindings::drm_gem_object) -> &'a Self {
        // SAFETY: By the safety requirements, `obj` is the GEM object of a `Bo` alive for `'a`.
        unsafe { &*Self::raw_from_gem(obj) }
    }

    /// The address of the buffer object containing `obj`.
    ///
    /// # Safety
    ///
    /// `obj` must be the GEM object of a [`Bo`].
    unsafe fn raw_from_gem(obj: *mut bindings::drm_gem_object) -> *mut Self {
        // SAFETY: By the safety requirements, `obj` is the `base` of the shmem object that is the
        // `shmem` field of a `Bo`, so both steps stay within that `Bo`.
        unsafe {
            let shmem = kernel::container_of!(obj, bindings::drm_gem_shmem_object, base);
            kernel::container_of!(Opaque::cast_from(shmem).cast_mut(), Self, shmem)
        }
    }

    /// The C GEM object.
    pub(crate) fn gem(&self) -> *mut bindings::drm_gem_object {
        // SAFETY: `shmem` is initialised (type invariants); this only computes a field address.
        unsafe { &raw mut (*self.shmem.get()).base }
    }

    /// Copies `dst.len()` bytes at `offset` of the object into `dst` (a command buffer for
    /// SUBMIT). `EINVAL` if the range is not inside the object; may sleep (it takes the
    /// object's reservation lock and maps its pages); `EINTR` if interrupted.
    /// Only system-memory objects can be read this way (`EINVAL` for imported ones).
    pub(crate) fn read(&self, offset: u64, dst: &mut [u8]) -> Result {
        if self.placement != Placement::System {
            return Err(EINVAL);
        }
        let len = u64::try_from(dst.len())?;
        match offset.checked_add(len) {
            Some(end) if end <= self.size() => {}
            _ => return Err(EINVAL),
        }
        // SAFETY: A system object's `shmem` is an initialised shmem object (type invariants),
        // alive as long as `&self`; the range was checked to be inside it; `dst` is valid for
        // `len` bytes.
        to_result(unsafe {
            xaccel_bo_read(self.shmem.get(), offset, dst.as_mut_ptr().cast(), dst.len())
        })
    }

    /// Size in bytes, a multiple of the page size.
    pub fn size(&self) -> u64 {
        // SAFETY: `size` is set at initialisation and never changes (type invariants).
        unsafe { (*self.gem()).size as u64 }
    }

    /// The id of the region the object's memory is charged to.
    pub fn region(&self) -> u32 {
        self.charge.region()
    }

    /// Where the object's memory lives.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The kernel mapping jobs use; see `job_memory`.
    pub(crate) fn kernel_map(&self) -> &KernelMapping {
        &self.kernel_map
    }

    /// The cell of the object's [`PagesState`], for `pages`.
    pub(super) fn state_cell(&self) -> &StateCell {
        &self.state
    }

    /// The allocator and backing of the object's region, if it is device memory.
    pub(crate) fn device_memory(&self) -> Option<&DeviceMemory> {
        self.charge.device_memory()
    }

    /// The object's region, as its device declared it.
    pub(crate) fn region_desc(&self) -> Option<&crate::backend::Region> {
        self.charge.region_desc()
    }

    /// The attachment mapping of an imported object.
    pub(super) fn import_mapping(&self) -> &ImportMapping {
        &self.import
    }

    /// The `DRM_XACCEL_BO_*` flags the object was created with.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether the object is read-only (`DRM_XACCEL_BO_READ_ONLY`): no job, VM binding, export
    /// or mapping may write it, so that a device never writes what its user could not.
    pub fn is_read_only(&self) -> bool {
        self.flags & crate::uapi::DRM_XACCEL_BO_READ_ONLY != 0
    }

    /// The alignment of the object's device placement and address, 0 for the page size.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Creates a handle to the object in `file` (or returns the one it has).
    ///
    /// The handle holds its own reference; DRM calls the object's `open` callback, which counts
    /// the object in the file's accounting.
    pub(crate) fn create_handle(&self, file: &DrmFile) -> Result<u32> {
        let mut handle = 0;
        // SAFETY: `file` is an open `drm_file` and `self.gem()` a live GEM object of the same
        // device (the caller created it there); `handle` is a valid out pointer.
        to_result(unsafe {
            bindings::drm_gem_handle_create(file.as_raw(), self.gem(), &mut handle)
        })?;
        Ok(handle)
    }

    /// The fake offset userspace passes to `mmap()` on the device file to map the object, set up
    /// here if the object does not have one yet (system objects get it at creation).
    pub(crate) fn mmap_offset(&self) -> Result<u64> {
        // SAFETY: `self.gem()` is a live GEM object; creating the offset is idempotent and
        // serialised by DRM's offset manager.
        to_result(unsafe { bindings::drm_gem_create_mmap_offset(self.gem()) })?;
        // SAFETY: The offset node was set up just above and stays until the object is freed.
        Ok(unsafe { bindings::drm_vma_node_offset_addr(&raw mut (*self.gem()).vma_node) })
    }

    /// The object's pages as an sg table mapped for DMA by the device's parent (the backend's
    /// `struct device`), allocating and pinning them on first use.
    ///
    /// The pages stay pinned, and the table valid, until the object is freed: device memory no
    /// longer moves (`export_pages`). Sleeps (takes the object's reservation lock). Errors:
    /// `ENODEV` for revoked device memory, `EOPNOTSUPP` for imported objects, `ENOMEM` and the
    /// DMA layer's mapping errors.
    pub(crate) fn dma_sg_table(&self, dev: &AccelDevice) -> Result<&SGTable> {
        match self.placement {
            Placement::Device | Placement::Userptr => return self.backend_pages(dev),
            Placement::Imported => return Err(EOPNOTSUPP),
            Placement::System => {}
        }
        // SAFETY: `shmem` is an initialised shmem object (type invariants); the helper
        // serialises itself with the reservation lock and caches the table in the object.
        let sgt = unsafe { bindings::drm_gem_shmem_get_pages_sgt(self.shmem.get()) };
        let sgt = from_err_ptr(sgt)?;
        // SAFETY: The helper keeps the table, unchanged, until `drm_gem_shmem_release()` in
        // `free`, which cannot run while `&self` is alive.
        Ok(unsafe { SGTable::from_raw(sgt) })
    }

    /// Bytes of the object's pages that are in memory now, for statistics.
    ///
    /// Counts the pages of the object's shmem file: they are allocated on first mapping and stay
    /// (holding the object's contents) until the object is freed or they are swapped out.
    pub(crate) fn resident_bytes(&self) -> u64 {
        // An imported object counts whole: its exporter holds the memory while it is attached;
        // a device object's blocks are allocated at creation, userptr pages pinned then.
        if self.placement != Placement::System {
            return self.size();
        }
        // SAFETY: A system object's `filp` is the shmem file `drm_gem_shmem_init()` created; it
        // and its `f_mapping` live as long as the object and never change. `nrpages` changes
        // under the mapping's lock; a lone racy read of an aligned word, as `READ_ONCE()` does,
        // is what statistics need.
        let pages = unsafe {
            let filp = (*self.gem()).filp;
            if filp.is_null() {
                return 0;
            }
            ptr::read_volatile(&raw const (*(*filp).f_mapping).nrpages)
        };
        (pages as u64)
            .saturating_mul(PAGE_SIZE as u64)
            .min(self.size())
    }

    /// Whether a system object's pages are pinned (by dma-buf importers or VM binds), for
    /// statistics.
    pub(crate) fn shmem_pinned(&self) -> bool {
        if self.placement != Placement::System {
            return false;
        }
        // SAFETY: A system object's shmem state lives as long as it; a lone racy read of the
        // counter is what statistics need.
        unsafe {
            ptr::read_volatile(&raw const (*self.shmem.get()).pages_pin_count.refs.counter) > 0
        }
    }

    /// Whether more than one file holds a handle to the object (or it was exported), as
    /// `drm_gem_object_is_shared_for_memory_stats()` decides, for statistics.
    pub(crate) fn is_shared(&self) -> bool {
        // SAFETY: `self.gem()` is live. Both fields change under DRM's locks; lone racy reads of
        // aligned words are what statistics need, as in the C helper.
        unsafe {
            let gem = self.gem();
            ptr::read_volatile(&raw const (*gem).handle_count) > 1
                || !ptr::read_volatile(&raw const (*gem).dma_buf).is_null()
        }
    }
}

// SAFETY: GEM reference counting keeps the object alive while any reference exists, and `free`
// runs only after the last one is dropped.
unsafe impl AlwaysRefCounted for Bo {
    fn inc_ref(&self) {
        // SAFETY: A shared reference proves the count is nonzero.
        unsafe { bindings::drm_gem_object_get(self.gem()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns to a live object.
        unsafe { bindings::drm_gem_object_put(obj.as_ref().gem()) };
    }
}

/// `free`: the last reference to a buffer object is gone.
extern "C" fn free(obj: *mut bindings::drm_gem_object) {
    // SAFETY: DRM calls `free` once per object, after its last reference is gone, and only for
    // objects with our funcs tables: the base of a `Bo` made by one of its constructors.
    let bo = unsafe { Bo::raw_from_gem(obj) };
    // SAFETY: Nobody else uses the object any more, so nothing uses its kernel mapping either;
    // it goes first, since the shmem helper refuses to release a mapped object.
    unsafe { (*bo).kernel_map.unmap(&*bo) };
    // SAFETY: Nobody else uses the object any more. The shmem helper releases a system
    // object's pages, shmem file, mmap offset and GEM state; an import is unmapped, detached
    // and its GEM state released. Neither frees the memory of the object itself.
    unsafe {
        match (*bo).placement {
            Placement::Imported => {
                import::release_import(obj);
                bindings::drm_gem_object_release(obj);
            }
            Placement::Device | Placement::Userptr => {
                // The sg table mapped for the backend's device goes before the memory.
                (*bo).state.get().backend_dma = None;
                bindings::drm_gem_object_release(obj)
            }
            Placement::System => bindings::drm_gem_shmem_release((*bo).shmem.get()),
        }
    }
    // SAFETY: The `Bo` was allocated by `KBox` in its constructor and this is the only place it
    // is reclaimed. Dropping it returns device-memory blocks (or unpins user pages), the charge
    // and the device reference, in that order.
    drop(unsafe { KBox::from_raw(bo) });
}

/// `open`: a handle to the object was created in `file`.
extern "C" fn open_handle(
    obj: *mut bindings::drm_gem_object,
    file: *mut bindings::drm_file,
) -> c_int {
    // SAFETY: DRM calls `open` for an object with our funcs table that the new handle holds a
    // reference to, and an open file of the object's device.
    let (bo, file) = unsafe { (Bo::from_gem_unchecked(obj), DrmFile::from_raw(file)) };
    file.state().handle_bytes().add(bo.region(), bo.size());
    0
}

/// `close`: a handle to the object was removed from `file`.
extern "C" fn close_handle(obj: *mut bindings::drm_gem_object, file: *mut bindings::drm_file) {
    // SAFETY: As in `open_handle`: DRM still holds the handle's reference during the call.
    let (bo, file) = unsafe { (Bo::from_gem_unchecked(obj), DrmFile::from_raw(file)) };
    file.state().handle_bytes().sub(bo.region(), bo.size());
}
