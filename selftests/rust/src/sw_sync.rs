// SPDX-License-Identifier: GPL-2.0-only
//! sw_sync's debugfs interface (`/sys/kernel/debug/sync/sw_sync`): timelines whose fences the
//! test signals, and gates, syncobjs holding such a fence, which hold jobs back until the test
//! opens them (so a job is in flight for as long as a test needs, on any backend).

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use rustix::ioctl::{ioctl, opcode, Opcode, Setter, Updater};
use xaccel::{Device, Syncobj};

use crate::tap::Failure;

/// `Result` of the helpers: a test failure on error.
type Check<T = ()> = Result<T, Failure>;

#[allow(non_camel_case_types)]
#[repr(C)]
struct sw_sync_create_fence_data {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

const CREATE_FENCE: Opcode = opcode::read_write::<sw_sync_create_fence_data>(b'W', 0);
const INC: Opcode = opcode::write::<u32>(b'W', 1);

pub struct Timeline(File);

impl Timeline {
    pub fn open() -> std::io::Result<Self> {
        Ok(Self(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open("/sys/kernel/debug/sync/sw_sync")?,
        ))
    }

    pub fn fence(&self, value: u32) -> Result<OwnedFd, rustix::io::Errno> {
        let mut data = sw_sync_create_fence_data {
            value,
            name: *b"xaccel-selftest\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            fence: -1,
        };
        // SAFETY: The opcode matches `sw_sync_create_fence_data`.
        unsafe { ioctl(self.0.as_fd(), Updater::<CREATE_FENCE, _>::new(&mut data)) }?;
        // SAFETY: The kernel installed a new fd for us.
        Ok(unsafe { OwnedFd::from_raw_fd(data.fence) })
    }

    pub fn inc(&self, count: u32) -> Result<(), rustix::io::Errno> {
        // SAFETY: The opcode matches a `u32` argument.
        unsafe { ioctl(self.0.as_fd(), Setter::<INC, _>::new(count)) }
    }
}

/// A gate: a binary syncobj of `dev` holding the fence at point 1 of a new timeline, which
/// opens with `timeline.inc(1)`; `None` without sw_sync (debugfs).
pub fn gate(dev: &Device) -> Check<Option<(Timeline, Syncobj<'_>)>> {
    let Ok(timeline) = Timeline::open() else {
        return Ok(None);
    };
    let fence = timeline.fence(1)?;
    let gate = Syncobj::create(dev, false)?;
    gate.import_sync_file(fence.as_fd())?;
    Ok(Some((timeline, gate)))
}
