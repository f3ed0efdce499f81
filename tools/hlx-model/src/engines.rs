// SPDX-License-Identifier: GPL-2.0-only
//! Engines: one per queue, fetching and executing its packets in order
//! (Documentation/hlx.rst, "Queues", "Packets", "Errors and jobs").
//!
//! An engine executes one packet per [`Engine::step`]. Errors in a packet (an MMU
//! fault, a bad physical address, an illegal packet) raise an event and put the engine
//! in error-skip mode: it skips packets up to the job's completion (the next MSG_LONG to
//! the CQ), which it reports with the job's error status, then carries on. Malformed
//! headers and bad producer indices halt the queue instead. A wedged engine makes no
//! progress until a reset.

use crate::compute;
use crate::dma::{AccessFault, AccessReason, DataPath, Fault, PhysMem};
use crate::mmu::Mmu;
use crate::packets::{declared_size, DecodeError, Illegal, LinSrc, MsgTarget, Packet, QWORD};
use crate::queues::{self, CqEntry, EqEntry, OutRing, PacketRing, Push};
use crate::regs::{self, Regs, IRQ_CQ, IRQ_EQ};

/// Bytes a LIN_DMA moves per bounce-buffer chunk.
const DMA_CHUNK: usize = 64 << 10;

/// External DMA engines reach host memory and run no VEC; compute engines are the
/// opposite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Queues 0 and 1.
    Dma,
    /// Queues 2 and 3.
    Compute,
}

impl EngineKind {
    /// The kind of queue `q`.
    pub fn of_queue(q: usize) -> Self {
        if q < 2 {
            Self::Dma
        } else {
            Self::Compute
        }
    }
}

/// `Q_STATUS` bits 0-3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not enabled: doorbells are ignored.
    Disabled = 0,
    /// Enabled, nothing to execute.
    Idle = 1,
    /// Executing.
    Busy = 2,
    /// In a FENCE whose condition is not met yet.
    FenceWait = 3,
    /// In a completion MSG_LONG while the CQ is full.
    CqWait = 4,
    /// Executed STOP.
    Stopped = 5,
    /// Halted on a malformed or truncated packet or a bad producer index.
    Halted = 6,
    /// Wedged by test control.
    Wedged = 7,
}

/// Test-control wedge modes (the WEDGE command's `arg1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wedge {
    /// Not armed.
    None = 0,
    /// Soft reset recovers the engine.
    Soft = 1,
    /// Soft reset fails; only a hard reset recovers.
    Hard = 2,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Executed or skipped a packet.
    Progress,
    /// Waits on something other engines or the driver may change (FENCE, CQ room).
    Blocked,
    /// Nothing to do until a doorbell or a command.
    Idle,
}

/// A command refused because the engine is wedged for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hung;

/// Everything an engine touches besides itself.
pub struct Ctx<'a> {
    /// The register page.
    pub regs: &'a Regs,
    /// Physical memory.
    pub phys: &'a PhysMem,
    /// The MMU.
    pub mmu: &'a mut Mmu,
    /// The completion queue.
    pub cq: &'a mut OutRing,
    /// The event queue.
    pub eq: &'a mut OutRing,
    /// Interrupt causes raised so far (`IRQ_*` bits).
    pub raised: &'a mut u32,
}

impl Ctx<'_> {
    /// Appends an event to the EQ, or counts it in `EQ_DROPPED` if it cannot.
    pub fn post(&mut self, mut ev: EqEntry) {
        ev.seq = self.eq.pi();
        match self.eq.push(self.regs, self.phys, &ev.encode()) {
            Ok(Push::Written) => *self.raised |= IRQ_EQ,
            _ => self.regs.bump(regs::EQ_DROPPED),
        }
    }
}

/// The result of executing one packet.
enum Outcome {
    Done,
    Wait(State),
    Stop,
    Fault(Fault),
    Illegal(Illegal),
}

