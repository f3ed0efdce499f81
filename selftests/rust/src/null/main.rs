// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-null`: selftest of the sample backend `xaccel_null` (samples/xaccel_null),
//! in TAP version 13: what QUERY reports, the vendor query, a buffer object, NOP jobs through
//! SUBMIT and their fences, and the command buffers `validate` refuses.
//!
//! Usage: `xaccel-selftest-null [DEVICE]`, as root in the VM, on an `xaccel_null` device.

use std::os::fd::AsFd;
use std::time::Duration;

use xaccel::{null, Bo, Context, Device, Errno, Priority, Submit, Syncobj};
use xaccel_selftests::tap::{self, Test, TestResult};
use xaccel_selftests::{ensure, fail};

/// How long a NOP job may take before the test fails.
const GUARD: Duration = Duration::from_secs(10);

/// QUERY: the sample's name, one engine, one system region.
fn query(dev: &Device) -> TestResult {
    let info = dev.device_info()?;
    ensure!(info.backend == null::BACKEND, "backend {:?}", info.backend);
    let engines = dev.engines()?;
    ensure!(
        engines.len() == 1 && engines[0].name == "null0",
        "{engines:?}"
    );
    let regions = dev.regions()?;
    ensure!(
        regions.len() == 1 && regions[0].kind == xaccel::RegionKind::System,
        "{regions:?}"
    );
    tap::pass()
}

/// QUERY NOPS: the engine's NOP is the sample's NOP command.
fn engine_nop(dev: &Device) -> TestResult {
    let nop = dev.nop(0)?;
    ensure!(
        nop.as_deref() == Some(&null::NOP[..]),
        "engine 0's NOP: {nop:?}"
    );
    tap::pass()
}

/// The vendor query reports the uAPI version; an unknown type is EINVAL.
fn vendor_query(dev: &Device) -> TestResult {
    let info = null::info(dev)?;
    ensure!(info.version == null::VERSION, "{info:?}");
    match dev.vendor_query(null::QUERY_INFO + 1, null::INFO_SIZE as u32) {
        Err(e) if e.errno() == Some(Errno::INVAL) => tap::pass(),
        other => fail!("unknown vendor query type: {other:?}, want EINVAL"),
    }
}

/// `commands` in a new BO, submitted on engine 0; the SUBMIT's result, then the fence's.
fn submit(dev: &Device, commands: &[u8]) -> Result<Result<(), Errno>, tap::Failure> {
    let ctx = Context::create(dev, 0, Priority::Normal)?;
    let bo = Bo::create(dev, 4096.max(commands.len() as u64), 0)?;
    bo.map()?.write(0, commands);
    let out = Syncobj::create(dev, false)?;
    if let Err(e) = ctx.submit(&Submit::new(&bo, 0, commands.len() as u64).signal(&out, 0)) {
        return Ok(Err(e.errno().unwrap_or(Errno::IO)));
    }
    out.wait(0, GUARD)?;
    let fd = out.export_sync_file()?;
    match xaccel::sync_file_status(fd.as_fd())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => fail!("a waited-for fence is not signalled"),
        Err(errno) => fail!("the NOP job failed: {errno}"),
    }
}

/// A buffer object of the system region, mapped, written and read back.
fn bo(dev: &Device) -> TestResult {
    let bo = Bo::create(dev, 1 << 20, 0)?;
    let map = bo.map()?;
    map.write(4096, b"xaccel_null");
    let mut back = [0u8; 11];
    map.read(4096, &mut back);
    ensure!(&back == b"xaccel_null", "read back {back:?}");
    tap::pass()
}

/// One NOP and a full job of NOPs complete, and the vendor query counts them.
fn nop_jobs(dev: &Device) -> TestResult {
    let before = null::info(dev)?.jobs_done;
    ensure!(submit(dev, &null::NOP)? == Ok(()), "one NOP");
    ensure!(
        submit(dev, &null::encode(null::MAX_COMMANDS))? == Ok(()),
        "{} NOPs",
        null::MAX_COMMANDS
    );
    let after = null::info(dev)?.jobs_done;
    ensure!(
        after == before + 2,
        "jobs_done {before} -> {after}, want +2"
    );
    tap::pass()
}

/// What `validate` refuses, with its errno.
fn refusals(dev: &Device) -> TestResult {
    let mut bad_magic = null::NOP;
    bad_magic[0] ^= 1;
    let bad_opcode = null::command(1);
    let cases: [(&str, Vec<u8>, Errno); 4] = [
        ("a partial command", null::NOP[..4].to_vec(), Errno::INVAL),
        ("a wrong magic", bad_magic.to_vec(), Errno::INVAL),
        (
            "an unknown opcode",
            [null::NOP, bad_opcode].concat(),
            Errno::INVAL,
        ),
        (
            "one command too many",
            null::encode(null::MAX_COMMANDS + 1),
            Errno::TOOBIG,
        ),
    ];
    for (what, commands, want) in cases {
        match submit(dev, &commands)? {
            Err(e) if e == want => {}
            other => fail!("{what}: {other:?}, want {want}"),
        }
    }
    tap::pass()
}

#[rustfmt::skip]
const TESTS: &[Test<Device>] = &[
    ("QUERY: xaccel_null, engine null0, one system region",  query),
    ("QUERY NOPS: engine 0's NOP is XACCEL_NULL_OP_NOP",      engine_nop),
    ("vendor query INFO: version 1; unknown type EINVAL",     vendor_query),
    ("a system BO is mapped, written and read back",          bo),
    ("NOP jobs complete (1 and 4096 NOPs), counted",          nop_jobs),
    ("partial, wrong magic, unknown opcode EINVAL; 4097 E2BIG", refusals),
];

fn main() -> std::process::ExitCode {
    tap::device_main(|path| Device::open(path), TESTS)
}
