// SPDX-License-Identifier: GPL-2.0-only
//! The device MMU: four-level walks, 2 MiB pages, host mappings, every fault reason
//! reported on the EQ with the faulting address, the translation cache and its
//! invalidation, and bypass.

mod common;

use common::*;
use hlx_model::device::{ALL_ASIDS, CMD_EINVAL, CMD_MMU_INVALIDATE, CMD_OK};
use hlx_model::mmu::{FaultReason, PTE_HOST, PTE_LAST, PTE_PRESENT, PTE_WRITABLE};
use hlx_model::packets::*;
use hlx_model::queues::*;
use hlx_model::regs::{self, VECTOR_EQ};

const VA: u64 = 0x0000_7F12_3456_7000;

fn copy(src: u64, dst: u64, len: u32) -> Packet {
    Packet::LinDma {
        src: LinSrc::Addr(src),
        dst,
        len,
    }
}

fn store(addr: u64, value: u32) -> Packet {
    Packet::MsgLong {
        target: MsgTarget::Mem { addr },
        value,
    }
}

/// A rig with the MMU on, queues 0 and 2 in ASID 1, and VA 0x60000 (the copies'
/// destination) mapped to the same HBM address.
fn rig() -> Rig {
    let mut rig = Rig::new();
    rig.map(1, 0x60000, 0x60000, true);
    rig.mmu_on();
    rig.set_asid(0, 1);
    rig.set_asid(2, 1);
    rig
}

/// Runs a one-packet job on queue `q`; returns its CQ status and the events it raised.
fn run(rig: &mut Rig, q: usize, p: Packet) -> (u16, Vec<EqEntry>) {
    rig.job(q, &[p], 0);
    rig.dev.run_until_idle();
    let cq = rig.cq();
    assert_eq!(cq.len(), 1);
    (cq[0].status, rig.eq())
}

fn fault_info(write: bool, hop: u32, reason: FaultReason) -> u32 {
    u32::from(write) | hop << 8 | (reason as u32) << 16
}

#[test]
fn four_level_walk_hits_the_page() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, true);
    rig.map(1, VA + 0x1000, 0x52000, true);
    // A store straddling the two pages lands in both physical pages.
    rig.write_u32s(0x40000, &[0; 1024]);
    let (status, ev) = run(
        &mut rig,
        0,
        Packet::LinDma {
            src: LinSrc::Pattern(0x0403_0201),
            dst: VA + 0xFFE,
            len: 4,
        },
    );
    assert_eq!((status, ev.len()), (0, 0));
    assert_eq!(rig.phys_read(0x40FFE, 2), [1, 2]);
    assert_eq!(rig.phys_read(0x52000, 2), [3, 4]);
    assert_eq!(rig.dev.mmu().walks(), 2, "one per page");
    // Hop tables were taken from HBM_FREE on: hop0, hop1, hop2, hop3.
    let r = rig.regs();
    assert_eq!(r.read64(regs::mmu_hop0(1)), HBM_FREE | regs::MMU_HOP0_VALID);
}

#[test]
fn huge_pages_map_2mib() {
    let mut rig = rig();
    let va = 0x4000_0000u64;
    rig.map_huge(1, va, 0x200000);
    rig.write_u32s(0x200000 + 0x1F_FFFC, &[0xABCD]);
    let (status, _) = run(&mut rig, 2, copy(va + 0x1F_FFFC, va + 0x10, 4));
    assert_eq!(status, 0);
    assert_eq!(rig.read_u32s(0x200010, 1), [0xABCD]);
    assert_eq!(rig.dev.mmu().walks(), 1, "one walk covers the 2 MiB page");
}

#[test]
fn host_pages_through_the_mmu() {
    let mut rig = rig();
    rig.map(1, VA, host(0x300000), true);
    rig.phys_write(host(0x300010), b"from the host");
    let (status, _) = run(&mut rig, 0, copy(VA + 0x10, 0x60000, 13));
    assert_eq!(status, 0);
    assert_eq!(rig.phys_read(0x60000, 13), b"from the host");
    // The compute engine's data path has no route to the host, translated or not.
    let (status, ev) = run(&mut rig, 2, copy(VA + 0x10, 0x60000, 4));
    assert_eq!(status, ERR_ACCESS);
    assert_eq!(ev[0].kind, EV_ACCESS_ERROR);
    assert_eq!(ev[0].addr, host(0x300010), "physical address");
}

