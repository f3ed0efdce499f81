// SPDX-License-Identifier: GPL-2.0-only
//! vgem, DRM's virtual GEM driver, as the interop peer and benchmark anchor of
//! xaccel's buffer objects. It has no buffer ioctl of its own, so buffers are
//! made the way any KMS client makes them: `DRM_IOCTL_MODE_CREATE_DUMB` on its
//! primary node (`/dev/dri/cardN`), mapped at the offset
//! `DRM_IOCTL_MODE_MAP_DUMB` returns, closed with `DRM_IOCTL_GEM_CLOSE`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};

use crate::Device;

/// `struct drm_mode_create_dumb` from `drm_mode.h`.
#[repr(C)]
#[derive(Debug, Default)]
struct DrmModeCreateDumb {
    height: u32,
    width: u32,
    bpp: u32,
    flags: u32,
    handle: u32,
    pitch: u32,
    size: u64,
}

/// `struct drm_mode_map_dumb` from `drm_mode.h`.
#[repr(C)]
#[derive(Debug, Default)]
struct DrmModeMapDumb {
    handle: u32,
    pad: u32,
    offset: u64,
}

/// `DRM_IOCTL_MODE_CREATE_DUMB`: `DRM_IOWR(0xB2, struct drm_mode_create_dumb)`.
const CREATE_DUMB: Opcode = opcode::read_write::<DrmModeCreateDumb>(b'd', 0xB2);
/// `DRM_IOCTL_MODE_MAP_DUMB`: `DRM_IOWR(0xB3, struct drm_mode_map_dumb)`.
const MAP_DUMB: Opcode = opcode::read_write::<DrmModeMapDumb>(b'd', 0xB3);

/// Bytes per row of the dumb buffers: 1024 pixels of 32 bits, one page.
const ROW: u64 = 4096;

/// An open vgem primary node.
pub struct Vgem {
    fd: OwnedFd,
    path: PathBuf,
}

impl Vgem {
    /// Finds vgem among `/dev/dri/card*` by its DRM_IOCTL_VERSION name.
    pub fn find() -> Result<Self, String> {
        let dir = Path::new("/dev/dri");
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cards: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("card"))
            })
            .collect();
        cards.sort();
        for card in cards {
            // DRM_IOCTL_VERSION works on any DRM node.
            let is_vgem = Device::open(&card)
                .and_then(|d| d.version())
                .is_ok_and(|v| v.name == "vgem");
            if is_vgem {
                let fd = rustix::fs::open(&card, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| format!("{}: {e}", card.display()))?;
                return Ok(Self { fd, path: card });
            }
        }
        Err("no vgem node in /dev/dri (is vgem loaded?)".into())
    }

    /// The node's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a dumb buffer of `size` bytes (a multiple of 4096); returns its
    /// handle and size.
    pub fn create(&self, size: u64) -> Result<(u32, u64), Errno> {
        let mut args = DrmModeCreateDumb {
            height: u32::try_from(size / ROW).map_err(|_| Errno::INVAL)?,
            width: (ROW / 4) as u32,
            bpp: 32,
            ..Default::default()
        };
        // SAFETY: CREATE_DUMB takes a drm_mode_create_dumb, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<CREATE_DUMB, _>::new(&mut args)) }?;
        Ok((args.handle, args.size))
    }

    /// The mmap offset of `handle` on vgem's file. DRM refuses it for
    /// imported objects (EINVAL).
    pub fn offset(&self, handle: u32) -> Result<u64, Errno> {
        let mut args = DrmModeMapDumb {
            handle,
            ..Default::default()
        };
        // SAFETY: MAP_DUMB takes a drm_mode_map_dumb, which holds no pointers.
        unsafe { ioctl(&self.fd, Updater::<MAP_DUMB, _>::new(&mut args)) }?;
        Ok(args.offset)
    }
}

impl AsFd for Vgem {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
