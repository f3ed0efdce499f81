// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-hlx-p2p`: PCI peer-to-peer between two HLX devices under one PCIe switch,
//! in TAP version 13. A buffer object in the exporter's HBM is exported as a dma-buf and
//! imported by the other device, which gets the HBM's PCI bus addresses (the BO is not moved:
//! BO_INFO and the core's debugfs `bos` still place it in HBM); a DMA job of the importer copies
//! from it into host memory bit-exactly, and writes into it so that the exporter's own CPU
//! mapping sees the data. In the VM, the importer's model reaches the exporter's HBM through
//! the exporter's BAR2 file at the bus address its driver wrote to `BAR2_BUS_ADDR`
//! (Documentation/hlx.rst, "Peer-to-peer").
//!
//! With `--unplug COMMAND`, the revocation sequence instead ([`revoke`]): the command unbinds
//! the exporter's PCI function while the importer has its HBM bound in a VM.
//!
//! Usage: `xaccel-selftest-hlx-p2p [--unplug COMMAND] EXPORTER IMPORTER`, as root in the VM.

mod revoke;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use xaccel::hlx::{self, Packet};
use xaccel::{
    Access, Bo, Context, Device, Errno, Priority, RegionFlags, RegionKind, Submit, Syncobj, Vm,
};
use xaccel_selftests::tap::{self, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

type Check<T = ()> = Result<T, Failure>;

/// How long a job may take before the test fails (a hang guard, not a timing check).
const GUARD: Duration = Duration::from_secs(20);
/// Size of the shared buffer: several pages, more than one 64 KiB DMA chunk.
const LEN: usize = 3 << 16;
/// Where the importer binds the shared buffer and its host buffer.
const VA_SHARED: u64 = 1 << 32;
const VA_HOST: u64 = (1 << 32) + (1 << 24);

/// Two HLX devices: `a` exports HBM, `b` imports it.
struct Ctx {
    a: Device,
    a_path: PathBuf,
    /// `a`'s HBM region: device memory, CPU-visible, peer-to-peer capable.
    hbm: u32,
    hbm_name: String,
    b: Device,
    /// `b`'s system region.
    b_system: u32,
}

#[derive(Debug, Parser)]
#[command(
    version,
    about = "PCI peer-to-peer between two HLX devices (TAP output)"
)]
struct Args {
    /// The device whose HBM is exported.
    exporter: PathBuf,
    /// The device that imports it and runs the DMA jobs.
    importer: PathBuf,
    /// Run the revocation sequence, with this shell command unbinding the exporter's function.
    #[arg(long, value_name = "COMMAND")]
    unplug: Option<String>,
}

fn open_hlx(path: &Path) -> Check<Device> {
    let dev = Device::open(path)?;
    let backend = dev.device_info()?.backend;
    ensure!(backend == "hlx", "{} is {backend}, not hlx", path.display());
    Ok(dev)
}

impl Ctx {
    fn new(args: &Args) -> Check<Self> {
        let a = open_hlx(&args.exporter)?;
        let b = open_hlx(&args.importer)?;
        let want = RegionFlags::CPU_VISIBLE | RegionFlags::P2P;
        let Some(hbm) = a
            .regions()?
            .into_iter()
            .find(|r| r.kind == RegionKind::Device && r.flags.contains(want))
        else {
            fail!(
                "{} has no CPU-visible P2P device region",
                args.exporter.display()
            );
        };
        let Some(b_system) = b.system_region()?.map(|r| r.id) else {
            fail!("{} has no system region", args.importer.display());
        };
        Ok(Self {
            a,
            a_path: args.exporter.clone(),
            hbm: hbm.id,
            hbm_name: hbm.name,
            b,
            b_system,
        })
    }

    /// An HBM BO of `a` holding `data`, and its dma-buf imported into `b`.
    fn shared(&self, data: &[u8]) -> Check<(Bo<'_>, Bo<'_>)> {
        let bo = Bo::create(&self.a, data.len() as u64, self.hbm)?;
        bo.map()?.write(0, data);
        let fd = bo.export()?;
        let imported = self.b.import(fd.as_fd())?;
        Ok((bo, imported))
    }

    /// Runs `packets` on `b`'s DMA0 queue in `vm`; the job's outcome.
    fn run_on_b(&self, vm: &Vm<'_>, packets: &[Packet]) -> Check<Result<(), Errno>> {
        let cb = hlx::encode(packets);
        let cb_bo = Bo::create(&self.b, cb.len() as u64, self.b_system)?;
        cb_bo.map()?.write(0, &cb);
        let ctx = Context::create(&self.b, hlx::ENGINE_DMA0, Priority::Normal)?;
        let out = Syncobj::create(&self.b, false)?;
        ctx.submit(
            &Submit::new(&cb_bo, 0, cb.len() as u64)
                .signal(&out, 0)
                .vm(vm),
        )?;
        outcome(&out)
    }

