// SPDX-License-Identifier: GPL-2.0-only

//! The HLX device MMU as the driver keeps it: one address space (ASID) per xaccel VM, with
//! four-level page tables in a pool at the start of HBM (Documentation/hlx.rst, "Device MMU").
//!
//! The core calls `mmu_map`/`mmu_unmap` for VM_BIND/VM_UNBIND with the addresses of the bound
//! memory: DMA addresses of host pages (leaf PTEs with HOST set) or HBM addresses of buffer
//! objects in the HBM region ([`AddressKind::DeviceLocal`], leaf PTEs without HOST). They
//! become 4 KiB leaf PTEs. An address space maps nothing else: no HBM is shared between
//! contexts, and the page-table pool is never mapped. Tables are written through an uncached
//! mapping of the pool, one `writeq()` per PTE; a new PTE needs no invalidation, a cleared one
//! is followed by `MMU_INVALIDATE` of the ASID (by the caller, `hw`).
//!
//! An ASID belongs to its VM until the core releases the VM (`Backend::mmu_release`): it was
//! destroyed and every job that could run under its ASID is done, since a job validated against
//! a VM may still run after that VM's mappings went, and must never find another VM's pages
//! under its ASID. The release frees the ASID and the VM's tables for other VMs. With 63 ASIDs,
//! a 64th VM in use at once gets `ENOSPC`; so does a VM that needs a table when all of the pool
//! (1024 tables of [`POOL_BYTES`]) is in use.

use kernel::{devres::Devres, page::PAGE_SIZE, prelude::*};
use xaccel::{pci::IoMem, Access, AddressKind, DmaRange, VmId};

/// Bytes of HBM (from HBM offset 0) that hold page tables; the HBM region of buffer objects
/// starts after it.
pub(crate) const POOL_BYTES: u64 = 4 << 20;
/// Address-space IDs: 0 is bypass, 1-63 translate.
const NUM_ASIDS: usize = 64;
const TABLE_BYTES: u64 = 4096;
/// Tables the pool holds.
const POOL_TABLES: usize = (POOL_BYTES / TABLE_BYTES) as usize;
const PTE_PRESENT: u64 = 1;
const PTE_WRITABLE: u64 = 1 << 1;
const PTE_HOST: u64 = 1 << 63;
/// PA bits 12-47 of a PTE.
const PTE_ADDR: u64 = ((1 << 48) - 1) & !(TABLE_BYTES - 1);
const PAGE: u64 = PAGE_SIZE as u64;

/// The index of `va` in the table of `hop` (0-3).
fn index(va: u64, hop: u32) -> u64 {
    (va >> (39 - 9 * hop)) & 511
}

/// The page-table state: ASIDs and the table allocator.
pub(crate) struct Mmu {
    /// HBM `[0, POOL_BYTES)`, mapped uncached.
    pool: Devres<IoMem>,
    /// The VM of each ASID (index 0 unused) and its hop-0 table.
    asids: [Option<(VmId, u64)>; NUM_ASIDS],
    /// The next table never handed out (HBM offset).
    next_table: u64,
    /// Tables below `next_table` handed back by a release, one bit per table.
    free_tables: [u64; POOL_TABLES / 64],
    /// HBM size in bytes.
    hbm_size: u64,
}

impl Mmu {
    pub(crate) fn new(pool: Devres<IoMem>, hbm_size: u64) -> Self {
        Self {
            pool,
            asids: [None; NUM_ASIDS],
            next_table: 0,
            free_tables: [0; POOL_TABLES / 64],
            hbm_size,
        }
    }

    fn write_pte(&self, pa: u64, pte: u64) -> Result {
        let pool = self.pool.try_access().ok_or(ENXIO)?;
        pool.write64(usize::try_from(pa)?, pte)
    }

    fn read_pte(&self, pa: u64) -> Result<u64> {
        let pool = self.pool.try_access().ok_or(ENXIO)?;
        pool.read64(usize::try_from(pa)?)
    }

    /// A new zeroed table, a released one first; `ENOSPC` when the pool is used up.
    fn alloc_table(&mut self) -> Result<u64> {
        let released = self
            .free_tables
            .iter()
            .position(|&word| word != 0)
            .map(|w| (w, self.free_tables[w].trailing_zeros() as usize));
        let table = match released {
            Some((w, bit)) => (64 * w + bit) as u64 * TABLE_BYTES,
            None if self.next_table + TABLE_BYTES <= POOL_BYTES => self.next_table,
            None => return Err(ENOSPC),
        };
        for i in 0..TABLE_BYTES / 8 {
            self.write_pte(table + 8 * i, 0)?;
        }
        match released {
            Some((w, bit)) => self.free_tables[w] &= !(1 << bit),
            None => self.next_table += TABLE_BYTES,
        }
        Ok(table)
    }

    /// Hands `table` and the tables below it (`hop` is its level, 0-3) back to the pool.
    fn free_table_tree(&mut self, table: u64, hop: u32) -> Result {
        if hop < 3 {
            for i in 0..TABLE_BYTES / 8 {
                let pte = self.read_pte(table + 8 * i)?;
                if pte & PTE_PRESENT != 0 {
                    self.free_table_tree(pte & PTE_ADDR, hop + 1)?;
                }
            }
        }
        let index = (table / TABLE_BYTES) as usize;
        self.free_tables[index / 64] |= 1 << (index % 64);
        Ok(())
    }

