// SPDX-License-Identifier: GPL-2.0-only
//! Every packet executing on the device, against in-memory HBM and a fake guest-RAM
//! file, with its completion (CQ), events (EQ) and interrupts.

mod common;

use common::*;
use hlx_model::engines::State;
use hlx_model::packets::*;
use hlx_model::queues::*;
use hlx_model::regs::{self, VECTOR_CQ, VECTOR_EQ};

fn dma(src: u64, dst: u64, len: u32) -> Packet {
    Packet::LinDma {
        src: LinSrc::Addr(src),
        dst,
        len,
    }
}

fn ok(tag: u32, queue: u16) -> CqEntry {
    CqEntry {
        data: tag,
        queue,
        status: ERR_NONE,
        seq: 0,
    }
}

/// CQ entries with `seq` cleared (tests compare the rest).
fn cq_no_seq(rig: &mut Rig) -> Vec<CqEntry> {
    rig.cq()
        .into_iter()
        .map(|e| CqEntry { seq: 0, ..e })
        .collect()
}

#[test]
fn nop_job_completes_with_cq_entry_and_interrupt() {
    let mut rig = Rig::new();
    rig.job(0, &[Packet::Nop, Packet::Nop], 41);
    rig.dev.run_until_idle();
    let cq = rig.cq();
    assert_eq!(
        cq,
        [CqEntry {
            data: 41,
            queue: 0,
            status: 0,
            seq: 0
        }]
    );
    assert_eq!(rig.irqs.take(), [VECTOR_CQ]);
    let r = rig.regs();
    assert_eq!(r.queue(0, regs::Q_CI), 32, "two NOPs and a MSG_LONG");
    assert_eq!(r.queue(0, regs::Q_PKT_COUNT), 3);
    assert_eq!(r.queue(0, regs::Q_JOB_COUNT), 1);
    assert_eq!(r.queue(0, regs::Q_STATUS), State::Idle as u32);
    assert_eq!(r.read(regs::IRQ_COUNT_CQ), 1);
    assert!(rig.eq().is_empty());
}

#[test]
fn lin_dma_host_to_hbm_to_host_is_bit_exact() {
    let mut rig = Rig::new();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    rig.phys_write(host(0x200000), &data);
    let len = data.len() as u32;
    rig.job(0, &[dma(host(0x200000), 0x100003, len)], 1);
    rig.job(1, &[Packet::Fence { sob: 0, target: 0 }], 2);
    rig.dev.run_until_idle();
    assert!(rig.phys_read(0x100003, data.len()) == data, "host -> HBM");
    rig.job(1, &[dma(0x100003, 0x300001, len)], 3);
    rig.dev.run_until_idle();
    assert!(rig.phys_read(0x300001, data.len()) == data, "HBM -> HBM");
    rig.job(0, &[dma(0x300001, host(0x400005), len)], 4);
    rig.dev.run_until_idle();
    assert!(
        rig.phys_read(host(0x400005), data.len()) == data,
        "HBM -> host"
    );
    let mut cq = cq_no_seq(&mut rig);
    cq.sort_by_key(|e| e.data);
    assert_eq!(cq, [ok(1, 0), ok(2, 1), ok(3, 1), ok(4, 0)]);
}

#[test]
fn lin_dma_reaches_ram_above_4g_and_faults_in_the_hole() {
    let mut rig = Rig::new();
    let high = FOUR_GIB_PA + 0x1000;
    rig.phys_write(host(high), b"above the hole");
    rig.job(0, &[dma(host(high), 0x5000, 14)], 1);
    rig.dev.run_until_idle();
    assert_eq!(rig.phys_read(0x5000, 14), b"above the hole");
    // The last 4 bytes below the hole are RAM; the next ones are not. Accesses are
    // split at 4 KiB boundaries: the first piece lands, the second faults.
    rig.job(0, &[dma(0x5000, host(RAM_BELOW_4G - 4), 8)], 2);
    rig.dev.run_until_idle();
    assert_eq!(
        cq_no_seq(&mut rig),
        [
            ok(1, 0),
            CqEntry {
                status: ERR_ACCESS,
                ..ok(2, 0)
            }
        ]
    );
    let ev = rig.eq();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind, EV_ACCESS_ERROR);
    assert_eq!(ev[0].addr, host(RAM_BELOW_4G), "start of the failing piece");
    assert_eq!(ev[0].info, 1 | (1 << 16), "write, HOST_RANGE");
    assert_eq!(rig.phys_read(host(RAM_BELOW_4G - 4), 4), b"abov");
}

