// SPDX-License-Identifier: GPL-2.0-only
//! A test rig: an HLX device on an in-memory BAR2 and a fake guest-RAM file, driven the
//! way the manual tells a driver to (registers, the command mailbox, doorbells).
//!
//! Guest RAM is 16 MiB, split q35-style with the first 8 MiB below 4 GiB and the rest
//! at 4 GiB. Fixed places: CQ at guest-physical 0x10000 (64 entries), EQ at 0x20000 (64
//! entries), rings of queues 0-1 in host memory at 0x100000/0x110000, rings of queues
//! 2-3 in HBM at 0/0x1000, all 4 KiB. The rig keeps its own CQ/EQ consumer indices.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hlx_model::device::{Device, CMD_CQ_INIT, CMD_EQ_INIT, CMD_OK, CMD_QUEUE_ENABLE};
use hlx_model::device::{CMD_SET_IRQ_MASK, CMD_SOFT_RESET};
use hlx_model::dma::{GuestRam, FOUR_GIB};
use hlx_model::interrupts::IrqSink;
use hlx_model::mmu::{PTE_HOST, PTE_LAST, PTE_PRESENT, PTE_WRITABLE};
use hlx_model::packets::{MsgTarget, Packet, PA_HOST};
use hlx_model::queues::{CqEntry, EqEntry};
use hlx_model::regs::{self, Regs, DOORBELL_CONTROL, PAGE_SIZE};
use hlx_model::shm::Mem;

pub const BAR_SIZE: u64 = 8 << 20;
pub const HBM_SIZE: u64 = BAR_SIZE - PAGE_SIZE;
pub const RAM_SIZE: u64 = 16 << 20;
pub const RAM_BELOW_4G: u64 = 8 << 20;
pub const CQ_GPA: u64 = 0x10000;
pub const EQ_GPA: u64 = 0x20000;
pub const CQ_ENTRIES: u32 = 64;
pub const EQ_ENTRIES: u32 = 64;
pub const RING_SIZE: u32 = 4096;
/// HBM physical addresses from here on are free for tests (page tables, data).
pub const HBM_FREE: u64 = 0x10000;

/// Host physical address (bit 63) of guest-physical `gpa`.
pub fn host(gpa: u64) -> u64 {
    PA_HOST | gpa
}

/// Where queue `q`'s ring lives (physical address).
pub fn ring_pa(q: usize) -> u64 {
    match q {
        0 => host(0x100000),
        1 => host(0x110000),
        2 => 0,
        _ => 0x1000,
    }
}

/// Records the vectors the device signals.
#[derive(Debug, Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<u16>>>);

impl IrqSink for Recorder {
    fn notify(&mut self, vector: u16) {
        self.0.lock().unwrap().push(vector);
    }
}

impl Recorder {
    /// The vectors signalled since the last call.
    pub fn take(&self) -> Vec<u16> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hlx-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The device, the driver's view of its memory, and the rig's bookkeeping.
pub struct Rig {
    pub bar: Arc<Mem>,
    /// The guest RAM file, mapped a second time as the guest sees it.
    pub ram: Mem,
    pub dev: Device,
    pub irqs: Recorder,
    cq_ci: u32,
    eq_ci: u32,
    next_table: u64,
    _dir: TempDir,
}

impl Rig {
    /// A device after bring-up: CQ and EQ initialised, all four queues enabled,
    /// interrupts unmasked, MMU off.
    pub fn new() -> Self {
        let mut rig = Self::bare();
        rig.bring_up();
        rig
    }

    /// A device straight out of power-on.
    pub fn bare() -> Self {
        let dir = TempDir::new();
        let path = dir.0.join("guest-ram");
        let bar = Arc::new(Mem::memfd("bar2", BAR_SIZE).unwrap());
        let guest =
            GuestRam::new(Mem::open_file(&path, RAM_SIZE, true).unwrap(), RAM_BELOW_4G).unwrap();
        let ram = Mem::open_file(&path, RAM_SIZE, false).unwrap();
        let mut dev = Device::new(bar.clone(), Some(guest), 0);
        let irqs = Recorder::default();
        dev.set_irq_sink(Box::new(irqs.clone()));
        Self {
            bar,
            ram,
            dev,
            irqs,
            cq_ci: 0,
            eq_ci: 0,
            next_table: HBM_FREE,
            _dir: dir,
        }
    }

    pub fn regs(&self) -> Regs {
        Regs::new(self.bar.clone())
    }

