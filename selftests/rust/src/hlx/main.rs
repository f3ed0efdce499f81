// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-hlx`: selftest of the `hlx` backend on an HLX device (the model in the
//! VM), in TAP version 13: engines, jobs on every queue through the CQ and MSI-X, the
//! command-buffer parser's refusals, and hang recovery (soft, then hard reset) with an innocent
//! context continuing. Test control (wedges) and counters come from debugfs
//! `hlx/accelN/control`.
//!
//! Usage: `xaccel-selftest-hlx [DEVICE]`, as root in the VM.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use xaccel::hlx::{self, MsgTarget, Packet, VecOp};
use xaccel::{Bo, Context, Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

type Check<T = ()> = Result<T, Failure>;

/// How long any wait may take before the test fails (a hang guard, not a timing check).
const GUARD: Duration = Duration::from_secs(20);
/// HBM the driver leaves to user jobs starts here (drivers/hlx).
const HBM_USER: u64 = 1 << 20;

struct Ctx {
    dev: Device,
    system: u32,
    control: PathBuf,
}

impl Ctx {
    fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let info = dev.device_info()?;
        ensure!(
            info.backend == "hlx",
            "{} is {}, not hlx",
            path.display(),
            info.backend
        );
        let Some(system) = dev.system_region()?.map(|r| r.id) else {
            fail!("no system region");
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let control = PathBuf::from(format!("/sys/kernel/debug/hlx/{name}/control"));
        Ok(Self {
            dev,
            system,
            control,
        })
    }

    /// Runs `packets` on `engine` in a new context; returns the fence's outcome.
    fn run(
        &self,
        engine: u32,
        packets: &[Packet],
        timeout: Option<Duration>,
    ) -> Check<Result<(), Errno>> {
        let ctx = Context::create(&self.dev, engine, Priority::Normal)?;
        let out = self.submit(&ctx, packets, timeout)?;
        outcome(&out)
    }

    /// Submits `packets` on `ctx`; returns the out-syncobj.
    fn submit<'d>(
        &'d self,
        ctx: &Context<'d>,
        packets: &[Packet],
        timeout: Option<Duration>,
    ) -> Check<Syncobj<'d>> {
        let cb = hlx::encode(packets);
        let bo = Bo::create(&self.dev, cb.len() as u64, self.system)?;
        bo.map()?.write(0, &cb);
        let out = Syncobj::create(&self.dev, false)?;
        let mut submit = Submit::new(&bo, 0, cb.len() as u64).signal(&out, 0);
        if let Some(t) = timeout {
            submit = submit.timeout(t);
        }
        ctx.submit(&submit)?;
        Ok(out)
    }

    /// SUBMIT's errno for `packets` on `engine`.
    fn refusal(&self, engine: u32, packets: &[Packet]) -> Check<Option<Errno>> {
        let ctx = Context::create(&self.dev, engine, Priority::Normal)?;
        let cb = hlx::encode(packets);
        let bo = Bo::create(&self.dev, cb.len().max(8) as u64, self.system)?;
        bo.map()?.write(0, &cb);
        Ok(ctx
            .submit(&Submit::new(&bo, 0, cb.len() as u64))
            .err()
            .map(|e| e.errno().unwrap_or(Errno::INVAL)))
    }

    /// A counter of debugfs `control`.
    fn counter(&self, name: &str) -> Check<u64> {
        let text = std::fs::read_to_string(&self.control)
            .map_err(|e| Failure(format!("{}: {e}", self.control.display())))?;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix(name).and_then(|r| r.strip_prefix(' ')) {
                return v
                    .trim()
                    .parse()
                    .map_err(|_| Failure(format!("bad {name}: {v}")));
            }
        }
        fail!("no {name} in {}", self.control.display())
    }

    /// Arms a wedge on `queue` (1 soft, 2 hard).
    fn wedge(&self, queue: u32, mode: u32) -> Check {
        std::fs::write(&self.control, format!("{queue} {mode}"))
            .map_err(|e| Failure(format!("wedge: {e}")))
    }
}

