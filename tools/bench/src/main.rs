// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-bench`: xaccel against C anchor drivers, in one boot.
//!
//! Each metric times one operation on xaccel and on its anchor and prints
//! one line:
//!
//! ```text
//! bench: <id> ours=<ops/s> anchor=<ops/s> ratio=<ours/anchor> goal=ge1.0
//! ```
//!
//! | id       | operation (ours: xaccel BO; anchor: vgem dumb buffer)             |
//! |----------|-------------------------------------------------------------------|
//! | `bo-4k`  | create 4 KiB, get the mmap offset, mmap, write every page, munmap, close |
//! | `bo-64m` | the same with 64 MiB (16384 page faults per operation)           |
//! | `roundtrip` | median µs per SUBMIT of a NOP + syncobj wait; anchor: sw_sync create, inc, poll (lower is better) |
//! | `copy-64m` | GB/s of a vaccel COPY job of 64 MiB; anchor: `memcpy` of 64 MiB in this process |
//!
//! Both sides do the same system calls: create, offset (BO_INFO / MAP_DUMB),
//! mmap, one write per page, munmap, GEM_CLOSE. Runs alternate between the
//! two sides (after one warm-up run of each) so that drift in the machine
//! affects both alike. Other output lines start with `# `. Exits 1 if a
//! device is missing or an operation fails.
//!
//! Usage: `xaccel-bench [--device /dev/accel/accelN] [--rounds N] [--only ID]` (`--only`
//! runs one metric, for `make profile`); needs an
//! xaccel device with a system-memory region and vgem loaded, so run it in
//! the VM: `make bench`.

mod copy;
mod roundtrip;
mod vgem;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::{Bo, Device};

use crate::vgem::Vgem;

/// Benchmarks xaccel against C anchor drivers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The xaccel device.
    #[arg(long, short, default_value = "/dev/accel/accel0")]
    device: PathBuf,
    /// Timed rounds per side and metric (after one warm-up).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Runs only this metric (for profiling one of them).
    #[arg(long, value_parser = ["bo-4k", "bo-64m", "roundtrip", "copy-64m"])]
    only: Option<String>,
}

impl Args {
    /// Whether the metric `id` runs (`--only`).
    fn wants(&self, id: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == id)
    }
}

/// One metric: an operation on buffers of `size` bytes, `ops` times a round.
struct Metric {
    id: &'static str,
    size: u64,
    ops: u32,
}

const METRICS: [Metric; 2] = [
    Metric {
        id: "bo-4k",
        size: 4 << 10,
        ops: 500,
    },
    Metric {
        id: "bo-64m",
        size: 64 << 20,
        ops: 2,
    },
];

/// Writes one byte in every page of `len` bytes at `ptr`.
///
/// # Safety
///
/// `ptr..ptr + len` must be mapped writable.
unsafe fn touch(ptr: *mut u8, len: usize, page: usize) {
    for offset in (0..len).step_by(page) {
        // SAFETY: In bounds of the mapping (caller).
        unsafe { ptr.add(offset).write_volatile(1) };
    }
}

/// What the operations run against.
struct Sides {
    dev: Device,
    region: u32,
    vgem: Vgem,
    page: usize,
}

impl Sides {
    /// One xaccel operation: create, BO_INFO, mmap, touch, munmap, close.
    fn ours(&self, size: u64) -> Result<(), String> {
        let bo = Bo::create(&self.dev, size, self.region).map_err(|e| e.to_string())?;
        let map = bo.map().map_err(|e| e.to_string())?;
        // SAFETY: The mapping covers `map.len()` writable bytes.
        unsafe { touch(map.as_ptr(), map.len(), self.page) };
        drop(map);
        bo.close().map_err(|e| e.to_string())
    }

    /// One vgem operation: CREATE_DUMB, MAP_DUMB, mmap, touch, munmap, close.
    fn anchor(&self, size: u64) -> Result<(), String> {
        let buf = vgem::create(&self.vgem, size).map_err(|e| format!("vgem create: {e}"))?;
        let len = buf.size as usize;
        // SAFETY: A new shared mapping at an address the kernel picks.
        let mapped = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &self.vgem,
                buf.offset,
            )
        };
        let result = mapped.map_err(|e| format!("vgem mmap: {e}")).map(|addr| {
            // SAFETY: The mapping just made covers `len` writable bytes; it is
            // unmapped right after, with nothing referring into it.
            unsafe {
                touch(addr.cast(), len, self.page);
                let _ = munmap(addr, len);
            }
        });
        let closed = vgem::close(&self.vgem, buf.handle).map_err(|e| format!("vgem close: {e}"));
        result.and(closed)
    }

    /// Runs `ops` operations of one side; returns the time they took.
    fn run(&self, anchor: bool, size: u64, ops: u32) -> Result<Duration, String> {
        let start = Instant::now();
        for _ in 0..ops {
            if anchor {
                self.anchor(size)?;
            } else {
                self.ours(size)?;
            }
        }
        Ok(start.elapsed())
    }

    /// Times one metric; returns (ours, anchor) in operations per second.
    fn measure(&self, m: &Metric, rounds: u32) -> Result<(f64, f64), String> {
        self.run(false, m.size, 1)?;
        self.run(true, m.size, 1)?;
        let (mut ours, mut anchor) = (Duration::ZERO, Duration::ZERO);
        for round in 0..rounds {
            // Alternate which side goes first.
            for anchor_side in [round % 2 == 1, round % 2 == 0] {
                let took = self.run(anchor_side, m.size, m.ops)?;
                if anchor_side {
                    anchor += took;
                } else {
                    ours += took;
                }
            }
        }
        let ops = f64::from(m.ops) * f64::from(rounds);
        Ok((ops / ours.as_secs_f64(), ops / anchor.as_secs_f64()))
    }
}

