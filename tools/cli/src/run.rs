// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel run`: runs a small vaccel program on one engine, checks its result against the same
//! operation computed on the CPU, and times it.
//!
//! Each job is one SUBMIT of a one-packet program (encoded with `xaccel::vaccel`) signalling a
//! syncobj, then a wait for it. Memory operations work on BOs of `--size` bytes in the system
//! or device-local region, filled with a known pattern; after the last job the destination is
//! read back and compared with what the CPU computes. Many jobs show a progress bar on stderr
//! (when it is a terminal, and never with `--json`).

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use xaccel::vaccel::{Mem, Program, VectorOp};
use xaccel::{Bo, Context, Device, Priority, RegionKind, Submit, Syncobj};

/// The operation each job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Nothing (DELAY if --delay-us is given).
    Nop,
    /// COPY --size bytes.
    Copy,
    /// FILL --size bytes with 0xa5c3e10f.
    Fill,
    /// ADD of --size / 4 elements.
    Add,
    /// MUL of --size / 4 elements.
    Mul,
    /// XOR of --size / 4 elements.
    Xor,
    /// MAX of --size / 4 elements.
    Max,
    /// SUM of --size / 4 elements into a u64.
    Sum,
    /// WRITE_TIMESTAMP.
    Timestamp,
}

/// Where the job's BOs live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// The system-memory region.
    System,
    /// The device-local region.
    Local,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunArgs {
    pub device: PathBuf,
    pub engine: u32,
    pub op: Op,
    pub delay_us: u32,
    pub size: u64,
    pub placement: Placement,
    pub count: u32,
}

/// What `xaccel run` measured.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The device node.
    pub device: PathBuf,
    /// The engine the context ran on.
    pub engine: u32,
    /// The operation.
    pub op: Op,
    /// Jobs run.
    pub jobs: u32,
    /// DELAY per job in µs, 0 for none.
    pub delay_us: u32,
    /// Bytes each job's operation covers (0 for NOP, DELAY, WRITE_TIMESTAMP).
    pub size: u64,
    /// Where the BOs were.
    pub placement: Placement,
    /// Wall time of all jobs, µs.
    pub total_us: u64,
    /// Mean SUBMIT-to-signalled time per job, µs.
    pub per_job_us: f64,
    /// Bytes per second moved by the jobs' operation, 0 without memory.
    pub bytes_per_sec: f64,
    /// The last job's fence: "ok" or the errno.
    pub status: String,
    /// The last job's sequence number in its context.
    pub last_seqno: u64,
    /// The result: "verified" (matches the CPU), the SUM or the timestamp, or the mismatch.
    pub result: String,
    /// Whether the result matches the CPU's (always true without memory).
    pub verified: bool,
}

/// The pattern the source BOs hold: byte `i` of BO `n`.
fn pattern(n: u64, i: u64) -> u8 {
    (i.wrapping_mul(31).wrapping_add(n * 101) ^ (i >> 9)) as u8
}

