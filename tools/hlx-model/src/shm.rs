// SPDX-License-Identifier: GPL-2.0-only
//! Shared memory mappings: [`Mem`], a `MAP_SHARED` mapping of a file descriptor.
//!
//! The model maps three kinds of shared memory: the memfd or file that becomes the
//! device's BAR2 (register page + HBM, shared with QEMU and so with the guest), the
//! guest-RAM backend file QEMU was started with, and the BAR2 files of peer devices. Either side may write the memory at any time, so
//! the model never forms Rust references into a mapping: bulk data moves with raw-pointer
//! copies into and out of private buffers, and registers and page-table entries are read
//! and written as naturally aligned atomics (a guest `readl`/`writeq` of the same word
//! is then never torn).
//!
//! All the `unsafe` code of the model lives in this file.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rustix::fs::MemfdFlags;
use rustix::mm::{MapFlags, ProtFlags};

/// An access outside a mapping: `[offset, offset + len)` does not fit in `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("access of {len} bytes at {offset:#x} outside a {size:#x}-byte mapping")]
pub struct OutOfRange {
    /// First byte of the access.
    pub offset: u64,
    /// Length of the access.
    pub len: u64,
    /// Size of the mapping.
    pub size: u64,
}

/// A shared, read-write mapping of a whole file, unmapped on drop.
#[derive(Debug)]
pub struct Mem {
    ptr: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: `Mem` is a raw view of shared memory. Every access goes through raw-pointer
// copies or atomics (never references), which is exactly as sound from several threads
// as it is against the other processes sharing the mapping.
unsafe impl Send for Mem {}
// SAFETY: as above; `&Mem` only offers the same raw copies and atomics.
unsafe impl Sync for Mem {}

impl Mem {
    /// Creates an anonymous memfd of `len` bytes (zero-filled, sparse) and maps it.
    pub fn memfd(name: &str, len: u64) -> io::Result<Self> {
        let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC)?;
        rustix::fs::ftruncate(&fd, len)?;
        Self::map(fd, len)
    }

