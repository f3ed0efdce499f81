// SPDX-License-Identifier: GPL-2.0-only
//! Jobs without a VM (the HBM of the buffer objects in their BO list), the parser's
//! refusals, hang recovery and the vendor queries.

use std::time::Duration;

use xaccel::hlx::{self, MsgTarget, Packet, VecOp};
use xaccel::uapi::DRM_XACCEL_SUBMIT_BO_WRITE;
use xaccel::{Bo, Context, Errno, Priority, Submit, Vm};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{self, TestResult};

use crate::ctx::*;

pub fn engines(c: &Ctx) -> TestResult {
    let names: Vec<String> = c.dev.engines()?.into_iter().map(|e| e.name).collect();
    ensure!(
        names == ["dma0", "dma1", "cmp0", "cmp1"],
        "engines {names:?}"
    );
    tap::pass()
}

pub fn nop_on_every_queue(c: &Ctx) -> TestResult {
    let done = c.counter("jobs_done")?;
    for engine in 0..4 {
        let got = c.run(engine, &[Packet::Nop, Packet::Nop], None)?;
        ensure!(got == Ok(()), "engine {engine}: {got:?}");
    }
    ensure!(
        c.counter("jobs_done")? == done + 4,
        "jobs_done did not grow by 4"
    );
    ensure!(c.counter("irq_cq")? > 0, "no CQ interrupt counted");
    tap::pass()
}

/// An HBM BO has a device address in the HBM region, reads as zero, keeps what the CPU writes
/// through its mapping, and a new BO over the same HBM reads as zero again.
pub fn hbm_bo_basics(c: &Ctx) -> TestResult {
    let info = hlx::hw_info(&c.dev)?;
    let len = 2 * 4096;
    let pattern: Vec<u8> = (0..len).map(|i| (i * 13 + 5) as u8).collect();
    let mut addrs = Vec::new();
    for round in 0..2 {
        let (bo, addr) = c.hbm_bo(len as u64)?;
        ensure!(
            addr >= HBM_REGION_BASE && addr + len as u64 <= info.hbm_size && addr % 4096 == 0,
            "device address {addr:#x} outside the HBM region"
        );
        ensure!(
            bo.info().region == c.hbm
                && bo.info().flags & xaccel::uapi::DRM_XACCEL_BO_DEVICE_ADDR != 0,
            "BO_INFO {:?}",
            bo.info()
        );
        let map = bo.map()?;
        let mut got = vec![0xffu8; len];
        map.read(0, &mut got);
        ensure!(
            got.iter().all(|&b| b == 0),
            "round {round}: a new HBM BO is not zeroed"
        );
        map.write(0, &pattern);
        map.read(0, &mut got);
        ensure!(got == pattern, "round {round}: HBM read back differs");
        addrs.push(addr);
    }
    // The allocator reuses freed HBM: the second object got the first one's bytes, zeroed.
    ensure!(addrs[0] == addrs[1], "HBM was not reused: {addrs:x?}");
    tap::pass()
}

/// Three pages of an HBM BO in the BO list of a DMA job and a compute job: the device
/// computes on them, and the CPU reads the results through the BO's (write-combined) mapping.
pub fn hbm_dma_and_compute(c: &Ctx) -> TestResult {
    let (hbm, base) = c.hbm_bo(0x3000)?;
    let (a, b, d) = (base, base + 0x1000, base + 0x2000);
    let listed = [(&hbm, DRM_XACCEL_SUBMIT_BO_WRITE)];
    let dma = [
        Packet::Memset {
            dst: a,
            len: 0x1000,
            pattern: 3,
        },
        Packet::Copy {
            src: a,
            dst: b,
            len: 0x1000,
        },
        Packet::MsgLong {
            target: MsgTarget::Sob { add: false },
            addr: 10,
            value: 1,
        },
    ];
    ensure!(
        c.run_bos(hlx::ENGINE_DMA0, &dma, &listed)? == Ok(()),
        "DMA job failed"
    );
    let vec = [
        Packet::Fence { sob: 10, target: 1 },
        Packet::Vec {
            op: VecOp::Add,
            count: 1024,
            dst: d,
            a,
            b,
            cols: 0,
        },
    ];
    ensure!(
        c.run_bos(hlx::ENGINE_CMP0, &vec, &listed)? == Ok(()),
        "compute job failed"
    );
    let map = hbm.map()?;
    let mut got = vec![0u8; 0x3000];
    map.read(0, &mut got);
    let word = |page: usize, v: u32| {
        got[page * 0x1000..][..0x1000]
            .chunks(4)
            .all(|w| w == v.to_le_bytes())
    };
    ensure!(
        word(0, 3) && word(1, 3) && word(2, 6),
        "the CPU mapping does not show MEMSET 3, its copy and their sum"
    );
    tap::pass()
}