const FOUR_GIB_PA: u64 = 1 << 32;

#[test]
fn lin_dma_memset_repeats_the_pattern() {
    let mut rig = Rig::new();
    rig.phys_write(0x7000, &[0xEE; 16]);
    rig.job(
        2,
        &[Packet::LinDma {
            src: LinSrc::Pattern(0x4433_2211),
            dst: 0x7001,
            len: 7,
        }],
        1,
    );
    rig.dev.run_until_idle();
    assert_eq!(
        rig.phys_read(0x7000, 10),
        [0xEE, 0x11, 0x22, 0x33, 0x44, 0x11, 0x22, 0x33, 0xEE, 0xEE]
    );
}

#[test]
fn lin_dma_of_zero_bytes_touches_nothing() {
    let mut rig = Rig::new();
    rig.job(0, &[dma(host(1 << 40), 1 << 40, 0)], 5);
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(5, 0)]);
}

#[test]
fn compute_engines_cannot_reach_the_host() {
    let mut rig = Rig::new();
    rig.job(2, &[dma(host(0x200000), 0x100, 4)], 9);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq()[0].status, ERR_ACCESS);
    let ev = rig.eq();
    assert_eq!(ev[0].kind, EV_ACCESS_ERROR);
    assert_eq!(ev[0].queue, 2);
    assert_eq!(ev[0].info, 2 << 16, "read, HOST_DENIED");
}

#[test]
fn msg_long_writes_memory_and_sync_objects() {
    let mut rig = Rig::new();
    rig.job(
        0,
        &[
            Packet::MsgLong {
                target: MsgTarget::Mem { addr: host(0x9000) },
                value: 0xFEED_F00D,
            },
            Packet::MsgLong {
                target: MsgTarget::Sob {
                    index: 5,
                    add: false,
                },
                value: 10,
            },
            Packet::MsgLong {
                target: MsgTarget::Sob {
                    index: 5,
                    add: true,
                },
                value: u32::MAX,
            },
        ],
        1,
    );
    rig.dev.run_until_idle();
    assert_eq!(rig.read_u32s(host(0x9000), 1), [0xFEED_F00D]);
    assert_eq!(rig.regs().sob(5), 9, "10 + (2^32 - 1) wraps to 9");
}

#[test]
fn fence_waits_for_another_queue() {
    let mut rig = Rig::new();
    rig.job(2, &[Packet::Fence { sob: 1, target: 2 }], 20);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(2), State::FenceWait);
    assert_eq!(rig.regs().queue(2, regs::Q_FENCE_SOB), 1);
    assert_eq!(rig.regs().queue(2, regs::Q_FENCE_TARGET), 2);
    assert!(rig.cq().is_empty());
    let add = Packet::MsgLong {
        target: MsgTarget::Sob {
            index: 1,
            add: true,
        },
        value: 1,
    };
    rig.job(0, &[add], 10);
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(10, 0)], "one of two signals");
    rig.job(0, &[add], 11);
    rig.dev.run_until_idle();
    let mut cq = cq_no_seq(&mut rig);
    cq.sort_by_key(|e| e.data);
    assert_eq!(cq, [ok(11, 0), ok(20, 2)]);
    assert_eq!(rig.dev.engine_state(2), State::Idle);
}

#[test]
fn fence_released_by_the_cpu() {
    let mut rig = Rig::new();
    rig.job(
        3,
        &[Packet::Fence {
            sob: 200,
            target: 1,
        }],
        1,
    );
    assert_eq!(
        rig.dev.run_until_idle(),
        hlx_model::device::Activity::Waiting
    );
    rig.regs().write(regs::sob(200), 1);
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(1, 3)]);
}