    /// Maps the regular file at `path`, which must be exactly `len` bytes long. With
    /// `create`, a missing file is created, sparse, with that length.
    pub fn open_file(path: &Path, len: u64, create: bool) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        let size = file.metadata()?.len();
        if size == 0 && create {
            file.set_len(len)?;
        } else if size != len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is {size} bytes, expected {len}", path.display()),
            ));
        }
        Self::map(file.into(), len)
    }

    /// Maps the whole existing regular file at `path` (another process's BAR2 file).
    pub fn open_existing(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        Self::map(file.into(), len)
    }

    /// Maps `len` bytes of `fd` from offset 0, shared and read-write.
    pub fn map(fd: OwnedFd, len: u64) -> io::Result<Self> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad mapping size"))?;
        // SAFETY: a fresh mapping chosen by the kernel (null hint): it cannot alias any
        // Rust object. `fd` is kept open in `self` for the mapping's lifetime.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        };
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap at 0"))?;
        Ok(Self { ptr, len, fd })
    }

    /// The mapped file, to pass to QEMU.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Size of the mapping in bytes.
    pub fn len(&self) -> u64 {
        self.len as u64
    }

    /// Always false: mappings are never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A pointer to `[offset, offset + len)`, after checking that it is inside the mapping.
    fn at(&self, offset: u64, len: u64) -> Result<*mut u8, OutOfRange> {
        let err = OutOfRange {
            offset,
            len,
            size: self.len as u64,
        };
        let end = offset.checked_add(len).ok_or(err)?;
        if end > self.len as u64 {
            return Err(err);
        }
        // SAFETY: `offset <= self.len`, so the result stays inside (or one past) the mapping.
        Ok(unsafe { self.ptr.as_ptr().add(offset as usize) })
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        let src = self.at(offset, buf.len() as u64)?;
        // SAFETY: `src..src + buf.len()` is inside the mapping (checked by `at`) and cannot
        // overlap `buf`, a Rust object outside any mapping.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` to `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), OutOfRange> {
        let dst = self.at(offset, data.len() as u64)?;
        // SAFETY: as in `read`, with the roles swapped.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    fn atomic32(&self, offset: u64) -> &AtomicU32 {
        assert_eq!(offset % 4, 0, "unaligned 32-bit access at {offset:#x}");
        let ptr = self
            .at(offset, 4)
            .expect("32-bit access outside the mapping");
        // SAFETY: in bounds and 4-byte aligned (the mapping is page aligned); the atomic
        // lives as long as `&self`, and every access to this word from the model is atomic.
        unsafe { AtomicU32::from_ptr(ptr.cast()) }
    }

    fn atomic64(&self, offset: u64) -> &AtomicU64 {
        assert_eq!(offset % 8, 0, "unaligned 64-bit access at {offset:#x}");
        let ptr = self
            .at(offset, 8)
            .expect("64-bit access outside the mapping");
        // SAFETY: as in `atomic32`, with 8-byte alignment.
        unsafe { AtomicU64::from_ptr(ptr.cast()) }
    }

    /// Atomically loads the little-endian u32 at `offset` (4-aligned, in bounds: a
    /// violation is a bug in the model and panics).
    pub fn load32(&self, offset: u64) -> u32 {
        u32::from_le(self.atomic32(offset).load(Ordering::Acquire))
    }

    /// Atomically stores a little-endian u32 at `offset`, with release ordering: every
    /// earlier write of the model is visible before it.
    pub fn store32(&self, offset: u64, value: u32) {
        self.atomic32(offset)
            .store(value.to_le(), Ordering::Release);
    }

    /// Atomically adds to the little-endian u32 at `offset`, wrapping; returns the new value.
    pub fn add32(&self, offset: u64, value: u32) -> u32 {
        // Little-endian host (x86-64, the only target this model supports), so the
        // native add is the little-endian add.
        const _: () = assert!(cfg!(target_endian = "little"));
        self.atomic32(offset)
            .fetch_add(value, Ordering::AcqRel)
            .wrapping_add(value)
    }

    /// Atomically loads the little-endian u64 at `offset` (8-aligned, in bounds).
    pub fn load64(&self, offset: u64) -> u64 {
        u64::from_le(self.atomic64(offset).load(Ordering::Acquire))
    }

    /// Atomically stores a little-endian u64 at `offset`, with release ordering.
    pub fn store64(&self, offset: u64, value: u64) {
        self.atomic64(offset)
            .store(value.to_le(), Ordering::Release);
    }
}

impl Drop for Mem {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping created in `map`, and no pointer
        // into it outlives `self` (every accessor borrows `self`).
        if let Err(err) = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) } {
            eprintln!("hlx-model: munmap: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        let mem = Mem::memfd("t", 4096).unwrap();
        assert!(mem.write(4090, &[1; 6]).is_ok());
        let err = mem.write(4091, &[1; 6]).unwrap_err();
        assert_eq!((err.offset, err.len, err.size), (4091, 6, 4096));
        assert!(mem.read(u64::MAX, &mut [0; 2]).is_err());
        let mut buf = [0; 6];
        mem.read(4090, &mut buf).unwrap();
        assert_eq!(buf, [1; 6]);
    }

    #[test]
    fn atomics_are_little_endian_words() {
        let mem = Mem::memfd("t", 4096).unwrap();
        mem.store32(8, 0x1122_3344);
        let mut b = [0; 4];
        mem.read(8, &mut b).unwrap();
        assert_eq!(b, [0x44, 0x33, 0x22, 0x11]);
        assert_eq!(mem.add32(8, 0xF000_0000), 0x0122_3344);
        mem.store64(16, 0x0102_0304_0506_0708);
        assert_eq!(mem.load64(16), 0x0102_0304_0506_0708);
        assert_eq!(mem.load32(16), 0x0506_0708);
    }

    #[test]
    fn file_size_must_match() {
        let dir = std::env::temp_dir().join(format!("hlx-shm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ram");
        let mem = Mem::open_file(&path, 8192, true).unwrap();
        mem.write(100, b"hello").unwrap();
        drop(mem);
        assert_eq!(std::fs::read(&path).unwrap()[100..105], *b"hello");
        assert!(Mem::open_file(&path, 4096, false).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
