// SPDX-License-Identifier: GPL-2.0-only

//! The command-buffer parser: what a user job may ask of an HLX engine.
//!
//! In the spirit of habanalabs' Goya parser (`goya_parse_cb_no_mmu`), every packet of a user
//! command buffer is decoded and checked before the buffer is copied into a queue's ring
//! (Documentation/hlx.rst, "Packets"):
//!
//! - privileged packets are refused with `EPERM`: WREG32, STOP, PTE_WRITE and MSG_LONG to the
//!   completion queue (the driver appends the job's completion itself, see `queue`);
//! - every memory range a packet reads or writes is checked with an [`AddressCheck`], refused
//!   with `EACCES`, as are ranges that wrap around the address space ([`ListedBos`] on a
//!   context without a VM; the VM's mappings otherwise, in `hlx.rs`);
//! - malformed packets (unknown opcode, wrong size, reserved bits, bad operands, VEC on a DMA
//!   engine, a truncated packet) are refused with `EINVAL`, a buffer over [`MAX_CB_BYTES`] with
//!   `E2BIG`.
//!
//! The device would skip or halt on most malformed packets by itself; the parser refuses them
//! so that the device only ever sees well-formed rings.

use kernel::prelude::*;
use xaccel::BoDesc;

/// The largest user command buffer, so that a ring always holds a full set of jobs.
pub(crate) const MAX_CB_BYTES: usize = 4096;

pub(crate) const OP_WREG32: u8 = 0x01;
pub(crate) const OP_MSG_LONG: u8 = 0x03;
pub(crate) const OP_FENCE: u8 = 0x08;
pub(crate) const OP_LIN_DMA: u8 = 0x09;
pub(crate) const OP_NOP: u8 = 0x0A;
pub(crate) const OP_STOP: u8 = 0x0B;
pub(crate) const OP_PTE_WRITE: u8 = 0x0C;
pub(crate) const OP_VEC: u8 = 0x10;

/// MSG_LONG targets (flags bits 0-1).
pub(crate) const MSG_TARGET_MEM: u16 = 0;
pub(crate) const MSG_TARGET_SOB: u16 = 1;
pub(crate) const MSG_TARGET_CQ: u16 = 2;
/// MSG_LONG flag: add to the sync object instead of setting it.
const MSG_ADD: u16 = 1 << 2;
/// LIN_DMA flag: fill with a pattern.
const DMA_MEMSET: u16 = 1;
/// VEC operations (flags bits 0-3); 4 is GEMV.
const VEC_GEMV: u16 = 4;
/// Sync objects of the device.
const NUM_SOBS: u64 = 256;
/// Most elements (or matrix entries) a VEC packet may touch.
const VEC_MAX_ELEMENTS: u64 = 1 << 24;

/// Decides which device addresses a job may reach.
pub(crate) trait AddressCheck {
    /// Whether the job may access `[addr, addr + len)` (`len` > 0, no wrap), writing if `write`;
    /// the errno to refuse it with otherwise.
    fn check(&mut self, addr: u64, len: u64, write: bool) -> Result;
}

/// On a context without a VM, addresses are physical: a job may reach the HBM of the buffer
/// objects of its BO list ([`BoDesc::device_addr`]), writing only those listed for writing, as
/// Goya's parser checks a queue without the MMU against the user's memory. Anything else
/// (another client's HBM, the page tables, host memory) is `EACCES`.
pub(crate) struct ListedBos<'a> {
    /// The submission's BO list.
    pub(crate) bos: &'a [BoDesc],
}

impl AddressCheck for ListedBos<'_> {
    fn check(&mut self, addr: u64, len: u64, write: bool) -> Result {
        let end = addr.checked_add(len).ok_or(EACCES)?;
        let inside = |bo: &BoDesc| {
            bo.device_addr.is_some_and(|base| {
                addr >= base && base.checked_add(bo.size).is_some_and(|limit| end <= limit)
            }) && (!write || bo.access.writable())
        };
        if self.bos.iter().any(inside) {
            Ok(())
        } else {
            Err(EACCES)
        }
    }
}

/// The engines a buffer is parsed for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EngineKind {
    /// Queues 0-1: DMA engines, no VEC.
    Dma,
    /// Queues 2-3: compute engines.
    Compute,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32_at(b, at)) | u64::from(u32_at(b, at + 4)) << 32
}

