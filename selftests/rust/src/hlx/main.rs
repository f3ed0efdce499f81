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
use xaccel::{Access, Binding, Bo, Context, Device, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::tap::{self, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

type Check<T = ()> = Result<T, Failure>;

/// How long any wait may take before the test fails (a hang guard, not a timing check).
const GUARD: Duration = Duration::from_secs(20);
/// HBM the driver leaves to user jobs starts here (drivers/hlx).
const HBM_USER: u64 = 4 << 20;

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

    /// Submits `packets` on `ctx` in `vm`, after `wait` if given; returns the out-syncobj.
    fn submit_vm<'d>(
        &'d self,
        ctx: &Context<'d>,
        vm: &Vm<'d>,
        packets: &[Packet],
        wait: Option<&Syncobj<'d>>,
    ) -> Check<Syncobj<'d>> {
        let cb = hlx::encode(packets);
        let bo = Bo::create(&self.dev, cb.len() as u64, self.system)?;
        bo.map()?.write(0, &cb);
        let out = Syncobj::create(&self.dev, false)?;
        let mut submit = Submit::new(&bo, 0, cb.len() as u64).signal(&out, 0).vm(vm);
        if let Some(w) = wait {
            submit = submit.wait(w, 0);
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

/// Where the MMU tests bind their buffers.
const VA: u64 = 1 << 32;

/// A system BO of `len` bytes filled with a pattern (or zeroes), bound at `va` in `vm`.
fn bound<'d, 'v>(
    c: &'d Ctx,
    vm: &'v Vm<'d>,
    va: u64,
    len: usize,
    seed: Option<u8>,
) -> Check<(Bo<'d>, Binding<'v>, Vec<u8>)> {
    let bo = Bo::create(&c.dev, len as u64, c.system)?;
    let data: Vec<u8> = match seed {
        Some(s) => (0..len).map(|i| (i * 31 + usize::from(s)) as u8).collect(),
        None => vec![0; len],
    };
    bo.map()?.write(0, &data);
    let binding = vm.bind(&bo, 0, len as u64, va, Access::ReadWrite)?;
    Ok((bo, binding, data))
}

fn vm_dma_is_bit_exact(c: &Ctx) -> TestResult {
    let vm = Vm::create(&c.dev)?;
    let len = 3 * 4096 + 512;
    let (_src, _sb, data) = bound(c, &vm, VA, 4 * 4096, Some(7))?;
    let (dst, _db, _) = bound(c, &vm, VA + (1 << 20), 4 * 4096, None)?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA0, Priority::Normal)?;
    let copy = [Packet::Copy {
        src: VA + 100,
        dst: VA + (1 << 20) + 300,
        len: len as u32,
    }];
    let out = c.submit_vm(&ctx, &vm, &copy, None)?;
    ensure!(outcome(&out)? == Ok(()), "DMA job through the MMU failed");
    let mut got = vec![0u8; 4 * 4096];
    dst.map()?.read(0, &mut got);
    ensure!(
        got[300..300 + len] == data[100..100 + len],
        "copied bytes differ"
    );
    ensure!(
        got[..300].iter().all(|&b| b == 0) && got[300 + len..].iter().all(|&b| b == 0),
        "bytes outside the copy changed"
    );
    tap::pass()
}

fn vm_refusals(c: &Ctx) -> TestResult {
    let vm = Vm::create(&c.dev)?;
    let (_a, _ab, _) = bound(c, &vm, VA, 4096, Some(1))?;
    let ro = Bo::create(&c.dev, 4096, c.system)?;
    let _rb = vm.bind(&ro, 0, 4096, VA + 0x10000, Access::ReadOnly)?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA0, Priority::Normal)?;
    let cases = [
        (
            "a VA past the mapping",
            Packet::Copy {
                src: VA,
                dst: VA + 4000,
                len: 200,
            },
            Errno::FAULT,
        ),
        (
            "an unmapped VA",
            Packet::Memset {
                dst: VA + 0x8000,
                len: 4,
                pattern: 0,
            },
            Errno::FAULT,
        ),
        (
            "a write to a read-only mapping",
            Packet::Copy {
                src: VA,
                dst: VA + 0x10000,
                len: 8,
            },
            Errno::ACCESS,
        ),
    ];
    for (what, p, want) in cases {
        let cb = hlx::encode(&[p]);
        let bo = Bo::create(&c.dev, cb.len() as u64, c.system)?;
        bo.map()?.write(0, &cb);
        let got = ctx
            .submit(&Submit::new(&bo, 0, cb.len() as u64).vm(&vm))
            .err()
            .and_then(|e| e.errno());
        ensure!(got == Some(want), "{what}: {got:?}, want {want:?}");
    }
    ensure!(
        outcome(&c.submit_vm(
            &ctx,
            &vm,
            &[Packet::Memset {
                dst: VA,
                len: 64,
                pattern: 1
            }],
            None
        )?)? == Ok(()),
        "a mapped write failed"
    );
    tap::pass()
}

