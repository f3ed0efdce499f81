// SPDX-License-Identifier: GPL-2.0-only
//! The whole HLX device: register page, memory, MMU, engines, CQ/EQ and interrupts,
//! driven by doorbells (Documentation/hlx.rst, "Doorbells", "Commands", "Reset").
//!
//! [`Device`] has no I/O of its own: the server feeds it doorbells and runs it, and the
//! tests do the same directly. Everything is single-threaded: one [`Device::run`] call
//! executes packets round-robin across the engines, then signals the interrupts the
//! round raised.

use std::sync::Arc;

use crate::dma::{GuestRam, PhysMem};
use crate::engines::{Ctx, Engine, Hung, State, Step, Wedge};
use crate::interrupts::{Interrupts, IrqSink, NoSink};
use crate::mmu::Mmu;
use crate::queues::{OutRegs, OutRing, CQ_ENTRY_BYTES, EQ_ENTRY_BYTES};
use crate::regs::{self, Regs, IRQ_ALL, IRQ_CQ, IRQ_EQ, NUM_ASIDS, NUM_QUEUES, PAGE_SIZE};
use crate::shm::Mem;

/// Commands (`CMD_OPCODE`).
pub const CMD_NOP: u32 = 0;
pub const CMD_HARD_RESET: u32 = 1;
pub const CMD_SOFT_RESET: u32 = 2;
pub const CMD_QUEUE_ENABLE: u32 = 3;
pub const CMD_QUEUE_DISABLE: u32 = 4;
pub const CMD_CQ_INIT: u32 = 5;
pub const CMD_EQ_INIT: u32 = 6;
pub const CMD_MMU_INVALIDATE: u32 = 7;
pub const CMD_SET_IRQ_MASK: u32 = 8;
pub const CMD_WEDGE: u32 = 9;

/// Command results (`CMD_STATUS`).
pub const CMD_OK: u32 = 0;
pub const CMD_EINVAL: u32 = 1;
pub const CMD_HUNG: u32 = 2;

/// MMU_INVALIDATE's `arg0` for every ASID.
pub const ALL_ASIDS: u32 = u32::MAX;

/// What [`Device::run`] left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Nothing to execute until a doorbell.
    Idle,
    /// The packet budget ran out with more to execute: run again soon.
    Busy,
    /// Engines wait for a sync object or CQ room: check again after a while.
    Waiting,
}

/// The HLX device model.
#[derive(Debug)]
pub struct Device {
    regs: Regs,
    phys: PhysMem,
    mmu: Mmu,
    engines: Vec<Engine>,
    cq: OutRing,
    eq: OutRing,
    irq: Interrupts,
}

impl Device {
    /// A device whose BAR2 is `bar` (register page + HBM), reaching host memory through
    /// `guest`, known to the driver as ivshmem peer `peer_id`. It comes up as after a
    /// hard reset, with `DEV_STATUS.READY` set.
    pub fn new(bar: Arc<Mem>, guest: Option<GuestRam>, peer_id: u16) -> Self {
        let regs = Regs::new(bar.clone());
        let phys = PhysMem::new(bar, guest);
        regs.init_identity(phys.hbm_size(), peer_id);
        let mut dev = Self {
            regs,
            phys,
            mmu: Mmu::new(),
            engines: (0..NUM_QUEUES).map(Engine::new).collect(),
            cq: OutRing::new(
                OutRegs {
                    base: regs::CQ_BASE,
                    entries: regs::CQ_ENTRIES,
                    ci: regs::CQ_CI,
                    pi: regs::CQ_PI,
                    status: regs::CQ_STATUS,
                },
                CQ_ENTRY_BYTES,
            ),
            eq: OutRing::new(
                OutRegs {
                    base: regs::EQ_BASE,
                    entries: regs::EQ_ENTRIES,
                    ci: regs::EQ_CI,
                    pi: regs::EQ_PI,
                    status: regs::EQ_STATUS,
                },
                EQ_ENTRY_BYTES,
            ),
            irq: Interrupts::new(Box::new(NoSink)),
        };
        dev.reset_state();
        dev.regs.write(regs::DEV_STATUS, regs::DEV_STATUS_READY);
        dev
    }

