// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-userptr`: selftest of userptr buffer objects
//! (`DRM_IOCTL_XACCEL_BO_CREATE_USERPTR`), in TAP version 13: the process's
//! memory and the BO share their pages both ways, munmap() after creation
//! keeps them, read-only and file-backed memory rules, accounting (region,
//! fdinfo, VmPin and RLIMIT_MEMLOCK), VM_BIND,
//! SUBMIT BO lists, dma-buf export, and bad ranges, each with its errno.
//!
//! Usage: `xaccel-selftest-userptr [DEVICE]` (default `/dev/accel/accel0`).
//! Nothing else may allocate on the device while it runs (the accounting is
//! checked exactly). Exits 0 only if every test passed (or was skipped).

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::{
    drm_xaccel_bo_create_userptr, DRM_XACCEL_BO_READ_ONLY, DRM_XACCEL_BO_USERPTR,
    DRM_XACCEL_SUBMIT_BO_WRITE,
};
use xaccel::{Access, Bo, Context, Device, Errno, Priority, Submit, Syncobj, Vm};
use xaccel_selftests::memory::Memory;
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{self, pass, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

type Check<T = ()> = Result<T, Failure>;

/// Pages every test uses.
const PAGES: usize = 16;

/// The device under test and its system region.
struct Ctx {
    dev: Device,
    system: u32,
    system_name: String,
    system_size: u64,
    page: usize,
}

impl Ctx {
    fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let Some(system) = dev.system_region()? else {
            fail!("the device has no system region");
        };
        Ok(Self {
            dev,
            system: system.id,
            system_name: system.name,
            system_size: system.size,
            page: rustix::param::page_size(),
        })
    }

    fn used(&self) -> Check<u64> {
        match self.dev.regions()?.iter().find(|r| r.id == self.system) {
            Some(r) => Ok(r.used),
            None => fail!("the system region disappeared"),
        }
    }

    fn expect_used(&self, want: u64, when: &str) -> Check {
        let used = self.used()?;
        ensure!(used == want, "{when}: QUERY used {used}, expected {want}");
        Ok(())
    }

    fn total(&self) -> Check<u64> {
        let info = self.dev.fdinfo()?;
        match info.region(&self.system_name) {
            Some(m) => Ok(m.total),
            None => fail!("fdinfo has no drm-total-{}", self.system_name),
        }
    }

    /// A userptr BO of all of `mem`.
    fn bo(&self, mem: &Memory, read_only: bool) -> Check<Bo<'_>> {
        Ok(Bo::from_user_memory(
            &self.dev,
            mem.addr(),
            mem.len as u64,
            read_only,
        )?)
    }

    /// Sends BO_CREATE_USERPTR with `args` and expects `want`, the struct
    /// unchanged, nothing charged and the device usable.
    fn expect_error(&self, mut args: drm_xaccel_bo_create_userptr, want: Errno) -> Check {
        let used = self.used()?;
        let sent = args;
        let result = self.dev.bo_create_userptr_raw(&mut args);
        if result.is_ok() {
            let _ = self.dev.gem_close_raw(args.handle);
        }
        ensure!(
            result == Err(want),
            "got {}, expected {}\nsent {sent:?}",
            result_name(&result),
            errno_name(want)
        );
        ensure!(args == sent, "the kernel changed the struct: {args:?}");
        self.expect_used(used, "after the failed call")?;
        self.usable()
    }

    /// A full cycle: pin, map, see a write, close; `used` back.
    fn usable(&self) -> Check {
        let before = self.used()?;
        let mem = Memory::anonymous(1, self.page, ProtFlags::READ | ProtFlags::WRITE)?;
        mem.set(9, 0x77);
        let bo = self.bo(&mem, false)?;
        let mut back = [0u8; 1];
        bo.map()?.read(9, &mut back);
        ensure!(back == [0x77], "a fresh userptr BO reads {back:?}");
        bo.close()?;
        self.expect_used(before, "after a userptr cycle")
    }
}

