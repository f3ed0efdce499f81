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
//! them behind the CPU's back. With [`RegionBacking::PciBar`] the region is a range of a BAR
//! ([`BarMemory`]): block offset `o` is byte `o` of that range, allocations are contiguous (so
//! a buffer object has one device address, which a queue without an MMU can use), and CPU
//! mappings insert its page frames write-combined. [`DeviceMemory::reach`] tells the dma-buf
//! exporter (`export_pages`) which importers reach the region directly, and
//! [`DeviceBlocks::copy_out`] copies an object out of either backing when it migrates.
//!
//! Locking: the buddy allocator has its own mutex (inside `GpuBuddy`), taken by allocation, by
//! [`DeviceMemory::avail`] and when [`DeviceBlocks`] are dropped. Nothing else here is mutable.
//!
//! [`RegionBacking`]: crate::backend::RegionBacking
//! [`RegionBacking::CorePages`]: crate::backend::RegionBacking::CorePages
//! [`RegionBacking::PciBar`]: crate::backend::RegionBacking::PciBar

use crate::gem::bar::BarMemory;
use kernel::{
    bindings,
    gpu::buddy::{
        AllocatedBlocks, GpuBuddy, GpuBuddyAllocFlag, GpuBuddyAllocFlags, GpuBuddyAllocMode,
        GpuBuddyParams,
    },
    page::{Page, PAGE_SIZE},
    prelude::*,
    ptr::Alignment,
};

/// What the blocks of a device-memory region are.
enum Backing {
    /// Host pages the core allocated ([`RegionBacking::CorePages`]).
    ///
    /// [`RegionBacking::CorePages`]: crate::backend::RegionBacking::CorePages
    Pages(KVVec<Page>),
    /// A range of a PCI BAR ([`RegionBacking::PciBar`]).
    ///
    /// [`RegionBacking::PciBar`]: crate::backend::RegionBacking::PciBar
    Bar(BarMemory),
}