/// A job validated against a mapping that is unbound before it gets there (it waits in a
/// FENCE on a sync object): the device MMU faults, that job fails with EIO, the fault is
/// counted with its address, and the next job of the same context and VM runs.
fn mmu_fault_fails_only_that_job(c: &Ctx) -> TestResult {
    const SOB: u64 = 21;
    let faults = c.counter("mmu_faults")?;
    let vm = Vm::create(&c.dev)?;
    let (_a, _ab, _) = bound(c, &vm, VA, 4096, Some(3))?;
    let b = Bo::create(&c.dev, 4096, c.system)?;
    let target = VA + 0x40000;
    let b_binding = vm.bind(&b, 0, 4096, target, Access::ReadWrite)?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA1, Priority::Normal)?;
    let doomed = [
        Packet::Fence {
            sob: SOB as u32,
            target: 1,
        },
        Packet::Copy {
            src: VA,
            dst: target,
            len: 64,
        },
    ];
    let doomed = c.submit_vm(&ctx, &vm, &doomed, None)?;
    drop(b_binding);
    // Release the FENCE from another queue, then put the sync object back.
    let set = |value| Packet::MsgLong {
        target: MsgTarget::Sob { add: false },
        addr: SOB,
        value,
    };
    ensure!(
        c.run(hlx::ENGINE_DMA0, &[set(1)], None)? == Ok(()),
        "releasing job failed"
    );
    ensure!(
        outcome(&doomed)? == Err(Errno::IO),
        "the faulting job did not fail with EIO"
    );
    ensure!(
        c.run(hlx::ENGINE_DMA0, &[set(0)], None)? == Ok(()),
        "sync object reset failed"
    );
    ensure!(
        c.counter("mmu_faults")? == faults + 1,
        "mmu_faults did not grow by one"
    );
    ensure!(
        c.counter("last_fault_addr")? == target,
        "fault address is not {target:#x}"
    );
    let next = c.submit_vm(
        &ctx,
        &vm,
        &[Packet::Memset {
            dst: VA,
            len: 64,
            pattern: 9,
        }],
        None,
    )?;
    ensure!(
        outcome(&next)? == Ok(()),
        "the next job of the context failed"
    );
    tap::pass()
}

/// Compute engines reach HBM only: VEC on a VA that maps host memory is an ACCESS_ERROR
/// (HOST_DENIED) that fails that job only.
fn compute_on_host_page_fails_only_that_job(c: &Ctx) -> TestResult {
    let errors = c.counter("access_errors")?;
    let vm = Vm::create(&c.dev)?;
    let (_a, _ab, _) = bound(c, &vm, VA, 4096, Some(5))?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_CMP0, Priority::Normal)?;
    let vec = [Packet::Vec {
        op: VecOp::Add,
        count: 16,
        dst: VA,
        a: VA,
        b: VA,
        cols: 0,
    }];
    ensure!(
        outcome(&c.submit_vm(&ctx, &vm, &vec, None)?)? == Err(Errno::IO),
        "VEC on host memory did not fail"
    );
    ensure!(
        c.counter("access_errors")? == errors + 1,
        "access_errors did not grow by one"
    );
    ensure!(
        c.run(hlx::ENGINE_CMP0, &[Packet::Nop], None)? == Ok(()),
        "the queue did not go on"
    );
    tap::pass()
}

