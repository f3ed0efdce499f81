// SPDX-License-Identifier: GPL-2.0-only
//! Packet encode/decode: every packet's exact bytes (as Documentation/hlx.rst lays them
//! out), round trips, and every decode rule.

use hlx_model::packets::*;

fn all_packets() -> Vec<Packet> {
    vec![
        Packet::Nop,
        Packet::Stop,
        Packet::Wreg32 {
            offset: 0x110,
            value: 5,
        },
        Packet::MsgLong {
            target: MsgTarget::Mem {
                addr: 0x1234_5678_9ABC,
            },
            value: 0xCAFE,
        },
        Packet::MsgLong {
            target: MsgTarget::Sob {
                index: 255,
                add: false,
            },
            value: 1,
        },
        Packet::MsgLong {
            target: MsgTarget::Sob {
                index: 3,
                add: true,
            },
            value: u32::MAX,
        },
        Packet::MsgLong {
            target: MsgTarget::Cq,
            value: 77,
        },
        Packet::Fence {
            sob: 9,
            target: 1000,
        },
        Packet::LinDma {
            src: LinSrc::Addr(PA_HOST | 0x1000),
            dst: 0x2000,
            len: 12345,
        },
        Packet::LinDma {
            src: LinSrc::Pattern(0xA5A5_0001),
            dst: 0x7,
            len: 3,
        },
        Packet::PteWrite {
            pa: 0x10_0008,
            value: 0x8000_0000_0001_2003,
        },
        Packet::Vec(VecArgs {
            op: VecOp::Gemv,
            count: 16,
            cols: 8,
            dst: 0x100,
            a: 0x200,
            b: 0x300,
        }),
        Packet::Vec(VecArgs {
            op: VecOp::Max,
            count: 1 << 24,
            cols: 0,
            dst: 0,
            a: 4,
            b: 8,
        }),
    ]
}

#[test]
fn every_packet_round_trips() {
    for p in all_packets() {
        let bytes = p.encode();
        assert_eq!(bytes.len(), p.size(), "{p:?}");
        assert_eq!(bytes.len() % 8, 0);
        assert_eq!(bytes[0], p.opcode());
        assert_eq!(usize::from(bytes[1]) * 8, p.size());
        assert_eq!(Packet::decode(&bytes), Ok((p, p.size())), "{p:?}");
        // Trailing bytes (the next packet) are not consumed.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&Packet::Nop.encode());
        assert_eq!(Packet::decode(&longer), Ok((p, p.size())));
    }
}

