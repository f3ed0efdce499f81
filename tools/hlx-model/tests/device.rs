// SPDX-License-Identifier: GPL-2.0-only
//! Device-level behaviour: identification, commands, CQ/EQ rings (full, overflow),
//! interrupt masking, soft and hard reset, and hangs through the wedge command.

mod common;

use common::*;
use hlx_model::device::*;
use hlx_model::engines::State;
use hlx_model::packets::*;
use hlx_model::queues::*;
use hlx_model::regs::{self, VECTOR_CQ, VECTOR_EQ};

#[test]
fn power_on_state() {
    let rig = Rig::bare();
    let r = rig.regs();
    assert_eq!(r.read(regs::ID), 0x3158_4C48);
    assert_eq!(rig.phys_read_reg_bytes(), *b"HLX1");
    assert_eq!(r.read(regs::VERSION), 0x0001_0000);
    assert_eq!(r.read64(regs::HBM_SIZE), HBM_SIZE);
    assert_eq!(r.read(regs::NUM_QUEUES_REG), 4);
    assert_eq!(r.read(regs::NUM_SOBS_REG), 256);
    assert_eq!(r.read(regs::NUM_ASIDS_REG), 64);
    assert_eq!(r.read(regs::NUM_VECTORS_REG), 8);
    assert_eq!(r.read(regs::DEV_STATUS), regs::DEV_STATUS_READY);
    assert_eq!(r.read(regs::PEER_ID), 0);
    assert_eq!(r.read(regs::IRQ_MASK), 3, "all causes masked");
    assert_eq!(r.read(regs::HARD_RESET_COUNT), 0);
    for q in 0..4 {
        assert_eq!(r.queue(q, regs::Q_STATUS), State::Disabled as u32);
    }
}

trait IdBytes {
    fn phys_read_reg_bytes(&self) -> [u8; 4];
}

impl IdBytes for Rig {
    fn phys_read_reg_bytes(&self) -> [u8; 4] {
        let mut b = [0; 4];
        self.bar.read(0, &mut b).unwrap();
        b
    }
}

#[test]
fn commands_complete_through_the_mailbox() {
    let mut rig = Rig::bare();
    let r = rig.regs();
    assert_eq!(rig.cmd(CMD_NOP, 0, 0), CMD_OK);
    assert_eq!(r.read(regs::CMD_DONE_SEQ), 1);
    // A control doorbell with nothing new does nothing.
    r.write(regs::CMD_OPCODE, CMD_HARD_RESET);
    rig.dev.doorbell(regs::DOORBELL_CONTROL);
    assert_eq!(r.read(regs::HARD_RESET_COUNT), 0);
    // Commands only run on the control doorbell.
    r.write(regs::CMD_SEQ, 2);
    rig.dev.doorbell(0);
    rig.dev.doorbell(5);
    assert_eq!(r.read(regs::CMD_DONE_SEQ), 1);
    rig.dev.doorbell(regs::DOORBELL_CONTROL);
    assert_eq!(r.read(regs::CMD_DONE_SEQ), 2);
    assert_eq!(r.read(regs::HARD_RESET_COUNT), 1);
}

#[test]
fn invalid_commands_and_arguments() {
    let mut rig = Rig::bare();
    let r = rig.regs();
    assert_eq!(rig.cmd(99, 0, 0), CMD_EINVAL);
    assert_eq!(rig.cmd(CMD_SOFT_RESET, 1 << 4, 0), CMD_EINVAL);
    assert_eq!(rig.cmd(CMD_QUEUE_ENABLE, 4, 0), CMD_EINVAL);
    assert_eq!(rig.cmd(CMD_QUEUE_DISABLE, 4, 0), CMD_EINVAL);
    assert_eq!(rig.cmd(CMD_SET_IRQ_MASK, 4, 0), CMD_EINVAL);
    assert_eq!(rig.cmd(CMD_WEDGE, 0, 3), CMD_EINVAL);
    assert_eq!(rig.cmd(CMD_WEDGE, 4, 1), CMD_EINVAL);
    // Ring geometry: size not a power of two, too small, too big, misaligned base,
    // outside memory.
    for (base, size) in [
        (0u64, 6000u32),
        (0, 2048),
        (0, 32 << 20),
        (4, 4096),
        (HBM_SIZE - 0x800, 4096),
        (host(RAM_BELOW_4G - 0x800), 4096),
    ] {
        r.write64(regs::queue_reg(0, regs::Q_BASE), base);
        r.write(regs::queue_reg(0, regs::Q_SIZE), size);
        assert_eq!(
            rig.cmd(CMD_QUEUE_ENABLE, 0, 0),
            CMD_EINVAL,
            "{base:#x}/{size}"
        );
        assert_eq!(rig.dev.engine_state(0), State::Disabled);
    }
    // CQ geometry: not a power of two, one entry, too many, misaligned.
    for (base, entries) in [
        (host(CQ_GPA), 3u32),
        (host(CQ_GPA), 1),
        (host(CQ_GPA), 1 << 17),
        (host(CQ_GPA + 8), 4),
    ] {
        r.write64(regs::CQ_BASE, base);
        r.write(regs::CQ_ENTRIES, entries);
        assert_eq!(rig.cmd(CMD_CQ_INIT, 0, 0), CMD_EINVAL);
        assert_eq!(r.read(regs::CQ_STATUS), 0);
    }
}

