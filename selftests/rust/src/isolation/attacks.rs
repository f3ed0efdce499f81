// SPDX-License-Identifier: GPL-2.0-only
//! Writing what the attacker may only read: a root-owned 0444 file, a memfd sealed against
//! writes and anonymous memory made `PROT_READ`, each as a read-only userptr buffer object,
//! then every way a job, a binding, a mapping or an export could write it.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{fcntl_add_seals, memfd_create, open, MemfdFlags, Mode, OFlags, SealFlags};
use rustix::mm::{mmap, MapFlags, MprotectFlags, ProtFlags};
use xaccel::hlx::{self, Packet};
use xaccel::uapi::{drm_xaccel_bo_create_userptr, DRM_XACCEL_SUBMIT_BO_WRITE};
use xaccel::vaccel::{Mem, Program};
use xaccel::{sync_file_status, Access, Bo, Context, Device, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::memory::Memory;
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{pass, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::{pattern, Attacker, Target, JOB_WAIT, TARGET_LEN};

type Check<T = ()> = Result<T, Failure>;

/// Read-only memory of the attacker's, and how it got it.
enum Source {
    /// The root-owned 0444 file, opened read-only and mapped `PROT_READ`, shared.
    File,
    /// A memfd of the pattern sealed with `F_SEAL_WRITE`, mapped `PROT_READ`, shared.
    SealedMemfd,
    /// Private anonymous memory of the pattern, then `mprotect(PROT_READ)`.
    ReadOnlyAnonymous,
}

/// The mapping, and the file behind it (kept open while mapped).
struct Held {
    mem: Memory,
    _fd: Option<OwnedFd>,
}

impl Source {
    fn map(&self, a: &Attacker) -> Check<Held> {
        Ok(match self {
            Self::File => {
                let fd = open(&a.file, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
                let mem = Memory::shared(fd.as_fd(), TARGET_LEN, ProtFlags::READ)?;
                Held { mem, _fd: Some(fd) }
            }
            Self::SealedMemfd => {
                let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
                let fd = memfd_create("xaccel-sealed", flags)?;
                let bytes: Vec<u8> = (0..TARGET_LEN).map(pattern).collect();
                let written = rustix::io::write(&fd, &bytes)?;
                ensure!(written == TARGET_LEN, "short write to the memfd");
                fcntl_add_seals(&fd, SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW)?;
                let mem = Memory::shared(fd.as_fd(), TARGET_LEN, ProtFlags::READ)?;
                Held { mem, _fd: Some(fd) }
            }
            Self::ReadOnlyAnonymous => {
                let pages = TARGET_LEN / a.page;
                let mem = Memory::anonymous(pages, a.page, ProtFlags::READ | ProtFlags::WRITE)?;
                for i in 0..TARGET_LEN {
                    mem.set(i, pattern(i));
                }
                mem.protect(MprotectFlags::READ)?;
                Held { mem, _fd: None }
            }
        })
    }

    /// The target bytes are the pattern, through the mapping and (for the file) its contents.
    fn intact(&self, a: &Attacker, held: &Held, when: &str) -> Check {
        let seen = held.mem.bytes();
        if let Some(i) = (0..TARGET_LEN).find(|&i| seen[i] != pattern(i)) {
            fail!(
                "{when}: byte {i} of the target is {:#x}, was {:#x}",
                seen[i],
                pattern(i)
            );
        }
        if let Self::File = self {
            let on_file = std::fs::read(&a.file)?;
            ensure!(
                on_file.len() == TARGET_LEN
                    && on_file.iter().enumerate().all(|(i, &b)| b == pattern(i)),
                "{when}: the root-owned file's contents changed"
            );
        }
        Ok(())
    }
}

/// `got` is `Err(want)`.
fn expect(what: &str, got: Result<(), Errno>, want: Errno) -> Check {
    ensure!(
        got == Err(want),
        "{what}: got {}, expected {}",
        result_name(&got),
        errno_name(want)
    );
    Ok(())
}

fn errno_of<T>(r: xaccel::Result<T>) -> Result<(), Errno> {
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(e.errno().unwrap_or(Errno::IO)),
    }
}

/// Submits `cmds` on `engine` with `bos` (object, BO-list flags) and `vm`: the SUBMIT's errno,
/// or, once the job is done, its fence's error (`EIO` if it had one).
fn run(
    dev: &Device,
    engine: u32,
    cmds: &[u8],
    bos: &[(&Bo<'_>, u32)],
    vm: Option<&Vm<'_>>,
) -> Check<Result<(), Errno>> {
    let system = dev.system_region()?.map_or(0, |r| r.id);
    let cmd = Bo::create(dev, cmds.len() as u64, system)?;
    cmd.map()?.write(0, cmds);
    let context = Context::create(dev, engine, Priority::Normal)?;
    let done = Syncobj::create(dev, false)?;
    let mut submit = Submit::new(&cmd, 0, cmds.len() as u64).signal(&done, 0);
    for (bo, flags) in bos {
        submit = submit.bo(bo, *flags);
    }
    if let Some(vm) = vm {
        submit = submit.vm(vm);
    }
    if let Err(e) = errno_of(context.submit(&submit)) {
        return Ok(Err(e));
    }
    done.wait(0, JOB_WAIT)?;
    let status = sync_file_status(done.export_sync_file()?.as_fd())?;
    Ok(match status {
        Ok(true) => Ok(()),
        Ok(false) => fail!("the job's fence did not signal after the wait"),
        Err(e) => Err(e),
    })
}

/// A job that writes the whole of slot 0 (a BO-list index, or `va` of the submit's VM).
fn write_job(t: &Target, dst: Option<u64>) -> (u32, Vec<u8>) {
    let len = TARGET_LEN as u64;
    if t.backend == "hlx" {
        // Without a VM, hlx addresses are device addresses: a userptr has none, so any.
        let dst = dst.unwrap_or(0);
        let cb = hlx::encode(&[Packet::Memset {
            dst,
            len: len as u32,
            pattern: 0,
        }]);
        return (hlx::ENGINE_DMA0, cb);
    }
    let dst = dst.map_or(Mem::bo(0, 0), Mem::Va);
    (0, Program::new().fill(dst, 0, len).as_bytes().to_vec())
}

/// A job that copies `[src_va, +TARGET_LEN)` of the VM to `[dst_va, ..)`.
fn copy_job(t: &Target, src_va: u64, dst_va: u64) -> (u32, Vec<u8>) {
    let len = TARGET_LEN as u64;
    if t.backend == "hlx" {
        let cb = hlx::encode(&[Packet::Copy {
            src: src_va,
            dst: dst_va,
            len: len as u32,
        }]);
        return (hlx::ENGINE_DMA0, cb);
    }
    let p = Program::new()
        .copy(Mem::Va(dst_va), Mem::Va(src_va), len)
        .as_bytes()
        .to_vec();
    (0, p)
}

/// Every way to write `source` through one device; see the module documentation. Every
/// attempt is made, whatever the earlier ones gave, and every failure is reported.
fn attack(a: &Attacker, t: &Target, source: &Source) -> Check {
    let dev = Device::open(&t.path)?;
    let held = source.map(a)?;
    let len = TARGET_LEN as u64;
    let mut problems = Vec::new();
    let mut note = |r: Check| {
        if let Err(e) = r {
            problems.push(e.0);
        }
    };
    let mut args = drm_xaccel_bo_create_userptr {
        userptr: held.mem.addr() as u64,
        size: len,
        ..Default::default()
    };
    note(expect(
        "a writable userptr BO of read-only memory",
        dev.bo_create_userptr_raw(&mut args),
        Errno::ACCESS,
    ));
    let bo = Bo::from_user_memory(&dev, held.mem.addr(), len, true)?;

    let (engine, cmds) = write_job(t, None);
    let listed = run(
        &dev,
        engine,
        &cmds,
        &[(&bo, DRM_XACCEL_SUBMIT_BO_WRITE)],
        None,
    )?;
    note(expect(
        "SUBMIT_BO_WRITE of a read-only BO",
        listed,
        Errno::ACCESS,
    ));
    let read_listed = run(&dev, engine, &cmds, &[(&bo, 0)], None)?;
    note(expect(
        "a write to a BO listed read-only",
        read_listed,
        Errno::ACCESS,
    ));
    note(source.intact(a, &held, "after the BO-list writes"));

    let vm = Vm::create(&dev)?;
    let va = dev.device_info()?.va_start;
    note(expect(
        "VM_BIND read-write of a read-only BO",
        errno_of(vm.bind(&bo, 0, len, va, Access::ReadWrite)),
        Errno::ACCESS,
    ));
    // Unbinds whatever the bind above may have mapped, then maps read-only.
    let _ = vm.unbind(va, len);
    let _ro = vm.bind(&bo, 0, len, va, Access::ReadOnly)?;
    let (engine, cmds) = write_job(t, Some(va));
    let through_vm = run(&dev, engine, &cmds, &[], Some(&vm))?;
    note(expect(
        "a write through a read-only binding",
        through_vm,
        Errno::ACCESS,
    ));
    note(source.intact(a, &held, "after the VM writes"));

    note(expect(
        "PRIME export of a read-only BO",
        errno_of(bo.export()),
        Errno::ACCESS,
    ));
    // SAFETY: A new shared mapping of the device file at the BO's offset; never touched.
    let writable = unsafe {
        mmap(
            std::ptr::null_mut(),
            TARGET_LEN,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            dev.as_fd(),
            bo.info().mmap_offset,
        )
    };
    if let Ok(addr) = writable {
        // SAFETY: The mapping made just above.
        let _ = unsafe { rustix::mm::munmap(addr, TARGET_LEN) };
    }
    note(expect(
        "a writable mmap() of a read-only BO",
        writable.map(|_| ()),
        Errno::ACCESS,
    ));

    // Reading is allowed, and shows the test would see a write: the device copies the
    // target out into a writable BO of the attacker's own.
    let system = dev.system_region()?.map_or(0, |r| r.id);
    let own = Bo::create(&dev, len, system)?;
    let out_va = va + (16 << 20);
    let _rw = vm.bind(&own, 0, len, out_va, Access::ReadWrite)?;
    let (engine, cmds) = copy_job(t, va, out_va);
    let copied = run(&dev, engine, &cmds, &[], Some(&vm))?;
    if copied.is_ok() {
        let mut got = vec![0u8; TARGET_LEN];
        own.map()?.read(0, &mut got);
        if let Some(i) = (0..TARGET_LEN).find(|&i| got[i] != pattern(i)) {
            problems.push(format!(
                "the device read byte {i} of the target as {:#x}",
                got[i]
            ));
        }
    } else {
        problems.push(format!(
            "a copy out of the read-only BO: {}",
            result_name(&copied)
        ));
    }
    if let Err(e) = source.intact(a, &held, "at the end") {
        problems.push(e.0);
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

fn every_device(a: &Attacker, source: Source) -> TestResult {
    for t in &a.targets {
        attack(a, t, &source)
            .map_err(|e| Failure(format!("{} ({}): {}", t.path.display(), t.backend, e.0)))?;
    }
    pass()
}

fn root_file(a: &Attacker) -> TestResult {
    every_device(a, Source::File)
}

fn sealed_memfd(a: &Attacker) -> TestResult {
    every_device(a, Source::SealedMemfd)
}

fn read_only_anonymous(a: &Attacker) -> TestResult {
    every_device(a, Source::ReadOnlyAnonymous)
}

/// The write attempts, in order: (TAP name, function).
#[rustfmt::skip]
pub const TESTS: &[Test<Attacker>] = &[
    ("a root-owned 0444 file mapped read-only: no job, binding, mmap or export writes it",
        root_file),
    ("a memfd sealed with F_SEAL_WRITE: no job, binding, mmap or export writes it",
        sealed_memfd),
    ("PROT_READ anonymous memory: no job, binding, mmap or export writes it",
        read_only_anonymous),
];
