// SPDX-License-Identifier: GPL-2.0-only
//! NOP jobs and device VMs, whatever translates them: on a device with a VA window, a NOP
//! submitted with a VM holding a binding completes (the binding's rules are selftest-vm's, run
//! by conformance too); on a device without one, VMs exist but every bind leaves the (empty)
//! window: `EINVAL`, as documented.

use xaccel::{Access, Bo, Errno, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::Ctx;

/// A NOP in a VM with a read-write binding, then after the unbind, completes.
pub fn nop_in_a_vm(c: &Ctx) -> TestResult {
    if c.info.va_size == 0 {
        return tap::skip("no VA window");
    }
    let Some(job) = c.any_job(&c.dev)? else {
        return tap::skip("no engine has a NOP");
    };
    let page = rustix::param::page_size() as u64;
    let vm = Vm::create(&c.dev)?;
    let bo = Bo::create(&c.dev, page, c.system)?;
    let binding = vm.bind(&bo, 0, page, c.info.va_start, Access::ReadWrite)?;
    let status = job.run(job.submit().vm(&vm).bo(&bo, 0))?;
    ensure!(status.is_ok(), "the NOP in a VM ended with {status:?}");
    drop(binding);
    let status = job.run(job.submit().vm(&vm))?;
    ensure!(
        status.is_ok(),
        "the NOP in an empty VM ended with {status:?}"
    );
    tap::pass()
}

/// Without a VA window, VM_CREATE works and VM_BIND fails with `EINVAL`.
pub fn no_window(c: &Ctx) -> TestResult {
    if c.info.va_size != 0 {
        return tap::skip("the device has a VA window: selftest-vm covers it");
    }
    let page = rustix::param::page_size() as u64;
    let vm = Vm::create(&c.dev)?;
    let bo = Bo::create(&c.dev, page, c.system)?;
    for va in [0, c.info.va_start, 1 << 32] {
        let result = vm.bind(&bo, 0, page, va, Access::ReadOnly);
        ensure!(
            result.as_ref().err().and_then(|e| e.errno()) == Some(Errno::INVAL),
            "VM_BIND at {va:#x}: {:?}, expected EINVAL",
            result.err()
        );
    }
    tap::pass()
}
