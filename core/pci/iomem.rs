// SPDX-License-Identifier: GPL-2.0-only

//! A range of a PCI BAR mapped into the kernel, uncached (registers) or write-combined
//! (device memory), with bounds-checked accessors.

use super::raw;
use kernel::{
    bindings, device::Bound, devres::Devres, ffi::c_void, pci, prelude::*, sync::aref::ARef,
};

/// How the CPU maps a BAR range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// Registers: every access reaches the device, in order (`pci_iomap_range()`).
    Uncached,
    /// Device memory: writes may be combined and reordered until a barrier
    /// (`pci_iomap_wc_range()`).
    WriteCombined,
}

/// `len` bytes of a BAR mapped at `addr`.
///
/// # Invariants
///
/// `addr` is the `__iomem` mapping of `len` bytes of a BAR of `pdev`, made by `pci_iomap*_range()`
/// and unmapped by our drop, which runs at the latest when the driver unbinds (the value lives
/// in a [`Devres`]).
pub struct IoMem {
    pdev: ARef<pci::Device>,
    addr: *mut c_void,
    len: usize,
}

// SAFETY: The mapping is plain MMIO; the accessors are single `readX`/`writeX` calls or
// `memcpy_*io`, which are safe from any thread.
unsafe impl Send for IoMem {}
// SAFETY: As above: no accessor takes `&mut self`.
unsafe impl Sync for IoMem {}

impl IoMem {
    /// Maps `[offset, offset + len)` of BAR `bar` (`len` 0: to the end of the BAR); unmapped
    /// when the driver unbinds. The caller claimed the BAR ([`super::enable`]).
    ///
    /// Errors: `EINVAL` for a range outside the BAR or a BAR that is not memory, `ENOMEM`.
    pub fn map(
        pdev: &pci::Device<Bound>,
        bar: u32,
        offset: usize,
        len: usize,
        caching: Caching,
    ) -> Result<Devres<Self>> {
        let bar_len = usize::try_from(pdev.resource_len(bar)?)?;
        let len = if len == 0 {
            bar_len.checked_sub(offset).ok_or(EINVAL)?
        } else {
            len
        };
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if len == 0 || end > bar_len {
            return Err(EINVAL);
        }
        let bar_c = i32::try_from(bar)?;
        // SAFETY: `raw(pdev)` is a bound PCI device; `bar` is a valid BAR index (it has a length)
        // and `[offset, offset + len)` lies inside it, as the functions require.
        let addr = unsafe {
            match caching {
                Caching::Uncached => bindings::pci_iomap_range(raw(pdev), bar_c, offset, len),
                Caching::WriteCombined => {
                    bindings::pci_iomap_wc_range(raw(pdev), bar_c, offset, len)
                }
            }
        };
        if addr.is_null() {
            return Err(ENOMEM);
        }
        let dev: &pci::Device = pdev;
        // INVARIANT: `addr` maps `len` bytes of the BAR; the `Devres` drops it at unbind.
        let mem = Self {
            pdev: dev.into(),
            addr,
            len,
        };
        Devres::new(pdev.as_ref(), Ok::<_, Error>(mem))
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: a mapping has at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of `[offset, offset + size)`, which must be inside the mapping and aligned
    /// to `size`.
    fn at(&self, offset: usize, size: usize) -> Result<*mut c_void> {
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        if end > self.len || offset % size != 0 {
            return Err(EINVAL);
        }
        // The offset is inside the mapping, so the result stays in it.
        Ok(self.addr.wrapping_byte_add(offset))
    }

    /// Reads the 32-bit register at `offset` (`readl()`). `EINVAL` outside or misaligned.
    pub fn read32(&self, offset: usize) -> Result<u32> {
        let p = self.at(offset, 4)?;
        // SAFETY: `p` is an aligned 4-byte location inside the mapping (type invariant).
        Ok(unsafe { bindings::readl(p) })
    }

    /// Writes the 32-bit register at `offset` (`writel()`, ordered after earlier memory writes).
    pub fn write32(&self, offset: usize, value: u32) -> Result {
        let p = self.at(offset, 4)?;
        // SAFETY: As in `read32`.
        unsafe { bindings::writel(value, p) };
        Ok(())
    }

    /// Reads the 64-bit register at `offset` with one access (`readq()`).
    pub fn read64(&self, offset: usize) -> Result<u64> {
        let p = self.at(offset, 8)?;
        // SAFETY: An aligned 8-byte location inside the mapping.
        Ok(unsafe { bindings::readq(p) })
    }

    /// Writes the 64-bit register at `offset` with one access (`writeq()`).
    pub fn write64(&self, offset: usize, value: u64) -> Result {
        let p = self.at(offset, 8)?;
        // SAFETY: As in `read64`.
        unsafe { bindings::writeq(value, p) };
        Ok(())
    }

    /// Copies `buf.len()` bytes from `offset` into `buf` (`memcpy_fromio()`).
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result {
        let p = self.at(offset, 1)?;
        if buf.len() > self.len - offset {
            return Err(EINVAL);
        }
        // SAFETY: `[offset, offset + buf.len())` is inside the mapping; `buf` is writable.
        unsafe { bindings::memcpy_fromio(buf.as_mut_ptr().cast(), p, buf.len()) };
        Ok(())
    }

    /// Copies `buf` to `offset` (`memcpy_toio()`).
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> Result {
        let p = self.at(offset, 1)?;
        if buf.len() > self.len - offset {
            return Err(EINVAL);
        }
        // SAFETY: `[offset, offset + buf.len())` is inside the mapping; `buf` is readable.
        unsafe { bindings::memcpy_toio(p, buf.as_ptr().cast(), buf.len()) };
        Ok(())
    }
}

impl Drop for IoMem {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `addr` is a live `pci_iomap*_range()` mapping of `pdev`,
        // unmapped only here.
        unsafe { bindings::pci_iounmap(raw(&self.pdev), self.addr) };
    }
}
