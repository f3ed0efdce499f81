// SPDX-License-Identifier: GPL-2.0-only
//! The device's memory paths (Documentation/hlx.rst, "Address spaces"):
//!
//! - [`PhysMem`], the physical address space: bit 63 clear is an HBM offset, bit 63 set
//!   is a host (PCI bus) address, which without an IOMMU is a guest-physical address, or
//!   else an address inside a peer HLX's BAR2 (peer-to-peer through the PCIe switch);
//! - [`GuestRam`], how guest-physical addresses land in QEMU's guest-RAM backend file
//!   (split around the PCI hole below 4 GiB);
//! - [`DataPath`], an engine's view: virtual addresses translated by the queue's ASID
//!   (or used as physical addresses in bypass), accessed page by page.

use std::io;
use std::sync::Arc;

use crate::mmu::{Mmu, MmuFault};
use crate::packets::PA_HOST;
use crate::regs::{self, Regs, PAGE_SIZE};
use crate::shm::Mem;

/// Host addresses are 48 bits wide: PA bits 48-62 must be 0 when bit 63 is set.
pub const HOST_ADDR_BITS: u32 = 48;
/// Where RAM above the PCI hole starts in guest-physical space.
pub const FOUR_GIB: u64 = 1 << 32;

/// Why a physical access failed (the `reason` of an ACCESS_ERROR event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessReason {
    /// The HBM range extends beyond `HBM_SIZE`.
    HbmRange = 0,
    /// The host range is not entirely guest RAM (or no guest RAM is attached), nor
    /// entirely inside one peer's BAR2.
    HostRange = 1,
    /// A compute engine addressed host memory.
    HostDenied = 2,
    /// A host address with bits 48-62 set.
    HostWidth = 3,
}

/// A failed physical access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessFault {
    /// First physical address of the failed access.
    pub pa: u64,
    /// It was a write.
    pub write: bool,
    /// Why.
    pub reason: AccessReason,
}

impl AccessFault {
    /// The `info` word of the event: bit 0 write, bits 16-23 reason.
    pub fn info(&self) -> u32 {
        u32::from(self.write) | (self.reason as u32) << 16
    }
}

/// A failed engine access: translation or physical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The MMU refused the virtual address.
    Mmu(MmuFault),
    /// The physical address is not backed.
    Access(AccessFault),
}

/// The guest-RAM backend file and how guest-physical addresses map into it.
#[derive(Debug)]
pub struct GuestRam {
    mem: Mem,
    below_4g: u64,
}

impl GuestRam {
    /// QEMU q35's split: with 2.75 GiB of RAM or more, the first 2 GiB sit below the PCI
    /// hole and the rest from 4 GiB up; with less, all of it is below.
    pub fn q35_below_4g(size: u64) -> u64 {
        if size >= 0xB000_0000 {
            0x8000_0000
        } else {
            size
        }
    }

    /// Guest RAM in `mem` (file offset 0 = guest-physical 0), of which the first
    /// `below_4g` bytes are at guest-physical 0 and the rest at 4 GiB.
    pub fn new(mem: Mem, below_4g: u64) -> io::Result<Self> {
        if below_4g > mem.len() || below_4g > FOUR_GIB {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "RAM below 4 GiB larger than the RAM or than 4 GiB",
            ));
        }
        Ok(Self { mem, below_4g })
    }

    /// The backend file's mapping.
    pub fn mem(&self) -> &Mem {
        &self.mem
    }

    /// The file offset of guest-physical `[gpa, gpa + len)`, if it is all RAM.
    pub fn offset(&self, gpa: u64, len: u64) -> Option<u64> {
        let end = gpa.checked_add(len)?;
        if end <= self.below_4g {
            return Some(gpa);
        }
        let above = self.mem.len() - self.below_4g;
        if gpa >= FOUR_GIB && end - FOUR_GIB <= above {
            return Some(self.below_4g + (gpa - FOUR_GIB));
        }
        None
    }
}

/// The physical address space: HBM (in BAR2, after the register page), host memory, and
/// the BAR2s of peer HLX devices under the same PCIe switch.
#[derive(Debug)]
pub struct PhysMem {
    bar: Arc<Mem>,
    hbm_size: u64,
    guest: Option<GuestRam>,
    peers: Vec<Arc<Mem>>,
}

