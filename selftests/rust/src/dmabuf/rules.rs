// SPDX-License-Identifier: GPL-2.0-only
//! The rules of PRIME on xaccel: handles, lifetimes, accounting and every bad
//! input, each followed by a full cycle showing the device is still usable.

use std::os::fd::{AsFd, AsRawFd};

use xaccel::{Bo, Errno};
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Accel, Ctx, LEN};
use xaccel_selftests::peers::{self, SharedMap, Udmabuf, FLAGS};

/// Expects `result` to be the errno `want`.
fn expect<T>(what: &str, result: Result<T, Errno>, want: Errno) -> TestResult {
    match result {
        Err(errno) if errno == want => pass(),
        Err(errno) => fail!(
            "{what}: {}, expected {}",
            result_name(&Err(errno)),
            result_name(&Err(want))
        ),
        Ok(_) => fail!("{what}: success, expected {}", result_name(&Err(want))),
    }
}

/// Importing our own export gives the exporting handle back in its file, and
/// in another file of the device a handle to the same BO, charged nowhere new.
pub fn reimport_own_export(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let bo = a.bo()?;
    let used = a.used()?;
    let fd = bo.export()?;
    let again = a.dev.prime_fd_to_handle_raw(fd.as_fd())?;
    ensure!(
        again == bo.handle(),
        "same file: handle {again}, not {}",
        bo.handle()
    );
    let fd2 = bo.export()?;
    let again = a.dev.prime_fd_to_handle_raw(fd2.as_fd())?;
    ensure!(again == bo.handle(), "second export: handle {again}");
    let other = a.open_again()?;
    let handle = other.prime_fd_to_handle_raw(fd.as_fd())?;
    let ours = Accel::map(&a.dev, bo.handle())?;
    ours.fill(11);
    Accel::map(&other, handle)?.check(11)?;
    ensure!(a.used()? == used, "re-import changed QUERY used");
    let shared = a.memory(&other)?;
    ensure!(
        shared.total == LEN as u64,
        "the other file's drm-total is {}",
        shared.total
    );
    drop((ours, other));
    a.usable()?;
    pass()
}

/// Importing the same dma-buf twice in one file gives one handle.
pub fn import_twice(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let udmabuf = Udmabuf::new(LEN)?;
    let first = a.dev.prime_fd_to_handle_raw(udmabuf.dma_buf.as_fd())?;
    let second = a.dev.prime_fd_to_handle_raw(udmabuf.dma_buf.as_fd())?;
    ensure!(first == second, "handles {first} and {second}");
    a.dev.gem_close_raw(first)?;
    expect(
        "second GEM_CLOSE",
        a.dev.gem_close_raw(second),
        Errno::INVAL,
    )?;
    a.usable()?;
    pass()
}

/// An imported BO charges nothing to the device (QUERY used) and counts in
/// the file's fdinfo as shared memory of the system region until closed.
pub fn import_accounting(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let udmabuf = Udmabuf::new(LEN)?;
    let used = a.used()?;
    let before = a.memory(&a.dev)?;
    let bo = a.dev.import(udmabuf.dma_buf.as_fd())?;
    ensure!(a.used()? == used, "import changed QUERY used from {used}");
    let with = a.memory(&a.dev)?;
    ensure!(
        with.total == before.total + LEN as u64,
        "drm-total {} -> {}",
        before.total,
        with.total
    );
    let shared = |m: &xaccel::RegionMemory| m.shared;
    ensure!(
        shared(&with) == shared(&before) + LEN as u64,
        "drm-shared {:?} -> {:?}",
        before.shared,
        with.shared
    );
    bo.close()?;
    let after = a.memory(&a.dev)?;
    ensure!(
        after.total == before.total,
        "drm-total {} after close",
        after.total
    );
    pass()
}

/// The dma-buf keeps the memory after GEM_CLOSE (QUERY used included) until
/// its last file reference goes.
pub fn export_outlives_handle(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let used = a.used()?;
    let bo = a.bo()?;
    Accel::map(&a.dev, bo.handle())?.fill(12);
    let fd = bo.export()?;
    bo.close()?;
    ensure!(
        a.used()? == used + LEN as u64,
        "used {} with only the dma-buf",
        a.used()?
    );
    SharedMap::new(fd.as_fd(), LEN, 0)?.check(12)?;
    drop(fd);
    ensure!(
        a.used()? == used,
        "used {} after closing the dma-buf",
        a.used()?
    );
    a.usable()?;
    pass()
}

