// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel run`: runs vaccel NOP (or DELAY) jobs on one engine and times them.
//!
//! Each job is one SUBMIT of a one-packet program (vaccel ISA, `uapi/drm/vaccel_isa.h`)
//! signalling a syncobj, then a wait for it; the report gives the jobs' outcome and the mean
//! round trip.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};

/// What `xaccel run` measured.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The device node.
    pub device: PathBuf,
    /// The engine the context ran on.
    pub engine: u32,
    /// Jobs run.
    pub jobs: u32,
    /// DELAY per job in µs, 0 for NOP.
    pub delay_us: u32,
    /// Wall time of all jobs, µs.
    pub total_us: u64,
    /// Mean SUBMIT-to-signalled time per job, µs.
    pub per_job_us: f64,
    /// The last job's fence: "ok" or the errno name.
    pub status: String,
    /// The last job's sequence number in its context.
    pub last_seqno: u64,
}

/// The program: a NOP, or a DELAY of `delay_us`.
fn program(delay_us: u32) -> Vec<u8> {
    let (opcode, body): (u16, Vec<u8>) = if delay_us == 0 {
        (0, Vec::new())
    } else {
        let mut body = delay_us.to_le_bytes().to_vec();
        body.extend_from_slice(&[0; 4]);
        (9, body)
    };
    let mut p = opcode.to_le_bytes().to_vec();
    p.extend_from_slice(&0u16.to_le_bytes());
    p.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
    p.extend_from_slice(&body);
    p
}

/// Runs `jobs` jobs on `engine` of the vaccel device at `path`.
pub fn run(path: &Path, engine: u32, delay_us: u32, jobs: u32) -> xaccel::Result<RunReport> {
    let dev = Device::open(path)?;
    let region = dev.system_region()?.map_or(0, |r| r.id);
    let prog = program(delay_us);
    let cmds = Bo::create(&dev, prog.len() as u64, region)?;
    cmds.map()?.write(0, &prog);
    let ctx = Context::create(&dev, engine, Priority::Normal)?;
    let done = Syncobj::create(&dev, false)?;
    let mut last_seqno = 0;
    let start = Instant::now();
    for _ in 0..jobs {
        last_seqno = ctx.submit(&Submit::new(&cmds, 0, prog.len() as u64).signal(&done, 0))?;
        done.wait(0, Duration::from_secs(60))?;
    }
    let total = start.elapsed();
    let status = match xaccel::sync_file_status(done.export_sync_file()?.as_fd())? {
        Ok(true) => "ok".to_string(),
        Ok(false) => "pending".to_string(),
        Err(errno) => format!("error {}", errno.raw_os_error()),
    };
    Ok(RunReport {
        device: path.to_owned(),
        engine,
        jobs,
        delay_us,
        total_us: total.as_micros() as u64,
        per_job_us: total.as_secs_f64() * 1e6 / f64::from(jobs.max(1)),
        status,
        last_seqno,
    })
}

/// The text form.
pub fn human(r: &RunReport) -> String {
    format!(
        "{}: engine {}, {} job(s) of {}: {} us total, {:.1} us per job, last seqno {} {}\n",
        r.device.display(),
        r.engine,
        r.jobs,
        if r.delay_us == 0 {
            "NOP".to_string()
        } else {
            format!("DELAY {} us", r.delay_us)
        },
        r.total_us,
        r.per_job_us,
        r.last_seqno,
        r.status
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_vaccel_packets() {
        assert_eq!(program(0), [0, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(
            program(5),
            [9, 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]
        );
    }
}
