// SPDX-License-Identifier: GPL-2.0-only
//! Peer-to-peer between two HLX devices (Documentation/hlx.rst, "Peer-to-peer"): a DMA
//! engine of one device reaches the other's HBM at the bus address the other's driver
//! wrote to its `BAR2_BUS_ADDR`, in both directions, through its MMU too; a peer whose
//! register is not (or no longer) valid decodes nothing. First two devices in one
//! process, then two `hlx-model` processes sharing BAR2 files (`--bar-file`, `--peer`).

mod common;

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{host, Rig, TempDir, HBM_FREE};
use hlx_model::device::{CMD_CQ_INIT, CMD_HARD_RESET, CMD_OK, CMD_QUEUE_ENABLE};
use hlx_model::dma::AccessReason;
use hlx_model::interrupts::signal_eventfd;
use hlx_model::packets::{LinSrc, MsgTarget, Packet, PA_HOST};
use hlx_model::protocol::client_handshake;
use hlx_model::queues::{CqEntry, ERR_ACCESS, ERR_NONE, EV_ACCESS_ERROR};
use hlx_model::regs::{self, Regs, DOORBELL_CONTROL, PAGE_SIZE};
use hlx_model::server::MODEL_PEER_ID;
use hlx_model::shm::Mem;

/// Where the "host" assigned device B's BAR2 (64-bit, prefetchable, size-aligned).
const BUS_B: u64 = 0x38_0000_0000;

/// Host (bus) address of HBM byte `x` of device B, as a physical address of device A.
fn peer_hbm(x: u64) -> u64 {
    PA_HOST | (BUS_B + PAGE_SIZE + x)
}

/// Device A with device B as its peer; B's driver has announced its BAR2 bus address.
fn two_devices() -> (Rig, Rig) {
    let mut a = Rig::new();
    let b = Rig::new();
    a.dev.set_peers(vec![b.bar.clone()]).unwrap();
    b.regs()
        .write64(regs::BAR2_BUS_ADDR, BUS_B | regs::BAR2_BUS_VALID);
    (a, b)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

#[test]
fn dma_from_host_memory_into_a_peers_hbm_and_back() {
    let (mut a, b) = two_devices();
    // 200 KiB, not a multiple of a page or of the 64 KiB DMA chunk, at an odd offset.
    let len = 200 * 1024 + 12;
    let data = pattern(len, 7);
    a.phys_write(host(0x200000), &data);
    let dst = HBM_FREE + 0x123;
    a.job(
        0,
        &[Packet::LinDma {
            src: LinSrc::Addr(host(0x200000)),
            dst: peer_hbm(dst),
            len: len as u32,
        }],
        1,
    );
    a.dev.run_until_idle();
    let done = a.cq();
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].data, done[0].status), (1, ERR_NONE));
    assert!(a.eq().is_empty());
    assert!(
        b.phys_read(dst, len) == data,
        "B's HBM holds the bytes, bit-exact"
    );

    // B's HBM -> A's host memory, from the other end of B's BAR2.
    let tail = pattern(4096, 99);
    let last = b.dev.phys().hbm_size() - 4096;
    b.phys_write(last, &tail);
    a.job(
        1,
        &[Packet::LinDma {
            src: LinSrc::Addr(peer_hbm(last)),
            dst: host(0x300000),
            len: 4096,
        }],
        2,
    );
    a.dev.run_until_idle();
    assert_eq!(a.cq()[0].status, ERR_NONE);
    assert!(a.phys_read(host(0x300000), 4096) == tail);
}

#[test]
fn a_peers_hbm_through_the_mmu() {
    let (mut a, b) = two_devices();
    a.mmu_on();
    let va = 0x7000_0000;
    // Two host pages of A's context: one is A's guest RAM, one is B's HBM.
    a.map(5, va, host(0x200000), false);
    a.map(5, va + 0x1000, peer_hbm(HBM_FREE), true);
    a.set_asid(0, 5);
    let data = pattern(4096, 3);
    a.phys_write(host(0x200000), &data);
    a.job(
        0,
        &[Packet::LinDma {
            src: LinSrc::Addr(va),
            dst: va + 0x1000,
            len: 4096,
        }],
        3,
    );
    a.dev.run_until_idle();
    assert_eq!(a.cq()[0].status, ERR_NONE);
    assert!(b.phys_read(HBM_FREE, 4096) == data);
}

