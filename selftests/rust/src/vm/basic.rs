// SPDX-License-Identifier: GPL-2.0-only
//! VMs and mappings that work: creation, binding, overlaps, unbinding and
//! splitting.

use xaccel::uapi::{drm_xaccel_vm_destroy, DRM_XACCEL_VM_BIND_READ_ONLY};
use xaccel::{Access, Errno, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{pass, TestResult};

use crate::ctx::Ctx;

/// The device has a VA window of at least 64 pages.
pub fn va_window(ctx: &Ctx) -> TestResult {
    ensure!(
        ctx.va_size >= 64 * ctx.page && ctx.va_start.is_multiple_of(ctx.page),
        "VA window {:#x} + {:#x}",
        ctx.va_start,
        ctx.va_size
    );
    pass()
}

/// Four VMs in one file get distinct nonzero ids; destroying one leaves the
/// others, and its id is gone.
pub fn several_vms(ctx: &Ctx) -> TestResult {
    let vms = (0..4)
        .map(|_| Vm::create(&ctx.dev))
        .collect::<xaccel::Result<Vec<_>>>()?;
    let mut ids: Vec<u32> = vms.iter().map(Vm::id).collect();
    ids.sort_unstable();
    ids.dedup();
    ensure!(ids.len() == 4 && ids[0] != 0, "ids {ids:?}");
    let mut vms = vms.into_iter();
    let first = vms.next().unwrap();
    let first_id = first.id();
    first.destroy()?;
    let mut args = drm_xaccel_vm_destroy {
        vm_id: first_id,
        ..Default::default()
    };
    let again = ctx.dev.vm_destroy_raw(&mut args);
    ensure!(again == Err(Errno::NOENT), "destroying twice: {again:?}");
    // The others still take mappings.
    let bo = ctx.bo(&ctx.dev, 1)?;
    for vm in vms {
        vm.bind(&bo, 0, ctx.page, ctx.va(0), Access::ReadWrite)?
            .unbind()?;
        vm.destroy()?;
    }
    pass()
}

/// A BO range binds read-only and read-write, and unbinds; unbinding twice
/// gets ENOENT.
pub fn bind_unbind(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 4)?;
    let whole = vm.bind(&bo, 0, 4 * ctx.page, ctx.va(0), Access::ReadWrite)?;
    let mut ro = ctx.bind_args(vm.id(), bo.handle(), 1, 2, 8);
    ro.flags = DRM_XACCEL_VM_BIND_READ_ONLY;
    ctx.expect_bind(&ctx.dev, ro, Ok(()))?;
    whole.unbind()?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 8, 2), Ok(()))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 4), Err(Errno::NOENT))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 8, 2), Err(Errno::NOENT))?;
    pass()
}

/// Two VMs of one file map the same VA independently.
pub fn vms_independent(ctx: &Ctx) -> TestResult {
    let (a, b) = (Vm::create(&ctx.dev)?, Vm::create(&ctx.dev)?);
    let bo = ctx.bo(&ctx.dev, 2)?;
    let in_a = a.bind(&bo, 0, 2 * ctx.page, ctx.va(0), Access::ReadWrite)?;
    let in_b = b.bind(&bo, 0, 2 * ctx.page, ctx.va(0), Access::ReadOnly)?;
    in_a.unbind()?;
    // Still mapped in b only.
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(a.id(), 0, 2), Err(Errno::NOENT))?;
    in_b.unbind()?;
    pass()
}

/// With pages 4..8 mapped, every bind touching them gets EEXIST; binds right
/// before and right after work.
pub fn overlap(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 8)?;
    let _mapped = vm.bind(&bo, 0, 4 * ctx.page, ctx.va(4), Access::ReadWrite)?;
    for (va_page, pages) in [(4, 4), (4, 1), (7, 1), (3, 2), (7, 2), (2, 8), (5, 2)] {
        let args = ctx.bind_args(vm.id(), bo.handle(), 0, pages, va_page);
        ctx.expect_bind(&ctx.dev, args, Err(Errno::EXIST))?;
    }
    let before = vm.bind(&bo, 0, 4 * ctx.page, ctx.va(0), Access::ReadWrite)?;
    let after = vm.bind(
        &bo,
        4 * ctx.page,
        4 * ctx.page,
        ctx.va(8),
        Access::ReadWrite,
    )?;
    before.unbind()?;
    after.unbind()?;
    pass()
}

