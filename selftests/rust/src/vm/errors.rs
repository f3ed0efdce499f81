// SPDX-License-Identifier: GPL-2.0-only
//! Malformed VM ioctls and the errno each must get.
//!
//! Each case starts from a [`Fixture`]: a VM with a 4-page BO bound at VA
//! pages 16..20. After the bad call (which targets pages 0..4, or the
//! mapping) the struct must come back unchanged, the VM must be unchanged
//! (pages 0..4 free, the mapping whole), `used` must not have moved, and the
//! device must be usable.

use xaccel::uapi::{
    drm_xaccel_vm_bind, drm_xaccel_vm_create, drm_xaccel_vm_destroy, drm_xaccel_vm_unbind,
    DRM_XACCEL_VM_BIND_READ_ONLY, DRM_XACCEL_VM_BIND_READ_WRITE,
};
use xaccel::{Access, Bo, Errno, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, skip, TestResult};

use crate::ctx::{Check, Ctx};

/// First VA page of the fixture's mapping.
const MAPPED: u64 = 16;

/// A VM with one mapping, to make bad calls against.
struct Fixture<'c> {
    ctx: &'c Ctx,
    vm: Vm<'c>,
    bo: Bo<'c>,
    used: u64,
}

impl<'c> Fixture<'c> {
    fn new(ctx: &'c Ctx) -> Check<Self> {
        let vm = Vm::create(&ctx.dev)?;
        let bo = ctx.bo(&ctx.dev, 4)?;
        vm.bind(&bo, 0, 4 * ctx.page, ctx.va(MAPPED), Access::ReadWrite)?
            .forget();
        let used = ctx.used()?;
        Ok(Self { ctx, vm, bo, used })
    }

    /// A valid bind of the fixture's BO (2 pages) at VA page 0.
    fn bind(&self) -> drm_xaccel_vm_bind {
        self.ctx.bind_args(self.vm.id(), self.bo.handle(), 0, 2, 0)
    }

    /// Sends `args` (a valid bind with one thing broken) and expects `want`.
    fn bad_bind(&self, args: drm_xaccel_vm_bind, want: Errno) -> Check {
        self.ctx.expect_bind(&self.ctx.dev, args, Err(want))?;
        self.unchanged()
    }

    /// Sends a broken unbind and expects `want`.
    fn bad_unbind(&self, args: drm_xaccel_vm_unbind, want: Errno) -> Check {
        self.ctx.expect_unbind(&self.ctx.dev, args, Err(want))?;
        self.unchanged()
    }

    /// The VM still has exactly its mapping, and the device works.
    fn unchanged(&self) -> Check {
        let ctx = self.ctx;
        let used = ctx.used()?;
        ensure!(used == self.used, "used moved from {} to {used}", self.used);
        // Pages 0..4 are free: a bind of all four works (and is undone).
        let probe = ctx.bind_args(self.vm.id(), self.bo.handle(), 0, 4, 0);
        ctx.expect_bind(&ctx.dev, probe, Ok(()))?;
        ctx.expect_unbind(&ctx.dev, ctx.unbind_args(self.vm.id(), 0, 4), Ok(()))?;
        // The mapping is still there, whole: its first and last pages are
        // taken, and page 20 is free.
        for va_page in [MAPPED, MAPPED + 3] {
            let args = ctx.bind_args(self.vm.id(), self.bo.handle(), 0, 1, va_page);
            ctx.expect_bind(&ctx.dev, args, Err(Errno::EXIST))?;
        }
        let after = ctx.bind_args(self.vm.id(), self.bo.handle(), 0, 1, MAPPED + 4);
        ctx.expect_bind(&ctx.dev, after, Ok(()))?;
        ctx.expect_unbind(
            &ctx.dev,
            ctx.unbind_args(self.vm.id(), MAPPED + 4, 1),
            Ok(()),
        )?;
        ctx.usable()
    }

    /// Unbinds the whole mapping in one call: it was never split.
    fn finish(self) -> TestResult {
        let args = self.ctx.unbind_args(self.vm.id(), MAPPED, 4);
        self.ctx.expect_unbind(&self.ctx.dev, args, Ok(()))?;
        pass()
    }
}

/// A VA one byte (and half a page) off a page boundary.
pub fn misaligned_va(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    for off in [1, ctx.page / 2] {
        f.bad_bind(
            drm_xaccel_vm_bind {
                va: ctx.va(0) + off,
                ..f.bind()
            },
            Errno::INVAL,
        )?;
    }
    f.finish()
}

/// A size that is not a whole number of pages.
pub fn misaligned_size(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    for size in [1, ctx.page + 1, 2 * ctx.page - 1] {
        f.bad_bind(drm_xaccel_vm_bind { size, ..f.bind() }, Errno::INVAL)?;
    }
    f.finish()
}

