// SPDX-License-Identifier: GPL-2.0-only
//! What every VM test needs: the device, its VA window, its system region,
//! the page size, and raw VM_BIND/VM_UNBIND helpers that return the errno.

use std::path::{Path, PathBuf};

use xaccel::uapi::{drm_xaccel_vm_bind, drm_xaccel_vm_unbind, DRM_XACCEL_VM_BIND_READ_WRITE};
use xaccel::{Bo, Device, Errno};
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

/// The device under test and what it looks like.
pub struct Ctx {
    /// The device node.
    pub path: PathBuf,
    /// An open file of it, used by most tests.
    pub dev: Device,
    /// Id of its first system-memory region.
    pub system: u32,
    /// The device's VA window: first address and size.
    pub va_start: u64,
    /// Size of the VA window.
    pub va_size: u64,
    /// The CPU page size.
    pub page: u64,
}

impl Ctx {
    /// Opens `path` and reads its VA window and regions.
    pub fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let info = dev.device_info()?;
        let Some(system) = dev.system_region()?.map(|r| r.id) else {
            fail!("{} has no system-memory region", path.display());
        };
        Ok(Self {
            path: path.to_owned(),
            dev,
            system,
            va_start: info.va_start,
            va_size: info.va_size,
            page: rustix::param::page_size() as u64,
        })
    }

    /// Another open file of the same device.
    pub fn open_again(&self) -> Check<Device> {
        Ok(Device::open(&self.path)?)
    }

    /// The VA of page `n` of the window.
    pub fn va(&self, n: u64) -> u64 {
        self.va_start + n * self.page
    }

    /// A system-memory BO of `pages` pages in `dev`.
    pub fn bo<'d>(&self, dev: &'d Device, pages: u64) -> Check<Bo<'d>> {
        Ok(Bo::create(dev, pages * self.page, self.system)?)
    }

    /// QUERY REGIONS `used` of the system region.
    pub fn used(&self) -> Check<u64> {
        match self.dev.regions()?.iter().find(|r| r.id == self.system) {
            Some(r) => Ok(r.used),
            None => fail!("region {} disappeared", self.system),
        }
    }

    /// Expects the system region's `used` to be `want`.
    pub fn expect_used(&self, want: u64, when: &str) -> Check {
        let used = self.used()?;
        ensure!(used == want, "{when}: QUERY used {used}, expected {want}");
        Ok(())
    }

    /// A read-write VM_BIND of `pages` pages of `handle` from page
    /// `bo_page`, at VA page `va_page`, in VM `vm_id` of `dev`.
    pub fn bind_args(
        &self,
        vm_id: u32,
        handle: u32,
        bo_page: u64,
        pages: u64,
        va_page: u64,
    ) -> drm_xaccel_vm_bind {
        drm_xaccel_vm_bind {
            vm_id,
            handle,
            bo_offset: bo_page * self.page,
            size: pages * self.page,
            va: self.va(va_page),
            flags: DRM_XACCEL_VM_BIND_READ_WRITE,
            ..Default::default()
        }
    }

    /// VM_UNBIND of `pages` pages from VA page `va_page`.
    pub fn unbind_args(&self, vm_id: u32, va_page: u64, pages: u64) -> drm_xaccel_vm_unbind {
        drm_xaccel_vm_unbind {
            vm_id,
            va: self.va(va_page),
            size: pages * self.page,
            ..Default::default()
        }
    }

    /// Issues VM_BIND on `dev` and expects `want`; on error the struct must
    /// come back as it was sent.
    pub fn expect_bind(
        &self,
        dev: &Device,
        mut args: drm_xaccel_vm_bind,
        want: Result<(), Errno>,
    ) -> Check {
        let sent = args;
        let got = dev.vm_bind_raw(&mut args);
        ensure!(
            got == want,
            "VM_BIND got {}, expected {}\nsent {sent:?}",
            result_name(&got),
            result_name(&want)
        );
        ensure!(args == sent, "VM_BIND changed the struct: {args:?}");
        Ok(())
    }

    /// Issues VM_UNBIND on `dev` and expects `want`; the struct must come
    /// back as it was sent.
    pub fn expect_unbind(
        &self,
        dev: &Device,
        mut args: drm_xaccel_vm_unbind,
        want: Result<(), Errno>,
    ) -> Check {
        let sent = args;
        let got = dev.vm_unbind_raw(&mut args);
        ensure!(
            got == want,
            "VM_UNBIND got {}, expected {}\nsent {sent:?}",
            result_name(&got),
            result_name(&want)
        );
        ensure!(args == sent, "VM_UNBIND changed the struct: {args:?}");
        Ok(())
    }

    /// The device still works: a fresh VM takes a bind and an unbind of a
    /// fresh BO, and `used` comes back.
    pub fn usable(&self) -> Check {
        let before = self.used()?;
        {
            let vm = xaccel::Vm::create(&self.dev)?;
            let bo = self.bo(&self.dev, 2)?;
            let binding = vm.bind(&bo, 0, 2 * self.page, self.va(0), xaccel::Access::ReadWrite)?;
            binding.unbind()?;
            vm.destroy()?;
        }
        self.expect_used(before, "after a create-bind-unbind-destroy cycle")
    }
}
