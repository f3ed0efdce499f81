// SPDX-License-Identifier: GPL-2.0-only
//! Jobs in a VM: the device MMU, host memory through VM_BIND, HBM through the HBM window,
//! faults that fail only their job.

use xaccel::hlx::{self, MsgTarget, Packet, VecOp};
use xaccel::{Access, Bo, Context, Errno, Priority, Submit, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::*;

pub fn vm_dma_is_bit_exact(c: &Ctx) -> TestResult {
    let vm = Vm::create(&c.dev)?;
    let len = 3 * 4096 + 512;
    let (_src, _sb, data) = bound(c, &vm, VA, 4 * 4096, Some(7))?;
    let (dst, _db, _) = bound(c, &vm, VA + (1 << 20), 4 * 4096, None)?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA0, Priority::Normal)?;
    let copy = [Packet::Copy {
        src: VA + 100,
        dst: VA + (1 << 20) + 300,
        len: len as u32,
    }];
    let out = c.submit_vm(&ctx, &vm, &copy, None)?;
    ensure!(outcome(&out)? == Ok(()), "DMA job through the MMU failed");
    let mut got = vec![0u8; 4 * 4096];
    dst.map()?.read(0, &mut got);
    ensure!(
        got[300..300 + len] == data[100..100 + len],
        "copied bytes differ"
    );
    ensure!(
        got[..300].iter().all(|&b| b == 0) && got[300 + len..].iter().all(|&b| b == 0),
        "bytes outside the copy changed"
    );
    tap::pass()
}

pub fn vm_refusals(c: &Ctx) -> TestResult {
    let vm = Vm::create(&c.dev)?;
    let (_a, _ab, _) = bound(c, &vm, VA, 4096, Some(1))?;
    let ro = Bo::create(&c.dev, 4096, c.system)?;
    let _rb = vm.bind(&ro, 0, 4096, VA + 0x10000, Access::ReadOnly)?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA0, Priority::Normal)?;
    let cases = [
        (
            "a VA past the mapping",
            Packet::Copy {
                src: VA,
                dst: VA + 4000,
                len: 200,
            },
            Errno::FAULT,
        ),
        (
            "an unmapped VA",
            Packet::Memset {
                dst: VA + 0x8000,
                len: 4,
                pattern: 0,
            },
            Errno::FAULT,
        ),
        (
            "a write to a read-only mapping",
            Packet::Copy {
                src: VA,
                dst: VA + 0x10000,
                len: 8,
            },
            Errno::ACCESS,
        ),
    ];
    for (what, p, want) in cases {
        let cb = hlx::encode(&[p]);
        let bo = Bo::create(&c.dev, cb.len() as u64, c.system)?;
        bo.map()?.write(0, &cb);
        let got = ctx
            .submit(&Submit::new(&bo, 0, cb.len() as u64).vm(&vm))
            .err()
            .and_then(|e| e.errno());
        ensure!(got == Some(want), "{what}: {got:?}, want {want:?}");
    }
    ensure!(
        outcome(&c.submit_vm(
            &ctx,
            &vm,
            &[Packet::Memset {
                dst: VA,
                len: 64,
                pattern: 1
            }],
            None
        )?)? == Ok(()),
        "a mapped write failed"
    );
    tap::pass()
}

/// A job validated against a mapping that is unbound before it gets there (it waits in a
/// FENCE on a sync object): the device MMU faults, that job fails with EIO, the fault is
/// counted with its address, and the next job of the same context and VM runs.
pub fn mmu_fault_fails_only_that_job(c: &Ctx) -> TestResult {
    const SOB: u64 = 21;
    let faults = c.counter("mmu_faults")?;
    let vm = Vm::create(&c.dev)?;
    let (_a, _ab, _) = bound(c, &vm, VA, 4096, Some(3))?;
    let b = Bo::create(&c.dev, 4096, c.system)?;
    let target = VA + 0x40000;
    let b_binding = vm.bind(&b, 0, 4096, target, Access::ReadWrite)?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA1, Priority::Normal)?;
    let doomed = [
        Packet::Fence {
            sob: SOB as u32,
            target: 1,
        },
        Packet::Copy {
            src: VA,
            dst: target,
            len: 64,
        },
    ];
    let doomed = c.submit_vm(&ctx, &vm, &doomed, None)?;
    drop(b_binding);
    // Release the FENCE from another queue, then put the sync object back.
    let set = |value| Packet::MsgLong {
        target: MsgTarget::Sob { add: false },
        addr: SOB,
        value,
    };
    ensure!(
        c.run(hlx::ENGINE_DMA0, &[set(1)], None)? == Ok(()),
        "releasing job failed"
    );
    ensure!(
        outcome(&doomed)? == Err(Errno::IO),
        "the faulting job did not fail with EIO"
    );
    ensure!(
        c.run(hlx::ENGINE_DMA0, &[set(0)], None)? == Ok(()),
        "sync object reset failed"
    );
    ensure!(
        c.counter("mmu_faults")? == faults + 1,
        "mmu_faults did not grow by one"
    );
    ensure!(
        c.counter("last_fault_addr")? == target,
        "fault address is not {target:#x}"
    );
    let next = c.submit_vm(
        &ctx,
        &vm,
        &[Packet::Memset {
            dst: VA,
            len: 64,
            pattern: 9,
        }],
        None,
    )?;
    ensure!(
        outcome(&next)? == Ok(()),
        "the next job of the context failed"
    );
    tap::pass()
}

