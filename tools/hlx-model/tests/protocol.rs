// SPDX-License-Identifier: GPL-2.0-only
//! The ivshmem-doorbell server protocol against a fake QEMU client, and the whole path
//! a VM would use: the client maps the shared memory it was sent, programs the device
//! through it, rings doorbells on the model's eventfds and waits on its own interrupt
//! eventfds.

mod common;

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::TempDir;
use hlx_model::device::{Device, CMD_CQ_INIT, CMD_OK, CMD_QUEUE_ENABLE, CMD_SET_IRQ_MASK};
use hlx_model::interrupts::{drain_eventfd, signal_eventfd};
use hlx_model::packets::{MsgTarget, Packet};
use hlx_model::protocol::{self, client_handshake, recv_msg};
use hlx_model::queues::CqEntry;
use hlx_model::regs::{self, Regs, DOORBELL_CONTROL, NUM_VECTORS, PAGE_SIZE};
use hlx_model::server::{Server, MODEL_PEER_ID};
use hlx_model::shm::Mem;

const BAR: u64 = 1 << 20;

struct Model {
    dir: TempDir,
    stop: UnixStream,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Model {
    fn start(once: bool) -> Self {
        let dir = TempDir::new();
        let listener = UnixListener::bind(dir.0.join("hlx.sock")).unwrap();
        let bar = Arc::new(Mem::memfd("bar2", BAR).unwrap());
        let device = Device::new(bar.clone(), None, MODEL_PEER_ID);
        let (shutdown, stop) = UnixStream::pair().unwrap();
        let server = Server::new(listener, shutdown, bar, device, once);
        let thread = Some(std::thread::spawn(move || server.run()));
        Self { dir, stop, thread }
    }

    fn connect(&self) -> UnixStream {
        UnixStream::connect(self.dir.0.join("hlx.sock")).unwrap()
    }

    fn stop(mut self) -> std::io::Result<()> {
        self.stop.write_all(b"x").unwrap();
        self.thread.take().unwrap().join().unwrap()
    }
}

fn is_eventfd(fd: &OwnedFd) -> bool {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", {
        use std::os::fd::AsRawFd;
        fd.as_raw_fd()
    }))
    .unwrap();
    link.to_string_lossy() == "anon_inode:[eventfd]"
}

#[test]
fn handshake_messages_in_qemu_order() {
    let model = Model::start(false);
    let sock = model.connect();
    assert_eq!(recv_msg(&sock).unwrap().0, protocol::PROTOCOL_VERSION);
    let (id, fd) = recv_msg(&sock).unwrap();
    assert_eq!((id, fd.is_none()), (1, true), "first client is peer 1");
    let (msg, shm) = recv_msg(&sock).unwrap();
    assert_eq!(msg, -1);
    let shm = shm.expect("shared memory fd");
    assert_eq!(rustix::fs::fstat(&shm).unwrap().st_size as u64, BAR);
    for v in 0..NUM_VECTORS {
        let (peer, fd) = recv_msg(&sock).unwrap();
        assert_eq!(
            peer,
            i64::from(MODEL_PEER_ID),
            "doorbell {v} is the model's"
        );
        assert!(is_eventfd(&fd.unwrap()));
    }
    for v in 0..NUM_VECTORS {
        let (peer, fd) = recv_msg(&sock).unwrap();
        assert_eq!(peer, 1, "interrupt {v} is the client's own");
        assert!(is_eventfd(&fd.unwrap()));
    }
    // Nothing else follows.
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert!(recv_msg(&sock).is_err());
    // The shared memory is BAR2: the register page with the identity.
    let bar = Mem::map(shm, BAR).unwrap();
    let regs = Regs::new(Arc::new(bar));
    assert_eq!(regs.read(regs::ID), regs::ID_VALUE);
    assert_eq!(regs.read64(regs::HBM_SIZE), BAR - PAGE_SIZE);
    assert_eq!(regs.read(regs::PEER_ID), u32::from(MODEL_PEER_ID));
    drop(sock);
    model.stop().unwrap();
}

#[test]
fn one_vm_at_a_time_and_reconnect_after_reset() {
    let model = Model::start(false);
    let first = model.connect();
    let setup = client_handshake(&first, NUM_VECTORS.into()).unwrap();
    assert_eq!(setup.id, 1);
    assert_eq!(setup.peers[&MODEL_PEER_ID].len(), 8);
    assert_eq!(setup.interrupts.len(), 8);
    // A second client is closed without a word.
    let second = model.connect();
    assert!(matches!(
        recv_msg(&second),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof
    ));
    let regs = Regs::new(Arc::new(Mem::map(setup.shm, BAR).unwrap()));
    assert_eq!(regs.read(regs::HARD_RESET_COUNT), 0);
    drop(first);
    // The VM going away hard-resets the device.
    assert!(common::wait_for(|| regs.read(regs::HARD_RESET_COUNT) == 1));
    let third = model.connect();
    let setup3 = client_handshake(&third, NUM_VECTORS.into()).unwrap();
    assert_eq!(setup3.id, 2, "IDs are not reused");
    model.stop().unwrap();
}