    /// `bo` (of `a`) is still placed in HBM: BO_INFO's region, and the placement column of
    /// the core's debugfs `bos` line for it (`device`, not `migrated`).
    fn still_in_hbm(&self, bo: &Bo<'_>) -> Check {
        let info = self.a.bo_info(bo.handle())?;
        ensure!(
            info.region == self.hbm,
            "BO_INFO region {}, want HBM ({})",
            info.region,
            self.hbm
        );
        let name = self.a_path.file_name().unwrap_or_default();
        let parent = std::fs::canonicalize(Path::new("/sys/class/accel").join(name).join("device"))
            .map_err(|e| Failure(format!("{}'s PCI function: {e}", self.a_path.display())))?;
        let bos = Path::new("/sys/kernel/debug/accel")
            .join(parent.file_name().unwrap_or_default())
            .join("bos");
        let text = std::fs::read_to_string(&bos)
            .map_err(|e| Failure(format!("{}: {e}", bos.display())))?;
        // client handle size region placement exported imported pinned
        let size = info.size.to_string();
        let handle = bo.handle().to_string();
        let lines: Vec<Vec<&str>> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.len() == 8 && f[1] == handle && f[2] == size && f[3] == self.hbm_name)
            .collect();
        ensure!(
            lines.len() == 1,
            "{} lines for the BO in {}",
            lines.len(),
            bos.display()
        );
        let f = &lines[0];
        ensure!(
            f[4] == "device" && f[5] == "yes",
            "debugfs: placement {}, exported {} (want device, yes)",
            f[4],
            f[5]
        );
        Ok(())
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

/// The import and a VM_BIND of it on `b` leave the exporter's BO in HBM.
fn import_keeps_the_bo_in_hbm(c: &Ctx) -> TestResult {
    let data = pattern(LEN, 1);
    let (bo, imported) = c.shared(&data)?;
    let vm = Vm::create(&c.b)?;
    let _binding = vm.bind(&imported, 0, LEN as u64, VA_SHARED, Access::ReadWrite)?;
    c.still_in_hbm(&bo)?;
    let mut got = vec![0; LEN];
    bo.map()?.read(0, &mut got);
    ensure!(got == data, "the exporter's mapping changed");
    tap::pass()
}

/// `b`'s DMA engine reads `a`'s HBM through the imported dma-buf into host memory.
fn importer_reads_exporters_hbm(c: &Ctx) -> TestResult {
    let data = pattern(LEN, 2);
    let (bo, imported) = c.shared(&data)?;
    let host = Bo::create(&c.b, LEN as u64, c.b_system)?;
    let vm = Vm::create(&c.b)?;
    let _s = vm.bind(&imported, 0, LEN as u64, VA_SHARED, Access::ReadOnly)?;
    let _h = vm.bind(&host, 0, LEN as u64, VA_HOST, Access::ReadWrite)?;
    // Odd offsets and length: not page- or chunk-aligned.
    let (from, to, len) = (100, 300, LEN - 4096 - 7);
    let copy = [Packet::Copy {
        src: VA_SHARED + from as u64,
        dst: VA_HOST + to as u64,
        len: len as u32,
    }];
    ensure!(c.run_on_b(&vm, &copy)? == Ok(()), "the DMA job failed");
    let mut got = vec![0; LEN];
    host.map()?.read(0, &mut got);
    ensure!(
        got[to..to + len] == data[from..from + len],
        "copied bytes differ"
    );
    ensure!(
        got[..to].iter().chain(&got[to + len..]).all(|&b| b == 0),
        "bytes outside the copy changed"
    );
    c.still_in_hbm(&bo)?;
    tap::pass()
}

/// `b`'s DMA engine writes `a`'s HBM; `a`'s CPU mapping of the BO sees it.
fn importer_writes_exporters_hbm(c: &Ctx) -> TestResult {
    let (bo, imported) = c.shared(&vec![0; LEN])?;
    let data = pattern(LEN, 3);
    let host = Bo::create(&c.b, LEN as u64, c.b_system)?;
    host.map()?.write(0, &data);
    let vm = Vm::create(&c.b)?;
    let _s = vm.bind(&imported, 0, LEN as u64, VA_SHARED, Access::ReadWrite)?;
    let _h = vm.bind(&host, 0, LEN as u64, VA_HOST, Access::ReadOnly)?;
    let (from, to, len) = (5, 4096 + 11, LEN - 2 * 4096);
    let copy = [Packet::Copy {
        src: VA_HOST + from as u64,
        dst: VA_SHARED + to as u64,
        len: len as u32,
    }];
    ensure!(c.run_on_b(&vm, &copy)? == Ok(()), "the DMA job failed");
    let mut got = vec![0; LEN];
    bo.map()?.read(0, &mut got);
    ensure!(
        got[to..to + len] == data[from..from + len],
        "written bytes differ"
    );
    ensure!(
        got[..to].iter().chain(&got[to + len..]).all(|&b| b == 0),
        "bytes outside the copy changed"
    );
    c.still_in_hbm(&bo)?;
    tap::pass()
}

/// Unreclaimable slab memory, in KiB (`SUnreclaim` of `/proc/meminfo`).
fn unreclaimable_slab_kib() -> Check<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| Failure(format!("/proc/meminfo: {e}")))?;
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("SUnreclaim:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| Failure("no SUnreclaim in /proc/meminfo".into()))
}

