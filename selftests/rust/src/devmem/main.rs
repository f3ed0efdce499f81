// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-devmem`: selftest of buffer objects in device memory (a
//! region of kind DEVICE, allocated by the core's buddy allocator), in TAP
//! version 13: create, mmap, write, read, close; zeroing of reused memory;
//! the E2BIG and ENOSPC limits (fragmentation included); alignment; QUERY
//! `used` and fdinfo; dma-buf export and VM_BIND of device BOs; bad inputs,
//! each with its errno.
//!
//! Usage: `xaccel-selftest-devmem [DEVICE]` (default `/dev/accel/accel0`);
//! fails on a device without a DEVICE region; on a region that is not
//! CPU-visible it checks that mmap() is refused and skips the mapping tests. Nothing
//! else may allocate on the device while it runs. Exits 0 only if every test
//! passed (or was skipped).

use std::path::Path;
use std::ptr::NonNull;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::drm_xaccel_bo_create;
use xaccel::{Access, Bo, Device, Errno, RegionFlags, RegionInfo, RegionKind, Vm};
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{self, pass, skip, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

type Check<T = ()> = Result<T, Failure>;

/// The device under test and its device-memory region.
struct Ctx {
    dev: Device,
    local: Option<RegionInfo>,
    /// Whether the DEVICE region is CPU-visible: the mapping tests need it.
    visible: bool,
    page: u64,
}

impl Ctx {
    fn new(path: &Path) -> Check<Self> {
        let dev = Device::open(path)?;
        let local = dev
            .regions()?
            .into_iter()
            .find(|r| r.kind == RegionKind::Device);
        let visible = local
            .as_ref()
            .is_some_and(|r| r.flags.contains(RegionFlags::CPU_VISIBLE));
        Ok(Self {
            dev,
            local,
            visible,
            page: rustix::param::page_size() as u64,
        })
    }

    /// The DEVICE region, or a failure naming the missing region.
    fn local(&self) -> Check<&RegionInfo> {
        match &self.local {
            Some(local) => Ok(local),
            None => fail!("the device has no DEVICE region"),
        }
    }

    /// QUERY REGIONS `used` of the DEVICE region.
    fn used(&self) -> Check<u64> {
        let id = self.local()?.id;
        match self.dev.regions()?.iter().find(|r| r.id == id) {
            Some(r) => Ok(r.used),
            None => fail!("region {id} disappeared"),
        }
    }

    fn expect_used(&self, want: u64, when: &str) -> Check {
        let used = self.used()?;
        ensure!(used == want, "{when}: QUERY used {used}, expected {want}");
        Ok(())
    }

    /// fdinfo `drm-total-` and `drm-resident-` of the DEVICE region.
    fn fdinfo(&self) -> Check<(u64, u64)> {
        let name = &self.local()?.name;
        let info = self.dev.fdinfo()?;
        match info.region(name) {
            Some(m) => Ok((m.total, m.resident.unwrap_or(u64::MAX))),
            None => fail!("fdinfo has no drm-total-{name}:\n{info:#?}"),
        }
    }

    /// Bytes of the region nothing uses now, in whole pages.
    fn room(&self) -> Check<u64> {
        Ok((self.local()?.size - self.used()?) / self.page * self.page)
    }

    fn create(&self, size: u64) -> Check<Bo<'_>> {
        Ok(Bo::create(&self.dev, size, self.local()?.id)?)
    }

    /// Skips a test that maps BOs if the region is not CPU-visible.
    fn needs_mapping(&self) -> Check<Option<TestResult>> {
        self.local()?;
        Ok((!self.visible).then(|| skip("the DEVICE region is not CPU-visible")))
    }

    /// A full cycle in the DEVICE region: create, map (if CPU-visible),
    /// write, read back, close; `used` must come back to where it was.
    fn usable(&self) -> Check {
        let before = self.used()?;
        let bo = self.create(self.page)?;
        if !self.visible {
            bo.close()?;
            return self.expect_used(before, "after a create-close cycle");
        }
        let map = bo.map()?;
        map.write(0, b"usable");
        let mut back = [0u8; 6];
        map.read(0, &mut back);
        ensure!(&back == b"usable", "read back {back:?}");
        drop(map);
        bo.close()?;
        self.expect_used(before, "after a create-map-close cycle")
    }

    /// Sends a one-page BO_CREATE in the DEVICE region with `edit` applied
    /// and expects `want`, the struct unchanged, `used` unchanged and the
    /// device usable.
    fn expect_create_error(
        &self,
        edit: impl FnOnce(&mut drm_xaccel_bo_create),
        want: Errno,
    ) -> Check {
        let used = self.used()?;
        let mut args = drm_xaccel_bo_create {
            size: self.page,
            region: self.local()?.id,
            ..Default::default()
        };
        edit(&mut args);
        let sent = args;
        let result = self.dev.bo_create_raw(&mut args);
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
}

/// `mmap()` of `len` bytes at `offset` with `flags`, unmapped at once.
fn try_mmap(dev: &Device, offset: u64, len: u64, flags: MapFlags) -> Result<(), Errno> {
    // SAFETY: A new mapping at an address the kernel picks replaces nothing.
    let addr = unsafe {
        mmap(
            std::ptr::null_mut(),
            len as usize,
            ProtFlags::READ | ProtFlags::WRITE,
            flags,
            dev,
            offset,
        )
    }?;
    let addr = NonNull::new(addr).expect("mmap returned a null mapping");
    // SAFETY: The mapping just made; nothing refers into it.
    let _ = unsafe { munmap(addr.as_ptr(), len as usize) };
    Ok(())
}

/// A 1-byte BO is one page of the region, with an mmap offset; data written
/// through one mapping reads back through another; closing returns `used`.
fn create_map_write_read(ctx: &Ctx) -> TestResult {
    if let Some(skipped) = ctx.needs_mapping()? {
        return skipped;
    }
    let local = ctx.local()?;
    let before = ctx.used()?;
    let bo = ctx.create(1)?;
    let info = ctx.dev.bo_info(bo.handle())?;
    ensure!(info.size == ctx.page, "BO_INFO size {}", info.size);
    ensure!(info.region == local.id, "BO_INFO region {}", info.region);
    ensure!(info.mmap_offset != 0, "no mmap offset");
    ctx.expect_used(before + ctx.page, "with a 1-byte BO")?;
    let big = ctx.create(16 * ctx.page)?;
    {
        let map = big.map()?;
        for page in 0..16 {
            map.write((page * ctx.page) as usize, &[page as u8 + 1; 8]);
        }
    }
    let map = big.map()?;
    for page in 0..16u64 {
        let mut back = [0u8; 8];
        map.read((page * ctx.page) as usize, &mut back);
        ensure!(
            back == [page as u8 + 1; 8],
            "page {page} read back {back:?}"
        );
    }
    drop(map);
    big.close()?;
    bo.close()?;
    ctx.expect_used(before, "after closing")?;
    pass()
}

/// A new BO reads as zero everywhere, although it reuses the pages a freed
/// BO filled with a pattern: it takes all of the region's free memory both
/// times, so it must get the same pages back.
fn reuse_is_zeroed(ctx: &Ctx) -> TestResult {
    if let Some(skipped) = ctx.needs_mapping()? {
        return skipped;
    }
    let room = ctx.room()?;
    ensure!(room >= ctx.page, "the region is full to begin with");
    {
        let old = ctx.create(room)?;
        let map = old.map()?;
        map.fill(0xA5);
        if let Some(at) = map.find_not(0xA5) {
            fail!("the pattern did not stick at byte {at}");
        }
    }
    let bo = ctx.create(room)?;
    let map = bo.map()?;
    if let Some(at) = map.find_not(0) {
        fail!(
            "byte {at} (page {}) of a reused BO is not zero",
            at as u64 / ctx.page
        );
    }
    pass()
}

/// More than the region, even by a page or through alignment rounding, is
/// E2BIG.
fn too_big(ctx: &Ctx) -> TestResult {
    let size = ctx.local()?.size;
    let page = ctx.page;
    ctx.expect_create_error(|a| a.size = size + 1, Errno::TOOBIG)?;
    ctx.expect_create_error(|a| a.size = u64::MAX, Errno::TOOBIG)?;
    // Rounded up to a multiple of the alignment, it no longer fits (only
    // possible if the region's size is not a multiple of that alignment).
    let align = (size / 2).next_power_of_two();
    if align < size && size % align != 0 {
        ctx.expect_create_error(
            |a| {
                a.size = size - page;
                a.alignment = align;
            },
            Errno::TOOBIG,
        )?;
    }
    pass()
}

/// A full region refuses a page with ENOSPC and takes it again after a close.
fn full_region(ctx: &Ctx) -> TestResult {
    let used = ctx.used()?;
    let room = ctx.room()?;
    let all = ctx.create(room)?;
    ctx.expect_used(used + room, "with the region full")?;
    let mut args = drm_xaccel_bo_create {
        size: ctx.page,
        region: ctx.local()?.id,
        ..Default::default()
    };
    let result = ctx.dev.bo_create_raw(&mut args);
    if result.is_ok() {
        let _ = ctx.dev.gem_close_raw(args.handle);
    }
    ensure!(
        result == Err(Errno::NOSPC),
        "got {}, expected ENOSPC",
        result_name(&result)
    );
    all.close()?;
    ctx.expect_used(used, "after closing")?;
    ctx.usable()?;
    pass()
}

/// Fragmentation: with every other 1 MiB block freed, half the region is
/// free but no 2 MiB-aligned block is, so an aligned 2 MiB BO gets ENOSPC;
/// an unaligned one fits, unless the region's BOs are contiguous (they have
/// a device address: a PCI BAR region), which no 2 MiB hole allows.
fn fragmented(ctx: &Ctx) -> TestResult {
    const MIB: u64 = 1 << 20;
    ensure!(ctx.used()? == 0, "the region is not empty to begin with");
    let count = ctx.local()?.size / MIB;
    ensure!(count >= 4, "the region is smaller than 4 MiB");
    let mut blocks = Vec::new();
    for _ in 0..count {
        blocks.push(Bo::create_aligned(&ctx.dev, MIB, ctx.local()?.id, MIB)?);
    }
    let kept: Vec<Bo<'_>> = blocks
        .into_iter()
        .enumerate()
        .filter_map(|(i, bo)| (i % 2 == 0).then_some(bo))
        .collect();
    ctx.expect_used(kept.len() as u64 * MIB, "with every other MiB freed")?;
    ctx.expect_create_error(
        |a| {
            a.size = 2 * MIB;
            a.alignment = 2 * MIB;
        },
        Errno::NOSPC,
    )?;
    if kept[0].device_addr().is_some() {
        ctx.expect_create_error(|a| a.size = 2 * MIB, Errno::NOSPC)?;
    } else {
        let scattered = ctx.create(2 * MIB)?;
        drop(scattered);
    }
    drop(kept);
    ctx.expect_used(0, "after closing every BO")?;
    pass()
}

/// A device BO's size is rounded up to its alignment, and counted so.
fn alignment_rounds_the_size(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let bo = Bo::create_aligned(&ctx.dev, 3 * ctx.page, ctx.local()?.id, 2 * ctx.page)?;
    ensure!(
        bo.size() == 4 * ctx.page,
        "size {} for 3 pages aligned to 2",
        bo.size()
    );
    ctx.expect_used(before + 4 * ctx.page, "with the aligned BO")?;
    if ctx.visible {
        // The rounded size is all mappable.
        let map = bo.map()?;
        map.write((4 * ctx.page - 1) as usize, &[7]);
    }
    bo.close()?;
    ctx.expect_used(before, "after closing")?;
    pass()
}

/// fdinfo drm-total and drm-resident of the region count a device BO whole
/// from creation (its memory is allocated then) until it is closed.
fn fdinfo_counts(ctx: &Ctx) -> TestResult {
    let (total, resident) = ctx.fdinfo()?;
    ensure!(
        resident != u64::MAX,
        "fdinfo has no drm-resident for the region"
    );
    let size = 32 * ctx.page;
    let bo = ctx.create(size)?;
    let (t, r) = ctx.fdinfo()?;
    ensure!(
        t == total + size,
        "drm-total {t}, expected {}",
        total + size
    );
    ensure!(
        r == resident + size,
        "drm-resident {r}, expected {}",
        resident + size
    );
    bo.close()?;
    let (t, r) = ctx.fdinfo()?;
    ensure!(
        (t, r) == (total, resident),
        "after close: total {t}, resident {r}"
    );
    pass()
}

/// MAP_PRIVATE and a mapping longer than the BO get EINVAL.
fn bad_mappings(ctx: &Ctx) -> TestResult {
    if let Some(skipped) = ctx.needs_mapping()? {
        return skipped;
    }
    let bo = ctx.create(ctx.page)?;
    let offset = bo.info().mmap_offset;
    for (flags, len, what) in [
        (MapFlags::PRIVATE, ctx.page, "MAP_PRIVATE"),
        (MapFlags::SHARED, 2 * ctx.page, "two pages of a one-page BO"),
    ] {
        let result = try_mmap(&ctx.dev, offset, len, flags);
        ensure!(
            result == Err(Errno::INVAL),
            "{what}: {}",
            result_name(&result)
        );
    }
    bo.close()?;
    ctx.usable()?;
    pass()
}

/// A BO of a region that is not CPU-visible cannot be mapped: ENODEV.
fn hidden_refuses_mmap(ctx: &Ctx) -> TestResult {
    ctx.local()?;
    if ctx.visible {
        return skip("the DEVICE region is CPU-visible");
    }
    let before = ctx.used()?;
    let bo = ctx.create(2 * ctx.page)?;
    let offset = ctx.dev.bo_info(bo.handle())?.mmap_offset;
    let result = try_mmap(&ctx.dev, offset, 2 * ctx.page, MapFlags::SHARED);
    ensure!(
        result == Err(Errno::NODEV),
        "mmap: {}",
        result_name(&result)
    );
    ctx.expect_used(before + 2 * ctx.page, "with the BO")?;
    bo.close()?;
    ctx.usable()?;
    pass()
}

/// A device BO exports as a dma-buf: re-importing it gives the same handle,
/// and (in a CPU-visible region) mmap() of the dma-buf shows what the BO's
/// mapping wrote, and the other way round. Closing the handle leaves the
/// memory with the dma-buf until it is closed.
fn export_maps_the_memory(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let bo = ctx.create(4 * ctx.page)?;
    let fd = bo.export()?;
    let again = ctx
        .dev
        .prime_fd_to_handle_raw(std::os::fd::AsFd::as_fd(&fd))?;
    ensure!(
        again == bo.handle(),
        "re-import gave {again}, not {}",
        bo.handle()
    );
    if ctx.visible {
        let map = bo.map()?;
        map.write(3 * ctx.page as usize + 5, b"device");
        let len = 4 * ctx.page as usize;
        // SAFETY: A new shared mapping of the dma-buf at an address the kernel picks.
        let addr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )
        }?;
        // SAFETY: The mapping is `len` bytes long; byte 3 pages + 5 is inside it.
        let theirs = unsafe { std::slice::from_raw_parts_mut(addr.cast::<u8>(), len) };
        let seen = theirs[3 * ctx.page as usize + 5..][..6] == *b"device";
        theirs[7] = 0x42;
        let mut back = [0u8; 1];
        map.read(7, &mut back);
        // SAFETY: The mapping made above; `theirs` is not used afterwards.
        unsafe { munmap(addr, len) }?;
        ensure!(seen, "the dma-buf mapping does not show the BO's data");
        ensure!(
            back == [0x42],
            "the BO does not see the dma-buf mapping's write"
        );
    }
    bo.close()?;
    ctx.expect_used(
        before + 4 * ctx.page,
        "with only the dma-buf holding the BO",
    )?;
    drop(fd);
    ctx.expect_used(before, "after closing the dma-buf")?;
    ctx.usable()?;
    pass()
}

