// SPDX-License-Identifier: GPL-2.0-only
//! `roundtrip` (P3): the uAPI round trip of a job against sw_sync's.
//!
//! Ours: SUBMIT a one-packet NOP program signalling a syncobj, then wait for the syncobj
//! (`DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`). Anchor: sw_sync (debugfs): create a fence on a
//! timeline, increment the timeline, poll the fence's sync_file. Both are "create a fence,
//! get it signalled, learn that it was"; times are µs per round trip (lower is better), over
//! alternating rounds after a warm-up.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::ioctl::{ioctl, opcode, Opcode, Setter, Updater};
use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};

/// Round trips per side and round.
const OPS: u32 = 200;

#[allow(non_camel_case_types)]
#[repr(C)]
struct sw_sync_create_fence_data {
    value: u32,
    name: [u8; 32],
    fence: i32,
}

const SW_SYNC_CREATE_FENCE: Opcode = opcode::read_write::<sw_sync_create_fence_data>(b'W', 0);
const SW_SYNC_INC: Opcode = opcode::write::<u32>(b'W', 1);

/// A sw_sync timeline and the next value to create a fence at.
struct SwSync {
    timeline: File,
    next: u32,
}

impl SwSync {
    fn open() -> Result<Self, String> {
        let timeline = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/sys/kernel/debug/sync/sw_sync")
            .map_err(|e| format!("sw_sync: {e}"))?;
        Ok(Self { timeline, next: 1 })
    }

    fn round_trip(&mut self) -> Result<(), String> {
        let mut data = sw_sync_create_fence_data {
            value: self.next,
            name: [0; 32],
            fence: -1,
        };
        self.next += 1;
        // SAFETY: The opcode matches `sw_sync_create_fence_data`.
        unsafe {
            ioctl(
                self.timeline.as_fd(),
                Updater::<SW_SYNC_CREATE_FENCE, _>::new(&mut data),
            )
        }
        .map_err(|e| format!("SW_SYNC_IOC_CREATE_FENCE: {e}"))?;
        // SAFETY: The kernel installed a new fd for us.
        let fence = unsafe { OwnedFd::from_raw_fd(data.fence) };
        // SAFETY: The opcode matches a `u32` argument.
        unsafe { ioctl(self.timeline.as_fd(), Setter::<SW_SYNC_INC, _>::new(1u32)) }
            .map_err(|e| format!("SW_SYNC_IOC_INC: {e}"))?;
        let mut fds = [PollFd::new(&fence, PollFlags::IN)];
        poll(&mut fds, None).map_err(|e| format!("poll: {e}"))?;
        Ok(())
    }
}

/// Our side: a context, a NOP program and a syncobj.
struct Ours<'d> {
    ctx: Context<'d>,
    cmds: Bo<'d>,
    len: u64,
    done: Syncobj<'d>,
}

impl<'d> Ours<'d> {
    fn new(dev: &'d Device, region: u32) -> Result<Self, String> {
        let err = |e: xaccel::Error| e.to_string();
        // A vaccel NOP packet: opcode 0, flags 0, size 8.
        let nop = [0u8, 0, 0, 0, 8, 0, 0, 0];
        let cmds = Bo::create(dev, nop.len() as u64, region).map_err(err)?;
        cmds.map().map_err(err)?.write(0, &nop);
        Ok(Self {
            ctx: Context::create(dev, 0, Priority::Normal).map_err(err)?,
            cmds,
            len: nop.len() as u64,
            done: Syncobj::create(dev, false).map_err(err)?,
        })
    }

    fn round_trip(&self) -> Result<(), String> {
        self.ctx
            .submit(&Submit::new(&self.cmds, 0, self.len).signal(&self.done, 0))
            .map_err(|e| e.to_string())?;
        self.done
            .wait(0, Duration::from_secs(10))
            .map_err(|e| e.to_string())
    }
}

/// Measures both sides; returns µs per round trip (ours, anchor).
pub fn measure(dev: &Device, region: u32, rounds: u32) -> Result<(f64, f64), String> {
    let ours = Ours::new(dev, region)?;
    let mut anchor = SwSync::open()?;
    ours.round_trip()?;
    anchor.round_trip()?;
    let (mut ours_time, mut anchor_time) = (Duration::ZERO, Duration::ZERO);
    for round in 0..rounds {
        for anchor_side in [round % 2 == 1, round % 2 == 0] {
            let start = Instant::now();
            for _ in 0..OPS {
                if anchor_side {
                    anchor.round_trip()?;
                } else {
                    ours.round_trip()?;
                }
            }
            if anchor_side {
                anchor_time += start.elapsed();
            } else {
                ours_time += start.elapsed();
            }
        }
    }
    let ops = f64::from(OPS) * f64::from(rounds);
    Ok((
        ours_time.as_secs_f64() * 1e6 / ops,
        anchor_time.as_secs_f64() * 1e6 / ops,
    ))
}
