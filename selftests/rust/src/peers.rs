// SPDX-License-Identifier: GPL-2.0-only
//! The other side of each dma-buf test (selftest-dmabuf, conformance), with raw ioctls: any DRM node's
//! PRIME and GEM_CLOSE ioctls, vgem's dumb buffers, udmabuf (a dma-buf of a
//! sealed memfd), shared mappings of any file, and the data pattern every
//! test writes and checks bit-exactly.

use std::ffi::c_void;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Ioctl, IoctlOutput, Opcode, Updater};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
pub use xaccel::gem_close;
use xaccel::{drm_prime_handle, PRIME_FLAGS};

/// `DRM_IOCTL_PRIME_HANDLE_TO_FD`: `DRM_IOWR(0x2d, struct drm_prime_handle)`.
const PRIME_HANDLE_TO_FD: Opcode = opcode::read_write::<drm_prime_handle>(b'd', 0x2d);
/// `DRM_IOCTL_PRIME_FD_TO_HANDLE`: `DRM_IOWR(0x2e, struct drm_prime_handle)`.
const PRIME_FD_TO_HANDLE: Opcode = opcode::read_write::<drm_prime_handle>(b'd', 0x2e);

/// PRIME export of `handle` on any DRM file, with `flags` as given.
pub fn export(drm: BorrowedFd<'_>, handle: u32, flags: u32) -> Result<OwnedFd, Errno> {
    let mut args = drm_prime_handle {
        handle,
        flags,
        fd: -1,
    };
    // SAFETY: PRIME_HANDLE_TO_FD takes a drm_prime_handle, which holds no pointers.
    unsafe { ioctl(drm, Updater::<PRIME_HANDLE_TO_FD, _>::new(&mut args)) }?;
    // SAFETY: On success the kernel installed a new descriptor in `args.fd`.
    Ok(unsafe { OwnedFd::from_raw_fd(args.fd) })
}

/// PRIME import of the file descriptor `fd` (any number, even a bad one) on
/// any DRM file: the handle.
pub fn import_raw(drm: BorrowedFd<'_>, fd: RawFd) -> Result<u32, Errno> {
    let mut args = drm_prime_handle {
        fd,
        ..Default::default()
    };
    // SAFETY: PRIME_FD_TO_HANDLE takes a drm_prime_handle, which holds no pointers.
    unsafe { ioctl(drm, Updater::<PRIME_FD_TO_HANDLE, _>::new(&mut args)) }?;
    Ok(args.handle)
}

/// vgem, DRM's virtual GEM driver: an open primary node (`/dev/dri/cardN`).
pub struct Vgem(xaccel::vgem::Vgem);

impl Vgem {
    /// Finds vgem among `/dev/dri/card*` by its DRM_IOCTL_VERSION name.
    pub fn open() -> Result<Self, String> {
        xaccel::vgem::Vgem::find().map(Self)
    }

    /// A dumb buffer of `size` bytes (a multiple of 4096): its handle.
    pub fn create(&self, size: u64) -> Result<u32, Errno> {
        self.0.create(size).map(|(handle, _)| handle)
    }

    /// The mmap offset of `handle` (created or imported) on vgem's file.
    pub fn offset(&self, handle: u32) -> Result<u64, Errno> {
        self.0.offset(handle)
    }

    /// Maps `len` bytes of `handle`, a buffer vgem created: DRM refuses
    /// MAP_DUMB offsets of imported objects (EINVAL).
    pub fn map(&self, handle: u32, len: usize) -> Result<SharedMap, Errno> {
        SharedMap::new(self.0.as_fd(), len, self.offset(handle)?)
    }

    /// What vgem hands out for `handle` when asked to export it: for an
    /// import, the dma-buf it holds (DRM re-exports the original).
    pub fn export(&self, handle: u32) -> Result<OwnedFd, Errno> {
        export(self.0.as_fd(), handle, FLAGS)
    }
}

