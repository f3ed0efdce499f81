// SPDX-License-Identifier: GPL-2.0-only
//! The anchor: vgem, DRM's virtual GEM driver, whose buffers are shmem-backed
//! GEM objects like xaccel's system-memory buffer objects; the runtime's
//! [`xaccel::vgem::Vgem`] makes, maps and closes its dumb buffers.

use std::os::fd::AsFd;

use rustix::io::Errno;
pub use xaccel::vgem::Vgem;

/// A vgem buffer: its handle, size and mmap offset.
pub struct Buffer {
    pub handle: u32,
    pub size: u64,
    pub offset: u64,
}

/// Creates a buffer of `size` bytes (a multiple of a page) and gets its mmap offset.
pub fn create(vgem: &Vgem, size: u64) -> Result<Buffer, Errno> {
    let (handle, size) = vgem.create(size)?;
    match vgem.offset(handle) {
        Ok(offset) => Ok(Buffer {
            handle,
            size,
            offset,
        }),
        Err(e) => {
            let _ = close(vgem, handle);
            Err(e)
        }
    }
}

/// Closes a buffer's handle.
pub fn close(vgem: &Vgem, handle: u32) -> Result<(), Errno> {
    xaccel::gem_close(vgem.as_fd(), handle)
}
