// SPDX-License-Identifier: GPL-2.0-only

//! Coherent DMA memory a device and the CPU share, with bounds-checked accessors.

use kernel::{bindings, device, prelude::*, sync::aref::ARef};

/// `size` bytes of coherent DMA memory of a device.
///
/// # Invariants
///
/// `cpu` is the kernel address and `dma` the device address of a live `dma_alloc_coherent()`
/// allocation of `size` bytes for `dev`, freed only by our drop.
pub struct DmaBuffer {
    dev: ARef<device::Device>,
    cpu: *mut u8,
    dma: bindings::dma_addr_t,
    size: usize,
}

// SAFETY: The buffer is plain memory shared with the device; every accessor is a volatile
// access or a copy through raw pointers, safe from any thread.
unsafe impl Send for DmaBuffer {}
// SAFETY: As above; no accessor takes `&mut self`.
unsafe impl Sync for DmaBuffer {}

impl DmaBuffer {
    /// Allocates `size` zeroed bytes (at least one) for `dev`, which must be bound.
    pub fn new(dev: &device::Device<device::Bound>, size: usize) -> Result<Self> {
        if size == 0 {
            return Err(EINVAL);
        }
        let mut dma: bindings::dma_addr_t = 0;
        // `device::Device` is a transparent wrapper of `struct device`.
        let raw = core::ptr::from_ref(dev)
            .cast::<bindings::device>()
            .cast_mut();
        // SAFETY: `raw` is a bound device; `dma` is a valid out pointer. The memory comes
        // zeroed (`dma_alloc_attrs` zeroes coherent allocations).
        let cpu =
            unsafe { bindings::dma_alloc_attrs(raw, size, &mut dma, bindings::GFP_KERNEL, 0) };
        if cpu.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: A live allocation of `size` bytes, freed in drop.
        Ok(Self {
            dev: dev.into(),
            cpu: cpu.cast(),
            dma,
            size,
        })
    }

    /// The address the device reaches the buffer at.
    pub fn dma_address(&self) -> u64 {
        self.dma
    }

    /// The size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A pointer to `[offset, offset + len)`, which must be inside the buffer and aligned to
    /// `align`.
    fn at(&self, offset: usize, len: usize, align: usize) -> Result<*mut u8> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.size || offset % align != 0 {
            return Err(EINVAL);
        }
        // In bounds: `offset + len <= size`.
        Ok(self.cpu.wrapping_add(offset))
    }

    /// Reads the little-endian `u32` at `offset` (aligned), as the device last wrote it.
    pub fn read32(&self, offset: usize) -> Result<u32> {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: An aligned 4-byte location inside the live allocation (type invariant); the
        // device may write it concurrently, hence the volatile access.
        Ok(u32::from_le(unsafe { p.cast::<u32>().read_volatile() }))
    }

    /// Writes the little-endian `u32` at `offset` (aligned).
    pub fn write32(&self, offset: usize, value: u32) -> Result {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: As in `read32`.
        unsafe { p.cast::<u32>().write_volatile(value.to_le()) };
        Ok(())
    }

    /// Reads the little-endian `u64` at `offset` (aligned).
    pub fn read64(&self, offset: usize) -> Result<u64> {
        let p = self.at(offset, 8, 8)?;
        // SAFETY: An aligned 8-byte location inside the live allocation.
        Ok(u64::from_le(unsafe { p.cast::<u64>().read_volatile() }))
    }

    /// Copies `buf` to `offset`.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> Result {
        let p = self.at(offset, buf.len(), 1)?;
        // SAFETY: `[offset, offset + buf.len())` is inside the allocation, which `buf` (a Rust
        // slice) cannot overlap.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), p, buf.len()) };
        Ok(())
    }

    /// Copies `[offset, offset + buf.len())` into `buf`.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result {
        let p = self.at(offset, buf.len(), 1)?;
        // SAFETY: As in `write_bytes`, the other way.
        unsafe { core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Fills the whole buffer with zeroes.
    pub fn zero(&self) {
        // SAFETY: The whole live allocation.
        unsafe { core::ptr::write_bytes(self.cpu, 0, self.size) };
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        let raw = core::ptr::from_ref(&*self.dev)
            .cast::<bindings::device>()
            .cast_mut();
        // SAFETY: By the type invariant the allocation is live and belongs to `dev`; freeing it
        // after the driver unbound is allowed (the reference keeps `dev` itself alive).
        unsafe { bindings::dma_free_attrs(raw, self.size, self.cpu.cast(), self.dma, 0) };
    }
}