/// The size in qwords of a known opcode.
fn packet_qwords(opcode: u8) -> Option<usize> {
    Some(match opcode {
        OP_NOP | OP_STOP => 1,
        OP_WREG32 | OP_MSG_LONG | OP_FENCE => 2,
        OP_LIN_DMA | OP_PTE_WRITE => 3,
        OP_VEC => 5,
        _ => return None,
    })
}

/// Checks one access: nothing for a zero length, `EACCES` for a wrap, else the checker's word.
fn access(check: &mut impl AddressCheck, addr: u64, len: u64, write: bool) -> Result {
    if len == 0 {
        return Ok(());
    }
    if addr.checked_add(len).is_none() {
        return Err(EACCES);
    }
    check.check(addr, len, write)
}

/// Checks one packet `p` (its whole bytes) for `engine`.
fn check_packet(p: &[u8], engine: EngineKind, check: &mut impl AddressCheck) -> Result {
    let (opcode, flags, imm) = (p[0], u16_at(p, 2), u32_at(p, 4));
    match opcode {
        OP_WREG32 | OP_STOP | OP_PTE_WRITE => Err(EPERM),
        OP_NOP => match (flags, imm) {
            (0, 0) => Ok(()),
            _ => Err(EINVAL),
        },
        OP_MSG_LONG => {
            let target = flags & 3;
            let addr = u64_at(p, 8);
            if flags >> 3 != 0 || target == 3 || (flags & MSG_ADD != 0 && target != MSG_TARGET_SOB)
            {
                return Err(EINVAL);
            }
            match target {
                MSG_TARGET_CQ => Err(EPERM),
                MSG_TARGET_SOB if addr < NUM_SOBS => Ok(()),
                MSG_TARGET_MEM if addr % 4 == 0 => access(check, addr, 4, true),
                _ => Err(EINVAL),
            }
        }
        OP_FENCE => {
            if flags != 0 || u64::from(u32_at(p, 8)) >= NUM_SOBS || u32_at(p, 12) != 0 {
                return Err(EINVAL);
            }
            Ok(())
        }
        OP_LIN_DMA => {
            let (len, src, dst) = (u64::from(imm), u64_at(p, 8), u64_at(p, 16));
            if flags & !DMA_MEMSET != 0 {
                return Err(EINVAL);
            }
            if flags & DMA_MEMSET != 0 {
                if src >> 32 != 0 {
                    return Err(EINVAL);
                }
            } else {
                access(check, src, len, false)?;
            }
            access(check, dst, len, true)
        }
        OP_VEC => {
            if engine != EngineKind::Compute {
                return Err(EINVAL);
            }
            let op = flags & 0xf;
            let (n, dst, a, b, cols) = (
                u64::from(imm),
                u64_at(p, 8),
                u64_at(p, 16),
                u64_at(p, 24),
                u64::from(u32_at(p, 32)),
            );
            if op > VEC_GEMV || flags >> 4 != 0 || u32_at(p, 36) != 0 {
                return Err(EINVAL);
            }
            if dst % 4 != 0 || a % 4 != 0 || b % 4 != 0 {
                return Err(EINVAL);
            }
            let (a_len, b_len) = if op == VEC_GEMV {
                if cols == 0 || n * cols > VEC_MAX_ELEMENTS {
                    return Err(EINVAL);
                }
                (4 * n * cols, 4 * cols)
            } else {
                if cols != 0 || n > VEC_MAX_ELEMENTS {
                    return Err(EINVAL);
                }
                (4 * n, 4 * n)
            };
            if n == 0 {
                return Ok(());
            }
            access(check, a, a_len, false)?;
            access(check, b, b_len, false)?;
            access(check, dst, 4 * n, true)
        }
        _ => Err(EINVAL),
    }
}