fn vendor_queries(c: &Ctx) -> TestResult {
    let info = hlx::hw_info(&c.dev)?;
    ensure!(
        info.id == 0x3158_4c48 && info.version >> 16 == 1,
        "identity {info:?}"
    );
    ensure!(
        info.hbm_size > HBM_USER && info.hbm_user_base == HBM_USER,
        "HBM {info:?}"
    );
    ensure!(
        info.num_queues == 4 && info.page_table_bytes > 0 && info.asids_used > 0,
        "{info:?}"
    );
    let counters = hlx::counters(&c.dev)?;
    ensure!(
        counters.jobs_done == c.counter("jobs_done")?,
        "jobs_done differs from debugfs"
    );
    ensure!(
        counters.soft_resets == c.counter("soft_resets")?,
        "soft_resets differs"
    );
    ensure!(
        u64::from(counters.irq_cq) == c.counter("irq_cq")? && counters.irq_cq > 0,
        "irq_cq"
    );
    let queues = hlx::queues(&c.dev)?;
    ensure!(queues.len() == 4, "{} queues", queues.len());
    for (i, q) in queues.iter().enumerate() {
        // Every queue is enabled and idle between tests.
        ensure!(
            q.queue == i as u32 && q.status & 0xf == 1,
            "queue {i}: {q:?}"
        );
    }
    tap::pass()
}

/// VENDOR_QUERY with bad input: each errno, as for QUERY, and the struct is not changed.
fn vendor_query_validation(c: &Ctx) -> TestResult {
    use xaccel::uapi::drm_xaccel_query;
    let size = std::mem::size_of::<hlx::hlx_counters>() as u32;
    let mut room = vec![0u8; 4 * size as usize];
    let good = drm_xaccel_query {
        type_: hlx::HLX_QUERY_COUNTERS,
        item_size: size,
        count: 1,
        items: room.as_mut_ptr() as u64,
        ..Default::default()
    };
    let cases: [(&str, drm_xaccel_query, Errno); 7] = [
        (
            "unknown type",
            drm_xaccel_query { type_: 99, ..good },
            Errno::INVAL,
        ),
        ("flags", drm_xaccel_query { flags: 1, ..good }, Errno::INVAL),
        (
            "reserved",
            drm_xaccel_query {
                reserved: 1,
                ..good
            },
            Errno::INVAL,
        ),
        (
            "item size below the item",
            drm_xaccel_query {
                item_size: size - 8,
                ..good
            },
            Errno::INVAL,
        ),
        (
            "items without count",
            drm_xaccel_query { count: 0, ..good },
            Errno::INVAL,
        ),
        (
            "count overflowing 32 bits",
            drm_xaccel_query {
                count: u32::MAX,
                item_size: 4096,
                ..good
            },
            Errno::OVERFLOW,
        ),
        (
            "unmapped items",
            drm_xaccel_query { items: 8, ..good },
            Errno::FAULT,
        ),
    ];
    for (what, q, want) in cases {
        let mut arg = q;
        // SAFETY: `items` is `room` (large enough for `count` = 1 item, and for the refused
        // requests nothing is written) or an address that is never mapped.
        let got = unsafe { c.dev.vendor_query_raw(&mut arg) };
        ensure!(got == Err(want), "{what}: {got:?}, want {want:?}");
        ensure!(arg == q, "{what}: the struct changed");
    }
    let mut probe = drm_xaccel_query {
        type_: hlx::HLX_QUERY_QUEUES,
        ..Default::default()
    };
    // SAFETY: No items pointer.
    unsafe { c.dev.vendor_query_raw(&mut probe) }?;
    ensure!(probe.count == 4 && probe.item_size == 16, "probe {probe:?}");
    tap::pass()
}

