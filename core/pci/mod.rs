// SPDX-License-Identifier: GPL-2.0-only

//! PCI support for the backends of PCI devices: what `kernel::pci`, `kernel::irq` and
//! `kernel::dma` do not offer a backend without `unsafe`.
//!
//! - [`enable`]: managed enabling of the function and claiming of its BARs;
//! - [`set_dma_mask`]: the streaming and coherent DMA mask, at probe;
//! - [`bar_bus_address`]: where a BAR sits on the PCI bus (what a peer device's DMA uses),
//!   for devices that must be told their own address;
//! - [`IoMem`]: a range of a BAR mapped uncached or write-combined, with bounds-checked
//!   accessors, held in a [`Devres`] so that the mapping goes away when the driver unbinds
//!   (later accesses fail with `ENXIO`);
//! - [`Msix`]: MSI-X vectors and a hard-interrupt handler on some of them;
//! - [`DmaBuffer`]: coherent DMA memory with bounds-checked accessors (rings, completion and
//!   event queues the device writes).
//!
//! Locking: none of its own. An [`IoMem`] and a [`DmaBuffer`] are shared memory: concurrent
//! accesses are the caller's protocol with the device, each accessor is one access.
//!
//! [`Devres`]: kernel::devres::Devres

mod dma;
mod iomem;
mod irq;

pub use dma::DmaBuffer;
pub use iomem::{Caching, IoMem};
pub use irq::{Msix, MsixHandler};

use kernel::{
    bindings,
    device::{Bound, Core},
    error::to_result,
    pci,
    prelude::*,
};

/// Enables the function's memory decoding and claims all its BARs for `name`, both undone
/// automatically when the driver unbinds (`pcim_enable_device()`, `pcim_request_all_regions()`).
pub fn enable(pdev: &pci::Device<Core<'_>>, name: &'static CStr) -> Result {
    let raw = raw(pdev);
    // SAFETY: `raw` is the `struct pci_dev` of a device in probe (`Core`), the context
    // `pcim_enable_device()` is for; the managed undo runs at unbind.
    to_result(unsafe { bindings::pcim_enable_device(raw) })?;
    // SAFETY: As above; `name` is a static NUL-terminated string, as the resource needs.
    to_result(unsafe { bindings::pcim_request_all_regions(raw, name.as_char_ptr()) })
}

/// Sets the function's streaming and coherent DMA masks to `bits` address bits.
///
/// Call it in probe before the first DMA allocation or mapping for the device.
pub fn set_dma_mask(pdev: &pci::Device<Core<'_>>, bits: u32) -> Result {
    if !(32..=64).contains(&bits) {
        return Err(EINVAL);
    }
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    // SAFETY: `raw(pdev)` embeds a valid bound device. The `Core` context means we run in probe
    // (or remove) with the device lock held, before the driver has published the device to anyone
    // who could allocate or map DMA memory for it concurrently.
    to_result(unsafe { bindings::dma_set_mask_and_coherent(&raw mut (*raw(pdev)).dev, mask) })
}

/// The PCI bus address of BAR `bar` (`pci_bus_address()`): where its first byte sits on the
/// bus, which is what a peer device's DMA reaches it at (it may differ from the CPU physical
/// address the resource has, on hosts that translate between them).
///
/// Errors: `EINVAL` for a BAR index out of range, `ENODEV` for a BAR with no space assigned.
pub fn bar_bus_address(pdev: &pci::Device<Bound>, bar: u32) -> Result<u64> {
    // `resource_len()` checks the index (`EINVAL`), so `bar` indexes `resource[]` below.
    if pdev.resource_len(bar)? == 0 {
        return Err(ENODEV);
    }
    let raw = raw(pdev);
    let mut region = bindings::pci_bus_region { start: 0, end: 0 };
    // SAFETY: `raw` is a bound PCI device, so `bus` is its live bus and `resource[bar]` (a
    // valid index, checked above) its assigned BAR, which cannot be reassigned while a driver
    // is bound. `pcibios_resource_to_bus()` only reads them and writes `region`, a local.
    unsafe {
        bindings::pcibios_resource_to_bus(
            (*raw).bus,
            &mut region,
            &raw mut (*raw).resource[bar as usize],
        )
    };
    Ok(region.start)
}

/// The C `struct pci_dev` of `pdev`.
fn raw<Ctx: kernel::device::DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    // `pci::Device` is a transparent wrapper of `struct pci_dev`.
    core::ptr::from_ref(pdev)
        .cast::<bindings::pci_dev>()
        .cast_mut()
}
