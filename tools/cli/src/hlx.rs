// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel hlx`: runs an HLX program (DMA, then compute, ordered by a sync object) on an `hlx`
//! device and shows the device's queue and HBM state and the driver's counters, from the hlx
//! vendor queries (`uapi/drm/hlx_accel.h`).
//!
//! The program works on an HBM buffer object of three pages, in the BO list of both jobs
//! (contexts without a VM, which reach the object's HBM at its device address): DMA0 fills the
//! first page and copies it to the second, then sets sync object 30; CMP0 waits for it and
//! adds the two pages into the third.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use xaccel::hlx::{self, MsgTarget, Packet, VecOp};
use xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE;
use xaccel::{Bo, Context, Device, Error, Priority, Submit, Syncobj};

/// The HBM buffer object's size: three pages.
const HBM_BYTES: u64 = 0x3000;
/// The sync object ordering the two jobs.
const SOB: u64 = 30;

/// What `xaccel hlx` did and saw.
#[derive(Debug, Serialize)]
pub struct HlxReport {
    /// The device node.
    pub device: PathBuf,
    /// Each job: (engine, packets, "ok" or the errno).
    pub jobs: Vec<(u32, usize, String)>,
    /// HBM size, the first byte of the HBM region, and page-table bytes.
    pub hbm: (u64, u64, u64),
    /// The device address of the program's HBM buffer object.
    pub buffer: u64,
    /// The driver's counters.
    pub counters: Vec<(&'static str, u64)>,
    /// Each queue: (index, Q_STATUS, Q_CI, soft resets).
    pub queues: Vec<(u32, u32, u32, u32)>,
}

/// The DMA job and the compute job, on HBM at device address `base`.
fn program(base: u64) -> [(u32, Vec<Packet>); 2] {
    let (a, b, d) = (base, base + 0x1000, base + 0x2000);
    let set = |value| Packet::MsgLong {
        target: MsgTarget::Sob { add: false },
        addr: SOB,
        value,
    };
    [
        (
            hlx::ENGINE_DMA0,
            vec![
                set(0),
                Packet::Memset {
                    dst: a,
                    len: 0x1000,
                    pattern: 0x0102_0304,
                },
                Packet::Copy {
                    src: a,
                    dst: b,
                    len: 0x1000,
                },
                set(1),
            ],
        ),
        (
            hlx::ENGINE_CMP0,
            vec![
                Packet::Fence {
                    sob: SOB as u32,
                    target: 1,
                },
                Packet::Vec {
                    op: VecOp::Add,
                    count: 1024,
                    dst: d,
                    a,
                    b,
                    cols: 0,
                },
            ],
        ),
    ]
}

/// Runs the program on the hlx device at `path` and reads its state.
pub fn run(path: &Path) -> xaccel::Result<HlxReport> {
    let dev = Device::open(path)?;
    let region = dev.system_region()?.map_or(0, |r| r.id);
    let no_hbm = || Error::Protocol {
        ioctl: "QUERY",
        problem: "an hlx device without an HBM region with device addresses".into(),
    };
    let hbm_region = hlx::hbm_region(&dev)?.ok_or_else(no_hbm)?;
    let hbm = Bo::create(&dev, HBM_BYTES, hbm_region.id)?;
    let base = hbm.device_addr().ok_or_else(no_hbm)?;
    let mut jobs = Vec::new();
    for (engine, packets) in program(base) {
        let cb = hlx::encode(&packets);
        let bo = Bo::create(&dev, cb.len() as u64, region)?;
        bo.map()?.write(0, &cb);
        let ctx = Context::create(&dev, engine, Priority::Normal)?;
        let done = Syncobj::create(&dev, false)?;
        let submit = Submit::new(&bo, 0, cb.len() as u64)
            .bo(&hbm, DRM_XACCEL_SUBMIT_BO_WRITE)
            .signal(&done, 0);
        ctx.submit(&submit)?;
        done.wait(0, Duration::from_secs(20))?;
        let status = match xaccel::sync_file_status(done.export_sync_file()?.as_fd())? {
            Ok(_) => "ok".to_string(),
            Err(errno) => format!("error {}", errno.raw_os_error()),
        };
        jobs.push((engine, packets.len(), status));
    }
    let info = hlx::hw_info(&dev)?;
    let c = hlx::counters(&dev)?;
    Ok(HlxReport {
        device: path.to_owned(),
        jobs,
        hbm: (info.hbm_size, info.hbm_user_base, info.page_table_bytes),
        buffer: base,
        counters: vec![
            ("jobs_done", c.jobs_done),
            ("jobs_failed", c.jobs_failed),
            ("mmu_faults", c.mmu_faults),
            ("access_errors", c.access_errors),
            ("soft_resets", c.soft_resets),
            ("hard_resets", c.hard_resets),
            ("irq_cq", u64::from(c.irq_cq)),
            ("irq_eq", u64::from(c.irq_eq)),
        ],
        queues: hlx::queues(&dev)?
            .iter()
            .map(|q| (q.queue, q.status, q.ci, q.soft_resets))
            .collect(),
    })
}

/// The text form.
pub fn human(r: &HlxReport) -> String {
    let mut out = format!("{}: HLX program\n", r.device.display());
    for (engine, packets, status) in &r.jobs {
        out += &format!("  engine {engine}: {packets} packets: {status}\n");
    }
    let (size, region, tables) = r.hbm;
    out += &format!(
        "  HBM {} MiB: page tables {} KiB, HBM region from {:#x}, program buffer at {:#x}\n",
        size >> 20,
        tables >> 10,
        region,
        r.buffer
    );
    for (name, value) in &r.counters {
        out += &format!("  {name} {value}\n");
    }
    for (q, status, ci, resets) in &r.queues {
        out += &format!("  queue {q} status {status:#x} ci {ci:#x} soft_resets {resets}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_fits_the_parser() {
        let base = 4 << 20;
        for (_, packets) in program(base) {
            let cb = hlx::encode(&packets);
            assert!(cb.len() <= 4096 && cb.len().is_multiple_of(8));
            // Every HBM operand stays in the three-page buffer object.
            for p in &packets {
                if let Packet::Memset { dst, len, .. } = p {
                    assert!(*dst >= base && dst + u64::from(*len) <= base + HBM_BYTES);
                }
            }
        }
    }
}
