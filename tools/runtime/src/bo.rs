// SPDX-License-Identifier: GPL-2.0-only
//! [`Bo`]: a buffer object, memory allocated in one region of a device.
//!
//! A `Bo` owns a GEM handle of the [`Device`] it was created on and closes it
//! (`DRM_IOCTL_GEM_CLOSE`) when dropped; the kernel frees the memory once the
//! handle and every CPU mapping ([`Mapping`]) are gone. Handles belong to one
//! open file, so a `Bo` borrows its `Device`.
//!
//! [`Bo::export`] shares the object as a dma-buf (an [`OwnedFd`]) that other
//! devices, drivers and processes import; [`Device::import`] makes a `Bo` of
//! any dma-buf.

use std::os::fd::{FromRawFd, OwnedFd};

use rustix::io::Errno;
use serde::Serialize;
use xaccel_uapi::{
    drm_xaccel_bo_create, drm_xaccel_bo_create_userptr, drm_xaccel_bo_info,
    DRM_XACCEL_BO_DEVICE_ADDR, DRM_XACCEL_BO_READ_ONLY,
};

use crate::device::{drm_prime_handle, Device, PRIME_FLAGS};
use crate::error::{Error, Result};
use crate::mapping::Mapping;

/// What the kernel says about a buffer object (`DRM_IOCTL_XACCEL_BO_INFO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BoInfo {
    /// The GEM handle, valid in the file it was created in.
    pub handle: u32,
    /// Size in bytes: the requested size rounded up to whole pages.
    pub size: u64,
    /// Id of the region the memory is in.
    pub region: u32,
    /// `DRM_XACCEL_BO_*` creation flags.
    pub flags: u32,
    /// Where `mmap()` of the device file maps the object.
    pub mmap_offset: u64,
    /// The device address of the object's memory (device memory behind a PCI BAR, e.g. hlx
    /// HBM): what the backend's command buffers name it by when it is in the BO list.
    pub device_addr: Option<u64>,
}

impl From<&drm_xaccel_bo_info> for BoInfo {
    fn from(raw: &drm_xaccel_bo_info) -> Self {
        Self {
            handle: raw.handle,
            size: raw.size,
            region: raw.region,
            flags: raw.flags,
            mmap_offset: raw.mmap_offset,
            device_addr: (raw.flags & DRM_XACCEL_BO_DEVICE_ADDR != 0).then_some(raw.device_addr),
        }
    }
}

/// A buffer object with a handle in `Device`'s open file, closed on drop.
#[derive(Debug)]
pub struct Bo<'d> {
    dev: &'d Device,
    info: BoInfo,
}

impl<'d> Bo<'d> {
    /// Allocates `size` bytes (rounded up to whole pages) in `region`.
    pub fn create(dev: &'d Device, size: u64, region: u32) -> Result<Self> {
        Self::create_aligned(dev, size, region, 0)
    }

    /// As [`Bo::create`], with the placement aligned to `alignment` bytes: 0
    /// or a power of two from the page size up to the rounded size.
    pub fn create_aligned(dev: &'d Device, size: u64, region: u32, alignment: u64) -> Result<Self> {
        let mut args = drm_xaccel_bo_create {
            size,
            region,
            alignment,
            ..Default::default()
        };
        dev.bo_create_raw(&mut args).map_err(|errno| Error::Ioctl {
            ioctl: "BO_CREATE",
            errno,
        })?;
        // From here on the handle is ours: dropping the `Bo` closes it.
        Self::from_handle(dev, args.handle)
    }

