// SPDX-License-Identifier: GPL-2.0-only
//! Memory of the selftest process itself, for userptr buffer objects: anonymous, memfd and
//! file mappings, unmapped on drop, read and written with volatile accesses (a device may
//! write them behind the compiler's back).

use std::os::fd::{AsFd, BorrowedFd};
use std::ptr::NonNull;

use rustix::fs::{ftruncate, memfd_create, MemfdFlags};
use rustix::mm::{mmap, mmap_anonymous, mprotect, munmap, MapFlags, MprotectFlags, ProtFlags};

use crate::fail;
use crate::tap::Failure;

type Check<T = ()> = Result<T, Failure>;

/// An anonymous or file mapping of this process, unmapped on drop (unless
/// already unmapped).
pub struct Memory {
    ptr: NonNull<u8>,
    /// Length in bytes.
    pub len: usize,
    mapped: bool,
}

impl Memory {
    /// `pages` pages of anonymous memory with `prot`.
    pub fn anonymous(pages: usize, page: usize, prot: ProtFlags) -> Check<Self> {
        let len = pages * page;
        // SAFETY: A new private mapping at an address the kernel picks.
        let addr = unsafe { mmap_anonymous(std::ptr::null_mut(), len, prot, MapFlags::PRIVATE) }?;
        Self::from_raw(addr, len)
    }

    /// `pages` pages of a new memfd, mapped shared and writable.
    pub fn memfd(pages: usize, page: usize) -> Check<Self> {
        let len = pages * page;
        let fd = memfd_create("xaccel-userptr", MemfdFlags::CLOEXEC)?;
        ftruncate(&fd, len as u64)?;
        Self::shared(fd.as_fd(), len, ProtFlags::READ | ProtFlags::WRITE)
    }

    /// `len` bytes of the file `fd` from its start, mapped shared with `prot`.
    pub fn shared(fd: BorrowedFd<'_>, len: usize, prot: ProtFlags) -> Check<Self> {
        // SAFETY: A new shared mapping of the file at an address the kernel picks.
        let addr = unsafe { mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, fd, 0) }?;
        Self::from_raw(addr, len)
    }

    fn from_raw(addr: *mut std::ffi::c_void, len: usize) -> Check<Self> {
        let Some(ptr) = NonNull::new(addr.cast::<u8>()) else {
            fail!("mmap returned a null mapping");
        };
        Ok(Self {
            ptr,
            len,
            mapped: true,
        })
    }

    /// The first byte.
    pub fn addr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Writes `byte` at `offset` (the mapping must be writable).
    pub fn set(&self, offset: usize, byte: u8) {
        assert!(offset < self.len && self.mapped);
        // SAFETY: In bounds of a live, writable mapping of this process.
        unsafe { self.ptr.as_ptr().add(offset).write_volatile(byte) }
    }

    /// The byte at `offset`.
    pub fn get(&self, offset: usize) -> u8 {
        assert!(offset < self.len && self.mapped);
        // SAFETY: In bounds of a live, readable mapping of this process.
        unsafe { self.ptr.as_ptr().add(offset).read_volatile() }
    }

    /// Every byte, copied out.
    pub fn bytes(&self) -> Vec<u8> {
        (0..self.len).map(|i| self.get(i)).collect()
    }

    /// Changes the mapping's protection (`mprotect()`).
    pub fn protect(&self, prot: MprotectFlags) -> Check {
        // SAFETY: Our own live mapping; nothing holds references into it.
        unsafe { mprotect(self.ptr.as_ptr().cast(), self.len, prot) }?;
        Ok(())
    }

    /// Unmaps now.
    pub fn unmap(&mut self) -> Check {
        if self.mapped {
            self.mapped = false;
            // SAFETY: Our mapping; nothing refers into it afterwards.
            unsafe { munmap(self.ptr.as_ptr().cast(), self.len) }?;
        }
        Ok(())
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        let _ = self.unmap();
    }
}
