// SPDX-License-Identifier: GPL-2.0-only

//! Fixed-size, NUL-terminated names as the uAPI carries them (`char name[16]`).

use kernel::prelude::*;

/// A name stored inline, always NUL-terminated, truncated to fit.
///
/// Backends hand the core `&'static CStr` names that live in the backend module; the core copies
/// them into a [`Name`] so nothing it keeps points into a module that may be unloaded.
///
/// # Invariants
///
/// `bytes[N - 1] == 0`, so the bytes always form a valid C string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> Name<N> {
    /// Copies `src`, truncating it to `N - 1` bytes.
    pub fn new(src: &CStr) -> Self {
        let src = src.to_bytes();
        let len = src.len().min(N - 1);
        let mut bytes = [0u8; N];
        bytes[..len].copy_from_slice(&src[..len]);
        // INVARIANT: `len <= N - 1`, so the last byte stays zero.
        Self { bytes }
    }

    /// The name with its NUL padding, as the uAPI wants it.
    pub fn as_padded(&self) -> &[u8; N] {
        &self.bytes
    }

    /// A pointer to the name as a C string, valid as long as `self` is.
    pub fn as_char_ptr(&self) -> *const kernel::ffi::c_char {
        self.bytes.as_ptr().cast()
    }

    /// Length without the terminating NUL.
    pub fn len(&self) -> usize {
        self.bytes.iter().position(|&b| b == 0).unwrap_or(N - 1)
    }

    /// Whether the name is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes[0] == 0
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_name)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_copied_and_padded() {
        let name = Name::<16>::new(c"vaccel");
        assert_eq!(name.len(), 6);
        assert_eq!(&name.as_padded()[..7], b"vaccel\0");
        assert!(name.as_padded()[6..].iter().all(|&b| b == 0));
    }

    #[test]
    fn long_names_are_truncated_and_terminated() {
        let name = Name::<8>::new(c"a-very-long-engine-name");
        assert_eq!(name.len(), 7);
        assert_eq!(name.as_padded(), b"a-very-\0");
    }

    #[test]
    fn empty_name_is_empty() {
        let name = Name::<4>::new(c"");
        assert!(name.is_empty());
        assert_eq!(name.as_padded(), &[0u8; 4]);
    }
}