#[test]
fn compute_engines_do_not_reach_peers() {
    let (mut a, b) = two_devices();
    a.job(
        2,
        &[Packet::MsgLong {
            target: MsgTarget::Mem {
                addr: peer_hbm(HBM_FREE),
            },
            value: 0xBAD,
        }],
        4,
    );
    a.dev.run_until_idle();
    assert_eq!(a.cq()[0].status, ERR_ACCESS);
    let ev = a.eq();
    assert_eq!(ev[0].kind, EV_ACCESS_ERROR);
    assert_eq!(ev[0].info >> 16, AccessReason::HostDenied as u32);
    assert_eq!(b.read_u32s(HBM_FREE, 1), [0]);
}

#[test]
fn no_decode_outside_the_window_or_without_a_valid_register() {
    let (mut a, mut b) = two_devices();
    let bar_size = b.bar.len();
    let write = |a: &mut Rig, pa: u64, len: u32, tag: u32| {
        a.job(
            0,
            &[Packet::LinDma {
                src: LinSrc::Pattern(0x5A5A_5A5A),
                dst: pa,
                len,
            }],
            tag,
        );
        a.dev.run_until_idle();
        let status = a.cq()[0].status;
        let events = a.eq();
        (status, events.first().map(|e| (e.info >> 16, e.addr)))
    };
    let range = AccessReason::HostRange as u32;
    // The last 4 bytes of B's BAR2 decode; the bytes after them do not (the access is
    // split at the 4 KiB boundary, which is the end of the BAR).
    let end = PA_HOST | (BUS_B + bar_size);
    assert_eq!(write(&mut a, end - 4, 4, 1), (ERR_NONE, None));
    assert_eq!(
        write(&mut a, end - 4, 8, 2),
        (ERR_ACCESS, Some((range, end)))
    );
    assert_eq!(
        write(&mut a, PA_HOST | (BUS_B - 4), 4, 3),
        (ERR_ACCESS, Some((range, PA_HOST | (BUS_B - 4))))
    );
    // A hard reset of B clears its BAR2_BUS_ADDR: A's DMA no longer reaches it, B's HBM
    // keeps what it had, and B's driver writing the register again restores the route.
    assert_eq!(write(&mut a, peer_hbm(HBM_FREE), 4, 4), (ERR_NONE, None));
    assert_eq!(b.cmd(CMD_HARD_RESET, 0, 0), CMD_OK);
    assert_eq!(b.regs().read64(regs::BAR2_BUS_ADDR), 0);
    b.bring_up();
    assert_eq!(
        write(&mut a, peer_hbm(HBM_FREE + 4), 4, 5),
        (ERR_ACCESS, Some((range, peer_hbm(HBM_FREE + 4))))
    );
    assert_eq!(b.read_u32s(HBM_FREE, 2), [0x5A5A_5A5A, 0]);
    b.regs()
        .write64(regs::BAR2_BUS_ADDR, BUS_B | regs::BAR2_BUS_VALID);
    assert_eq!(
        write(&mut a, peer_hbm(HBM_FREE + 4), 4, 6),
        (ERR_NONE, None)
    );
    assert_eq!(b.read_u32s(HBM_FREE, 2), [0x5A5A_5A5A; 2]);
    // B is not A's peer the other way round unless told so: B cannot reach A.
    a.regs()
        .write64(regs::BAR2_BUS_ADDR, 0x40_0000_0000 | regs::BAR2_BUS_VALID);
    let (status, _) = write(&mut b, PA_HOST | (0x40_0000_0000 + PAGE_SIZE), 4, 7);
    assert_eq!(status, ERR_ACCESS);
}

// ---- two model processes, as the VM runner starts them

fn model(dir: &TempDir, name: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hlx-model"))
        .arg("--socket")
        .arg(dir.0.join(format!("{name}.sock")))
        .args(["--bar-size", "1M", "--bar-file"])
        .arg(dir.0.join(format!("{name}.bar")))
        .args(extra)
        .spawn()
        .unwrap()
}

fn connect(dir: &TempDir, name: &str) -> UnixStream {
    let path = dir.0.join(format!("{name}.sock"));
    let end = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < end, "{name}: socket never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    UnixStream::connect(&path).unwrap()
}