    /// The manual's bring-up sequence (after a fresh device).
    pub fn bring_up(&mut self) {
        let r = self.regs();
        r.write64(regs::CQ_BASE, host(CQ_GPA));
        r.write(regs::CQ_ENTRIES, CQ_ENTRIES);
        r.write(regs::CQ_CI, 0);
        assert_eq!(self.cmd(CMD_CQ_INIT, 0, 0), CMD_OK);
        r.write64(regs::EQ_BASE, host(EQ_GPA));
        r.write(regs::EQ_ENTRIES, EQ_ENTRIES);
        r.write(regs::EQ_CI, 0);
        assert_eq!(self.cmd(CMD_EQ_INIT, 0, 0), CMD_OK);
        for q in 0..4 {
            self.enable_queue(q);
        }
        assert_eq!(self.cmd(CMD_SET_IRQ_MASK, 0, 0), CMD_OK);
        self.cq_ci = 0;
        self.eq_ci = 0;
    }

    pub fn enable_queue(&mut self, q: usize) {
        let r = self.regs();
        r.write64(regs::queue_reg(q, regs::Q_BASE), ring_pa(q));
        r.write(regs::queue_reg(q, regs::Q_SIZE), RING_SIZE);
        r.write(regs::queue_reg(q, regs::Q_PI), 0);
        assert_eq!(self.cmd(CMD_QUEUE_ENABLE, q as u32, 0), CMD_OK);
    }

    /// Issues a command through the mailbox and the control doorbell; returns CMD_STATUS.
    pub fn cmd(&mut self, opcode: u32, arg0: u32, arg1: u32) -> u32 {
        let r = self.regs();
        r.write(regs::CMD_OPCODE, opcode);
        r.write(regs::CMD_ARG0, arg0);
        r.write(regs::CMD_ARG1, arg1);
        let seq = r.read(regs::CMD_SEQ).wrapping_add(1);
        r.write(regs::CMD_SEQ, seq);
        self.dev.doorbell(DOORBELL_CONTROL);
        assert_eq!(r.read(regs::CMD_DONE_SEQ), seq, "command completed");
        r.read(regs::CMD_STATUS)
    }

    /// Writes raw bytes at queue `q`'s producer index (wrapping), without ringing.
    pub fn push_bytes(&mut self, q: usize, bytes: &[u8]) {
        let r = self.regs();
        let pi = r.queue(q, regs::Q_PI);
        for (i, b) in bytes.iter().enumerate() {
            let at = ring_pa(q) + u64::from(pi.wrapping_add(i as u32) % RING_SIZE);
            self.phys_write(at, &[*b]);
        }
        r.set_queue(q, regs::Q_PI, pi.wrapping_add(bytes.len() as u32));
    }

    /// Writes packets to queue `q` and rings its doorbell.
    pub fn submit(&mut self, q: usize, packets: &[Packet]) {
        let bytes: Vec<u8> = packets.iter().flat_map(|p| p.encode()).collect();
        self.push_bytes(q, &bytes);
        self.dev.doorbell(q as u16);
    }

    /// Submits a job: its packets, then a completion carrying `tag`.
    pub fn job(&mut self, q: usize, packets: &[Packet], tag: u32) {
        let mut all = packets.to_vec();
        all.push(completion(tag));
        self.submit(q, &all);
    }

    /// Writes at a physical address as the driver would (BAR2 or guest RAM).
    pub fn phys_write(&self, pa: u64, data: &[u8]) {
        if pa & PA_HOST != 0 {
            self.ram.write(gpa_offset(pa & !PA_HOST), data).unwrap();
        } else {
            self.bar.write(PAGE_SIZE + pa, data).unwrap();
        }
    }

    /// Reads at a physical address.
    pub fn phys_read(&self, pa: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        if pa & PA_HOST != 0 {
            self.ram.read(gpa_offset(pa & !PA_HOST), &mut buf).unwrap();
        } else {
            self.bar.read(PAGE_SIZE + pa, &mut buf).unwrap();
        }
        buf
    }