    /// Makes the BAR2s of `peers` (other HLX devices under the same PCIe switch)
    /// reachable by host DMA at the bus addresses in their `BAR2_BUS_ADDR` registers.
    pub fn set_peers(&mut self, peers: Vec<Arc<Mem>>) -> std::io::Result<()> {
        self.phys.set_peers(peers)
    }

    /// The register page.
    pub fn regs(&self) -> &Regs {
        &self.regs
    }

    /// The physical address space.
    pub fn phys(&self) -> &PhysMem {
        &self.phys
    }

    /// The MMU.
    pub fn mmu(&self) -> &Mmu {
        &self.mmu
    }

    /// The state of engine `q`.
    pub fn engine_state(&self, q: usize) -> State {
        self.engines[q].state()
    }

    /// Where interrupts go from now on.
    pub fn set_irq_sink(&mut self, sink: Box<dyn IrqSink>) {
        self.irq.set_sink(sink);
    }

    /// Advances `HEARTBEAT` (the server calls this every 100 ms).
    pub fn heartbeat(&self) {
        self.regs.bump(regs::HEARTBEAT);
    }

    /// A doorbell on `vector`: a queue's (latch its `Q_PI`) or the control doorbell
    /// (run the pending command). Other vectors are ignored.
    pub fn doorbell(&mut self, vector: u16) {
        match vector {
            v if usize::from(v) < NUM_QUEUES => self.engines[usize::from(v)].doorbell(&self.regs),
            regs::DOORBELL_CONTROL => self.control(),
            _ => {}
        }
    }

    /// Runs the pending command, if `CMD_SEQ` differs from `CMD_DONE_SEQ`.
    fn control(&mut self) {
        let seq = self.regs.read(regs::CMD_SEQ);
        if seq == self.regs.read(regs::CMD_DONE_SEQ) {
            return;
        }
        let status = self.command(
            self.regs.read(regs::CMD_OPCODE),
            self.regs.read(regs::CMD_ARG0),
            self.regs.read(regs::CMD_ARG1),
        );
        self.regs.write(regs::CMD_STATUS, status);
        self.regs.write(regs::CMD_DONE_SEQ, seq);
    }

    /// Executes one command and returns its `CMD_STATUS`.
    pub fn command(&mut self, opcode: u32, arg0: u32, arg1: u32) -> u32 {
        let hung = |r: Result<(), Hung>| if r.is_ok() { CMD_OK } else { CMD_HUNG };
        let queue = usize::try_from(arg0).ok().filter(|&q| q < NUM_QUEUES);
        match opcode {
            CMD_NOP => CMD_OK,
            CMD_HARD_RESET => {
                self.hard_reset();
                CMD_OK
            }
            CMD_SOFT_RESET => {
                if arg0 >> NUM_QUEUES != 0 {
                    return CMD_EINVAL;
                }
                let mut status = CMD_OK;
                for (q, e) in self.engines.iter_mut().enumerate() {
                    if arg0 & 1 << q != 0 && e.soft_reset(&self.regs).is_err() {
                        status = CMD_HUNG;
                    }
                }
                status
            }
            CMD_QUEUE_ENABLE => match queue {
                None => CMD_EINVAL,
                Some(q) => match self.engines[q].enable(&self.regs, &self.phys) {
                    Ok(true) => CMD_OK,
                    Ok(false) => CMD_EINVAL,
                    Err(Hung) => CMD_HUNG,
                },
            },
            CMD_QUEUE_DISABLE => match queue {
                None => CMD_EINVAL,
                Some(q) => hung(self.engines[q].disable(&self.regs)),
            },
            CMD_CQ_INIT => ok_or_inval(self.cq.init(&self.regs, &self.phys)),
            CMD_EQ_INIT => ok_or_inval(self.eq.init(&self.regs, &self.phys)),
            CMD_MMU_INVALIDATE => {
                match arg0 {
                    ALL_ASIDS => self.mmu.invalidate(None),
                    a if a < NUM_ASIDS => self.mmu.invalidate(Some(a)),
                    _ => return CMD_EINVAL,
                }
                self.regs.bump(regs::MMU_INVAL_COUNT);
                CMD_OK
            }
            CMD_SET_IRQ_MASK => {
                if arg0 & !IRQ_ALL != 0 {
                    return CMD_EINVAL;
                }
                self.irq.set_mask(&self.regs, arg0);
                CMD_OK
            }
            CMD_WEDGE => {
                let mode = match arg1 {
                    0 => Wedge::None,
                    1 => Wedge::Soft,
                    2 => Wedge::Hard,
                    _ => return CMD_EINVAL,
                };
                match queue {
                    None => CMD_EINVAL,
                    Some(q) => {
                        self.engines[q].arm(&self.regs, mode);
                        CMD_OK
                    }
                }
            }
            _ => CMD_EINVAL,
        }
    }