/// Parses a user command buffer for `engine` and returns the packets to put in the ring.
///
/// Errors: see the module documentation. An empty buffer is `EINVAL`.
pub(crate) fn parse(
    cb: &[u8],
    engine: EngineKind,
    check: &mut impl AddressCheck,
) -> Result<KVec<u8>> {
    if cb.len() > MAX_CB_BYTES {
        return Err(E2BIG);
    }
    if cb.is_empty() || cb.len() % 8 != 0 {
        return Err(EINVAL);
    }
    let mut at = 0;
    while at < cb.len() {
        let (opcode, size) = (cb[at], usize::from(cb[at + 1]));
        let Some(qwords) = packet_qwords(opcode) else {
            return Err(EINVAL);
        };
        if size != qwords || cb.len() - at < 8 * size {
            return Err(EINVAL);
        }
        check_packet(&cb[at..at + 8 * size], engine, check)?;
        at += 8 * size;
    }
    let mut out = KVec::with_capacity(cb.len(), GFP_KERNEL)?;
    out.extend_from_slice(cb, GFP_KERNEL)?;
    Ok(out)
}

/// The engines' NOP (`DRM_XACCEL_QUERY_NOPS`): one NOP packet, which every engine runs like any
/// user buffer (parsed here, then put in the ring after the job's prologue, completed by the
/// device through the job's completion message).
pub(crate) const NOP: [u8; 8] = [OP_NOP, 1, 0, 0, 0, 0, 0, 0];

/// Encodes a packet header.
pub(crate) fn header(opcode: u8, flags: u16, imm: u32) -> [u8; 8] {
    let qwords = packet_qwords(opcode).unwrap_or(0) as u8;
    let f = flags.to_le_bytes();
    let i = imm.to_le_bytes();
    [opcode, qwords, f[0], f[1], i[0], i[1], i[2], i[3]]
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_hlx_cb)]
mod tests {
    use super::*;

    /// A failed check reports its line and fails the test (without aborting its thread).
    macro_rules! ensure {
        ($cond:expr) => {
            if !$cond {
                pr_err!(
                    "hlx: test check failed at line {}: {}\n",
                    line!(),
                    stringify!($cond)
                );
                return Err(EINVAL);
            }
        };
    }

    /// Allows HBM `[0x10000, 0x20000)` only.
    struct Window;

    impl AddressCheck for Window {
        fn check(&mut self, addr: u64, len: u64, _write: bool) -> Result {
            if addr >= 0x10000 && addr + len <= 0x20000 {
                Ok(())
            } else {
                Err(EACCES)
            }
        }
    }

    fn packet(h: [u8; 8], words: &[u64]) -> KVec<u8> {
        let mut v = KVec::new();
        v.extend_from_slice(&h, GFP_KERNEL).unwrap();
        for w in words {
            v.extend_from_slice(&w.to_le_bytes(), GFP_KERNEL).unwrap();
        }
        v
    }

    fn run(p: &[u8], engine: EngineKind) -> Result {
        parse(p, engine, &mut Window).map(|_| ())
    }

    fn dma(flags: u16, len: u32, src: u64, dst: u64) -> KVec<u8> {
        packet(header(OP_LIN_DMA, flags, len), &[src, dst])
    }

    fn vec(op: u16, n: u32, dst: u64, a: u64, b: u64, cols: u32) -> KVec<u8> {
        packet(header(OP_VEC, op, n), &[dst, a, b, u64::from(cols)])
    }

    #[test]
    fn nop_and_fence() -> Result {
        use EngineKind::*;
        ensure!(run(&header(OP_NOP, 0, 0), Dma).is_ok());
        ensure!(
            NOP == header(OP_NOP, 0, 0) && run(&NOP, Dma).is_ok() && run(&NOP, Compute).is_ok()
        );
        ensure!(run(&header(OP_NOP, 1, 0), Dma) == Err(EINVAL));
        ensure!(run(&header(OP_NOP, 0, 7), Dma) == Err(EINVAL));
        ensure!(run(&packet(header(OP_FENCE, 0, 3), &[255]), Compute).is_ok());
        ensure!(run(&packet(header(OP_FENCE, 0, 3), &[256]), Compute) == Err(EINVAL));
        ensure!(run(&packet(header(OP_FENCE, 0, 3), &[1 << 32]), Compute) == Err(EINVAL));
        ensure!(run(&packet(header(OP_FENCE, 2, 3), &[1]), Compute) == Err(EINVAL));
        Ok(())
    }

