// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-faults`: systematic fault injection into every ioctl of the common uAPI,
//! the backend's vendor queries, `mmap()` and the first fault of each kind of buffer object,
//! PRIME export and import (from another file, and from a second device with `--peer`) and
//! DRM's syncobj ioctls, in TAP version 13.
//!
//! For each, a representative good call runs with the kernel's `fail-nth` failing its 1st,
//! 2nd, 3rd, ... fault point (slab and page allocations: FAILSLAB, FAIL_PAGE_ALLOC) until it
//! succeeds with no failure injected ([`sweep`]). Every failed call must give `ENOMEM` or an
//! errno `Documentation/uapi.rst` gives that call, leave nothing half done ([`state`]: handles,
//! region `used`, fdinfo, the next syncobj handle, open files and mappings; contexts and VMs
//! per test), and the same call must then succeed, with the device still running a job. Each
//! TAP line prints the fault points it exercised as `#` diagnostics.
//!
//! The test sets debugfs `failslab` and `fail_page_alloc` to fail sleeping allocations of any
//! order, quietly, and restores them at exit. On a kernel without `/proc/thread-self/fail-nth`
//! every test is skipped.
//!
//! Usage: `xaccel-selftest-faults [--peer DEVICE] [DEVICE]`.

mod exec;
mod inject;
mod mem;
mod state;
mod sweep;
mod sync;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use xaccel::hlx::{self, Packet};
use xaccel::{Bo, Context, Device, Priority, RegionInfo, Submit, Syncobj};
use xaccel_selftests::tap::{self, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::inject::{Injector, Settings};
use crate::state::{Check, State, GUARD};
use crate::sweep::Sweep;

/// Fault injection into every call of the uAPI (TAP output).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The device under test.
    #[arg(default_value = "/dev/accel/accel0")]
    device: PathBuf,
    /// A second device whose exports are imported (cross-device PRIME import).
    #[arg(long)]
    peer: Option<PathBuf>,
    /// Internal: the first fault of a mapping, in a child process (see `mem::fault_child`).
    #[arg(long, num_args = 4, value_names = ["FD", "OFFSET", "LEN", "NTH"], hide = true)]
    fault_child: Option<Vec<u64>>,
}

/// The device under test and the injection machinery.
pub struct Ctx {
    /// The device node, canonical.
    pub node: PathBuf,
    /// The peer device, if any.
    pub peer: Option<PathBuf>,
    /// The file under test.
    pub dev: Device,
    /// Its `drm-client-id`.
    pub client: u64,
    /// `vaccel`, `hlx`, ...
    pub backend: String,
    /// The device's regions.
    pub regions: Vec<RegionInfo>,
    /// Its first system region.
    pub system: u32,
    /// The start of its VA window.
    pub va_start: u64,
    /// The page size.
    pub page: u64,
    /// The thread's fail-nth, if the kernel has it.
    pub injector: Option<Injector>,
    /// Why there is none.
    pub no_injection: String,
    /// The debugfs settings, restored when dropped.
    _settings: Option<Settings>,
    /// How many contexts and VMs the file could create at the start.
    capacity: (u32, u32),
}

impl Ctx {
    fn open(args: &Args) -> Check<Self> {
        let node = std::fs::canonicalize(&args.device)
            .map_err(|e| Failure(format!("{}: {e}", args.device.display())))?;
        let dev = Device::open(&node)?;
        let info = dev.device_info()?;
        let Some(client) = dev.fdinfo()?.client_id else {
            fail!("no drm-client-id in fdinfo");
        };
        let Some(system) = dev.system_region()?.map(|r| r.id) else {
            fail!("no system region");
        };
        let (injector, settings, no_injection) = match Injector::open().map_err(Failure)? {
            None => (
                None,
                None,
                format!("the kernel has no {}", inject::FAIL_NTH),
            ),
            Some(injector) => {
                let settings = Settings::apply().map_err(Failure)?;
                tap::diag(&format!("fault injection: {}", settings.describe()));
                (Some(injector), Some(settings), String::new())
            }
        };
        let capacity = (state::contexts_left(&dev)?, state::vms_left(&dev)?);
        Ok(Self {
            node,
            peer: args.peer.clone(),
            regions: dev.regions()?,
            client,
            backend: info.backend,
            system,
            va_start: info.va_start,
            page: rustix::param::page_size() as u64,
            dev,
            injector,
            no_injection,
            _settings: settings,
            capacity,
        })
    }

    /// The file's [`State`] now.
    pub fn state(&self) -> Check<State> {
        State::of(&self.dev, &self.node, self.client)
    }

    /// Another file of the device under test.
    pub fn open_again(&self) -> Check<Device> {
        Ok(Device::open(&self.node)?)
    }

    /// Whether the backend is vaccel (whose programs the exec tests submit) or hlx.
    pub fn is_hlx(&self) -> bool {
        self.backend == "hlx"
    }

