// SPDX-License-Identifier: GPL-2.0-only
//! Interop with buffers xaccel did not create and with importers that are not
//! xaccel: udmabuf, vgem (the C GEM driver, both ways) and a second xaccel
//! device. Every test writes a pattern on one side and checks it bit-exactly on
//! the other, both directions where both sides can write.

use std::os::fd::{AsFd, AsRawFd};

use xaccel::Errno;
use xaccel_selftests::ensure;
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, skip, TestResult};

use crate::ctx::{Accel, Ctx, LEN};
use xaccel_selftests::peers::{self, SharedMap, Udmabuf, FLAGS};

/// A udmabuf (memfd pages) imported into xaccel: the BO's mapping reads what
/// the memfd holds and the memfd sees what the BO's mapping writes; closing
/// and importing again works.
pub fn udmabuf_import(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let udmabuf = Udmabuf::new(LEN)?;
    udmabuf.memory.fill(1);
    for round in 0..2 {
        let bo = a.dev.import(udmabuf.dma_buf.as_fd())?;
        ensure!(
            bo.size() == LEN as u64,
            "round {round}: imported size {}",
            bo.size()
        );
        ensure!(
            bo.info().region == a.system,
            "imported into region {}",
            bo.info().region
        );
        let map = Accel::map(&a.dev, bo.handle())?;
        map.check(1 + round)?;
        map.fill(2 + round);
        udmabuf.memory.check(2 + round)?;
        drop(map);
        bo.close()?;
    }
    a.usable()?;
    pass()
}

/// An xaccel BO exported to vgem: vgem attaches and maps it (an sg table of
/// the BO's pages for vgem's device) and holds it after our fd and handle are
/// closed. DRM refuses MAP_DUMB offsets of imported objects (EINVAL, checked),
/// so the data is read back through the dma-buf vgem hands out for its
/// handle, which must be ours, and the BO reads what is written there.
pub fn export_to_vgem(ctx: &Ctx) -> TestResult {
    let Some(vgem) = &ctx.vgem else {
        return skip("vgem is not loaded");
    };
    let a = &ctx.a;
    let used = a.used()?;
    let bo = a.bo()?;
    let ours = Accel::map(&a.dev, bo.handle())?;
    ours.fill(3);
    let fd = bo.export()?;
    let handle = peers::import_raw(vgem.as_fd(), fd.as_raw_fd())?;
    let map_dumb = vgem.offset(handle).map(|_| ());
    ensure!(
        map_dumb == Err(Errno::INVAL),
        "vgem MAP_DUMB of an import: {}",
        result_name(&map_dumb)
    );
    let theirs = vgem.export(handle)?;
    ensure!(
        peers::same_file(theirs.as_fd(), fd.as_fd())?,
        "vgem handed out another dma-buf"
    );
    // Only vgem holds the BO now: its attachment keeps the pages.
    drop((ours, fd));
    bo.close()?;
    ensure!(
        a.used()? == used + LEN as u64,
        "vgem's import no longer holds the BO"
    );
    let map = SharedMap::new(theirs.as_fd(), LEN, 0)?;
    map.check(3)?;
    map.fill(4);
    map.check(4)?;
    let ours = a.dev.import(theirs.as_fd())?;
    Accel::map(&a.dev, ours.handle())?.check(4)?;
    drop((map, theirs, ours));
    peers::gem_close(vgem.as_fd(), handle)?;
    ensure!(
        a.used()? == used,
        "QUERY used {} after vgem let go, was {used}",
        a.used()?
    );
    a.usable()?;
    pass()
}

/// `mmap()` of the exported dma-buf itself maps the BO's pages.
pub fn dma_buf_mmap(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let bo = a.bo()?;
    let ours = Accel::map(&a.dev, bo.handle())?;
    ours.fill(5);
    let fd = bo.export()?;
    let direct = SharedMap::new(fd.as_fd(), LEN, 0)?;
    direct.check(5)?;
    direct.fill(6);
    ours.check(6)?;
    pass()
}

/// A vgem dumb buffer imported into xaccel: the BO's mapping reads what vgem
/// wrote, and vgem reads what the BO's mapping writes.
pub fn import_from_vgem(ctx: &Ctx) -> TestResult {
    let Some(vgem) = &ctx.vgem else {
        return skip("vgem is not loaded");
    };
    let a = &ctx.a;
    let handle = vgem.create(LEN as u64)?;
    let theirs = vgem.map(handle, LEN)?;
    theirs.fill(7);
    let fd = peers::export(vgem.as_fd(), handle, FLAGS)?;
    let bo = a.dev.import(fd.as_fd())?;
    ensure!(bo.size() == LEN as u64, "imported size {}", bo.size());
    let ours = Accel::map(&a.dev, bo.handle())?;
    ours.check(7)?;
    ours.fill(8);
    theirs.check(8)?;
    drop((ours, theirs));
    bo.close()?;
    peers::gem_close(vgem.as_fd(), handle)?;
    a.usable()?;
    pass()
}

/// A BO of one xaccel device imported into another: both map the same bytes.
pub fn between_devices(ctx: &Ctx) -> TestResult {
    let Some(b) = &ctx.b else {
        return skip("only one xaccel device");
    };
    let a = &ctx.a;
    let used_b = b.used()?;
    let bo = a.bo()?;
    let ours = Accel::map(&a.dev, bo.handle())?;
    ours.fill(9);
    let fd = bo.export()?;
    let imported = b.dev.import(fd.as_fd())?;
    ensure!(
        b.used()? == used_b,
        "the import charged the importing device's region"
    );
    let theirs = Accel::map(&b.dev, imported.handle())?;
    theirs.check(9)?;
    theirs.fill(10);
    ours.check(10)?;
    drop((ours, theirs, fd));
    // The importer keeps the memory: the exporter's handle can go first.
    bo.close()?;
    let theirs = Accel::map(&b.dev, imported.handle())?;
    theirs.check(10)?;
    drop(theirs);
    imported.close()?;
    a.usable()?;
    b.usable()?;
    pass()
}
