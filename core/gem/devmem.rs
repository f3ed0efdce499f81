// SPDX-License-Identifier: GPL-2.0-only

//! Device memory: the allocator and backing of a device-memory region.
//!
//! A backend declares a region of kind `Device` and what backs it ([`RegionBacking`]); the core
//! builds one [`DeviceMemory`] per such region when the device registers and owns it until the
//! device is freed. Buffer objects in the region get [`DeviceBlocks`]: blocks of the region's
//! `gpu_buddy` allocator (the kernel's binary buddy allocator, `rust/kernel/gpu/buddy.rs`), with
//! a chunk size of one page, zeroed when they are allocated.
//!
//! With [`RegionBacking::CorePages`] the region is host pages the core allocated itself: block
//! offset `o` is the page `o / PAGE_SIZE` of [`DeviceMemory`]'s page array. CPU mappings insert
//! those pages on fault (`pages`), cached as all RAM is, since no device snoops or writes
//! them behind the CPU's back; a BAR-backed region will map its pages write-combined instead.
//! [`DeviceMemory::reach`] tells the dma-buf exporter (`export_pages`) which importers reach
//! the region directly.
//!
//! Locking: the buddy allocator has its own mutex (inside `GpuBuddy`), taken by allocation, by
//! [`DeviceMemory::avail`] and when [`DeviceBlocks`] are dropped. Nothing else here is mutable.
//!
//! [`RegionBacking`]: crate::backend::RegionBacking
//! [`RegionBacking::CorePages`]: crate::backend::RegionBacking::CorePages

use kernel::{
    gpu::buddy::{
        AllocatedBlocks, GpuBuddy, GpuBuddyAllocFlags, GpuBuddyAllocMode, GpuBuddyParams,
    },
    page::{Page, PAGE_SIZE},
    prelude::*,
    ptr::Alignment,
};

/// The allocator and host pages of one core-backed device-memory region.
///
/// # Invariants
///
/// `buddy` manages `0..pages.len() * PAGE_SIZE` with a chunk size of `PAGE_SIZE`, so every
/// block it hands out covers whole pages of `pages`.
pub(crate) struct DeviceMemory {
    buddy: GpuBuddy,
    pages: KVVec<Page>,
    cpu_visible: bool,
    /// Importers reach the pages peer-to-peer only (the region is declared `p2p`).
    p2p_only: bool,
}

