// SPDX-License-Identifier: GPL-2.0-only
//! Well-formed buffer objects: what BO_INFO reports, sizes and alignment,
//! and what their memory holds.

use xaccel::Bo;
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::Ctx;

/// One byte becomes one page in the requested region, with no flags and a
/// page-aligned, stable mmap offset.
pub fn create_and_info(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, 1, ctx.system.id)?;
    let info = *bo.info();
    ensure!(info.handle != 0, "handle 0");
    ensure!(
        info.size == ctx.page,
        "size {}, expected {}",
        info.size,
        ctx.page
    );
    ensure!(info.region == ctx.system.id, "region {}", info.region);
    ensure!(info.flags == 0, "flags {:#x}", info.flags);
    ensure!(
        info.mmap_offset != 0 && info.mmap_offset % ctx.page == 0,
        "mmap offset {:#x}",
        info.mmap_offset
    );
    let again = ctx.dev.bo_info(info.handle)?;
    ensure!(again == info, "second BO_INFO {again:?}, first {info:?}");
    pass()
}

/// A page and a byte take two pages.
pub fn rounded_size(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, ctx.page + 1, ctx.system.id)?;
    ensure!(bo.size() == 2 * ctx.page, "size {}", bo.size());
    pass()
}

/// A 2 MiB BO aligned to 2 MiB.
pub fn aligned(ctx: &Ctx) -> TestResult {
    let size = 2 << 20;
    let bo = Bo::create_aligned(&ctx.dev, size, ctx.system.id, size)?;
    ensure!(bo.size() == size, "size {}", bo.size());
    pass()
}

/// A byte pattern differing in every page.
fn pattern(offset: usize, page: usize) -> u8 {
    (offset / page * 7 + offset % 251) as u8
}

/// Bytes written through one mapping are read through a second one.
pub fn write_read(ctx: &Ctx) -> TestResult {
    let page = ctx.page as usize;
    let bo = Bo::create(&ctx.dev, 3 * ctx.page, ctx.system.id)?;
    let a = bo.map()?;
    let b = bo.map()?;
    ensure!(a.as_ptr() != b.as_ptr(), "both mappings at one address");
    let data: Vec<u8> = (0..a.len()).map(|i| pattern(i, page)).collect();
    a.write(0, &data);
    let mut back = vec![0u8; b.len()];
    b.read(0, &mut back);
    if let Some(i) = (0..data.len()).find(|&i| back[i] != data[i]) {
        fail!("byte {i}: wrote {:#x}, read {:#x}", data[i], back[i]);
    }
    pass()
}

/// What was written is still there after the only mapping went away.
pub fn contents_persist(ctx: &Ctx) -> TestResult {
    let bo = Bo::create(&ctx.dev, 2 * ctx.page, ctx.system.id)?;
    let last = bo.size() as usize - 4;
    {
        let map = bo.map()?;
        map.write(0, b"head");
        map.write(last, b"tail");
    }
    let map = bo.map()?;
    let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
    map.read(0, &mut head);
    map.read(last, &mut tail);
    ensure!(
        &head == b"head" && &tail == b"tail",
        "read {head:?} {tail:?}"
    );
    pass()
}

/// A BO is filled with a pattern and freed; a new BO of the same size reads
/// as zero in every byte of every page.
pub fn fresh_is_zero(ctx: &Ctx) -> TestResult {
    const SIZE: u64 = 8 << 20;
    {
        let old = Bo::create(&ctx.dev, SIZE, ctx.system.id)?;
        let map = old.map()?;
        map.fill(0xA5);
        if let Some(at) = map.find_not(0xA5) {
            fail!("the pattern did not stick at byte {at}");
        }
    }
    for round in 0..2 {
        let bo = Bo::create(&ctx.dev, SIZE, ctx.system.id)?;
        let map = bo.map()?;
        if let Some(at) = map.find_not(0) {
            let mut byte = [0u8];
            map.read(at, &mut byte);
            fail!(
                "round {round}: byte {at} (page {}) of a new BO is {:#x}",
                at as u64 / ctx.page,
                byte[0]
            );
        }
        map.fill(0x5A);
    }
    pass()
}