#[test]
fn vec_elementwise_and_gemv_on_hbm() {
    let mut rig = Rig::new();
    let a: Vec<u32> = (0..64).map(|i| (i * 3) as u32).collect();
    let b: Vec<u32> = (0..64i32).map(|i| (i - 32) as u32).collect();
    rig.write_u32s(0x20000, &a);
    rig.write_u32s(0x21000, &b);
    let vec = |op, count, cols, dst| {
        Packet::Vec(VecArgs {
            op,
            count,
            cols,
            dst,
            a: 0x20000,
            b: 0x21000,
        })
    };
    rig.job(
        2,
        &[
            vec(VecOp::Add, 64, 0, 0x22000),
            vec(VecOp::Sub, 64, 0, 0x23000),
            vec(VecOp::Mul, 64, 0, 0x24000),
            vec(VecOp::Max, 64, 0, 0x25000),
            vec(VecOp::Gemv, 8, 8, 0x26000),
        ],
        1,
    );
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(1, 2)]);
    let zip =
        |f: fn(u32, u32) -> u32| -> Vec<u32> { a.iter().zip(&b).map(|(x, y)| f(*x, *y)).collect() };
    assert_eq!(rig.read_u32s(0x22000, 64), zip(u32::wrapping_add));
    assert_eq!(rig.read_u32s(0x23000, 64), zip(u32::wrapping_sub));
    assert_eq!(rig.read_u32s(0x24000, 64), zip(u32::wrapping_mul));
    assert_eq!(
        rig.read_u32s(0x25000, 64),
        zip(|x, y| (x as i32).max(y as i32) as u32)
    );
    let gemv: Vec<u32> = (0..8)
        .map(|r| {
            (0..8).fold(0u32, |acc, c| {
                acc.wrapping_add(a[r * 8 + c].wrapping_mul(b[c]))
            })
        })
        .collect();
    assert_eq!(rig.read_u32s(0x26000, 8), gemv);
}

#[test]
fn vec_reads_operands_before_writing() {
    let mut rig = Rig::new();
    rig.write_u32s(0x20000, &[1, 2, 3, 4]);
    // dst overlaps a, shifted by one element.
    rig.job(
        3,
        &[Packet::Vec(VecArgs {
            op: VecOp::Add,
            count: 3,
            cols: 0,
            dst: 0x20004,
            a: 0x20000,
            b: 0x20000,
        })],
        1,
    );
    rig.dev.run_until_idle();
    assert_eq!(rig.read_u32s(0x20000, 4), [1, 2, 4, 6]);
}

#[test]
fn vec_on_a_dma_engine_is_illegal() {
    let mut rig = Rig::new();
    let v = Packet::Vec(VecArgs {
        op: VecOp::Add,
        count: 1,
        cols: 0,
        dst: 0,
        a: 0,
        b: 0,
    });
    rig.job(1, &[v], 7);
    rig.dev.run_until_idle();
    assert_eq!(rig.cq()[0].status, ERR_ILLEGAL_PACKET);
    let ev = rig.eq();
    assert_eq!(ev[0].kind, EV_ILLEGAL_PACKET);
    assert_eq!(
        ev[0].info,
        u32::from(OP_VEC) | (Illegal::WrongEngine as u32) << 16
    );
    assert_eq!(ev[0].addr, ring_pa(1));
    assert_eq!(ev[0].ci, 0);
    assert_eq!(rig.irqs.take(), [VECTOR_CQ, VECTOR_EQ]);
}

#[test]
fn wreg32_writes_driver_registers_only() {
    let mut rig = Rig::new();
    rig.job(
        0,
        &[Packet::Wreg32 {
            offset: regs::queue_reg(3, regs::Q_ASID) as u32,
            value: 17,
        }],
        1,
    );
    rig.dev.run_until_idle();
    assert_eq!(rig.regs().queue(3, regs::Q_ASID), 17);
    let seq = rig.regs().read(regs::CMD_SEQ);
    rig.job(
        0,
        &[Packet::Wreg32 {
            offset: regs::CMD_SEQ as u32,
            value: seq + 100,
        }],
        2,
    );
    rig.dev.run_until_idle();
    let cq = cq_no_seq(&mut rig);
    assert_eq!(cq[1].status, ERR_ILLEGAL_PACKET);
    assert_eq!(rig.regs().read(regs::CMD_SEQ), seq, "untouched");
    assert_eq!(
        rig.eq()[0].info,
        u32::from(OP_WREG32) | (Illegal::BadRegister as u32) << 16
    );
}

