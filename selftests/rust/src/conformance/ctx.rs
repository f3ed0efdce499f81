// SPDX-License-Identifier: GPL-2.0-only
//! What every conformance test needs: the device and what its QUERY says (engines, regions,
//! capabilities, the engines' NOPs), and a NOP job on any engine, waited for with a hang guard.

use std::path::{Path, PathBuf};

use xaccel::{
    Bo, Context, DeviceInfo, EngineInfo, Errno, NopInfo, Priority, RegionInfo, RegionKind, Submit,
    Syncobj,
};
use xaccel::{Capabilities, Device};
use xaccel_selftests::fail;
use xaccel_selftests::tap::Failure;

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

pub use xaccel_selftests::jobs::{outcome, GUARD};

/// The device under test, as its QUERY describes it.
pub struct Ctx {
    /// The device node.
    pub path: PathBuf,
    /// An open file of it.
    pub dev: Device,
    /// QUERY DEVICE.
    pub info: DeviceInfo,
    /// QUERY ENGINES.
    pub engines: Vec<EngineInfo>,
    /// QUERY REGIONS.
    pub regions: Vec<RegionInfo>,
    /// QUERY NOPS.
    pub nops: Vec<NopInfo>,
    /// Its first system-memory region.
    pub system: u32,
    /// The unplug test may unbind the device's PCI function.
    pub unplug: bool,
}

impl Ctx {
    /// Opens `path` and queries it (the unplug test allowed).
    pub fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let info = dev.device_info()?;
        let engines = dev.engines()?;
        let regions = dev.regions()?;
        let nops = dev.nops()?;
        let Some(system) = regions.iter().find(|r| r.kind == RegionKind::System) else {
            fail!("{} has no system-memory region", path.display());
        };
        let system = system.id;
        Ok(Self {
            path: path.to_owned(),
            dev,
            info,
            engines,
            regions,
            nops,
            system,
            unplug: true,
        })
    }

    /// Another open file of the device.
    pub fn open_again(&self) -> Check<Device> {
        Ok(Device::open(&self.path)?)
    }

    /// The device declares an MMU.
    pub fn mmu(&self) -> bool {
        self.info.capabilities.contains(Capabilities::MMU)
    }

    /// The NOP of `engine`, if it has one.
    pub fn nop(&self, engine: u32) -> Option<&[u8]> {
        self.nops
            .iter()
            .find(|n| n.engine == engine && !n.cmd.is_empty())
            .map(|n| n.cmd.as_slice())
    }

    /// The engines with a NOP, and a note naming those without (for the SKIP reason).
    pub fn job_engines(&self) -> (Vec<u32>, String) {
        let (with, without): (Vec<u32>, Vec<u32>) = self
            .engines
            .iter()
            .map(|e| e.id)
            .partition(|&e| self.nop(e).is_some());
        let note = if without.is_empty() {
            String::new()
        } else {
            format!("engines {without:?} have no NOP")
        };
        (with, note)
    }

    /// A command-buffer BO on `dev` (a file of this device) holding `engine`'s NOP, and its
    /// length; `None` if the engine has no NOP.
    pub fn nop_bo<'d>(&self, dev: &'d Device, engine: u32) -> Check<Option<(Bo<'d>, u64)>> {
        let Some(nop) = self.nop(engine) else {
            return Ok(None);
        };
        let bo = Bo::create(dev, nop.len() as u64, self.system)?;
        bo.map()?.write(0, nop);
        Ok(Some((bo, nop.len() as u64)))
    }

    /// A job on `engine` of `dev`: a context with `priority` and the engine's NOP; `None` if
    /// the engine has no NOP.
    pub fn job<'d>(
        &self,
        dev: &'d Device,
        engine: u32,
        priority: Priority,
    ) -> Check<Option<Job<'d>>> {
        let Some((cmds, len)) = self.nop_bo(dev, engine)? else {
            return Ok(None);
        };
        let context = Context::create(dev, engine, priority)?;
        Ok(Some(Job { context, cmds, len }))
    }

    /// A job on the first engine with a NOP, at normal priority.
    pub fn any_job<'d>(&self, dev: &'d Device) -> Check<Option<Job<'d>>> {
        match self.job_engines().0.first() {
            Some(&engine) => self.job(dev, engine, Priority::Normal),
            None => Ok(None),
        }
    }
}

/// A context and its engine's NOP.
pub struct Job<'d> {
    /// The context.
    pub context: Context<'d>,
    /// The NOP, at offset 0.
    pub cmds: Bo<'d>,
    /// The NOP's length.
    pub len: u64,
}

impl<'d> Job<'d> {
    /// A SUBMIT of the NOP, to extend with BOs, a VM and syncobjs.
    pub fn submit(&self) -> Submit<'_> {
        Submit::new(&self.cmds, 0, self.len)
    }

    /// Runs the NOP once, with `submit`'s additions, and waits for it: its fence's status.
    pub fn run(&self, submit: Submit<'_>) -> Check<Result<(), Errno>> {
        let done = Syncobj::create(self.context_device(), false)?;
        self.context.submit(&submit.signal(&done, 0))?;
        outcome(&done)
    }

    fn context_device(&self) -> &'d Device {
        self.cmds.device()
    }
}