impl AsFd for Vgem {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// `struct udmabuf_create` from `linux/udmabuf.h`.
#[repr(C)]
#[derive(Debug, Default)]
struct UdmabufCreateArgs {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}

/// `UDMABUF_FLAGS_CLOEXEC`.
const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;

/// `UDMABUF_CREATE`: `_IOW('u', 0x42, struct udmabuf_create)`, which returns
/// the new dma-buf's file descriptor.
struct UdmabufCreate(UdmabufCreateArgs);

// SAFETY: The opcode matches the argument type, which holds no pointers and is
// only read by the kernel; the result is the ioctl's return value.
unsafe impl Ioctl for UdmabufCreate {
    type Output = OwnedFd;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        opcode::write::<UdmabufCreateArgs>(b'u', 0x42)
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (&raw mut self.0).cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<OwnedFd> {
        // SAFETY: A successful UDMABUF_CREATE returns a new descriptor.
        Ok(unsafe { OwnedFd::from_raw_fd(out) })
    }
}

/// A udmabuf: a dma-buf of a sealed memfd, which stays mapped here so the
/// test can write what importers must read.
pub struct Udmabuf {
    /// The memfd's mapping.
    pub memory: SharedMap,
    /// The dma-buf.
    pub dma_buf: OwnedFd,
}

impl Udmabuf {
    /// A memfd of `len` bytes (a multiple of the page size), sealed against
    /// shrinking, and a dma-buf of it from `/dev/udmabuf`.
    pub fn new(len: usize) -> Result<Self, String> {
        fn fail(what: &'static str) -> impl Fn(Errno) -> String {
            move |e| format!("{what}: {e}")
        }
        let memfd = rustix::fs::memfd_create(
            "xaccel-selftest",
            rustix::fs::MemfdFlags::ALLOW_SEALING | rustix::fs::MemfdFlags::CLOEXEC,
        )
        .map_err(fail("memfd_create"))?;
        rustix::fs::ftruncate(&memfd, len as u64).map_err(fail("ftruncate"))?;
        rustix::fs::fcntl_add_seals(&memfd, rustix::fs::SealFlags::SHRINK)
            .map_err(fail("F_ADD_SEALS"))?;
        let memory = SharedMap::new(memfd.as_fd(), len, 0).map_err(fail("mmap memfd"))?;
        let node = rustix::fs::open(
            "/dev/udmabuf",
            OFlags::RDWR | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(fail("/dev/udmabuf"))?;
        let args = UdmabufCreateArgs {
            memfd: memfd.as_raw_fd() as u32,
            flags: UDMABUF_FLAGS_CLOEXEC,
            offset: 0,
            size: len as u64,
        };
        // SAFETY: UDMABUF_CREATE reads a udmabuf_create, which holds no pointers.
        let dma_buf =
            unsafe { ioctl(&node, UdmabufCreate(args)) }.map_err(fail("UDMABUF_CREATE"))?;
        Ok(Self { memory, dma_buf })
    }
}

/// Whether two descriptors are the same open file (one dma-buf).
pub fn same_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> Result<bool, Errno> {
    let (a, b) = (rustix::fs::fstat(a)?, rustix::fs::fstat(b)?);
    Ok(a.st_dev == b.st_dev && a.st_ino == b.st_ino)
}

/// A shared, read-write mapping of any file, unmapped on drop.
pub struct SharedMap {
    ptr: NonNull<u8>,
    len: usize,
}

impl SharedMap {
    /// Maps `len` bytes of `fd` at `offset`.
    pub fn new(fd: BorrowedFd<'_>, len: usize, offset: u64) -> Result<Self, Errno> {
        // SAFETY: A new mapping at an address the kernel picks replaces nothing.
        let addr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                offset,
            )
        }?;
        let ptr = NonNull::new(addr.cast::<u8>()).ok_or(Errno::FAULT)?;
        Ok(Self { ptr, len })
    }

    /// Fills the mapping with [`pattern`] word `seed`.
    pub fn fill(&self, seed: u64) {
        let words = self.ptr.as_ptr().cast::<u64>();
        for i in 0..self.len / 8 {
            // SAFETY: In bounds of the mapping, aligned (mappings are page-aligned).
            unsafe { words.add(i).write_volatile(pattern(seed, i)) };
        }
    }

    /// Checks that the mapping holds exactly [`pattern`] `seed`: the first
    /// wrong word, if any.
    pub fn check(&self, seed: u64) -> Result<(), String> {
        let words = self.ptr.as_ptr().cast::<u64>();
        for i in 0..self.len / 8 {
            // SAFETY: In bounds of the mapping, aligned.
            let got = unsafe { words.add(i).read_volatile() };
            let want = pattern(seed, i);
            if got != want {
                return Err(format!(
                    "byte {:#x} of {:#x}: {got:#018x}, expected {want:#018x}",
                    i * 8,
                    self.len
                ));
            }
        }
        Ok(())
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: Our own mapping, unused from here on.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Word `i` of the pattern `seed`: distinct in every word and every seed, so
/// a page mix-up, a stale page or a zero page all show.
pub fn pattern(seed: u64, i: usize) -> u64 {
    (seed.rotate_left(17) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(i as u64)
}

/// The default PRIME flags: close-on-exec, read-write.
pub const FLAGS: u32 = PRIME_FLAGS;
