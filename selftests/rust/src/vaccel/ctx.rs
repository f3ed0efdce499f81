// SPDX-License-Identifier: GPL-2.0-only
//! What every vaccel test needs: the device (and a second one), its regions, a context, and
//! running an encoded program with a BO list, and optionally a VM, to completion.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use xaccel::vaccel::Program;
use xaccel::{Bo, Context, Device, Errno, Priority, RegionKind, Submit, Syncobj, Vm};
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

/// How long any wait may take before the test fails (a hang guard, not a timing check).
pub const GUARD: Duration = Duration::from_secs(30);

/// `DRM_XACCEL_SUBMIT_BO_WRITE`.
pub const WRITE: u32 = xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE;
/// A BO-list entry only read.
pub const READ: u32 = 0;

/// The devices under test.
pub struct Ctx {
    /// An open file of the device.
    pub dev: Device,
    /// A second vaccel device, for sharing through dma-buf.
    pub second: Option<Device>,
    /// Its system region.
    pub system: u32,
    /// Its CPU-visible device-local region, if any.
    pub local: Option<u32>,
    /// The start of its VA window.
    pub va_start: u64,
    /// The page size.
    pub page: u64,
}

impl Ctx {
    /// Opens `path` (and `second` if it exists); fails unless they are vaccel devices.
    pub fn new(path: &Path, second: &Path) -> Check<Self> {
        let dev = open_vaccel(path)?;
        let second = if second.exists() {
            Some(open_vaccel(second)?)
        } else {
            None
        };
        let regions = dev.regions()?;
        let Some(system) = regions.iter().find(|r| r.kind == RegionKind::System) else {
            fail!("no system region");
        };
        let local = regions
            .iter()
            .find(|r| {
                r.kind == RegionKind::Device && r.flags.contains(xaccel::RegionFlags::CPU_VISIBLE)
            })
            .map(|r| r.id);
        Ok(Self {
            system: system.id,
            local,
            va_start: dev.device_info()?.va_start,
            page: rustix::param::page_size() as u64,
            second,
            dev,
        })
    }

    /// The regions to test in: system, and local when there is one.
    pub fn placements(&self) -> Vec<u32> {
        let mut p = vec![self.system];
        p.extend(self.local);
        p
    }

    /// A BO of `size` bytes in `region`, filled with `bytes` from its start.
    pub fn bo_with(&self, region: u32, size: u64, bytes: &[u8]) -> Check<Bo<'_>> {
        let bo = Bo::create(&self.dev, size, region)?;
        bo.map()?.write(0, bytes);
        Ok(bo)
    }
}

fn open_vaccel(path: &Path) -> Check<Device> {
    let dev = Device::open(path)?;
    let backend = dev.device_info()?.backend;
    ensure!(
        backend == "vaccel",
        "{} is a {backend} device, not vaccel",
        path.display()
    );
    Ok(dev)
}

/// Runs programs on one context of a device, one at a time.
pub struct Runner<'d> {
    ctx: Context<'d>,
    cmds: Bo<'d>,
    done: Syncobj<'d>,
}

impl<'d> Runner<'d> {
    /// A context on engine 0 of `dev`, with a command buffer of 128 KiB (room for too large
    /// programs) in `region`.
    pub fn new(dev: &'d Device, region: u32) -> Check<Self> {
        Ok(Self {
            ctx: Context::create(dev, 0, Priority::Normal)?,
            cmds: Bo::create(dev, 128 << 10, region)?,
            done: Syncobj::create(dev, false)?,
        })
    }

    /// SUBMITs the command buffer `bytes` with the BO list `bos` (each with `WRITE` or `READ`)
    /// and `vm`; returns the seqno.
    pub fn submit(
        &self,
        bytes: &[u8],
        bos: &[(&Bo<'_>, u32)],
        vm: Option<&Vm<'_>>,
    ) -> Result<u64, Errno> {
        if bytes.len() as u64 > self.cmds.size() {
            return Err(Errno::TOOBIG);
        }
        self.cmds
            .map()
            .map_err(|e| e.errno().unwrap_or(Errno::IO))?
            .write(0, bytes);
        let mut submit = Submit::new(&self.cmds, 0, bytes.len() as u64).signal(&self.done, 0);
        for (bo, flags) in bos {
            submit = submit.bo(bo, *flags);
        }
        if let Some(vm) = vm {
            submit = submit.vm(vm);
        }
        self.ctx
            .submit(&submit)
            .map_err(|e| e.errno().unwrap_or(Errno::IO))
    }

    /// Runs `program` to completion: `Ok(())` or the error its fence carries.
    pub fn run(
        &self,
        program: &Program,
        bos: &[(&Bo<'_>, u32)],
        vm: Option<&Vm<'_>>,
    ) -> Check<Result<(), Errno>> {
        self.submit(program.as_bytes(), bos, vm)
            .map_err(|e| Failure(format!("SUBMIT: {}", xaccel_selftests::raw::errno_name(e))))?;
        outcome(&self.done)
    }

    /// Waits for the last job SUBMITted and fails unless it completed.
    pub fn wait_ok(&self) -> Check {
        match outcome(&self.done)? {
            Ok(()) => Ok(()),
            Err(e) => fail!("the job failed: {}", xaccel_selftests::raw::errno_name(e)),
        }
    }

    /// Runs `program` and fails unless it completes.
    pub fn run_ok(&self, program: &Program, bos: &[(&Bo<'_>, u32)], vm: Option<&Vm<'_>>) -> Check {
        match self.run(program, bos, vm)? {
            Ok(()) => Ok(()),
            Err(e) => fail!("the job failed: {}", xaccel_selftests::raw::errno_name(e)),
        }
    }
}

/// The status of `syncobj`'s fence, after waiting for it: `Ok(())` or the error it carries.
pub fn outcome(syncobj: &Syncobj<'_>) -> Check<Result<(), Errno>> {
    syncobj.wait(0, GUARD)?;
    let fd: OwnedFd = syncobj.export_sync_file()?;
    match xaccel::sync_file_status(fd.as_fd())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => fail!("a waited-for fence is not signalled"),
        Err(errno) => Ok(Err(errno)),
    }
}

/// The bytes of `bo`, read through a mapping.
pub fn contents(bo: &Bo<'_>) -> Check<Vec<u8>> {
    let mut out = vec![0; bo.size() as usize];
    bo.map()?.read(0, &mut out);
    Ok(out)
}

/// Fails unless the two byte strings are equal, naming the first difference.
pub fn expect_bytes(got: &[u8], want: &[u8], what: &str) -> Check {
    ensure!(
        got.len() == want.len(),
        "{what}: {} bytes, expected {}",
        got.len(),
        want.len()
    );
    if let Some(at) = got.iter().zip(want).position(|(g, w)| g != w) {
        fail!(
            "{what}: byte {at} is {:#04x}, expected {:#04x} ({} bytes differ)",
            got[at],
            want[at],
            got.iter().zip(want).filter(|(g, w)| g != w).count()
        );
    }
    Ok(())
}

/// Deterministic random numbers (shared with the other selftests).
pub use xaccel_selftests::rng::Rng;