/// Privileged packets, HBM outside the job's BOs (another BO's, the page tables, past the
/// end), writes to a BO listed read-only, and malformed packets are refused at SUBMIT.
pub fn privileged_packets_refused(c: &Ctx) -> TestResult {
    let (mine, base) = c.hbm_bo(0x2000)?;
    let (_other, other) = c.hbm_bo(0x1000)?;
    let (read_only, ro_base) = c.hbm_bo(0x1000)?;
    let cases: [(&str, u32, Vec<Packet>, Errno); 14] = [
        (
            "WREG32",
            0,
            vec![Packet::Wreg32 {
                offset: 0x110,
                value: 1,
            }],
            Errno::PERM,
        ),
        ("STOP", 0, vec![Packet::Nop, Packet::Stop], Errno::PERM),
        (
            "PTE_WRITE",
            2,
            vec![Packet::PteWrite { pa: 0, value: 1 }],
            Errno::PERM,
        ),
        (
            "MSG_LONG to the CQ",
            1,
            vec![Packet::MsgLong {
                target: MsgTarget::Cq,
                addr: 0,
                value: 1,
            }],
            Errno::PERM,
        ),
        (
            "LIN_DMA from host memory",
            0,
            vec![Packet::Copy {
                src: 1 << 63,
                dst: base,
                len: 64,
            }],
            Errno::ACCESS,
        ),
        (
            "LIN_DMA from another BO's HBM",
            0,
            vec![Packet::Copy {
                src: other,
                dst: base,
                len: 64,
            }],
            Errno::ACCESS,
        ),
        (
            "MSG_LONG into another BO's HBM",
            1,
            vec![Packet::MsgLong {
                target: MsgTarget::Mem,
                addr: other,
                value: 1,
            }],
            Errno::ACCESS,
        ),
        (
            "LIN_DMA across the end of the BO",
            0,
            vec![Packet::Memset {
                dst: base + 0x1ff0,
                len: 0x20,
                pattern: 0,
            }],
            Errno::ACCESS,
        ),
        (
            "LIN_DMA into a BO listed read-only",
            0,
            vec![Packet::Copy {
                src: base,
                dst: ro_base,
                len: 64,
            }],
            Errno::ACCESS,
        ),
        (
            "LIN_DMA into driver HBM",
            0,
            vec![Packet::Memset {
                dst: 0,
                len: 64,
                pattern: 0,
            }],
            Errno::ACCESS,
        ),
        (
            "VEC past the end of the BO and of HBM",
            2,
            vec![Packet::Vec {
                op: VecOp::Add,
                count: 1 << 24,
                dst: base,
                a: base,
                b: base,
                cols: 0,
            }],
            Errno::ACCESS,
        ),
        (
            "VEC on a DMA queue",
            0,
            vec![Packet::Vec {
                op: VecOp::Add,
                count: 1,
                dst: base,
                a: base,
                b: base,
                cols: 0,
            }],
            Errno::INVAL,
        ),
        (
            "FENCE on sync object 256",
            3,
            vec![Packet::Fence {
                sob: 256,
                target: 1,
            }],
            Errno::INVAL,
        ),
        (
            "a command buffer over 4 KiB",
            0,
            vec![Packet::Nop; 513],
            Errno::TOOBIG,
        ),
    ];
    let listed = [(&mine, DRM_XACCEL_SUBMIT_BO_WRITE), (&read_only, 0)];
    for (what, engine, packets, want) in cases {
        let got = c.refusal(engine, &packets, &listed)?;
        ensure!(got == Some(want), "{what}: got {got:?}, want {want:?}");
    }
    // The same HBM named by a job that does not list the BO.
    let own = [Packet::Memset {
        dst: base,
        len: 64,
        pattern: 0,
    }];
    let got = c.refusal(0, &own, &[])?;
    ensure!(got == Some(Errno::ACCESS), "HBM of an unlisted BO: {got:?}");
    ensure!(
        c.run_bos(0, &own, &listed)? == Ok(()),
        "the listed BO's HBM was refused"
    );
    // A truncated packet.
    let ctx = Context::create(&c.dev, 0, Priority::Normal)?;
    let bo = Bo::create(&c.dev, 4096, c.system)?;
    bo.map()?.write(
        0,
        &hlx::encode(&[Packet::Copy {
            src: base,
            dst: base,
            len: 8,
        }])[..16],
    );
    let got = ctx
        .submit(&Submit::new(&bo, 0, 16))
        .err()
        .and_then(|e| e.errno());
    ensure!(got == Some(Errno::INVAL), "truncated LIN_DMA: {got:?}");
    tap::pass()
}

