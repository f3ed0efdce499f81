// SPDX-License-Identifier: GPL-2.0-only

//! Device memory behind a PCI BAR: the backing of a [`RegionBacking::PciBar`] region.
//!
//! The core finds the BAR on the PCI device the backend registered ([`BarMemory::new`]) and
//! keeps three views of the region:
//!
//! - a write-combined kernel mapping ([`IoMem`] in a [`Devres`], gone when the driver unbinds),
//!   to zero new buffer objects and to copy them out when they migrate;
//! - the CPU physical address, whose page frames CPU mappings insert write-combined on fault
//!   ([`BarMemory::insert`]);
//! - the BAR's p2pdma provider (`pcim_p2pdma_provider()`), which says which dma-buf importers
//!   reach the BAR peer-to-peer ([`BarMemory::reachable`], `pci_p2pdma_distance()`) and maps it
//!   for them
//!   ([`BarMemory::map_for`], `dma_buf_phys_vec_to_sgt()`).
//!
//! Offsets are bytes from the start of the region; the backend's device reaches offset `o` at
//! device address `device_base + o` ([`BarMemory::device_addr`]).
//!
//! Every access to the BAR goes through the `Devres` (the kernel mapping) or happens while the
//! device is registered: faults, exports and the provider are refused once the device is
//! unplugged (`pages`, `export_pages`), which happens before the driver's managed resources go.
//!
//! Locking: none of its own; the kernel mapping is shared memory.
//!
//! [`RegionBacking::PciBar`]: crate::backend::RegionBacking::PciBar

use crate::pci::{Caching, IoMem};
use kernel::{
    bindings,
    device::{self, Bound},
    devres::Devres,
    ffi::{c_int, c_uint, c_ulong},
    page::PAGE_SIZE,
    pci,
    prelude::*,
};

// The C structs behind these pointers contain zero-sized members; they are only passed along.
#[allow(improper_ctypes)]
extern "C" {
    fn xaccel_bar_provider(
        pdev: *mut bindings::pci_dev,
        bar: c_int,
    ) -> *mut bindings::p2pdma_provider;
    fn xaccel_bar_reachable(
        provider: *mut bindings::p2pdma_provider,
        dev: *mut bindings::device,
    ) -> bool;
    fn xaccel_bar_map(
        attach: *mut bindings::dma_buf_attachment,
        provider: *mut bindings::p2pdma_provider,
        phys: *const u64,
        len: *const u64,
        count: c_uint,
        size: u64,
    ) -> *mut bindings::sg_table;
    fn xaccel_bar_unmap(attach: *mut bindings::dma_buf_attachment, sgt: *mut bindings::sg_table);
    fn xaccel_sgt_is_mmio(sgt: *mut bindings::sg_table) -> bool;
    fn xaccel_bar_insert(vmf: *mut bindings::vm_fault, pfn: c_ulong) -> c_uint;
}

/// The region of a PCI BAR that backs one device-memory region.
///
/// # Invariants
///
/// `phys` is the CPU physical address of byte 0 of a range of `size` bytes of a memory BAR of
/// the PCI device the region was declared for; `kernel` maps the same range. `provider` is null
/// or that BAR's p2pdma provider, valid while the device's driver is bound.
pub(crate) struct BarMemory {
    kernel: Devres<IoMem>,
    phys: u64,
    size: u64,
    device_base: u64,
    provider: *mut bindings::p2pdma_provider,
}

// SAFETY: The provider pointer is only passed to thread-safe p2pdma functions; the rest is plain
// data and a `Devres`.
unsafe impl Send for BarMemory {}
// SAFETY: As above: no method mutates `self`.
unsafe impl Sync for BarMemory {}

impl BarMemory {
    /// Bytes `[offset, offset + size)` of BAR `bar` of `parent`, which must be a PCI device whose
    /// BARs its driver claimed; the backend's device reaches byte `o` at `device_base + o`.
    ///
    /// Errors: `EINVAL` if `parent` is not a PCI device, the BAR is not memory, or the range is
    /// empty, not page-aligned or outside the BAR; `ENOMEM`.
    pub(crate) fn new(
        parent: &device::Device<Bound>,
        bar: u32,
        offset: u64,
        size: u64,
        device_base: u64,
    ) -> Result<Self> {
        let pdev: &pci::Device<Bound> = parent.try_into()?;
        let page = PAGE_SIZE as u64;
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        let start = pdev.resource_start(bar)?;
        if size == 0 || offset % page != 0 || size % page != 0 || start % page != 0 {
            return Err(EINVAL);
        }
        if end > pdev.resource_len(bar)? || device_base.checked_add(size).is_none() {
            return Err(EINVAL);
        }
        let kernel = IoMem::map(
            pdev,
            bar,
            usize::try_from(offset)?,
            usize::try_from(size)?,
            Caching::WriteCombined,
        )?;
        let raw = core::ptr::from_ref(pdev)
            .cast::<bindings::pci_dev>()
            .cast_mut();
        // SAFETY: `raw` is a bound PCI device (`pdev`), the context the managed p2pdma setup is
        // for; `bar` is a valid BAR index (it has a start and a length).
        let provider = unsafe { xaccel_bar_provider(raw, bar as c_int) };
        // INVARIANT: `phys` and `kernel` cover the same checked range of the BAR; `provider` is
        // null or the BAR's provider, released at unbind.
        Ok(Self {
            kernel,
            phys: start + offset,
            size,
            device_base,
            provider,
        })
    }