/// Runs `packets` on `engine` in a new context on `vm`; returns the fence's outcome.
fn run_vm(c: &Ctx, vm: &Vm<'_>, engine: u32, packets: &[Packet]) -> Check<Result<(), Errno>> {
    let ctx = Context::create(&c.dev, engine, Priority::Normal)?;
    let out = c.submit_vm(&ctx, vm, packets, None)?;
    outcome(&out)
}

/// HBM through the window every VM has: host BO -> HBM -> host BO in one DMA job.
fn host_hbm_host_is_bit_exact(c: &Ctx) -> TestResult {
    let vm = Vm::create(&c.dev)?;
    let len = 5 * 4096 + 96;
    let (_src, _sb, data) = bound(c, &vm, VA, 6 * 4096, Some(11))?;
    let (dst, _db, _) = bound(c, &vm, VA + (1 << 20), 6 * 4096, None)?;
    let hbm = hlx::HLX_HBM_VA + 0x30000;
    let job = [
        Packet::Copy {
            src: VA + 8,
            dst: hbm,
            len: len as u32,
        },
        Packet::Copy {
            src: hbm,
            dst: VA + (1 << 20) + 16,
            len: len as u32,
        },
    ];
    ensure!(
        run_vm(c, &vm, hlx::ENGINE_DMA1, &job)? == Ok(()),
        "host->HBM->host job failed"
    );
    let mut got = vec![0u8; 6 * 4096];
    dst.map()?.read(0, &mut got);
    ensure!(
        got[16..16 + len] == data[8..8 + len],
        "bytes differ after the HBM round trip"
    );
    ensure!(
        got[..16].iter().chain(&got[16 + len..]).all(|&b| b == 0),
        "bytes outside changed"
    );
    // The window ends with the HBM jobs may use (whole 2 MiB pages): a range across its end
    // is refused.
    let info = hlx::hw_info(&c.dev)?;
    let window = (info.hbm_size - info.hbm_user_base) / (2 << 20) * (2 << 20);
    let bad = [Packet::Memset {
        dst: hlx::HLX_HBM_VA + window - 4,
        len: 8,
        pattern: 0,
    }];
    let cb = hlx::encode(&bad);
    let bo = Bo::create(&c.dev, cb.len() as u64, c.system)?;
    bo.map()?.write(0, &cb);
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA1, Priority::Normal)?;
    let got = ctx
        .submit(&Submit::new(&bo, 0, cb.len() as u64).vm(&vm))
        .err()
        .and_then(|e| e.errno());
    ensure!(got == Some(Errno::ACCESS), "past the HBM window: {got:?}");
    tap::pass()
}

