// SPDX-License-Identifier: GPL-2.0-only
//! [`Device`]: an open xaccel accel node, and the ioctls issued on it.
//!
//! Device nodes are found under [`ACCEL_DIR`] as `accelN`; [`Device::enumerate`]
//! lists them by index. Every query goes through `DRM_IOCTL_XACCEL_QUERY` with
//! the probe-then-fetch protocol of `crate::query`. Buffer objects are created
//! with `DRM_IOCTL_XACCEL_BO_CREATE` (see `crate::bo`), described with
//! `DRM_IOCTL_XACCEL_BO_INFO` and closed with DRM's `DRM_IOCTL_GEM_CLOSE`.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Setter, Updater};
use xaccel_uapi::{
    drm_xaccel_bo_create, drm_xaccel_bo_info, drm_xaccel_device_info, drm_xaccel_engine_info,
    drm_xaccel_query, drm_xaccel_region_info, DRM_COMMAND_BASE, DRM_IOCTL_BASE,
    DRM_XACCEL_BO_CREATE, DRM_XACCEL_BO_INFO, DRM_XACCEL_QUERY,
};

use crate::bo::BoInfo;
use crate::error::{Error, Result};
use crate::fdinfo::FdInfo;
use crate::info::{DeviceInfo, EngineInfo, RegionInfo};
use crate::query::{fetch_items, QueryItem};
use crate::version::{drm_version, fetch_version, Version, DRM_IOCTL_VERSION};

/// Where DRM accel nodes live.
pub const ACCEL_DIR: &str = "/dev/accel";

/// `DRM_IOCTL_XACCEL_QUERY`, encoded for the target architecture.
const QUERY: Opcode = opcode::read_write::<drm_xaccel_query>(
    DRM_IOCTL_BASE as u8,
    (DRM_COMMAND_BASE + DRM_XACCEL_QUERY) as u8,
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

    /// `DRM_XACCEL_QUERY_REGIONS`.
    pub fn regions(&self) -> Result<Vec<RegionInfo>> {
        Ok(self
            .query_items::<drm_xaccel_region_info>()?
            .iter()
            .map(Into::into)
            .collect())
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

    /// Issues `DRM_IOCTL_XACCEL_BO_INFO` with `args` as is.
    pub fn bo_info_raw(&self, args: &mut drm_xaccel_bo_info) -> Result<(), Errno> {
        // SAFETY: BO_INFO takes a drm_xaccel_bo_info, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<BO_INFO, _>::new(args)) }
    }

    /// Issues `DRM_IOCTL_GEM_CLOSE` for `handle` (`EINVAL` if this file has
    /// no such handle).
    pub fn gem_close_raw(&self, handle: u32) -> Result<(), Errno> {
        let args = drm_gem_close { handle, pad: 0 };
        // SAFETY: GEM_CLOSE takes a drm_gem_close, which holds no pointers.
        unsafe { ioctl(&self.fd, Setter::<GEM_CLOSE, _>::new(args)) }
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