impl PhysMem {
    /// HBM is `bar` after its first 4 KiB; host memory is `guest`, if any.
    pub fn new(bar: Arc<Mem>, guest: Option<GuestRam>) -> Self {
        let hbm_size = bar.len() - PAGE_SIZE;
        Self {
            bar,
            hbm_size,
            guest,
            peers: Vec::new(),
        }
    }

    /// Makes the BAR2s of `peers` (each a register page followed by HBM) reachable at the
    /// bus addresses their drivers write to their `BAR2_BUS_ADDR` registers.
    ///
    /// Errors: a peer that is not a power of two of at least 8 KiB, as a BAR2 is.
    pub fn set_peers(&mut self, peers: Vec<Arc<Mem>>) -> io::Result<()> {
        if let Some(bad) = peers
            .iter()
            .find(|p| !p.len().is_power_of_two() || p.len() < 2 * PAGE_SIZE)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a peer BAR2 of {} bytes is not a power of two of at least 8K",
                    bad.len()
                ),
            ));
        }
        self.peers = peers;
        Ok(())
    }

    /// The peer BAR2 holding all of bus range `[bus, bus + len)`, and the offset in it.
    ///
    /// Each peer's `BAR2_BUS_ADDR` is read at every access, as a switch's routing follows
    /// the bridge windows of the moment: a peer whose driver has not written it (or whose
    /// hard reset cleared it) decodes nothing.
    fn peer_window(&self, bus: u64, len: u64) -> Option<(&Mem, u64)> {
        self.peers.iter().find_map(|peer| {
            let reg = peer.load64(regs::BAR2_BUS_ADDR);
            if reg & regs::BAR2_BUS_VALID == 0 {
                return None;
            }
            let offset = bus.checked_sub(reg & regs::BAR2_BUS_MASK)?;
            (offset.checked_add(len)? <= peer.len()).then_some((&**peer, offset))
        })
    }

    /// HBM size in bytes.
    pub fn hbm_size(&self) -> u64 {
        self.hbm_size
    }

    /// The guest RAM, if attached.
    pub fn guest(&self) -> Option<&GuestRam> {
        self.guest.as_ref()
    }

    fn locate(
        &self,
        pa: u64,
        len: u64,
        write: bool,
        host_ok: bool,
    ) -> Result<(&Mem, u64), AccessFault> {
        let fault = |reason| AccessFault { pa, write, reason };
        if pa & PA_HOST == 0 {
            let end = pa.checked_add(len).ok_or(fault(AccessReason::HbmRange))?;
            if end > self.hbm_size {
                return Err(fault(AccessReason::HbmRange));
            }
            return Ok((&self.bar, PAGE_SIZE + pa));
        }
        if !host_ok {
            return Err(fault(AccessReason::HostDenied));
        }
        let gpa = pa & !PA_HOST;
        if gpa >> HOST_ADDR_BITS != 0 {
            return Err(fault(AccessReason::HostWidth));
        }
        // Guest RAM first (the root complex), then the peers (the switch).
        if let Some(guest) = &self.guest {
            if let Some(off) = guest.offset(gpa, len) {
                return Ok((&guest.mem, off));
            }
        }
        self.peer_window(gpa, len)
            .ok_or(fault(AccessReason::HostRange))
    }

    /// Checks that `[pa, pa + len)` is one backed physical range, without accessing it.
    pub fn check(&self, pa: u64, len: u64, host_ok: bool) -> Result<(), AccessFault> {
        self.locate(pa, len, false, host_ok).map(|_| ())
    }

    /// Reads `buf.len()` bytes at physical `pa`; `host_ok` allows host addresses.
    pub fn read(&self, pa: u64, buf: &mut [u8], host_ok: bool) -> Result<(), AccessFault> {
        let (mem, off) = self.locate(pa, buf.len() as u64, false, host_ok)?;
        mem.read(off, buf).expect("range checked by locate");
        Ok(())
    }

    /// Writes `data` at physical `pa`; `host_ok` allows host addresses.
    pub fn write(&self, pa: u64, data: &[u8], host_ok: bool) -> Result<(), AccessFault> {
        let (mem, off) = self.locate(pa, data.len() as u64, true, host_ok)?;
        mem.write(off, data).expect("range checked by locate");
        Ok(())
    }

    /// Reads a PTE: the u64 at 8-aligned HBM address `pa`, atomically. `None` outside HBM.
    pub fn load_pte(&self, pa: u64) -> Option<u64> {
        (pa.is_multiple_of(8) && pa.checked_add(8)? <= self.hbm_size)
            .then(|| self.bar.load64(PAGE_SIZE + pa))
    }

    /// Writes a PTE atomically; `false` outside HBM.
    pub fn store_pte(&self, pa: u64, value: u64) -> bool {
        let ok = pa.is_multiple_of(8) && pa.checked_add(8).is_some_and(|end| end <= self.hbm_size);
        if ok {
            self.bar.store64(PAGE_SIZE + pa, value);
        }
        ok
    }
}

