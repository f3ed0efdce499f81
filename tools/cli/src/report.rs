// SPDX-License-Identifier: GPL-2.0-only
//! Everything the CLI shows about one device, gathered with the `xaccel` runtime.
//! Serialized as is for `--json`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use xaccel::{Device, DeviceInfo, EngineInfo, RegionInfo, Version};

/// One device: its node, DRM version, QUERY DEVICE answer, engines and regions.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The device node.
    pub path: PathBuf,
    /// `DRM_IOCTL_VERSION`.
    pub version: Version,
    /// `DRM_XACCEL_QUERY_DEVICE`.
    pub device: DeviceInfo,
    /// `DRM_XACCEL_QUERY_ENGINES`.
    pub engines: Vec<EngineInfo>,
    /// `DRM_XACCEL_QUERY_REGIONS`.
    pub regions: Vec<RegionInfo>,
}

impl Report {
    /// Opens `path` and asks it everything.
    pub fn gather(path: &Path) -> xaccel::Result<Self> {
        let dev = Device::open(path)?;
        Ok(Self {
            path: path.to_owned(),
            version: dev.version()?,
            device: dev.device_info()?,
            engines: dev.engines()?,
            regions: dev.regions()?,
        })
    }
}