    /// Makes a buffer object of `len` bytes of this process's memory at
    /// `addr` (both page-aligned; `DRM_IOCTL_XACCEL_BO_CREATE_USERPTR`). The
    /// kernel pins the pages until the object is freed, so the range may be
    /// unmapped afterwards; `read_only` objects take read-only memory and the
    /// device only reads them. The pages are shared: writes through either
    /// side are seen by the other.
    pub fn from_user_memory(
        dev: &'d Device,
        addr: *const u8,
        len: u64,
        read_only: bool,
    ) -> Result<Self> {
        let mut args = drm_xaccel_bo_create_userptr {
            userptr: addr as u64,
            size: len,
            flags: if read_only {
                DRM_XACCEL_BO_READ_ONLY
            } else {
                0
            },
            ..Default::default()
        };
        dev.bo_create_userptr_raw(&mut args)
            .map_err(|errno| Error::Ioctl {
                ioctl: "BO_CREATE_USERPTR",
                errno,
            })?;
        Self::from_handle(dev, args.handle)
    }

    /// Takes ownership of `handle` in `dev`'s file (closed on drop, even if
    /// describing it fails).
    pub(crate) fn from_handle(dev: &'d Device, handle: u32) -> Result<Self> {
        let mut bo = Self {
            dev,
            info: BoInfo {
                handle,
                size: 0,
                region: 0,
                flags: 0,
                mmap_offset: 0,
                device_addr: None,
            },
        };
        bo.info = dev.bo_info(handle)?;
        Ok(bo)
    }

    /// The device address of the object (device memory behind a PCI BAR), from BO_INFO at
    /// creation: what command buffers name it by when it is in the BO list.
    pub fn device_addr(&self) -> Option<u64> {
        self.info.device_addr
    }

    /// Exports the object as a dma-buf (`DRM_IOCTL_PRIME_HANDLE_TO_FD`),
    /// read-write and close-on-exec. The dma-buf keeps the memory alive after
    /// the handle is closed, until the last file referring to it is closed.
    pub fn export(&self) -> Result<OwnedFd> {
        let mut args = drm_prime_handle {
            handle: self.info.handle,
            flags: PRIME_FLAGS,
            fd: -1,
        };
        self.dev
            .prime_handle_to_fd_raw(&mut args)
            .map_err(|errno| Error::Ioctl {
                ioctl: "PRIME_HANDLE_TO_FD",
                errno,
            })?;
        // SAFETY: On success the kernel installed a new file descriptor in
        // `args.fd`, which nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(args.fd) })
    }

    /// The kernel's description of the object, as of its creation.
    pub fn info(&self) -> &BoInfo {
        &self.info
    }

    /// The GEM handle.
    pub fn handle(&self) -> u32 {
        self.info.handle
    }

    /// Size in bytes, a multiple of the page size.
    pub fn size(&self) -> u64 {
        self.info.size
    }

    /// The device the handle belongs to.
    pub fn device(&self) -> &'d Device {
        self.dev
    }

    /// Maps the whole object into this process, readable and writable.
    pub fn map(&self) -> Result<Mapping<'_>> {
        Mapping::new(self)
    }

    /// Closes the handle now, reporting errors that dropping would ignore.
    pub fn close(self) -> Result<()> {
        let handle = self.info.handle;
        let dev = self.dev;
        std::mem::forget(self);
        dev.gem_close_raw(handle).map_err(|errno| Error::Ioctl {
            ioctl: "GEM_CLOSE",
            errno,
        })
    }
}

impl Drop for Bo<'_> {
    fn drop(&mut self) {
        // Nothing to do about a failure here: the handle was ours, so it cannot
        // be invalid, and the file closing releases it anyway.
        let _: Result<(), Errno> = self.dev.gem_close_raw(self.info.handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_from_raw() {
        let raw = drm_xaccel_bo_info {
            handle: 3,
            size: 8192,
            region: 1,
            flags: 0,
            mmap_offset: 0x1_0000_0000,
            device_addr: 0x40_0000,
            ..Default::default()
        };
        let info = BoInfo::from(&raw);
        assert_eq!(
            info,
            BoInfo {
                handle: 3,
                size: 8192,
                region: 1,
                flags: 0,
                mmap_offset: 0x1_0000_0000,
                device_addr: None,
            }
        );
        let local = BoInfo::from(&drm_xaccel_bo_info {
            flags: DRM_XACCEL_BO_DEVICE_ADDR,
            ..raw
        });
        assert_eq!(local.device_addr, Some(0x40_0000));
    }
}