/// The allocator and backing of one device-memory region.
///
/// # Invariants
///
/// `buddy` manages `0..size` with a chunk size of `PAGE_SIZE`, where `size` is
/// `pages.len() * PAGE_SIZE` for [`Backing::Pages`] and the BAR range's size for
/// [`Backing::Bar`]: every block it hands out covers whole pages of the backing.
pub(crate) struct DeviceMemory {
    buddy: GpuBuddy,
    backing: Backing,
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
        let buddy = page_buddy(size)?;
        // INVARIANT: `buddy` covers exactly the `count` pages, in page-sized chunks.
        Ok(Self {
            buddy,
            backing: Backing::Pages(pages),
            cpu_visible,
            p2p_only,
        })
    }

    /// A region of `size` bytes (a nonzero multiple of the page size) of the BAR range `bar`
    /// (at least `size` bytes); `cpu_visible` says whether buffer objects may be mapped,
    /// `p2p` whether importers may reach it peer-to-peer ([`DeviceMemory::reach`]).
    ///
    /// Errors: `EINVAL` for a bad size, `ENOMEM`.
    pub(crate) fn new_bar(bar: BarMemory, size: u64, cpu_visible: bool, p2p: bool) -> Result<Self> {
        if size == 0 || size % PAGE_SIZE as u64 != 0 {
            return Err(EINVAL);
        }
        let buddy = page_buddy(size)?;
        // INVARIANT: `buddy` covers the `size` bytes of the BAR range, in page-sized chunks.
        Ok(Self {
            buddy,
            backing: Backing::Bar(bar),
            cpu_visible,
            p2p_only: p2p,
        })
    }

    /// The BAR of a [`RegionBacking::PciBar`] region, `None` for host pages.
    ///
    /// [`RegionBacking::PciBar`]: crate::backend::RegionBacking::PciBar
    pub(crate) fn bar(&self) -> Option<&BarMemory> {
        match &self.backing {
            Backing::Bar(bar) => Some(bar),
            Backing::Pages(_) => None,
        }
    }

    /// The host pages of a [`RegionBacking::CorePages`] region, empty for a BAR.
    ///
    /// [`RegionBacking::CorePages`]: crate::backend::RegionBacking::CorePages
    fn pages(&self) -> &[Page] {
        match &self.backing {
            Backing::Pages(pages) => pages,
            Backing::Bar(_) => &[],
        }
    }

    /// Whether the CPU may map the region.
    pub(crate) fn cpu_visible(&self) -> bool {
        self.cpu_visible
    }

    /// Whether an importer on device `importer` reaches the region's memory directly:
    /// `peer2peer` says whether its attachment takes peer-to-peer addresses. Core-allocated
    /// pages are host memory that any device reaches, unless the region is declared `p2p` (then
    /// the core treats them as a BAR, reachable peer-to-peer only, so that backends without
    /// hardware test both paths). A BAR is reached by peer-to-peer attachments of devices
    /// that `pci_p2pdma_map_type()` finds a path for, if the region is declared `p2p`.
    /// `EREMOTEIO` if the importer cannot reach it: the region's
    /// [`ExportFallback`](crate::backend::ExportFallback) decides then.
    ///
    /// Call it while the device is registered (the BAR's p2pdma provider lives until unbind).
    pub(crate) fn reach(&self, peer2peer: bool, importer: *mut bindings::device) -> Result {
        let reached = match &self.backing {
            Backing::Pages(_) => !self.p2p_only || peer2peer,
            Backing::Bar(bar) => self.p2p_only && peer2peer && bar.reachable(importer),
        };
        if reached {
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
        let flags = match self.backing {
            Backing::Pages(_) => GpuBuddyAllocFlags::default(),
            Backing::Bar(_) => GpuBuddyAllocFlags::from(GpuBuddyAllocFlag::Contiguous),
        };
        let blocks = KBox::pin_init(
            self.buddy
                .alloc_blocks(GpuBuddyAllocMode::Simple, size, align, flags),
            GFP_KERNEL,
        )?;
        let blocks = DeviceBlocks { blocks, size };
        if let Backing::Bar(bar) = &self.backing {
            // The blocks were free until now (see below): nobody else reaches these bytes.
            for (offset, len) in blocks.ranges() {
                bar.zero(offset, len)?;
            }
            return Ok(blocks);
        }
        blocks.for_each_page(self, |page| {
            // SAFETY: The blocks were free until now: their previous buffer object was freed,
            // and with it every CPU mapping (each holds a reference to the object), so nobody
            // else reads or writes these pages.
            unsafe { page.fill_zero_raw(0, PAGE_SIZE) }
        })?;
        Ok(blocks)
    }
}