    #[test]
    fn privileged_packets_are_refused() -> Result {
        use EngineKind::*;
        ensure!(run(&packet(header(OP_WREG32, 0, 1), &[0x110]), Dma) == Err(EPERM));
        ensure!(run(&header(OP_STOP, 0, 0), Dma) == Err(EPERM));
        ensure!(run(&packet(header(OP_PTE_WRITE, 0, 0), &[0x10000, 1]), Dma) == Err(EPERM));
        let cq = packet(header(OP_MSG_LONG, MSG_TARGET_CQ, 5), &[0]);
        ensure!(run(&cq, Compute) == Err(EPERM));
        // Behind a valid packet too.
        let mut two = packet(header(OP_NOP, 0, 0), &[]);
        two.extend_from_slice(&cq, GFP_KERNEL)?;
        ensure!(run(&two, Dma) == Err(EPERM));
        Ok(())
    }

    #[test]
    fn msg_long() -> Result {
        use EngineKind::*;
        let msg = |flags, addr| packet(header(OP_MSG_LONG, flags, 9), &[addr]);
        ensure!(run(&msg(MSG_TARGET_SOB, 255), Dma).is_ok());
        ensure!(run(&msg(MSG_TARGET_SOB | MSG_ADD, 0), Dma).is_ok());
        ensure!(run(&msg(MSG_TARGET_SOB, 256), Dma) == Err(EINVAL));
        ensure!(run(&msg(MSG_TARGET_MEM, 0x10000), Dma).is_ok());
        ensure!(run(&msg(MSG_TARGET_MEM, 0x10002), Dma) == Err(EINVAL));
        ensure!(run(&msg(MSG_TARGET_MEM, 0x1fffc), Dma).is_ok());
        ensure!(run(&msg(MSG_TARGET_MEM, 0x20000), Dma) == Err(EACCES));
        ensure!(run(&msg(MSG_TARGET_MEM | MSG_ADD, 0x10000), Dma) == Err(EINVAL));
        ensure!(run(&msg(3, 0), Dma) == Err(EINVAL));
        ensure!(run(&msg(1 << 3, 0), Dma) == Err(EINVAL));
        Ok(())
    }

    #[test]
    fn lin_dma() -> Result {
        use EngineKind::*;
        ensure!(run(&dma(0, 0x100, 0x10000, 0x18000), Dma).is_ok());
        ensure!(run(&dma(0, 0x100, 0x10000, 0x1ff01), Dma) == Err(EACCES));
        ensure!(run(&dma(0, 0x100, 0xff00, 0x18000), Dma) == Err(EACCES));
        // A host address (bit 63) is outside the window; so is a wrap.
        ensure!(run(&dma(0, 0x100, 1 << 63, 0x18000), Dma) == Err(EACCES));
        ensure!(run(&dma(0, 0x100, u64::MAX - 0x10, 0x18000), Dma) == Err(EACCES));
        // MEMSET reads nothing, but its pattern has only 32 bits.
        ensure!(run(&dma(DMA_MEMSET, 0x100, 0xdead_beef, 0x18000), Compute).is_ok());
        ensure!(run(&dma(DMA_MEMSET, 0x100, 1 << 32, 0x18000), Dma) == Err(EINVAL));
        ensure!(run(&dma(2, 0x100, 0x10000, 0x18000), Dma) == Err(EINVAL));
        // A zero length accesses nothing.
        ensure!(run(&dma(0, 0, 0, 0), Dma).is_ok());
        Ok(())
    }

