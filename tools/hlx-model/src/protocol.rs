// SPDX-License-Identifier: GPL-2.0-only
//! QEMU's ivshmem client-server protocol (QEMU docs/specs/ivshmem-spec), server side,
//! plus the client side that the tests use in place of QEMU.
//!
//! The connection is one-way: the server sends messages, each an 8-byte little-endian
//! signed number, some with one file descriptor attached (SCM_RIGHTS). On connect:
//!
//! 1. the protocol version, 0;
//! 2. the client's peer ID;
//! 3. -1 with the shared-memory fd;
//! 4. for each other peer, its ID N times, each with the eventfd that interrupts that
//!    peer on vector 0..N-1 (the model is such a peer: these are its doorbells);
//! 5. the client's own ID N times, each with the eventfd on which the client receives
//!    vector 0..N-1 (QEMU turns these into MSI-X messages).
//!
//! QEMU 7.2 reads 1-3 synchronously while it realizes the device, then 4 and 5 from
//! its main loop; it maps interrupts only after step 3, so the order matters.

use std::collections::BTreeMap;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::event::{eventfd, EventfdFlags};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// The protocol version the server announces.
pub const PROTOCOL_VERSION: i64 = 0;
/// The message that carries the shared-memory fd.
pub const SHM_MESSAGE: i64 = -1;

/// Sends one message, with `fd` attached if given.
pub fn send_msg(sock: &UnixStream, value: i64, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let bytes = value.to_le_bytes();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds: Vec<BorrowedFd<'_>> = fd.into_iter().collect();
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("SCM_RIGHTS does not fit"));
    }
    let n = rustix::net::sendmsg(
        sock,
        &[IoSlice::new(&bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    if n != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short ivshmem send",
        ));
    }
    Ok(())
}

/// Receives one message and the fd sent with it, if any.
pub fn recv_msg(sock: &UnixStream) -> io::Result<(i64, Option<OwnedFd>)> {
    let mut bytes = [0u8; 8];
    let mut got = 0;
    let mut fd = None;
    while got < bytes.len() {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let msg = rustix::net::recvmsg(
            sock,
            &mut [IoSliceMut::new(&mut bytes[got..])],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )?;
        if msg.bytes == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += msg.bytes;
        for m in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = m {
                for f in fds {
                    if fd.replace(f).is_some() {
                        return Err(io::Error::other("more than one fd in a message"));
                    }
                }
            }
        }
    }
    Ok((i64::from_le_bytes(bytes), fd))
}

fn new_eventfd() -> io::Result<OwnedFd> {
    Ok(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?)
}

/// The model's end of one connected client.
#[derive(Debug)]
pub struct Peer {
    /// The client's peer ID.
    pub id: u16,
    /// The model's doorbell eventfds, by vector: the client writes them.
    pub doorbells: Vec<OwnedFd>,
    /// The client's interrupt eventfds, by vector: the model writes them.
    pub interrupts: Vec<OwnedFd>,
}

/// Runs the server side of the handshake for a new client: it becomes peer `client_id`
/// and learns about one other peer, the model (`model_id`), with `vectors` doorbells.
pub fn serve_client(
    sock: &UnixStream,
    client_id: u16,
    model_id: u16,
    shm: BorrowedFd<'_>,
    vectors: u16,
) -> io::Result<Peer> {
    let doorbells = (0..vectors)
        .map(|_| new_eventfd())
        .collect::<io::Result<Vec<_>>>()?;
    let interrupts = (0..vectors)
        .map(|_| new_eventfd())
        .collect::<io::Result<Vec<_>>>()?;
    send_msg(sock, PROTOCOL_VERSION, None)?;
    send_msg(sock, i64::from(client_id), None)?;
    send_msg(sock, SHM_MESSAGE, Some(shm))?;
    for fd in &doorbells {
        send_msg(sock, i64::from(model_id), Some(fd.as_fd()))?;
    }
    for fd in &interrupts {
        send_msg(sock, i64::from(client_id), Some(fd.as_fd()))?;
    }
    Ok(Peer {
        id: client_id,
        doorbells,
        interrupts,
    })
}

/// What a client learned from the handshake.
#[derive(Debug)]
pub struct ClientSetup {
    /// Its own peer ID.
    pub id: u16,
    /// The shared memory.
    pub shm: OwnedFd,
    /// Other peers' eventfds (writing vector `v` of peer `p` is `peers[p][v]`).
    pub peers: BTreeMap<u16, Vec<OwnedFd>>,
    /// Its own interrupt eventfds, by vector.
    pub interrupts: Vec<OwnedFd>,
}

/// Runs the client side of the handshake as QEMU does, until it holds `vectors`
/// interrupt eventfds of its own.
pub fn client_handshake(sock: &UnixStream, vectors: usize) -> io::Result<ClientSetup> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    match recv_msg(sock)? {
        (PROTOCOL_VERSION, None) => {}
        _ => return Err(bad("bad version message")),
    }
    let id = match recv_msg(sock)? {
        (id, None) => u16::try_from(id).map_err(|_| bad("bad ID"))?,
        _ => return Err(bad("ID message with an fd")),
    };
    let shm = match recv_msg(sock)? {
        (SHM_MESSAGE, Some(fd)) => fd,
        _ => return Err(bad("expected the shared memory")),
    };
    let mut peers: BTreeMap<u16, Vec<OwnedFd>> = BTreeMap::new();
    let mut interrupts = Vec::new();
    while interrupts.len() < vectors {
        match recv_msg(sock)? {
            (p, Some(fd)) if p == i64::from(id) => interrupts.push(fd),
            (p, Some(fd)) => peers
                .entry(u16::try_from(p).map_err(|_| bad("bad peer"))?)
                .or_default()
                .push(fd),
            (p, None) => {
                peers.remove(&u16::try_from(p).map_err(|_| bad("bad peer"))?);
            }
        }
    }
    Ok(ClientSetup {
        id,
        shm,
        peers,
        interrupts,
    })
}
