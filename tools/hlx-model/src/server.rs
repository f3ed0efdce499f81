// SPDX-License-Identifier: GPL-2.0-only
//! The model's event loop: accepts QEMU on the UNIX socket, hands it the shared memory
//! and eventfds, turns doorbell eventfds into [`Device::doorbell`] calls, runs the device
//! and keeps the heartbeat going.
//!
//! One VM at a time: a second connection is closed at once. When the VM goes away the
//! device is hard-reset (HBM keeps its contents) and the server waits for the next one,
//! or exits with `once`. A byte (or EOF) on the shutdown stream ends the loop.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::device::{Activity, Device};
use crate::interrupts::{drain_eventfd, EventfdSink, NoSink};
use crate::protocol;
use crate::regs::NUM_VECTORS;
use crate::shm::Mem;

/// The model's own ivshmem peer ID (`PEER_ID`): doorbells go to this peer.
pub const MODEL_PEER_ID: u16 = 0;
/// Heartbeat period.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// How often waiting engines (FENCE, full CQ) re-check their condition.
pub const WAIT_POLL: Duration = Duration::from_millis(1);
/// Packets per [`Device::run`] between two looks at the file descriptors.
const BUDGET: usize = 256;

struct Client {
    stream: UnixStream,
    id: u16,
    doorbells: Vec<OwnedFd>,
}

/// The server: a listening socket, the device, and at most one client.
pub struct Server {
    listener: UnixListener,
    shutdown: UnixStream,
    bar: Arc<Mem>,
    device: Device,
    client: Option<Client>,
    next_id: u16,
    once: bool,
    verbose: bool,
}

impl Server {
    /// A server on `listener` for `device`, whose BAR2 is `bar`. `shutdown` ends the loop
    /// when it becomes readable. With `once`, the loop also ends when the first client
    /// disconnects.
    pub fn new(
        listener: UnixListener,
        shutdown: UnixStream,
        bar: Arc<Mem>,
        device: Device,
        once: bool,
    ) -> Self {
        Self {
            listener,
            shutdown,
            bar,
            device,
            client: None,
            next_id: MODEL_PEER_ID + 1,
            once,
            verbose: false,
        }
    }

    /// Logs connections and doorbells on stderr.
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    fn log(&self, msg: &str) {
        if self.verbose {
            eprintln!("hlx-model: {msg}");
        }
    }

    /// Serves until shutdown (or, with `once`, the first client leaving).
    pub fn run(mut self) -> io::Result<()> {
        self.listener.set_nonblocking(true)?;
        let mut activity = Activity::Idle;
        let mut last_beat = Instant::now();
        loop {
            let timeout = match activity {
                Activity::Busy => Duration::ZERO,
                Activity::Waiting => WAIT_POLL,
                Activity::Idle => HEARTBEAT.saturating_sub(last_beat.elapsed()),
            };
            let (shutdown, accept, hangup, rung) = self.wait(timeout)?;
            if shutdown {
                self.log("shutting down");
                return Ok(());
            }
            if accept {
                self.accept()?;
            }
            if hangup {
                self.disconnect();
                if self.once {
                    return Ok(());
                }
            }
            for v in rung {
                self.device.doorbell(v);
            }
            activity = self.device.run(BUDGET);
            if last_beat.elapsed() >= HEARTBEAT {
                self.device.heartbeat();
                last_beat = Instant::now();
            }
        }
    }

    /// Polls everything; returns (shutdown, new connection, client gone, doorbells rung).
    fn wait(&mut self, timeout: Duration) -> io::Result<(bool, bool, bool, Vec<u16>)> {
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let mut fds = vec![
            PollFd::new(&self.shutdown, PollFlags::IN),
            PollFd::new(&self.listener, PollFlags::IN),
        ];
        if let Some(c) = &self.client {
            fds.push(PollFd::new(&c.stream, PollFlags::IN));
            fds.extend(c.doorbells.iter().map(|d| PollFd::new(d, PollFlags::IN)));
        }
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok((false, false, false, Vec::new())),
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let mut hangup = false;
        let mut rung = Vec::new();
        if let Some(c) = &mut self.client {
            if ready[2] {
                // QEMU never sends anything: readable means EOF (or garbage, dropped).
                let mut buf = [0u8; 64];
                hangup = !matches!(c.stream.read(&mut buf), Ok(n) if n > 0);
            }
            for (v, fd) in c.doorbells.iter().enumerate() {
                if ready[3 + v] && drain_eventfd(fd)? > 0 {
                    rung.push(v as u16);
                }
            }
        }
        Ok((ready[0], ready[1], hangup, rung))
    }

    fn accept(&mut self) -> io::Result<()> {
        let stream = match self.listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        if self.client.is_some() {
            self.log("refusing a second client: one VM at a time");
            return Ok(());
        }
        stream.set_nonblocking(false)?;
        let id = self.next_id;
        self.next_id = if id == u16::MAX {
            MODEL_PEER_ID + 1
        } else {
            id + 1
        };
        match protocol::serve_client(&stream, id, MODEL_PEER_ID, self.bar.fd(), NUM_VECTORS) {
            Ok(peer) => {
                self.log(&format!("client connected as peer {id}"));
                self.device
                    .set_irq_sink(Box::new(EventfdSink::new(peer.interrupts)));
                stream.set_nonblocking(true)?;
                self.client = Some(Client {
                    stream,
                    id,
                    doorbells: peer.doorbells,
                });
            }
            Err(e) => self.log(&format!("handshake with a client failed: {e}")),
        }
        Ok(())
    }

    fn disconnect(&mut self) {
        if let Some(c) = self.client.take() {
            self.log(&format!("peer {} disconnected; hard reset", c.id));
        }
        self.device.set_irq_sink(Box::new(NoSink));
        self.device.hard_reset();
    }
}