    #[test]
    fn vec_packets() -> Result {
        use EngineKind::*;
        ensure!(run(&vec(0, 16, 0x10000, 0x11000, 0x12000, 0), Compute).is_ok());
        ensure!(run(&vec(0, 16, 0x10000, 0x11000, 0x12000, 0), Dma) == Err(EINVAL));
        ensure!(run(&vec(5, 16, 0x10000, 0x11000, 0x12000, 0), Compute) == Err(EINVAL));
        ensure!(run(&vec(0, 16, 0x10002, 0x11000, 0x12000, 0), Compute) == Err(EINVAL));
        ensure!(run(&vec(0, 16, 0x10000, 0x11000, 0x12000, 1), Compute) == Err(EINVAL));
        ensure!(run(&vec(0, 16, 0x10000, 0x11000, 0x1fff0, 0), Compute) == Err(EACCES));
        ensure!(run(&vec(VEC_GEMV, 4, 0x10000, 0x11000, 0x12000, 8), Compute).is_ok());
        ensure!(run(&vec(VEC_GEMV, 4, 0x10000, 0x11000, 0x12000, 0), Compute) == Err(EINVAL));
        // The matrix is 4 * rows * cols bytes: 0x1000 rows of 16 columns leave the window.
        ensure!(
            run(
                &vec(VEC_GEMV, 0x1000, 0x10000, 0x11000, 0x12000, 16),
                Compute
            ) == Err(EACCES)
        );
        ensure!(
            run(
                &vec(VEC_GEMV, 1 << 24, 0x10000, 0x11000, 0x12000, 2),
                Compute
            ) == Err(EINVAL)
        );
        let mut reserved = vec(0, 16, 0x10000, 0x11000, 0x12000, 0);
        reserved[39] = 1;
        ensure!(run(&reserved, Compute) == Err(EINVAL));
        Ok(())
    }

    /// A deterministic xorshift generator for the adversarial tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// What an accepted buffer must be: whole, known, unprivileged packets.
    fn only_safe_packets(cb: &[u8]) -> bool {
        let mut at = 0;
        while at < cb.len() {
            let Some(qwords) = packet_qwords(cb[at]) else {
                return false;
            };
            let privileged = matches!(cb[at], OP_WREG32 | OP_STOP | OP_PTE_WRITE)
                || (cb[at] == OP_MSG_LONG && u16_at(cb, at + 2) & 3 == MSG_TARGET_CQ);
            if privileged || usize::from(cb[at + 1]) != qwords || cb.len() - at < 8 * qwords {
                return false;
            }
            at += 8 * qwords;
        }
        true
    }

    #[test]
    fn adversarial_buffers_never_pass_privileged_packets() -> Result {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for round in 0..4000 {
            // Random packets with a plausible header (known opcode, its size) and random
            // operands, mixed with raw garbage.
            let mut cb = KVec::new();
            for _ in 0..1 + rng.next() % 6 {
                let r = rng.next();
                let ops = [
                    OP_WREG32,
                    OP_MSG_LONG,
                    OP_FENCE,
                    OP_LIN_DMA,
                    OP_NOP,
                    OP_STOP,
                    OP_PTE_WRITE,
                    OP_VEC,
                    0x42,
                ];
                let opcode = ops[(r % ops.len() as u64) as usize];
                let qwords = packet_qwords(opcode).unwrap_or(1 + (r >> 8) as usize % 8);
                let flags = if r & (1 << 20) != 0 {
                    (r >> 24) as u16
                } else {
                    (r >> 24) as u16 & 7
                };
                let imm = if r & (1 << 21) != 0 {
                    (r >> 40) as u32
                } else {
                    (r >> 40) as u32 & 0xff
                };
                cb.extend_from_slice(&header(opcode, flags, imm), GFP_KERNEL)?;
                for _ in 1..qwords {
                    let v = rng.next();
                    let v = match v % 4 {
                        0 => 0x10000 + (v >> 50),
                        1 => v >> 32,
                        2 => v,
                        _ => 0,
                    };
                    cb.extend_from_slice(&v.to_le_bytes(), GFP_KERNEL)?;
                }
            }
            if round % 3 == 0 {
                // `max(1)` spares a divide-by-zero panic path: objtool's list of Rust noreturn
                // functions misses `panic_const_rem_by_zero` and warned about a fall-through.
                let cut = (rng.next() % (cb.len() as u64).max(1)) as usize;
                cb.truncate(cut);
            }
            let engine = if round % 2 == 0 {
                EngineKind::Dma
            } else {
                EngineKind::Compute
            };
            if let Ok(out) = parse(&cb, engine, &mut Window) {
                accepted += 1;
                ensure!(out[..] == cb[..] && only_safe_packets(&out));
            }
        }
        // The generator must also produce valid buffers, or the test proves nothing.
        ensure!(accepted > 0);
        Ok(())
    }