    pub fn read_u32s(&self, pa: u64, n: usize) -> Vec<u32> {
        self.phys_read(pa, n * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    pub fn write_u32s(&self, pa: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.phys_write(pa, &bytes);
    }

    /// New CQ entries (consumes them: advances CQ_CI).
    pub fn cq(&mut self) -> Vec<CqEntry> {
        let r = self.regs();
        let pi = r.read(regs::CQ_PI);
        let mut out = Vec::new();
        while self.cq_ci != pi {
            let slot = u64::from(self.cq_ci % CQ_ENTRIES) * 16;
            let b = self.phys_read(host(CQ_GPA + slot), 16);
            out.push(CqEntry::decode(&b.try_into().unwrap()));
            self.cq_ci = self.cq_ci.wrapping_add(1);
        }
        r.write(regs::CQ_CI, self.cq_ci);
        out
    }

    /// New EQ entries (consumes them: advances EQ_CI).
    pub fn eq(&mut self) -> Vec<EqEntry> {
        let r = self.regs();
        let pi = r.read(regs::EQ_PI);
        let mut out = Vec::new();
        while self.eq_ci != pi {
            let slot = u64::from(self.eq_ci % EQ_ENTRIES) * 32;
            let b = self.phys_read(host(EQ_GPA + slot), 32);
            out.push(EqEntry::decode(&b.try_into().unwrap()));
            self.eq_ci = self.eq_ci.wrapping_add(1);
        }
        r.write(regs::EQ_CI, self.eq_ci);
        out
    }

    /// Forgets the rig's CQ/EQ bookkeeping (after a hard reset and new init).
    pub fn resync(&mut self) {
        self.cq_ci = self.regs().read(regs::CQ_CI);
        self.eq_ci = self.regs().read(regs::EQ_CI);
    }

    /// Soft-resets queue `q`; returns CMD_STATUS.
    pub fn soft_reset(&mut self, q: usize) -> u32 {
        self.cmd(CMD_SOFT_RESET, 1 << q, 0)
    }

    // ---- page tables, written through BAR2 as a driver would (one 64-bit store each)

    fn alloc_table(&mut self) -> u64 {
        let pa = self.next_table;
        self.next_table += 0x1000;
        self.phys_write(pa, &[0; 0x1000]);
        pa
    }

    fn pte(&self, pa: u64) -> u64 {
        self.bar.load64(PAGE_SIZE + pa)
    }

    fn set_pte(&self, pa: u64, value: u64) {
        self.bar.store64(PAGE_SIZE + pa, value);
    }

    /// Gives `asid` a hop-0 table if it has none; returns the table.
    pub fn hop0(&mut self, asid: u32) -> u64 {
        let r = self.regs();
        let cur = r.read64(regs::mmu_hop0(asid));
        if cur & regs::MMU_HOP0_VALID != 0 {
            return cur & !0xFFF;
        }
        let t = self.alloc_table();
        r.write64(regs::mmu_hop0(asid), t | regs::MMU_HOP0_VALID);
        t
    }

    /// The table the PTE at `table[index]` points to, created if missing.
    fn next_level(&mut self, table: u64, index: u64) -> u64 {
        let entry = table + index * 8;
        let pte = self.pte(entry);
        if pte & PTE_PRESENT != 0 {
            return pte & 0x7FFF_FFFF_FFFF_F000;
        }
        let t = self.alloc_table();
        self.set_pte(entry, t | PTE_PRESENT);
        t
    }

    /// The address of the PTE that maps `va` at `hop` (creating tables above it).
    pub fn pte_addr(&mut self, asid: u32, va: u64, hop: u32) -> u64 {
        let mut table = self.hop0(asid);
        for h in 0..hop {
            table = self.next_level(table, (va >> (39 - 9 * h)) & 0x1FF);
        }
        table + ((va >> (39 - 9 * hop)) & 0x1FF) * 8
    }

    /// Maps the 4 KiB page at `va` to physical `pa` (host bit allowed).
    pub fn map(&mut self, asid: u32, va: u64, pa: u64, writable: bool) {
        let at = self.pte_addr(asid, va, 3);
        let flags = PTE_PRESENT | if writable { PTE_WRITABLE } else { 0 };
        self.set_pte(at, (pa & (0x7FFF_FFFF_FFFF_F000 | PTE_HOST)) | flags);
    }

    /// Maps `len` bytes (whole pages) at `va` to `pa`, writable.
    pub fn map_range(&mut self, asid: u32, va: u64, pa: u64, len: u64) {
        for off in (0..len).step_by(0x1000) {
            self.map(asid, va + off, pa + off, true);
        }
    }

    /// Maps the 2 MiB page at `va` to `pa` with a hop-2 LAST entry.
    pub fn map_huge(&mut self, asid: u32, va: u64, pa: u64) {
        let at = self.pte_addr(asid, va, 2);
        self.set_pte(at, pa | PTE_PRESENT | PTE_WRITABLE | PTE_LAST);
    }

    /// Writes a raw PTE value for `va` at `hop`.
    pub fn raw_pte(&mut self, asid: u32, va: u64, hop: u32, value: u64) {
        let at = self.pte_addr(asid, va, hop);
        self.set_pte(at, value);
    }

    /// Turns the MMU on.
    pub fn mmu_on(&self) {
        self.regs().write(regs::MMU_CTRL, regs::MMU_CTRL_ENABLE);
    }

    /// Sets queue `q`'s ASID directly (the queue must be idle).
    pub fn set_asid(&self, q: usize, asid: u32) {
        self.regs().set_queue(q, regs::Q_ASID, asid);
    }
}

/// File offset of guest-physical `gpa` in the rig's guest RAM.
pub fn gpa_offset(gpa: u64) -> u64 {
    if gpa >= FOUR_GIB {
        RAM_BELOW_4G + (gpa - FOUR_GIB)
    } else {
        gpa
    }
}

/// The completion packet a driver appends to every job.
pub fn completion(tag: u32) -> Packet {
    Packet::MsgLong {
        target: MsgTarget::Cq,
        value: tag,
    }
}

/// Waits up to 5 s for `cond`.
pub fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    false
}