#[test]
fn queue_enable_starts_empty_at_the_drivers_pi() {
    let mut rig = Rig::bare();
    let r = rig.regs();
    r.write64(regs::queue_reg(2, regs::Q_BASE), 0x8000);
    r.write(regs::queue_reg(2, regs::Q_SIZE), 8192);
    r.write(regs::queue_reg(2, regs::Q_PI), 0x1238);
    assert_eq!(rig.cmd(CMD_QUEUE_ENABLE, 2, 0), CMD_OK);
    assert_eq!(r.queue(2, regs::Q_CI), 0x1238);
    assert_eq!(r.queue(2, regs::Q_STATUS), State::Idle as u32);
    assert_eq!(rig.cmd(CMD_QUEUE_DISABLE, 2, 0), CMD_OK);
    assert_eq!(r.queue(2, regs::Q_STATUS), State::Disabled as u32);
    // A disabled queue ignores its doorbell.
    rig.push_bytes(2, &Packet::Nop.encode());
    rig.dev.doorbell(2);
    rig.dev.run_until_idle();
    assert_eq!(r.queue(2, regs::Q_PKT_COUNT), 0);
}

#[test]
fn cq_full_stalls_the_engine_until_the_driver_consumes() {
    let mut rig = Rig::new();
    // Shrink the CQ to 2 entries.
    let r = rig.regs();
    r.write(regs::CQ_ENTRIES, 2);
    r.write(regs::CQ_CI, 0);
    assert_eq!(rig.cmd(CMD_CQ_INIT, 0, 0), CMD_OK);
    rig.resync();
    for tag in 0..3 {
        rig.job(1, &[], tag);
    }
    assert_eq!(rig.dev.run_until_idle(), Activity::Waiting);
    assert_eq!(rig.dev.engine_state(1), State::CqWait);
    assert_eq!(r.read(regs::CQ_PI), 2);
    // The rig's CQ has 64 slots of 16 bytes but the device uses the first 2.
    let tags: Vec<u32> = rig.cq().iter().map(|e| e.data).collect();
    assert_eq!(tags, [0, 1]);
    assert_eq!(rig.dev.run_until_idle(), Activity::Idle);
    let e = rig.phys_read(host(CQ_GPA), 16);
    let e = CqEntry::decode(&e.try_into().unwrap());
    assert_eq!((e.data, e.seq), (2, 2), "third entry wrapped to slot 0");
}

#[test]
fn eq_overflow_drops_and_counts() {
    let mut rig = Rig::new();
    let r = rig.regs();
    r.write(regs::EQ_ENTRIES, 2);
    r.write(regs::EQ_CI, 0);
    assert_eq!(rig.cmd(CMD_EQ_INIT, 0, 0), CMD_OK);
    rig.resync();
    for tag in 0..5 {
        rig.job(
            0,
            &[Packet::LinDma {
                src: LinSrc::Addr(HBM_SIZE),
                dst: 0,
                len: 1,
            }],
            tag,
        );
    }
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().len(), 5);
    assert_eq!(r.read(regs::EQ_PI), 2);
    assert_eq!(r.read(regs::EQ_DROPPED), 3);
    let ev = rig.phys_read(host(EQ_GPA + 32), 32);
    assert_eq!(EqEntry::decode(&ev.try_into().unwrap()).seq, 1);
}

#[test]
fn events_without_an_eq_are_dropped_and_cq_errors_reported() {
    let mut rig = Rig::bare();
    rig.enable_queue(0);
    // No CQ, no EQ: the completion is lost, and so is the event about it.
    rig.job(0, &[], 1);
    rig.dev.run_until_idle();
    assert_eq!(rig.regs().read(regs::EQ_DROPPED), 1);
    assert_eq!(rig.regs().queue(0, regs::Q_JOB_COUNT), 1);
    // With an EQ, the lost completion is an event carrying its value.
    let r = rig.regs();
    r.write64(regs::EQ_BASE, host(EQ_GPA));
    r.write(regs::EQ_ENTRIES, EQ_ENTRIES);
    assert_eq!(rig.cmd(CMD_EQ_INIT, 0, 0), CMD_OK);
    rig.job(0, &[], 2);
    rig.dev.run_until_idle();
    let ev = rig.eq();
    assert_eq!((ev[0].kind, ev[0].info, ev[0].addr), (EV_CQ_ERROR, 0, 2));
}