/// Compute engines reach HBM only: VEC on a VA that maps host memory is an ACCESS_ERROR
/// (HOST_DENIED) that fails that job only.
pub fn compute_on_host_page_fails_only_that_job(c: &Ctx) -> TestResult {
    let errors = c.counter("access_errors")?;
    let vm = Vm::create(&c.dev)?;
    let (_a, _ab, _) = bound(c, &vm, VA, 4096, Some(5))?;
    let ctx = Context::create(&c.dev, hlx::ENGINE_CMP0, Priority::Normal)?;
    let vec = [Packet::Vec {
        op: VecOp::Add,
        count: 16,
        dst: VA,
        a: VA,
        b: VA,
        cols: 0,
    }];
    ensure!(
        outcome(&c.submit_vm(&ctx, &vm, &vec, None)?)? == Err(Errno::IO),
        "VEC on host memory did not fail"
    );
    ensure!(
        c.counter("access_errors")? == errors + 1,
        "access_errors did not grow by one"
    );
    ensure!(
        c.run(hlx::ENGINE_CMP0, &[Packet::Nop], None)? == Ok(()),
        "the queue did not go on"
    );
    tap::pass()
}

/// An HBM BO bound in a VM (the device MMU maps its HBM, not host memory): host BO -> HBM ->
/// host BO in one DMA job, bit-exact, and the HBM BO's CPU mapping shows the bytes. A range
/// across the end of the bound HBM is unmapped (`EFAULT`).
pub fn host_hbm_host_is_bit_exact(c: &Ctx) -> TestResult {
    let vm = Vm::create(&c.dev)?;
    let len = 5 * 4096 + 96;
    let (_src, _sb, data) = bound(c, &vm, VA, 6 * 4096, Some(11))?;
    let (dst, _db, _) = bound(c, &vm, VA + (1 << 20), 6 * 4096, None)?;
    let (hbm_bo, _) = c.hbm_bo(6 * 4096)?;
    let _hbm_binding = vm.bind(&hbm_bo, 0, hbm_bo.size(), HBM_VA, Access::ReadWrite)?;
    let hbm = HBM_VA + 0x20;
    let job = [
        Packet::Copy {
            src: VA + 8,
            dst: hbm,
            len: len as u32,
        },
        Packet::Copy {
            src: hbm,
            dst: VA + (1 << 20) + 16,
            len: len as u32,
        },
    ];
    ensure!(
        run_vm(c, &vm, hlx::ENGINE_DMA1, &job)? == Ok(()),
        "host->HBM->host job failed"
    );
    let mut got = vec![0u8; 6 * 4096];
    dst.map()?.read(0, &mut got);
    ensure!(
        got[16..16 + len] == data[8..8 + len],
        "bytes differ after the HBM round trip"
    );
    ensure!(
        got[..16].iter().chain(&got[16 + len..]).all(|&b| b == 0),
        "bytes outside changed"
    );
    let mut in_hbm = vec![0u8; len];
    hbm_bo.map()?.read(0x20, &mut in_hbm);
    ensure!(
        in_hbm == data[8..8 + len],
        "the HBM BO's CPU mapping does not show the DMAed bytes"
    );
    let bad = [Packet::Memset {
        dst: HBM_VA + hbm_bo.size() - 4,
        len: 8,
        pattern: 0,
    }];
    let cb = hlx::encode(&bad);
    let bo = Bo::create(&c.dev, cb.len() as u64, c.system)?;
    bo.map()?.write(0, &cb);
    let ctx = Context::create(&c.dev, hlx::ENGINE_DMA1, Priority::Normal)?;
    let got = ctx
        .submit(&Submit::new(&bo, 0, cb.len() as u64).vm(&vm))
        .err()
        .and_then(|e| e.errno());
    ensure!(got == Some(Errno::FAULT), "past the bound HBM: {got:?}");
    tap::pass()
}

