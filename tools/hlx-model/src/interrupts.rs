// SPDX-License-Identifier: GPL-2.0-only
//! Interrupts (Documentation/hlx.rst, "Interrupts"): the device's two causes (CQ and
//! EQ), their mask and pending status, and the eventfds that carry them to QEMU, which
//! turns a write on the eventfd of vector `v` into MSI-X message `v` of the device.
//!
//! The same eventfd mechanism carries doorbells the other way: [`drain_eventfd`] reads
//! what QEMU wrote on one of the model's doorbell eventfds.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use crate::regs::{self, Regs, IRQ_ALL, IRQ_CQ, IRQ_EQ, VECTOR_CQ, VECTOR_EQ};

/// Where the device's interrupts go.
pub trait IrqSink: Send {
    /// Signals MSI-X vector `vector`.
    fn notify(&mut self, vector: u16);
}

/// Drops every interrupt: no VM is connected.
#[derive(Debug, Default)]
pub struct NoSink;

impl IrqSink for NoSink {
    fn notify(&mut self, _vector: u16) {}
}

/// The eventfds QEMU received as the interrupt setup of its peer ID: one per vector.
#[derive(Debug)]
pub struct EventfdSink {
    fds: Vec<OwnedFd>,
}

impl EventfdSink {
    /// A sink writing to `fds[vector]`.
    pub fn new(fds: Vec<OwnedFd>) -> Self {
        Self { fds }
    }
}

impl IrqSink for EventfdSink {
    fn notify(&mut self, vector: u16) {
        if let Some(fd) = self.fds.get(usize::from(vector)) {
            signal_eventfd(fd);
        }
    }
}

/// Adds 1 to an eventfd's counter (what QEMU's `event_notifier_set` does).
pub fn signal_eventfd(fd: impl AsFd) {
    // The counter cannot realistically overflow (2^64 - 2 pending signals); a reader
    // that went away is not the model's problem, so errors are ignored.
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

/// Reads and clears an eventfd's counter: how many times it was signalled since the
/// last read, 0 if none (the eventfds are non-blocking).
pub fn drain_eventfd(fd: impl AsFd) -> io::Result<u64> {
    let mut buf = [0u8; 8];
    match rustix::io::read(fd, &mut buf) {
        Ok(8) => Ok(u64::from_ne_bytes(buf)),
        Ok(_) => Err(io::Error::other("short eventfd read")),
        Err(rustix::io::Errno::AGAIN) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// The interrupt block: mask, pending status, counters, and the sink.
pub struct Interrupts {
    sink: Box<dyn IrqSink>,
}

impl std::fmt::Debug for Interrupts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupts").finish_non_exhaustive()
    }
}

impl Interrupts {
    /// An interrupt block signalling `sink`.
    pub fn new(sink: Box<dyn IrqSink>) -> Self {
        Self { sink }
    }

    /// Replaces the sink (a VM connected or went away).
    pub fn set_sink(&mut self, sink: Box<dyn IrqSink>) {
        self.sink = sink;
    }

    /// Reset values: every cause masked, nothing pending, counters 0.
    pub fn reset(&mut self, regs: &Regs) {
        regs.write(regs::IRQ_MASK, IRQ_ALL);
        regs.write(regs::IRQ_STATUS, 0);
        regs.write(regs::IRQ_COUNT_CQ, 0);
        regs.write(regs::IRQ_COUNT_EQ, 0);
    }

    fn send(&mut self, regs: &Regs, cause: u32) {
        let (vector, count) = if cause == IRQ_CQ {
            (VECTOR_CQ, regs::IRQ_COUNT_CQ)
        } else {
            (VECTOR_EQ, regs::IRQ_COUNT_EQ)
        };
        regs.bump(count);
        self.sink.notify(vector);
    }

    /// A cause fired: signal its vector, or, if it is masked, mark it pending.
    pub fn raise(&mut self, regs: &Regs, cause: u32) {
        if regs.read(regs::IRQ_MASK) & cause != 0 {
            regs.write(regs::IRQ_STATUS, regs.read(regs::IRQ_STATUS) | cause);
        } else {
            self.send(regs, cause);
        }
    }

    /// SET_IRQ_MASK: a new mask; causes that are pending and now unmasked are signalled.
    pub fn set_mask(&mut self, regs: &Regs, mask: u32) {
        let mask = mask & IRQ_ALL;
        regs.write(regs::IRQ_MASK, mask);
        let status = regs.read(regs::IRQ_STATUS);
        let deliver = status & !mask;
        regs.write(regs::IRQ_STATUS, status & mask);
        for cause in [IRQ_CQ, IRQ_EQ] {
            if deliver & cause != 0 {
                self.send(regs, cause);
            }
        }
    }
}
