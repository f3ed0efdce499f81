// SPDX-License-Identifier: GPL-2.0-only
//! A mapping holds its BO: the BO's memory (QUERY `used`) stays until the
//! last mapping of it goes, by unbind, VM_DESTROY or closing the file.

use xaccel::{Access, Vm};
use xaccel_selftests::tap::{pass, TestResult};

use crate::ctx::Ctx;

/// Closing the handle of a bound BO keeps its memory; unbinding frees it.
pub fn outlives_handle(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 8)?;
    let binding = vm.bind(&bo, 0, 8 * ctx.page, ctx.va(0), Access::ReadWrite)?;
    bo.close()?;
    ctx.expect_used(before + 8 * ctx.page, "bound, handle closed")?;
    binding.unbind()?;
    ctx.expect_used(before, "after the unbind")?;
    pass()
}

/// A mapping split in two keeps its BO until both pieces are unbound.
pub fn split_release(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let vm = Vm::create(&ctx.dev)?;
    let bo = ctx.bo(&ctx.dev, 4)?;
    vm.bind(&bo, 0, 4 * ctx.page, ctx.va(0), Access::ReadWrite)?
        .forget();
    bo.close()?;
    vm.unbind(ctx.va(1), 2 * ctx.page)?;
    ctx.expect_used(before + 4 * ctx.page, "two pieces left")?;
    vm.unbind(ctx.va(0), ctx.page)?;
    ctx.expect_used(before + 4 * ctx.page, "one piece left")?;
    vm.unbind(ctx.va(3), ctx.page)?;
    ctx.expect_used(before, "all pieces unbound")?;
    pass()
}

/// VM_DESTROY releases every BO bound in the VM.
pub fn destroy_releases(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    let vm = Vm::create(&ctx.dev)?;
    for va_page in [0, 8] {
        let bo = ctx.bo(&ctx.dev, 2)?;
        vm.bind(&bo, 0, 2 * ctx.page, ctx.va(va_page), Access::ReadOnly)?
            .forget();
    }
    ctx.expect_used(before + 4 * ctx.page, "two bound BOs, handles closed")?;
    vm.destroy()?;
    ctx.expect_used(before, "after VM_DESTROY")?;
    ctx.usable()?;
    pass()
}

/// Closing a file with VMs and live mappings (handles still open) releases
/// its BOs.
pub fn close_releases(ctx: &Ctx) -> TestResult {
    let before = ctx.used()?;
    {
        let other = ctx.open_again()?;
        let bo = ctx.bo(&other, 4)?;
        for _ in 0..3 {
            let vm = Vm::create(&other)?;
            vm.bind(&bo, 0, 4 * ctx.page, ctx.va(0), Access::ReadWrite)?
                .forget();
            std::mem::forget(vm);
        }
        std::mem::forget(bo);
        ctx.expect_used(before + 4 * ctx.page, "bound in three VMs of another file")?;
        // `other` closes here, with its VMs, mappings and handle.
    }
    ctx.expect_used(before, "after closing the file")?;
    ctx.usable()?;
    pass()
}
