// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-isolation`: what an unprivileged process with an open accel node can and
//! cannot do, in TAP version 13 (`Documentation/security.rst`).
//!
//! Usage, as root: `xaccel-selftest-isolation DEVICE...` (vaccel and hlx nodes).
//!
//! The process that starts, as root, is the *victim*: it makes a root-owned 0444 file, makes
//! the nodes readable and writable by everyone (as a distribution's `render`/`accel` group or
//! uaccess would for the logged-in user), opens every device and fills a buffer object of its
//! own with a pattern, with a context, a VM and a syncobj beside it. It then runs itself again
//! as the *attacker*: uid and gid 65534, no supplementary groups, no capabilities, none of the
//! victim's file descriptors (they are close-on-exec). The attacker prints the TAP; each test
//! tries one way to write what it may only read, or to reach what is not its own, checks the
//! errno the uAPI documents, that the target bytes are unchanged byte for byte, and that the
//! device still works. Once it is done, the victim checks its own objects and the file, puts
//! the nodes' modes back, and fails (exit 1, with a `#` line) if anything changed.

mod attacks;
mod probes;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use xaccel::{Access, Bo, Context, Device, Priority, Syncobj, Vm};
use xaccel_selftests::tap::{self, Test};

/// The unprivileged user and group (`nobody`, `nogroup`).
pub const NOBODY: u32 = 65534;
/// Bytes of the root-owned file and of the victim's buffer object.
pub const TARGET_LEN: usize = 4 * 4096;

/// The pattern of byte `i` of every target: never all zero, never one value.
pub fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) >> 3) as u8 ^ 0x5c
}

/// What the victim tells the attacker: where its file is, and the handles, ids and mmap
/// offsets of its objects (which must mean nothing in another process's file).
#[derive(Clone, Debug, Default)]
pub struct VictimInfo {
    /// The root-owned 0444 file.
    pub file: PathBuf,
    /// Per device, in argument order: BO handle, mmap offset, context, VM, syncobj.
    pub objects: Vec<(u32, u64, u32, u32, u32)>,
}

impl VictimInfo {
    fn to_args(&self) -> Vec<String> {
        let mut args = vec!["--attacker".into(), self.file.display().to_string()];
        // Devices follow (the caller adds them).
        for (bo, offset, ctx, vm, sync) in &self.objects {
            args.push(format!("{bo},{offset},{ctx},{vm},{sync}"));
        }
        args
    }

    fn from_args(args: &[String]) -> Option<Self> {
        let (file, rest) = args.split_first()?;
        let mut objects = Vec::new();
        for a in rest {
            let v: Vec<u64> = a
                .split(',')
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?;
            let [bo, offset, ctx, vm, sync] = v[..] else {
                return None;
            };
            let small = |x: u64| u32::try_from(x).ok();
            objects.push((small(bo)?, offset, small(ctx)?, small(vm)?, small(sync)?));
        }
        Some(Self {
            file: file.into(),
            objects,
        })
    }
}

/// The victim's objects on one device, kept open while the attacker runs.
struct Victim<'d> {
    bo: Bo<'d>,
    _ctx: Context<'d>,
    _vm: Vm<'d>,
    _sync: Syncobj<'d>,
}

impl<'d> Victim<'d> {
    fn new(dev: &'d Device, engine: u32) -> xaccel::Result<Self> {
        let system = dev.system_region()?.map_or(0, |r| r.id);
        let bo = Bo::create(dev, TARGET_LEN as u64, system)?;
        let bytes: Vec<u8> = (0..TARGET_LEN).map(pattern).collect();
        bo.map()?.write(0, &bytes);
        let vm = Vm::create(dev)?;
        let va = dev.device_info()?.va_start;
        // Bound, so that the attacker's VM ids and VAs could only reach it by a bug.
        vm.bind(&bo, 0, TARGET_LEN as u64, va, Access::ReadWrite)?
            .forget();
        Ok(Self {
            bo,
            _ctx: Context::create(dev, engine, Priority::Normal)?,
            _vm: vm,
            _sync: Syncobj::create(dev, true)?,
        })
    }

    fn unchanged(&self) -> xaccel::Result<bool> {
        let mut got = vec![0u8; TARGET_LEN];
        self.bo.map()?.read(0, &mut got);
        Ok(got.iter().enumerate().all(|(i, &b)| b == pattern(i)))
    }
}

/// Makes the root-owned 0444 file of the pattern in a new root-owned 0755 directory.
fn make_file() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("xaccel-isolation.{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    let file = dir.join("root-owned");
    let bytes: Vec<u8> = (0..TARGET_LEN).map(pattern).collect();
    std::fs::write(&file, bytes)?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444))?;
    Ok(file)
}

fn file_unchanged(file: &Path) -> bool {
    std::fs::read(file)
        .is_ok_and(|b| b.len() == TARGET_LEN && b.iter().enumerate().all(|(i, &x)| x == pattern(i)))
}

