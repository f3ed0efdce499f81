// SPDX-License-Identifier: GPL-2.0-only
//! Helpers for issuing raw ioctls from selftests: byte buffers pre-filled with
//! a marker, typed reads of QUERY items out of them, and errno names.

use std::mem::size_of;
use std::ops::Range;

use xaccel::uapi::drm_xaccel_query;
use xaccel::{Device, Errno, QueryItem};

/// What buffers are filled with before the kernel writes into them.
pub const FILL: u8 = 0xAA;

/// `size_of::<T>()` as a QUERY `item_size`.
pub fn item_size<T>() -> u32 {
    u32::try_from(size_of::<T>()).expect("uAPI items are small")
}

/// `EINVAL (22)`, or the number alone for errnos not listed here.
pub fn errno_name(errno: Errno) -> String {
    let name = match errno {
        Errno::INVAL => "EINVAL",
        Errno::FAULT => "EFAULT",
        Errno::OVERFLOW => "EOVERFLOW",
        Errno::NOTTY => "ENOTTY",
        Errno::NOENT => "ENOENT",
        Errno::NODEV => "ENODEV",
        Errno::ACCESS => "EACCES",
        Errno::PERM => "EPERM",
        Errno::NOMEM => "ENOMEM",
        Errno::NOSPC => "ENOSPC",
        Errno::TOOBIG => "E2BIG",
        Errno::BUSY => "EBUSY",
        Errno::EXIST => "EEXIST",
        Errno::OPNOTSUPP => "EOPNOTSUPP",
        Errno::BADF => "EBADF",
        Errno::TIME => "ETIME",
        _ => "errno",
    };
    format!("{name} ({})", errno.raw_os_error())
}

/// `success` or the errno's name.
pub fn result_name(result: &Result<(), Errno>) -> String {
    match result {
        Ok(()) => "success".into(),
        Err(errno) => errno_name(*errno),
    }
}

/// A heap buffer for the kernel to write items into, initially all [`FILL`].
pub struct ItemBuf {
    bytes: Vec<u8>,
}

impl ItemBuf {
    /// `len` bytes of [`FILL`].
    pub fn new(len: usize) -> Self {
        Self {
            bytes: vec![FILL; len],
        }
    }

    /// The buffer's address, for `drm_xaccel_query::items`.
    pub fn addr(&mut self) -> u64 {
        self.bytes.as_mut_ptr() as u64
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes in `range`.
    pub fn bytes(&self, range: Range<usize>) -> &[u8] {
        &self.bytes[range]
    }

    /// The first byte in `range` that is not `value`, as (offset, byte).
    pub fn find_not(&self, range: Range<usize>, value: u8) -> Option<(usize, u8)> {
        let start = range.start;
        self.bytes[range]
            .iter()
            .position(|&b| b != value)
            .map(|i| (start + i, self.bytes[start + i]))
    }

    /// The item of type `T` stored at byte `offset`.
    pub fn item<T: QueryItem>(&self, offset: usize) -> T {
        let bytes = &self.bytes[offset..offset + size_of::<T>()];
        // SAFETY: in bounds (the slice above checks), and every bit pattern is a
        // valid T (QueryItem's contract); the read is unaligned.
        unsafe { bytes.as_ptr().cast::<T>().read_unaligned() }
    }

    /// Issues QUERY for `T` into this buffer: `count` items, `stride` bytes apart.
    /// Returns the result and the struct as the kernel left it.
    pub fn query<T: QueryItem>(
        &mut self,
        dev: &Device,
        stride: u32,
        count: u32,
    ) -> (Result<(), Errno>, drm_xaccel_query) {
        let need = u64::from(stride) * u64::from(count);
        assert!(
            need <= self.len() as u64,
            "buffer too small for {count} x {stride}"
        );
        let mut q = drm_xaccel_query {
            type_: T::TYPE,
            item_size: stride,
            count,
            items: if count == 0 { 0 } else { self.addr() },
            ..Default::default()
        };
        // SAFETY: the kernel writes at most count * stride bytes, which fit.
        let result = unsafe { dev.query_raw(&mut q) };
        (result, q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xaccel::uapi::drm_xaccel_engine_info;

    #[test]
    fn names() {
        assert_eq!(errno_name(Errno::INVAL), "EINVAL (22)");
        assert_eq!(result_name(&Err(Errno::OVERFLOW)), "EOVERFLOW (75)");
        assert_eq!(result_name(&Ok(())), "success");
    }

    #[test]
    fn buffer_reads() {
        let mut buf = ItemBuf::new(64);
        assert!(buf.addr() != 0 && !buf.is_empty());
        assert_eq!(buf.find_not(0..64, FILL), None);
        let engine: drm_xaccel_engine_info = buf.item(1);
        assert_eq!(engine.id, u32::from_ne_bytes([FILL; 4]));
        buf.bytes[40] = 0;
        assert_eq!(buf.find_not(0..64, FILL), Some((40, 0)));
        assert_eq!(buf.bytes(39..41), [FILL, 0]);
    }
}
