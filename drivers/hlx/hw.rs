// SPDX-License-Identifier: GPL-2.0-only

//! The HLX device as the driver runs it: command mailbox, bring-up and resets, the four
//! queues' rings, and the completion and event queues (Documentation/hlx.rst).
//!
//! Jobs: [`Hw::submit`] copies a validated command buffer into its queue's ring, appends the
//! completion packet (MSG_LONG to the CQ with a tag the driver chooses), writes `Q_PI` and rings
//! the queue's doorbell. The CQ interrupt ([`Hw::cq_interrupt`]) matches each CQ entry with the
//! oldest job of its queue by tag and completes it (`EIO` if the device reports an error).
//! Errors and MMU faults arrive on the EQ ([`Hw::eq_interrupt`]) and are counted.
//!
//! The device MMU's page tables are `mmu`'s; this file programs its registers (`MMU_HOP0`,
//! `MMU_CTRL`, `MMU_INVALIDATE`).
//!
//! Lock order: `mmu` (page tables and ASIDs), then `cmd` (the command mailbox, never taken in
//! interrupts), then `state` (an IRQ-safe spinlock: the interrupt handlers take it). Job handles
//! are completed after `state` is released.

use crate::cb::{header, MSG_TARGET_CQ, OP_MSG_LONG};
use crate::mmu::Mmu;
use crate::regs::*;
use kernel::{
    device,
    devres::Devres,
    new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{Arc, Mutex, SpinLockIrq},
    time::{delay::fsleep, Delta, Instant, Monotonic},
};
use xaccel::{
    pci::{DmaBuffer, IoMem},
    sched::JobHandle,
    Access, DmaRange, VmId,
};

/// Queues (and engines): DMA0, DMA1, CMP0, CMP1.
pub(crate) const QUEUES: usize = 4;
/// Bytes of each queue's ring (host memory).
const RING_BYTES: usize = 64 * 1024;
/// Jobs a queue holds at once: its engine's ring credits. A ring holds this many of the
/// largest jobs (prologue, a full command buffer and the completion).
pub(crate) const JOBS_PER_QUEUE: u32 = 8;
const _: () = assert!(
    (JOBS_PER_QUEUE as usize) * (PROLOGUE_BYTES + crate::cb::MAX_CB_BYTES + COMPLETION_BYTES)
        <= RING_BYTES
);
/// The prologue the driver puts before every job: WREG32 of the queue's ASID.
pub(crate) const PROLOGUE_BYTES: usize = 16;
/// CQ and EQ entries: the CQ holds every job that can be in flight, so the device never waits.
const CQ_ENTRIES_N: u32 = 64;
const EQ_ENTRIES_N: u32 = 64;
const _: () = assert!(QUEUES as u32 * JOBS_PER_QUEUE <= CQ_ENTRIES_N);
/// The completion packet the driver appends to every job.
const COMPLETION_BYTES: usize = 16;
/// How long a command may take before the device counts as dead.
const COMMAND_TIMEOUT: Delta = Delta::from_secs(1);
/// How long a command waits between two polls of its completion.
const COMMAND_POLL: Delta = Delta::from_micros(20);

/// One queue's software state.
struct Queue {
    /// The driver's producer index (free-running bytes).
    pi: u32,
    /// Jobs in flight, oldest first, with their completion tags. Capacity `JOBS_PER_QUEUE`.
    jobs: KVec<(u32, JobHandle)>,
}

/// Counters shown to userspace.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counters {
    pub(crate) jobs_done: u64,
    pub(crate) jobs_failed: u64,
    pub(crate) mmu_faults: u64,
    pub(crate) access_errors: u64,
    pub(crate) illegal_packets: u64,
    pub(crate) other_events: u64,
    pub(crate) soft_resets: u64,
    pub(crate) hard_resets: u64,
    pub(crate) last_fault_addr: u64,
}

/// Everything the interrupt handlers and the job path share.
struct State {
    queues: KVec<Queue>,
    cq_ci: u32,
    eq_ci: u32,
    next_tag: u32,
    counters: Counters,
}

/// One HLX function.
#[pin_data]
pub(crate) struct Hw {
    bar0: Devres<IoMem>,
    regs: Devres<IoMem>,
    peer: u32,
    hbm_size: u64,
    /// BAR2's PCI bus address, told to the device at every bring-up (`BAR2_BUS_ADDR`).
    bar2_bus: u64,
    cq: DmaBuffer,
    eq: DmaBuffer,
    rings: KVec<DmaBuffer>,
    /// Process context only (VM_BIND, SUBMIT's validation, resets, queries): a mutex.
    #[pin]
    mmu: Mutex<Mmu>,
    /// The last `CMD_SEQ` written; held while a command runs (process context only).
    #[pin]
    cmd: Mutex<u32>,
    #[pin]
    state: SpinLockIrq<State>,
}

