// SPDX-License-Identifier: GPL-2.0-only
//! The fuzzer's values: mostly plausible (handles of live objects, page-sized sizes, pointers
//! into its own buffers), often hostile (zero, all ones, stale handles, unaligned or huge sizes,
//! set reserved bits, pointers the kernel must refuse).

use std::ptr::NonNull;

use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use xaccel_selftests::rng::Rng;

/// The fuzzer's random draws. A clean call draws no hostile value (its handles are live, its
/// pointers good), so that calls also get past validation; the others replace each field by a
/// hostile value one time in four.
pub struct Draw {
    rng: Rng,
    /// Whether the current call is clean.
    pub clean: bool,
}

impl Draw {
    /// Draws from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            clean: false,
        }
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    /// 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.rng.next()
    }
}

/// A kernel-half address: never valid for `copy_from_user`.
pub const KERNEL_ADDRESS: u64 = 0xffff_8880_0000_0000;

/// Memory the kernel may read and write through the pointers handed to it, and a page it
/// cannot touch at all. Writes the kernel makes (QUERY items) stay inside `buffer`.
pub struct Scratch {
    buffer: NonNull<u8>,
    len: usize,
    forbidden: NonNull<u8>,
    page: usize,
}

impl Scratch {
    /// `pages` pages of zeroed read-write memory and one `PROT_NONE` page.
    pub fn new(pages: usize, page: usize) -> rustix::io::Result<Self> {
        // SAFETY: New anonymous mappings at addresses the kernel picks replace nothing.
        let (buffer, forbidden) = unsafe {
            (
                mmap_anonymous(
                    std::ptr::null_mut(),
                    pages * page,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE,
                )?,
                mmap_anonymous(
                    std::ptr::null_mut(),
                    page,
                    ProtFlags::empty(),
                    MapFlags::PRIVATE,
                )?,
            )
        };
        Ok(Self {
            buffer: NonNull::new(buffer.cast()).expect("mmap returned null"),
            len: pages * page,
            forbidden: NonNull::new(forbidden.cast()).expect("mmap returned null"),
            page,
        })
    }

    /// The buffer's address.
    pub fn addr(&self) -> u64 {
        self.buffer.as_ptr() as u64
    }

    /// The buffer's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Writes `bytes` at `offset` of the buffer (in bounds) and returns their address.
    pub fn put(&mut self, offset: usize, bytes: &[u8]) -> u64 {
        assert!(offset + bytes.len() <= self.len);
        // SAFETY: In bounds of the live, writable buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.buffer.as_ptr().add(offset),
                bytes.len(),
            )
        };
        self.addr() + offset as u64
    }

    /// A user pointer: mostly into the buffer, else null, unaligned, unmapped, forbidden or
    /// in the kernel's half.
    pub fn pointer(&self, rng: &mut Draw) -> u64 {
        if rng.clean {
            return self.addr();
        }
        match rng.below(8) {
            0 => 0,
            1 => self.forbidden.as_ptr() as u64,
            2 => KERNEL_ADDRESS,
            3 => rng.below(self.page as u64),
            4 => self.addr() + 1 + rng.below(64),
            _ => self.addr(),
        }
    }

    /// A page-aligned user range start for BO_CREATE_USERPTR: mostly the buffer.
    pub fn userptr(&self, rng: &mut Draw) -> u64 {
        if rng.clean {
            return self.addr() + self.page as u64 * rng.below(4);
        }
        match rng.below(6) {
            0 => self.forbidden.as_ptr() as u64,
            1 => KERNEL_ADDRESS,
            2 => self.addr() + 1,
            _ => self.addr() + self.page as u64 * rng.below(4),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: The mappings made in `new`; nothing refers into them once the kernel objects
        // pinning them are gone (the device file is closed before this drops).
        unsafe {
            let _ = munmap(self.buffer.as_ptr().cast(), self.len);
            let _ = munmap(self.forbidden.as_ptr().cast(), self.page);
        }
    }
}

/// Whether to replace a field by a hostile value: never in a clean call, else one in four.
pub fn hostile(rng: &mut Draw) -> bool {
    !rng.clean && rng.below(4) == 0
}

/// A handle: mostly one of `live`, else 0, all ones, or small and probably stale.
pub fn handle(rng: &mut Draw, live: &[u32]) -> u32 {
    if rng.clean && !live.is_empty() {
        return live[rng.below(live.len() as u64) as usize];
    }
    match rng.below(8) {
        0 => 0,
        1 => u32::MAX,
        2 => rng.below(64) as u32,
        _ if live.is_empty() => 1 + rng.below(8) as u32,
        _ => live[rng.below(live.len() as u64) as usize],
    }
}

/// A size or offset: small multiples of the page mostly, else the edges of the type.
pub fn size(rng: &mut Draw, page: u64) -> u64 {
    match rng.below(12) {
        0 => 0,
        1 => 1,
        2 => page - 1,
        3 => page + 1,
        4 => u64::MAX,
        5 => u64::MAX - page + 1,
        6 => 1 << (32 + rng.below(31)),
        7 => rng.next(),
        _ => page * (1 + rng.below(8)),
    }
}

/// A 32-bit field that should be zero or small: a stray bit, all ones, or random.
pub fn junk32(rng: &mut Draw) -> u32 {
    match rng.below(4) {
        0 => 1 << rng.below(32),
        1 => u32::MAX,
        2 => rng.below(8) as u32,
        _ => rng.next() as u32,
    }
}

/// A 64-bit field that should be zero.
pub fn junk64(rng: &mut Draw) -> u64 {
    match rng.below(3) {
        0 => 1 << rng.below(64),
        1 => u64::MAX,
        _ => rng.next(),
    }
}

/// A count: small mostly, else large or all ones.
pub fn count(rng: &mut Draw) -> u32 {
    match rng.below(8) {
        0 => u32::MAX,
        1 => 1 << rng.below(32),
        2 => 0,
        _ => rng.below(8) as u32,
    }
}