impl DeviceMemory {
    /// Allocates `size` bytes of host pages (a nonzero multiple of the page size) and an
    /// allocator over them; `cpu_visible` says whether buffer objects may be mapped, `p2p_only`
    /// that dma-buf importers reach them peer-to-peer only ([`DeviceMemory::reach`]).
    ///
    /// Errors: `EINVAL` for a bad size, `ENOMEM`.
    pub(crate) fn new(size: u64, cpu_visible: bool, p2p_only: bool) -> Result<Self> {
        let page = PAGE_SIZE as u64;
        if size == 0 || size % page != 0 {
            return Err(EINVAL);
        }
        let count = usize::try_from(size / page)?;
        let mut pages = KVVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            pages.push(Page::alloc_page(GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let buddy = GpuBuddy::new(GpuBuddyParams {
            base_offset: 0,
            size,
            chunk_size: Alignment::new::<PAGE_SIZE>(),
        })?;
        // INVARIANT: `buddy` covers exactly the `count` pages, in page-sized chunks.
        Ok(Self {
            buddy,
            pages,
            cpu_visible,
            p2p_only,
        })
    }

    /// Whether the CPU may map the region.
    pub(crate) fn cpu_visible(&self) -> bool {
        self.cpu_visible
    }

    /// Whether an importer reaches the region's memory directly: `peer2peer` says whether its
    /// attachment takes peer-to-peer addresses. Core-allocated pages are host memory that any
    /// device reaches, unless the region is declared `p2p` (then the core treats them as a BAR
    /// would be, reachable peer-to-peer only, so that backends without hardware test both
    /// paths). `EREMOTEIO` if the importer cannot reach it: the region's
    /// [`ExportFallback`](crate::backend::ExportFallback) decides then.
    ///
    /// A PCI BAR backing will answer here from `pci_p2pdma_distance()` between its device and
    /// the importer's, and give the importer bus addresses where `export_pages` maps pages.
    pub(crate) fn reach(&self, peer2peer: bool) -> Result {
        if !self.p2p_only || peer2peer {
            Ok(())
        } else {
            Err(EREMOTEIO)
        }
    }

    /// Bytes the allocator has free now (fragmented or not).
    pub(crate) fn avail(&self) -> u64 {
        self.buddy.avail()
    }

    /// Allocates `size` bytes (a nonzero multiple of the page size and of `alignment`) in blocks
    /// that all start at a multiple of `alignment` (0 or a power of two; at least a page), and
    /// zeroes them.
    ///
    /// Errors: `ENOSPC` if the region has no such blocks free (full or fragmented), `EINVAL` for
    /// a bad size or alignment, `ENOMEM`.
    pub(crate) fn alloc(&self, size: u64, alignment: u64) -> Result<DeviceBlocks> {
        let align = usize::try_from(alignment.max(PAGE_SIZE as u64))?;
        let align = Alignment::new_checked(align).ok_or(EINVAL)?;
        if size == 0 || size % align.as_usize() as u64 != 0 {
            return Err(EINVAL);
        }
        let blocks = KBox::pin_init(
            self.buddy.alloc_blocks(
                GpuBuddyAllocMode::Simple,
                size,
                align,
                GpuBuddyAllocFlags::default(),
            ),
            GFP_KERNEL,
        )?;
        let blocks = DeviceBlocks { blocks, size };
        blocks.for_each_page(self, |page| {
            // SAFETY: The blocks were free until now: their previous buffer object was freed,
            // and with it every CPU mapping (each holds a reference to the object), so nobody
            // else reads or writes these pages.
            unsafe { page.fill_zero_raw(0, PAGE_SIZE) }
        })?;
        Ok(blocks)
    }
}

/// The blocks of one buffer object in a device-memory region, returned to the allocator when
/// dropped.
pub(crate) struct DeviceBlocks {
    blocks: Pin<KBox<AllocatedBlocks>>,
    size: u64,
}

impl DeviceBlocks {
    /// Bytes allocated.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Calls `f` for each page of the blocks, in the order of the buffer object's bytes, until
    /// it fails. `memory` must be the region the blocks come from.
    pub(crate) fn for_each_page<'a>(
        &self,
        memory: &'a DeviceMemory,
        mut f: impl FnMut(&'a Page) -> Result,
    ) -> Result {
        let page = PAGE_SIZE as u64;
        for block in self.blocks.iter() {
            let first = block.offset() / page;
            let count = block.size() / page;
            for index in first..first + count {
                // By the invariants of `DeviceMemory` every block is within `pages`.
                let index = usize::try_from(index)?;
                f(memory.pages.get(index).ok_or(EINVAL)?)?;
            }
        }
        Ok(())
    }

    /// The page at `index` of the blocks, in the order of the buffer object's bytes; `memory`
    /// must be the region the blocks come from.
    pub(crate) fn page<'a>(&self, memory: &'a DeviceMemory, index: usize) -> Option<&'a Page> {
        let mut first = index.checked_mul(PAGE_SIZE)? as u64;
        for block in self.blocks.iter() {
            if first < block.size() {
                let page = (block.offset() + first) / PAGE_SIZE as u64;
                return memory.pages.get(usize::try_from(page).ok()?);
            }
            first -= block.size();
        }
        None
    }

    /// The offsets in the region of the blocks, for tests.
    #[cfg(CONFIG_XACCEL_KUNIT_TEST)]
    fn offsets(&self) -> impl Iterator<Item = u64> + '_ {
        self.blocks.iter().map(|b| b.offset())
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_devmem)]
mod tests {
    use super::*;

    const PAGE: u64 = PAGE_SIZE as u64;
    const REGION: u64 = 1 << 20;

    fn region() -> Result<DeviceMemory> {
        DeviceMemory::new(REGION, true, false)
    }

    #[test]
    fn regions_need_the_backing_of_their_kind() -> Result {
        use crate::backend::{
            Capabilities, DeviceLayout, ExportFallback, RegionBacking, RegionDesc, RegionKind,
        };
        let layout = |kind, backing, size| -> Result<DeviceLayout> {
            let mut desc = crate::gem::kunit_device::desc(Capabilities::default(), 0..0)?;
            desc.regions.push(
                RegionDesc {
                    name: c"local",
                    kind,
                    size,
                    cpu_visible: true,
                    p2p: false,
                    backing,
                    fallback: ExportFallback::Refuse,
                },
                GFP_KERNEL,
            )?;
            DeviceLayout::new(&desc)
        };
        let ok = layout(RegionKind::Device, RegionBacking::CorePages, REGION)?;
        assert!(ok.regions[0].memory.is_none());
        assert_eq!(
            ok.regions[1].memory.as_ref().map(|m| m.avail()),
            Some(REGION)
        );
        for (kind, backing, size) in [
            (RegionKind::Device, RegionBacking::Shmem, REGION),
            (RegionKind::System, RegionBacking::CorePages, REGION),
            (RegionKind::Device, RegionBacking::CorePages, 0),
            (RegionKind::Device, RegionBacking::CorePages, REGION + 1),
        ] {
            assert_eq!(layout(kind, backing, size).err(), Some(EINVAL));
        }
        Ok(())
    }