impl Hw {
    /// Takes over the function whose BAR0 and register page are mapped: checks the identity,
    /// allocates the rings and queues, hard-resets and brings the device up (interrupts stay
    /// masked until [`Hw::unmask_interrupts`]).
    pub(crate) fn new(
        dev: &device::Device<device::Bound>,
        bar0: Devres<IoMem>,
        regs: Devres<IoMem>,
        page_tables: Devres<IoMem>,
        bar2_bus: u64,
    ) -> Result<Arc<Self>> {
        let (peer, hbm_size, seq) = {
            let r = regs.access(dev)?;
            if r.read32(HLX_ID)? != HLX_ID_VALUE
                || r.read32(HLX_VERSION)? >> 16 != HLX_VERSION_MAJOR
            {
                return Err(ENODEV);
            }
            let start = Instant::<Monotonic>::now();
            while r.read32(DEV_STATUS)? & 1 == 0 {
                if start.elapsed() > COMMAND_TIMEOUT {
                    dev_err!(dev, "HLX is not ready (is the model running?)\n");
                    return Err(ETIMEDOUT);
                }
                fsleep(COMMAND_POLL);
            }
            if r.read32(NUM_QUEUES)? as usize != QUEUES {
                return Err(ENODEV);
            }
            (r.read32(PEER_ID)?, r.read64(HBM_SIZE)?, r.read32(CMD_SEQ)?)
        };
        let mut rings = KVec::with_capacity(QUEUES, GFP_KERNEL)?;
        let mut queues = KVec::with_capacity(QUEUES, GFP_KERNEL)?;
        for _ in 0..QUEUES {
            rings.push(DmaBuffer::new(dev, RING_BYTES)?, GFP_KERNEL)?;
            queues.push(
                Queue {
                    pi: 0,
                    jobs: KVec::with_capacity(JOBS_PER_QUEUE as usize, GFP_KERNEL)?,
                },
                GFP_KERNEL,
            )?;
        }
        let hbm_bytes = hbm_size;
        let hw = Arc::pin_init(
            try_pin_init!(Self {
                bar0,
                regs,
                peer,
                hbm_size,
                bar2_bus,
                cq: DmaBuffer::new(dev, CQ_ENTRIES_N as usize * CQ_ENTRY_BYTES)?,
                eq: DmaBuffer::new(dev, EQ_ENTRIES_N as usize * EQ_ENTRY_BYTES)?,
                rings,
                mmu <- new_mutex!(Mmu::new(page_tables, hbm_bytes)),
                cmd <- new_mutex!(seq),
                state <- new_spinlock_irq!(State {
                    queues,
                    cq_ci: 0,
                    eq_ci: 0,
                    next_tag: 0,
                    counters: Counters::default(),
                }),
            }? Error),
            GFP_KERNEL,
        )?;
        hw.bring_up()?;
        Ok(hw)
    }

    /// HBM size in bytes.
    pub(crate) fn hbm_size(&self) -> u64 {
        self.hbm_size
    }

    fn read(&self, offset: usize) -> Result<u32> {
        self.regs.try_access().ok_or(ENXIO)?.read32(offset)
    }

    fn write(&self, offset: usize, value: u32) -> Result {
        self.regs.try_access().ok_or(ENXIO)?.write32(offset, value)
    }

    fn write64(&self, offset: usize, value: u64) -> Result {
        self.regs.try_access().ok_or(ENXIO)?.write64(offset, value)
    }

    fn doorbell(&self, vector: u32) -> Result {
        self.bar0
            .try_access()
            .ok_or(ENXIO)?
            .write32(BAR0_DOORBELL, self.peer << 16 | vector)
    }

    /// Runs a command through the mailbox and returns its `CMD_STATUS`. Sleeps between polls
    /// (up to a second, `ETIMEDOUT`): process context only. Every caller is (probe, unbind,
    /// VM_BIND and VM_UNBIND, SUBMIT's validation, the core's resets, which may sleep, and
    /// debugfs).
    pub(crate) fn command(&self, opcode: u32, arg0: u32, arg1: u32) -> Result<u32> {
        let mut seq = self.cmd.lock();
        self.write(CMD_OPCODE, opcode)?;
        self.write(CMD_ARG0, arg0)?;
        self.write(CMD_ARG1, arg1)?;
        *seq = seq.wrapping_add(1);
        self.write(CMD_SEQ, *seq)?;
        // `writel()` orders the mailbox writes before the doorbell.
        self.doorbell(VECTOR_CONTROL)?;
        let start = Instant::<Monotonic>::now();
        while self.read(CMD_DONE_SEQ)? != *seq {
            if start.elapsed() > COMMAND_TIMEOUT {
                return Err(ETIMEDOUT);
            }
            fsleep(COMMAND_POLL);
        }
        self.read(CMD_STATUS)
    }

