// SPDX-License-Identifier: GPL-2.0-only
//! CPU mappings made with raw `mmap()`: which mappings the kernel accepts,
//! who may map a BO, and that a mapping keeps its BO alive.

use std::os::fd::AsFd;
use std::ptr::NonNull;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::drm_xaccel_bo_create;
use xaccel::{Bo, Errno};
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Check, Ctx};

/// A mapping made with raw `mmap()`, unmapped on drop.
pub struct RawMap {
    ptr: NonNull<u8>,
    len: usize,
}

impl RawMap {
    /// `mmap(NULL, len, READ | WRITE, flags, fd, offset)`.
    pub fn new(fd: impl AsFd, offset: u64, len: usize, flags: MapFlags) -> Result<Self, Errno> {
        // SAFETY: A new mapping at an address the kernel picks replaces nothing.
        let addr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                flags,
                fd,
                offset,
            )
        }?;
        let ptr = NonNull::new(addr.cast()).expect("mmap returned a null mapping");
        Ok(Self { ptr, len })
    }

    /// Writes `byte` at `offset`.
    pub fn poke(&self, offset: usize, byte: u8) {
        assert!(offset < self.len);
        // SAFETY: In bounds of a live, writable mapping.
        unsafe { self.ptr.as_ptr().add(offset).write_volatile(byte) };
    }

    /// Reads the byte at `offset`.
    pub fn peek(&self, offset: usize) -> u8 {
        assert!(offset < self.len);
        // SAFETY: In bounds of a live, readable mapping.
        unsafe { self.ptr.as_ptr().add(offset).read_volatile() }
    }
}

impl Drop for RawMap {
    fn drop(&mut self) {
        // SAFETY: The mapping made in `new`; nothing refers into it.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Expects `mmap()` of `bo` with these parameters to fail with `want`.
fn expect_mmap_error(
    ctx: &Ctx,
    fd: impl AsFd,
    offset: u64,
    len: u64,
    flags: MapFlags,
    want: Errno,
) -> Check {
    match RawMap::new(fd, offset, len as usize, flags) {
        Ok(_) => fail!("mmap succeeded, expected {}", errno_name(want)),
        Err(errno) => ensure!(
            errno == want,
            "mmap failed with {}, expected {}",
            errno_name(errno),
            errno_name(want)
        ),
    }
    ctx.usable()
}

/// The first page of a two-page BO can be mapped alone.
pub fn short_mapping(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, 2 * ctx.page, ctx.system.id)?;
    let map = RawMap::new(
        &ctx.dev,
        bo.info().mmap_offset,
        ctx.page as usize,
        MapFlags::SHARED,
    )?;
    map.poke(0, 0x42);
    let full = bo.map()?;
    let mut byte = [0u8];
    full.read(0, &mut byte);
    ensure!(byte[0] == 0x42, "the full mapping reads {:#x}", byte[0]);
    pass()
}

/// Two pages of a one-page BO.
pub fn beyond_size(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, ctx.page, ctx.system.id)?;
    let offset = bo.info().mmap_offset;
    expect_mmap_error(
        ctx,
        &ctx.dev,
        offset,
        2 * ctx.page,
        MapFlags::SHARED,
        Errno::INVAL,
    )?;
    pass()
}

/// The second page of a two-page BO, at the offset plus a page.
pub fn inside_offset(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, 2 * ctx.page, ctx.system.id)?;
    let offset = bo.info().mmap_offset + ctx.page;
    expect_mmap_error(
        ctx,
        &ctx.dev,
        offset,
        ctx.page,
        MapFlags::SHARED,
        Errno::INVAL,
    )?;
    pass()
}

/// Copy-on-write mappings of a BO make no sense and are refused.
pub fn private_mapping(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, ctx.page, ctx.system.id)?;
    let offset = bo.info().mmap_offset;
    expect_mmap_error(
        ctx,
        &ctx.dev,
        offset,
        ctx.page,
        MapFlags::PRIVATE,
        Errno::INVAL,
    )?;
    pass()
}

/// After GEM_CLOSE the mapping still works and the BO is still counted;
/// unmapping frees it.
pub fn outlives_handle(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let mut args = drm_xaccel_bo_create {
        size: 4 * ctx.page,
        region: ctx.system.id,
        ..Default::default()
    };
    ctx.dev.bo_create_raw(&mut args)?;
    let info = ctx.dev.bo_info(args.handle)?;
    let map = RawMap::new(
        &ctx.dev,
        info.mmap_offset,
        info.size as usize,
        MapFlags::SHARED,
    )?;
    map.poke(0, 0x11);
    ctx.dev.gem_close_raw(args.handle)?;
    let gone = ctx.dev.bo_info(args.handle);
    ensure!(
        gone.as_ref().err().and_then(|e| e.errno()) == Some(Errno::NOENT),
        "BO_INFO after GEM_CLOSE: {gone:?}"
    );
    ctx.expect_used(before + info.size, "mapped after GEM_CLOSE")?;
    map.poke(info.size as usize - 1, 0x22);
    ensure!(map.peek(0) == 0x11, "the mapping lost its contents");
    drop(map);
    ctx.expect_used(before, "after the last munmap")?;
    pass()
}

/// A second open file of the device cannot map the first file's BO, even
/// knowing its offset.
pub fn other_file(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, ctx.page, ctx.system.id)?;
    let other = ctx.open_again()?;
    let offset = bo.info().mmap_offset;
    let result = RawMap::new(&other, offset, ctx.page as usize, MapFlags::SHARED).map(|_| ());
    ensure!(
        result == Err(Errno::ACCESS),
        "mmap through another file: {}, expected EACCES",
        result_name(&result)
    );
    ctx.usable()?;
    pass()
}
