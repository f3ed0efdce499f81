// SPDX-License-Identifier: GPL-2.0-only
//! vaccel jobs of the second device on its import of the first device's
//! device-memory BO: COPY with the import as the source and as the
//! destination, named in the BO list (with and without implicit
//! synchronisation, and a NOP naming it) and through a VM binding of the
//! import (device-VA operands), every result checked through the exporter's
//! own mapping of the BO. The engine reaches the import through the
//! exporter's `dma_buf_vmap()`.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use xaccel::uapi::{DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT, DRM_XACCEL_SUBMIT_BO_WRITE};
use xaccel::vaccel::{Mem, Program};
use xaccel::{Access, Bo, Context, Device, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{pass, skip, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Accel, Check, Ctx, LEN};
use crate::devmem::{device_region, filled, Rule};

/// How long a job may take before the test fails (a hang guard).
const GUARD: Duration = Duration::from_secs(30);

/// A BO-list entry only read.
const READ: u32 = 0;
/// A BO-list entry written.
const WRITE: u32 = DRM_XACCEL_SUBMIT_BO_WRITE;

/// Runs programs on one context of a device, one at a time.
struct Runner<'d> {
    ctx: Context<'d>,
    cmds: Bo<'d>,
    done: Syncobj<'d>,
}

impl<'d> Runner<'d> {
    /// A context on engine 0 of `a`'s device, with a command buffer in its
    /// system region.
    fn new(a: &'d Accel) -> Check<Self> {
        Ok(Self {
            ctx: Context::create(&a.dev, 0, Priority::Normal)?,
            cmds: Bo::create(&a.dev, 4096, a.system)?,
            done: Syncobj::create(&a.dev, false)?,
        })
    }

    /// SUBMITs `program` with the BO list `bos` and `vm`, waits for it and
    /// fails unless SUBMIT succeeded and the job completed.
    fn run(
        &self,
        what: &str,
        program: &Program,
        bos: &[(&Bo<'_>, u32)],
        vm: Option<&Vm<'_>>,
    ) -> Check {
        self.cmds.map()?.write(0, program.as_bytes());
        let mut submit =
            Submit::new(&self.cmds, 0, program.as_bytes().len() as u64).signal(&self.done, 0);
        for (bo, flags) in bos {
            submit = submit.bo(bo, *flags);
        }
        if let Some(vm) = vm {
            submit = submit.vm(vm);
        }
        if let Err(e) = self.ctx.submit(&submit) {
            fail!("{what}: SUBMIT: {e}");
        }
        self.done.wait(0, GUARD)?;
        let fd: OwnedFd = self.done.export_sync_file()?;
        match xaccel::sync_file_status(fd.as_fd())? {
            Ok(true) => Ok(()),
            Ok(false) => fail!("{what}: a waited-for fence is not signalled"),
            Err(e) => fail!("{what}: the job failed: {}", errno_name(e)),
        }
    }
}

/// The second device, if it is a vaccel device (its programs are vaccel's).
fn vaccel_second(ctx: &Ctx) -> Option<&Accel> {
    let b = ctx.b.as_ref()?;
    let backend = b.dev.device_info().ok()?.backend;
    (backend == "vaccel").then_some(b)
}

/// Whether the second device's import of a device BO of the first is refused
/// under the rule (`to_second_device` checks the refusal).
fn import_refused(ctx: &Ctx) -> bool {
    !ctx.second_reaches_p2p && ctx.devmem_rule == Rule::Refuse
}

/// The second device's import of `fd`.
fn import<'d>(b: &'d Device, fd: &OwnedFd) -> Check<Bo<'d>> {
    match b.import(fd.as_fd()) {
        Ok(bo) => Ok(bo),
        Err(e) => fail!("the second device's import: {e}"),
    }
}

