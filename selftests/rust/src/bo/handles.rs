// SPDX-License-Identifier: GPL-2.0-only
//! GEM handles: closed handles, handles of other open files, file close.
//! Sharing handles as dma-bufs is `xaccel-selftest-dmabuf`'s.

use xaccel::uapi::drm_xaccel_bo_create;
use xaccel::{Bo, Errno};
use xaccel_selftests::ensure;
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, TestResult};

use crate::ctx::Ctx;

/// The errno of a runtime error, if any.
fn errno_of<T>(result: &xaccel::Result<T>) -> Option<Errno> {
    result.as_ref().err().and_then(|e| e.errno())
}

/// A handle closed once cannot be closed or described again.
pub fn closed_handle(ctx: &Ctx) -> TestResult {
    let mut args = drm_xaccel_bo_create {
        size: ctx.page,
        region: ctx.system.id,
        ..Default::default()
    };
    ctx.dev.bo_create_raw(&mut args)?;
    ctx.dev.gem_close_raw(args.handle)?;
    let again = ctx.dev.gem_close_raw(args.handle);
    ensure!(
        again == Err(Errno::INVAL),
        "second GEM_CLOSE: {}",
        result_name(&again)
    );
    let info = ctx.dev.bo_info(args.handle);
    ensure!(errno_of(&info) == Some(Errno::NOENT), "BO_INFO: {info:?}");
    ctx.usable()?;
    pass()
}

/// A handle of the first file means nothing in a second file of the same
/// device: BO_INFO gets ENOENT, GEM_CLOSE gets EINVAL, and the BO lives on.
pub fn other_files_handle(ctx: &Ctx) -> TestResult {
    let other = ctx.open_again()?;
    let bo = Bo::create(&ctx.dev, ctx.page, ctx.system.id)?;
    let map = bo.map()?;
    map.write(0, b"mine");
    let info = other.bo_info(bo.handle());
    ensure!(
        errno_of(&info) == Some(Errno::NOENT),
        "BO_INFO in another file: {info:?}"
    );
    let close = other.gem_close_raw(bo.handle());
    ensure!(
        close == Err(Errno::INVAL),
        "GEM_CLOSE in another file: {}",
        result_name(&close)
    );
    ensure!(
        ctx.dev.bo_info(bo.handle())? == *bo.info(),
        "the BO changed"
    );
    let mut back = [0u8; 4];
    map.read(0, &mut back);
    ensure!(&back == b"mine", "contents changed to {back:?}");
    pass()
}

/// BOs a file still has handles to are freed when the file is closed.
pub fn file_close_frees(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let other = ctx.open_again()?;
    let mut sizes = 0;
    for pages in [1, 3, 16] {
        let mut args = drm_xaccel_bo_create {
            size: pages * ctx.page,
            region: ctx.system.id,
            ..Default::default()
        };
        other.bo_create_raw(&mut args)?;
        sizes += pages * ctx.page;
    }
    ctx.expect_used(before + sizes, "with three BOs in another file")?;
    drop(other);
    ctx.expect_used(before, "after closing that file")?;
    pass()
}
