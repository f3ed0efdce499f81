// SPDX-License-Identifier: GPL-2.0-only
//! sw_sync, the kernel's software fence timelines (`/sys/kernel/debug/sync/sw_sync`, with
//! `CONFIG_SW_SYNC` and debugfs mounted): fences that a test or benchmark signals itself, so a
//! job can be held back behind one for as long as it likes, on any backend, or a fence round
//! trip measured without a device. Each open file is a timeline; a fence created at value `v`
//! signals once the timeline has been incremented to `v`.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Setter, Updater};

/// Where the kernel offers sw_sync.
pub const PATH: &str = "/sys/kernel/debug/sync/sw_sync";

/// `struct sw_sync_create_fence_data` (`drivers/dma-buf/sync_debug.h`).
#[repr(C)]
struct CreateFenceData {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

const CREATE_FENCE: Opcode = opcode::read_write::<CreateFenceData>(b'W', 0);
const INC: Opcode = opcode::write::<u32>(b'W', 1);

/// One sw_sync timeline, destroyed (its unsignalled fences signalled) when dropped.
pub struct Timeline(File);

impl Timeline {
    /// A new timeline at value 0.
    pub fn open() -> std::io::Result<Self> {
        Ok(Self(OpenOptions::new().read(true).write(true).open(PATH)?))
    }

    /// A new fence (a sync_file) that signals when the timeline reaches `value`.
    pub fn fence(&self, value: u32) -> Result<OwnedFd, Errno> {
        let mut data = CreateFenceData {
            value,
            name: *b"xaccel\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            fence: -1,
        };
        // SAFETY: The opcode matches `CreateFenceData`, `struct sw_sync_create_fence_data`.
        unsafe { ioctl(self.0.as_fd(), Updater::<CREATE_FENCE, _>::new(&mut data)) }?;
        // SAFETY: The kernel installed a new fd for us, which nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(data.fence) })
    }

    /// Advances the timeline by `count`, signalling the fences it passes.
    pub fn inc(&self, count: u32) -> Result<(), Errno> {
        // SAFETY: The opcode matches a `u32` argument.
        unsafe { ioctl(self.0.as_fd(), Setter::<INC, _>::new(count)) }
    }
}