#[test]
fn masked_interrupts_are_pending_until_unmasked() {
    let mut rig = Rig::new();
    assert_eq!(rig.cmd(CMD_SET_IRQ_MASK, regs::IRQ_CQ, 0), CMD_OK);
    rig.job(0, &[], 1);
    rig.job(
        0,
        &[Packet::LinDma {
            src: LinSrc::Addr(HBM_SIZE),
            dst: 0,
            len: 1,
        }],
        2,
    );
    rig.dev.run_until_idle();
    assert_eq!(rig.irqs.take(), [VECTOR_EQ], "CQ masked, EQ not");
    let r = rig.regs();
    assert_eq!(r.read(regs::IRQ_STATUS), regs::IRQ_CQ);
    assert_eq!(r.read(regs::IRQ_COUNT_CQ), 0);
    assert_eq!(r.read(regs::IRQ_COUNT_EQ), 1);
    assert_eq!(rig.cmd(CMD_SET_IRQ_MASK, 0, 0), CMD_OK);
    assert_eq!(rig.irqs.take(), [VECTOR_CQ], "delivered on unmask");
    assert_eq!(r.read(regs::IRQ_STATUS), 0);
    assert_eq!(r.read(regs::IRQ_COUNT_CQ), 1);
    assert_eq!(rig.cq().len(), 2);
}

#[test]
fn one_interrupt_per_run_for_many_entries() {
    let mut rig = Rig::new();
    for tag in 0..10 {
        rig.job(tag as usize % 4, &[], tag);
    }
    rig.dev.run_until_idle();
    assert_eq!(rig.irqs.take(), [VECTOR_CQ]);
    assert_eq!(rig.cq().len(), 10);
}

#[test]
fn soft_reset_drops_the_queue_and_counts() {
    let mut rig = Rig::new();
    rig.job(2, &[Packet::Fence { sob: 9, target: 1 }], 1);
    rig.job(2, &[], 2);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(2), State::FenceWait);
    let r = rig.regs();
    let pi = r.queue(2, regs::Q_PI);
    assert_eq!(r.queue(2, regs::Q_CI), 0, "CI locates the hung packet");
    assert_eq!(rig.soft_reset(2), CMD_OK);
    assert_eq!(r.queue(2, regs::Q_CI), pi);
    assert_eq!(r.queue(2, regs::Q_STATUS), State::Idle as u32);
    assert_eq!(r.queue(2, regs::Q_SOFT_RESET_COUNT), 1);
    assert_eq!(r.queue(2, regs::Q_FENCE_TARGET), 0);
    // The SOB is set later: nothing of the dropped jobs runs.
    r.write(regs::sob(9), 1);
    rig.dev.run_until_idle();
    assert!(rig.cq().is_empty());
    // Other queues were never disturbed, and this one takes new work.
    rig.job(2, &[], 3);
    rig.job(3, &[], 4);
    rig.dev.run_until_idle();
    let mut tags: Vec<u32> = rig.cq().iter().map(|e| e.data).collect();
    tags.sort();
    assert_eq!(tags, [3, 4]);
}

#[test]
fn soft_reset_leaves_error_skip_mode() {
    let mut rig = Rig::new();
    // A faulting packet without its completion yet: the engine is skipping.
    rig.submit(
        0,
        &[Packet::LinDma {
            src: LinSrc::Addr(HBM_SIZE),
            dst: 0,
            len: 1,
        }],
    );
    rig.dev.run_until_idle();
    assert_ne!(
        rig.regs().queue(0, regs::Q_STATUS) & regs::Q_STATUS_ERROR_SKIP,
        0
    );
    assert_eq!(rig.soft_reset(0), CMD_OK);
    rig.job(0, &[], 7);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq()[0].status, ERR_NONE);
}