/// VM_BIND of a device BO maps it (through the backend's MMU on MMU devices,
/// with the DMA addresses of its blocks); overlapping binds get EEXIST, the
/// unbind works, and the mapping holds the BO after its handle is closed.
fn vm_bind_device_bo(ctx: &Ctx) -> TestResult {
    let va = ctx.dev.device_info()?.va_start;
    let before = ctx.used()?;
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.create(8 * ctx.page)?;
    let whole = vm.bind(&bo, 0, 8 * ctx.page, va, Access::ReadWrite)?;
    let again = vm
        .bind(&bo, 0, ctx.page, va + 7 * ctx.page, Access::ReadOnly)
        .map(|b| b.forget());
    ensure!(
        again.as_ref().err().and_then(|e| e.errno()) == Some(Errno::EXIST),
        "an overlapping bind: {again:?}"
    );
    let part = vm.bind(
        &bo,
        2 * ctx.page,
        2 * ctx.page,
        va + 8 * ctx.page,
        Access::ReadOnly,
    )?;
    bo.close()?;
    ctx.expect_used(before + 8 * ctx.page, "with the BO only bound")?;
    whole.unbind()?;
    part.unbind()?;
    ctx.expect_used(before, "after unbinding")?;
    vm.destroy()?;
    ctx.usable()?;
    pass()
}

