// SPDX-License-Identifier: GPL-2.0-only
//! [`Device`]: an open xaccel accel node, and the ioctls issued on it.
//!
//! Device nodes are found under [`ACCEL_DIR`] as `accelN`; [`Device::enumerate`]
//! lists them by index. Every query goes through `DRM_IOCTL_XACCEL_QUERY` with
//! the probe-then-fetch protocol of `crate::query`. Buffer objects are created
//! with `DRM_IOCTL_XACCEL_BO_CREATE` (see `crate::bo`), described with
//! `DRM_IOCTL_XACCEL_BO_INFO` and closed with DRM's `DRM_IOCTL_GEM_CLOSE`; they are
//! shared as dma-bufs with DRM's PRIME ioctls (`DRM_IOCTL_PRIME_HANDLE_TO_FD`,
//! `DRM_IOCTL_PRIME_FD_TO_HANDLE`).
//! Device VMs (see `crate::vm`) use the `DRM_IOCTL_XACCEL_VM_*` ioctls.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Setter, Updater};
use xaccel_uapi::{
    drm_xaccel_bo_create, drm_xaccel_bo_create_userptr, drm_xaccel_bo_info, drm_xaccel_device_info,
    drm_xaccel_engine_info, drm_xaccel_nop_info, drm_xaccel_query, drm_xaccel_region_info,
    drm_xaccel_vm_bind, drm_xaccel_vm_create, drm_xaccel_vm_destroy, drm_xaccel_vm_unbind,
    DRM_COMMAND_BASE, DRM_IOCTL_BASE, DRM_XACCEL_BO_CREATE, DRM_XACCEL_BO_CREATE_USERPTR,
    DRM_XACCEL_BO_INFO, DRM_XACCEL_QUERY, DRM_XACCEL_VENDOR_QUERY, DRM_XACCEL_VM_BIND,
    DRM_XACCEL_VM_CREATE, DRM_XACCEL_VM_DESTROY, DRM_XACCEL_VM_UNBIND,
};

use crate::bo::{Bo, BoInfo};
use crate::error::{Error, Result};
use crate::fdinfo::FdInfo;
use crate::info::{DeviceInfo, EngineInfo, NopInfo, RegionInfo};
use crate::query::{fetch_items, QueryItem};
use crate::version::{drm_version, fetch_version, Version, DRM_IOCTL_VERSION};

/// Where DRM accel nodes live.
pub const ACCEL_DIR: &str = "/dev/accel";

/// `DRM_IOCTL_XACCEL_QUERY`, encoded for the target architecture.
const QUERY: Opcode = opcode::read_write::<drm_xaccel_query>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_QUERY) as u8,
);

/// `DRM_IOCTL_XACCEL_VENDOR_QUERY`: same argument as QUERY.
const VENDOR_QUERY: Opcode = opcode::read_write::<drm_xaccel_query>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_VENDOR_QUERY) as u8,
);

/// `DRM_IOCTL_XACCEL_BO_CREATE`.
const BO_CREATE: Opcode = opcode::read_write::<drm_xaccel_bo_create>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_BO_CREATE) as u8,
);

/// `DRM_IOCTL_XACCEL_BO_INFO`.
const BO_INFO: Opcode = opcode::read_write::<drm_xaccel_bo_info>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_BO_INFO) as u8,
);

/// `DRM_IOCTL_XACCEL_VM_CREATE`.
const VM_CREATE: Opcode = opcode::read_write::<drm_xaccel_vm_create>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_VM_CREATE) as u8,
);

/// `DRM_IOCTL_XACCEL_VM_DESTROY`.
const VM_DESTROY: Opcode = opcode::read_write::<drm_xaccel_vm_destroy>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_VM_DESTROY) as u8,
);

/// `DRM_IOCTL_XACCEL_VM_BIND`.
const VM_BIND: Opcode = opcode::read_write::<drm_xaccel_vm_bind>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_VM_BIND) as u8,
);