#[test]
fn miss_raises_an_mmu_fault_event_with_the_va() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, true);
    let (status, ev) = run(&mut rig, 0, store(VA + 0x2004, 7));
    assert_eq!(status, ERR_MMU_FAULT);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0],
        EqEntry {
            kind: EV_MMU_FAULT,
            queue: 0,
            asid: 1,
            info: fault_info(true, 3, FaultReason::NotPresent),
            addr: VA + 0x2004,
            ci: 0,
            seq: 0,
        }
    );
    assert_eq!(rig.irqs.take(), [0, VECTOR_EQ]);
    let r = rig.regs();
    assert_eq!(r.read(regs::MMU_FAULT_COUNT), 1);
    assert_eq!(r.read64(regs::MMU_FAULT_VA), VA + 0x2004);
    assert_eq!(
        r.read(regs::MMU_FAULT_INFO),
        fault_info(true, 3, FaultReason::NotPresent)
    );
    assert_eq!(r.read(regs::MMU_FAULT_ID), 1 << 8);
}

#[test]
fn faults_name_the_hop_where_the_walk_stopped() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, true);
    let cases = [
        (VA ^ (1 << 39), 0),
        (VA ^ (1 << 30), 1),
        (VA ^ (1 << 21), 2),
        (VA ^ (1 << 12), 3),
    ];
    for (va, hop) in cases {
        let (status, ev) = run(&mut rig, 0, copy(va, 0x60000, 4));
        assert_eq!(status, ERR_MMU_FAULT);
        assert_eq!(ev[0].addr, va);
        assert_eq!(
            ev[0].info,
            fault_info(false, hop, FaultReason::NotPresent),
            "hop {hop}"
        );
    }
}

#[test]
fn every_fault_reason() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, false);
    let reason = |rig: &mut Rig, p: Packet| run(rig, 0, p).1[0].info;
    assert_eq!(
        reason(&mut rig, store(VA, 1)),
        fault_info(true, 3, FaultReason::ReadOnly)
    );
    // LAST at hop 1 is not a valid leaf.
    let va1 = 0x0000_0100_0000_0000u64;
    rig.raw_pte(1, va1, 1, 0x80000 | PTE_PRESENT | PTE_LAST);
    assert_eq!(
        reason(&mut rig, copy(va1, 0x60000, 4)),
        fault_info(false, 1, FaultReason::BadPte)
    );
    // A table pointer with the host bit.
    let va2 = 0x0000_0200_0000_0000u64;
    rig.raw_pte(1, va2, 2, 0x80000 | PTE_PRESENT | PTE_HOST);
    assert_eq!(
        reason(&mut rig, copy(va2, 0x60000, 4)),
        fault_info(false, 2, FaultReason::BadPte)
    );
    // A 2 MiB page that is not 2 MiB aligned.
    let va3 = 0x0000_0300_0000_0000u64;
    rig.raw_pte(1, va3, 2, 0x81000 | PTE_PRESENT | PTE_LAST);
    assert_eq!(
        reason(&mut rig, copy(va3, 0x60000, 4)),
        fault_info(false, 2, FaultReason::BadPte)
    );
    // A table outside HBM.
    let va4 = 0x0000_0400_0000_0000u64;
    rig.raw_pte(1, va4, 1, HBM_SIZE | PTE_PRESENT);
    assert_eq!(
        reason(&mut rig, copy(va4, 0x60000, 4)),
        fault_info(false, 2, FaultReason::BadPte)
    );
    // Bits above 47.
    assert_eq!(
        reason(&mut rig, copy(1 << 48, 0x60000, 4)),
        fault_info(false, 0, FaultReason::VaRange)
    );
    // An ASID without a table, and one out of range.
    rig.set_asid(0, 2);
    assert_eq!(
        reason(&mut rig, copy(VA, 0x60000, 4)),
        fault_info(false, 0, FaultReason::NoTable)
    );
    rig.set_asid(0, 64);
    assert_eq!(
        reason(&mut rig, copy(VA, 0x60000, 4)),
        fault_info(false, 0, FaultReason::BadAsid)
    );
}