    #[test]
    fn pages_are_found_by_index_across_blocks() -> Result {
        let mem = region()?;
        // Misaligned free space makes the next allocation take more than one block.
        let _one = mem.alloc(PAGE, 0)?;
        let blocks = mem.alloc(8 * PAGE, 0)?;
        let mut index = 0;
        blocks.for_each_page(&mem, |page| {
            assert!(core::ptr::eq(blocks.page(&mem, index).unwrap(), page));
            index += 1;
            Ok(())
        })?;
        assert_eq!(index, 8);
        assert!(blocks.page(&mem, 8).is_none());
        assert!(blocks.page(&mem, usize::MAX).is_none());
        Ok(())
    }

    #[test]
    fn host_pages_reach_every_importer_unless_declared_p2p() -> Result {
        assert_eq!(region()?.reach(false), Ok(()));
        let p2p = DeviceMemory::new(REGION, true, true)?;
        assert_eq!(p2p.reach(true), Ok(()));
        assert_eq!(p2p.reach(false), Err(EREMOTEIO));
        Ok(())
    }

    #[test]
    fn sizes_must_be_whole_pages() {
        assert!(DeviceMemory::new(0, true, false).is_err());
        assert!(DeviceMemory::new(PAGE + 1, true, false).is_err());
    }

    #[test]
    fn blocks_honour_the_alignment() -> Result {
        let mem = region()?;
        // Misalign the free space first.
        let _one = mem.alloc(PAGE, 0)?;
        for align in [2 * PAGE, 16 * PAGE, 64 * PAGE] {
            let blocks = mem.alloc(align * 2, align)?;
            assert_eq!(blocks.size(), align * 2);
            for offset in blocks.offsets() {
                assert_eq!(offset % align, 0);
            }
        }
        assert_eq!(mem.alloc(PAGE, 3 * PAGE).err(), Some(EINVAL));
        assert_eq!(mem.alloc(3 * PAGE, 2 * PAGE).err(), Some(EINVAL));
        Ok(())
    }

    #[test]
    fn a_full_region_is_out_of_space_until_freed() -> Result {
        let mem = region()?;
        let all = mem.alloc(REGION, 0)?;
        assert_eq!(mem.avail(), 0);
        assert_eq!(mem.alloc(PAGE, 0).err(), Some(ENOSPC));
        drop(all);
        assert_eq!(mem.avail(), REGION);
        let again = mem.alloc(REGION, 0)?;
        assert_eq!(again.size(), REGION);
        Ok(())
    }

    #[test]
    fn fragmentation_refuses_aligned_blocks_that_fit_in_bytes() -> Result {
        let mem = region()?;
        let mut pages = KVec::new();
        for _ in 0..REGION / PAGE {
            pages.push(mem.alloc(PAGE, 0)?, GFP_KERNEL)?;
        }
        // Free every other page: half the region is free, but no two free pages are adjacent.
        let mut kept = KVec::new();
        for (i, blocks) in pages.into_iter().enumerate() {
            if i % 2 == 0 {
                kept.push(blocks, GFP_KERNEL)?;
            }
        }
        assert_eq!(mem.avail(), REGION / 2);
        assert_eq!(mem.alloc(2 * PAGE, 2 * PAGE).err(), Some(ENOSPC));
        // Unaligned allocations may still take scattered pages.
        let scattered = mem.alloc(4 * PAGE, 0)?;
        assert_eq!(scattered.size(), 4 * PAGE);
        drop(kept);
        drop(scattered);
        assert_eq!(mem.avail(), REGION);
        Ok(())
    }

    #[test]
    fn reused_blocks_are_zeroed() -> Result {
        let mem = region()?;
        let pattern = [0xa5u8; PAGE_SIZE];
        let blocks = mem.alloc(REGION, 0)?;
        blocks.for_each_page(&mem, |page| {
            // SAFETY: The test owns the blocks; nobody else touches the page.
            unsafe { page.write_raw(pattern.as_ptr(), 0, PAGE_SIZE) }
        })?;
        drop(blocks);
        let blocks = mem.alloc(REGION, 0)?;
        let mut read = KVec::from_elem(0xffu8, PAGE_SIZE, GFP_KERNEL)?;
        let mut pages = 0;
        blocks.for_each_page(&mem, |page| {
            // SAFETY: As above.
            unsafe { page.read_raw(read.as_mut_ptr(), 0, PAGE_SIZE) }?;
            assert!(read.iter().all(|&b| b == 0));
            pages += 1;
            Ok(())
        })?;
        assert_eq!(pages, REGION / PAGE);
        Ok(())
    }
}