/// Exporting a closed handle, handle 0 or u32::MAX gives ENOENT.
pub fn export_bad_handles(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let bo = a.bo()?;
    let handle = bo.handle();
    bo.close()?;
    for h in [handle, 0, u32::MAX] {
        expect(
            &format!("export of handle {h}"),
            peers::export(a.dev.as_fd(), h, FLAGS),
            Errno::NOENT,
        )?;
    }
    a.usable()?;
    pass()
}

/// PRIME export takes DRM_CLOEXEC and DRM_RDWR only (EINVAL for any other
/// bit); with neither the dma-buf is read-only and not close-on-exec.
pub fn export_flags(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let bo = a.bo()?;
    for bit in (0..32).map(|b| 1u32 << b).filter(|bit| FLAGS & bit == 0) {
        expect(
            &format!("flags {bit:#x}"),
            peers::export(a.dev.as_fd(), bo.handle(), bit),
            Errno::INVAL,
        )?;
    }
    let fd = peers::export(a.dev.as_fd(), bo.handle(), 0)?;
    let fd_flags = rustix::io::fcntl_getfd(&fd)?;
    ensure!(
        !fd_flags.contains(rustix::io::FdFlags::CLOEXEC),
        "flags 0 gave a close-on-exec fd"
    );
    a.usable()?;
    pass()
}

/// Importing something that is not a dma-buf: EINVAL for other files (a
/// memfd, the device itself), EBADF for descriptors that are not open.
pub fn import_bad_fds(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let memfd = rustix::fs::memfd_create("not-a-dma-buf", rustix::fs::MemfdFlags::CLOEXEC)?;
    expect(
        "memfd",
        a.dev.prime_fd_to_handle_raw(memfd.as_fd()),
        Errno::INVAL,
    )?;
    expect(
        "the device's own fd",
        a.dev.prime_fd_to_handle_raw(a.dev.as_fd()),
        Errno::INVAL,
    )?;
    expect("fd -1", peers::import_raw(a.dev.as_fd(), -1), Errno::BADF)?;
    let closed = memfd.as_raw_fd();
    drop(memfd);
    expect(
        "a closed fd",
        peers::import_raw(a.dev.as_fd(), closed),
        Errno::BADF,
    )?;
    a.usable()?;
    pass()
}

/// An imported BO: MAP_PRIVATE is refused (EINVAL) like for every BO, and
/// exporting it again hands out the original dma-buf's memory.
pub fn imported_bo_rules(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let udmabuf = Udmabuf::new(LEN)?;
    udmabuf.memory.fill(13);
    let bo = a.dev.import(udmabuf.dma_buf.as_fd())?;
    // SAFETY: A new private mapping at an address the kernel picks replaces
    // nothing; if it wrongly succeeds it is unmapped right away.
    let private = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            LEN,
            rustix::mm::ProtFlags::READ,
            rustix::mm::MapFlags::PRIVATE,
            a.dev.as_fd(),
            bo.info().mmap_offset,
        )
    };
    if let Ok(addr) = private {
        // SAFETY: The mapping just made.
        let _ = unsafe { rustix::mm::munmap(addr, LEN) };
        fail!("MAP_PRIVATE of an imported BO succeeded");
    }
    expect("MAP_PRIVATE", private, Errno::INVAL)?;
    let again = bo.export()?;
    SharedMap::new(again.as_fd(), LEN, 0)?.check(13)?;
    drop(bo);
    a.usable()?;
    pass()
}

/// A BO created by another file cannot be exported through this one.
pub fn export_other_files_handle(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let other = a.open_again()?;
    let bo = Bo::create(&other, LEN as u64, a.system)?;
    // This file holds no handles now, so the number is only the other file's.
    let info = a
        .dev
        .bo_info(bo.handle())
        .map_err(|e| e.errno().unwrap_or(Errno::IO));
    expect("BO_INFO of another file's handle", info, Errno::NOENT)?;
    expect(
        "another file's handle",
        peers::export(a.dev.as_fd(), bo.handle(), FLAGS),
        Errno::NOENT,
    )?;
    drop(bo);
    a.usable()?;
    pass()
}
