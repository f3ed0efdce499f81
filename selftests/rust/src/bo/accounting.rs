// SPDX-License-Identifier: GPL-2.0-only
//! Memory accounting: QUERY REGIONS `used` per device, and the per-file
//! keys of `/proc/self/fdinfo` (`drm-total-<region>`, `drm-shared-<region>`,
//! `drm-resident-<region>`).

use std::os::fd::AsFd;

use rustix::ioctl::{ioctl, opcode, Opcode, Updater};
use xaccel::{Bo, Errno};
use xaccel_selftests::tap::{pass, skip, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::Ctx;

/// Creating BOs raises `used` by their rounded sizes; closing lowers it.
pub fn query_used(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let a = Bo::create(&ctx.dev, 1, ctx.system.id)?;
    ctx.expect_used(before + ctx.page, "with a 1-byte BO")?;
    let b = Bo::create(&ctx.dev, 5 * ctx.page + 1, ctx.system.id)?;
    ctx.expect_used(before + 7 * ctx.page, "with 1 + 6 pages")?;
    a.close()?;
    ctx.expect_used(before + 6 * ctx.page, "after closing the first")?;
    b.close()?;
    ctx.expect_used(before, "after closing both")?;
    pass()
}

/// `used` is per device: BOs of two open files add up.
pub fn used_all_files(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let other = ctx.open_again()?;
    let mine = Bo::create(&ctx.dev, 2 * ctx.page, ctx.system.id)?;
    let theirs = Bo::create(&other, 3 * ctx.page, ctx.system.id)?;
    ctx.expect_used(before + 5 * ctx.page, "with BOs in two files")?;
    drop(theirs);
    drop(mine);
    ctx.expect_used(before, "after closing both")?;
    pass()
}

/// fdinfo has the three memory keys for every region, in region order.
pub fn fdinfo_regions(ctx: &Ctx) -> TestResult {
    let info = ctx.dev.fdinfo()?;
    let names: Vec<&str> = info.regions.iter().map(|r| r.region.as_str()).collect();
    let want: Vec<&str> = ctx.regions.iter().map(|r| r.name.as_str()).collect();
    ensure!(
        names == want,
        "fdinfo regions {names:?}, QUERY regions {want:?}"
    );
    let backend = ctx.dev.device_info()?.backend;
    ensure!(info.driver == backend, "drm-driver {:?}", info.driver);
    ensure!(info.client_id.is_some(), "no drm-client-id");
    if let Some(r) = info.regions.iter().find(|r| r.resident.is_none()) {
        fail!("no drm-resident-{}", r.region);
    }
    pass()
}

/// drm-total grows with BOs and goes back when they close; drm-resident
/// stays 0 until a BO is mapped and touched, stays up after unmapping (the
/// pages hold the contents), and goes back on close.
pub fn fdinfo_total(ctx: &Ctx) -> TestResult {
    let total = ctx.total(&ctx.dev)?;
    let resident = ctx.resident(&ctx.dev)?;
    let size = 64 * ctx.page;
    let bo = Bo::create(&ctx.dev, size, ctx.system.id)?;
    let now = ctx.total(&ctx.dev)?;
    ensure!(
        now == total + size,
        "drm-total {now}, expected {}",
        total + size
    );
    let now = ctx.resident(&ctx.dev)?;
    ensure!(
        now == resident,
        "resident {now} before the BO was used, was {resident}"
    );
    {
        let map = bo.map()?;
        map.touch_pages(ctx.page as usize, 1);
        let now = ctx.resident(&ctx.dev)?;
        ensure!(
            now == resident + size,
            "resident {now} while mapped and touched"
        );
    }
    let now = ctx.resident(&ctx.dev)?;
    ensure!(now == resident + size, "resident {now} after unmapping");
    bo.close()?;
    let (now_total, now_resident) = (ctx.total(&ctx.dev)?, ctx.resident(&ctx.dev)?);
    ensure!(
        now_total == total && now_resident == resident,
        "after close: total {now_total} (was {total}), resident {now_resident} (was {resident})"
    );
    pass()
}

/// Another open file of the device sees none of this file's BOs in its
/// fdinfo, and this file none of its.
pub fn fdinfo_per_file(ctx: &Ctx) -> TestResult {
    let other = ctx.open_again()?;
    let (mine0, theirs0) = (ctx.total(&ctx.dev)?, ctx.total(&other)?);
    let bo = Bo::create(&ctx.dev, 8 * ctx.page, ctx.system.id)?;
    let theirs = ctx.total(&other)?;
    ensure!(
        theirs == theirs0,
        "the other file's total moved to {theirs}"
    );
    let bo2 = Bo::create(&other, ctx.page, ctx.system.id)?;
    let mine = ctx.total(&ctx.dev)?;
    ensure!(
        mine == mine0 + 8 * ctx.page,
        "this file's total {mine}, expected {}",
        mine0 + 8 * ctx.page
    );
    let theirs = ctx.total(&other)?;
    ensure!(
        theirs == theirs0 + ctx.page,
        "the other file's total {theirs}"
    );
    let a = ctx.dev.fdinfo()?.client_id;
    let b = other.fdinfo()?.client_id;
    ensure!(a != b, "both files have drm-client-id {a:?}");
    drop((bo, bo2));
    pass()
}

/// `struct drm_gem_flink` from `drm.h`.
#[repr(C)]
#[derive(Debug, Default)]
struct DrmGemFlink {
    handle: u32,
    name: u32,
}

/// `struct drm_gem_open` from `drm.h`.
#[repr(C)]
#[derive(Debug, Default)]
struct DrmGemOpen {
    name: u32,
    handle: u32,
    size: u64,
}

/// `DRM_IOCTL_GEM_FLINK`: `DRM_IOWR(0x0a, struct drm_gem_flink)`.
const GEM_FLINK: Opcode = opcode::read_write::<DrmGemFlink>(b'd', 0x0a);
/// `DRM_IOCTL_GEM_OPEN`: `DRM_IOWR(0x0b, struct drm_gem_open)`.
const GEM_OPEN: Opcode = opcode::read_write::<DrmGemOpen>(b'd', 0x0b);

/// A BO another file opened through a flink name (DRM's global names, for
/// authenticated clients such as root) counts in both files' drm-total and
/// drm-shared, and once in the region's `used`; closing the second handle
/// makes it private again.
pub fn fdinfo_shared(ctx: &Ctx) -> TestResult {
    let other = ctx.open_again()?;
    let used = ctx.used()?;
    let (mine0, theirs0) = (ctx.total(&ctx.dev)?, ctx.total(&other)?);
    let size = 4 * ctx.page;
    let bo = Bo::create(&ctx.dev, size, ctx.system.id)?;
    let mut flink = DrmGemFlink {
        handle: bo.handle(),
        name: 0,
    };
    // SAFETY: GEM_FLINK takes a drm_gem_flink, which holds no pointers.
    match unsafe { ioctl(ctx.dev.as_fd(), Updater::<GEM_FLINK, _>::new(&mut flink)) } {
        Ok(()) => {}
        Err(Errno::ACCESS | Errno::PERM) => {
            return skip("GEM_FLINK needs an authenticated (root) client")
        }
        Err(e) => fail!("GEM_FLINK: {e}"),
    }
    let mut open = DrmGemOpen {
        name: flink.name,
        ..Default::default()
    };
    // SAFETY: GEM_OPEN takes a drm_gem_open, which holds no pointers.
    unsafe { ioctl(other.as_fd(), Updater::<GEM_OPEN, _>::new(&mut open)) }?;
    ensure!(open.size == size, "GEM_OPEN size {}", open.size);
    ctx.expect_used(used + size, "with one BO in two files")?;
    for (who, dev, base) in [("this", &ctx.dev, mine0), ("the other", &other, theirs0)] {
        let m = ctx.region_memory(dev)?;
        ensure!(
            m.total == base + size && m.shared == size,
            "{who} file: total {} (was {base}), shared {}, expected +{size} and {size}",
            m.total,
            m.shared
        );
    }
    other.gem_close_raw(open.handle)?;
    let m = ctx.region_memory(&ctx.dev)?;
    ensure!(
        m.total == mine0 + size && m.shared == 0,
        "after the other file closed its handle: total {}, shared {}",
        m.total,
        m.shared
    );
    let theirs = ctx.total(&other)?;
    ensure!(
        theirs == theirs0,
        "the other file's total stayed at {theirs}"
    );
    pass()
}
