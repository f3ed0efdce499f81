// SPDX-License-Identifier: GPL-2.0-only
//! `DRM_IOCTL_VERSION`: the driver name, date, description and version.
//!
//! `struct drm_version` comes from libdrm's `drm.h`, not from the xaccel header,
//! so it is declared here. The ioctl is called twice: once with empty buffers to
//! learn the string lengths, then with buffers of those lengths.

use std::ffi::{c_char, c_int};
use std::ptr;

use rustix::io::Errno;
use rustix::ioctl::{opcode, Opcode};
use serde::Serialize;

use crate::error::{Error, Result};

/// `struct drm_version` from `drm.h`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub(crate) struct drm_version {
    pub version_major: c_int,
    pub version_minor: c_int,
    pub version_patchlevel: c_int,
    pub name_len: usize,
    pub name: *mut c_char,
    pub date_len: usize,
    pub date: *mut c_char,
    pub desc_len: usize,
    pub desc: *mut c_char,
}

impl Default for drm_version {
    fn default() -> Self {
        Self {
            version_major: 0,
            version_minor: 0,
            version_patchlevel: 0,
            name_len: 0,
            name: ptr::null_mut(),
            date_len: 0,
            date: ptr::null_mut(),
            desc_len: 0,
            desc: ptr::null_mut(),
        }
    }
}

/// `DRM_IOCTL_VERSION`: `DRM_IOWR(0x00, struct drm_version)`.
pub(crate) const DRM_IOCTL_VERSION: Opcode = opcode::read_write::<drm_version>(b'd', 0x00);

/// What `DRM_IOCTL_VERSION` reports. For xaccel devices `name` is the backend
/// name and `major.minor` the uAPI version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Version {
    /// Driver (backend) name.
    pub name: String,
    /// Driver description.
    pub desc: String,
    /// Driver date.
    pub date: String,
    /// Major version.
    pub major: i32,
    /// Minor version.
    pub minor: i32,
    /// Patch level.
    pub patchlevel: i32,
}

/// Text the kernel wrote: it reports the full length but copies at most the
/// buffer's; stop at a NUL too.
fn decode(buf: &[u8], reported: usize) -> String {
    crate::types::decode_name(&buf[..reported.min(buf.len())])
}

/// Runs the two-step version protocol through `ioctl`, which must issue
/// `DRM_IOCTL_VERSION`; every pointer it sees is null or valid for its length.
pub(crate) fn fetch_version(
    mut ioctl: impl FnMut(&mut drm_version) -> Result<(), Errno>,
) -> Result<Version> {
    let fail = |errno| Error::Ioctl {
        ioctl: "DRM_IOCTL_VERSION",
        errno,
    };
    let mut v = drm_version::default();
    ioctl(&mut v).map_err(fail)?;
    let mut name = vec![0u8; v.name_len];
    let mut date = vec![0u8; v.date_len];
    let mut desc = vec![0u8; v.desc_len];
    v.name = name.as_mut_ptr().cast();
    v.date = date.as_mut_ptr().cast();
    v.desc = desc.as_mut_ptr().cast();
    ioctl(&mut v).map_err(fail)?;
    Ok(Version {
        name: decode(&name, v.name_len),
        desc: decode(&desc, v.desc_len),
        date: decode(&date, v.date_len),
        major: v.version_major,
        minor: v.version_minor,
        patchlevel: v.version_patchlevel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's `drm_copy_field()`.
    fn copy_field(buf: *mut c_char, len: &mut usize, value: &str) {
        let n = value.len().min(*len);
        if n > 0 {
            // SAFETY: fetch_version passes buffers of `len` bytes.
            unsafe { buf.cast::<u8>().copy_from_nonoverlapping(value.as_ptr(), n) };
        }
        *len = value.len();
    }

    fn fake_kernel(v: &mut drm_version) -> Result<(), Errno> {
        v.version_major = 0;
        v.version_minor = 1;
        v.version_patchlevel = 7;
        copy_field(v.name, &mut v.name_len, "vaccel");
        copy_field(v.date, &mut v.date_len, "20250101");
        copy_field(v.desc, &mut v.desc_len, "Virtual xaccel device");
        Ok(())
    }

    #[test]
    fn two_step_protocol() {
        let mut calls = 0;
        let v = fetch_version(|v| {
            calls += 1;
            fake_kernel(v)
        })
        .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(v.name, "vaccel");
        assert_eq!(v.date, "20250101");
        assert_eq!(v.desc, "Virtual xaccel device");
        assert_eq!((v.major, v.minor, v.patchlevel), (0, 1, 7));
    }

    #[test]
    fn errors_carry_errno() {
        let err = fetch_version(|_| Err(Errno::NOTTY)).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::NOTTY));
    }

    #[test]
    fn decode_clamps_to_buffer() {
        assert_eq!(decode(b"abc", 10), "abc");
        assert_eq!(decode(b"abcdef", 2), "ab");
        assert_eq!(decode(b"ab\0\0", 4), "ab");
    }

    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    #[test]
    fn matches_drm_h() {
        assert_eq!(std::mem::size_of::<drm_version>(), 64);
        assert_eq!(std::mem::offset_of!(drm_version, name_len), 16);
        assert_eq!(std::mem::offset_of!(drm_version, desc), 56);
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        ))]
        assert_eq!(DRM_IOCTL_VERSION as u64, 0xc040_6400);
    }
}