/// The status of `syncobj`'s fence, after waiting for it.
fn outcome(syncobj: &Syncobj<'_>) -> Check<Result<(), Errno>> {
    syncobj.wait(0, GUARD)?;
    let fd: OwnedFd = syncobj.export_sync_file()?;
    match xaccel::sync_file_status(fd.as_fd())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => fail!("a waited-for fence is not signalled"),
        Err(errno) => Ok(Err(errno)),
    }
}

fn engines(c: &Ctx) -> TestResult {
    let names: Vec<String> = c.dev.engines()?.into_iter().map(|e| e.name).collect();
    ensure!(
        names == ["dma0", "dma1", "cmp0", "cmp1"],
        "engines {names:?}"
    );
    tap::pass()
}

fn nop_on_every_queue(c: &Ctx) -> TestResult {
    let done = c.counter("jobs_done")?;
    for engine in 0..4 {
        let got = c.run(engine, &[Packet::Nop, Packet::Nop], None)?;
        ensure!(got == Ok(()), "engine {engine}: {got:?}");
    }
    ensure!(
        c.counter("jobs_done")? == done + 4,
        "jobs_done did not grow by 4"
    );
    ensure!(c.counter("irq_cq")? > 0, "no CQ interrupt counted");
    tap::pass()
}

fn hbm_dma_and_compute(c: &Ctx) -> TestResult {
    let (a, b, d) = (HBM_USER, HBM_USER + 0x1000, HBM_USER + 0x2000);
    let dma = [
        Packet::Memset {
            dst: a,
            len: 0x1000,
            pattern: 3,
        },
        Packet::Copy {
            src: a,
            dst: b,
            len: 0x1000,
        },
        Packet::MsgLong {
            target: MsgTarget::Sob { add: false },
            addr: 10,
            value: 1,
        },
    ];
    ensure!(
        c.run(hlx::ENGINE_DMA0, &dma, None)? == Ok(()),
        "DMA job failed"
    );
    let vec = [
        Packet::Fence { sob: 10, target: 1 },
        Packet::Vec {
            op: VecOp::Add,
            count: 1024,
            dst: d,
            a,
            b,
            cols: 0,
        },
        Packet::Vec {
            op: VecOp::Gemv,
            count: 16,
            dst: d,
            a,
            b,
            cols: 64,
        },
    ];
    ensure!(
        c.run(hlx::ENGINE_CMP0, &vec, None)? == Ok(()),
        "compute job failed"
    );
    tap::pass()
}

