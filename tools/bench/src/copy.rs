// SPDX-License-Identifier: GPL-2.0-only
//! `copy-64m` (P5): one vaccel COPY job of 64 MiB against `memcpy` of 64 MiB in userspace.
//!
//! Ours: SUBMIT a one-packet program copying a 64 MiB system-memory BO into another (both
//! written beforehand, so their pages exist) and wait for its syncobj: the core maps both
//! BOs for the job and vaccel's engine copies with one `memmove`. Anchor: `copy_from_slice`
//! (`memcpy`) between two 64 MiB buffers of this process, written beforehand. Results are
//! GB/s (10^9 bytes per second, higher is better), over alternating rounds after a warm-up;
//! the copied bytes are checked once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use xaccel::vaccel::{Mem, Program};
use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};

/// Bytes copied per operation.
pub const SIZE: u64 = 64 << 20;
/// Copies per side and round.
const OPS: u32 = 4;

/// What both sides copy between.
struct Buffers<'d> {
    ctx: Context<'d>,
    cmds: Bo<'d>,
    len: u64,
    src: Bo<'d>,
    dst: Bo<'d>,
    done: Syncobj<'d>,
    from: Vec<u8>,
    to: Vec<u8>,
    /// Time spent in SUBMIT by the timed jobs.
    submitting: Duration,
}

impl Buffers<'_> {
    /// One job; adds the time SUBMIT took (it maps both BOs) to `submitting`.
    fn ours(&mut self) -> Result<(), String> {
        let submit = Submit::new(&self.cmds, 0, self.len)
            .bo(&self.dst, xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE)
            .bo(&self.src, 0)
            .signal(&self.done, 0);
        let start = Instant::now();
        self.ctx.submit(&submit).map_err(|e| e.to_string())?;
        self.submitting += start.elapsed();
        self.done
            .wait(0, Duration::from_secs(60))
            .map_err(|e| e.to_string())
    }

    fn anchor(&mut self) {
        self.to.copy_from_slice(black_box(&self.from));
        black_box(&mut self.to);
    }

    fn run(&mut self, anchor: bool) -> Result<Duration, String> {
        let start = Instant::now();
        for _ in 0..OPS {
            if anchor {
                self.anchor();
            } else {
                self.ours()?;
            }
        }
        Ok(start.elapsed())
    }
}

/// Measures both sides; returns (ours, anchor) in GB/s.
pub fn measure(dev: &Device, region: u32, rounds: u32) -> Result<(f64, f64), String> {
    let err = |e: xaccel::Error| e.to_string();
    let mut program = Program::new();
    program.copy(Mem::bo(0, 0), Mem::bo(1, 0), SIZE);
    let cmds = Bo::create(dev, program.as_bytes().len() as u64, region).map_err(err)?;
    cmds.map().map_err(err)?.write(0, program.as_bytes());
    let src = Bo::create(dev, SIZE, region).map_err(err)?;
    let dst = Bo::create(dev, SIZE, region).map_err(err)?;
    let pattern: Vec<u8> = (0..SIZE).map(|i| (i * 7 + i / 4096) as u8).collect();
    src.map().map_err(err)?.write(0, &pattern);
    dst.map().map_err(err)?.fill(0);
    let mut b = Buffers {
        ctx: Context::create(dev, 0, Priority::Normal).map_err(err)?,
        cmds,
        len: program.as_bytes().len() as u64,
        src,
        dst,
        done: Syncobj::create(dev, false).map_err(err)?,
        to: vec![1; SIZE as usize],
        from: pattern,
        submitting: Duration::ZERO,
    };
    b.run(false)?;
    b.run(true)?;
    let mut copied = vec![0; SIZE as usize];
    b.dst.map().map_err(err)?.read(0, &mut copied);
    if copied != b.from {
        return Err("the COPY job's destination differs from its source".into());
    }
    let (mut ours, mut anchor) = (Duration::ZERO, Duration::ZERO);
    b.submitting = Duration::ZERO;
    for round in 0..rounds {
        for anchor_side in [round % 2 == 1, round % 2 == 0] {
            let took = b.run(anchor_side)?;
            if anchor_side {
                anchor += took;
            } else {
                ours += took;
            }
        }
    }
    let jobs = f64::from(OPS * rounds);
    println!(
        "# copy-64m: per job {:.1} ms, of which SUBMIT (mapping both BOs) {:.1} ms; memcpy {:.1} ms",
        ours.as_secs_f64() * 1e3 / jobs,
        b.submitting.as_secs_f64() * 1e3 / jobs,
        anchor.as_secs_f64() * 1e3 / jobs
    );
    let bytes = (SIZE * u64::from(OPS) * u64::from(rounds)) as f64;
    Ok((
        bytes / ours.as_secs_f64() / 1e9,
        bytes / anchor.as_secs_f64() / 1e9,
    ))
}