#[test]
fn stop_halts_the_queue_until_soft_reset() {
    let mut rig = Rig::new();
    rig.submit(0, &[Packet::Stop, completion(1)]);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(0), State::Stopped);
    assert_eq!(rig.regs().queue(0, regs::Q_CI), 8);
    assert!(rig.cq().is_empty());
    let ev = rig.eq();
    assert_eq!(
        (ev[0].kind, ev[0].queue, ev[0].ci),
        (EV_QUEUE_STOPPED, 0, 0)
    );
    assert_eq!(rig.soft_reset(0), 0);
    assert_eq!(rig.regs().queue(0, regs::Q_CI), 24, "the rest was dropped");
    rig.job(0, &[], 2);
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(2, 0)]);
}

#[test]
fn pte_write_updates_tables_and_invalidates() {
    let mut rig = Rig::new();
    rig.mmu_on();
    rig.set_asid(2, 1);
    rig.map(1, 0x4000_0000, 0x30000, true);
    rig.write_u32s(0x30000, &[111]);
    rig.write_u32s(0x31000, &[222]);
    let read = Packet::LinDma {
        src: LinSrc::Addr(0x4000_0000),
        dst: 0x4000_0010,
        len: 4,
    };
    rig.job(2, &[read], 1);
    rig.dev.run_until_idle();
    assert_eq!(rig.read_u32s(0x30010, 1), [111]);
    // Remap the page through the queue (physical write + invalidate), then copy again.
    let pte_pa = rig.pte_addr(1, 0x4000_0000, 3);
    rig.set_asid(0, 0);
    rig.job(
        0,
        &[Packet::PteWrite {
            pa: pte_pa,
            value: 0x31000 | 3,
        }],
        2,
    );
    rig.dev.run_until_idle();
    rig.job(2, &[read], 3);
    rig.dev.run_until_idle();
    assert_eq!(rig.read_u32s(0x31010, 1), [222]);
    assert_eq!(rig.cq().iter().map(|e| e.status).max(), Some(0));
    assert_eq!(rig.regs().read(regs::MMU_INVAL_COUNT), 1);
}

#[test]
fn pte_write_outside_hbm_is_an_access_error() {
    let mut rig = Rig::new();
    rig.job(
        0,
        &[Packet::PteWrite {
            pa: HBM_SIZE,
            value: 1,
        }],
        1,
    );
    rig.dev.run_until_idle();
    assert_eq!(rig.cq()[0].status, ERR_ACCESS);
    assert_eq!(rig.eq()[0].addr, HBM_SIZE);
}

#[test]
fn ring_wraps_around() {
    let mut rig = Rig::new();
    // 4096-byte ring: 400 jobs of 24 bytes (NOP + completion) wrap twice.
    for i in 0..400 {
        rig.job(3, &[Packet::Nop], i);
        rig.dev.run_until_idle();
        let cq = rig.cq();
        assert_eq!(cq.len(), 1);
        assert_eq!((cq[0].data, cq[0].status), (i, 0));
    }
    assert_eq!(rig.regs().queue(3, regs::Q_CI), 400 * 24);
    const { assert!(400 * 24 > 2 * RING_SIZE) };
}

