// SPDX-License-Identifier: GPL-2.0-only
//! Raw DRM ioctls with any command and argument, and the sweep: every core ioctl number in
//! every direction and in sizes from 0 to the largest `_IOC_SIZE`, each with hostile arguments
//! (null, unmapped, `PROT_NONE` and kernel pointers, and structs of zeros, all ones, `0xaa` and
//! random bytes), checked against [`table`](crate::table).

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use rustix::ioctl::{ioctl, Ioctl, IoctlOutput, Opcode};
use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use xaccel::Errno;
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::rng::Rng;

use crate::table::{self, REFUSED};

/// A kernel-half address: never valid for `copy_from_user`.
pub const KERNEL_ADDRESS: u64 = 0xffff_8880_0000_0000;

/// The `_IOC_SIZE`s the sweep encodes: none, small structs, the end of `drm_ioctl()`'s stack
/// buffer (128) and past it (a kmalloc), and the largest (14 bits).
const SIZES: [u32; 9] = [0, 4, 8, 16, 24, 64, 128, 129, 16383];

/// One ioctl with a raw command and argument, returning the ioctl's return value.
struct Raw {
    cmd: u32,
    arg: u64,
}

// SAFETY: The kernel reads and writes through `arg` only what `cmd` encodes; callers pass
// pointers to memory they own for that size, or addresses the kernel must refuse.
unsafe impl Ioctl for Raw {
    type Output = i32;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.cmd as Opcode
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.arg as *mut c_void
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<i32> {
        Ok(out)
    }
}

