// SPDX-License-Identifier: GPL-2.0-only

//! KUnit only: an unregistered accel device on a faux parent, for the memory tests that need a
//! real `drm_device` (dma-buf export and import).

use crate::{
    backend::{
        Capabilities, DeviceDesc, DeviceLayout, EngineClass, EngineDesc, RegionDesc, RegionKind,
    },
    device::AccelDevice,
    gem::prepare_dma_device,
};
use core::ptr;
use kernel::{bindings, device, faux, prelude::*, sync::aref::ARef};

/// An unregistered device under `faux` with one 1 MiB system region (id 0), declaring the P2P
/// capability if `p2p`; its parent gets a DMA mask as at registration.
pub(crate) fn device(faux: &faux::Registration, p2p: bool) -> Result<ARef<AccelDevice>> {
    let mut engines = KVec::new();
    engines.push(
        EngineDesc {
            name: c"e0",
            class: EngineClass::Compute,
            ring_credits: 1,
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
        },
        GFP_KERNEL,
    )?;
    let layout = DeviceLayout::new(&DeviceDesc {
        engines,
        regions,
        capabilities: Capabilities { mmu: false, p2p },
        va_range: 0..0,
    })?;
    let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
    let raw = ptr::from_ref(parent).cast::<bindings::device>().cast_mut();
    // SAFETY: The faux device is bound and nothing maps DMA for it.
    unsafe { prepare_dma_device(raw) }?;
    let exec = crate::execution::Execution::idle()?;
    AccelDevice::create(parent, c"kunit", c"xaccel KUnit device", layout, exec, None)
}