    /// The device runs a job on the file under test: a NOP, waited for, successful.
    pub fn runs_a_job(&self) -> Check {
        let program = if self.is_hlx() {
            hlx::encode(&[Packet::Nop])
        } else {
            xaccel::vaccel::Program::new().nop().as_bytes().to_vec()
        };
        let cmds = Bo::create(&self.dev, program.len() as u64, self.system)?;
        cmds.map()?.write(0, &program);
        let context = Context::create(&self.dev, 0, Priority::Normal)?;
        let done = Syncobj::create(&self.dev, false)?;
        context.submit(&Submit::new(&cmds, 0, program.len() as u64).signal(&done, 0))?;
        done.wait(0, GUARD)?;
        let status = xaccel::sync_file_status(done.export_sync_file()?.as_fd())?;
        ensure!(status == Ok(true), "a NOP job ended with {status:?}");
        Ok(())
    }
}

/// Runs one test's sweeps (`body` returns a line per call variant) and checks what the test
/// as a whole must leave: the file's state and its room for contexts and VMs.
fn case(c: &Ctx, body: impl FnOnce(&Ctx) -> Check<Vec<(String, Sweep)>>) -> TestResult {
    if c.injector.is_none() {
        return tap::skip(&c.no_injection);
    }
    let start = c.state()?;
    let lines = body(c)?;
    if lines.is_empty() {
        return tap::skip(format!("no such call on {}", c.backend));
    }
    for (what, sweep) in &lines {
        tap::diag(&format!("{what}: {}", sweep.summary()));
    }
    state::settle("after the test", &start, || c.state())?;
    c.runs_a_job()?;
    tap::pass()
}

/// The last test: the file can still create as many contexts and VMs as at the start (a
/// context or VM that a failed call took out of the count but kept would show here only).
fn capacity(c: &Ctx) -> TestResult {
    if c.injector.is_none() {
        return tap::skip(&c.no_injection);
    }
    let capacity = (state::contexts_left(&c.dev)?, state::vms_left(&c.dev)?);
    ensure!(
        capacity == c.capacity,
        "room for (contexts, VMs) is {capacity:?}, was {:?}: one leaked",
        c.capacity
    );
    tap::pass()
}

macro_rules! cases {
    ($($name:literal => $body:path,)* ; $($last:literal => $test:path,)*) => {
        &[$(($name, |c: &Ctx| case(c, $body)),)* $(($last, $test),)*]
    };
}

/// Every test, in order: (TAP name, sweeps).
const TESTS: &[Test<Ctx>] = cases! {
    "QUERY (DEVICE, ENGINES, REGIONS)" => mem::query,
    "VENDOR_QUERY (hlx: HW_INFO, COUNTERS, QUEUES)" => exec::vendor_query,
    "BO_CREATE in each region" => mem::bo_create,
    "BO_CREATE_USERPTR" => mem::bo_create_userptr,
    "BO_INFO" => mem::bo_info,
    "GEM_CLOSE" => mem::gem_close,
    "mmap of each kind of BO" => mem::mmap,
    "first fault of each kind of BO mapping" => mem::first_fault,
    "PRIME_HANDLE_TO_FD (system and device BOs)" => mem::prime_export,
    "PRIME_FD_TO_HANDLE (another file's, another device's)" => mem::prime_import,
    "VM_CREATE" => mem::vm_create,
    "VM_DESTROY" => mem::vm_destroy,
    "VM_BIND (system and device BOs)" => mem::vm_bind,
    "VM_UNBIND" => mem::vm_unbind,
    "CONTEXT_CREATE" => exec::context_create,
    "CONTEXT_DESTROY" => exec::context_destroy,
    "SUBMIT (in/out syncobjs, a timeline point)" => exec::submit,
    "BO_WAIT" => exec::bo_wait,
    "SYNCOBJ_CREATE" => exec::syncobj_create,
    "SYNCOBJ_DESTROY" => exec::syncobj_destroy,
    "SYNCOBJ_HANDLE_TO_FD (fd, sync_file)" => exec::syncobj_export,
    "SYNCOBJ_FD_TO_HANDLE (fd, sync_file)" => exec::syncobj_import,
    "SYNCOBJ_TIMELINE_WAIT" => exec::syncobj_wait,
    "SYNCOBJ_QUERY" => exec::syncobj_query,
    "SYNCOBJ_TRANSFER" => exec::syncobj_transfer,
    "SYNCOBJ_TIMELINE_SIGNAL" => exec::syncobj_signal,
    ;
    "room for contexts and VMs as at the start" => capacity,
};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(child) = &args.fault_child {
        return mem::fault_child(child);
    }
    let ctx = match Ctx::open(&args) {
        Ok(ctx) => ctx,
        Err(Failure(why)) => {
            tap::header();
            tap::bail_out(&why);
            return ExitCode::FAILURE;
        }
    };
    let ok = tap::run(&ctx, TESTS);
    drop(ctx);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A test failure naming `path`.
pub fn at(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure(format!("{}: {e}", path.display()))
}