#[test]
fn translations_are_cached_until_invalidated() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, true);
    rig.write_u32s(0x40000, &[1]);
    rig.write_u32s(0x41000, &[2]);
    let (s, _) = run(&mut rig, 0, copy(VA, 0x60000, 4));
    assert_eq!((s, rig.read_u32s(0x60000, 1)), (0, vec![1]));
    // Retarget the PTE behind the MMU's back: the stale translation is still used.
    rig.map(1, VA, 0x41000, true);
    let (s, _) = run(&mut rig, 0, copy(VA, 0x60000, 4));
    assert_eq!((s, rig.read_u32s(0x60000, 1)), (0, vec![1]), "stale");
    assert_eq!(rig.cmd(CMD_MMU_INVALIDATE, 2, 0), CMD_OK);
    let (s, _) = run(&mut rig, 0, copy(VA, 0x60000, 4));
    assert_eq!(rig.read_u32s(0x60000, 1), [1], "other ASIDs untouched");
    assert_eq!(s, 0);
    assert_eq!(rig.cmd(CMD_MMU_INVALIDATE, 1, 0), CMD_OK);
    let (s, _) = run(&mut rig, 0, copy(VA, 0x60000, 4));
    assert_eq!((s, rig.read_u32s(0x60000, 1)), (0, vec![2]), "fresh");
    // Clearing a PTE also needs an invalidation; ALL_ASIDS does it.
    rig.raw_pte(1, VA, 3, 0);
    assert_eq!(run(&mut rig, 0, copy(VA, 0x60000, 4)).0, 0, "still cached");
    assert_eq!(rig.cmd(CMD_MMU_INVALIDATE, ALL_ASIDS, 0), CMD_OK);
    assert_eq!(run(&mut rig, 0, copy(VA, 0x60000, 4)).0, ERR_MMU_FAULT);
    assert_eq!(rig.cmd(CMD_MMU_INVALIDATE, 64, 0), CMD_EINVAL);
    assert_eq!(rig.regs().read(regs::MMU_INVAL_COUNT), 3);
}

#[test]
fn new_mappings_need_no_invalidation() {
    let mut rig = rig();
    assert_eq!(run(&mut rig, 0, copy(VA, 0x60000, 4)).0, ERR_MMU_FAULT);
    rig.map(1, VA, 0x40000, true);
    assert_eq!(
        run(&mut rig, 0, copy(VA, 0x60000, 4)).0,
        0,
        "no negative caching"
    );
}

#[test]
fn asid_zero_and_mmu_off_are_physical() {
    let mut rig = Rig::new();
    rig.write_u32s(0x40000, &[42]);
    // MMU off: ASID 1 is ignored.
    rig.set_asid(0, 1);
    assert_eq!(run(&mut rig, 0, copy(0x40000, 0x60000, 4)).0, 0);
    assert_eq!(rig.read_u32s(0x60000, 1), [42]);
    // MMU on, ASID 0: bypass.
    rig.mmu_on();
    rig.set_asid(0, 0);
    assert_eq!(run(&mut rig, 0, copy(0x40000, 0x60004, 4)).0, 0);
    assert_eq!(rig.read_u32s(0x60004, 1), [42]);
    // MMU on, ASID 1 without mappings: the same addresses fault.
    rig.set_asid(0, 1);
    assert_eq!(run(&mut rig, 0, copy(0x40000, 0x60008, 4)).0, ERR_MMU_FAULT);
}

#[test]
fn wreg32_switches_the_address_space_between_jobs() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, true);
    rig.map(2, VA, 0x41000, true);
    let asid = |a| Packet::Wreg32 {
        offset: regs::queue_reg(0, regs::Q_ASID) as u32,
        value: a,
    };
    rig.job(0, &[asid(1), store(VA, 0x11)], 1);
    rig.job(0, &[asid(2), store(VA, 0x22)], 2);
    rig.dev.run_until_idle();
    assert!(rig.cq().iter().all(|e| e.status == 0));
    assert_eq!(rig.read_u32s(0x40000, 1), [0x11]);
    assert_eq!(rig.read_u32s(0x41000, 1), [0x22]);
}

#[test]
fn writable_bit_is_per_leaf() {
    let mut rig = rig();
    rig.map(1, VA, 0x40000, false);
    rig.map(1, VA + 0x1000, 0x41000, true);
    assert_eq!(run(&mut rig, 0, store(VA + 0x1000, 5)).0, 0);
    assert_eq!(rig.read_u32s(0x41000, 1), [5]);
    assert_eq!(
        run(&mut rig, 0, copy(VA, VA + 0x1004, 4)).0,
        0,
        "read-only source"
    );
    let (status, ev) = run(&mut rig, 0, store(VA + 8, 5));
    assert_eq!(status, ERR_MMU_FAULT);
    assert_eq!(
        ev[0].info & 0xFF_FF01,
        fault_info(true, 3, FaultReason::ReadOnly)
    );
    let _ = PTE_WRITABLE;
}