    /// Runs a command that must succeed.
    fn command_ok(&self, opcode: u32, arg0: u32) -> Result {
        match self.command(opcode, arg0, 0)? {
            STATUS_OK => Ok(()),
            _ => Err(EIO),
        }
    }

    /// Hard reset and bring-up (the manual's steps 5-8): BAR2's bus address for peers, CQ,
    /// EQ, the queues in bypass (ASID 0). Every job the driver held is forgotten. Interrupts
    /// stay masked.
    fn bring_up(&self) -> Result {
        self.command_ok(CMD_HARD_RESET, 0)?;
        // The reset cleared it: until it is written, no peer's DMA reaches this HBM.
        self.write64(BAR2_BUS_ADDR, self.bar2_bus | BAR2_BUS_VALID)?;
        {
            let mut st = self.state.lock();
            st.cq_ci = 0;
            st.eq_ci = 0;
            for q in st.queues.iter_mut() {
                q.pi = 0;
                q.jobs.clear();
            }
        }
        self.write64(CQ_BASE, PA_HOST | self.cq.dma_address())?;
        self.write(CQ_ENTRIES, CQ_ENTRIES_N)?;
        self.write(CQ_CI, 0)?;
        self.command_ok(CMD_CQ_INIT, 0)?;
        self.write64(EQ_BASE, PA_HOST | self.eq.dma_address())?;
        self.write(EQ_ENTRIES, EQ_ENTRIES_N)?;
        self.write(EQ_CI, 0)?;
        self.command_ok(CMD_EQ_INIT, 0)?;
        for (q, ring) in self.rings.iter().enumerate() {
            self.write64(queue_reg(q, Q_BASE), PA_HOST | ring.dma_address())?;
            self.write(queue_reg(q, Q_SIZE), RING_BYTES as u32)?;
            self.write(queue_reg(q, Q_PI), 0)?;
            self.write(queue_reg(q, Q_ASID), 0)?;
            self.command_ok(CMD_QUEUE_ENABLE, q as u32)?;
        }
        // HBM kept the page tables; the registers pointing at them were cleared.
        let mmu = self.mmu.lock();
        for (asid, hop0) in mmu.hop0_tables() {
            self.write64(mmu_hop0(asid), hop0 | 1)?;
        }
        self.write(MMU_CTRL, 1)
    }

    /// The ASID of `vm`, allocated on first use (`ENOSPC` when none is left).
    pub(crate) fn asid(&self, vm: VmId) -> Result<u32> {
        let mut mmu = self.mmu.lock();
        let (asid, new) = mmu.asid(vm)?;
        if new {
            self.program_asid(&mmu, asid)?;
        }
        Ok(asid)
    }

    /// Points `MMU_HOP0[asid]` at its table (no queue runs with a new ASID yet).
    fn program_asid(&self, mmu: &Mmu, asid: u32) -> Result {
        for (a, hop0) in mmu.hop0_tables() {
            if a == asid {
                self.write64(mmu_hop0(asid), hop0 | 1)?;
            }
        }
        Ok(())
    }

    /// `Backend::mmu_map`: PTEs for the pages, in `vm`'s address space.
    pub(crate) fn mmu_map(&self, vm: VmId, va: u64, pages: &[DmaRange], access: Access) -> Result {
        let mut mmu = self.mmu.lock();
        let (asid, new) = mmu.map(vm, va, pages, access)?;
        if new {
            self.program_asid(&mmu, asid)?;
        }
        Ok(())
    }

    /// `Backend::mmu_unmap`: clears the PTEs and drops the ASID's cached translations.
    pub(crate) fn mmu_unmap(&self, vm: VmId, va: u64, len: u64) {
        let mut mmu = self.mmu.lock();
        if let Some(asid) = mmu.asid_of(vm) {
            mmu.unmap(asid, va, len);
            if self.command(CMD_MMU_INVALIDATE, asid, 0) != Ok(STATUS_OK) {
                pr_err!("hlx: MMU_INVALIDATE of ASID {asid} failed\n");
            }
        }
    }