    /// The device address of byte `offset` of the region.
    pub(crate) fn device_addr(&self, offset: u64) -> u64 {
        self.device_base + offset
    }

    /// Zeroes `[offset, offset + len)`. `ENXIO` once the driver unbound, `EINVAL` outside.
    pub(crate) fn zero(&self, offset: u64, len: u64) -> Result {
        /// Bytes zeroed per access to the mapping (an RCU read section each).
        const CHUNK: usize = 64 << 10;
        let zeroes = [0u8; 256];
        let end = usize::try_from(offset.checked_add(len).ok_or(EINVAL)?)?;
        let mut at = usize::try_from(offset)?;
        while at < end {
            let chunk_end = end.min(at + CHUNK);
            let kernel = self.kernel.try_access().ok_or(ENXIO)?;
            while at < chunk_end {
                let n = (chunk_end - at).min(zeroes.len());
                kernel.write_bytes(at, &zeroes[..n])?;
                at += n;
            }
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`. `ENXIO` once the driver unbound.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> Result {
        let kernel = self.kernel.try_access().ok_or(ENXIO)?;
        kernel.read_bytes(usize::try_from(offset)?, buf)
    }

    /// Inserts the page at `offset` into a faulting CPU mapping, write-combined; returns the
    /// `vm_fault_t`.
    ///
    /// # Safety
    ///
    /// `vmf` must be the fault being handled, of a `VM_PFNMAP` mapping, and the driver must
    /// still be bound (the device registered).
    pub(crate) unsafe fn insert(&self, vmf: *mut bindings::vm_fault, offset: u64) -> c_uint {
        const SIGBUS: c_uint = bindings::vm_fault_reason_VM_FAULT_SIGBUS as c_uint;
        if offset >= self.size {
            return SIGBUS;
        }
        let pfn = (self.phys + offset) / PAGE_SIZE as u64;
        // SAFETY: By the safety requirements; `pfn` is a page of the BAR (type invariants).
        unsafe { xaccel_bar_insert(vmf, pfn as c_ulong) }
    }

    /// Whether device `dev` reaches the BAR peer-to-peer (`pci_p2pdma_distance()`: through a
    /// PCI switch or an allowed host bridge). Call only while the device is registered.
    pub(crate) fn reachable(&self, dev: *mut bindings::device) -> bool {
        // SAFETY: A non-null provider is valid while the driver is bound (type invariants), which
        // the caller guarantees; `dev` is a live device.
        !self.provider.is_null() && unsafe { xaccel_bar_reachable(self.provider, dev) }
    }

    /// An sg table of the byte ranges `(offset, len)` of the region, in order, with the bus
    /// addresses `attach`'s device reaches them at. Freed by [`unmap_for`].
    ///
    /// # Safety
    ///
    /// The dma-buf's reservation lock must be held and the device registered; the importer must
    /// reach the BAR ([`BarMemory::reachable`]).
    pub(crate) unsafe fn map_for(
        &self,
        attach: *mut bindings::dma_buf_attachment,
        ranges: &[(u64, u64)],
    ) -> Result<*mut bindings::sg_table> {
        if self.provider.is_null() {
            return Err(EREMOTEIO);
        }
        let mut phys = KVec::with_capacity(ranges.len(), GFP_KERNEL)?;
        let mut lens = KVec::with_capacity(ranges.len(), GFP_KERNEL)?;
        let mut size = 0u64;
        for &(offset, len) in ranges {
            if offset.checked_add(len).is_none_or(|end| end > self.size) {
                return Err(EINVAL);
            }
            phys.push(self.phys + offset, GFP_KERNEL)?;
            lens.push(len, GFP_KERNEL)?;
            size += len;
        }
        let count = c_uint::try_from(ranges.len())?;
        // SAFETY: The arrays hold `count` ranges inside the BAR (checked above); the provider is
        // valid (registered device) and the lock held, by the safety requirements.
        let sgt = unsafe {
            xaccel_bar_map(
                attach,
                self.provider,
                phys.as_ptr(),
                lens.as_ptr(),
                count,
                size,
            )
        };
        kernel::error::from_err_ptr(sgt)
    }
}

/// Whether `sgt`, an importer's table of ours, maps BAR memory ([`BarMemory::map_for`]) rather
/// than pages.
///
/// # Safety
///
/// `sgt` must be a live sg table.
pub(crate) unsafe fn is_bar_table(sgt: *mut bindings::sg_table) -> bool {
    // SAFETY: By the safety requirements.
    unsafe { xaccel_sgt_is_mmio(sgt) }
}

/// Frees a table made by [`BarMemory::map_for`] for `attach`.
///
/// # Safety
///
/// `sgt` must come from `map_for(attach, ..)` and not be used afterwards.
pub(crate) unsafe fn unmap_for(
    attach: *mut bindings::dma_buf_attachment,
    sgt: *mut bindings::sg_table,
) {
    // SAFETY: By the safety requirements.
    unsafe { xaccel_bar_unmap(attach, sgt) };
}