#[test]
fn hard_reset_restores_reset_values_and_keeps_hbm() {
    let mut rig = Rig::new();
    rig.mmu_on();
    rig.map(3, 0x1000_0000, 0x40000, true);
    rig.phys_write(0x123456, b"survives");
    rig.regs().write(regs::sob(7), 99);
    rig.job(0, &[], 1);
    rig.job(2, &[Packet::Fence { sob: 1, target: 1 }], 2);
    rig.dev.run_until_idle();
    rig.dev.heartbeat();
    assert_eq!(rig.cmd(CMD_HARD_RESET, 0, 0), CMD_OK);
    let r = rig.regs();
    assert_eq!(r.read(regs::HARD_RESET_COUNT), 1);
    assert_eq!(r.read(regs::HEARTBEAT), 1, "not reset");
    assert_eq!(r.read(regs::ID), regs::ID_VALUE);
    assert_eq!(r.read(regs::DEV_STATUS), regs::DEV_STATUS_READY);
    assert_eq!(r.read(regs::IRQ_MASK), 3);
    assert_eq!(r.read64(regs::CQ_BASE), 0);
    assert_eq!(r.read(regs::CQ_PI), 0);
    assert_eq!(r.read(regs::CQ_STATUS), 0);
    assert_eq!(r.read(regs::MMU_CTRL), 0);
    assert_eq!(r.read64(regs::mmu_hop0(3)), 0);
    assert_eq!(r.sob(7), 0);
    for q in 0..4 {
        assert_eq!(r.queue(q, regs::Q_STATUS), State::Disabled as u32);
        assert_eq!(r.queue(q, regs::Q_CI), 0);
        assert_eq!(r.queue(q, regs::Q_PI), 0);
        assert_eq!(r.queue(q, regs::Q_JOB_COUNT), 0);
    }
    assert_eq!(rig.phys_read(0x123456, 8), b"survives");
    // The driver brings it up again and it works.
    rig.bring_up();
    rig.job(2, &[], 3);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq()[0].data, 3);
}

#[test]
fn soft_wedge_hangs_until_soft_reset() {
    let mut rig = Rig::new();
    assert_eq!(rig.cmd(CMD_WEDGE, 2, 1), CMD_OK);
    assert_ne!(
        rig.regs().queue(2, regs::Q_STATUS) & regs::Q_STATUS_WEDGE_ARMED,
        0
    );
    rig.job(2, &[], 1);
    rig.job(3, &[], 2);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(2), State::Wedged);
    assert_eq!(rig.regs().queue(2, regs::Q_CI), 0, "nothing consumed");
    assert_eq!(rig.cq().iter().map(|e| e.data).collect::<Vec<_>>(), [2]);
    // More doorbells change nothing.
    rig.job(2, &[], 3);
    rig.dev.run_until_idle();
    assert!(rig.cq().is_empty());
    assert_eq!(rig.soft_reset(2), CMD_OK);
    rig.job(2, &[], 4);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().iter().map(|e| e.data).collect::<Vec<_>>(), [4]);
}

#[test]
fn hard_wedge_needs_a_hard_reset() {
    let mut rig = Rig::new();
    assert_eq!(rig.cmd(CMD_WEDGE, 1, 2), CMD_OK);
    rig.job(1, &[], 1);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(1), State::Wedged);
    assert_eq!(rig.soft_reset(1), CMD_HUNG);
    assert_eq!(rig.cmd(CMD_SOFT_RESET, 0b1011, 0), CMD_HUNG);
    assert_eq!(
        rig.regs().queue(0, regs::Q_SOFT_RESET_COUNT),
        1,
        "others reset"
    );
    assert_eq!(rig.cmd(CMD_QUEUE_DISABLE, 1, 0), CMD_HUNG);
    assert_eq!(rig.cmd(CMD_QUEUE_ENABLE, 1, 0), CMD_HUNG);
    assert_eq!(rig.dev.engine_state(1), State::Wedged);
    // Innocent queues keep working while queue 1 is wedged.
    rig.job(0, &[], 2);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().iter().map(|e| e.data).collect::<Vec<_>>(), [2]);
    assert_eq!(rig.cmd(CMD_HARD_RESET, 0, 0), CMD_OK);
    rig.bring_up();
    rig.job(1, &[], 3);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().iter().map(|e| e.data).collect::<Vec<_>>(), [3]);
}

#[test]
fn wedge_can_be_disarmed_and_soft_reset_disarms() {
    let mut rig = Rig::new();
    assert_eq!(rig.cmd(CMD_WEDGE, 0, 2), CMD_OK);
    assert_eq!(rig.cmd(CMD_WEDGE, 0, 0), CMD_OK);
    rig.job(0, &[], 1);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().len(), 1);
    assert_eq!(rig.cmd(CMD_WEDGE, 0, 2), CMD_OK);
    assert_eq!(rig.soft_reset(0), CMD_OK, "armed, not yet wedged");
    rig.job(0, &[], 2);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().len(), 1);
}

#[test]
fn heartbeat_advances() {
    let rig = Rig::bare();
    for _ in 0..3 {
        rig.dev.heartbeat();
    }
    assert_eq!(rig.regs().read(regs::HEARTBEAT), 3);
}