/// Operands DMAed from host BOs into HBM, VEC on a compute queue, results DMAed back: they
/// equal what userspace computes (wrapping i32 ADD, MUL, signed MAX, GEMV).
fn compute_on_hbm_matches_userspace(c: &Ctx) -> TestResult {
    const N: usize = 1024;
    const COLS: usize = 32;
    const ROWS: usize = N / COLS;
    let vm = Vm::create(&c.dev)?;
    let a: Vec<i32> = (0..N)
        .map(|i| (i as i32).wrapping_mul(7919) - 40000)
        .collect();
    let b: Vec<i32> = (0..N)
        .map(|i| 3 - (i as i32).wrapping_mul(104729))
        .collect();
    let bytes = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let host = Bo::create(&c.dev, 8 * N as u64 * 4, c.system)?;
    let map = host.map()?;
    map.write(0, &bytes(&a));
    map.write(4 * N, &bytes(&b));
    let _binding = vm.bind(&host, 0, host.size(), VA, Access::ReadWrite)?;
    let (ha, hb, hout) = (
        hlx::HLX_HBM_VA,
        hlx::HLX_HBM_VA + 0x1000,
        hlx::HLX_HBM_VA + 0x2000,
    );
    let nbytes = (4 * N) as u32;
    let load = [
        Packet::Copy {
            src: VA,
            dst: ha,
            len: nbytes,
        },
        Packet::Copy {
            src: VA + u64::from(nbytes),
            dst: hb,
            len: nbytes,
        },
    ];
    ensure!(
        run_vm(c, &vm, hlx::ENGINE_DMA0, &load)? == Ok(()),
        "loading HBM failed"
    );
    let ops: [(VecOp, u32, u32, Vec<i32>); 4] = [
        (
            VecOp::Add,
            N as u32,
            0,
            a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect(),
        ),
        (
            VecOp::Mul,
            N as u32,
            0,
            a.iter().zip(&b).map(|(x, y)| x.wrapping_mul(*y)).collect(),
        ),
        (
            VecOp::Max,
            N as u32,
            0,
            a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect(),
        ),
        (
            VecOp::Gemv,
            ROWS as u32,
            COLS as u32,
            (0..ROWS)
                .map(|r| {
                    (0..COLS).fold(0i32, |s, k| {
                        s.wrapping_add(a[r * COLS + k].wrapping_mul(b[k]))
                    })
                })
                .collect(),
        ),
    ];
    for (i, (op, count, cols, want)) in ops.iter().enumerate() {
        let vec = [Packet::Vec {
            op: *op,
            count: *count,
            dst: hout,
            a: ha,
            b: hb,
            cols: *cols,
        }];
        ensure!(
            run_vm(c, &vm, hlx::ENGINE_CMP1, &vec)? == Ok(()),
            "{op:?} failed"
        );
        let back_va = VA + (2 + i as u64) * u64::from(nbytes);
        let back = [Packet::Copy {
            src: hout,
            dst: back_va,
            len: 4 * count,
        }];
        ensure!(
            run_vm(c, &vm, hlx::ENGINE_DMA0, &back)? == Ok(()),
            "reading {op:?} back failed"
        );
        let mut got = vec![0u8; 4 * *count as usize];
        map.read((2 + i) * 4 * N, &mut got);
        ensure!(
            got == bytes(want),
            "{op:?}: the device's result differs from userspace's"
        );
    }
    tap::pass()
}

#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("engines: dma0 dma1 cmp0 cmp1",                                engines),
    ("NOP jobs complete on every queue (CQ, MSI-X)",                nop_on_every_queue),
    ("MEMSET, COPY on DMA0, then FENCE + VEC on CMP0 via a SOB",     hbm_dma_and_compute),
    ("privileged, out-of-range and malformed packets are refused",  privileged_packets_refused),
    ("VM_BIND: LIN_DMA host -> host through the MMU is bit-exact",  vm_dma_is_bit_exact),
    ("VM: unmapped VA EFAULT, read-only write EACCES at SUBMIT",    vm_refusals),
    ("DMA host -> HBM -> host (HBM window of the VM) is bit-exact",  host_hbm_host_is_bit_exact),
    ("VEC ADD/MUL/MAX/GEMV on HBM equal userspace's results",        compute_on_hbm_matches_userspace),
    ("MMU fault (unbound after SUBMIT) fails only that job",        mmu_fault_fails_only_that_job),
    ("VEC on a host page: ACCESS_ERROR fails only that job",        compute_on_host_page_fails_only_that_job),
    ("soft wedge: timeout, SOFT_RESET, innocent context goes on",   soft_hang),
    ("hard wedge: SOFT_RESET fails, HARD_RESET, all goes on",       hard_hang),
    ("vendor queries: HW info, HBM, counters, queue states",        vendor_queries),
    ("VENDOR_QUERY bad input -> errnos as QUERY, struct unchanged", vendor_query_validation),
];

fn main() -> std::process::ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