    /// `Backend::mmu_release`: frees `vm`'s ASID and tables, clears the ASID's `MMU_HOP0` and
    /// drops its cached translations.
    pub(crate) fn mmu_release(&self, vm: VmId) {
        let mut mmu = self.mmu.lock();
        match mmu.release(vm) {
            Ok(Some(asid)) => {
                let cleared = self.write64(mmu_hop0(asid), 0);
                if cleared.is_err() || self.command(CMD_MMU_INVALIDATE, asid, 0) != Ok(STATUS_OK) {
                    pr_err!("hlx: clearing ASID {asid} failed\n");
                }
            }
            Ok(None) => {}
            Err(e) => pr_err!("hlx: releasing the tables of a VM failed: {e:?}\n"),
        }
    }

    /// Lets the device interrupt (MSI-X must be enabled).
    pub(crate) fn unmask_interrupts(&self) -> Result {
        self.command_ok(CMD_SET_IRQ_MASK, 0)
    }

    /// Masks interrupts and hard-resets: the device stops and writes no more memory.
    pub(crate) fn shut_down(&self) {
        let _ = self.command(CMD_SET_IRQ_MASK, IRQ_MASK_ALL, 0);
        let _ = self.command(CMD_HARD_RESET, 0, 0);
    }

    /// Queues a validated job on `queue` and rings its doorbell; completes it at once with
    /// `EBUSY` if the queue is full (the core's credits prevent that) or `ENXIO` if the device
    /// is gone.
    pub(crate) fn submit(&self, queue: usize, job: JobHandle) {
        if let Err((job, e)) = self.try_submit(queue, job) {
            job.complete(Err(e));
        }
    }

    fn try_submit(&self, queue: usize, job: JobHandle) -> Result<(), (JobHandle, Error)> {
        let Some(ring) = self.rings.get(queue) else {
            return Err((job, EINVAL));
        };
        let Ok(ci) = self.read(queue_reg(queue, Q_CI)) else {
            return Err((job, ENXIO));
        };
        let mut st = self.state.lock();
        let tag = st.next_tag;
        st.next_tag = tag.wrapping_add(1);
        let q = &mut st.queues[queue];
        let written = Self::write_job(ring, q, job.payload(), tag, ci);
        let pi = match written {
            Ok(pi) => pi,
            Err(e) => {
                drop(st);
                return Err((job, e));
            }
        };
        q.pi = pi;
        // Cannot fail: the capacity is `JOBS_PER_QUEUE` and the queue is not full.
        if let Err(e) = q.jobs.push_within_capacity((tag, job)) {
            drop(st);
            return Err((e.0 .1, ENOMEM));
        }
        drop(st);
        // `writel()` orders the ring writes before `Q_PI`, and `Q_PI` before the doorbell.
        let _ = self.write(queue_reg(queue, Q_PI), pi);
        let _ = self.doorbell(queue as u32);
        Ok(())
    }

    /// Writes a job's packets and its completion at `q`'s producer index; returns the new
    /// producer index. `EBUSY` if the queue has no room (jobs or ring bytes).
    fn write_job(ring: &DmaBuffer, q: &Queue, payload: &[u8], tag: u32, ci: u32) -> Result<u32> {
        let bytes = payload.len() + COMPLETION_BYTES;
        let free = RING_BYTES.saturating_sub(q.pi.wrapping_sub(ci) as usize);
        if q.jobs.len() == JOBS_PER_QUEUE as usize || bytes > free {
            return Err(EBUSY);
        }
        let mut completion = [0u8; COMPLETION_BYTES];
        completion[..8].copy_from_slice(&header(OP_MSG_LONG, MSG_TARGET_CQ, tag));
        let mut pi = q.pi;
        for part in [payload, &completion[..]] {
            // The ring size is a power of two and parts are multiples of 8 bytes: a part wraps
            // at most once.
            let at = pi as usize % RING_BYTES;
            let first = part.len().min(RING_BYTES - at);
            ring.write_bytes(at, &part[..first])?;
            ring.write_bytes(0, &part[first..])?;
            pi = pi.wrapping_add(part.len() as u32);
        }
        Ok(pi)
    }