/// A wedged engine times the job out; the queue is reset (soft for mode 1, the soft reset
/// fails and the device is hard-reset for mode 2) and new jobs, on that queue and another,
/// complete.
pub fn hang(c: &Ctx, mode: u32, counter: &str) -> TestResult {
    let before = c.counter(counter)?;
    let queue = hlx::ENGINE_CMP1;
    c.wedge(queue, mode)?;
    let guilty = Context::create(&c.dev, queue, Priority::Normal)?;
    let innocent = Context::create(&c.dev, hlx::ENGINE_DMA1, Priority::Normal)?;
    let stuck = c.submit(&guilty, &[Packet::Nop], Some(Duration::from_millis(300)))?;
    let other = c.submit(&innocent, &[Packet::Nop], None)?;
    ensure!(
        outcome(&stuck)? == Err(Errno::TIME),
        "wedged job did not time out"
    );
    ensure!(outcome(&other)? == Ok(()), "innocent job failed");
    ensure!(c.counter(counter)? == before + 1, "{counter} did not grow");
    ensure!(
        c.run(queue, &[Packet::Nop], None)? == Ok(()),
        "queue dead after the reset"
    );
    let again = c.submit(&innocent, &[Packet::Nop], None)?;
    ensure!(
        outcome(&again)? == Ok(()),
        "innocent context dead after the reset"
    );
    tap::pass()
}

pub fn soft_hang(c: &Ctx) -> TestResult {
    hang(c, 1, "soft_resets")
}

pub fn hard_hang(c: &Ctx) -> TestResult {
    hang(c, 2, "hard_resets")
}

pub fn vendor_queries(c: &Ctx) -> TestResult {
    // A VM in use, so that an address space and page tables are in use too.
    let vm = Vm::create(&c.dev)?;
    let (_bo, _binding, _) = bound(c, &vm, VA, 4096, None)?;
    let info = hlx::hw_info(&c.dev)?;
    ensure!(
        info.id == 0x3158_4c48 && info.version >> 16 == 1,
        "identity {info:?}"
    );
    ensure!(
        info.hbm_size > HBM_REGION_BASE && info.hbm_user_base == HBM_REGION_BASE,
        "HBM {info:?}"
    );
    let region = c.dev.regions()?.into_iter().find(|r| r.id == c.hbm);
    ensure!(
        region.is_some_and(|r| r.size == (info.hbm_size - HBM_REGION_BASE) / 4096 * 4096),
        "the HBM region is not the HBM after the page tables"
    );
    ensure!(
        info.num_queues == 4 && info.page_table_bytes > 0 && info.asids_used > 0,
        "{info:?}"
    );
    let counters = hlx::counters(&c.dev)?;
    ensure!(
        counters.jobs_done == c.counter("jobs_done")?,
        "jobs_done differs from debugfs"
    );
    ensure!(
        counters.soft_resets == c.counter("soft_resets")?,
        "soft_resets differs"
    );
    ensure!(
        u64::from(counters.irq_cq) == c.counter("irq_cq")? && counters.irq_cq > 0,
        "irq_cq"
    );
    let queues = hlx::queues(&c.dev)?;
    ensure!(queues.len() == 4, "{} queues", queues.len());
    for (i, q) in queues.iter().enumerate() {
        // Every queue is enabled and idle between tests.
        ensure!(
            q.queue == i as u32 && q.status & 0xf == 1,
            "queue {i}: {q:?}"
        );
    }
    tap::pass()
}

