// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-drm-core`: DRM's core ioctls on an xaccel accel node, in TAP version 13.
//!
//! Linux 7.3's `drm_ioctl()` lets an accel client reach core ioctls that assume a DRM master
//! (GET_UNIQUE and GET_MAGIC dereference the NULL `file_priv->master`: issue 14). The core's
//! ioctl filter (`core/xaccel_c.c`) lets through only the core ioctls a render node may use and
//! refuses every other core number with `EACCES`. This test calls every core ioctl number
//! (0x00-0x3f, 0xa0-0xff) in every direction and in sizes up to the largest, with null,
//! unmapped, `PROT_NONE` and kernel pointers and garbage structs, and fails on any result
//! `Documentation/uapi.rst` ("DRM core ioctls on an accel node") does not give; then the
//! refused master ioctls with well-formed arguments, the allowed ones doing their job, and the
//! PRIME and SYNCOBJ ioctls on real objects with hostile arguments. As root, it runs all of
//! that again in a child process that made itself uid/gid 65534 with no supplementary groups
//! and no capabilities, on the node made world-accessible for it (`chmod 0666`, as a
//! distribution's udev rule would; the mode is restored afterwards). `make check` fails on
//! any kernel splat.
//!
//! Why a binary of its own rather than more of `xaccel-selftest-fuzz`: the sweep is
//! exhaustive, not random, it needs a second process with other credentials, and its
//! expectations are per core ioctl number, not per xaccel ioctl.
//!
//! Usage: `xaccel-selftest-drm-core [--as-nobody] [DEVICE]`. `--as-nobody` (root only) drops
//! to uid/gid 65534 first and runs the unprivileged part alone.

mod objects;
mod sweep;
mod table;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use rustix::fs::Mode;
use rustix::process::{getegid, geteuid, getgid, getgroups, getuid, Gid, Uid};
use rustix::thread::{capabilities, set_thread_groups, set_thread_res_gid, set_thread_res_uid};
use xaccel::{Bo, Device, Errno};
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{self, pass, skip, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::sweep::raw_ioctl;

/// The unprivileged user and group (`nobody`, `nogroup`).
const NOBODY: u32 = 65534;

/// The seed of the sweep's random structs.
const SEED: u64 = 14;

/// The device under test.
struct Ctx {
    path: PathBuf,
}

/// The command line.
#[derive(Debug, clap::Parser)]
#[command(version, about = "DRM core ioctls on an xaccel node (TAP output)")]
struct Args {
    /// Drop to uid/gid 65534 without capabilities first, and run only the unprivileged part.
    #[arg(long)]
    as_nobody: bool,
    /// The device node to test.
    #[arg(default_value = "/dev/accel/accel0")]
    device: PathBuf,
}

/// Every core number, direction, size and hostile argument; each allowed ioctl must also get
/// past the filter to its handler (some result other than `drm_ioctl()`'s `EFAULT`).
fn every_core_number(ctx: &Ctx) -> TestResult {
    let dev = Device::open(&ctx.path)?;
    let seen = match sweep::sweep(dev.as_fd(), SEED) {
        Ok(seen) => seen,
        Err(why) => fail!("{why}"),
    };
    tap::diag(&format!("{} calls", seen.calls));
    for allowed in &table::ALLOWED {
        let (ok, errors) = seen.allowed.get(&allowed.nr).cloned().unwrap_or_default();
        let list: Vec<String> = errors
            .iter()
            .map(|(&e, n)| format!("{} x{n}", errno_name(Errno::from_raw_os_error(e))))
            .collect();
        tap::diag(&format!("{}: {ok} ok, {}", allowed.name, list.join(", ")));
        let fault = Errno::FAULT.raw_os_error();
        ensure!(
            ok > 0 || errors.keys().any(|&e| e != fault),
            "{} never reached its handler",
            allowed.name
        );
    }
    pass()
}

/// Driver ioctls and other ioctl types are not the filter's: an unused driver number gets
/// `drm_ioctl()`'s `EINVAL`, another type `ENOTTY`, and QUERY works.
fn other_ioctls_pass(ctx: &Ctx) -> TestResult {
    let dev = Device::open(&ctx.path)?;
    let fd = dev.as_fd();
    let mut arena = sweep::Arena::new()?;
    arena.fill(0);
    let cases = [
        (
            "driver 0x9f",
            table::encode(3, table::DRM_COMMAND_END - 1, 64),
            Errno::INVAL,
        ),
        ("type 'e'", 0xc040_6501, Errno::NOTTY),
        ("type 'd' - 1", 0xc040_6300, Errno::NOTTY),
    ];
    for (what, cmd, errno) in cases {
        // SAFETY: The arena holds more than 64 zeroed bytes.
        let r = unsafe { raw_ioctl(fd, cmd, arena.addr()) }.map(|_| ());
        ensure!(
            r == Err(errno),
            "{what}: {}, expected {}",
            result_name(&r),
            errno_name(errno)
        );
    }
    ensure!(
        dev.device_info()?.region_count > 0,
        "QUERY DEVICE: no regions"
    );
    pass()
}

/// After everything, the device still makes, maps and closes a buffer object.
fn device_still_works(ctx: &Ctx) -> TestResult {
    let dev = Device::open(&ctx.path)?;
    let bo = Bo::create(&dev, 4096, 0)?;
    let map = bo.map()?;
    map.write(0, b"drm-core");
    let mut back = [0u8; 8];
    map.read(0, &mut back);
    ensure!(&back == b"drm-core", "read back {back:?}");
    pass()
}

/// Opens `path` and hands the device to an object test.
fn with_device(path: &Path, test: fn(&Device) -> TestResult) -> TestResult {
    test(&Device::open(path)?)
}

fn master_ioctls(ctx: &Ctx) -> TestResult {
    with_device(&ctx.path, objects::master_ioctls_refused)
}

fn allowed_work(ctx: &Ctx) -> TestResult {
    with_device(&ctx.path, objects::allowed_ioctls_work)
}

fn prime(ctx: &Ctx) -> TestResult {
    with_device(&ctx.path, objects::prime_hostile)
}

fn syncobj(ctx: &Ctx) -> TestResult {
    with_device(&ctx.path, objects::syncobj_hostile)
}

/// The tests run with the caller's credentials and again as nobody.
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("every core ioctl number, hostile arguments: documented errnos, EACCES if refused", every_core_number),
    ("GET_UNIQUE, GET_MAGIC, AUTH_MAGIC, SET_VERSION, (DROP_)MASTER, FLINK/OPEN: EACCES", master_ioctls),
    ("allowed ioctls work: VERSION, GET_CAP, SET_CLIENT_NAME, GEM_CLOSE", allowed_work),
    ("PRIME export and import with hostile arguments", prime),
    ("SYNCOBJ ioctls with hostile arguments", syncobj),
    ("driver ioctls and other types pass the filter unchanged", other_ioctls_pass),
    ("the device still works", device_still_works),
];