/// Unbinding nothing, a gap, or a range running out of a mapping: ENOENT.
pub fn unbind_unmapped(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 1), Err(Errno::NOENT))?;
    let bo = ctx.bo(&ctx.dev, 2)?;
    let _a = vm.bind(&bo, 0, ctx.page, ctx.va(0), Access::ReadWrite)?;
    let _b = vm.bind(&bo, ctx.page, ctx.page, ctx.va(2), Access::ReadWrite)?;
    for (va_page, pages) in [(1, 1), (0, 3), (2, 2), (3, 1), (100, 4)] {
        let args = ctx.unbind_args(vm.id(), va_page, pages);
        ctx.expect_unbind(&ctx.dev, args, Err(Errno::NOENT))?;
    }
    pass()
}

/// Unbinding pages 1..3 of a 4-page mapping leaves pages 0 and 3 mapped;
/// the hole is free for a new bind, after which the whole range unbinds at
/// once.
pub fn split_middle(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 4)?;
    vm.bind(&bo, 0, 4 * ctx.page, ctx.va(0), Access::ReadWrite)?
        .forget();
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 1, 2), Ok(()))?;
    // The hole is unmapped, both ends still are mapped.
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 4), Err(Errno::NOENT))?;
    ctx.expect_bind(
        &ctx.dev,
        ctx.bind_args(vm.id(), bo.handle(), 0, 1, 0),
        Err(Errno::EXIST),
    )?;
    ctx.expect_bind(
        &ctx.dev,
        ctx.bind_args(vm.id(), bo.handle(), 0, 1, 3),
        Err(Errno::EXIST),
    )?;
    // Binding into the hole works, then everything unbinds in one call.
    ctx.expect_bind(
        &ctx.dev,
        ctx.bind_args(vm.id(), bo.handle(), 2, 2, 1),
        Ok(()),
    )?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 4), Ok(()))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 1), Err(Errno::NOENT))?;
    pass()
}

/// Unbinding the first or the last page trims a mapping, leaving the rest.
pub fn split_ends(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 4)?;
    vm.bind(&bo, 0, 4 * ctx.page, ctx.va(0), Access::ReadWrite)?
        .forget();
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 1), Ok(()))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 3, 1), Ok(()))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 1), Err(Errno::NOENT))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 3, 1), Err(Errno::NOENT))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 1, 2), Ok(()))?;
    pass()
}

/// Three adjacent mappings: one unbind cuts the first and the last and
/// removes the middle one.
pub fn unbind_across(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 2)?;
    for va_page in [0, 2, 4] {
        vm.bind(&bo, 0, 2 * ctx.page, ctx.va(va_page), Access::ReadWrite)?
            .forget();
    }
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 1, 4), Ok(()))?;
    for (va_page, pages) in [(1, 1), (2, 2), (4, 1)] {
        let args = ctx.unbind_args(vm.id(), va_page, pages);
        ctx.expect_unbind(&ctx.dev, args, Err(Errno::NOENT))?;
    }
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 0, 1), Ok(()))?;
    ctx.expect_unbind(&ctx.dev, ctx.unbind_args(vm.id(), 5, 1), Ok(()))?;
    pass()
}

/// The last pages of the window can be bound.
pub fn window_top(ctx: &Ctx) -> TestResult {
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 2)?;
    let top = ctx.va_start + ctx.va_size - 2 * ctx.page;
    vm.bind(&bo, 0, 2 * ctx.page, top, Access::ReadWrite)?
        .unbind()?;
    pass()
}

/// A file holds at most 1024 VMs: the next VM_CREATE gets ENOSPC and
/// creates nothing; after destroying one, one more fits.
pub fn vm_limit(ctx: &Ctx) -> TestResult {
    let file = ctx.open_again()?;
    let mut vms = Vec::new();
    let errno = loop {
        match Vm::create(&file) {
            Ok(vm) => vms.push(vm),
            Err(e) => break e.errno(),
        }
        ensure!(vms.len() <= 1024, "more than 1024 VMs in one file");
    };
    ensure!(
        errno == Some(Errno::NOSPC) && vms.len() == 1024,
        "VM_CREATE number {} failed with {errno:?}",
        vms.len() + 1
    );
    vms.pop().unwrap().destroy()?;
    vms.push(Vm::create(&file)?);
    pass()
}