/// `DRM_IOCTL_XACCEL_BO_CREATE_USERPTR`.
const BO_CREATE_USERPTR: Opcode = opcode::read_write::<drm_xaccel_bo_create_userptr>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_BO_CREATE_USERPTR) as u8,
);

/// `DRM_IOCTL_XACCEL_VM_UNBIND`.
const VM_UNBIND: Opcode = opcode::read_write::<drm_xaccel_vm_unbind>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_VM_UNBIND) as u8,
);

/// `struct drm_gem_close` from `drm.h`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct drm_gem_close {
    handle: u32,
    pad: u32,
}

/// `DRM_IOCTL_GEM_CLOSE`: `DRM_IOW(0x09, struct drm_gem_close)`.
const GEM_CLOSE: Opcode = opcode::write::<drm_gem_close>(DRM_IOCTL_BASE as u8, 0x09);

/// `DRM_IOCTL_GEM_CLOSE` of `handle` on any DRM file (`EINVAL` if it has no such handle).
pub fn gem_close(drm: BorrowedFd<'_>, handle: u32) -> Result<(), Errno> {
    let args = drm_gem_close { handle, pad: 0 };
    // SAFETY: GEM_CLOSE takes a drm_gem_close, which holds no pointers.
    unsafe { ioctl(drm, Setter::<GEM_CLOSE, _>::new(args)) }
}

/// `struct drm_prime_handle` from `drm.h`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_prime_handle {
    /// The GEM handle.
    pub handle: u32,
    /// `DRM_CLOEXEC` and `DRM_RDWR` ([`PRIME_FLAGS`]) for export, ignored on import.
    pub flags: u32,
    /// The dma-buf file descriptor.
    pub fd: i32,
}

/// `DRM_CLOEXEC | DRM_RDWR` (`O_CLOEXEC | O_RDWR`): the only flags PRIME export takes.
pub const PRIME_FLAGS: u32 = 0o2_000_000 | 0o2;

/// `DRM_IOCTL_PRIME_HANDLE_TO_FD`: `DRM_IOWR(0x2d, struct drm_prime_handle)`.
const PRIME_HANDLE_TO_FD: Opcode =
    opcode::read_write::<drm_prime_handle>(DRM_IOCTL_BASE as u8, 0x2d);

/// `DRM_IOCTL_PRIME_FD_TO_HANDLE`: `DRM_IOWR(0x2e, struct drm_prime_handle)`.
const PRIME_FD_TO_HANDLE: Opcode =
    opcode::read_write::<drm_prime_handle>(DRM_IOCTL_BASE as u8, 0x2e);

/// An open xaccel device node.
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
    path: PathBuf,
}

