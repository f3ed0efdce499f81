// SPDX-License-Identifier: GPL-2.0-only

//! CPU faults of system-memory buffer objects: the shmem helper's, with fault-around.
//!
//! The shmem helper maps one page per fault: a buffer written from start to end takes a fault
//! per page, and a second one (`pfn_mkwrite`) when that page is first written. As TTM does
//! (`TTM_BO_VM_NUM_PREFAULT`), a fault here maps up to [`PREFAULT`] pages from the faulting one
//! on, within the object and the mapping. A write fault maps them writable and marks them dirty
//! at once, as the helper itself does for the 2 MiB folio of a huge-page fault; a read fault
//! maps them read-only, so that their first write still goes through the helper's
//! `pfn_mkwrite`, which marks the page dirty. Pages already mapped are left as they are.
//!
//! The operations are the helper's (`drm_gem_shmem_vm_ops`: open, close, `pfn_mkwrite`, the
//! huge-page fault) but for `.fault`: `shmem_c.c` copies them at module init, since the helper
//! exports only the table.
//!
//! `tools/bench` `bo-64m` measures it: 64 MiB objects written page by page, against vgem, whose
//! faults are the helper's.

use kernel::{
    bindings,
    ffi::c_uint,
    page::{PAGE_SHIFT, PAGE_SIZE},
};

/// How many pages one fault maps at most (TTM's `TTM_BO_VM_NUM_PREFAULT`).
const PREFAULT: usize = 16;

// The C structs behind these pointers contain zero-sized members; they are only passed along.
#[allow(improper_ctypes)]
extern "C" {
    /// The helper's operations with [`xaccel_shmem_fault`] (`shmem_c.c`); set by
    /// [`init_vm_ops`].
    pub(super) static xaccel_shmem_vm_ops: bindings::vm_operations_struct;
    fn xaccel_shmem_vm_ops_init();
    /// Maps `page` at `address` of the faulting mapping, writable and dirty if `write`:
    /// `VM_FAULT_NOPAGE` when mapped (or already present), another fault result if not.
    fn xaccel_shmem_insert(
        vmf: *mut bindings::vm_fault,
        address: usize,
        page: *mut bindings::page,
        write: bool,
    ) -> c_uint;
    /// How many pages the faulting mapping has from the faulting one to its end.
    fn xaccel_shmem_pages_to_end(vmf: *mut bindings::vm_fault) -> usize;
}

/// Fills [`xaccel_shmem_vm_ops`]; module init, before any object exists.
pub(crate) fn init_vm_ops() {
    // SAFETY: Called once from module init, before any mapping can use the table.
    unsafe { xaccel_shmem_vm_ops_init() };
}

/// `vm_operations_struct.fault` of system objects; see the module documentation.
///
/// `SIGBUS` beyond the object or once it is purged, as the helper's.
#[no_mangle]
pub(crate) extern "C" fn xaccel_shmem_fault(vmf: *mut bindings::vm_fault) -> c_uint {
    const SIGBUS: c_uint = bindings::vm_fault_reason_VM_FAULT_SIGBUS as c_uint;
    const NOPAGE: c_uint = bindings::vm_fault_reason_VM_FAULT_NOPAGE as c_uint;
    // SAFETY: The fault handler runs with the mapping's `mmap_lock` held; the mapping holds a
    // reference to the object in `vm_private_data` (DRM's `vm_open`/`vm_close`). These
    // operations are only installed by `SYSTEM_FUNCS`, whose objects embed a shmem object, and
    // `base` is its first member.
    let (vma, shmem, index, address, pages_to_end, write) = unsafe {
        let vma = (*vmf).__bindgen_anon_1.vma;
        let obj = (*vma).vm_private_data.cast::<bindings::drm_gem_object>();
        let shmem = kernel::container_of!(obj, bindings::drm_gem_shmem_object, base);
        let index = (*vmf).__bindgen_anon_1.pgoff.wrapping_sub((*vma).vm_pgoff);
        let write = (*vmf).flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0;
        let to_end = xaccel_shmem_pages_to_end(vmf);
        (
            vma,
            shmem,
            index,
            (*vmf).__bindgen_anon_1.address,
            to_end,
            write,
        )
    };
    // SAFETY: As above, `shmem` is live.
    let resv = unsafe { (*shmem).base.resv };
    // SAFETY: `resv` is the object's reservation object; without an acquire context the lock
    // cannot fail with `EDEADLK`. It is unlocked below.
    let _ = unsafe { bindings::dma_resv_lock(resv, core::ptr::null_mut()) };
    // SAFETY: The reservation lock guards `pages` and `madv` (the helper's rules).
    let (pages, purged, count) = unsafe {
        (
            (*shmem).pages,
            (*shmem).madv < 0,
            (*shmem).base.size >> PAGE_SHIFT,
        )
    };
    let mut ret = SIGBUS;
    if !pages.is_null() && !purged && index < count {
        if write {
            // SAFETY: `vma` is the faulting mapping, of the device's file.
            let _ = unsafe { bindings::file_update_time((*vma).vm_file) };
        }
        for i in 0..PREFAULT.min(count - index).min(pages_to_end) {
            // SAFETY: `index + i < count`, and `pages` holds the object's `count` pages while
            // the reservation lock is held (the mapping keeps them pinned). `address + i` pages
            // is inside the faulting mapping (`pages_to_end`), at the page's offset.
            let inserted = unsafe {
                let page = *pages.add(index + i);
                xaccel_shmem_insert(vmf, address + i * PAGE_SIZE, page, write)
            };
            if i == 0 {
                ret = inserted;
            }
            // Stop at the first page that could not be mapped; only the faulting one counts.
            if inserted != NOPAGE {
                break;
            }
        }
    }
    // SAFETY: Locked above.
    unsafe { bindings::dma_resv_unlock(resv) };
    ret
}
