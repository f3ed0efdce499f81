// SPDX-License-Identifier: GPL-2.0-only
//! Malformed BO_CREATE and BO_INFO requests and the errno each must get.
//!
//! Every case starts from a valid request and changes one thing. After the
//! failed call the struct the kernel copied back must equal what was sent,
//! the region's `used` and this file's fdinfo total must not have moved, and
//! the device must still do a full create-map-write-read-close cycle.

use xaccel::uapi::{drm_xaccel_bo_create, drm_xaccel_bo_info};
use xaccel::{Bo, Errno};
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Check, Ctx};

/// Sends a one-page BO_CREATE in the system region with `edit` applied and
/// expects `want`.
fn expect_create_error(
    ctx: &Ctx,
    edit: impl FnOnce(&Ctx, &mut drm_xaccel_bo_create),
    want: Errno,
) -> Check {
    let (used, total) = (ctx.used()?, ctx.total(&ctx.dev)?);
    let mut args = drm_xaccel_bo_create {
        size: ctx.page,
        region: ctx.system.id,
        ..Default::default()
    };
    edit(ctx, &mut args);
    let sent = args;
    let result = ctx.dev.bo_create_raw(&mut args);
    if result.is_ok() {
        // Do not leak what was wrongly created.
        let _ = ctx.dev.gem_close_raw(args.handle);
    }
    ensure!(
        result == Err(want),
        "got {}, expected {}\nsent {sent:?}",
        result_name(&result),
        errno_name(want)
    );
    ensure!(
        args == sent,
        "the kernel changed the struct:\nsent {sent:?}\n got {args:?}"
    );
    ctx.expect_used(used, "after the failed call")?;
    let now = ctx.total(&ctx.dev)?;
    ensure!(now == total, "fdinfo total moved from {total} to {now}");
    ctx.usable()
}

/// A zero size.
pub fn size_zero(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.size = 0, Errno::INVAL)?;
    pass()
}

/// A size that overflows when rounded up to pages.
pub fn size_max(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.size = u64::MAX, Errno::TOOBIG)?;
    pass()
}

/// The largest page-aligned size.
pub fn size_max_page(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.size = u64::MAX - 4095, Errno::TOOBIG)?;
    pass()
}

/// One byte more than the region holds.
pub fn size_beyond_region(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |c, a| a.size = c.system.size + 1, Errno::TOOBIG)?;
    pass()
}

/// Fills the region's budget with one BO: one more page gets ENOSPC (and
/// changes nothing); after closing the big BO the page fits.
pub fn budget(ctx: &Ctx) -> TestResult {
    let used = ctx.used()?;
    let room = (ctx.system.size - used) / ctx.page * ctx.page;
    ensure!(room >= ctx.page, "the region has no room to start with");
    let big = Bo::create(&ctx.dev, room, ctx.system.id)?;
    ctx.expect_used(used + room, "with the region full")?;
    let mut args = drm_xaccel_bo_create {
        size: ctx.page,
        region: ctx.system.id,
        ..Default::default()
    };
    let sent = args;
    let result = ctx.dev.bo_create_raw(&mut args);
    if result.is_ok() {
        let _ = ctx.dev.gem_close_raw(args.handle);
        fail!("a page beyond the budget was created");
    }
    ensure!(
        result == Err(Errno::NOSPC),
        "beyond the budget: {}, expected ENOSPC",
        result_name(&result)
    );
    ensure!(args == sent, "the kernel changed the struct: {args:?}");
    ctx.expect_used(used + room, "after the refused page")?;
    big.close()?;
    ctx.expect_used(used, "after closing the big BO")?;
    ctx.usable()?;
    pass()
}

/// An alignment that is not a power of two.
pub fn align_not_power(ctx: &Ctx) -> TestResult {
    expect_create_error(
        ctx,
        |c, a| {
            a.size = 4 * c.page;
            a.alignment = 3 * c.page;
        },
        Errno::INVAL,
    )?;
    pass()
}

/// A power-of-two alignment below the page size, and alignment 1.
pub fn align_small(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |c, a| a.alignment = c.page / 2, Errno::INVAL)?;
    expect_create_error(ctx, |_, a| a.alignment = 1, Errno::INVAL)?;
    pass()
}

/// An alignment above the (rounded) size.
pub fn align_big(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |c, a| a.alignment = 2 * c.page, Errno::INVAL)?;
    pass()
}

/// Flags bit 0 is not defined.
pub fn flags_bit0(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.flags = 1, Errno::INVAL)?;
    pass()
}

/// Flags bit 31 is not defined.
pub fn flags_bit31(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.flags = 1 << 31, Errno::INVAL)?;
    pass()
}

/// `pad` must be zero.
pub fn pad(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.pad = 1, Errno::INVAL)?;
    pass()
}

/// `reserved[0]` must be zero.
pub fn reserved0(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.reserved[0] = 1, Errno::INVAL)?;
    pass()
}

/// `reserved[1]` must be zero.
pub fn reserved1(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.reserved[1] = 1 << 63, Errno::INVAL)?;
    pass()
}

/// The first region id past the last region.
pub fn region_count(ctx: &Ctx) -> TestResult {
    let count = u32::try_from(ctx.regions.len())?;
    expect_create_error(ctx, move |_, a| a.region = count, Errno::INVAL)?;
    pass()
}

/// The largest region id.
pub fn region_max(ctx: &Ctx) -> TestResult {
    expect_create_error(ctx, |_, a| a.region = u32::MAX, Errno::INVAL)?;
    pass()
}

/// Sends BO_INFO with `args` as is and expects `want`, the struct unchanged.
fn expect_info_error(ctx: &Ctx, mut args: drm_xaccel_bo_info, want: Errno) -> Check {
    let sent = args;
    let result = ctx.dev.bo_info_raw(&mut args);
    ensure!(
        result == Err(want),
        "got {}, expected {}\nsent {sent:?}",
        result_name(&result),
        errno_name(want)
    );
    ensure!(
        args == sent,
        "the kernel changed the struct:\nsent {sent:?}\n got {args:?}"
    );
    ctx.usable()
}

/// BO_INFO on a valid handle with `pad` or `reserved` set.
pub fn info_reserved(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, ctx.page, ctx.system.id)?;
    let valid = drm_xaccel_bo_info {
        handle: bo.handle(),
        ..Default::default()
    };
    expect_info_error(ctx, drm_xaccel_bo_info { pad: 1, ..valid }, Errno::INVAL)?;
    let reserved = drm_xaccel_bo_info {
        reserved: 1,
        ..valid
    };
    expect_info_error(ctx, reserved, Errno::INVAL)?;
    pass()
}

/// Handle 0 is never valid; u32::MAX is not one of ours.
pub fn info_bad_handle(ctx: &Ctx) -> TestResult {
    for handle in [0, u32::MAX] {
        let args = drm_xaccel_bo_info {
            handle,
            ..Default::default()
        };
        expect_info_error(ctx, args, Errno::NOENT)?;
    }
    pass()
}