/// Writes through the process's mapping are seen through the BO's mapping
/// and the other way round; BO_INFO describes a userptr BO.
fn shared_both_ways(ctx: &Ctx) -> TestResult {
    let mem = Memory::anonymous(PAGES, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    for p in 0..PAGES {
        mem.set(p * ctx.page + 1, p as u8 + 1);
    }
    let bo = ctx.bo(&mem, false)?;
    let info = bo.info();
    ensure!(
        info.size == (PAGES * ctx.page) as u64,
        "BO_INFO size {}",
        info.size
    );
    ensure!(info.region == ctx.system, "BO_INFO region {}", info.region);
    ensure!(
        info.flags == DRM_XACCEL_BO_USERPTR,
        "BO_INFO flags {:#x}",
        info.flags
    );
    let map = bo.map()?;
    for p in 0..PAGES {
        let mut b = [0u8; 1];
        map.read(p * ctx.page + 1, &mut b);
        ensure!(b == [p as u8 + 1], "page {p}: the BO reads {b:?}");
        map.write(p * ctx.page + 2, &[0xb0 + p as u8]);
    }
    for p in 0..PAGES {
        let got = mem.get(p * ctx.page + 2);
        ensure!(
            got == 0xb0 + p as u8,
            "page {p}: the process reads {got:#x}"
        );
    }
    pass()
}

/// munmap() of the range after creation: the BO keeps the pages and the
/// data; closing it frees them.
fn munmap_after_create(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let mut mem = Memory::anonymous(PAGES, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    mem.set(5 * ctx.page, 0x3c);
    let bo = ctx.bo(&mem, false)?;
    mem.unmap()?;
    let map = bo.map()?;
    let mut b = [0u8; 1];
    map.read(5 * ctx.page, &mut b);
    ensure!(b == [0x3c], "after munmap the BO reads {b:?}");
    map.write(0, b"still here");
    drop(map);
    ctx.expect_used(before + (PAGES * ctx.page) as u64, "with the BO")?;
    bo.close()?;
    ctx.expect_used(before, "after closing")?;
    pass()
}

/// Read-only memory: refused for a writable BO (EACCES), taken for a
/// read-only one, whose CPU mappings must be read-only (EACCES otherwise)
/// and whose VM mappings too (EACCES for read-write).
fn read_only_memory(ctx: &Ctx) -> TestResult {
    let mem = Memory::anonymous(PAGES, ctx.page, ProtFlags::READ)?;
    ctx.expect_error(
        drm_xaccel_bo_create_userptr {
            userptr: mem.addr() as u64,
            size: mem.len as u64,
            ..Default::default()
        },
        Errno::ACCESS,
    )?;
    let bo = ctx.bo(&mem, true)?;
    ensure!(
        bo.info().flags == DRM_XACCEL_BO_USERPTR | DRM_XACCEL_BO_READ_ONLY,
        "BO_INFO flags {:#x}",
        bo.info().flags
    );
    let rw = bo.map().map(drop);
    ensure!(
        rw.as_ref().err().and_then(|e| e.errno()) == Some(Errno::ACCESS),
        "a writable mapping of a read-only BO: {rw:?}"
    );
    // SAFETY: A new read-only shared mapping of the BO.
    let ro = unsafe {
        mmap(
            std::ptr::null_mut(),
            mem.len,
            ProtFlags::READ,
            MapFlags::SHARED,
            &ctx.dev,
            bo.info().mmap_offset,
        )
    }?;
    // SAFETY: Mapped just above, `mem.len` bytes.
    let zero = unsafe { ro.cast::<u8>().add(3 * ctx.page).read_volatile() };
    // SAFETY: The mapping made above.
    unsafe { munmap(ro, mem.len) }?;
    ensure!(
        zero == 0,
        "fresh anonymous memory read {zero} through the BO"
    );
    let va = ctx.dev.device_info()?.va_start;
    let vm = Vm::create(&ctx.dev)?;
    let rw = vm
        .bind(&bo, 0, ctx.page as u64, va, Access::ReadWrite)
        .map(|b| b.forget());
    ensure!(
        rw.as_ref().err().and_then(|e| e.errno()) == Some(Errno::ACCESS),
        "a read-write VM mapping of a read-only BO: {rw:?}"
    );
    let binding = vm.bind(&bo, 0, ctx.page as u64, va, Access::ReadOnly)?;
    binding.unbind()?;
    vm.destroy()?;
    bo.close()?;
    ctx.usable()?;
    pass()
}

/// File-backed memory (a memfd mapping): refused for a writable BO
/// (EOPNOTSUPP), taken for a read-only one.
fn file_backed_memory(ctx: &Ctx) -> TestResult {
    let mem = Memory::memfd(PAGES, ctx.page)?;
    mem.set(ctx.page, 0x21);
    ctx.expect_error(
        drm_xaccel_bo_create_userptr {
            userptr: mem.addr() as u64,
            size: mem.len as u64,
            ..Default::default()
        },
        Errno::OPNOTSUPP,
    )?;
    let bo = ctx.bo(&mem, true)?;
    ensure!(bo.size() == mem.len as u64, "size {}", bo.size());
    bo.close()?;
    pass()
}

/// Bad ranges and arguments, each with its errno and no state change:
/// unaligned address or size, zero size, wrap-around, unknown flags,
/// reserved fields, a hole, more than the system region.
fn bad_ranges(ctx: &Ctx) -> TestResult {
    let mem = Memory::anonymous(4, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    let page = ctx.page as u64;
    let ok = drm_xaccel_bo_create_userptr {
        userptr: mem.addr() as u64,
        size: 2 * page,
        ..Default::default()
    };
    let cases = [
        (
            drm_xaccel_bo_create_userptr {
                userptr: ok.userptr + 8,
                ..ok
            },
            Errno::INVAL,
        ),
        (
            drm_xaccel_bo_create_userptr {
                size: page + 1,
                ..ok
            },
            Errno::INVAL,
        ),
        (drm_xaccel_bo_create_userptr { size: 0, ..ok }, Errno::INVAL),
        (
            drm_xaccel_bo_create_userptr {
                userptr: u64::MAX - page + 1,
                size: 2 * page,
                ..ok
            },
            Errno::INVAL,
        ),
        (
            drm_xaccel_bo_create_userptr {
                flags: DRM_XACCEL_BO_USERPTR,
                ..ok
            },
            Errno::INVAL,
        ),
        (
            drm_xaccel_bo_create_userptr {
                flags: 1 << 31,
                ..ok
            },
            Errno::INVAL,
        ),
        (
            drm_xaccel_bo_create_userptr {
                reserved: [0, 1],
                ..ok
            },
            Errno::INVAL,
        ),
        (
            drm_xaccel_bo_create_userptr {
                size: ctx.system_size + page,
                ..ok
            },
            Errno::TOOBIG,
        ),
    ];
    for (args, want) in cases {
        ctx.expect_error(args, want)?;
    }
    // A hole: the last page of a range that is unmapped.
    let mut hole = Memory::anonymous(2, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    let addr = hole.addr() as u64;
    hole.unmap()?;
    ctx.expect_error(
        drm_xaccel_bo_create_userptr {
            userptr: addr,
            size: 2 * page,
            ..Default::default()
        },
        Errno::FAULT,
    )?;
    // Part mapped, part not (the last two pages of `mem` are unmapped): nothing stays pinned.
    // SAFETY: The last two pages of our own mapping; nothing refers into them.
    unsafe { munmap(mem.addr().add(2 * ctx.page).cast_mut().cast(), 2 * ctx.page) }?;
    ctx.expect_error(
        drm_xaccel_bo_create_userptr {
            userptr: mem.addr() as u64,
            size: 4 * page,
            ..Default::default()
        },
        Errno::FAULT,
    )?;
    pass()
}

/// QUERY used of the system region and fdinfo drm-total count a userptr BO
/// from creation to close.
fn accounting(ctx: &Ctx) -> TestResult {
    let (used, total) = (ctx.used()?, ctx.total()?);
    let mem = Memory::anonymous(PAGES, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    let size = (PAGES * ctx.page) as u64;
    let bo = ctx.bo(&mem, false)?;
    ctx.expect_used(used + size, "with the BO")?;
    ensure!(
        ctx.total()? == total + size,
        "fdinfo drm-total did not grow"
    );
    bo.close()?;
    ctx.expect_used(used, "after closing")?;
    ensure!(ctx.total()? == total, "fdinfo drm-total did not shrink");
    pass()
}

/// `VmPin` of /proc/self/status, in bytes.
fn pinned_bytes() -> Check<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmPin:") {
            let kib = rest.trim().trim_end_matches("kB").trim();
            return Ok(kib.parse::<u64>()? * 1024);
        }
    }
    fail!("/proc/self/status has no VmPin")
}

/// The pins are charged to the process's pinned memory (VmPin) until the
/// BO is freed, and limited by RLIMIT_MEMLOCK for a process without
/// CAP_IPC_LOCK (ENOMEM, nothing pinned).
fn pins_are_charged_and_limited(ctx: &Ctx) -> TestResult {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
    let before = pinned_bytes()?;
    let mem = Memory::anonymous(PAGES, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    let bo = ctx.bo(&mem, false)?;
    let with = pinned_bytes()?;
    ensure!(
        with == before + mem.len as u64,
        "VmPin {with} with the BO, {before} before"
    );
    bo.close()?;
    ensure!(pinned_bytes()? == before, "VmPin not back after close");
    // Without CAP_IPC_LOCK, at most one page may be pinned.
    let caps = capabilities(None)?;
    let limit = getrlimit(Resource::Memlock);
    let mut lowered = caps;
    lowered.effective.remove(CapabilitySet::IPC_LOCK);
    set_capabilities(None, lowered)?;
    let low = Rlimit {
        current: Some(before + ctx.page as u64),
        maximum: limit.maximum,
    };
    let result = setrlimit(Resource::Memlock, low).map(|()| {
        let mut args = drm_xaccel_bo_create_userptr {
            userptr: mem.addr() as u64,
            size: mem.len as u64,
            ..Default::default()
        };
        let refused = ctx.dev.bo_create_userptr_raw(&mut args);
        if refused.is_ok() {
            let _ = ctx.dev.gem_close_raw(args.handle);
        }
        refused
    });
    setrlimit(Resource::Memlock, limit)?;
    set_capabilities(None, caps)?;
    let refused = result?;
    ensure!(
        refused == Err(Errno::NOMEM),
        "over RLIMIT_MEMLOCK without CAP_IPC_LOCK: {}",
        result_name(&refused)
    );
    ensure!(pinned_bytes()? == before, "a refused pin stayed charged");
    ctx.usable()?;
    pass()
}

/// VM_BIND of a userptr BO, and its dma-buf: mmap() of the fd shows the
/// process's data, re-import gives the same handle.
fn vm_bind_and_export(ctx: &Ctx) -> TestResult {
    let mem = Memory::anonymous(PAGES, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    mem.set(7 * ctx.page + 3, 0x99);
    let bo = ctx.bo(&mem, false)?;
    let va = ctx.dev.device_info()?.va_start;
    let vm = Vm::create(&ctx.dev)?;
    let binding = vm.bind(&bo, 0, mem.len as u64, va, Access::ReadWrite)?;
    let fd = bo.export()?;
    let again = ctx.dev.prime_fd_to_handle_raw(fd.as_fd())?;
    ensure!(again == bo.handle(), "re-import gave {again}");
    // SAFETY: A new shared mapping of the dma-buf.
    let addr = unsafe {
        mmap(
            std::ptr::null_mut(),
            mem.len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            &fd,
            0,
        )
    }?;
    // SAFETY: Mapped just above, `mem.len` bytes.
    let seen = unsafe { addr.cast::<u8>().add(7 * ctx.page + 3).read_volatile() };
    // SAFETY: As above.
    unsafe { addr.cast::<u8>().add(11).write_volatile(0x66) };
    // SAFETY: The mapping made above.
    unsafe { munmap(addr, mem.len) }?;
    ensure!(seen == 0x99, "the dma-buf mapping reads {seen:#x}");
    ensure!(
        mem.get(11) == 0x66,
        "the process does not see the dma-buf's write"
    );
    binding.unbind()?;
    vm.destroy()?;
    drop(fd);
    bo.close()?;
    ctx.usable()?;
    pass()
}

/// A userptr BO in a SUBMIT BO list (written): the job runs and signals.
fn in_a_submit_bo_list(ctx: &Ctx) -> TestResult {
    let mem = Memory::anonymous(1, ctx.page, ProtFlags::READ | ProtFlags::WRITE)?;
    let bo = ctx.bo(&mem, false)?;
    // vaccel's NOP packet: opcode 0, flags 0, size 8.
    let nop = [0u8, 0, 0, 0, 8, 0, 0, 0];
    let cmds = Bo::create(&ctx.dev, nop.len() as u64, ctx.system)?;
    cmds.map()?.write(0, &nop);
    let context = Context::create(&ctx.dev, 0, Priority::Normal)?;
    let done = Syncobj::create(&ctx.dev, false)?;
    context.submit(
        &Submit::new(&cmds, 0, nop.len() as u64)
            .bo(&bo, DRM_XACCEL_SUBMIT_BO_WRITE)
            .signal(&done, 0),
    )?;
    // A hang guard, not a timing check.
    done.wait(0, Duration::from_secs(20))?;
    bo.close()?;
    pass()
}

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("userptr: the process and the BO see each other's writes",      shared_both_ways),
    ("munmap after create: the BO keeps the pages and the data",     munmap_after_create),
    ("read-only memory: writable -> EACCES, read-only BO rules",     read_only_memory),
    ("file-backed memory: writable -> EOPNOTSUPP, read-only works",  file_backed_memory),
    ("unaligned, empty, wrapping, holes, huge, flags -> errnos",     bad_ranges),
    ("QUERY used and fdinfo drm-total count a userptr BO",          accounting),
    ("pins charged to VmPin, limited by RLIMIT_MEMLOCK -> ENOMEM",   pins_are_charged_and_limited),
    ("VM_BIND and dma-buf export of a userptr BO",                   vm_bind_and_export),
    ("a userptr BO in a SUBMIT BO list",                             in_a_submit_bo_list),
];

fn main() -> std::process::ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