fn privileged_packets_refused(c: &Ctx) -> TestResult {
    let cases: [(&str, u32, Vec<Packet>, Errno); 10] = [
        (
            "WREG32",
            0,
            vec![Packet::Wreg32 {
                offset: 0x110,
                value: 1,
            }],
            Errno::PERM,
        ),
        ("STOP", 0, vec![Packet::Nop, Packet::Stop], Errno::PERM),
        (
            "PTE_WRITE",
            2,
            vec![Packet::PteWrite { pa: 0, value: 1 }],
            Errno::PERM,
        ),
        (
            "MSG_LONG to the CQ",
            1,
            vec![Packet::MsgLong {
                target: MsgTarget::Cq,
                addr: 0,
                value: 1,
            }],
            Errno::PERM,
        ),
        (
            "LIN_DMA from host memory",
            0,
            vec![Packet::Copy {
                src: 1 << 63,
                dst: HBM_USER,
                len: 64,
            }],
            Errno::ACCESS,
        ),
        (
            "LIN_DMA into driver HBM",
            0,
            vec![Packet::Memset {
                dst: 0,
                len: 64,
                pattern: 0,
            }],
            Errno::ACCESS,
        ),
        (
            "VEC past the end of HBM",
            2,
            vec![Packet::Vec {
                op: VecOp::Add,
                count: 1 << 24,
                dst: HBM_USER,
                a: HBM_USER,
                b: HBM_USER,
                cols: 0,
            }],
            Errno::ACCESS,
        ),
        (
            "VEC on a DMA queue",
            0,
            vec![Packet::Vec {
                op: VecOp::Add,
                count: 1,
                dst: HBM_USER,
                a: HBM_USER,
                b: HBM_USER,
                cols: 0,
            }],
            Errno::INVAL,
        ),
        (
            "FENCE on sync object 256",
            3,
            vec![Packet::Fence {
                sob: 256,
                target: 1,
            }],
            Errno::INVAL,
        ),
        (
            "a command buffer over 4 KiB",
            0,
            vec![Packet::Nop; 513],
            Errno::TOOBIG,
        ),
    ];
    for (what, engine, packets, want) in cases {
        let got = c.refusal(engine, &packets)?;
        ensure!(got == Some(want), "{what}: got {got:?}, want {want:?}");
    }
    // A truncated packet.
    let ctx = Context::create(&c.dev, 0, Priority::Normal)?;
    let bo = Bo::create(&c.dev, 4096, c.system)?;
    bo.map()?.write(
        0,
        &hlx::encode(&[Packet::Copy {
            src: HBM_USER,
            dst: HBM_USER,
            len: 8,
        }])[..16],
    );
    let got = ctx
        .submit(&Submit::new(&bo, 0, 16))
        .err()
        .and_then(|e| e.errno());
    ensure!(got == Some(Errno::INVAL), "truncated LIN_DMA: {got:?}");
    tap::pass()
}

/// A wedged engine times the job out; the queue is reset (soft for mode 1, the soft reset
/// fails and the device is hard-reset for mode 2) and new jobs, on that queue and another,
/// complete.
fn hang(c: &Ctx, mode: u32, counter: &str) -> TestResult {
    let before = c.counter(counter)?;
    let queue = hlx::ENGINE_CMP1;
    c.wedge(queue, mode)?;
    let guilty = Context::create(&c.dev, queue, Priority::Normal)?;
    let innocent = Context::create(&c.dev, hlx::ENGINE_DMA1, Priority::Normal)?;
    let stuck = c.submit(&guilty, &[Packet::Nop], Some(Duration::from_millis(300)))?;
    let other = c.submit(&innocent, &[Packet::Nop], None)?;
    ensure!(
        outcome(&stuck)? == Err(Errno::TIME),
        "wedged job did not time out"
    );
    ensure!(outcome(&other)? == Ok(()), "innocent job failed");
    ensure!(c.counter(counter)? == before + 1, "{counter} did not grow");
    ensure!(
        c.run(queue, &[Packet::Nop], None)? == Ok(()),
        "queue dead after the reset"
    );
    let again = c.submit(&innocent, &[Packet::Nop], None)?;
    ensure!(
        outcome(&again)? == Ok(()),
        "innocent context dead after the reset"
    );
    tap::pass()
}

fn soft_hang(c: &Ctx) -> TestResult {
    hang(c, 1, "soft_resets")
}

fn hard_hang(c: &Ctx) -> TestResult {
    hang(c, 2, "hard_resets")
}

#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("engines: dma0 dma1 cmp0 cmp1",                                engines),
    ("NOP jobs complete on every queue (CQ, MSI-X)",                nop_on_every_queue),
    ("MEMSET, COPY on DMA0, then FENCE + VEC on CMP0 via a SOB",     hbm_dma_and_compute),
    ("privileged, out-of-range and malformed packets are refused",  privileged_packets_refused),
    ("soft wedge: timeout, SOFT_RESET, innocent context goes on",   soft_hang),
    ("hard wedge: SOFT_RESET fails, HARD_RESET, all goes on",       hard_hang),
];

fn main() -> std::process::ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
