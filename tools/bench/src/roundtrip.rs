// SPDX-License-Identifier: GPL-2.0-only
//! `roundtrip` (P3): the uAPI round trip of a job against sw_sync's.
//!
//! Ours: SUBMIT a one-packet NOP program signalling a syncobj, then wait for the syncobj
//! (`DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`). Anchor: sw_sync (debugfs): create a fence on a
//! timeline, increment the timeline, poll the fence's sync_file. Both are "create a fence,
//! get it signalled, learn that it was"; times are µs per round trip (lower is better). The
//! two sides take turns one round trip at a time after a warm-up, each timed alone; the metric
//! is each side's median (a round trip that the host preempted, or that a timer interrupt hit,
//! does not move it), and the means are printed too.

use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use xaccel::sw_sync::Timeline;
use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};

/// Round trips per side and round.
const OPS: u32 = 200;

/// A sw_sync timeline and the next value to create a fence at.
struct SwSync {
    timeline: Timeline,
    next: u32,
}

impl SwSync {
    fn open() -> Result<Self, String> {
        let timeline = Timeline::open().map_err(|e| format!("sw_sync: {e}"))?;
        Ok(Self { timeline, next: 1 })
    }

    fn round_trip(&mut self) -> Result<(), String> {
        let fence = self
            .timeline
            .fence(self.next)
            .map_err(|e| format!("SW_SYNC_IOC_CREATE_FENCE: {e}"))?;
        self.next += 1;
        self.timeline
            .inc(1)
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
        self.submit()?;
        self.wait()
    }

    fn submit(&self) -> Result<(), String> {
        self.ctx
            .submit(&Submit::new(&self.cmds, 0, self.len).signal(&self.done, 0))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn wait(&self) -> Result<(), String> {
        self.done
            .wait(0, Duration::from_secs(10))
            .map_err(|e| e.to_string())
    }

    fn wait_sync_file(&self) -> Result<(), String> {
        let fd = self.done.export_sync_file().map_err(|e| e.to_string())?;
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        poll(&mut fds, None).map_err(|e| format!("poll: {e}"))?;
        Ok(())
    }
}

/// Each side's median µs per round trip when it runs alone (`OPS * 3` in a row, ours first):
/// what taking turns in [`measure`] costs each side (the other side's code and data evicted
/// from the caches and, under emulation, from the translated-code and TLB caches).
pub fn alone(dev: &Device, region: u32) -> Result<(f64, f64), String> {
    let ours = Ours::new(dev, region)?;
    let mut anchor = SwSync::open()?;
    ours.round_trip()?;
    anchor.round_trip()?;
    let n = (OPS * 3) as usize;
    let (mut ours_times, mut anchor_times) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let start = Instant::now();
        ours.round_trip()?;
        ours_times.push(start.elapsed());
    }
    for _ in 0..n {
        let start = Instant::now();
        anchor.round_trip()?;
        anchor_times.push(start.elapsed());
    }
    Ok((summary(&mut ours_times).0, summary(&mut anchor_times).0))
}

/// µs per operation of `samples`: (median, mean).
fn summary(samples: &mut [Duration]) -> (f64, f64) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let n = samples.len();
    let median = if n % 2 == 1 {
        us(samples[n / 2])
    } else {
        (us(samples[n / 2 - 1]) + us(samples[n / 2])) / 2.0
    };
    let total: Duration = samples.iter().sum();
    (median, us(total) / n as f64)
}

/// Where our round trip's time goes: median µs of SUBMIT alone, of the syncobj wait that
/// follows (its fence is signalled by then: vaccel completes a NOP inside SUBMIT), and of
/// exporting the syncobj's fence as a sync_file and polling it instead.
pub fn breakdown(dev: &Device, region: u32) -> Result<(f64, f64, f64), String> {
    let ours = Ours::new(dev, region)?;
    ours.round_trip()?;
    let n = OPS * 3;
    let mut submit = Vec::with_capacity(n as usize);
    let (mut wait, mut sync_file) = (Vec::new(), Vec::new());
    for i in 0..n {
        let start = Instant::now();
        ours.submit()?;
        let mid = Instant::now();
        if i % 2 == 0 {
            ours.wait()?;
            wait.push(mid.elapsed());
        } else {
            ours.wait_sync_file()?;
            sync_file.push(mid.elapsed());
        }
        submit.push(mid - start);
    }
    Ok((
        summary(&mut submit).0,
        summary(&mut wait).0,
        summary(&mut sync_file).0,
    ))
}

/// Both sides' µs per round trip, as medians and means.
pub struct RoundTrips {
    pub ours_median: f64,
    pub anchor_median: f64,
    pub ours_mean: f64,
    pub anchor_mean: f64,
}

/// Measures both sides, one round trip of each in turn (which goes first alternates every
/// round), so that whatever else the machine does hits both alike; each round trip is timed
/// on its own.
pub fn measure(dev: &Device, region: u32, rounds: u32) -> Result<RoundTrips, String> {
    let ours = Ours::new(dev, region)?;
    let mut anchor = SwSync::open()?;
    ours.round_trip()?;
    anchor.round_trip()?;
    let count = (OPS * rounds) as usize;
    let (mut ours_times, mut anchor_times) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for round in 0..rounds {
        for _ in 0..OPS {
            for anchor_side in [round % 2 == 1, round % 2 == 0] {
                let start = Instant::now();
                if anchor_side {
                    anchor.round_trip()?;
                    anchor_times.push(start.elapsed());
                } else {
                    ours.round_trip()?;
                    ours_times.push(start.elapsed());
                }
            }
        }
    }
    let (ours_median, ours_mean) = summary(&mut ours_times);
    let (anchor_median, anchor_mean) = summary(&mut anchor_times);
    Ok(RoundTrips {
        ours_median,
        anchor_median,
        ours_mean,
        anchor_mean,
    })
}
