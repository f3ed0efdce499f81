// SPDX-License-Identifier: GPL-2.0-only

//! vaccel's optional software MMU: a page table that checks what the core programs.
//!
//! With `mmu=1`, vaccel devices declare an MMU, so the core calls [`PageTable::map`] and
//! [`PageTable::unmap`] for every `VM_BIND` and `VM_UNBIND` (and for the mappings of destroyed
//! VMs and closed files) with the DMA addresses of the bound pages. The table records one entry
//! per page and treats anything inconsistent as a core bug, with a kernel warning: mapping a page
//! twice, unmapping a page that is not mapped, ranges that are empty or not page-aligned. When
//! the device goes it reports how many map and unmap calls it got and how many pages are still
//! mapped, so a test can check that the calls came and every mapping was taken down.

use kernel::{page::PAGE_SIZE, prelude::*, rbtree::RBTree, warn_on};
use xaccel::{Access, DmaRange, VmId};

const PAGE: u64 = PAGE_SIZE as u64;

/// One mapped page: its DMA address and whether the device may write it.
struct Entry {
    #[allow(dead_code)] // What the engines will use when they run jobs.
    dma: u64,
    #[allow(dead_code)]
    writable: bool,
}

/// The software page table of one device: (VM, page address) to page.
pub(crate) struct PageTable {
    device: u32,
    /// The device declared the MMU (`mmu=1`): report at unplug.
    declared: bool,
    pages: RBTree<(VmId, u64), Entry>,
    /// Successful map and unmap calls, reported at unplug.
    maps: u64,
    unmaps: u64,
}

impl PageTable {
    /// An empty table for device `device` (its index, for messages), `declared` to the core.
    pub(crate) fn new(device: u32, declared: bool) -> Self {
        Self {
            device,
            declared,
            pages: RBTree::new(),
            maps: 0,
            unmaps: 0,
        }
    }

    /// Maps `[va, va + sum of the lengths)` of `vm` to `pages`.
    pub(crate) fn map(&mut self, vm: VmId, va: u64, pages: &[DmaRange], access: Access) -> Result {
        let aligned = |x: u64| x % PAGE == 0;
        let well_formed = !pages.is_empty()
            && aligned(va)
            && pages
                .iter()
                .all(|r| r.len > 0 && aligned(r.addr) && aligned(r.len));
        if warn_on!(!well_formed) {
            pr_err!("vaccel.{}: malformed map at {va:#x}\n", self.device);
            return Err(EINVAL);
        }
        // Check every page first, so that a refused map leaves the table as it was.
        let mut page_va = va;
        for range in pages {
            for _ in 0..range.len / PAGE {
                if warn_on!(self.pages.get(&(vm, page_va)).is_some()) {
                    pr_err!(
                        "vaccel.{}: {page_va:#x} of VM {vm} mapped twice\n",
                        self.device
                    );
                    return Err(EEXIST);
                }
                page_va = page_va.checked_add(PAGE).ok_or(EINVAL)?;
            }
        }
        let mut page_va = va;
        for range in pages {
            for i in 0..range.len / PAGE {
                let entry = Entry {
                    dma: range.addr + i * PAGE,
                    writable: access.writable(),
                };
                if let Err(e) = self
                    .pages
                    .try_create_and_insert((vm, page_va), entry, GFP_KERNEL)
                {
                    self.unmap_pages(vm, va, page_va - va);
                    return Err(e);
                }
                page_va += PAGE;
            }
        }
        self.maps += 1;
        Ok(())
    }

    /// Removes the pages of `[va, va + len)` of `vm`; returns how many were not mapped.
    fn unmap_pages(&mut self, vm: VmId, va: u64, len: u64) -> u64 {
        let mut missing = 0;
        for i in 0..len / PAGE {
            if self.pages.remove(&(vm, va + i * PAGE)).is_none() {
                missing += 1;
            }
        }
        missing
    }

    /// Unmaps `[va, va + len)` of `vm`, which must be mapped page by page.
    pub(crate) fn unmap(&mut self, vm: VmId, va: u64, len: u64) {
        let missing = self.unmap_pages(vm, va, len);
        self.unmaps += 1;
        if warn_on!(missing != 0 || len % PAGE != 0) {
            pr_err!(
                "vaccel.{}: unmap of {va:#x}+{len:#x} in VM {vm}: {missing} pages were not mapped\n",
                self.device
            );
        }
    }
}

impl Drop for PageTable {
    fn drop(&mut self) {
        if !self.declared {
            return;
        }
        let left = self.pages.iter().count();
        pr_info!(
            "vaccel.{}: software MMU: {} maps, {} unmaps, {left} pages mapped at unplug\n",
            self.device,
            self.maps,
            self.unmaps
        );
    }
}
