// SPDX-License-Identifier: GPL-2.0-only
//! Device-memory BOs exported as dma-bufs, under the rule the backend's
//! region declares for importers that cannot reach it (`--devmem-rule`):
//! `direct` (vaccel's host pages reach every importer), `migrate` or `refuse`
//! (vaccel `local_p2p=1`: only peer-to-peer importers, here the other vaccel
//! device, reach the region; vgem does not; hlx HBM: only PCI peers that
//! pci_p2pdma finds a path to reach it, so neither vgem nor a faux vaccel
//! device, `--second-not-p2p`).

use std::os::fd::{AsFd, AsRawFd};

use clap::ValueEnum;
use xaccel::{Bo, Errno, RegionKind};
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, skip, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::{Accel, Check, Ctx, LEN};
use xaccel_selftests::peers::{self, SharedMap};

/// What the device region does for an importer like vgem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Rule {
    /// vgem gets the device memory itself.
    Direct,
    /// The BO moves to system memory when vgem attaches.
    Migrate,
    /// vgem's import is refused with EOPNOTSUPP.
    Refuse,
}

/// The id of `a`'s DEVICE region, if it has a CPU-visible one.
pub fn device_region(a: &Accel) -> Check<Option<u32>> {
    Ok(a.dev
        .regions()?
        .into_iter()
        .find(|r| {
            r.kind == RegionKind::Device && r.flags.contains(xaccel::RegionFlags::CPU_VISIBLE)
        })
        .map(|r| r.id))
}

/// A device BO of [`LEN`] bytes on `a` holding the pattern `seed`, and its
/// mapping.
pub fn filled(a: &Accel, region: u32, seed: u64) -> Check<(Bo<'_>, SharedMap)> {
    let bo = Bo::create(&a.dev, LEN as u64, region)?;
    let map = Accel::map(&a.dev, bo.handle())?;
    map.fill(seed);
    Ok((bo, map))
}

/// A device BO exported to vgem: imported and readable through the
/// dma-buf (direct, migrate: the BO's own mapping keeps reading and writing
/// the same data after the move), or refused with EOPNOTSUPP, leaving the BO
/// and the device usable.
pub fn to_vgem(ctx: &Ctx) -> TestResult {
    let Some(vgem) = &ctx.vgem else {
        return skip("vgem is not loaded");
    };
    let a = &ctx.a;
    let Some(region) = device_region(a)? else {
        return skip("no CPU-visible DEVICE region");
    };
    let (bo, ours) = filled(a, region, 21)?;
    let fd = bo.export()?;
    let import = peers::import_raw(vgem.as_fd(), fd.as_raw_fd());
    if ctx.devmem_rule == Rule::Refuse {
        ensure!(
            import == Err(Errno::OPNOTSUPP),
            "vgem's import: {}, expected EOPNOTSUPP",
            result_name(&import.map(|_| ()))
        );
        ours.check(21)?;
        SharedMap::new(fd.as_fd(), LEN, 0)?.check(21)?;
        drop((ours, fd));
        bo.close()?;
        a.usable()?;
        return pass();
    }
    let handle = import?;
    ours.check(21)?;
    let theirs = SharedMap::new(vgem.export(handle)?.as_fd(), LEN, 0)?;
    theirs.check(21)?;
    ours.fill(22);
    theirs.check(22)?;
    peers::gem_close(vgem.as_fd(), handle)?;
    drop((theirs, ours, fd));
    bo.close()?;
    a.usable()?;
    pass()
}

/// A device BO imported by the other xaccel device (dynamically; peer-to-peer
/// when the devices declare P2P): both mappings see each other's writes,
/// under every rule; if the second device does not reach the memory
/// peer-to-peer, the BO migrates first, or the import is refused with
/// EOPNOTSUPP (leaving both devices usable), as the rule says.
pub fn to_second_device(ctx: &Ctx) -> TestResult {
    let Some(b) = &ctx.b else {
        return skip("no second xaccel device");
    };
    let a = &ctx.a;
    let Some(region) = device_region(a)? else {
        return skip("no CPU-visible DEVICE region");
    };
    let (bo, ours) = filled(a, region, 23)?;
    let fd = bo.export()?;
    if !ctx.second_reaches_p2p && ctx.devmem_rule == Rule::Refuse {
        let import = b.dev.prime_fd_to_handle_raw(fd.as_fd());
        ensure!(
            import == Err(Errno::OPNOTSUPP),
            "the second device's import: {}, expected EOPNOTSUPP",
            result_name(&import.map(|_| ()))
        );
        ours.check(23)?;
        drop((ours, fd));
        bo.close()?;
        a.usable()?;
        b.usable()?;
        return pass();
    }
    let imported = b.dev.import(fd.as_fd())?;
    let theirs = Accel::map(&b.dev, imported.handle())?;
    theirs.check(23)?;
    theirs.fill(24);
    ours.check(24)?;
    drop((theirs, ours, fd));
    imported.close()?;
    bo.close()?;
    a.usable()?;
    b.usable()?;
    pass()
}

/// Exporting a device BO twice gives one dma-buf; importing it back into its
/// own device gives the same handle; a migrated or refused BO still exports.
pub fn same_dma_buf(ctx: &Ctx) -> TestResult {
    let a = &ctx.a;
    let Some(region) = device_region(a)? else {
        return skip("no CPU-visible DEVICE region");
    };
    let (bo, _map) = filled(a, region, 25)?;
    let one = bo.export()?;
    let two = bo.export()?;
    if !peers::same_file(one.as_fd(), two.as_fd())? {
        fail!("two exports of one BO gave two dma-bufs");
    }
    let again = a.dev.prime_fd_to_handle_raw(one.as_fd())?;
    ensure!(again == bo.handle(), "re-import gave {again}");
    pass()
}
