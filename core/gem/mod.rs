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
//! - `export`, `import`: dma-buf sharing through DRM's `DRM_IOCTL_PRIME_HANDLE_TO_FD` and
//!   `DRM_IOCTL_PRIME_FD_TO_HANDLE`.
//!
//! `Documentation/memory.rst` describes placements, lifetimes, handles and accounting as
//! userspace sees them.

pub(crate) mod create;
mod export;
mod fdinfo;
mod import;
pub(crate) mod info;
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
pub(crate) mod kunit_device;
mod object;
mod usage;

pub(crate) use fdinfo::show_fdinfo;
pub(crate) use import::{gem_prime_import, prepare_dma_device};
pub use object::{Bo, Placement};
pub use usage::RegionCounters;