/// The little-endian u32s of `bytes`.
fn words(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// The program, and the number of BOs it uses (the first is the destination).
fn program(op: Op, delay_us: u32, size: u64) -> (Program, usize) {
    let mut p = Program::new();
    let (dst, a, b) = (Mem::bo(0, 0), Mem::bo(1, 0), Mem::bo(2, 0));
    let vector = |p: &mut Program, v| {
        p.vector(v, dst, a, b, size / 4);
    };
    let bos = match op {
        Op::Nop if delay_us > 0 => {
            p.delay(delay_us);
            0
        }
        Op::Nop => {
            p.nop();
            0
        }
        Op::Copy => {
            p.copy(dst, a, size);
            2
        }
        Op::Fill => {
            p.fill(dst, 0xa5c3_e10f, size);
            1
        }
        Op::Add | Op::Mul | Op::Xor | Op::Max => {
            let v = match op {
                Op::Add => VectorOp::Add,
                Op::Mul => VectorOp::Mul,
                Op::Xor => VectorOp::Xor,
                _ => VectorOp::Max,
            };
            vector(&mut p, v);
            3
        }
        Op::Sum => {
            p.sum(dst, a, size / 4);
            2
        }
        Op::Timestamp => {
            p.write_timestamp(dst);
            1
        }
    };
    (p, bos)
}

/// What the CPU computes for the destination's first bytes, or `None` if not checked.
fn expected(op: Op, size: u64) -> Option<Vec<u8>> {
    let src = |n| (0..size).map(move |i| pattern(n, i)).collect::<Vec<u8>>();
    let vector = |f: fn(u32, u32) -> u32| {
        let (a, b) = (src(1), src(2));
        words(&a)
            .zip(words(&b))
            .flat_map(|(x, y)| f(x, y).to_le_bytes())
            .collect()
    };
    Some(match op {
        Op::Copy => src(1),
        Op::Fill => (0..size as usize)
            .map(|i| 0xa5c3_e10fu32.to_le_bytes()[i % 4])
            .collect(),
        Op::Add => vector(|x, y| VectorOp::Add.apply(x, y)),
        Op::Mul => vector(|x, y| VectorOp::Mul.apply(x, y)),
        Op::Xor => vector(|x, y| VectorOp::Xor.apply(x, y)),
        Op::Max => vector(|x, y| VectorOp::Max.apply(x, y)),
        Op::Sum => words(&src(1))
            .fold(0u64, |s, w| s.wrapping_add(u64::from(w)))
            .to_le_bytes()
            .to_vec(),
        Op::Nop | Op::Timestamp => return None,
    })
}

/// A progress bar for `jobs` jobs: hidden for few jobs, with `--json`, or off a terminal.
fn progress(jobs: u32, json: bool) -> ProgressBar {
    if json || jobs < 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(jobs));
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} jobs, {per_sec}, {eta} left")
    {
        bar.set_style(style);
    }
    bar
}

/// Runs the jobs `args` describe; `json` hides the progress bar.
pub fn run(args: &RunArgs, json: bool) -> xaccel::Result<RunReport> {
    let dev = Device::open(&args.device)?;
    let region = pick_region(&dev, args.placement)?;
    let system = dev.system_region()?.map_or(0, |r| r.id);
    let size = match args.op {
        Op::Nop | Op::Timestamp => 0,
        _ => args.size,
    };
    let (prog, nbos) = program(args.op, args.delay_us, size);
    let cmds = Bo::create(&dev, prog.as_bytes().len() as u64, system)?;
    cmds.map()?.write(0, prog.as_bytes());
    let page = rustix::param::page_size() as u64;
    let bo_size = size.max(8).div_ceil(page) * page;
    let mut bos = Vec::new();
    for n in 0..nbos as u64 {
        let bo = Bo::create(&dev, bo_size, region)?;
        let bytes: Vec<u8> = (0..bo_size)
            .map(|i| if n == 0 { 0 } else { pattern(n, i) })
            .collect();
        bo.map()?.write(0, &bytes);
        bos.push(bo);
    }
    let ctx = Context::create(&dev, args.engine, Priority::Normal)?;
    let done = Syncobj::create(&dev, false)?;
    let bar = progress(args.count, json);
    let mut last_seqno = 0;
    let before_ns = monotonic_ns();
    let start = Instant::now();
    for _ in 0..args.count {
        let mut submit = Submit::new(&cmds, 0, prog.as_bytes().len() as u64).signal(&done, 0);
        for (n, bo) in bos.iter().enumerate() {
            let flags = if n == 0 {
                xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE
            } else {
                0
            };
            submit = submit.bo(bo, flags);
        }
        last_seqno = ctx.submit(&submit)?;
        done.wait(0, Duration::from_secs(60))?;
        bar.inc(1);
    }
    let total = start.elapsed();
    bar.finish_and_clear();
    let status = match xaccel::sync_file_status(done.export_sync_file()?.as_fd())? {
        Ok(true) => "ok".to_string(),
        Ok(false) => "pending".to_string(),
        Err(errno) => format!("error {}", errno.raw_os_error()),
    };
    let (result, verified) = check(args.op, size, bos.first(), before_ns)?;
    Ok(RunReport {
        device: args.device.clone(),
        engine: args.engine,
        op: args.op,
        jobs: args.count,
        delay_us: args.delay_us,
        size,
        placement: args.placement,
        total_us: total.as_micros() as u64,
        per_job_us: total.as_secs_f64() * 1e6 / f64::from(args.count.max(1)),
        bytes_per_sec: (size as f64 * f64::from(args.count)) / total.as_secs_f64().max(1e-9),
        status,
        last_seqno,
        result,
        verified,
    })
}

fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The region for `placement`: `ENOENT` if the device has none.
fn pick_region(dev: &Device, placement: Placement) -> xaccel::Result<u32> {
    let kind = match placement {
        Placement::System => RegionKind::System,
        Placement::Local => RegionKind::Device,
    };
    dev.regions()?
        .into_iter()
        .find(|r| r.kind == kind)
        .map(|r| r.id)
        .ok_or(xaccel::Error::Ioctl {
            ioctl: "QUERY (no such region)",
            errno: xaccel::Errno::NOENT,
        })
}

/// Reads the destination back and compares it with the CPU's result.
fn check(
    op: Op,
    size: u64,
    dst: Option<&Bo<'_>>,
    before_ns: u64,
) -> xaccel::Result<(String, bool)> {
    let Some(dst) = dst else {
        return Ok(("no memory".to_string(), true));
    };
    let mut got = vec![0u8; size.max(8) as usize];
    dst.map()?.read(0, &mut got);
    if op == Op::Timestamp {
        let ns = u64::from_le_bytes(got[..8].try_into().unwrap_or_default());
        let ok = ns >= before_ns && ns <= monotonic_ns();
        return Ok((format!("timestamp {ns} ns"), ok));
    }
    let Some(want) = expected(op, size) else {
        return Ok(("no memory".to_string(), true));
    };
    let got = &got[..want.len()];
    Ok(match got.iter().zip(&want).position(|(g, w)| g != w) {
        None if op == Op::Sum => (
            format!(
                "sum {} (verified)",
                u64::from_le_bytes(want[..8].try_into().unwrap_or_default())
            ),
            true,
        ),
        None => ("verified".to_string(), true),
        Some(at) => (
            format!(
                "MISMATCH at byte {at}: {:#04x}, expected {:#04x}",
                got[at], want[at]
            ),
            false,
        ),
    })
}

/// The text form.
pub fn human(r: &RunReport) -> String {
    let what = match r.op {
        Op::Nop if r.delay_us > 0 => format!("DELAY {} us", r.delay_us),
        Op::Nop => "NOP".to_string(),
        op => format!("{op:?} of {} bytes in {:?} memory", r.size, r.placement).to_uppercase(),
    };
    let mut line = format!(
        "{}: engine {}, {} job(s) of {what}: {} us total, {:.1} us per job",
        r.device.display(),
        r.engine,
        r.jobs,
        r.total_us,
        r.per_job_us
    );
    if r.bytes_per_sec > 0.0 {
        line += &format!(", {:.3} GB/s", r.bytes_per_sec / 1e9);
    }
    format!(
        "{line}, last seqno {} {}: {}\n",
        r.last_seqno, r.status, r.result
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_have_one_packet_and_their_bos() {
        for (op, bos) in [
            (Op::Nop, 0),
            (Op::Copy, 2),
            (Op::Fill, 1),
            (Op::Add, 3),
            (Op::Sum, 2),
            (Op::Timestamp, 1),
        ] {
            let (p, n) = program(op, 0, 4096);
            assert_eq!((p.packets(), n), (1, bos), "{op:?}");
        }
        assert_eq!(
            program(Op::Nop, 0, 0).0.as_bytes(),
            [0, 0, 0, 0, 8, 0, 0, 0]
        );
        assert_eq!(
            program(Op::Nop, 5, 0).0.as_bytes(),
            [9, 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn expected_results_follow_the_manual() {
        assert_eq!(
            expected(Op::Fill, 6),
            Some(vec![0x0f, 0xe1, 0xc3, 0xa5, 0x0f, 0xe1])
        );
        let sum = expected(Op::Sum, 8).unwrap();
        let (a, b) = (
            u32::from_le_bytes([pattern(1, 0), pattern(1, 1), pattern(1, 2), pattern(1, 3)]),
            u32::from_le_bytes([pattern(1, 4), pattern(1, 5), pattern(1, 6), pattern(1, 7)]),
        );
        assert_eq!(sum, (u64::from(a) + u64::from(b)).to_le_bytes());
        assert_eq!(
            expected(Op::Copy, 3),
            Some(vec![pattern(1, 0), pattern(1, 1), pattern(1, 2)])
        );
        assert_eq!(expected(Op::Timestamp, 0), None);
    }
}