/// Shrinks every slab cache (`/sys/kernel/slab/<cache>/shrink`): frees their empty slabs and,
/// on a KASAN kernel, the objects the cache's KASAN quarantine still holds. Quarantined objects
/// are freed but count as slab in use until the quarantine, bounded but large, recycles them;
/// before a cache's first shrink, a workload that frees as much as it allocates looks like it
/// leaks. A cache that cannot be shrunk is left as it is.
fn shrink_slab_caches() {
    let Ok(caches) = std::fs::read_dir("/sys/kernel/slab") else {
        return;
    };
    for cache in caches.flatten() {
        let _ = std::fs::write(cache.path().join("shrink"), "1");
    }
}

/// Importing `a`'s HBM into `b` and closing the import, thousands of times, leaves the kernel's
/// slab where it was. Each import maps the BAR for `b` (an sg table of bus addresses from
/// `dma_buf_phys_vec_to_sgt()`) and each close frees it; when the table's scatterlist was left
/// behind (32 bytes an entry), a round of 3000 imports leaked at least 94 KiB. Other slab use
/// comes and goes (RCU-deferred frees, caches growing once, KASAN's quarantine), so before each
/// reading the rounds settle for a second and shrink every slab cache, and the least growth of
/// three rounds is what counts.
fn imports_free_their_bar_tables(c: &Ctx) -> TestResult {
    const IMPORTS: u64 = 3000;
    const ROUNDS: usize = 3;
    let bo = Bo::create(&c.a, LEN as u64, c.hbm)?;
    let fd = bo.export()?;
    let cycle = |n: u64| -> Check {
        for _ in 0..n {
            c.b.import(fd.as_fd())?.close()?;
        }
        Ok(())
    };
    let settled = || {
        std::thread::sleep(Duration::from_secs(1));
        shrink_slab_caches();
        unreclaimable_slab_kib()
    };
    // Warm the caches the imports allocate from first.
    cycle(500)?;
    let mut least = u64::MAX;
    for _ in 0..ROUNDS {
        let before = settled()?;
        cycle(IMPORTS)?;
        least = least.min(settled()?.saturating_sub(before));
    }
    ensure!(
        least <= 32,
        "unreclaimable slab grew by {least} KiB or more in each of {ROUNDS} rounds of {IMPORTS} imports"
    );
    tap::pass()
}

#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("HBM BO imported by the other HLX and bound: stays in HBM",     import_keeps_the_bo_in_hbm),
    ("importer's DMA: exporter's HBM -> host memory, bit-exact",     importer_reads_exporters_hbm),
    ("importer's DMA: host -> exporter's HBM, seen by its mmap",     importer_writes_exporters_hbm),
    ("imports and closes free their BAR sg tables (slab stays flat)", imports_free_their_bar_tables),
];

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = args.unplug.clone() {
        return match revoke::Revoke::new(&args, command) {
            Ok(r) if tap::run(&r, revoke::TESTS) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(Failure(why)) => {
                tap::header();
                tap::bail_out(&why);
                ExitCode::FAILURE
            }
        };
    }
    match Ctx::new(&args) {
        Ok(ctx) if tap::run(&ctx, TESTS) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(Failure(why)) => {
            tap::header();
            tap::bail_out(&why);
            ExitCode::FAILURE
        }
    }
}

/// The status of `syncobj`'s fence, after waiting for it.
pub(crate) fn outcome(syncobj: &Syncobj<'_>) -> Check<Result<(), Errno>> {
    syncobj.wait(0, GUARD)?;
    let fence = syncobj.export_sync_file()?;
    match xaccel::sync_file_status(fence.as_fd())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => fail!("a waited-for fence is not signalled"),
        Err(errno) => Ok(Err(errno)),
    }
}