/// Opens both devices and finds xaccel's system region.
fn setup(args: &Args) -> Result<Sides, String> {
    let dev = Device::open(&args.device).map_err(|e| e.to_string())?;
    let region = dev
        .system_region()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} has no system-memory region", args.device.display()))?
        .id;
    let vgem = Vgem::find()?;
    println!(
        "# ours: {} region {region}; anchor: vgem at {}",
        args.device.display(),
        vgem.path().display()
    );
    for m in METRICS.iter().filter(|m| args.wants(m.id)) {
        println!(
            "# {}: {} bytes, {} x {} operations per side",
            m.id, m.size, args.rounds, m.ops
        );
    }
    Ok(Sides {
        dev,
        region,
        vgem,
        page: rustix::param::page_size(),
    })
}

/// Operations per second with four significant digits or one decimal.
fn rate(ops: f64) -> String {
    let decimals = (3 - ops.abs().log10().floor() as i32).clamp(1, 6) as usize;
    format!("{ops:.decimals$}")
}

fn main() -> ExitCode {
    let args = Args::parse();
    let sides = match setup(&args) {
        Ok(sides) => sides,
        Err(err) => {
            eprintln!("xaccel-bench: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for m in METRICS.iter().filter(|m| args.wants(m.id)) {
        match sides.measure(m, args.rounds) {
            Ok((ours, anchor)) => println!(
                "bench: {} ours={} anchor={} ratio={:.3} goal=ge1.0",
                m.id,
                rate(ours),
                rate(anchor),
                ours / anchor
            ),
            Err(err) => {
                eprintln!("xaccel-bench: {}: {err}", m.id);
                failed = true;
            }
        }
    }
    if args.wants("roundtrip") {
        failed |= !roundtrip_lines(&sides, args.rounds);
    }
    if args.wants("copy-64m") {
        failed |= !copy_line(&sides, args.rounds);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The roundtrip metric and its breakdown; `false` if either failed.
fn roundtrip_lines(sides: &Sides, rounds: u32) -> bool {
    let mut ok = true;
    match roundtrip::measure(&sides.dev, sides.region, rounds) {
        Ok(times) => {
            println!(
                "# roundtrip: means ours={} anchor={} ratio={:.3}",
                rate(times.ours_mean),
                rate(times.anchor_mean),
                times.ours_mean / times.anchor_mean
            );
            println!(
                "bench: roundtrip ours={} anchor={} ratio={:.3} goal=le1.5",
                rate(times.ours_median),
                rate(times.anchor_median),
                times.ours_median / times.anchor_median
            );
        }
        Err(err) => {
            eprintln!("xaccel-bench: roundtrip: {err}");
            ok = false;
        }
    }
    match roundtrip::breakdown(&sides.dev, sides.region) {
        Ok((submit, wait, sync_file)) => println!(
            "# roundtrip: median submit {submit:.1} us, syncobj wait {wait:.1} us \
             (sync_file export and poll instead: {sync_file:.1} us)"
        ),
        Err(err) => {
            eprintln!("xaccel-bench: roundtrip breakdown: {err}");
            ok = false;
        }
    }
    match roundtrip::alone(&sides.dev, sides.region) {
        Ok((ours, anchor)) => println!(
            "# roundtrip: each side alone, median ours {ours:.1} us, anchor {anchor:.1} us \
             (ratio {:.3})",
            ours / anchor
        ),
        Err(err) => {
            eprintln!("xaccel-bench: roundtrip alone: {err}");
            ok = false;
        }
    }
    ok
}

/// The copy-64m metric; `false` if it failed.
fn copy_line(sides: &Sides, rounds: u32) -> bool {
    match copy::measure(&sides.dev, sides.region, rounds) {
        Ok((ours, anchor)) => {
            println!(
                "bench: copy-64m ours={} anchor={} ratio={:.3} goal=ge0.9",
                rate(ours),
                rate(anchor),
                ours / anchor
            );
            true
        }
        Err(err) => {
            eprintln!("xaccel-bench: copy-64m: {err}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_keep_four_digits() {
        assert_eq!(rate(341.27), "341.3");
        assert_eq!(rate(12.3456), "12.35");
        assert_eq!(rate(0.30912), "0.3091");
        assert_eq!(rate(5000.0), "5000.0");
    }
}