/// One engine's data path: its queue's address space, and whether it reaches the host.
#[derive(Debug)]
pub struct DataPath<'a> {
    /// Physical memory.
    pub phys: &'a PhysMem,
    /// The MMU (shared by all engines).
    pub mmu: &'a mut Mmu,
    /// The register page (`MMU_CTRL`, `Q_ASID`, `MMU_HOP0`).
    pub regs: &'a Regs,
    /// The queue whose `Q_ASID` selects the address space.
    pub queue: usize,
    /// External (DMA) engines reach host memory; compute engines do not.
    pub host_ok: bool,
}

impl DataPath<'_> {
    /// The physical address of `va` and how many bytes after it are contiguous (to the
    /// end of its page; 4 KiB pages in bypass), read live from `MMU_CTRL` and `Q_ASID`.
    fn translate(&mut self, va: u64, write: bool) -> Result<(u64, u64), Fault> {
        let asid = self.regs.queue(self.queue, regs::Q_ASID);
        let enabled = self.regs.read(regs::MMU_CTRL) & regs::MMU_CTRL_ENABLE != 0;
        if asid == 0 || !enabled {
            return Ok((va, 0x1000 - (va & 0xFFF)));
        }
        let m = self
            .mmu
            .translate(self.regs, self.phys, asid, va, write)
            .map_err(Fault::Mmu)?;
        Ok((m.pa, m.remaining))
    }

    fn chunks(
        &mut self,
        va: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(&PhysMem, u64, std::ops::Range<usize>, bool) -> Result<(), AccessFault>,
    ) -> Result<(), Fault> {
        let mut done = 0usize;
        while done < len {
            let at = va.checked_add(done as u64).ok_or(Fault::Mmu(MmuFault {
                va: u64::MAX,
                asid: self.regs.queue(self.queue, regs::Q_ASID),
                write,
                hop: 0,
                reason: crate::mmu::FaultReason::VaRange,
            }))?;
            let (pa, contiguous) = self.translate(at, write)?;
            let n = (len - done).min(usize::try_from(contiguous).unwrap_or(usize::MAX));
            f(self.phys, pa, done..done + n, self.host_ok).map_err(Fault::Access)?;
            done += n;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at device address `va`.
    pub fn read(&mut self, va: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.chunks(va, buf.len(), false, |phys, pa, r, host| {
            phys.read(pa, &mut buf[r], host)
        })
    }

    /// Writes `data` at device address `va`. On a fault, the bytes before the faulting
    /// page have been written.
    pub fn write(&mut self, va: u64, data: &[u8]) -> Result<(), Fault> {
        self.chunks(va, data.len(), true, |phys, pa, r, host| {
            phys.write(pa, &data[r], host)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q35_split() {
        assert_eq!(GuestRam::q35_below_4g(2 << 30), 2 << 30);
        assert_eq!(GuestRam::q35_below_4g(0xAFFF_F000), 0xAFFF_F000);
        assert_eq!(GuestRam::q35_below_4g(4 << 30), 2 << 30);
    }

    #[test]
    fn guest_offsets_follow_the_hole() {
        let ram = GuestRam::new(Mem::memfd("ram", 3 << 20).unwrap(), 1 << 20).unwrap();
        assert_eq!(ram.offset(0x1000, 16), Some(0x1000));
        assert_eq!(ram.offset((1 << 20) - 8, 8), Some((1 << 20) - 8));
        assert_eq!(ram.offset((1 << 20) - 8, 16), None, "straddles the hole");
        assert_eq!(ram.offset(1 << 20, 1), None, "in the hole");
        assert_eq!(ram.offset(FOUR_GIB, 4), Some(1 << 20));
        assert_eq!(ram.offset(FOUR_GIB + (2 << 20) - 4, 4), Some((3 << 20) - 4));
        assert_eq!(
            ram.offset(FOUR_GIB + (2 << 20) - 4, 8),
            None,
            "past the end"
        );
        assert_eq!(ram.offset(u64::MAX, 2), None);
    }

    #[test]
    fn physical_space_checks() {
        let bar = Arc::new(Mem::memfd("bar", 0x3000).unwrap());
        let ram = GuestRam::new(Mem::memfd("ram", 0x2000).unwrap(), 0x2000).unwrap();
        let phys = PhysMem::new(bar.clone(), Some(ram));
        assert_eq!(phys.hbm_size(), 0x2000);
        phys.write(0x10, b"hbm", false).unwrap();
        let mut b = [0; 3];
        bar.read(0x1010, &mut b).unwrap();
        assert_eq!(&b, b"hbm");
        let reason = |r: Result<(), AccessFault>| r.unwrap_err().reason;
        assert_eq!(
            reason(phys.write(0x1FFF, b"xy", false)),
            AccessReason::HbmRange
        );
        assert_eq!(
            reason(phys.write(PA_HOST | 0x10, b"x", false)),
            AccessReason::HostDenied
        );
        assert_eq!(
            reason(phys.write(PA_HOST | 1 << 48, b"x", true)),
            AccessReason::HostWidth
        );
        assert_eq!(
            reason(phys.write(PA_HOST | 0x2000, b"x", true)),
            AccessReason::HostRange
        );
        phys.write(PA_HOST | 0x1FFE, b"ho", true).unwrap();
        let mut b = [0; 2];
        phys.guest().unwrap().mem().read(0x1FFE, &mut b).unwrap();
        assert_eq!(&b, b"ho");
        assert!(phys.store_pte(0x1FF8, 7));
        assert!(!phys.store_pte(0x2000, 7));
        assert_eq!(phys.load_pte(0x1FF8), Some(7));
        assert_eq!(phys.load_pte(0x1FFC), None);
    }

    #[test]
    fn peers_decode_at_their_bar2_bus_address() {
        let bar = Arc::new(Mem::memfd("bar", 0x2000).unwrap());
        let ram = GuestRam::new(Mem::memfd("ram", 0x2000).unwrap(), 0x2000).unwrap();
        let peer = Arc::new(Mem::memfd("peer", 0x4000).unwrap());
        let mut phys = PhysMem::new(bar, Some(ram));
        let tiny = Arc::new(Mem::memfd("tiny", 0x1000).unwrap());
        assert!(phys.set_peers(vec![tiny]).is_err(), "smaller than a BAR2");
        phys.set_peers(vec![peer.clone()]).unwrap();
        let reason = |r: Result<(), AccessFault>| r.unwrap_err().reason;
        let bus = 0x8000_0000u64;
        // Not programmed yet: nothing decodes.
        assert_eq!(
            reason(phys.write(PA_HOST | bus | 0x1000, b"p2p", true)),
            AccessReason::HostRange
        );
        peer.store64(regs::BAR2_BUS_ADDR, bus | regs::BAR2_BUS_VALID);
        phys.write(PA_HOST | bus | 0x1010, b"p2p", true).unwrap();
        let mut b = [0; 3];
        peer.read(0x1010, &mut b).unwrap();
        assert_eq!(&b, b"p2p");
        phys.read(PA_HOST | bus | 0x1010, &mut b, true).unwrap();
        assert_eq!(&b, b"p2p");
        // Guest RAM still wins below it; the window ends with the peer's BAR2.
        phys.write(PA_HOST | 0x10, b"ram", true).unwrap();
        phys.check(PA_HOST | bus | 0x3FFC, 4, true).unwrap();
        assert_eq!(
            reason(phys.check(PA_HOST | bus | 0x3FFC, 8, true)),
            AccessReason::HostRange
        );
        assert_eq!(
            reason(phys.check(PA_HOST | (bus - 4), 8, true)),
            AccessReason::HostRange
        );
        // Compute engines still reach no host address, peers included.
        assert_eq!(
            reason(phys.check(PA_HOST | bus | 0x1000, 4, false)),
            AccessReason::HostDenied
        );
        // Cleared (a hard reset of the peer): nothing decodes again.
        peer.store64(regs::BAR2_BUS_ADDR, bus);
        assert_eq!(
            reason(phys.check(PA_HOST | bus | 0x1000, 4, true)),
            AccessReason::HostRange
        );
    }
}