fn victim_main(paths: &[PathBuf]) -> ExitCode {
    if !rustix::process::geteuid().is_root() {
        println!("Bail out! run as root: the victim sets up what the unprivileged attacker tries");
        return ExitCode::FAILURE;
    }
    let file = match make_file() {
        Ok(f) => f,
        Err(e) => {
            println!("Bail out! cannot make the root-owned file: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut modes = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) => modes.push(m.permissions().mode()),
            Err(e) => {
                println!("Bail out! {}: {e}", p.display());
                return ExitCode::FAILURE;
            }
        }
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666));
    }
    let devs: Vec<Device> = match paths.iter().map(Device::open).collect() {
        Ok(d) => d,
        Err(e) => {
            println!("Bail out! {e}");
            return ExitCode::FAILURE;
        }
    };
    let victims: Vec<Victim<'_>> = match devs.iter().map(|d| Victim::new(d, 0)).collect() {
        Ok(v) => v,
        Err(e) => {
            println!("Bail out! the victim's objects: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut info = VictimInfo {
        file: file.clone(),
        objects: Vec::new(),
    };
    for v in &victims {
        info.objects.push((
            v.bo.handle(),
            v.bo.info().mmap_offset,
            v._ctx.id(),
            v._vm.id(),
            v._sync.handle(),
        ));
    }
    let Ok(me) = std::env::current_exe() else {
        println!("Bail out! no current executable");
        return ExitCode::FAILURE;
    };
    let mut cmd = Command::new(me);
    cmd.args(info.to_args()).args(paths);
    // As root, std's `uid()` also drops the supplementary groups (setgroups(0)); a process
    // whose uids are all nonzero has no capabilities (no file capabilities here).
    cmd.uid(NOBODY).gid(NOBODY);
    let status = cmd.status();
    let mut ok = matches!(&status, Ok(s) if s.success());
    if let Err(e) = &status {
        println!("Bail out! cannot run the attacker: {e}");
    }
    // Whatever the attacker reported, the victim's own view decides too.
    for (v, p) in victims.iter().zip(paths) {
        if !v.unchanged().unwrap_or(false) {
            println!("# {}: the victim's buffer object changed", p.display());
            ok = false;
        }
    }
    if !file_unchanged(&file) {
        println!("# the root-owned file changed");
        ok = false;
    }
    drop(victims);
    drop(devs);
    for (p, mode) in paths.iter().zip(modes) {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    }
    let _ = std::fs::remove_file(&file);
    let _ = file.parent().map(std::fs::remove_dir);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One device as the attacker sees it.
pub struct Target {
    /// The node.
    pub path: PathBuf,
    /// Its driver: `vaccel` or `hlx`.
    pub backend: String,
    /// The victim's objects there: BO handle, mmap offset, context, VM, syncobj.
    pub victim: (u32, u64, u32, u32, u32),
}

/// Everything the attacker's tests need.
pub struct Attacker {
    /// The root-owned 0444 file.
    pub file: PathBuf,
    /// The devices.
    pub targets: Vec<Target>,
    /// The page size.
    pub page: usize,
}

/// A job's hang guard, not a timing check.
pub const JOB_WAIT: Duration = Duration::from_secs(20);

/// `--attacker FILE OBJECTS... DEVICES...`, as the victim runs it: OBJECTS are the victim's
/// `handle,offset,context,vm,syncobj` per device, in the order of DEVICES.
fn attacker_main(args: &[String]) -> ExitCode {
    let (objects, paths): (Vec<String>, Vec<String>) =
        args.iter().skip(1).cloned().partition(|a| a.contains(','));
    let with_file: Vec<String> = args.iter().take(1).cloned().chain(objects).collect();
    let Some(info) = VictimInfo::from_args(&with_file).filter(|i| i.objects.len() == paths.len())
    else {
        println!("Bail out! bad attacker arguments {args:?}");
        return ExitCode::FAILURE;
    };
    let mut targets = Vec::new();
    for (p, victim) in paths.iter().zip(&info.objects) {
        let backend = match Device::open(p.as_str()).and_then(|d| d.version()) {
            Ok(v) => v.name,
            Err(e) => {
                println!("Bail out! {p} as uid {NOBODY}: {e}");
                return ExitCode::FAILURE;
            }
        };
        targets.push(Target {
            path: PathBuf::from(p.as_str()),
            backend,
            victim: *victim,
        });
    }
    let ctx = Attacker {
        file: info.file,
        targets,
        page: rustix::param::page_size(),
    };
    let tests: Vec<Test<Attacker>> = attacks::TESTS
        .iter()
        .chain(probes::TESTS.iter())
        .copied()
        .collect();
    if tap::run(&ctx, &tests) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--attacker") {
        return attacker_main(&args[1..]);
    }
    if args.is_empty() || args.iter().any(|a| a.starts_with('-')) {
        eprintln!("usage: xaccel-selftest-isolation DEVICE... (as root)");
        return ExitCode::from(2);
    }
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    victim_main(&paths)
}
