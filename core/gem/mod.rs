// SPDX-License-Identifier: GPL-2.0-only

//! Memory: buffer objects, their uAPI and their accounting.
//!
//! - [`Bo`] (`object`): the buffer object, a GEM object with a [`Placement`] in one memory
//!   region of its device, and its GEM callbacks.
//! - `usage`: bytes per region, per device (against each region's size, its budget) and per
//!   open file ([`RegionCounters`]).
//! - `create`, `info`: `DRM_IOCTL_XACCEL_BO_CREATE` and `DRM_IOCTL_XACCEL_BO_INFO`. Handles are
//!   closed with DRM's own `DRM_IOCTL_GEM_CLOSE`.
//! - `fdinfo`: the per-file memory keys of `/proc/<pid>/fdinfo`.
//!
//! `Documentation/memory.rst` describes placements, lifetimes, handles and accounting as
//! userspace sees them.

pub(crate) mod create;
mod fdinfo;
pub(crate) mod info;
mod object;
mod usage;

pub(crate) use fdinfo::show_fdinfo;
pub use object::{Bo, Placement};
pub use usage::RegionCounters;
