// SPDX-License-Identifier: GPL-2.0-only

//! KUnit only: an unregistered accel device on a faux parent, for the memory tests that need a
//! real `drm_device` (dma-buf export and import, device VMs).

use crate::{
    backend::{
        Capabilities, DeviceDesc, DeviceLayout, EngineClass, EngineDesc, ExportFallback,
        RegionBacking, RegionDesc, RegionKind,
    },
    device::AccelDevice,
    gem::prepare_dma_device,
};
use core::{ops::Range, ptr};
use kernel::{bindings, device, faux, prelude::*, sync::aref::ARef};

/// A test device description: one engine, one 1 MiB system region (id 0), `capabilities`
/// and the VA window `va_range`.
pub(crate) fn desc(capabilities: Capabilities, va_range: Range<u64>) -> Result<DeviceDesc> {
    let mut engines = KVec::new();
    engines.push(
        EngineDesc {
            name: c"e0",
            class: EngineClass::Compute,
            ring_credits: 1,
            nop: &[],
        },
        GFP_KERNEL,
    )?;
    let mut regions = KVec::new();
    regions.push(
        RegionDesc {
            name: c"system",
            kind: RegionKind::System,
            size: 1 << 20,
            cpu_visible: true,
            p2p: false,
            backing: RegionBacking::Shmem,
            fallback: ExportFallback::Refuse,
        },
        GFP_KERNEL,
    )?;
    Ok(DeviceDesc {
        engines,
        regions,
        capabilities,
        va_range,
    })
}

/// An unregistered device under `faux` described by `desc`; its parent gets a DMA mask as at
/// registration.
pub(crate) fn device_from(
    faux: &faux::Registration,
    desc: &DeviceDesc,
) -> Result<ARef<AccelDevice>> {
    let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
    let layout = DeviceLayout::new(desc, parent)?;
    let raw = ptr::from_ref(parent).cast::<bindings::device>().cast_mut();
    // SAFETY: The faux device is bound and nothing maps DMA for it.
    unsafe { prepare_dma_device(raw) }?;
    let exec = crate::execution::Execution::idle()?;
    AccelDevice::create(
        parent,
        c"kunit",
        c"xaccel KUnit device",
        layout,
        exec,
        None,
        None,
    )
}

/// An unregistered device under `faux` described by [`desc`] with no VA window, declaring the
/// P2P capability if `p2p`.
pub(crate) fn device(faux: &faux::Registration, p2p: bool) -> Result<ARef<AccelDevice>> {
    device_from(faux, &desc(Capabilities { mmu: false, p2p }, 0..0)?)
}

/// An unregistered device under `faux` described by [`desc`], plus a device-memory region (id 1)
/// of `size` bytes of core pages, CPU-visible or not, reachable peer-to-peer only (`p2p`) or by
/// everyone, with `fallback` for the importers that cannot reach it.
pub(crate) fn device_with_local(
    faux: &faux::Registration,
    size: u64,
    cpu_visible: bool,
    p2p: bool,
    fallback: ExportFallback,
) -> Result<ARef<AccelDevice>> {
    let mut desc = desc(Capabilities::default(), 0..0)?;
    desc.regions.push(
        RegionDesc {
            name: c"local",
            kind: RegionKind::Device,
            size,
            cpu_visible,
            p2p,
            backing: RegionBacking::CorePages,
            fallback,
        },
        GFP_KERNEL,
    )?;
    device_from(faux, &desc)
}