#[test]
fn exact_layouts() {
    let le = |v: u64, n: usize| v.to_le_bytes()[..n].to_vec();
    let cat = |parts: &[Vec<u8>]| parts.concat();
    assert_eq!(Packet::Nop.encode(), [0x0A, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Packet::Stop.encode(), [0x0B, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        Packet::Wreg32 {
            offset: 0x110,
            value: 0xAABBCCDD
        }
        .encode(),
        cat(&[
            vec![0x01, 2, 0, 0],
            le(0xAABBCCDD, 4),
            le(0x110, 4),
            le(0, 4)
        ])
    );
    assert_eq!(
        Packet::MsgLong {
            target: MsgTarget::Sob {
                index: 7,
                add: true
            },
            value: 2
        }
        .encode(),
        cat(&[vec![0x03, 2, 0b101, 0], le(2, 4), le(7, 8)])
    );
    assert_eq!(
        Packet::MsgLong {
            target: MsgTarget::Cq,
            value: 9
        }
        .encode(),
        cat(&[vec![0x03, 2, 2, 0], le(9, 4), le(0, 8)])
    );
    assert_eq!(
        Packet::MsgLong {
            target: MsgTarget::Mem { addr: 0x40 },
            value: 1
        }
        .encode(),
        cat(&[vec![0x03, 2, 0, 0], le(1, 4), le(0x40, 8)])
    );
    assert_eq!(
        Packet::Fence { sob: 4, target: 3 }.encode(),
        cat(&[vec![0x08, 2, 0, 0], le(3, 4), le(4, 4), le(0, 4)])
    );
    assert_eq!(
        Packet::LinDma {
            src: LinSrc::Addr(PA_HOST | 0x10),
            dst: 0x20,
            len: 0x30
        }
        .encode(),
        cat(&[
            vec![0x09, 3, 0, 0],
            le(0x30, 4),
            le(PA_HOST | 0x10, 8),
            le(0x20, 8)
        ])
    );
    assert_eq!(
        Packet::LinDma {
            src: LinSrc::Pattern(0x11223344),
            dst: 0x20,
            len: 5
        }
        .encode(),
        cat(&[
            vec![0x09, 3, 1, 0],
            le(5, 4),
            le(0x11223344, 8),
            le(0x20, 8)
        ])
    );
    assert_eq!(
        Packet::PteWrite { pa: 0x88, value: 3 }.encode(),
        cat(&[vec![0x0C, 3, 0, 0], le(0, 4), le(0x88, 8), le(3, 8)])
    );
    assert_eq!(
        Packet::Vec(VecArgs {
            op: VecOp::Mul,
            count: 6,
            cols: 0,
            dst: 0x100,
            a: 0x200,
            b: 0x300
        })
        .encode(),
        cat(&[
            vec![0x10, 5, 2, 0],
            le(6, 4),
            le(0x100, 8),
            le(0x200, 8),
            le(0x300, 8),
            le(0, 8)
        ])
    );
}

#[test]
fn privileged_packets() {
    let privileged: Vec<_> = all_packets()
        .into_iter()
        .filter(Packet::is_privileged)
        .map(|p| p.opcode())
        .collect();
    assert_eq!(
        privileged,
        [OP_STOP, OP_WREG32, OP_MSG_LONG, OP_PTE_WRITE],
        "STOP, WREG32, MSG_LONG to the CQ, PTE_WRITE"
    );
}

fn reason(bytes: &[u8]) -> Illegal {
    Packet::decode(bytes).unwrap_err().reason
}

fn with(mut bytes: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    bytes[at] = value;
    bytes
}

#[test]
fn decode_rejects_every_rule() {
    let nop = Packet::Nop.encode();
    assert_eq!(reason(&[]), Illegal::Truncated);
    assert_eq!(reason(&nop[..7]), Illegal::Truncated);
    assert_eq!(reason(&with(nop.clone(), 1, 0)), Illegal::Malformed);
    assert_eq!(reason(&with(nop.clone(), 1, 9)), Illegal::Malformed);
    assert_eq!(reason(&with(nop.clone(), 1, 2)), Illegal::Truncated);
    assert_eq!(reason(&with(nop.clone(), 0, 0x55)), Illegal::UnknownOpcode);
    assert_eq!(reason(&with(nop.clone(), 0, 0)), Illegal::UnknownOpcode);
    assert_eq!(reason(&with(nop.clone(), 2, 1)), Illegal::Reserved);
    assert_eq!(reason(&with(nop.clone(), 4, 1)), Illegal::Reserved);
    let mut two = nop.clone();
    two[1] = 2;
    two.extend_from_slice(&[0; 8]);
    assert_eq!(reason(&two), Illegal::BadSize, "NOP declared 16 bytes");

    let wreg = Packet::Wreg32 {
        offset: 0x110,
        value: 0,
    }
    .encode();
    assert_eq!(reason(&with(wreg.clone(), 8, 0x11)), Illegal::BadOperand);
    assert_eq!(reason(&with(wreg.clone(), 9, 0x10)), Illegal::BadOperand);
    assert_eq!(reason(&with(wreg.clone(), 12, 1)), Illegal::Reserved);

    let msg = Packet::MsgLong {
        target: MsgTarget::Mem { addr: 0x40 },
        value: 0,
    }
    .encode();
    assert_eq!(reason(&with(msg.clone(), 8, 0x42)), Illegal::BadOperand);
    assert_eq!(reason(&with(msg.clone(), 2, 3)), Illegal::BadOperand);
    assert_eq!(reason(&with(msg.clone(), 2, 0b100)), Illegal::Reserved);
    assert_eq!(reason(&with(msg.clone(), 2, 0b1000)), Illegal::Reserved);
    let sob = with(with(msg.clone(), 2, 1), 8, 0);
    assert!(Packet::decode(&sob).is_ok());
    assert_eq!(reason(&with(sob.clone(), 9, 1)), Illegal::BadOperand);
    let cq = with(with(msg.clone(), 2, 2), 8, 0);
    assert!(Packet::decode(&cq).is_ok());
    assert_eq!(reason(&with(cq.clone(), 8, 4)), Illegal::Reserved);
    assert_eq!(reason(&with(cq, 2, 6)), Illegal::Reserved);

    let fence = Packet::Fence { sob: 0, target: 1 }.encode();
    assert_eq!(reason(&with(fence.clone(), 9, 1)), Illegal::BadOperand);
    assert_eq!(reason(&with(fence.clone(), 13, 1)), Illegal::Reserved);
    assert_eq!(reason(&with(fence, 3, 1)), Illegal::Reserved);

    let fill = Packet::LinDma {
        src: LinSrc::Pattern(1),
        dst: 0,
        len: 4,
    }
    .encode();
    assert_eq!(reason(&with(fill.clone(), 12, 1)), Illegal::Reserved);
    assert_eq!(reason(&with(fill, 2, 3)), Illegal::Reserved);

    let pte = Packet::PteWrite { pa: 8, value: 0 }.encode();
    assert_eq!(reason(&with(pte.clone(), 8, 4)), Illegal::BadOperand);
    assert_eq!(reason(&with(pte.clone(), 15, 0x80)), Illegal::BadOperand);
    assert_eq!(reason(&with(pte, 4, 1)), Illegal::Reserved);

    let vec = |op: VecOp, count: u32, cols: u32, a: u64| {
        Packet::Vec(VecArgs {
            op,
            count,
            cols,
            dst: 0,
            a,
            b: 0,
        })
        .encode()
    };
    assert_eq!(reason(&vec(VecOp::Add, 4, 0, 2)), Illegal::BadOperand);
    assert_eq!(reason(&vec(VecOp::Add, 4, 1, 0)), Illegal::BadOperand);
    assert_eq!(reason(&vec(VecOp::Gemv, 4, 0, 0)), Illegal::BadOperand);
    assert_eq!(
        reason(&vec(VecOp::Gemv, 1 << 12, (1 << 12) + 1, 0)),
        Illegal::BadOperand
    );
    assert_eq!(
        reason(&vec(VecOp::Add, (1 << 24) + 1, 0, 0)),
        Illegal::BadOperand
    );
    assert!(Packet::decode(&vec(VecOp::Gemv, 1 << 12, 1 << 12, 0)).is_ok());
    assert_eq!(
        reason(&with(vec(VecOp::Add, 1, 0, 0), 2, 5)),
        Illegal::BadOperand
    );
    assert_eq!(
        reason(&with(vec(VecOp::Add, 1, 0, 0), 2, 0x10)),
        Illegal::Reserved
    );
    assert_eq!(
        reason(&with(vec(VecOp::Add, 1, 0, 0), 36, 1)),
        Illegal::Reserved
    );
}

#[test]
fn declared_sizes_bound_skipping() {
    for p in all_packets() {
        let b = p.encode();
        assert_eq!(
            declared_size(&b[..8].try_into().unwrap()),
            Some(p.size()),
            "{p:?}"
        );
    }
}
