// SPDX-License-Identifier: GPL-2.0-only
//! The device MMU: four-level page tables in HBM, one address space per ASID, and a
//! translation cache (Documentation/hlx.rst, "Device MMU").
//!
//! A 48-bit virtual address is split into four 9-bit table indices (hops 0-3, from bit
//! 39 down to bit 12) and a 12-bit page offset. Each table is 512 little-endian u64 PTEs
//! (4 KiB, 4 KiB-aligned, in HBM). A hop-2 PTE with `LAST` set maps a 2 MiB page; hop-3
//! PTEs map 4 KiB pages. The cache holds successful leaf translations only, so making a
//! PTE present needs no invalidation but changing or clearing one does.

use std::collections::HashMap;

use crate::dma::PhysMem;
use crate::regs::{self, Regs, NUM_ASIDS};

/// Implemented virtual-address bits; higher bits must be 0.
pub const VA_BITS: u32 = 48;
/// PTE bit: the entry is valid.
pub const PTE_PRESENT: u64 = 1 << 0;
/// PTE bit (leaves): the page may be written.
pub const PTE_WRITABLE: u64 = 1 << 1;
/// PTE bit (hop 2): the entry is a 2 MiB leaf.
pub const PTE_LAST: u64 = 1 << 11;
/// PTE bits 12-62: physical address bits 12-62 (table or page).
pub const PTE_ADDR_MASK: u64 = 0x7FFF_FFFF_FFFF_F000;
/// PTE bit 63 (leaves): the page is host memory (same bit as in a physical address).
pub const PTE_HOST: u64 = 1 << 63;
/// `MMU_HOP0[asid]` bits holding the hop-0 table address.
pub const HOP0_ADDR_MASK: u64 = 0x0000_FFFF_FFFF_F000;
/// Entries kept in each cache (4 KiB and 2 MiB) before it is emptied.
const CACHE_CAPACITY: usize = 4096;

/// Why a translation failed (the `reason` field of an MMU_FAULT event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultReason {
    /// The PTE at `hop` is not present.
    NotPresent = 0,
    /// A write to a page mapped without `WRITABLE`.
    ReadOnly = 1,
    /// The PTE at `hop` is invalid: `LAST` at hop 0 or 1, `HOST` in a table pointer, a
    /// misaligned 2 MiB page, or a table outside HBM.
    BadPte = 2,
    /// `MMU_HOP0[asid]` is not valid.
    NoTable = 3,
    /// The queue's ASID is 64 or more.
    BadAsid = 4,
    /// The virtual address has bits above bit 47 set.
    VaRange = 5,
}

/// A failed translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmuFault {
    /// The virtual address.
    pub va: u64,
    /// The address space.
    pub asid: u32,
    /// The access was a write.
    pub write: bool,
    /// The hop at which the walk stopped.
    pub hop: u8,
    /// Why.
    pub reason: FaultReason,
}

impl MmuFault {
    /// The `info` word of the event: bit 0 write, bits 8-15 hop, bits 16-23 reason.
    pub fn info(&self) -> u32 {
        u32::from(self.write) | u32::from(self.hop) << 8 | (self.reason as u32) << 16
    }
}

/// A successful translation of one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Physical address of the translated byte.
    pub pa: u64,
    /// Bytes from the translated byte to the end of its page.
    pub remaining: u64,
}

#[derive(Debug, Clone, Copy)]
struct Leaf {
    page_pa: u64,
    writable: bool,
    hop: u8,
}

/// The MMU's translation cache and walker.
#[derive(Debug, Default)]
pub struct Mmu {
    small: HashMap<(u32, u64), Leaf>,
    huge: HashMap<(u32, u64), Leaf>,
    walks: u64,
}

impl Mmu {
    /// An MMU with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Page-table walks done so far (cache misses), for tests.
    pub fn walks(&self) -> u64 {
        self.walks
    }

    /// Drops the cached translations of `asid`, or of every ASID.
    pub fn invalidate(&mut self, asid: Option<u32>) {
        match asid {
            None => {
                self.small.clear();
                self.huge.clear();
            }
            Some(a) => {
                self.small.retain(|k, _| k.0 != a);
                self.huge.retain(|k, _| k.0 != a);
            }
        }
    }

    /// Translates `va` in address space `asid` (1 to 63) for a read or a write.
    pub fn translate(
        &mut self,
        regs: &Regs,
        phys: &PhysMem,
        asid: u32,
        va: u64,
        write: bool,
    ) -> Result<Mapping, MmuFault> {
        let fault = |hop, reason| MmuFault {
            va,
            asid,
            write,
            hop,
            reason,
        };
        if asid >= NUM_ASIDS {
            return Err(fault(0, FaultReason::BadAsid));
        }
        if va >> VA_BITS != 0 {
            return Err(fault(0, FaultReason::VaRange));
        }
        let (leaf, size) = if let Some(l) = self.small.get(&(asid, va >> 12)) {
            (*l, 1u64 << 12)
        } else if let Some(l) = self.huge.get(&(asid, va >> 21)) {
            (*l, 1u64 << 21)
        } else {
            let (leaf, size) = self
                .walk(regs, phys, asid, va)
                .map_err(|(h, r)| fault(h, r))?;
            let cache = if size == 1 << 12 {
                &mut self.small
            } else {
                &mut self.huge
            };
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert((asid, va / size), leaf);
            (leaf, size)
        };
        if write && !leaf.writable {
            return Err(fault(leaf.hop, FaultReason::ReadOnly));
        }
        let offset = va & (size - 1);
        Ok(Mapping {
            pa: leaf.page_pa | offset,
            remaining: size - offset,
        })
    }

    fn walk(
        &mut self,
        regs: &Regs,
        phys: &PhysMem,
        asid: u32,
        va: u64,
    ) -> Result<(Leaf, u64), (u8, FaultReason)> {
        self.walks += 1;
        let hop0 = regs.read64(regs::mmu_hop0(asid));
        if hop0 & regs::MMU_HOP0_VALID == 0 {
            return Err((0, FaultReason::NoTable));
        }
        let mut table = hop0 & HOP0_ADDR_MASK;
        for hop in 0..4u8 {
            let index = (va >> (39 - 9 * u32::from(hop))) & 0x1FF;
            let pte = phys
                .load_pte(table + index * 8)
                .ok_or((hop, FaultReason::BadPte))?;
            if pte & PTE_PRESENT == 0 {
                return Err((hop, FaultReason::NotPresent));
            }
            let addr = pte & (PTE_ADDR_MASK | PTE_HOST);
            let leaf = Leaf {
                page_pa: addr,
                writable: pte & PTE_WRITABLE != 0,
                hop,
            };
            match hop {
                3 => return Ok((leaf, 1 << 12)),
                2 if pte & PTE_LAST != 0 => {
                    if addr & 0x1F_F000 != 0 {
                        return Err((hop, FaultReason::BadPte));
                    }
                    return Ok((leaf, 1 << 21));
                }
                0 | 1 if pte & PTE_LAST != 0 => return Err((hop, FaultReason::BadPte)),
                _ if pte & PTE_HOST != 0 => return Err((hop, FaultReason::BadPte)),
                _ => table = addr,
            }
        }
        unreachable!("hop 3 always returns")
    }
}