#[test]
fn a_fault_fails_only_its_job() {
    let mut rig = Rig::new();
    let bad = dma(HBM_SIZE - 2, 0x100, 4);
    let sob = Packet::MsgLong {
        target: MsgTarget::Sob {
            index: 0,
            add: true,
        },
        value: 1,
    };
    rig.job(0, &[bad, sob, sob], 1);
    rig.job(0, &[sob], 2);
    rig.dev.run_until_idle();
    assert_eq!(
        cq_no_seq(&mut rig),
        [
            CqEntry {
                status: ERR_ACCESS,
                ..ok(1, 0)
            },
            ok(2, 0)
        ]
    );
    assert_eq!(rig.regs().sob(0), 1, "only the second job's signal ran");
    let r = rig.regs();
    assert_eq!(r.queue(0, regs::Q_ERR_JOB_COUNT), 1);
    assert_eq!(r.queue(0, regs::Q_JOB_COUNT), 2);
    assert_eq!(r.queue(0, regs::Q_ERROR), u32::from(ERR_ACCESS));
    assert_eq!(
        r.queue(0, regs::Q_PKT_COUNT),
        4,
        "bad DMA, 2 completions, SOB"
    );
    let ev = rig.eq();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].kind, ev[0].addr, ev[0].info),
        (EV_ACCESS_ERROR, HBM_SIZE, 0),
        "read of the piece past the end of HBM"
    );
}

#[test]
fn illegal_packets_are_skipped_malformed_ones_halt() {
    let mut rig = Rig::new();
    // Unknown opcode with a valid size: skipped, the job fails, the queue goes on.
    rig.push_bytes(1, &[0x77, 2, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    rig.job(1, &[], 1);
    rig.job(1, &[], 2);
    rig.dev.run_until_idle();
    let cq = cq_no_seq(&mut rig);
    assert_eq!(cq[0].status, ERR_ILLEGAL_PACKET);
    assert_eq!(cq[1], ok(2, 1));
    assert_eq!(
        rig.eq()[0].info,
        0x77 | (Illegal::UnknownOpcode as u32) << 16
    );
    // Size 0: the boundary is lost, the queue halts.
    rig.push_bytes(1, &[OP_NOP, 0, 0, 0, 0, 0, 0, 0]);
    rig.job(1, &[], 3);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(1), State::Halted);
    assert!(rig.cq().is_empty());
    let ev = rig.eq();
    assert_eq!(
        ev[0].info,
        u32::from(OP_NOP) | (Illegal::Malformed as u32) << 16
    );
    assert_eq!(rig.soft_reset(1), 0);
    rig.job(1, &[], 4);
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(4, 1)]);
}

#[test]
fn truncated_packet_and_bad_producer_index_halt() {
    let mut rig = Rig::new();
    let fence = Packet::Fence { sob: 0, target: 0 }.encode();
    rig.push_bytes(0, &fence[..8]);
    rig.dev.doorbell(0);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(0), State::Halted);
    assert_eq!(rig.eq()[0].info >> 16, Illegal::Truncated as u32);
    assert_eq!(rig.soft_reset(0), 0);
    let r = rig.regs();
    r.set_queue(0, regs::Q_PI, r.queue(0, regs::Q_PI) + 4);
    rig.dev.doorbell(0);
    rig.dev.run_until_idle();
    assert_eq!(rig.dev.engine_state(0), State::Halted);
    assert_eq!(rig.eq()[0].info >> 16, Illegal::BadProducerIndex as u32);
}

#[test]
fn packets_wait_for_the_doorbell() {
    let mut rig = Rig::new();
    let bytes = completion(5).encode();
    rig.push_bytes(0, &bytes);
    rig.dev.run_until_idle();
    assert!(rig.cq().is_empty(), "Q_PI is only latched by the doorbell");
    assert_eq!(rig.regs().queue(0, regs::Q_LATCHED_PI), 0);
    rig.dev.doorbell(0);
    rig.dev.run_until_idle();
    assert_eq!(cq_no_seq(&mut rig), [ok(5, 0)]);
    assert_eq!(rig.regs().queue(0, regs::Q_LATCHED_PI), 16);
}

#[test]
fn queues_interleave_round_robin() {
    let mut rig = Rig::new();
    for q in 0..4 {
        let nops = vec![Packet::Nop; 40];
        rig.job(q, &nops, q as u32);
    }
    // 4 engines x 10 packets: nobody finished; everyone moved.
    rig.dev.run(40);
    for q in 0..4 {
        assert_eq!(rig.regs().queue(q, regs::Q_PKT_COUNT), 10, "queue {q}");
    }
    rig.dev.run_until_idle();
    assert_eq!(rig.cq().len(), 4);
}