    /// Consumes the CQ: completes each job whose entry arrived (interrupt context).
    pub(crate) fn cq_interrupt(&self) {
        loop {
            let Ok(pi) = self.read(CQ_PI) else { return };
            // `readl()` orders the PI read before the entry reads below.
            let mut st = self.state.lock();
            // A hard reset (unbind, recovery) zeroes `CQ_PI` under a handler that is running
            // or pending: never walk more than the CQ holds, or the handler would spin through
            // 2^32 entries with interrupts off. `bring_up` resynchronises the index.
            if st.cq_ci == pi || pi.wrapping_sub(st.cq_ci) > CQ_ENTRIES_N {
                return;
            }
            let at = (st.cq_ci % CQ_ENTRIES_N) as usize * CQ_ENTRY_BYTES;
            let tag = self.cq.read32(at).unwrap_or(0);
            let word = self.cq.read32(at + 4).unwrap_or(0);
            let (queue, status) = ((word & 0xffff) as usize, word >> 16);
            st.cq_ci = st.cq_ci.wrapping_add(1);
            let ci = st.cq_ci;
            let mut done = None;
            if let Some(q) = st.queues.get_mut(queue) {
                // An entry of a job a reset forgot has no match: skip it.
                if q.jobs.first().map(|(t, _)| *t) == Some(tag) {
                    done = q.jobs.remove(0).ok().map(|(_, job)| job);
                }
            }
            if done.is_some() {
                if status == 0 {
                    st.counters.jobs_done += 1;
                } else {
                    st.counters.jobs_failed += 1;
                }
            }
            drop(st);
            let _ = self.write(CQ_CI, ci);
            if status != 0 {
                // The device wrote the job's events before its CQ entry: count them before
                // the job's fence tells anyone it failed.
                self.eq_interrupt();
            }
            if let Some(job) = done {
                job.complete(if status == 0 { Ok(()) } else { Err(EIO) });
            }
        }
    }

    /// Consumes the EQ: counts errors and faults (interrupt context). The job they belong to
    /// fails through its CQ entry's status.
    pub(crate) fn eq_interrupt(&self) {
        let Ok(pi) = self.read(EQ_PI) else { return };
        let mut st = self.state.lock();
        // As in `cq_interrupt`: after a hard reset under us, `EQ_PI` is behind our index.
        if pi.wrapping_sub(st.eq_ci) > EQ_ENTRIES_N {
            return;
        }
        while st.eq_ci != pi {
            let at = (st.eq_ci % EQ_ENTRIES_N) as usize * EQ_ENTRY_BYTES;
            let kind = (self.eq.read32(at).unwrap_or(0) & 0xffff) as u16;
            let addr = self.eq.read64(at + 8).unwrap_or(0);
            let c = &mut st.counters;
            match kind {
                EVENT_MMU_FAULT => {
                    c.mmu_faults += 1;
                    c.last_fault_addr = addr;
                }
                EVENT_ACCESS_ERROR => {
                    c.access_errors += 1;
                    c.last_fault_addr = addr;
                }
                EVENT_ILLEGAL_PACKET => c.illegal_packets += 1,
                _ => c.other_events += 1,
            }
            st.eq_ci = st.eq_ci.wrapping_add(1);
        }
        let ci = st.eq_ci;
        drop(st);
        let _ = self.write(EQ_CI, ci);
    }

    /// Soft-resets `queue` after a timeout; its jobs are forgotten. `EIO` if the engine is
    /// hard-wedged (the core then resets the device).
    pub(crate) fn reset_queue(&self, queue: usize) -> Result {
        if queue >= QUEUES {
            return Err(EINVAL);
        }
        let status = self.command(CMD_SOFT_RESET, 1 << queue, 0)?;
        let mut st = self.state.lock();
        if status == STATUS_HUNG {
            return Err(EIO);
        }
        // The device dropped everything queued: `Q_CI` = latched PI = our PI.
        st.queues[queue].jobs.clear();
        st.counters.soft_resets += 1;
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(EIO)
        }
    }

    /// Hard-resets the device and brings it up again; every job is forgotten.
    pub(crate) fn reset_device(&self) -> Result {
        self.bring_up()?;
        self.unmask_interrupts()?;
        self.state.lock().counters.hard_resets += 1;
        Ok(())
    }

    /// Arms a wedge on `queue` (test control): `mode` 0 disarm, 1 soft, 2 hard.
    pub(crate) fn wedge(&self, queue: u32, mode: u32) -> Result {
        if queue as usize >= QUEUES || mode > 2 {
            return Err(EINVAL);
        }
        match self.command(CMD_WEDGE, queue, mode)? {
            STATUS_OK => Ok(()),
            _ => Err(EIO),
        }
    }

    /// Page-table bytes and ASIDs in use.
    pub(crate) fn mmu_usage(&self) -> (u64, u32) {
        self.mmu.lock().usage()
    }

    /// The counters, with the device's own.
    pub(crate) fn counters(&self) -> Counters {
        self.state.lock().counters
    }

    /// A device register (for status reports).
    pub(crate) fn register(&self, offset: usize) -> u32 {
        self.read(offset).unwrap_or(u32::MAX)
    }
}