/// VENDOR_QUERY with bad input: each errno, as for QUERY, and the struct is not changed.
pub fn vendor_query_validation(c: &Ctx) -> TestResult {
    use xaccel::uapi::drm_xaccel_query;
    let size = std::mem::size_of::<hlx::hlx_counters>() as u32;
    let mut room = vec![0u8; 4 * size as usize];
    let good = drm_xaccel_query {
        type_: hlx::HLX_QUERY_COUNTERS,
        item_size: size,
        count: 1,
        items: room.as_mut_ptr() as u64,
        ..Default::default()
    };
    let cases: [(&str, drm_xaccel_query, Errno); 7] = [
        (
            "unknown type",
            drm_xaccel_query { type_: 99, ..good },
            Errno::INVAL,
        ),
        ("flags", drm_xaccel_query { flags: 1, ..good }, Errno::INVAL),
        (
            "reserved",
            drm_xaccel_query {
                reserved: 1,
                ..good
            },
            Errno::INVAL,
        ),
        (
            "item size below the item",
            drm_xaccel_query {
                item_size: size - 8,
                ..good
            },
            Errno::INVAL,
        ),
        (
            "items without count",
            drm_xaccel_query { count: 0, ..good },
            Errno::INVAL,
        ),
        (
            "count overflowing 32 bits",
            drm_xaccel_query {
                count: u32::MAX,
                item_size: 4096,
                ..good
            },
            Errno::OVERFLOW,
        ),
        (
            "unmapped items",
            drm_xaccel_query { items: 8, ..good },
            Errno::FAULT,
        ),
    ];
    for (what, q, want) in cases {
        let mut arg = q;
        // SAFETY: `items` is `room` (large enough for `count` = 1 item, and for the refused
        // requests nothing is written) or an address that is never mapped.
        let got = unsafe { c.dev.vendor_query_raw(&mut arg) };
        ensure!(got == Err(want), "{what}: {got:?}, want {want:?}");
        ensure!(arg == q, "{what}: the struct changed");
    }
    let mut probe = drm_xaccel_query {
        type_: hlx::HLX_QUERY_QUEUES,
        ..Default::default()
    };
    // SAFETY: No items pointer.
    unsafe { c.dev.vendor_query_raw(&mut probe) }?;
    ensure!(probe.count == 4 && probe.item_size == 16, "probe {probe:?}");
    tap::pass()
}

/// HBM exported to a device that does not reach it peer-to-peer (vaccel's faux device, at
/// `/dev/accel/accel0` in the VM run; `hbm_refuse=0`): an HBM BO no job used migrates to
/// system memory (no device address any more, jobs naming its old HBM are refused, the data
/// moved), also after a refused SUBMIT listed it; one a job named stays in HBM and the import
/// fails with `EBUSY`.
pub fn hbm_export_migrates_unless_used(c: &Ctx) -> TestResult {
    let peer = match xaccel::Device::open(std::path::Path::new("/dev/accel/accel0")) {
        Ok(peer) if peer.device_info()?.backend == "vaccel" => peer,
        _ => return tap::skip("no vaccel device at /dev/accel/accel0"),
    };
    let (idle, idle_addr) = c.hbm_bo(0x1000)?;
    idle.map()?.write(8, &[0x5a; 16]);
    // A SUBMIT the parser refuses does not keep the BO in HBM.
    let refused = c.refusal(
        hlx::ENGINE_DMA0,
        &[Packet::Stop],
        &[(&idle, DRM_XACCEL_SUBMIT_BO_WRITE)],
    )?;
    ensure!(refused == Some(Errno::PERM), "STOP: {refused:?}");
    let fd = idle.export()?;
    let imported = peer.import(std::os::fd::AsFd::as_fd(&fd))?;
    let after = c.dev.bo_info(idle.handle())?;
    ensure!(
        after.device_addr.is_none() && after.flags & xaccel::uapi::DRM_XACCEL_BO_DEVICE_ADDR == 0,
        "a migrated BO still reports a device address: {after:?}"
    );
    let mut got = [0u8; 16];
    idle.map()?.read(8, &mut got);
    ensure!(got == [0x5a; 16], "the data did not move with the BO");
    let old = [Packet::Memset {
        dst: idle_addr,
        len: 64,
        pattern: 0,
    }];
    let listed = [(&idle, DRM_XACCEL_SUBMIT_BO_WRITE)];
    let got = c.refusal(hlx::ENGINE_DMA0, &old, &listed)?;
    ensure!(
        got == Some(Errno::ACCESS),
        "a job on a migrated BO's old HBM: {got:?}"
    );
    drop(imported);
    let (used, used_addr) = c.hbm_bo(0x1000)?;
    let job = [Packet::Memset {
        dst: used_addr,
        len: 64,
        pattern: 9,
    }];
    let listed = [(&used, DRM_XACCEL_SUBMIT_BO_WRITE)];
    ensure!(
        c.run_bos(hlx::ENGINE_DMA0, &job, &listed)? == Ok(()),
        "the job failed"
    );
    let fd = used.export()?;
    let import = peer.prime_fd_to_handle_raw(std::os::fd::AsFd::as_fd(&fd));
    ensure!(
        import == Err(Errno::BUSY),
        "import of HBM a job used: {import:?}, expected EBUSY"
    );
    ensure!(
        c.dev.bo_info(used.handle())?.device_addr == Some(used_addr),
        "the used BO left HBM"
    );
    tap::pass()
}