/// COPY on the second device from its import of a device BO of the first
/// into a BO of its own, then back into the import, each through the BO
/// list; a NOP naming the import. Checked through the exporter's mapping
/// and the second device's mapping of its own BO.
pub fn copy_through_bo_list(ctx: &Ctx) -> TestResult {
    let Some(b) = vaccel_second(ctx) else {
        return skip("the second device is not a vaccel device");
    };
    if import_refused(ctx) {
        return skip("the second device's import is refused under this rule");
    }
    let a = &ctx.a;
    let Some(region) = device_region(a)? else {
        return skip("no CPU-visible DEVICE region");
    };
    let (bo, ours) = filled(a, region, 31)?;
    let fd = bo.export()?;
    let imported = import(&b.dev, &fd)?;
    let mine = b.bo()?;
    let theirs = Accel::map(&b.dev, mine.handle())?;
    let runner = Runner::new(b)?;

    let mut nop = Program::new();
    nop.nop();
    runner.run("NOP naming the import", &nop, &[(&imported, READ)], None)?;

    // The import as the source.
    let mut copy = Program::new();
    copy.copy(Mem::bo(0, 0), Mem::bo(1, 0), LEN as u64);
    runner.run(
        "COPY from the import",
        &copy,
        &[(&mine, WRITE), (&imported, READ)],
        None,
    )?;
    theirs
        .check(31)
        .map_err(|e| format!("the copy of the import: {e}"))?;

    // The import as the destination, without implicit synchronisation too.
    theirs.fill(32);
    let mut back = Program::new();
    back.copy(Mem::bo(0, 0), Mem::bo(1, 0), LEN as u64);
    runner.run(
        "COPY into the import",
        &back,
        &[(&imported, WRITE), (&mine, READ)],
        None,
    )?;
    ours.check(32)
        .map_err(|e| format!("the exporter's view of the copy: {e}"))?;
    theirs.fill(33);
    let flags = WRITE | DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT;
    runner.run(
        "COPY into the import, NO_IMPLICIT",
        &back,
        &[(&imported, flags), (&mine, READ)],
        None,
    )?;
    ours.check(33)
        .map_err(|e| format!("the exporter's view of the copy: {e}"))?;

    drop((theirs, ours, fd, runner));
    imported.close()?;
    mine.close()?;
    bo.close()?;
    a.usable()?;
    b.usable()?;
    pass()
}

/// The same through a VM of the second device: the import and a BO of its
/// own bound read-write, COPY between them with device-VA operands, both
/// ways.
pub fn copy_through_vm_binding(ctx: &Ctx) -> TestResult {
    let Some(b) = vaccel_second(ctx) else {
        return skip("the second device is not a vaccel device");
    };
    if import_refused(ctx) {
        return skip("the second device's import is refused under this rule");
    }
    let a = &ctx.a;
    let Some(region) = device_region(a)? else {
        return skip("no CPU-visible DEVICE region");
    };
    let (bo, ours) = filled(a, region, 41)?;
    let fd = bo.export()?;
    let imported = import(&b.dev, &fd)?;
    let mine = b.bo()?;
    let theirs = Accel::map(&b.dev, mine.handle())?;
    let runner = Runner::new(b)?;
    let vm = Vm::create(&b.dev)?;
    let va = b.dev.device_info()?.va_start;
    let len = LEN as u64;
    let import_at = vm.bind(&imported, 0, len, va, Access::ReadWrite)?;
    let mine_at = vm.bind(&mine, 0, len, va + len, Access::ReadWrite)?;
    ensure!(
        import_at.va() == va && mine_at.va() == va + len,
        "bound elsewhere"
    );

    let mut copy = Program::new();
    copy.copy(Mem::Va(va + len), Mem::Va(va), len);
    runner.run("COPY from the bound import", &copy, &[], Some(&vm))?;
    theirs
        .check(41)
        .map_err(|e| format!("the copy of the import: {e}"))?;

    theirs.fill(42);
    let mut back = Program::new();
    back.copy(Mem::Va(va), Mem::Va(va + len), len);
    runner.run("COPY into the bound import", &back, &[], Some(&vm))?;
    ours.check(42)
        .map_err(|e| format!("the exporter's view of the copy: {e}"))?;

    drop((import_at, mine_at));
    vm.destroy()?;
    drop((theirs, ours, fd, runner));
    imported.close()?;
    mine.close()?;
    bo.close()?;
    a.usable()?;
    b.usable()?;
    pass()
}