/// A BO offset inside a page.
pub fn misaligned_offset(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    for bo_offset in [1, ctx.page - 1, ctx.page + 8] {
        f.bad_bind(
            drm_xaccel_vm_bind {
                bo_offset,
                ..f.bind()
            },
            Errno::INVAL,
        )?;
    }
    f.finish()
}

/// A zero size.
pub fn zero_size(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    f.bad_bind(
        drm_xaccel_vm_bind {
            size: 0,
            ..f.bind()
        },
        Errno::INVAL,
    )?;
    f.finish()
}

/// A VA range starting below the window (at 0, and one page below).
pub fn below_window(ctx: &Ctx) -> TestResult {
    if ctx.va_start == 0 {
        return skip("the VA window starts at 0");
    }
    let f = Fixture::new(ctx)?;
    for va in [0, ctx.va_start - ctx.page] {
        f.bad_bind(drm_xaccel_vm_bind { va, ..f.bind() }, Errno::INVAL)?;
    }
    f.finish()
}

/// A VA range running past the window's end, or starting there.
pub fn past_window(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let end = ctx.va_start + ctx.va_size;
    for va in [end - ctx.page, end, end + 16 * ctx.page] {
        f.bad_bind(drm_xaccel_vm_bind { va, ..f.bind() }, Errno::INVAL)?;
    }
    f.finish()
}

/// A VA range whose end overflows 64 bits.
pub fn va_overflow(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let top = u64::MAX - ctx.page + 1;
    f.bad_bind(
        drm_xaccel_vm_bind {
            va: top,
            ..f.bind()
        },
        Errno::INVAL,
    )?;
    f.bad_bind(
        drm_xaccel_vm_bind {
            size: top,
            ..f.bind()
        },
        Errno::INVAL,
    )?;
    f.finish()
}

/// BO ranges past the end of the 4-page BO.
pub fn beyond_bo(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    for (bo_page, pages) in [(3, 2), (4, 1), (0, 5), (100, 1)] {
        let args = ctx.bind_args(f.vm.id(), f.bo.handle(), bo_page, pages, 0);
        f.bad_bind(args, Errno::INVAL)?;
    }
    f.finish()
}

/// A BO offset whose sum with the size overflows.
pub fn bo_overflow(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let bo_offset = u64::MAX - ctx.page + 1;
    f.bad_bind(
        drm_xaccel_vm_bind {
            bo_offset,
            ..f.bind()
        },
        Errno::INVAL,
    )?;
    f.finish()
}

/// Flags: none, both access flags, an unknown bit alone or with a valid one.
pub fn bind_flags(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let both = DRM_XACCEL_VM_BIND_READ_ONLY | DRM_XACCEL_VM_BIND_READ_WRITE;
    for flags in [
        0,
        both,
        1 << 2,
        1 << 31,
        DRM_XACCEL_VM_BIND_READ_WRITE | 1 << 5,
    ] {
        f.bad_bind(drm_xaccel_vm_bind { flags, ..f.bind() }, Errno::INVAL)?;
    }
    f.finish()
}

/// `pad`, `reserved[0]`, `reserved[1]`.
pub fn bind_reserved(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    f.bad_bind(drm_xaccel_vm_bind { pad: 1, ..f.bind() }, Errno::INVAL)?;
    for i in 0..2 {
        let mut args = f.bind();
        args.reserved[i] = 1 << 40;
        f.bad_bind(args, Errno::INVAL)?;
    }
    f.finish()
}

/// Bad unbinds of the fixture's mapping: flags, reserved, zero size,
/// misaligned VA or size, an overflowing range.
pub fn unbind_bad(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let ok = ctx.unbind_args(f.vm.id(), MAPPED, 4);
    let mut reserved = [ok; 2];
    reserved[0].reserved[0] = 1;
    reserved[1].reserved[1] = 1;
    let cases = [
        drm_xaccel_vm_unbind { flags: 1, ..ok },
        drm_xaccel_vm_unbind {
            flags: 1 << 31,
            ..ok
        },
        reserved[0],
        reserved[1],
        drm_xaccel_vm_unbind { size: 0, ..ok },
        drm_xaccel_vm_unbind {
            size: 4 * ctx.page - 1,
            ..ok
        },
        drm_xaccel_vm_unbind {
            va: ok.va + 1,
            ..ok
        },
        drm_xaccel_vm_unbind {
            va: u64::MAX - ctx.page + 1,
            size: 2 * ctx.page,
            ..ok
        },
    ];
    for args in cases {
        f.bad_unbind(args, Errno::INVAL)?;
    }
    f.finish()
}

/// A misaligned unbind inside the mapping splits nothing.
pub fn unbind_misaligned_inside(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let mut args = ctx.unbind_args(f.vm.id(), MAPPED + 1, 1);
    args.va += 16;
    f.bad_unbind(args, Errno::INVAL)?;
    f.finish()
}