    /// Frees `vm`'s ASID and tables (`Backend::mmu_release`: no job can use them any more).
    /// Returns the ASID, for the caller to clear its registers and cached translations; `None`
    /// if the VM never had one.
    pub(crate) fn release(&mut self, vm: VmId) -> Result<Option<u32>> {
        let Some(asid) = self.asid_of(vm) else {
            return Ok(None);
        };
        if let Some((_, hop0)) = self.asids[asid as usize].take() {
            self.free_table_tree(hop0, 0)?;
        }
        Ok(Some(asid))
    }

    /// The ASID of `vm`, allocated (with its hop-0 table) on first use. The second value is
    /// true if the ASID is new: its `MMU_HOP0` register must be programmed.
    pub(crate) fn asid(&mut self, vm: VmId) -> Result<(u32, bool)> {
        if let Some(asid) = self
            .asids
            .iter()
            .position(|a| matches!(a, Some((v, _)) if *v == vm))
        {
            return Ok((asid as u32, false));
        }
        let asid = (1..NUM_ASIDS)
            .find(|&a| self.asids[a].is_none())
            .ok_or(ENOSPC)?;
        let hop0 = self.alloc_table()?;
        self.asids[asid] = Some((vm, hop0));
        Ok((asid as u32, true))
    }

    /// Every ASID's hop-0 table, to program `MMU_HOP0` (after a hard reset).
    pub(crate) fn hop0_tables(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.asids
            .iter()
            .enumerate()
            .filter_map(|(a, e)| e.map(|(_, hop0)| (a as u32, hop0)))
    }

    /// The leaf PTE address of `va` in `asid`'s tables, creating missing tables if `create`;
    /// `None` if a table is missing and `create` is false.
    fn leaf(&mut self, asid: u32, va: u64, create: bool) -> Result<Option<u64>> {
        let (_, mut table) = self.asids[asid as usize].ok_or(EINVAL)?;
        for hop in 0..3 {
            let pte_at = table + 8 * index(va, hop);
            let pte = self.read_pte(pte_at)?;
            table = if pte & PTE_PRESENT != 0 {
                pte & PTE_ADDR
            } else if create {
                let next = self.alloc_table()?;
                self.write_pte(pte_at, next | PTE_PRESENT)?;
                next
            } else {
                return Ok(None);
            };
        }
        Ok(Some(table + 8 * index(va, 3)))
    }

    /// Maps `[va, va + sum of lengths)` of `vm` to host pages or HBM (by each range's kind);
    /// returns the ASID and whether it is new. HBM ranges must lie in the HBM region, above the
    /// page-table pool (`EINVAL`). On error nothing of the range stays mapped.
    pub(crate) fn map(
        &mut self,
        vm: VmId,
        va: u64,
        pages: &[DmaRange],
        access: Access,
    ) -> Result<(u32, bool)> {
        let (asid, new) = self.asid(vm)?;
        let writable = if access.writable() { PTE_WRITABLE } else { 0 };
        let mut page_va = va;
        for range in pages {
            let (flags, inside) = match range.kind {
                AddressKind::Host => (PTE_HOST, range.addr >> 48 == 0),
                AddressKind::DeviceLocal => (
                    0,
                    range.addr >= POOL_BYTES
                        && range
                            .addr
                            .checked_add(range.len)
                            .is_some_and(|end| end <= self.hbm_size),
                ),
            };
            let flags = PTE_PRESENT | writable | flags;
            if range.addr % PAGE != 0 || range.len % PAGE != 0 || !inside {
                self.unmap(asid, va, page_va - va);
                return Err(EINVAL);
            }
            for i in 0..range.len / PAGE {
                let leaf = match self.leaf(asid, page_va, true) {
                    Ok(Some(leaf)) => leaf,
                    Ok(None) => Err(EINVAL)?,
                    Err(e) => {
                        self.unmap(asid, va, page_va - va);
                        return Err(e);
                    }
                };
                self.write_pte(leaf, (range.addr + i * PAGE) | flags)?;
                page_va += PAGE;
            }
        }
        Ok((asid, new))
    }

    /// Clears the leaves of `[va, va + len)` in `asid`; the caller invalidates the ASID.
    pub(crate) fn unmap(&mut self, asid: u32, va: u64, len: u64) {
        let mut page_va = va;
        while page_va < va.saturating_add(len) {
            if let Ok(Some(leaf)) = self.leaf(asid, page_va, false) {
                let _ = self.write_pte(leaf, 0);
            }
            page_va += PAGE;
        }
    }

    /// Bytes of page tables in use and ASIDs in use.
    pub(crate) fn usage(&self) -> (u64, u32) {
        let asids = self.asids.iter().filter(|a| a.is_some()).count();
        let released: u64 = self
            .free_tables
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum();
        (self.next_table - released * TABLE_BYTES, asids as u32)
    }

    /// The ASID of `vm`, if it has one.
    pub(crate) fn asid_of(&self, vm: VmId) -> Option<u32> {
        self.asids
            .iter()
            .position(|a| matches!(a, Some((v, _)) if *v == vm))
            .map(|a| a as u32)
    }
}