/// The start of `ranges` (`(offset, length)`, in order) if they follow each other without a
/// gap: a contiguous allocation may come as several blocks (`gpu_buddy` trims a rounded-up
/// block into smaller ones).
fn contiguous_start(mut ranges: impl Iterator<Item = (u64, u64)>) -> Option<u64> {
    let (start, len) = ranges.next()?;
    let mut end = start.checked_add(len)?;
    for (offset, len) in ranges {
        if offset != end {
            return None;
        }
        end = offset.checked_add(len)?;
    }
    Some(start)
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

    /// The blocks as `(offset in the region, length)`, in the order of the buffer object's bytes.
    pub(crate) fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.blocks.iter().map(|b| (b.offset(), b.size()))
    }

    /// The offset in the region of byte `offset` of the blocks, if they hold it.
    pub(crate) fn region_offset(&self, offset: u64) -> Option<u64> {
        let mut first = offset;
        for (start, len) in self.ranges() {
            if first < len {
                return Some(start + first);
            }
            first -= len;
        }
        None
    }

    /// The device address of the blocks if they are one contiguous range of a BAR region
    /// (`memory`, the region they come from): what the backend's device uses for them.
    pub(crate) fn device_addr(&self, memory: &DeviceMemory) -> Option<u64> {
        let bar = memory.bar()?;
        let start = contiguous_start(self.ranges())?;
        Some(bar.device_addr(start))
    }

    /// A copy of the blocks in new system pages, for a migration; `memory` must be the region
    /// they come from.
    ///
    /// Errors: `ENOMEM`, `ENXIO` for a BAR whose driver unbound.
    pub(crate) fn copy_out(&self, memory: &DeviceMemory) -> Result<KVVec<Page>> {
        let count = usize::try_from(self.size)? / PAGE_SIZE;
        let mut copy = KVVec::with_capacity(count, GFP_KERNEL)?;
        let mut buf = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let store = |copy: &mut KVVec<Page>, buf: &[u8]| -> Result {
            let new = Page::alloc_page(GFP_KERNEL)?;
            // SAFETY: `new` was just allocated: nobody else reaches it.
            unsafe { new.write_raw(buf.as_ptr(), 0, PAGE_SIZE)? };
            copy.push(new, GFP_KERNEL)?;
            Ok(())
        };
        if let Some(bar) = memory.bar() {
            for (offset, len) in self.ranges() {
                for page in 0..len / PAGE_SIZE as u64 {
                    bar.read(offset + page * PAGE_SIZE as u64, &mut buf)?;
                    store(&mut copy, &buf)?;
                }
            }
            return Ok(copy);
        }
        self.for_each_page(memory, |page| {
            // SAFETY: The caller owns the blocks' object and holds its reservation lock; CPU
            // writers through a mapping race with the copy as they would with any move.
            unsafe { page.read_raw(buf.as_mut_ptr(), 0, PAGE_SIZE)? };
            store(&mut copy, &buf)
        })?;
        Ok(copy)
    }

    /// Calls `f` for each page of the blocks, in the order of the buffer object's bytes, until
    /// it fails. `memory` must be the region the blocks come from; `EINVAL` for a BAR (it has
    /// no pages).
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
                f(memory.pages().get(index).ok_or(EINVAL)?)?;
            }
        }
        Ok(())
    }

    /// The page at `index` of the blocks, in the order of the buffer object's bytes; `memory`
    /// must be the region the blocks come from. `None` for a BAR.
    pub(crate) fn page<'a>(&self, memory: &'a DeviceMemory, index: usize) -> Option<&'a Page> {
        let mut first = index.checked_mul(PAGE_SIZE)? as u64;
        for block in self.blocks.iter() {
            if first < block.size() {
                let page = (block.offset() + first) / PAGE_SIZE as u64;
                return memory.pages().get(usize::try_from(page).ok()?);
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

/// A `gpu_buddy` allocator of `size` bytes from offset 0, in page-sized chunks.
fn page_buddy(size: u64) -> Result<GpuBuddy> {
    GpuBuddy::new(GpuBuddyParams {
        base_offset: 0,
        size,
        chunk_size: Alignment::new::<PAGE_SIZE>(),
    })
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
        let faux = kernel::faux::Registration::new(c"xaccel-kunit-backing", None)?;
        let parent: &kernel::device::Device<kernel::device::Bound> = faux.as_ref().as_ref();
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
            DeviceLayout::new(&desc, parent)
        };
        let ok = layout(RegionKind::Device, RegionBacking::CorePages, REGION)?;
        let bar = RegionBacking::PciBar {
            bar: 2,
            offset: 0,
            device_base: 0,
        };
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
            // A BAR needs a PCI parent; the faux device is not one.
            (RegionKind::Device, bar, REGION),
            (RegionKind::System, bar, REGION),
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
        assert_eq!(region()?.reach(false, core::ptr::null_mut()), Ok(()));
        let p2p = DeviceMemory::new(REGION, true, true)?;
        assert_eq!(p2p.reach(true, core::ptr::null_mut()), Ok(()));
        assert_eq!(p2p.reach(false, core::ptr::null_mut()), Err(EREMOTEIO));
        Ok(())
    }

    #[test]
    fn contiguous_blocks_have_one_start() {
        let p = PAGE;
        let start = |r: &[(u64, u64)]| contiguous_start(r.iter().copied());
        assert_eq!(start(&[(4 * p, 2 * p)]), Some(4 * p));
        // A trimmed contiguous allocation: 3 pages as a 2-page and a 1-page block.
        assert_eq!(start(&[(8 * p, 2 * p), (10 * p, p)]), Some(8 * p));
        assert_eq!(start(&[(8 * p, 2 * p), (11 * p, p)]), None);
        assert_eq!(start(&[(8 * p, p), (4 * p, p)]), None);
        assert_eq!(start(&[]), None);
        assert_eq!(start(&[(u64::MAX, 2)]), None);
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