    /// Hard reset (the HARD_RESET command, or the VM going away): every engine, queue,
    /// CQ/EQ, MMU and interrupt register back to its reset value, sync objects zeroed,
    /// the MMU cache emptied, `HARD_RESET_COUNT` advanced. HBM keeps its contents.
    pub fn hard_reset(&mut self) {
        self.reset_state();
        self.regs.bump(regs::HARD_RESET_COUNT);
    }

    fn reset_state(&mut self) {
        let zero = |from: u64, to: u64| {
            for off in (from..to).step_by(4) {
                self.regs.write(off, 0);
            }
        };
        zero(regs::IRQ_MASK, regs::QUEUE_BLOCK);
        zero(regs::MMU_HOP0, regs::mmu_hop0(NUM_ASIDS));
        zero(regs::SOB_BASE, PAGE_SIZE);
        for e in &mut self.engines {
            e.hard_reset(&self.regs);
        }
        self.cq.reset(&self.regs);
        self.eq.reset(&self.regs);
        self.irq.reset(&self.regs);
        self.mmu.invalidate(None);
    }

    /// Executes up to `budget` packets, round-robin over the engines, then signals the
    /// interrupts they raised.
    pub fn run(&mut self, budget: usize) -> Activity {
        let mut raised = 0;
        let mut done = 0;
        let activity = loop {
            let mut progress = false;
            let mut blocked = false;
            for e in &mut self.engines {
                let mut ctx = Ctx {
                    regs: &self.regs,
                    phys: &self.phys,
                    mmu: &mut self.mmu,
                    cq: &mut self.cq,
                    eq: &mut self.eq,
                    raised: &mut raised,
                };
                match e.step(&mut ctx) {
                    Step::Progress => {
                        progress = true;
                        done += 1;
                    }
                    Step::Blocked => blocked = true,
                    Step::Idle => {}
                }
            }
            if !progress {
                break if blocked {
                    Activity::Waiting
                } else {
                    Activity::Idle
                };
            }
            if done >= budget {
                break Activity::Busy;
            }
        };
        for cause in [IRQ_CQ, IRQ_EQ] {
            if raised & cause != 0 {
                self.irq.raise(&self.regs, cause);
            }
        }
        activity
    }

    /// Runs until nothing is runnable (tests). Returns `Idle` or `Waiting`.
    pub fn run_until_idle(&mut self) -> Activity {
        loop {
            match self.run(1024) {
                Activity::Busy => continue,
                other => return other,
            }
        }
    }
}

fn ok_or_inval(ok: bool) -> u32 {
    if ok {
        CMD_OK
    } else {
        CMD_EINVAL
    }
}
