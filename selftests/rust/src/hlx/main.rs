// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-hlx`: selftest of the `hlx` backend on an HLX device (the model in the
//! VM), in TAP version 13: engines, jobs on every queue through the CQ and MSI-X, the
//! command-buffer parser's refusals, HBM buffer objects (created zeroed, mapped by the CPU,
//! reached by jobs through their BO list or a VM binding, nothing else), DMA and compute
//! through the device MMU (host memory and HBM bound in a VM) checked against userspace, MMU
//! faults and access
//! errors failing only their job, hang recovery (soft, then hard reset) with an innocent
//! context continuing, and the vendor queries. Test control (wedges) comes from debugfs
//! `hlx-accelN/control` (basic.rs, vm.rs; ctx.rs has the helpers).
//!
//! Usage: `xaccel-selftest-hlx [DEVICE]`, as root in the VM.

mod basic;
mod ctx;
mod vm;

use xaccel_selftests::tap::{self, Test};

use crate::basic::*;
use crate::ctx::Ctx;
use crate::vm::*;

#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("engines: dma0 dma1 cmp0 cmp1",                                engines),
    ("NOP jobs complete on every queue (CQ, MSI-X)",                nop_on_every_queue),
    ("HBM BO: device address, zeroed, mmap write/read, no leak",    hbm_bo_basics),
    ("HBM BO listed: MEMSET, COPY on DMA0, FENCE + VEC on CMP0",     hbm_dma_and_compute),
    ("privileged, other HBM, out-of-range, malformed: refused",     privileged_packets_refused),
    ("HBM to vaccel: migrates (old HBM refused), EBUSY once used",  hbm_export_migrates_unless_used),
    ("VM_BIND: LIN_DMA host -> host through the MMU is bit-exact",  vm_dma_is_bit_exact),
    ("VM: unmapped VA EFAULT, read-only write EACCES at SUBMIT",    vm_refusals),
    ("VM_BIND of an HBM BO: DMA host -> HBM -> host is bit-exact",  host_hbm_host_is_bit_exact),
    ("VEC ADD/MUL/MAX/GEMV on HBM equal userspace's results",        compute_on_hbm_matches_userspace),
    ("MMU fault (unbound after SUBMIT) fails only that job",        mmu_fault_fails_only_that_job),
    ("VEC on a host page: ACCESS_ERROR fails only that job",        compute_on_host_page_fails_only_that_job),
    ("300 VMs bound and destroyed: ASIDs and tables come back",     gone_vms_give_back_asids_and_tables),
    ("soft wedge: timeout, SOFT_RESET, innocent context goes on",   soft_hang),
    ("hard wedge: SOFT_RESET fails, HARD_RESET, all goes on",       hard_hang),
    ("vendor queries: HW info, HBM, counters, queue states",        vendor_queries),
    ("VENDOR_QUERY bad input -> errnos as QUERY, struct unchanged", vendor_query_validation),
];

fn main() -> std::process::ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