fn stop(mut child: Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn two_model_processes_reach_each_others_hbm() {
    let dir = TempDir::new();
    let path = |name: &str| dir.0.join(name).to_str().unwrap().to_owned();
    // The runner creates both BAR files first, so that each model finds its peer's.
    for name in ["a.bar", "b.bar"] {
        std::fs::File::create(dir.0.join(name))
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
    }
    let b = model(&dir, "b", &["--peer", &path("a.bar")]);
    let a = model(&dir, "a", &["--peer", &path("b.bar")]);
    let sock_b = connect(&dir, "b");
    let sock_a = connect(&dir, "a");
    // QEMU gets each model's BAR2 file: B's shared memory is b.bar.
    let setup_b = client_handshake(&sock_b, 8).unwrap();
    let bar_b = Arc::new(Mem::map(setup_b.shm, 1 << 20).unwrap());
    let regs_b = Regs::new(bar_b.clone());
    assert_eq!(regs_b.read(regs::ID), regs::ID_VALUE);
    let file_b = Mem::open_existing(&dir.0.join("b.bar")).unwrap();
    assert_eq!(file_b.load32(regs::ID), regs::ID_VALUE);
    regs_b.write64(regs::BAR2_BUS_ADDR, BUS_B | regs::BAR2_BUS_VALID);

    // Device A: CQ in its HBM, queue 0's ring in its HBM, one LIN_DMA into B's HBM.
    let mut setup_a = client_handshake(&sock_a, 8).unwrap();
    let bar_a = Mem::map(setup_a.shm, 1 << 20).unwrap();
    let regs_a = Regs::new(Arc::new(bar_a));
    let doorbells = setup_a.peers.remove(&MODEL_PEER_ID).unwrap();
    let cmd = |op: u32, arg0: u32| {
        regs_a.write(regs::CMD_OPCODE, op);
        regs_a.write(regs::CMD_ARG0, arg0);
        let seq = regs_a.read(regs::CMD_SEQ) + 1;
        regs_a.write(regs::CMD_SEQ, seq);
        signal_eventfd(doorbells[usize::from(DOORBELL_CONTROL)].as_fd());
        assert!(common::wait_for(|| regs_a.read(regs::CMD_DONE_SEQ) == seq));
        regs_a.read(regs::CMD_STATUS)
    };
    regs_a.write64(regs::CQ_BASE, 0x10000);
    regs_a.write(regs::CQ_ENTRIES, 16);
    assert_eq!(cmd(CMD_CQ_INIT, 0), CMD_OK);
    regs_a.write64(regs::queue_reg(0, regs::Q_BASE), 0);
    regs_a.write(regs::queue_reg(0, regs::Q_SIZE), 4096);
    assert_eq!(cmd(CMD_QUEUE_ENABLE, 0), CMD_OK);
    let mut ring = Vec::new();
    Packet::LinDma {
        src: LinSrc::Pattern(0xC0FF_EE00),
        dst: peer_hbm(0x4000),
        len: 8192,
    }
    .encode_into(&mut ring);
    Packet::MsgLong {
        target: MsgTarget::Cq,
        value: 77,
    }
    .encode_into(&mut ring);
    let hbm_a = Mem::open_existing(&dir.0.join("a.bar")).unwrap();
    hbm_a.write(PAGE_SIZE, &ring).unwrap();
    regs_a.write(regs::queue_reg(0, regs::Q_PI), ring.len() as u32);
    signal_eventfd(doorbells[0].as_fd());
    assert!(common::wait_for(|| regs_a.read(regs::CQ_PI) == 1));
    let mut e = [0; 16];
    hbm_a.read(PAGE_SIZE + 0x10000, &mut e).unwrap();
    let e = CqEntry::decode(&e);
    assert_eq!((e.data, e.status), (77, ERR_NONE));
    for off in [0x4000, 0x4000 + 8188] {
        assert_eq!(bar_b.load32(PAGE_SIZE + off), 0xC0FF_EE00, "{off:#x}");
    }
    assert_eq!(bar_b.load32(PAGE_SIZE + 0x4000 + 8192), 0);
    drop((sock_a, sock_b));
    stop(a);
    stop(b);
}

#[test]
fn a_missing_peer_or_a_bar_file_of_the_wrong_size_is_refused() {
    let dir = TempDir::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hlx-model"))
            .arg("--socket")
            .arg(dir.0.join("x.sock"))
            .args(["--bar-size", "1M"])
            .args(args)
            .output()
            .unwrap()
    };
    let missing = dir.0.join("missing.bar");
    let out = run(&["--peer", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.bar"));
    let small = dir.0.join("small.bar");
    std::fs::write(&small, [0u8; 4096]).unwrap();
    let out = run(&["--peer", small.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8K"));
    let out = run(&["--bar-file", small.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected 1048576"));
    assert!(!dir.0.join("x.sock").exists());
}
