// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-hlx-p2p --unplug COMMAND EXPORTER IMPORTER`: the exporter's PCI function
//! goes away while the importer has its HBM bound in a VM, peer-to-peer. The exporter revokes
//! its exports, and the importer's VM loses the page-table entries of the revoked binding:
//! jobs the importer queued before (held in a FENCE on a sync object) fault in its MMU instead
//! of reaching the exporter's BAR, new jobs naming the range are refused at SUBMIT, the range
//! stays taken until VM_UNBIND (which works), and the importer keeps working. The caller
//! (tools/vm/guest.sh) binds the function again afterwards.

use std::cell::RefCell;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use xaccel::hlx::{self, MsgTarget, Packet};
use xaccel::{Access, Bo, Context, Device, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::tap::{self, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::{open_hlx, outcome, pattern, Args, Check, LEN, VA_HOST, VA_SHARED};

/// The importer's sync object the doomed jobs wait for (the hlx selftest uses 21).
const SOB: u64 = 22;
/// Where the importer binds a BO of its own HBM.
const VA_OWN: u64 = VA_HOST + (1 << 24);

/// The two devices (leaked: the held state borrows them for the rest of the run), the command
/// that unbinds the exporter's function, and what is held across it.
pub struct Revoke {
    a: &'static Device,
    a_path: PathBuf,
    /// `a`'s HBM region.
    a_hbm: u32,
    b: &'static Device,
    b_system: u32,
    b_hbm: u32,
    /// `b`'s hlx debugfs `control` file (fault counters).
    b_control: PathBuf,
    command: String,
    held: RefCell<Option<Held>>,
}

/// Set by [`bind_and_queue`], dropped by [`close_all`].
struct Held {
    /// `a`'s HBM BO, its import into `b`, and `b`'s host BO.
    _bo: Bo<'static>,
    imported: Bo<'static>,
    host: Bo<'static>,
    vm: Vm<'static>,
    /// The context of the doomed jobs, and their out-fences: a read and a write of the shared
    /// range, both waiting in a FENCE on [`SOB`].
    _doomed_ctx: Context<'static>,
    doomed: [Syncobj<'static>; 2],
    /// `b`'s `mmu_faults` before them.
    faults: u64,
}

impl Revoke {
    pub fn new(args: &Args, command: String) -> Check<Self> {
        let a: &'static Device = Box::leak(Box::new(open_hlx(&args.exporter)?));
        let b: &'static Device = Box::leak(Box::new(open_hlx(&args.importer)?));
        let region = |dev: &Device, what: &str| -> Check<u32> {
            match hlx::hbm_region(dev)? {
                Some(r) => Ok(r.id),
                None => fail!("the {what} has no HBM region"),
            }
        };
        let Some(b_system) = b.system_region()?.map(|r| r.id) else {
            fail!("{} has no system region", args.importer.display());
        };
        let name = args.importer.file_name().unwrap_or_default();
        Ok(Self {
            a,
            a_path: args.exporter.clone(),
            a_hbm: region(a, "exporter")?,
            b,
            b_system,
            b_hbm: region(b, "importer")?,
            b_control: PathBuf::from(format!(
                "/sys/kernel/debug/hlx-{}/control",
                name.to_string_lossy()
            )),
            command,
            held: RefCell::new(None),
        })
    }

    /// Submits `packets` on `ctx` in `vm`; returns the out-syncobj.
    fn submit(
        &self,
        ctx: &Context<'static>,
        vm: &Vm<'static>,
        packets: &[Packet],
    ) -> Result<Syncobj<'static>, xaccel::Error> {
        let cb = hlx::encode(packets);
        let cb_bo = Bo::create(self.b, cb.len() as u64, self.b_system)?;
        cb_bo.map()?.write(0, &cb);
        let out = Syncobj::create(self.b, false)?;
        ctx.submit(
            &Submit::new(&cb_bo, 0, cb.len() as u64)
                .signal(&out, 0)
                .vm(vm),
        )?;
        Ok(out)
    }

    /// Runs `packets` on `b`'s queue `engine` in `vm`; the job's outcome.
    fn run(&self, vm: &Vm<'static>, engine: u32, packets: &[Packet]) -> Check<Result<(), Errno>> {
        let ctx = Context::create(self.b, engine, Priority::Normal)?;
        outcome(&self.submit(&ctx, vm, packets)?)
    }

    /// Sets `b`'s sync object [`SOB`] from a job of its DMA0 queue.
    fn set_sob(&self, vm: &Vm<'static>, value: u32) -> Check {
        let set = Packet::MsgLong {
            target: MsgTarget::Sob { add: false },
            addr: SOB,
            value,
        };
        ensure!(
            self.run(vm, hlx::ENGINE_DMA0, &[set])? == Ok(()),
            "setting sync object {SOB} to {value} failed"
        );
        Ok(())
    }

    /// A counter of `b`'s debugfs `control`.
    fn counter(&self, name: &str) -> Check<u64> {
        xaccel_selftests::debugfs::counter(&self.b_control, name)
    }

    fn with_held(&self, f: impl FnOnce(&Held) -> TestResult) -> TestResult {
        match self.held.borrow().as_ref() {
            Some(held) => f(held),
            None => fail!("nothing is held (the first test failed)"),
        }
    }
}

/// The copy of the shared range into the host BO, bit-exact.
fn read_shared(r: &Revoke, vm: &Vm<'static>, host: &Bo<'static>, data: &[u8]) -> Check {
    let copy = [Packet::Copy {
        src: VA_SHARED,
        dst: VA_HOST,
        len: LEN as u32,
    }];
    ensure!(
        r.run(vm, hlx::ENGINE_DMA0, &copy)? == Ok(()),
        "the DMA job failed"
    );
    let mut got = vec![0; LEN];
    host.map()?.read(0, &mut got);
    ensure!(got == data, "copied bytes differ");
    Ok(())
}

/// `b` binds an import of `a`'s HBM BO and reads it with a DMA job; then two jobs touching the
/// shared range, a read and a write, wait in a FENCE on its DMA1 queue.
pub fn bind_and_queue(r: &Revoke) -> TestResult {
    let data = pattern(LEN, 9);
    let bo = Bo::create(r.a, LEN as u64, r.a_hbm)?;
    bo.map()?.write(0, &data);
    let imported = r.b.import(bo.export()?.as_fd())?;
    let host = Bo::create(r.b, LEN as u64, r.b_system)?;
    let vm = Vm::create(r.b)?;
    vm.bind(&imported, 0, LEN as u64, VA_SHARED, Access::ReadWrite)?
        .forget();
    vm.bind(&host, 0, LEN as u64, VA_HOST, Access::ReadWrite)?
        .forget();
    read_shared(r, &vm, &host, &data)?;
    r.set_sob(&vm, 0)?;
    let faults = r.counter("mmu_faults")?;
    let ctx = Context::create(r.b, hlx::ENGINE_DMA1, Priority::Normal)?;
    let fence = Packet::Fence {
        sob: SOB as u32,
        target: 1,
    };
    let read = [
        fence,
        Packet::Copy {
            src: VA_SHARED,
            dst: VA_HOST,
            len: LEN as u32,
        },
    ];
    let write = [
        fence,
        Packet::Memset {
            dst: VA_SHARED,
            len: LEN as u32,
            pattern: 0x5a5a_5a5a,
        },
    ];
    let doomed = [r.submit(&ctx, &vm, &read)?, r.submit(&ctx, &vm, &write)?];
    *r.held.borrow_mut() = Some(Held {
        _bo: bo,
        imported,
        host,
        vm,
        _doomed_ctx: ctx,
        doomed,
        faults,
    });
    tap::pass()
}

/// The exporter's PCI function is unbound: its node goes, its exports are revoked.
pub fn unbind_exporter(r: &Revoke) -> TestResult {
    let status = Command::new("sh")
        .arg("-c")
        .arg(&r.command)
        .status()
        .map_err(|e| Failure(format!("running {:?}: {e}", r.command)))?;
    ensure!(status.success(), "{:?} failed: {status}", r.command);
    ensure!(
        !Path::new(&r.a_path).exists(),
        "{} outlived the unbind",
        r.a_path.display()
    );
    tap::pass()
}

/// Released, the queued jobs fault in the importer's MMU at the shared range (EIO): its page
/// tables no longer hold the exporter's bus addresses.
pub fn queued_jobs_fault(r: &Revoke) -> TestResult {
    r.with_held(|h| {
        r.set_sob(&h.vm, 1)?;
        let outcomes = [outcome(&h.doomed[0])?, outcome(&h.doomed[1])?];
        r.set_sob(&h.vm, 0)?;
        ensure!(
            outcomes == [Err(Errno::IO), Err(Errno::IO)],
            "the jobs through the revoked range gave {outcomes:?}, want EIO twice"
        );
        let faults = r.counter("mmu_faults")?;
        ensure!(
            faults == h.faults + 2,
            "mmu_faults went from {} to {faults}, want two more",
            h.faults
        );
        let addr = r.counter("last_fault_addr")?;
        ensure!(
            addr == VA_SHARED,
            "last fault at {addr:#x}, want {VA_SHARED:#x}"
        );
        tap::pass()
    })
}

/// The errno of binding the first page of `bo` at `va` in `vm`; `None` if it bound (the binding
/// then stays).
fn bind_errno(vm: &Vm<'static>, bo: &Bo<'static>, va: u64, access: Access) -> Option<Errno> {
    vm.bind(bo, 0, 4096, va, access)
        .map(|b| b.forget())
        .err()
        .and_then(|e| e.errno())
}

/// New jobs naming the revoked range are refused at SUBMIT (EFAULT), the range stays taken
/// (EEXIST) and the revoked import binds no more (ENODEV).
pub fn revoked_range_refused(r: &Revoke) -> TestResult {
    r.with_held(|h| {
        let ctx = Context::create(r.b, hlx::ENGINE_DMA0, Priority::Normal)?;
        let read = [Packet::Copy {
            src: VA_SHARED + 4096,
            dst: VA_HOST,
            len: 64,
        }];
        let got = r.submit(&ctx, &h.vm, &read).err().and_then(|e| e.errno());
        ensure!(
            got == Some(Errno::FAULT),
            "SUBMIT gave {got:?}, want EFAULT"
        );
        let other = Bo::create(r.b, 4096, r.b_system)?;
        let got = bind_errno(&h.vm, &other, VA_SHARED, Access::ReadWrite);
        ensure!(
            got == Some(Errno::EXIST),
            "binding over the revoked range gave {got:?}, want EEXIST"
        );
        let got = bind_errno(&h.vm, &h.imported, VA_OWN, Access::ReadOnly);
        ensure!(
            got == Some(Errno::NODEV),
            "binding the revoked import gave {got:?}, want ENODEV"
        );
        tap::pass()
    })
}

/// VM_UNBIND of the revoked range works, and the range binds again.
pub fn unbind_revoked_range(r: &Revoke) -> TestResult {
    r.with_held(|h| {
        h.vm.unbind(VA_SHARED, LEN as u64)?;
        let other = Bo::create(r.b, LEN as u64, r.b_system)?;
        h.vm.bind(&other, 0, LEN as u64, VA_SHARED, Access::ReadWrite)?
            .unbind()?;
        tap::pass()
    })
}

/// The importer keeps working: host -> its own HBM -> host in one DMA job, bit-exact.
pub fn importer_keeps_working(r: &Revoke) -> TestResult {
    r.with_held(|h| {
        let data = pattern(LEN, 10);
        h.host.map()?.write(0, &data);
        let hbm = Bo::create(r.b, LEN as u64, r.b_hbm)?;
        let out = Bo::create(r.b, LEN as u64, r.b_system)?;
        let _hbm = h.vm.bind(&hbm, 0, LEN as u64, VA_OWN, Access::ReadWrite)?;
        let _out =
            h.vm.bind(&out, 0, LEN as u64, VA_SHARED, Access::ReadWrite)?;
        let len = LEN as u32;
        let copies = [
            Packet::Copy {
                src: VA_HOST,
                dst: VA_OWN,
                len,
            },
            Packet::Copy {
                src: VA_OWN,
                dst: VA_SHARED,
                len,
            },
        ];
        ensure!(
            r.run(&h.vm, hlx::ENGINE_DMA0, &copies)? == Ok(()),
            "the DMA job failed"
        );
        let mut got = vec![0; LEN];
        out.map()?.read(0, &mut got);
        ensure!(got == data, "copied bytes differ");
        tap::pass()
    })
}

/// Everything is closed: the VM, the import, the exporter's BO on its unplugged file.
pub fn close_all(r: &Revoke) -> TestResult {
    let held = r.held.borrow_mut().take();
    ensure!(held.is_some(), "nothing is held (the first test failed)");
    drop(held);
    tap::pass()
}

/// The revocation sequence, in order.
#[rustfmt::skip]
pub const TESTS: &[Test<Revoke>] = &[
    ("B binds A's HBM import, reads it; two jobs on it wait in a FENCE", bind_and_queue),
    ("A's PCI function unbinds: A's exports are revoked",               unbind_exporter),
    ("B's queued jobs on the revoked range fault in B's MMU (EIO)",     queued_jobs_fault),
    ("revoked range: SUBMIT EFAULT, rebind EEXIST, import bind ENODEV", revoked_range_refused),
    ("VM_UNBIND of the revoked range works; the range binds again",     unbind_revoked_range),
    ("B keeps working: host -> B's HBM -> host, bit-exact",             importer_keeps_working),
    ("close the VM, the import, A's BO and file",                       close_all),
];
