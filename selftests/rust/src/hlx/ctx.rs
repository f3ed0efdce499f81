// SPDX-License-Identifier: GPL-2.0-only
//! What every hlx test needs: the device, jobs in contexts with and without a VM, buffers
//! bound in a VM, the driver's counters and its test control (debugfs).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use xaccel::hlx::{self, Packet};
use xaccel::{Access, Binding, Bo, Context, Device, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

pub type Check<T = ()> = Result<T, Failure>;

/// How long any wait may take before the test fails (a hang guard, not a timing check).
pub const GUARD: Duration = Duration::from_secs(20);
/// The HBM region starts here, after the driver's page tables (drivers/hlx).
pub const HBM_REGION_BASE: u64 = 4 << 20;

/// The device under test.
pub struct Ctx {
    /// An open file of it.
    pub dev: Device,
    /// Its system region.
    pub system: u32,
    /// Its HBM region.
    pub hbm: u32,
    /// Its debugfs control file.
    pub control: PathBuf,
}

impl Ctx {
    pub fn new(path: &Path) -> Check<Self> {
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
        let Some(hbm) = hlx::hbm_region(&dev)?.map(|r| r.id) else {
            fail!("no HBM region");
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let control = PathBuf::from(format!("/sys/kernel/debug/hlx-{name}/control"));
        Ok(Self {
            dev,
            system,
            hbm,
            control,
        })
    }

    /// A new HBM buffer object of `len` bytes and its device address.
    pub fn hbm_bo(&self, len: u64) -> Check<(Bo<'_>, u64)> {
        let bo = Bo::create(&self.dev, len, self.hbm)?;
        let Some(addr) = bo.device_addr() else {
            fail!("an HBM BO without a device address: {:?}", bo.info());
        };
        Ok((bo, addr))
    }

    /// Runs `packets` on `engine` in a new context with the BO list `bos` (object and
    /// `DRM_XACCEL_SUBMIT_BO_*` flags); returns the fence's outcome.
    pub fn run_bos(
        &self,
        engine: u32,
        packets: &[Packet],
        bos: &[(&Bo<'_>, u32)],
    ) -> Check<Result<(), Errno>> {
        let ctx = Context::create(&self.dev, engine, Priority::Normal)?;
        let cb = hlx::encode(packets);
        let bo = Bo::create(&self.dev, cb.len() as u64, self.system)?;
        bo.map()?.write(0, &cb);
        let out = Syncobj::create(&self.dev, false)?;
        let mut submit = Submit::new(&bo, 0, cb.len() as u64).signal(&out, 0);
        for (listed, flags) in bos {
            submit = submit.bo(listed, *flags);
        }
        ctx.submit(&submit)?;
        outcome(&out)
    }

    /// Runs `packets` on `engine` in a new context; returns the fence's outcome.
    pub fn run(
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
    pub fn submit<'d>(
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
    pub fn submit_vm<'d>(
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

    /// SUBMIT's errno for `packets` on `engine` with the BO list `bos`.
    pub fn refusal(
        &self,
        engine: u32,
        packets: &[Packet],
        bos: &[(&Bo<'_>, u32)],
    ) -> Check<Option<Errno>> {
        let ctx = Context::create(&self.dev, engine, Priority::Normal)?;
        let cb = hlx::encode(packets);
        let bo = Bo::create(&self.dev, cb.len().max(8) as u64, self.system)?;
        bo.map()?.write(0, &cb);
        let mut submit = Submit::new(&bo, 0, cb.len() as u64);
        for (listed, flags) in bos {
            submit = submit.bo(listed, *flags);
        }
        Ok(ctx
            .submit(&submit)
            .err()
            .map(|e| e.errno().unwrap_or(Errno::INVAL)))
    }

    /// A counter of debugfs `control`.
    pub fn counter(&self, name: &str) -> Check<u64> {
        xaccel_selftests::debugfs::counter(&self.control, name)
    }

    /// Arms a wedge on `queue` (1 soft, 2 hard).
    pub fn wedge(&self, queue: u32, mode: u32) -> Check {
        std::fs::write(&self.control, format!("{queue} {mode}"))
            .map_err(|e| Failure(format!("wedge: {e}")))
    }
}

/// The status of `syncobj`'s fence, after waiting for it.
pub fn outcome(syncobj: &Syncobj<'_>) -> Check<Result<(), Errno>> {
    syncobj.wait(0, GUARD)?;
    let fd: OwnedFd = syncobj.export_sync_file()?;
    match xaccel::sync_file_status(fd.as_fd())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => fail!("a waited-for fence is not signalled"),
        Err(errno) => Ok(Err(errno)),
    }
}

/// Where the MMU tests bind their buffers.
pub const VA: u64 = 1 << 32;
/// Where the MMU tests bind HBM buffer objects.
pub const HBM_VA: u64 = VA + (256 << 20);

/// A system BO of `len` bytes filled with a pattern (or zeroes), bound at `va` in `vm`.
pub fn bound<'d, 'v>(
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

/// Runs `packets` on `engine` in a new context on `vm`; returns the fence's outcome.
pub fn run_vm(c: &Ctx, vm: &Vm<'_>, engine: u32, packets: &[Packet]) -> Check<Result<(), Errno>> {
    let ctx = Context::create(&c.dev, engine, Priority::Normal)?;
    let out = c.submit_vm(&ctx, vm, packets, None)?;
    outcome(&out)
}
