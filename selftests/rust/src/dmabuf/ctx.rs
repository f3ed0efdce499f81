// SPDX-License-Identifier: GPL-2.0-only
//! What the dma-buf tests share: the two xaccel devices, vgem, the page size,
//! and a check that a device is still fully usable after a bad call.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use xaccel::{Bo, Device};
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

use xaccel_selftests::peers::{SharedMap, Vgem};

/// Bytes every test shares: 16 pages, enough to catch a page mix-up.
pub const LEN: usize = 16 * 4096;

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

/// One xaccel device: an open file and its first system region.
pub struct Accel {
    /// The node.
    pub path: PathBuf,
    /// An open file of it.
    pub dev: Device,
    /// Its first system-memory region id.
    pub system: u32,
}

impl Accel {
    /// Opens `path` and finds its system region.
    pub fn open(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let Some(system) = dev.system_region()?.map(|r| r.id) else {
            fail!("{} has no system-memory region", path.display());
        };
        Ok(Self {
            path: path.to_owned(),
            dev,
            system,
        })
    }

    /// Another open file of the same device.
    pub fn open_again(&self) -> Check<Device> {
        Ok(Device::open(&self.path)?)
    }

    /// A BO of [`LEN`] bytes in the system region.
    pub fn bo(&self) -> Check<Bo<'_>> {
        Ok(Bo::create(&self.dev, LEN as u64, self.system)?)
    }

    /// A shared mapping of `handle` (of `dev`, a file of this device).
    pub fn map(dev: &Device, handle: u32) -> Check<SharedMap> {
        let info = dev.bo_info(handle)?;
        ensure!(
            info.size as usize >= LEN,
            "BO {handle} has {} bytes",
            info.size
        );
        Ok(SharedMap::new(dev.as_fd(), LEN, info.mmap_offset)?)
    }

    /// QUERY REGIONS `used` of the system region.
    pub fn used(&self) -> Check<u64> {
        let regions = self.dev.regions()?;
        match regions.iter().find(|r| r.id == self.system) {
            Some(r) => Ok(r.used),
            None => fail!("region {} disappeared", self.system),
        }
    }

    /// fdinfo memory keys of the system region for `dev`'s file.
    pub fn memory(&self, dev: &Device) -> Check<xaccel::RegionMemory> {
        let name = self
            .dev
            .regions()?
            .into_iter()
            .find(|r| r.id == self.system)
            .map(|r| r.name)
            .unwrap_or_default();
        let info = dev.fdinfo()?;
        match info.region(&name) {
            Some(m) => Ok(m.clone()),
            None => fail!("fdinfo has no drm-total-{name}:\n{info:#?}"),
        }
    }

    /// A full cycle: create, map, write a pattern, read it back, export,
    /// import the export (same handle), close; `used` back where it was.
    pub fn usable(&self) -> Check {
        let before = self.used()?;
        let bo = self.bo()?;
        let map = Self::map(&self.dev, bo.handle())?;
        map.fill(0x5eed);
        map.check(0x5eed)?;
        let fd = bo.export()?;
        let again = self.dev.prime_fd_to_handle_raw(fd.as_fd())?;
        ensure!(
            again == bo.handle(),
            "re-import gave {again}, not {}",
            bo.handle()
        );
        drop((map, fd));
        bo.close()?;
        let after = self.used()?;
        ensure!(
            after == before,
            "QUERY used {after} after a cycle, was {before}"
        );
        Ok(())
    }
}

/// Everything the interop tests need.
pub struct Ctx {
    /// The device under test.
    pub a: Accel,
    /// A second xaccel device, if there is one.
    pub b: Option<Accel>,
    /// vgem, if loaded.
    pub vgem: Option<Vgem>,
    /// What device-memory exports do for vgem.
    pub devmem_rule: crate::devmem::Rule,
    /// The second device reaches the first's device memory peer-to-peer (two vaccel devices
    /// with `local_p2p=1`), or gets the rule like vgem (hlx HBM and a faux vaccel device).
    pub second_reaches_p2p: bool,
}

impl Ctx {
    /// Opens the devices; vgem and the second device are optional.
    pub fn new(
        a: &Path,
        b: &Path,
        devmem_rule: crate::devmem::Rule,
        second_reaches_p2p: bool,
    ) -> Check<Self> {
        Ok(Self {
            a: Accel::open(a)?,
            b: Accel::open(b).ok(),
            vgem: Vgem::open().ok(),
            devmem_rule,
            second_reaches_p2p,
        })
    }
}