#[test]
fn once_exits_when_the_vm_leaves() {
    let model = Model::start(true);
    let sock = model.connect();
    client_handshake(&sock, 8).unwrap();
    drop(sock);
    let mut model = model;
    let thread = model.thread.take().unwrap();
    assert!(common::wait_for(|| thread.is_finished()));
    thread.join().unwrap().unwrap();
}

#[test]
fn heartbeat_runs_while_serving() {
    let model = Model::start(false);
    let sock = model.connect();
    let setup = client_handshake(&sock, 8).unwrap();
    let regs = Regs::new(Arc::new(Mem::map(setup.shm, BAR).unwrap()));
    let beat = regs.read(regs::HEARTBEAT);
    assert!(common::wait_for(|| regs.read(regs::HEARTBEAT) >= beat + 2));
    model.stop().unwrap();
}

/// A client that behaves like QEMU plus the guest driver on top of it.
struct Guest {
    regs: Regs,
    bar: Arc<Mem>,
    doorbells: Vec<OwnedFd>,
    interrupts: Vec<OwnedFd>,
    _sock: UnixStream,
}

impl Guest {
    fn connect(model: &Model) -> Self {
        let sock = model.connect();
        let mut setup = client_handshake(&sock, 8).unwrap();
        let bar = Arc::new(Mem::map(setup.shm, BAR).unwrap());
        Self {
            regs: Regs::new(bar.clone()),
            bar,
            doorbells: setup.peers.remove(&MODEL_PEER_ID).unwrap(),
            interrupts: setup.interrupts,
            _sock: sock,
        }
    }

    /// What QEMU does for a guest write of `MODEL_PEER_ID << 16 | vector` to Doorbell.
    fn ring(&self, vector: u16) {
        signal_eventfd(self.doorbells[usize::from(vector)].as_fd());
    }

    fn cmd(&self, op: u32, arg0: u32) -> u32 {
        self.regs.write(regs::CMD_OPCODE, op);
        self.regs.write(regs::CMD_ARG0, arg0);
        let seq = self.regs.read(regs::CMD_SEQ) + 1;
        self.regs.write(regs::CMD_SEQ, seq);
        self.ring(DOORBELL_CONTROL);
        assert!(common::wait_for(
            || self.regs.read(regs::CMD_DONE_SEQ) == seq
        ));
        self.regs.read(regs::CMD_STATUS)
    }

    fn interrupts_on(&self, vector: usize) -> u64 {
        drain_eventfd(&self.interrupts[vector]).unwrap()
    }
}

#[test]
fn doorbell_executes_and_signals_the_interrupt_eventfd() {
    let model = Model::start(false);
    let g = Guest::connect(&model);
    // CQ in HBM at 0x10000 (no guest RAM here), queue 2's ring at 0.
    g.regs.write64(regs::CQ_BASE, 0x10000);
    g.regs.write(regs::CQ_ENTRIES, 16);
    assert_eq!(g.cmd(CMD_CQ_INIT, 0), CMD_OK);
    g.regs.write64(regs::queue_reg(2, regs::Q_BASE), 0);
    g.regs.write(regs::queue_reg(2, regs::Q_SIZE), 4096);
    assert_eq!(g.cmd(CMD_QUEUE_ENABLE, 2), CMD_OK);
    assert_eq!(g.cmd(CMD_SET_IRQ_MASK, 0), CMD_OK);
    assert_eq!(g.interrupts_on(0), 0);

    let mut ring = Vec::new();
    Packet::MsgLong {
        target: MsgTarget::Mem { addr: 0x20000 },
        value: 0x5EED,
    }
    .encode_into(&mut ring);
    Packet::MsgLong {
        target: MsgTarget::Cq,
        value: 42,
    }
    .encode_into(&mut ring);
    g.bar.write(PAGE_SIZE, &ring).unwrap();
    g.regs
        .write(regs::queue_reg(2, regs::Q_PI), ring.len() as u32);
    // Not rung yet: nothing happens.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(g.regs.read(regs::CQ_PI), 0);
    g.ring(2);
    let mut n = 0;
    assert!(common::wait_for(|| {
        n += g.interrupts_on(0);
        n > 0
    }));
    assert_eq!(n, 1, "one MSI-X message on vector 0 (CQ)");
    assert_eq!(g.interrupts_on(1), 0, "no event");
    assert_eq!(g.regs.read(regs::CQ_PI), 1);
    let mut e = [0; 16];
    g.bar.read(PAGE_SIZE + 0x10000, &mut e).unwrap();
    let e = CqEntry::decode(&e);
    assert_eq!((e.data, e.queue, e.status), (42, 2, 0));
    assert_eq!(g.bar.load32(PAGE_SIZE + 0x20000), 0x5EED);
    model.stop().unwrap();
}