/// Makes this (single-threaded) process uid/gid 65534 with no groups and no capabilities,
/// and checks that it took.
fn drop_privileges() -> Result<(), String> {
    let gid = Gid::from_raw(NOBODY);
    let uid = Uid::from_raw(NOBODY);
    // The thread calls are the raw syscalls; before any other thread exists they are the
    // process's credentials.
    set_thread_groups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    set_thread_res_gid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
    set_thread_res_uid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))?;
    let caps = capabilities(None).map_err(|e| format!("capget: {e}"))?;
    let groups = getgroups().map_err(|e| format!("getgroups: {e}"))?;
    let ids = [
        getuid().as_raw(),
        geteuid().as_raw(),
        getgid().as_raw(),
        getegid().as_raw(),
    ];
    if ids != [NOBODY; 4]
        || !groups.is_empty()
        || !caps.effective.is_empty()
        || !caps.permitted.is_empty()
    {
        return Err(format!(
            "still privileged: ids {ids:?}, groups {groups:?}, effective {:?}, permitted {:?}",
            caps.effective, caps.permitted
        ));
    }
    Ok(())
}

/// As root: makes the node world-accessible, runs [`TESTS`] in a child that drops to nobody,
/// restores the node's mode, and passes if the child's TAP has every test passed.
fn as_nobody(ctx: &Ctx) -> TestResult {
    if !geteuid().is_root() {
        return skip("not root: cannot drop to another user");
    }
    let path = &ctx.path;
    let mode = rustix::fs::stat(path)?.st_mode & 0o7777;
    rustix::fs::chmod(path, Mode::from_raw_mode(0o666))?;
    let child = Command::new(std::env::current_exe()?)
        .arg("--as-nobody")
        .arg(path)
        .output();
    rustix::fs::chmod(path, Mode::from_raw_mode(mode))?;
    let out = child?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    tap::diag(&stdout);
    tap::diag(&String::from_utf8_lossy(&out.stderr));
    let passed = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    ensure!(
        out.status.success() && passed == TESTS.len() && !stdout.contains("not ok"),
        "as nobody: {} of {} tests passed, {}",
        passed,
        TESTS.len(),
        out.status
    );
    ensure!(!stdout.contains("# SKIP"), "as nobody: a test was skipped");
    pass()
}

/// [`TESTS`], then [`as_nobody`].
#[rustfmt::skip]
const ROOT_TESTS: &[Test<Ctx>] = &[
    TESTS[0], TESTS[1], TESTS[2], TESTS[3], TESTS[4], TESTS[5],
    ("as uid/gid 65534 without capabilities: all of the above again", as_nobody),
    TESTS[6],
];

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let tests = if args.as_nobody {
        if let Err(why) = drop_privileges() {
            tap::header();
            tap::bail_out(&why);
            return ExitCode::FAILURE;
        }
        TESTS
    } else {
        ROOT_TESTS
    };
    if let Err(err) = Device::open(&args.device) {
        tap::header();
        tap::bail_out(&err.to_string());
        return ExitCode::FAILURE;
    }
    if tap::run(&Ctx { path: args.device }, tests) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