/// `ioctl(fd, cmd, arg)`.
///
/// # Safety
///
/// `arg` is null, an address the kernel must refuse, or points to at least `_IOC_SIZE(cmd)`
/// bytes the caller owns (more if the ioctl follows pointers inside them).
pub unsafe fn raw_ioctl(fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i32, Errno> {
    // SAFETY: The caller's contract.
    unsafe { ioctl(fd, Raw { cmd, arg }) }
}

/// Anonymous memory for argument structs, and addresses the kernel cannot use.
pub struct Arena {
    buffer: NonNull<u8>,
    len: usize,
    forbidden: NonNull<u8>,
    /// An address in a page that was unmapped again.
    pub unmapped: u64,
    page: usize,
}

impl Arena {
    /// 16 KiB and more of read-write memory, a `PROT_NONE` page and an unmapped address.
    pub fn new() -> rustix::io::Result<Self> {
        let page = rustix::param::page_size();
        let len = 16384usize.div_ceil(page) * page + page;
        // SAFETY: New anonymous mappings at addresses the kernel picks replace nothing; the
        // last one is unmapped at once, so its address stays unmapped while nothing maps.
        let (buffer, forbidden, hole) = unsafe {
            let rw = ProtFlags::READ | ProtFlags::WRITE;
            let buffer = mmap_anonymous(std::ptr::null_mut(), len, rw, MapFlags::PRIVATE)?;
            let none = ProtFlags::empty();
            let forbidden = mmap_anonymous(std::ptr::null_mut(), page, none, MapFlags::PRIVATE)?;
            let hole = mmap_anonymous(std::ptr::null_mut(), page, none, MapFlags::PRIVATE)?;
            munmap(hole, page)?;
            (buffer, forbidden, hole)
        };
        Ok(Self {
            buffer: NonNull::new(buffer.cast()).expect("mmap returned null"),
            len,
            forbidden: NonNull::new(forbidden.cast()).expect("mmap returned null"),
            unmapped: hole as u64 + 64,
            page,
        })
    }

    /// The buffer's address.
    pub fn addr(&self) -> u64 {
        self.buffer.as_ptr() as u64
    }

    /// An address in the `PROT_NONE` page.
    pub fn forbidden(&self) -> u64 {
        self.forbidden.as_ptr() as u64
    }

    /// Fills the whole buffer with `byte`.
    pub fn fill(&mut self, byte: u8) {
        // SAFETY: In bounds of the live, writable buffer.
        unsafe { std::ptr::write_bytes(self.buffer.as_ptr(), byte, self.len) };
    }

    /// Fills the whole buffer with random bytes.
    pub fn fill_random(&mut self, rng: &mut Rng) {
        for i in (0..self.len).step_by(8) {
            let bytes = rng.next().to_ne_bytes();
            // SAFETY: In bounds (len is a multiple of 8) of the live, writable buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.buffer.as_ptr().add(i), 8)
            };
        }
    }

    /// Writes `value` at byte `offset` of the buffer and returns the buffer's address.
    pub fn put<T: Copy>(&mut self, offset: usize, value: T) -> u64 {
        assert!(offset + size_of::<T>() <= self.len);
        // SAFETY: In bounds of the live, writable buffer; unaligned write.
        unsafe {
            self.buffer
                .as_ptr()
                .add(offset)
                .cast::<T>()
                .write_unaligned(value)
        };
        self.addr()
    }

    /// Reads a `T` at byte `offset` of the buffer.
    pub fn get<T: Copy>(&self, offset: usize) -> T {
        assert!(offset + size_of::<T>() <= self.len);
        // SAFETY: In bounds of the live buffer; every T used here is plain data.
        unsafe {
            self.buffer
                .as_ptr()
                .add(offset)
                .cast::<T>()
                .read_unaligned()
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: The mappings `new` made; nothing refers into them.
        unsafe {
            let _ = munmap(self.buffer.as_ptr().cast(), self.len);
            let _ = munmap(self.forbidden.as_ptr().cast(), self.page);
        }
    }
}

/// The hostile arguments of the sweep, by name.
pub const ARGS: [&str; 8] = [
    "null",
    "unmapped",
    "PROT_NONE",
    "kernel",
    "zeros",
    "ones",
    "0xaa",
    "random",
];

/// Sets up argument `which` of [`ARGS`] and returns the address to pass.
fn argument(arena: &mut Arena, rng: &mut Rng, which: usize) -> u64 {
    match which {
        0 => 0,
        1 => arena.unmapped,
        2 => arena.forbidden(),
        3 => KERNEL_ADDRESS,
        4 => {
            arena.fill(0);
            arena.addr()
        }
        5 => {
            arena.fill(0xff);
            arena.addr()
        }
        6 => {
            arena.fill(0xaa);
            arena.addr()
        }
        _ => {
            arena.fill_random(rng);
            arena.addr()
        }
    }
}

/// What the sweep saw: per allowed ioctl, successes and errnos; calls made.
#[derive(Default)]
pub struct Seen {
    pub calls: u64,
    pub allowed: BTreeMap<u8, (u64, BTreeMap<i32, u64>)>,
}

/// Calls every core ioctl number in every direction, size and hostile argument on `fd`.
/// Returns what the allowed ones gave, or the first call whose result the table does not allow.
pub fn sweep(fd: BorrowedFd<'_>, seed: u64) -> Result<Seen, String> {
    let mut arena = Arena::new().map_err(|e| format!("arena: {e}"))?;
    let mut rng = Rng::new(seed);
    let mut seen = Seen::default();
    for nr in table::core_numbers() {
        for dir in 0..4 {
            for size in SIZES {
                for (which, arg_name) in ARGS.iter().enumerate() {
                    let cmd = table::encode(dir, nr, size);
                    let arg = argument(&mut arena, &mut rng, which);
                    // SAFETY: `arg` is null, refused by the kernel, or the arena's buffer,
                    // which holds more than the largest `_IOC_SIZE`; pointers inside it are
                    // garbage the kernel must refuse.
                    let result = unsafe { raw_ioctl(fd, cmd, arg) }.map(|_| ());
                    seen.calls += 1;
                    check(&mut seen, nr, result).map_err(|why| {
                        format!(
                            "{} cmd 0x{cmd:08x} ({arg_name} argument): {why}",
                            table::name(nr)
                        )
                    })?;
                }
            }
        }
    }
    Ok(seen)
}

/// Checks one result of core number `nr` against the table and records it.
pub fn check(seen: &mut Seen, nr: u8, result: Result<(), Errno>) -> Result<(), String> {
    match table::allowed(nr) {
        None => match result {
            Err(errno) if errno == REFUSED => Ok(()),
            other => Err(format!(
                "gave {}, the filter refuses it with {}",
                xaccel_selftests::raw::result_name(&other),
                errno_name(REFUSED)
            )),
        },
        Some(allowed) => {
            let entry = seen.allowed.entry(nr).or_default();
            match result {
                Ok(()) => {
                    entry.0 += 1;
                    Ok(())
                }
                Err(errno) if allowed.errnos.contains(&errno) => {
                    *entry.1.entry(errno.raw_os_error()).or_default() += 1;
                    Ok(())
                }
                Err(errno) => Err(format!(
                    "gave {}, which uapi.rst does not give it",
                    errno_name(errno)
                )),
            }
        }
    }
}
