// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel bo`: every buffer object of a device (each handle of each open
//! file, from the core's debugfs file) and its regions' use (QUERY REGIONS).

use std::path::{Path, PathBuf};

use serde::Serialize;
use xaccel::bolist::{self, BoEntry};
use xaccel::{Device, RegionInfo};

/// Everything `xaccel bo` shows about one device.
#[derive(Clone, Debug, Serialize)]
pub struct BoReport {
    /// The device node.
    pub path: PathBuf,
    /// The backend name.
    pub backend: String,
    /// The regions, with bytes used and size.
    pub regions: Vec<RegionInfo>,
    /// Every handle of every open file (this tool's own file holds none).
    pub bos: Vec<BoEntry>,
}

impl BoReport {
    /// Opens `path`, queries its regions and reads its buffer objects.
    pub fn gather(path: &Path) -> xaccel::Result<Self> {
        let dev = Device::open(path)?;
        Ok(Self {
            path: path.to_owned(),
            backend: dev.device_info()?.backend,
            regions: dev.regions()?,
            bos: bolist::read(path)?,
        })
    }
}