/// VM_CREATE with flags or reserved set creates nothing.
pub fn create_bad(ctx: &Ctx) -> TestResult {
    let mut cases = [drm_xaccel_vm_create::default(); 4];
    cases[0].flags = 1;
    cases[1].flags = 1 << 31;
    cases[2].reserved[0] = 1;
    cases[3].reserved[1] = 1;
    for mut args in cases {
        let sent = args;
        let got = ctx.dev.vm_create_raw(&mut args);
        ensure!(
            got == Err(Errno::INVAL),
            "VM_CREATE {sent:?}: {}",
            result_name(&got)
        );
        ensure!(args == sent, "VM_CREATE changed the struct: {args:?}");
    }
    // Ids keep counting from the last VM created: nothing was created.
    let a = Vm::create(&ctx.dev)?;
    let b = Vm::create(&ctx.dev)?;
    ensure!(b.id() == a.id() + 1, "ids {} then {}", a.id(), b.id());
    ctx.usable()?;
    pass()
}

/// VM_DESTROY with pad or reserved set destroys nothing.
pub fn destroy_bad(ctx: &Ctx) -> TestResult {
    let f = Fixture::new(ctx)?;
    let vm_id = f.vm.id();
    for mut args in [
        drm_xaccel_vm_destroy {
            vm_id,
            pad: 1,
            reserved: 0,
        },
        drm_xaccel_vm_destroy {
            vm_id,
            pad: 0,
            reserved: 1,
        },
    ] {
        let sent = args;
        let got = ctx.dev.vm_destroy_raw(&mut args);
        ensure!(
            got == Err(Errno::INVAL),
            "VM_DESTROY {sent:?}: {}",
            result_name(&got)
        );
        ensure!(args == sent, "VM_DESTROY changed the struct: {args:?}");
    }
    f.unchanged()?;
    f.finish()
}

/// VM ids that name no VM of this file, in every VM ioctl: 0, u32::MAX, a
/// destroyed VM's, another file's. The other file's VM is untouched.
pub fn bad_vm_ids(ctx: &Ctx) -> TestResult {
    // Everything else is allocated before the fixture measures `used`.
    let other = ctx.open_again()?;
    let theirs = Vm::create(&other)?;
    let their_bo = ctx.bo(&other, 1)?;
    theirs
        .bind(&their_bo, 0, ctx.page, ctx.va(0), Access::ReadWrite)?
        .forget();
    let destroyed = Vm::create(&ctx.dev)?;
    let destroyed_id = destroyed.id();
    destroyed.destroy()?;
    let f = Fixture::new(ctx)?;
    for vm_id in [0, u32::MAX, destroyed_id, theirs.id() + 1000, theirs.id()] {
        if vm_id == f.vm.id() {
            continue;
        }
        f.bad_bind(drm_xaccel_vm_bind { vm_id, ..f.bind() }, Errno::NOENT)?;
        let unbind = ctx.unbind_args(vm_id, MAPPED, 4);
        f.bad_unbind(unbind, Errno::NOENT)?;
        let mut args = drm_xaccel_vm_destroy {
            vm_id,
            ..Default::default()
        };
        let got = ctx.dev.vm_destroy_raw(&mut args);
        ensure!(
            got == Err(Errno::NOENT),
            "VM_DESTROY of {vm_id}: {}",
            result_name(&got)
        );
    }
    // The other file's VM still has its mapping.
    ctx.expect_unbind(&other, ctx.unbind_args(theirs.id(), 0, 1), Ok(()))?;
    f.finish()
}

/// BO handles that name no BO of this file: 0, u32::MAX, a closed one,
/// another file's.
pub fn bad_handles(ctx: &Ctx) -> TestResult {
    // The other file's BO is allocated before the fixture measures `used`;
    // the closed one after (a closed handle's number is reused by the next
    // BO), and it gives its memory back.
    let other = ctx.open_again()?;
    let theirs = ctx.bo(&other, 4)?;
    let f = Fixture::new(ctx)?;
    let closed = ctx.bo(&ctx.dev, 4)?;
    let closed_handle = closed.handle();
    closed.close()?;
    for handle in [0, u32::MAX, closed_handle, theirs.handle() + 1000] {
        if handle == f.bo.handle() {
            continue;
        }
        f.bad_bind(drm_xaccel_vm_bind { handle, ..f.bind() }, Errno::NOENT)?;
    }
    // The other file's handle number, if it means nothing here.
    if theirs.handle() != f.bo.handle() {
        f.bad_bind(
            drm_xaccel_vm_bind {
                handle: theirs.handle(),
                ..f.bind()
            },
            Errno::NOENT,
        )?;
    }
    f.finish()
}