/// Operands DMAed from host BOs into HBM, VEC on a compute queue, results DMAed back: they
/// equal what userspace computes (wrapping i32 ADD, MUL, signed MAX, GEMV).
pub fn compute_on_hbm_matches_userspace(c: &Ctx) -> TestResult {
    const N: usize = 1024;
    const COLS: usize = 32;
    const ROWS: usize = N / COLS;
    let vm = Vm::create(&c.dev)?;
    let a: Vec<i32> = (0..N)
        .map(|i| (i as i32).wrapping_mul(7919) - 40000)
        .collect();
    let b: Vec<i32> = (0..N)
        .map(|i| 3 - (i as i32).wrapping_mul(104729))
        .collect();
    let bytes = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let host = Bo::create(&c.dev, 8 * N as u64 * 4, c.system)?;
    let map = host.map()?;
    map.write(0, &bytes(&a));
    map.write(4 * N, &bytes(&b));
    let _binding = vm.bind(&host, 0, host.size(), VA, Access::ReadWrite)?;
    let (hbm, _) = c.hbm_bo(0x3000)?;
    let _hbm_binding = vm.bind(&hbm, 0, hbm.size(), HBM_VA, Access::ReadWrite)?;
    let (ha, hb, hout) = (HBM_VA, HBM_VA + 0x1000, HBM_VA + 0x2000);
    let nbytes = (4 * N) as u32;
    let load = [
        Packet::Copy {
            src: VA,
            dst: ha,
            len: nbytes,
        },
        Packet::Copy {
            src: VA + u64::from(nbytes),
            dst: hb,
            len: nbytes,
        },
    ];
    ensure!(
        run_vm(c, &vm, hlx::ENGINE_DMA0, &load)? == Ok(()),
        "loading HBM failed"
    );
    let ops: [(VecOp, u32, u32, Vec<i32>); 4] = [
        (
            VecOp::Add,
            N as u32,
            0,
            a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect(),
        ),
        (
            VecOp::Mul,
            N as u32,
            0,
            a.iter().zip(&b).map(|(x, y)| x.wrapping_mul(*y)).collect(),
        ),
        (
            VecOp::Max,
            N as u32,
            0,
            a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect(),
        ),
        (
            VecOp::Gemv,
            ROWS as u32,
            COLS as u32,
            (0..ROWS)
                .map(|r| {
                    (0..COLS).fold(0i32, |s, k| {
                        s.wrapping_add(a[r * COLS + k].wrapping_mul(b[k]))
                    })
                })
                .collect(),
        ),
    ];
    for (i, (op, count, cols, want)) in ops.iter().enumerate() {
        let vec = [Packet::Vec {
            op: *op,
            count: *count,
            dst: hout,
            a: ha,
            b: hb,
            cols: *cols,
        }];
        ensure!(
            run_vm(c, &vm, hlx::ENGINE_CMP1, &vec)? == Ok(()),
            "{op:?} failed"
        );
        let back_va = VA + (2 + i as u64) * u64::from(nbytes);
        let back = [Packet::Copy {
            src: hout,
            dst: back_va,
            len: 4 * count,
        }];
        ensure!(
            run_vm(c, &vm, hlx::ENGINE_DMA0, &back)? == Ok(()),
            "reading {op:?} back failed"
        );
        let mut got = vec![0u8; 4 * *count as usize];
        map.read((2 + i) * 4 * N, &mut got);
        ensure!(
            got == bytes(want),
            "{op:?}: the device's result differs from userspace's"
        );
    }
    tap::pass()
}

/// VMs one after another, each bound and destroyed: more than the 63 address spaces and, at 4
/// page tables each, more than the pool's 1024 tables. Each VM's release (no job used it) hands
/// both back, so every bind works and the usage returns to what it was.
pub fn gone_vms_give_back_asids_and_tables(c: &Ctx) -> TestResult {
    let before = hlx::hw_info(&c.dev)?;
    let bo = Bo::create(&c.dev, 4096, c.system)?;
    for i in 0..300 {
        let vm = Vm::create(&c.dev)?;
        let binding = vm.bind(&bo, 0, 4096, VA, Access::ReadWrite);
        ensure!(binding.is_ok(), "VM {i}: VM_BIND: {:?}", binding.err());
    }
    let after = hlx::hw_info(&c.dev)?;
    ensure!(
        after.asids_used == before.asids_used && after.page_table_bytes == before.page_table_bytes,
        "before {before:?}, after {after:?}"
    );
    tap::pass()
}
