// SPDX-License-Identifier: GPL-2.0-only
//! Typed results of the QUERY ioctl: [`DeviceInfo`], [`EngineInfo`],
//! [`NopInfo`] and [`RegionInfo`], converted from the raw `drm_xaccel_*`
//! structs. All are `serde::Serialize` so tools can print them as JSON.

use serde::Serialize;
use xaccel_uapi::{
    drm_xaccel_device_info, drm_xaccel_engine_info, drm_xaccel_nop_info, drm_xaccel_region_info,
};

use crate::types::{decode_name, Capabilities, EngineClass, RegionFlags, RegionKind};

/// The answer to `DRM_XACCEL_QUERY_DEVICE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// Backend (driver) name, as `DRM_IOCTL_VERSION` reports it.
    pub backend: String,
    /// uAPI major version of the running kernel.
    pub uapi_major: u32,
    /// uAPI minor version of the running kernel.
    pub uapi_minor: u32,
    /// Number of engines.
    pub engine_count: u32,
    /// Number of memory regions.
    pub region_count: u32,
    /// What the device can do.
    pub capabilities: Capabilities,
    /// First usable device virtual address.
    pub va_start: u64,
    /// Size of the device virtual address space, 0 if none.
    pub va_size: u64,
    /// Engine and device resets since the device appeared.
    pub reset_count: u64,
}

impl From<&drm_xaccel_device_info> for DeviceInfo {
    fn from(raw: &drm_xaccel_device_info) -> Self {
        Self {
            backend: decode_name(&raw.backend),
            uapi_major: raw.uapi_major,
            uapi_minor: raw.uapi_minor,
            engine_count: raw.engine_count,
            region_count: raw.region_count,
            capabilities: Capabilities::from_bits_retain(raw.capabilities),
            va_start: raw.va_start,
            va_size: raw.va_size,
            reset_count: raw.reset_count,
        }
    }
}

/// One engine, from `DRM_XACCEL_QUERY_ENGINES`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineInfo {
    /// Engine index, as used when creating contexts.
    pub id: u32,
    /// Engine name.
    pub name: String,
    /// What the engine does.
    pub class: EngineClass,
    /// How much work the engine's ring holds at once.
    pub ring_credits: u32,
}

impl From<&drm_xaccel_engine_info> for EngineInfo {
    fn from(raw: &drm_xaccel_engine_info) -> Self {
        Self {
            id: raw.id,
            name: decode_name(&raw.name),
            class: raw.engine_class.into(),
            ring_credits: raw.ring_credits,
        }
    }
}

/// One engine's NOP, from `DRM_XACCEL_QUERY_NOPS` (uAPI 0.11): the command buffer of a job
/// that does nothing on that engine, in its own format, for running jobs on any backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NopInfo {
    /// Engine index.
    pub engine: u32,
    /// The command buffer; empty if the engine has no NOP.
    pub cmd: Vec<u8>,
}

impl From<&drm_xaccel_nop_info> for NopInfo {
    fn from(raw: &drm_xaccel_nop_info) -> Self {
        // A size beyond the array (a kernel bug) keeps the whole array.
        let len = (raw.size as usize).min(raw.cmd.len());
        Self {
            engine: raw.engine,
            cmd: raw.cmd[..len].to_vec(),
        }
    }
}

/// One memory region, from `DRM_XACCEL_QUERY_REGIONS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegionInfo {
    /// Region index, as used when creating buffer objects.
    pub id: u32,
    /// Region name.
    pub name: String,
    /// Where the region lives.
    pub kind: RegionKind,
    /// Region flags.
    pub flags: RegionFlags,
    /// Size in bytes; for system memory, the limit on allocations.
    pub size: u64,
    /// Bytes allocated now.
    pub used: u64,
}

impl From<&drm_xaccel_region_info> for RegionInfo {
    fn from(raw: &drm_xaccel_region_info) -> Self {
        Self {
            id: raw.id,
            name: decode_name(&raw.name),
            kind: raw.kind.into(),
            flags: RegionFlags::from_bits_retain(raw.flags),
            size: raw.size,
            used: raw.used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xaccel_uapi as uapi;

    fn name16(s: &str) -> [u8; 16] {
        let mut out = [0; 16];
        out[..s.len()].copy_from_slice(s.as_bytes());
        out
    }

    #[test]
    fn device_info_from_raw() {
        let raw = drm_xaccel_device_info {
            backend: name16("vaccel"),
            uapi_major: 0,
            uapi_minor: 1,
            engine_count: 2,
            region_count: 1,
            capabilities: uapi::DRM_XACCEL_CAP_MMU,
            va_start: 1 << 20,
            va_size: 1 << 32,
            reset_count: 3,
        };
        let info = DeviceInfo::from(&raw);
        assert_eq!(info.backend, "vaccel");
        assert_eq!(info.capabilities, Capabilities::MMU);
        assert_eq!(
            (info.engine_count, info.region_count, info.reset_count),
            (2, 1, 3)
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["capabilities"], serde_json::json!(["mmu"]));
        assert_eq!(json["va_size"], 1u64 << 32);
    }

    #[test]
    fn engine_and_region_from_raw() {
        let engine = EngineInfo::from(&drm_xaccel_engine_info {
            name: name16("copy0"),
            id: 1,
            engine_class: uapi::DRM_XACCEL_ENGINE_COPY,
            ring_credits: 64,
            pad: 0,
        });
        assert_eq!(engine.name, "copy0");
        assert_eq!(engine.class, EngineClass::Copy);
        let region = RegionInfo::from(&drm_xaccel_region_info {
            name: name16("hbm"),
            id: 0,
            kind: uapi::DRM_XACCEL_REGION_DEVICE,
            flags: uapi::DRM_XACCEL_REGION_CPU_VISIBLE | 1 << 9,
            size: 4096,
            used: 0,
        });
        assert_eq!(region.kind, RegionKind::Device);
        assert_eq!(region.flags.to_string(), "cpu-visible, 0x200");
        let json = serde_json::to_value(&region).unwrap();
        assert_eq!(json["kind"], "device");
        assert_eq!(json["flags"], serde_json::json!(["cpu-visible", "0x200"]));
    }

    #[test]
    fn nop_info_keeps_size_bytes() {
        let mut raw = uapi::drm_xaccel_nop_info {
            engine: 3,
            size: 8,
            ..Default::default()
        };
        raw.cmd[..8].copy_from_slice(&[10, 1, 0, 0, 0, 0, 0, 0]);
        let nop = NopInfo::from(&raw);
        assert_eq!(
            (nop.engine, nop.cmd.as_slice()),
            (3, &[10, 1, 0, 0, 0, 0, 0, 0][..])
        );
        raw.size = 1000;
        assert_eq!(NopInfo::from(&raw).cmd.len(), raw.cmd.len());
    }
}
