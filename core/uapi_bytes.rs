// SPDX-License-Identifier: GPL-2.0-only

//! Byte-level views of the uAPI structs the core copies to userspace.
//!
//! `uapi` is shared with the userspace crate and stays free of kernel traits, so the
//! [`AsBytes`] promises live here, each backed by a compile-time proof that the struct has no
//! padding (padding bytes would leak kernel stack or heap contents to userspace).

use crate::uapi::{
    drm_xaccel_device_info,
    drm_xaccel_engine_info,
    drm_xaccel_nop_info,
    drm_xaccel_region_info,
    DRM_XACCEL_NOP_MAX, //
};
use core::mem::size_of;
use kernel::transmute::AsBytes;

// No padding: the size is the sum of the fields.
const _: () = assert!(size_of::<drm_xaccel_device_info>() == 16 + 4 * 4 + 8 * 4);
const _: () = assert!(size_of::<drm_xaccel_engine_info>() == 16 + 4 * 4);
const _: () = assert!(size_of::<drm_xaccel_region_info>() == 16 + 4 * 2 + 8 * 3);
const _: () = assert!(size_of::<drm_xaccel_nop_info>() == 4 * 2 + DRM_XACCEL_NOP_MAX as usize);

// SAFETY: `drm_xaccel_device_info` is `repr(C)`, has only integer fields and, as asserted above,
// no padding, so every byte of a value is initialised.
unsafe impl AsBytes for drm_xaccel_device_info {}

// SAFETY: As above: `repr(C)`, integer fields only, no padding (asserted).
unsafe impl AsBytes for drm_xaccel_engine_info {}

// SAFETY: As above: `repr(C)`, integer fields only, no padding (asserted).
unsafe impl AsBytes for drm_xaccel_region_info {}

// SAFETY: As above: `repr(C)`, integer fields only, no padding (asserted).
unsafe impl AsBytes for drm_xaccel_nop_info {}