impl Device {
    /// Opens a device node, read-write and close-on-exec.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let fd = rustix::fs::open(path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(
            |errno| Error::Open {
                path: path.to_owned(),
                errno,
            },
        )?;
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// The paths of all accel nodes in [`ACCEL_DIR`], sorted by index. Empty if
    /// the directory does not exist. Paths, not open devices, so callers can
    /// report a node they cannot open and carry on.
    pub fn enumerate() -> Result<Vec<PathBuf>> {
        Self::enumerate_in(ACCEL_DIR)
    }

    /// As [`Device::enumerate`], for nodes named `accelN` in `dir`.
    pub fn enumerate_in(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        let fail = |err| Error::Enumerate {
            dir: dir.to_owned(),
            err,
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(fail(err)),
        };
        let mut nodes = Vec::new();
        for entry in entries {
            let name = entry.map_err(fail)?.file_name();
            let index = name.to_str().and_then(|n| n.strip_prefix("accel"));
            if let Some(index) = index.and_then(|i| i.parse::<u32>().ok()) {
                nodes.push((index, dir.join(&name)));
            }
        }
        nodes.sort();
        Ok(nodes.into_iter().map(|(_, path)| path).collect())
    }

    /// The path this device was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `DRM_IOCTL_VERSION`: driver name, date, description and version.
    pub fn version(&self) -> Result<Version> {
        fetch_version(|v: &mut drm_version| {
            // SAFETY: DRM_IOCTL_VERSION takes a drm_version; fetch_version only
            // passes string pointers that are valid for their lengths.
            unsafe { ioctl(&self.fd, Updater::<DRM_IOCTL_VERSION, _>::new(v)) }
        })
    }

    /// All items of one query type, as raw uAPI structs.
    pub fn query_items<T: QueryItem>(&self) -> Result<Vec<T>> {
        fetch_items::<T>(|q| {
            // SAFETY: fetch_items only passes buffers valid for count * item_size.
            unsafe { self.query_raw(q) }
        })
    }

    /// `DRM_XACCEL_QUERY_DEVICE`.
    pub fn device_info(&self) -> Result<DeviceInfo> {
        let items = self.query_items::<drm_xaccel_device_info>()?;
        match items.as_slice() {
            [info] => Ok(info.into()),
            _ => Err(Error::Protocol {
                ioctl: "QUERY DEVICE",
                problem: format!("{} items instead of 1", items.len()),
            }),
        }
    }

    /// `DRM_XACCEL_QUERY_ENGINES`.
    pub fn engines(&self) -> Result<Vec<EngineInfo>> {
        Ok(self
            .query_items::<drm_xaccel_engine_info>()?
            .iter()
            .map(Into::into)
            .collect())
    }

    /// `DRM_XACCEL_QUERY_NOPS` (uAPI 0.11): every engine's NOP, in engine order.
    pub fn nops(&self) -> Result<Vec<NopInfo>> {
        Ok(self
            .query_items::<drm_xaccel_nop_info>()?
            .iter()
            .map(Into::into)
            .collect())
    }

    /// The NOP of `engine`: the command buffer of a job that does nothing there, `None` if
    /// the engine has none (or does not exist).
    pub fn nop(&self, engine: u32) -> Result<Option<Vec<u8>>> {
        Ok(self
            .nops()?
            .into_iter()
            .find(|n| n.engine == engine && !n.cmd.is_empty())
            .map(|n| n.cmd))
    }

    /// `DRM_XACCEL_QUERY_REGIONS`.
    pub fn regions(&self) -> Result<Vec<RegionInfo>> {
        Ok(self
            .query_items::<drm_xaccel_region_info>()?
            .iter()
            .map(Into::into)
            .collect())
    }

    /// The first system-memory region, the default placement of buffer objects, if the
    /// device has one.
    pub fn system_region(&self) -> Result<Option<RegionInfo>> {
        Ok(self
            .regions()?
            .into_iter()
            .find(|r| r.kind == crate::RegionKind::System))
    }

    /// `DRM_IOCTL_XACCEL_BO_INFO` for `handle`.
    pub fn bo_info(&self, handle: u32) -> Result<BoInfo> {
        let mut args = drm_xaccel_bo_info {
            handle,
            ..Default::default()
        };
        self.bo_info_raw(&mut args).map_err(|errno| Error::Ioctl {
            ioctl: "BO_INFO",
            errno,
        })?;
        Ok(BoInfo::from(&args))
    }

    /// Issues `DRM_IOCTL_XACCEL_BO_CREATE` with `args` as is; on success the
    /// caller owns the handle in `args.handle` (see [`crate::Bo`] for an owner
    /// that closes it). The kernel copies the struct back even on error.
    pub fn bo_create_raw(&self, args: &mut drm_xaccel_bo_create) -> Result<(), Errno> {
        // SAFETY: BO_CREATE takes a drm_xaccel_bo_create, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<BO_CREATE, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_XACCEL_BO_CREATE_USERPTR` with `args` as is. The
    /// kernel pins the pages it names; nothing here dereferences `userptr`.
    pub fn bo_create_userptr_raw(
        &self,
        args: &mut drm_xaccel_bo_create_userptr,
    ) -> Result<(), Errno> {
        // SAFETY: The struct holds a user address the kernel validates itself
        // (it pins the pages, or fails); no memory of ours is written.
        unsafe { ioctl(&self.fd, Updater::<BO_CREATE_USERPTR, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_XACCEL_BO_INFO` with `args` as is.
    pub fn bo_info_raw(&self, args: &mut drm_xaccel_bo_info) -> Result<(), Errno> {
        // SAFETY: BO_INFO takes a drm_xaccel_bo_info, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<BO_INFO, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_GEM_CLOSE` for `handle` (`EINVAL` if this file has
    /// no such handle).
    pub fn gem_close_raw(&self, handle: u32) -> Result<(), Errno> {
        gem_close(self.fd.as_fd(), handle)
    }

    /// Issues `DRM_IOCTL_XACCEL_VM_CREATE` with `args` as is; on success the
    /// caller owns the VM `args.vm_id` (see [`crate::Vm`] for an owner that
    /// destroys it).
    pub fn vm_create_raw(&self, args: &mut drm_xaccel_vm_create) -> Result<(), Errno> {
        // SAFETY: VM_CREATE takes a drm_xaccel_vm_create, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<VM_CREATE, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_XACCEL_VM_DESTROY` with `args` as is.
    pub fn vm_destroy_raw(&self, args: &mut drm_xaccel_vm_destroy) -> Result<(), Errno> {
        // SAFETY: VM_DESTROY takes a drm_xaccel_vm_destroy, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<VM_DESTROY, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_XACCEL_VM_BIND` with `args` as is.
    pub fn vm_bind_raw(&self, args: &mut drm_xaccel_vm_bind) -> Result<(), Errno> {
        // SAFETY: VM_BIND takes a drm_xaccel_vm_bind, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<VM_BIND, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_XACCEL_VM_UNBIND` with `args` as is.
    pub fn vm_unbind_raw(&self, args: &mut drm_xaccel_vm_unbind) -> Result<(), Errno> {
        // SAFETY: VM_UNBIND takes a drm_xaccel_vm_unbind, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<VM_UNBIND, _>::new(args)) }
    }

    /// Imports a dma-buf (`DRM_IOCTL_PRIME_FD_TO_HANDLE`) as a buffer object
    /// of this file.
    ///
    /// If this file already has a handle for the dma-buf (it exported it, or
    /// imported it before), the kernel returns that handle: the returned `Bo`
    /// then names the same handle as the existing one, and whichever is dropped
    /// first closes it. Use [`Device::prime_fd_to_handle_raw`] to check.
    pub fn import(&self, dma_buf: BorrowedFd<'_>) -> Result<Bo<'_>> {
        let handle = self
            .prime_fd_to_handle_raw(dma_buf)
            .map_err(|errno| Error::Ioctl {
                ioctl: "PRIME_FD_TO_HANDLE",
                errno,
            })?;
        Bo::from_handle(self, handle)
    }

    /// Issues `DRM_IOCTL_PRIME_HANDLE_TO_FD` with `args` as is; on success the
    /// caller owns the file descriptor in `args.fd`.
    pub fn prime_handle_to_fd_raw(&self, args: &mut drm_prime_handle) -> Result<(), Errno> {
        // SAFETY: PRIME_HANDLE_TO_FD takes a drm_prime_handle, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<PRIME_HANDLE_TO_FD, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_PRIME_FD_TO_HANDLE` for `dma_buf`; on success the
    /// caller owns the returned handle (unless the file already had it).
    pub fn prime_fd_to_handle_raw(&self, dma_buf: BorrowedFd<'_>) -> Result<u32, Errno> {
        let mut args = drm_prime_handle {
            fd: dma_buf.as_raw_fd(),
            ..Default::default()
        };
        // SAFETY: PRIME_FD_TO_HANDLE takes a drm_prime_handle, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<PRIME_FD_TO_HANDLE, _>::new(&mut args)) }?;
        Ok(args.handle)
    }

    /// This open file's memory statistics, from `/proc/self/fdinfo`.
    pub fn fdinfo(&self) -> Result<FdInfo> {
        FdInfo::read(FdInfo::path(None, self.fd.as_raw_fd()))
    }

    /// Issues `DRM_IOCTL_XACCEL_QUERY` with `query` as is, for tests that send
    /// malformed requests. The kernel copies the struct back even on error.
    ///
    /// # Safety
    ///
    /// If `query.items` is nonzero the kernel may write up to
    /// `query.count * query.item_size` bytes there: that memory must be writable
    /// and not otherwise borrowed, or the address must be one the caller knows
    /// to be unmapped.
    pub unsafe fn query_raw(&self, query: &mut drm_xaccel_query) -> rustix::io::Result<()> {
        // SAFETY: QUERY takes a drm_xaccel_query; the caller vouches for `items`.
        unsafe { ioctl(&self.fd, Updater::<QUERY, _>::new(query)) }
    }
}

impl Device {
    /// Issues `DRM_IOCTL_XACCEL_VENDOR_QUERY` with `query` as is.
    ///
    /// # Safety
    ///
    /// As [`Device::query_raw`].
    pub unsafe fn vendor_query_raw(&self, query: &mut drm_xaccel_query) -> rustix::io::Result<()> {
        // SAFETY: VENDOR_QUERY takes a drm_xaccel_query; the caller vouches for `items`.
        unsafe { ioctl(&self.fd, Updater::<VENDOR_QUERY, _>::new(query)) }
    }

    /// All items of the backend's query type `kind`, each `item_size` bytes (the size this
    /// program knows; a newer kernel's larger items are cut to it), back to back.
    pub fn vendor_query(&self, kind: u32, item_size: u32) -> Result<Vec<u8>> {
        let fail = |errno| Error::Ioctl {
            ioctl: "VENDOR_QUERY",
            errno,
        };
        let mut probe = drm_xaccel_query {
            type_: kind,
            item_size,
            ..Default::default()
        };
        // SAFETY: No items pointer: the kernel writes nothing but the struct.
        unsafe { self.vendor_query_raw(&mut probe) }.map_err(fail)?;
        let mut bytes = vec![0u8; probe.count as usize * item_size as usize];
        let mut fetch = drm_xaccel_query {
            type_: kind,
            item_size,
            count: probe.count,
            items: bytes.as_mut_ptr() as u64,
            ..Default::default()
        };
        // SAFETY: `bytes` has room for `count * item_size` bytes and is ours.
        unsafe { self.vendor_query_raw(&mut fetch) }.map_err(fail)?;
        bytes.truncate(fetch.count.min(probe.count) as usize * item_size as usize);
        Ok(bytes)
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ))]
    #[test]
    fn query_opcode_matches_uapi() {
        assert_eq!(QUERY as u64, u64::from(xaccel_uapi::DRM_IOCTL_XACCEL_QUERY));
        assert_eq!(
            BO_CREATE as u64,
            u64::from(xaccel_uapi::DRM_IOCTL_XACCEL_BO_CREATE)
        );
        assert_eq!(
            BO_INFO as u64,
            u64::from(xaccel_uapi::DRM_IOCTL_XACCEL_BO_INFO)
        );
        // DRM_IOW('d', 0x09, 8 bytes), from drm.h.
        assert_eq!(GEM_CLOSE as u64, 0x4008_6409);
        // DRM_IOWR('d', 0x2d / 0x2e, 12 bytes), from drm.h.
        assert_eq!(PRIME_HANDLE_TO_FD as u64, 0xc00c_642d);
        assert_eq!(PRIME_FD_TO_HANDLE as u64, 0xc00c_642e);
    }

    #[test]
    fn enumerate_sorts_by_index() {
        let dir = std::env::temp_dir().join(format!("xaccel-enum-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for name in ["accel10", "accel2", "accel0", "card0", "accelx", "accel"] {
            fs::write(dir.join(name), b"").unwrap();
        }
        let found = Device::enumerate_in(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["accel0", "accel2", "accel10"]);
    }

    #[test]
    fn missing_dir_means_no_devices() {
        assert!(Device::enumerate_in("/nonexistent-xaccel-dir")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn open_error_names_path() {
        let err = Device::open("/nonexistent-xaccel-dir/accel0").unwrap_err();
        assert_eq!(err.errno(), Some(rustix::io::Errno::NOENT));
        assert!(
            err.to_string().contains("/nonexistent-xaccel-dir/accel0"),
            "{err}"
        );
    }
}
