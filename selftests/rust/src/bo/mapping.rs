// SPDX-License-Identifier: GPL-2.0-only
//! CPU mappings made with raw `mmap()`: which mappings the kernel accepts,
//! who may map a BO, and that a mapping keeps its BO alive.

use std::os::fd::AsFd;
use std::ptr::NonNull;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::drm_xaccel_bo_create;
use xaccel::{Bo, Errno};
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{pass, Failure, TestResult};
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

/// This process's minor page faults so far (`/proc/self/stat`, field 10).
fn minor_faults() -> Result<u64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| e.to_string())?;
    // The fields after the command name (which may hold spaces) start with field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("no command name in /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    fields
        .get(10 - 3)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| "no minflt in /proc/self/stat".into())
}

/// Pages of the fault-around tests' BO.
const AROUND_PAGES: usize = 64;

/// A BO of [`AROUND_PAGES`] pages and a shared mapping of all of it.
fn around_bo(ctx: &Ctx) -> Result<(Bo<'_>, RawMap), Failure> {
    let page = ctx.page as usize;
    let bo = Bo::create(&ctx.dev, (AROUND_PAGES * page) as u64, ctx.system.id)?;
    let map = RawMap::new(
        &ctx.dev,
        bo.info().mmap_offset,
        AROUND_PAGES * page,
        MapFlags::SHARED,
    )?;
    Ok((bo, map))
}

/// Writes a distinct byte in each of `pages` pages of `map`; returns the minor faults taken.
fn write_pages(map: &RawMap, page: usize, pages: usize) -> Result<u64, String> {
    let before = minor_faults()?;
    for i in 0..pages {
        map.poke(i * page, i as u8 + 1);
    }
    Ok(minor_faults()? - before)
}

/// Reads back what [`write_pages`] wrote, through a second mapping of `bo`.
fn expect_pages_written(bo: &Bo, page: usize, pages: usize) -> Check {
    let other = bo.map()?;
    for i in 0..pages {
        let mut byte = [0u8];
        other.read(i * page, &mut byte);
        ensure!(
            byte[0] == i as u8 + 1,
            "page {i} reads {:#x} through another mapping, wrote {:#x}",
            byte[0],
            i as u8 + 1
        );
    }
    Ok(())
}

/// A write fault maps up to 16 pages at once, writable: writing 64 pages in order takes about
/// 4 faults, not one or two per page (the shmem helper's), and lands in the right pages.
pub fn write_fault_maps_around(ctx: &Ctx) -> TestResult {
    let page = ctx.page as usize;
    let (bo, map) = around_bo(ctx)?;
    let faults = write_pages(&map, page, AROUND_PAGES)?;
    // 4 faults of 16 pages, plus a few for the process's own memory (reading /proc).
    ensure!(
        faults <= 12,
        "writing {AROUND_PAGES} pages took {faults} faults"
    );
    expect_pages_written(&bo, page, AROUND_PAGES)?;
    pass()
}

/// A read fault maps the pages around read-only: the first write to each still faults (the
/// shmem helper's `pfn_mkwrite`, which marks the page dirty) and lands.
pub fn read_fault_maps_around_read_only(ctx: &Ctx) -> TestResult {
    let page = ctx.page as usize;
    let (bo, map) = around_bo(ctx)?;
    let before = minor_faults()?;
    let zeros = (0..AROUND_PAGES).all(|i| map.peek(i * page) == 0);
    let read_faults = minor_faults()? - before;
    ensure!(zeros, "a fresh BO does not read as zero");
    ensure!(
        read_faults <= 12,
        "reading {AROUND_PAGES} pages took {read_faults} faults"
    );
    let write_faults = write_pages(&map, page, AROUND_PAGES)?;
    ensure!(
        write_faults >= AROUND_PAGES as u64,
        "writing {AROUND_PAGES} read-mapped pages took {write_faults} faults: some were writable"
    );
    expect_pages_written(&bo, page, AROUND_PAGES)?;
    pass()
}

/// Fault-around stops at the end of a mapping shorter than the BO: a 3-page mapping of a
/// 64-page BO is written in full, and the rest of the BO stays zero.
pub fn fault_around_stops_at_mapping_end(ctx: &Ctx) -> TestResult {
    let page = ctx.page as usize;
    let bo = Bo::create(&ctx.dev, (AROUND_PAGES * page) as u64, ctx.system.id)?;
    let map = RawMap::new(&ctx.dev, bo.info().mmap_offset, 3 * page, MapFlags::SHARED)?;
    write_pages(&map, page, 3)?;
    expect_pages_written(&bo, page, 3)?;
    let other = bo.map()?;
    for i in 3..AROUND_PAGES {
        let mut byte = [0u8];
        other.read(i * page, &mut byte);
        ensure!(
            byte[0] == 0,
            "page {i}, beyond the short mapping, reads {:#x}",
            byte[0]
        );
    }
    pass()
}