    #[test]
    fn every_single_byte_corruption_is_safe() -> Result {
        let mut cb = KVec::new();
        cb.extend_from_slice(&dma(0, 0x100, 0x10000, 0x18000), GFP_KERNEL)?;
        cb.extend_from_slice(&vec(VEC_GEMV, 4, 0x10000, 0x11000, 0x12000, 8), GFP_KERNEL)?;
        cb.extend_from_slice(
            &packet(header(OP_MSG_LONG, MSG_TARGET_SOB, 1), &[3]),
            GFP_KERNEL,
        )?;
        ensure!(run(&cb, EngineKind::Compute).is_ok());
        for at in 0..cb.len() {
            for bit in 0..8 {
                let mut bad = KVec::new();
                bad.extend_from_slice(&cb, GFP_KERNEL)?;
                bad[at] ^= 1 << bit;
                if let Ok(out) = parse(&bad, EngineKind::Compute, &mut Window) {
                    ensure!(only_safe_packets(&out));
                }
            }
        }
        Ok(())
    }

    #[test]
    fn listed_bos_allow_their_hbm_only() -> Result {
        use xaccel::{gem::Placement, Access};
        let bo = |size, access, device_addr| BoDesc {
            size,
            access,
            placement: Placement::Device,
            region: 1,
            device_addr,
        };
        let list = [
            bo(0x2000, Access::ReadWrite, Some(0x40_0000)),
            bo(0x1000, Access::ReadOnly, Some(0x50_0000)),
            // A system BO: no device address, nothing reachable through it.
            bo(0x1000, Access::ReadWrite, None),
            // An object whose end would overflow reaches nothing (and nothing panics).
            bo(0x2000, Access::ReadWrite, Some(u64::MAX - 0xfff)),
        ];
        let mut check = ListedBos { bos: &list };
        ensure!(check.check(0x40_0000, 0x2000, true).is_ok());
        ensure!(check.check(0x40_1ff0, 0x10, true).is_ok());
        ensure!(check.check(0x40_1ff0, 0x11, false) == Err(EACCES));
        ensure!(check.check(0x3f_fff0, 0x20, false) == Err(EACCES));
        ensure!(check.check(0x50_0000, 0x1000, false).is_ok());
        ensure!(check.check(0x50_0000, 4, true) == Err(EACCES));
        // Between and outside the objects, the page tables, host memory.
        ensure!(check.check(0x48_0000, 4, false) == Err(EACCES));
        ensure!(check.check(0, 4, false) == Err(EACCES));
        ensure!(check.check(1 << 63, 4, false) == Err(EACCES));
        ensure!(check.check(u64::MAX - 0xfff, 0x10, true) == Err(EACCES));
        // Through the parser: a DMA between the two, and one out of the read-only object.
        let mut parse_with = |p: &[u8]| parse(p, EngineKind::Dma, &mut check).map(|_| ());
        ensure!(parse_with(&dma(0, 0x100, 0x50_0000, 0x40_0100)).is_ok());
        ensure!(parse_with(&dma(0, 0x100, 0x40_0100, 0x50_0000)) == Err(EACCES));
        let empty: [BoDesc; 0] = [];
        ensure!(ListedBos { bos: &empty }.check(0x40_0000, 4, false) == Err(EACCES));
        Ok(())
    }

    #[test]
    fn malformed_buffers() -> Result {
        use EngineKind::*;
        ensure!(run(&[], Dma) == Err(EINVAL));
        ensure!(run(&[OP_NOP, 1, 0, 0], Dma) == Err(EINVAL));
        // Unknown opcode, wrong size, truncated packet, size 0.
        ensure!(run(&[0x42, 1, 0, 0, 0, 0, 0, 0], Dma) == Err(EINVAL));
        ensure!(run(&[OP_NOP, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], Dma) == Err(EINVAL));
        let dma = dma(0, 0x100, 0x10000, 0x18000);
        ensure!(run(&dma[..16], Dma) == Err(EINVAL));
        ensure!(run(&[OP_NOP, 0, 0, 0, 0, 0, 0, 0], Dma) == Err(EINVAL));
        let mut big = KVec::new();
        for _ in 0..=MAX_CB_BYTES / 8 {
            big.extend_from_slice(&header(OP_NOP, 0, 0), GFP_KERNEL)?;
        }
        ensure!(run(&big, Dma) == Err(E2BIG));
        big.truncate(MAX_CB_BYTES);
        ensure!(run(&big, Dma).is_ok());
        Ok(())
    }
}
