// SPDX-License-Identifier: GPL-2.0-only
//! What every BO test needs: the device, its regions, the page size, and
//! checks of the device's state (QUERY `used`, fdinfo totals, a full
//! create-map-write-read-close cycle).

use std::path::{Path, PathBuf};

use xaccel::{Bo, Device, RegionInfo, RegionKind};
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

/// The device under test and what it looks like.
pub struct Ctx {
    /// The device node.
    pub path: PathBuf,
    /// An open file of it, used by most tests.
    pub dev: Device,
    /// Its first system-memory region.
    pub system: RegionInfo,
    /// Its first device-memory region, if it has one.
    pub local: Option<RegionInfo>,
    /// All its regions.
    pub regions: Vec<RegionInfo>,
    /// The CPU page size.
    pub page: u64,
}

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

impl Ctx {
    /// Opens `path` and looks at its regions.
    pub fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let regions = dev.regions()?;
        let Some(system) = regions
            .iter()
            .find(|r| r.kind == RegionKind::System)
            .cloned()
        else {
            fail!("{} has no system-memory region", path.display());
        };
        let local = regions
            .iter()
            .find(|r| r.kind == RegionKind::Device)
            .cloned();
        Ok(Self {
            path: path.to_owned(),
            dev,
            system,
            local,
            regions,
            page: rustix::param::page_size() as u64,
        })
    }

    /// Another open file of the same device.
    pub fn open_again(&self) -> Check<Device> {
        Ok(Device::open(&self.path)?)
    }

    /// QUERY REGIONS `used` of the system region.
    pub fn used(&self) -> Check<u64> {
        let regions = self.dev.regions()?;
        match regions.iter().find(|r| r.id == self.system.id) {
            Some(r) => Ok(r.used),
            None => fail!("region {} disappeared", self.system.id),
        }
    }

    /// fdinfo `drm-total-<system region>` of `dev`'s open file.
    pub fn total(&self, dev: &Device) -> Check<u64> {
        Ok(self.region_memory(dev)?.total)
    }

    /// fdinfo `drm-resident-<system region>` of `dev`'s open file.
    pub fn resident(&self, dev: &Device) -> Check<u64> {
        match self.region_memory(dev)?.resident {
            Some(bytes) => Ok(bytes),
            None => fail!("fdinfo has no drm-resident-{}", self.system.name),
        }
    }

    /// fdinfo memory keys of the system region for `dev`'s open file.
    pub fn region_memory(&self, dev: &Device) -> Check<xaccel::RegionMemory> {
        let info = dev.fdinfo()?;
        match info.region(&self.system.name) {
            Some(m) => Ok(m.clone()),
            None => fail!("fdinfo has no drm-total-{}:\n{info:#?}", self.system.name),
        }
    }

    /// Expects the system region's `used` to be `want`.
    pub fn expect_used(&self, want: u64, when: &str) -> Check {
        let used = self.used()?;
        ensure!(used == want, "{when}: QUERY used {used}, expected {want}");
        Ok(())
    }

    /// A full cycle on the main file: create a page, describe it, map it,
    /// write and read back, close; `used` must come back to where it was.
    pub fn usable(&self) -> Check {
        let before = self.used()?;
        let bo = Bo::create(&self.dev, self.page, self.system.id)?;
        ensure!(
            bo.size() == self.page,
            "a page-sized BO has size {}",
            bo.size()
        );
        let info = self.dev.bo_info(bo.handle())?;
        ensure!(
            info == *bo.info(),
            "BO_INFO changed: {info:?} vs {:?}",
            bo.info()
        );
        let map = bo.map()?;
        map.write(0, b"usable");
        let mut back = [0u8; 6];
        map.read(0, &mut back);
        ensure!(&back == b"usable", "read back {back:?}");
        drop(map);
        bo.close()?;
        self.expect_used(before, "after a create-map-close cycle")
    }
}