/// One engine and the state of its queue.
#[derive(Debug)]
pub struct Engine {
    id: usize,
    kind: EngineKind,
    state: State,
    ring: Option<PacketRing>,
    ci: u32,
    pi: u32,
    job_error: u16,
    armed: Wedge,
    wedged: Wedge,
}

impl Engine {
    /// Engine `id`, disabled.
    pub fn new(id: usize) -> Self {
        Self {
            id,
            kind: EngineKind::of_queue(id),
            state: State::Disabled,
            ring: None,
            ci: 0,
            pi: 0,
            job_error: 0,
            armed: Wedge::None,
            wedged: Wedge::None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Writes the engine's device-owned registers.
    pub fn publish(&self, regs: &Regs) {
        let mut status = self.state as u32;
        if self.job_error != 0 {
            status |= regs::Q_STATUS_ERROR_SKIP;
        }
        if self.armed != Wedge::None {
            status |= regs::Q_STATUS_WEDGE_ARMED;
        }
        regs.set_queue(self.id, regs::Q_STATUS, status);
        regs.set_queue(self.id, regs::Q_CI, self.ci);
        regs.set_queue(self.id, regs::Q_LATCHED_PI, self.pi);
    }

    /// Hard reset: disabled, nothing armed, every device-owned queue register 0.
    pub fn hard_reset(&mut self, regs: &Regs) {
        *self = Self::new(self.id);
        for reg in (regs::Q_CI..regs::QUEUE_STRIDE).step_by(4) {
            regs.set_queue(self.id, reg, 0);
        }
        for reg in [regs::Q_BASE, regs::Q_BASE + 4, regs::Q_SIZE, regs::Q_PI] {
            regs.set_queue(self.id, reg, 0);
        }
        regs.set_queue(self.id, regs::Q_ASID, 0);
        self.publish(regs);
    }

    fn check_hung(&self) -> Result<(), Hung> {
        if self.state == State::Wedged && self.wedged == Wedge::Hard {
            Err(Hung)
        } else {
            Ok(())
        }
    }

    /// QUEUE_ENABLE: latches `Q_BASE`/`Q_SIZE` and starts with an empty ring at `Q_PI`.
    /// `Ok(false)` if the ring is invalid.
    pub fn enable(&mut self, regs: &Regs, phys: &PhysMem) -> Result<bool, Hung> {
        self.check_hung()?;
        let base = regs.read64(regs::queue_reg(self.id, regs::Q_BASE));
        let size = regs.queue(self.id, regs::Q_SIZE);
        let Some(ring) = PacketRing::new(phys, base, size) else {
            return Ok(false);
        };
        self.ring = Some(ring);
        self.restart(regs, State::Idle);
        Ok(true)
    }

    /// QUEUE_DISABLE: stops fetching; the ring is forgotten.
    pub fn disable(&mut self, regs: &Regs) -> Result<(), Hung> {
        self.check_hung()?;
        self.ring = None;
        self.restart(regs, State::Disabled);
        Ok(())
    }

    /// SOFT_RESET of this engine: abandons the packet in progress and every queued one
    /// (`CI := PI := Q_PI`), leaves error-skip mode, clears STOP, halt, fence waits and
    /// soft wedges, and disarms. Fails on a hard wedge.
    pub fn soft_reset(&mut self, regs: &Regs) -> Result<(), Hung> {
        self.check_hung()?;
        let state = if self.ring.is_some() {
            State::Idle
        } else {
            State::Disabled
        };
        self.restart(regs, state);
        regs.bump(regs::queue_reg(self.id, regs::Q_SOFT_RESET_COUNT));
        Ok(())
    }

    fn restart(&mut self, regs: &Regs, state: State) {
        self.pi = regs.queue(self.id, regs::Q_PI);
        self.ci = self.pi;
        self.state = state;
        self.job_error = 0;
        self.armed = Wedge::None;
        self.wedged = Wedge::None;
        regs.set_queue(self.id, regs::Q_FENCE_SOB, 0);
        regs.set_queue(self.id, regs::Q_FENCE_TARGET, 0);
        self.publish(regs);
    }

    /// WEDGE: arms (or, with [`Wedge::None`], disarms) a hang at the next packet.
    pub fn arm(&mut self, regs: &Regs, mode: Wedge) {
        self.armed = mode;
        self.publish(regs);
    }

    /// The queue's doorbell: latches `Q_PI`. Ignored while disabled.
    pub fn doorbell(&mut self, regs: &Regs) {
        if self.state == State::Disabled {
            return;
        }
        self.pi = regs.queue(self.id, regs::Q_PI);
        self.publish(regs);
    }

    /// Executes (or skips) at most one packet.
    pub fn step(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let step = self.step_inner(ctx);
        self.publish(ctx.regs);
        step
    }

    fn step_inner(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(ring) = self.ring else {
            return Step::Idle;
        };
        match self.state {
            State::Disabled | State::Stopped | State::Halted | State::Wedged => return Step::Idle,
            State::FenceWait | State::CqWait | State::Idle | State::Busy => {}
        }
        let pending = self.pi.wrapping_sub(self.ci);
        if pending == 0 {
            self.state = State::Idle;
            return Step::Idle;
        }
        if pending > ring.size || !self.pi.is_multiple_of(QWORD as u32) {
            self.halt(ctx, ring, 0, Illegal::BadProducerIndex);
            return Step::Progress;
        }
        if self.armed != Wedge::None && matches!(self.state, State::Idle | State::Busy) {
            self.wedged = self.armed;
            self.armed = Wedge::None;
            self.state = State::Wedged;
            return Step::Idle;
        }
        let mut header = [0u8; QWORD];
        ring.fetch(ctx.phys, self.ci, &mut header)
            .expect("rings are validated when enabled");
        let Some(size) = declared_size(&header) else {
            self.halt(ctx, ring, header[0], Illegal::Malformed);
            return Step::Progress;
        };
        if size as u32 > pending {
            self.halt(ctx, ring, header[0], Illegal::Truncated);
            return Step::Progress;
        }
        let mut bytes = vec![0u8; size];
        ring.fetch(ctx.phys, self.ci, &mut bytes)
            .expect("rings are validated when enabled");
        let size = size as u32;
        let decoded = Packet::decode(&bytes);
        if self.job_error != 0 {
            // Error-skip mode: everything up to the job's completion is dropped unseen,
            // except what makes the next packet boundary unknowable.
            match decoded {
                Ok((ref p, _)) if is_completion(p) => {}
                Err(DecodeError { reason, .. }) if reason.halts() => {}
                _ => {
                    self.advance(ctx.regs, size, false);
                    return Step::Progress;
                }
            }
        }
        let outcome = match decoded {
            Err(DecodeError { reason, .. }) => Outcome::Illegal(reason),
            Ok((p, _)) => self.execute(ctx, &p),
        };
        match outcome {
            Outcome::Done => self.advance(ctx.regs, size, true),
            Outcome::Wait(state) => {
                self.state = state;
                return Step::Blocked;
            }
            Outcome::Stop => {
                let ev = self.event(ctx, queues::EV_QUEUE_STOPPED, 0, 0);
                ctx.post(ev);
                self.advance(ctx.regs, size, true);
                self.state = State::Stopped;
            }
            Outcome::Fault(fault) => {
                self.report_fault(ctx, fault);
                self.advance(ctx.regs, size, true);
            }
            Outcome::Illegal(reason) if reason.halts() => {
                self.halt(ctx, ring, header[0], reason);
            }
            Outcome::Illegal(reason) => {
                let ev = self.event(
                    ctx,
                    queues::EV_ILLEGAL_PACKET,
                    u32::from(header[0]) | (reason as u32) << 16,
                    ring.base + u64::from(self.ci & (ring.size - 1)),
                );
                ctx.post(ev);
                self.fail_job(ctx.regs, queues::ERR_ILLEGAL_PACKET);
                self.advance(ctx.regs, size, false);
            }
        }
        Step::Progress
    }

    /// Moves past the current packet; `executed` counts it in `Q_PKT_COUNT`.
    fn advance(&mut self, regs: &Regs, size: u32, executed: bool) {
        self.ci = self.ci.wrapping_add(size);
        self.state = State::Busy;
        if executed {
            regs.bump(regs::queue_reg(self.id, regs::Q_PKT_COUNT));
        }
    }

    fn event(&self, ctx: &Ctx<'_>, kind: u16, info: u32, addr: u64) -> EqEntry {
        EqEntry {
            kind,
            queue: self.id as u8,
            asid: ctx.regs.queue(self.id, regs::Q_ASID) as u8,
            info,
            addr,
            ci: self.ci,
            seq: 0,
        }
    }

    fn halt(&mut self, ctx: &mut Ctx<'_>, ring: PacketRing, opcode: u8, reason: Illegal) {
        let ev = self.event(
            ctx,
            queues::EV_ILLEGAL_PACKET,
            u32::from(opcode) | (reason as u32) << 16,
            ring.base + u64::from(self.ci & (ring.size - 1)),
        );
        ctx.post(ev);
        ctx.regs.set_queue(
            self.id,
            regs::Q_ERROR,
            u32::from(queues::ERR_ILLEGAL_PACKET),
        );
        self.state = State::Halted;
    }

    fn fail_job(&mut self, regs: &Regs, code: u16) {
        if self.job_error == 0 {
            self.job_error = code;
        }
        regs.set_queue(self.id, regs::Q_ERROR, u32::from(code));
    }

    fn report_fault(&mut self, ctx: &mut Ctx<'_>, fault: Fault) {
        let (ev, code) = match fault {
            Fault::Mmu(f) => {
                let regs = ctx.regs;
                regs.bump(regs::MMU_FAULT_COUNT);
                regs.write64(regs::MMU_FAULT_VA, f.va);
                regs.write(regs::MMU_FAULT_INFO, f.info());
                regs.write(regs::MMU_FAULT_ID, self.id as u32 | (f.asid & 0xFF) << 8);
                let ev = self.event(ctx, queues::EV_MMU_FAULT, f.info(), f.va);
                (ev, queues::ERR_MMU_FAULT)
            }
            Fault::Access(f) => (
                self.event(ctx, queues::EV_ACCESS_ERROR, f.info(), f.pa),
                queues::ERR_ACCESS,
            ),
        };
        ctx.post(ev);
        self.fail_job(ctx.regs, code);
    }

    fn data_path<'a>(&self, ctx: &'a mut Ctx<'_>) -> DataPath<'a> {
        DataPath {
            phys: ctx.phys,
            mmu: ctx.mmu,
            regs: ctx.regs,
            queue: self.id,
            host_ok: self.kind == EngineKind::Dma,
        }
    }

    fn execute(&mut self, ctx: &mut Ctx<'_>, packet: &Packet) -> Outcome {
        let fault = |r: Result<(), Fault>| r.map_or_else(Outcome::Fault, |()| Outcome::Done);
        match *packet {
            Packet::Nop => Outcome::Done,
            Packet::Stop => Outcome::Stop,
            Packet::Wreg32 { offset, value } => {
                if !regs::wreg32_allowed(offset) {
                    return Outcome::Illegal(Illegal::BadRegister);
                }
                ctx.regs.write(u64::from(offset), value);
                Outcome::Done
            }
            Packet::MsgLong { target, value } => match target {
                MsgTarget::Mem { addr } => {
                    fault(self.data_path(ctx).write(addr, &value.to_le_bytes()))
                }
                MsgTarget::Sob { index, add } => {
                    if add {
                        ctx.regs.add(regs::sob(index), value);
                    } else {
                        ctx.regs.write(regs::sob(index), value);
                    }
                    Outcome::Done
                }
                MsgTarget::Cq => self.complete(ctx, value),
            },
            Packet::Fence { sob, target } => {
                if ctx.regs.sob(sob) >= target {
                    ctx.regs.set_queue(self.id, regs::Q_FENCE_SOB, 0);
                    ctx.regs.set_queue(self.id, regs::Q_FENCE_TARGET, 0);
                    Outcome::Done
                } else {
                    ctx.regs.set_queue(self.id, regs::Q_FENCE_SOB, sob);
                    ctx.regs.set_queue(self.id, regs::Q_FENCE_TARGET, target);
                    Outcome::Wait(State::FenceWait)
                }
            }
            Packet::LinDma { src, dst, len } => fault(self.lin_dma(ctx, src, dst, len)),
            Packet::PteWrite { pa, value } => {
                if !ctx.phys.store_pte(pa, value) {
                    return Outcome::Fault(Fault::Access(AccessFault {
                        pa,
                        write: true,
                        reason: AccessReason::HbmRange,
                    }));
                }
                ctx.mmu.invalidate(None);
                ctx.regs.bump(regs::MMU_INVAL_COUNT);
                Outcome::Done
            }
            Packet::Vec(ref v) => {
                if self.kind != EngineKind::Compute {
                    return Outcome::Illegal(Illegal::WrongEngine);
                }
                fault(compute::execute(&mut self.data_path(ctx), v))
            }
        }
    }

    fn lin_dma(&self, ctx: &mut Ctx<'_>, src: LinSrc, dst: u64, len: u32) -> Result<(), Fault> {
        let mut dp = self.data_path(ctx);
        let len = len as usize;
        let mut buf = vec![0u8; len.min(DMA_CHUNK)];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(DMA_CHUNK);
            let chunk = &mut buf[..n];
            match src {
                LinSrc::Addr(src) => dp.read(src.wrapping_add(done as u64), chunk)?,
                LinSrc::Pattern(p) => {
                    let pattern = p.to_le_bytes();
                    for (i, b) in chunk.iter_mut().enumerate() {
                        *b = pattern[(done + i) % 4];
                    }
                }
            }
            dp.write(dst.wrapping_add(done as u64), chunk)?;
            done += n;
        }
        Ok(())
    }

    /// A MSG_LONG to the CQ: the job's completion, carrying its error status.
    fn complete(&mut self, ctx: &mut Ctx<'_>, value: u32) -> Outcome {
        let entry = CqEntry {
            data: value,
            queue: self.id as u16,
            status: self.job_error,
            seq: ctx.cq.pi(),
        };
        match ctx.cq.push(ctx.regs, ctx.phys, &entry.encode()) {
            Ok(Push::Full) => return Outcome::Wait(State::CqWait),
            Ok(Push::Written) => *ctx.raised |= IRQ_CQ,
            Ok(Push::Disabled) => {
                let ev = self.event(ctx, queues::EV_CQ_ERROR, 0, u64::from(value));
                ctx.post(ev);
            }
            Err(_) => {
                let ev = self.event(ctx, queues::EV_CQ_ERROR, 1, u64::from(value));
                ctx.post(ev);
            }
        }
        ctx.regs.bump(regs::queue_reg(self.id, regs::Q_JOB_COUNT));
        if self.job_error != 0 {
            ctx.regs
                .bump(regs::queue_reg(self.id, regs::Q_ERR_JOB_COUNT));
        }
        self.job_error = 0;
        Outcome::Done
    }
}

fn is_completion(p: &Packet) -> bool {
    matches!(
        p,
        Packet::MsgLong {
            target: MsgTarget::Cq,
            ..
        }
    )
}
