// SPDX-License-Identifier: GPL-2.0-only
//! What every execution test needs: the device, its engines' NOP (`DRM_XACCEL_QUERY_NOPS`, so
//! that the generic tests run jobs on any backend), a command-buffer BO, vaccel programs for
//! the vaccel-only tests, and waits with a hang guard.

use std::path::{Path, PathBuf};

use xaccel::{Bo, Context, Device, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, Failure, TestResult};
use xaccel_selftests::{ensure, fail};

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

pub use xaccel_selftests::jobs::{expect_errno, expect_pending, outcome, GUARD};

/// vaccel opcodes (uapi/drm/vaccel_isa.h).
pub const OP_COPY: u16 = 1;
pub const OP_DELAY: u16 = 9;
pub const OP_HANG: u16 = 10;
pub const OP_FAULT: u16 = 11;

/// One vaccel packet: header (opcode, flags 0, size) then `body`.
pub fn packet(opcode: u16, body: &[u8]) -> Vec<u8> {
    let size = 8 + body.len() as u32;
    let mut p = Vec::new();
    p.extend_from_slice(&opcode.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    p.extend_from_slice(&size.to_le_bytes());
    p.extend_from_slice(body);
    p
}

/// A DELAY packet of `usecs`.
pub fn delay(usecs: u32) -> Vec<u8> {
    let mut body = usecs.to_le_bytes().to_vec();
    body.extend_from_slice(&[0; 4]);
    packet(OP_DELAY, &body)
}

/// A HANG packet.
pub fn hang() -> Vec<u8> {
    packet(OP_HANG, &[])
}

/// A FAULT packet with code 5 (EIO).
pub fn fault() -> Vec<u8> {
    packet(OP_FAULT, &[5, 0, 0, 0, 0, 0, 0, 0])
}

/// The device under test.
pub struct Ctx {
    /// The device node.
    pub path: PathBuf,
    /// An open file of it.
    pub dev: Device,
    /// Its first system-memory region.
    pub system: u32,
    /// Its engine count.
    pub engines: u32,
    /// Its backend's name.
    pub backend: String,
    /// The first engine with a NOP: the generic tests' jobs run there.
    pub engine: u32,
    /// The last engine with a NOP (`engine` if only one has): for a second context.
    pub last: u32,
    /// The NOP of `engine`, and of `last`, from QUERY NOPS.
    nops: (Vec<u8>, Vec<u8>),
}

/// An engine and its NOP.
pub type EngineNop = (u32, Vec<u8>);

/// The first and the last engine of `dev` that have a NOP, with their NOPs; `None` if none has.
pub fn nop_engines(dev: &Device) -> Check<Option<(EngineNop, EngineNop)>> {
    let mut with_nop = dev.nops()?.into_iter().filter(|n| !n.cmd.is_empty());
    let Some(first) = with_nop.next() else {
        return Ok(None);
    };
    let last = with_nop.next_back().unwrap_or_else(|| first.clone());
    Ok(Some(((first.engine, first.cmd), (last.engine, last.cmd))))
}

impl Ctx {
    /// Opens `path`; fails unless one of its engines has a NOP. Jobs of the generic tests are
    /// that NOP; the vaccel programs only run on vaccel ([`Ctx::vaccel_only`]).
    pub fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let info = dev.device_info()?;
        let Some(((engine, nop), (last, last_nop))) = nop_engines(&dev)? else {
            fail!(
                "{} ({}): no engine has a NOP (QUERY NOPS)",
                path.display(),
                info.backend
            );
        };
        let Some(system) = dev.system_region()?.map(|r| r.id) else {
            fail!("no system region");
        };
        Ok(Self {
            path: path.to_owned(),
            dev,
            system,
            engines: info.engine_count,
            backend: info.backend,
            engine,
            last,
            nops: (nop, last_nop),
        })
    }

    /// The NOP of [`Ctx::engine`], the job of the generic tests.
    pub fn nop(&self) -> Vec<u8> {
        self.nops.0.clone()
    }

    /// The NOP of [`Ctx::last`].
    pub fn last_nop(&self) -> Vec<u8> {
        self.nops.1.clone()
    }

    /// `Some(skip)` unless the device is a vaccel device: the test runs a vaccel program
    /// (`what`), which no other backend understands.
    pub fn vaccel_only(&self, what: &str) -> Option<TestResult> {
        (self.backend != "vaccel").then(|| tap::skip(format!("{what}: a vaccel program")))
    }

    /// Another open file of the device.
    pub fn open_again(&self) -> Check<Device> {
        Ok(Device::open(&self.path)?)
    }

    /// A BO on `dev` holding `program` at offset 0.
    pub fn program<'d>(&self, dev: &'d Device, program: &[u8]) -> Check<Bo<'d>> {
        let bo = Bo::create(dev, program.len().max(1) as u64, self.system)?;
        bo.map()?.write(0, program);
        Ok(bo)
    }

    /// A context on [`Ctx::engine`] of `dev` (a file of this device).
    pub fn context<'d>(&self, dev: &'d Device, priority: Priority) -> Check<Context<'d>> {
        Ok(Context::create(dev, self.engine, priority)?)
    }
}

/// Runs `program` on `ctx`, signalling `out`; returns the seqno.
pub fn run(ctx: &Context<'_>, cmds: &Bo<'_>, len: usize, out: &Syncobj<'_>) -> Check<u64> {
    Ok(ctx.submit(&Submit::new(cmds, 0, len as u64).signal(out, 0))?)
}

/// Fails unless the two are equal.
pub fn expect_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> Check {
    ensure!(got == want, "{what}: got {got:?}, expected {want:?}");
    Ok(())
}
