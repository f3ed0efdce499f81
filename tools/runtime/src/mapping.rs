// SPDX-License-Identifier: GPL-2.0-only
//! [`Mapping`]: a buffer object mapped into this process, unmapped on drop.
//!
//! The memory is shared: other mappings of the same object (in this or
//! another process) and, later, the device see the same bytes. So the
//! mapping hands out no Rust references into it; reads and writes copy with
//! volatile accesses, and bytes written concurrently by someone else read as
//! whatever they were at that moment.

use std::marker::PhantomData;
use std::ptr::NonNull;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use crate::bo::Bo;
use crate::error::{Error, Result};

/// A read-write, shared CPU mapping of a whole buffer object.
///
/// Borrows its [`Bo`], so it cannot outlive the handle in this program, even
/// though the kernel would keep a mapped object alive.
#[derive(Debug)]
pub struct Mapping<'b> {
    ptr: NonNull<u8>,
    len: usize,
    _bo: PhantomData<&'b Bo<'b>>,
}

// SAFETY: The mapping is plain shared memory, accessed only through volatile
// copies; it may be used from any thread.
unsafe impl Send for Mapping<'_> {}
// SAFETY: As above; no access hands out references into the memory.
unsafe impl Sync for Mapping<'_> {}

/// Bytes per word of the word-wise accesses.
const WORD: usize = std::mem::size_of::<u64>();

impl<'b> Mapping<'b> {
    /// Maps all of `bo` at its mmap offset on its device's file.
    pub(crate) fn new(bo: &'b Bo<'_>) -> Result<Self> {
        let fail = |errno| Error::Ioctl {
            ioctl: "mmap",
            errno,
        };
        let len = usize::try_from(bo.size()).map_err(|_| fail(rustix::io::Errno::NOMEM))?;
        // SAFETY: A new mapping at an address the kernel picks replaces nothing;
        // the offset names `bo` in this device file.
        let addr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                bo.device(),
                bo.info().mmap_offset,
            )
        }
        .map_err(fail)?;
        let ptr = NonNull::new(addr.cast::<u8>()).expect("mmap returned a null mapping");
        Ok(Self {
            ptr,
            len,
            _bo: PhantomData,
        })
    }

    /// Length in bytes: the object's size.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: objects are at least a page).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte of the mapping, for callers doing their own accesses.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Panics unless `offset..offset + len` lies within the mapping.
    fn check(&self, offset: usize, len: usize) {
        let end = offset.checked_add(len).expect("range overflows");
        assert!(
            end <= self.len,
            "{offset}..{end} is outside the {}-byte mapping",
            self.len
        );
    }

    /// Copies `data` to `offset`. Panics if it does not fit.
    pub fn write(&self, offset: usize, data: &[u8]) {
        self.check(offset, data.len());
        for (i, byte) in data.iter().enumerate() {
            // SAFETY: In bounds (checked above) of a live, writable mapping.
            unsafe { self.as_ptr().add(offset + i).write_volatile(*byte) };
        }
    }

    /// Copies bytes from `offset` into `buf`. Panics if they do not fit.
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        self.check(offset, buf.len());
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: In bounds (checked above) of a live, readable mapping.
            *byte = unsafe { self.as_ptr().add(offset + i).read_volatile() };
        }
    }

    /// Sets every byte to `value`.
    pub fn fill(&self, value: u8) {
        let word = u64::from_ne_bytes([value; WORD]);
        let base = self.as_ptr().cast::<u64>();
        for i in 0..self.len / WORD {
            // SAFETY: In bounds; the mapping is page-aligned, so every word is
            // aligned, and its length is a multiple of the page size.
            unsafe { base.add(i).write_volatile(word) };
        }
    }

    /// The offset of the first byte that is not `value`, if any.
    pub fn find_not(&self, value: u8) -> Option<usize> {
        let word = u64::from_ne_bytes([value; WORD]);
        let base = self.as_ptr().cast::<u64>();
        let i = (0..self.len / WORD).find(|&i| {
            // SAFETY: As in `fill`.
            unsafe { base.add(i).read_volatile() != word }
        })?;
        let mut bytes = [0u8; WORD];
        self.read(i * WORD, &mut bytes);
        let within = bytes.iter().position(|&b| b != value).unwrap_or(0);
        Some(i * WORD + within)
    }

    /// Writes one byte in every page (of `page_size` bytes), so that every
    /// page is faulted in; returns how many pages were touched.
    pub fn touch_pages(&self, page_size: usize, value: u8) -> usize {
        let mut pages = 0;
        for offset in (0..self.len).step_by(page_size.max(1)) {
            // SAFETY: In bounds of a live, writable mapping.
            unsafe { self.as_ptr().add(offset).write_volatile(value) };
            pages += 1;
        }
        pages
    }
}

impl Drop for Mapping<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr + len` is the mapping made in `new`, and nothing
        // refers into it: accesses go through `self`, which is going away.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