/// Bad alignments and flags in the DEVICE region: EINVAL each.
fn bad_inputs(ctx: &Ctx) -> TestResult {
    let page = ctx.page;
    ctx.expect_create_error(|a| a.size = 0, Errno::INVAL)?;
    ctx.expect_create_error(|a| a.alignment = page / 2, Errno::INVAL)?;
    ctx.expect_create_error(
        |a| {
            a.size = 4 * page;
            a.alignment = 3 * page;
        },
        Errno::INVAL,
    )?;
    ctx.expect_create_error(|a| a.alignment = 2 * page, Errno::INVAL)?;
    ctx.expect_create_error(|a| a.flags = 1, Errno::INVAL)?;
    ctx.expect_create_error(|a| a.reserved[1] = 1, Errno::INVAL)?;
    pass()
}

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("device BO: create, BO_INFO, map, write, read back, close",   create_map_write_read),
    ("device BO reusing a freed BO's pages reads as zero",          reuse_is_zeroed),
    ("beyond the region (size, rounding) -> E2BIG",                 too_big),
    ("full region -> ENOSPC, room again after close",               full_region),
    ("fragmented region: aligned 2 MiB -> ENOSPC, unaligned fits",  fragmented),
    ("alignment rounds a device BO's size up, counted in used",     alignment_rounds_the_size),
    ("fdinfo drm-total/resident of the region count device BOs",    fdinfo_counts),
    ("MAP_PRIVATE and oversized mappings -> EINVAL",                bad_mappings),
    ("a region that is not CPU-visible: mmap -> ENODEV",            hidden_refuses_mmap),
    ("device BO exported: re-import, dma-buf mmap both ways, lifetime", export_maps_the_memory),
    ("VM_BIND of a device BO: bind, EEXIST, unbind, holds the BO",  vm_bind_device_bo),
    ("bad sizes, alignments, flags, reserved -> EINVAL",            bad_inputs),
];

fn main() -> std::process::ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
