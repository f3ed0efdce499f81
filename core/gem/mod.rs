// SPDX-License-Identifier: GPL-2.0-only

//! Memory: buffer objects, their uAPI and their accounting.
//!
//! - [`Bo`] (`object`): the buffer object, a GEM object with a [`Placement`] in one memory
//!   region of its device, and its GEM callbacks.
//! - `devmem`: device-memory regions: their `gpu_buddy` allocator, core-allocated backing and
//!   CPU mappings.
//! - `usage`: bytes per region, per device (against each region's size, its budget) and per
//!   open file ([`RegionCounters`]).
//! - `create`, `info`: `DRM_IOCTL_XACCEL_BO_CREATE` and `DRM_IOCTL_XACCEL_BO_INFO`. Handles are
//!   closed with DRM's own `DRM_IOCTL_GEM_CLOSE`.
//! - `fdinfo`: the per-file memory keys of `/proc/<pid>/fdinfo`; `debugfs`: every buffer object
//!   of a device, in `/sys/kernel/debug/accel/<device>/bos`.
//! - `shmem_fault`: CPU faults of system objects, the shmem helper's with fault-around.
//! - `pages`: page-backed objects (device memory, userptr): their memory, state under the
//!   reservation lock, CPU mappings filled on fault, DMA mappings.
//! - `userptr`: `DRM_IOCTL_XACCEL_BO_USERPTR`, objects of pinned user memory.
//! - `export`, `import`: dma-buf sharing through DRM's `DRM_IOCTL_PRIME_HANDLE_TO_FD` and
//!   `DRM_IOCTL_PRIME_FD_TO_HANDLE`; `export_pages`: the exporter of page-backed objects
//!   (dynamic for device memory, with migration, refusal and revocation).
//!
//! `Documentation/memory.rst` describes placements, lifetimes, handles and accounting as
//! userspace sees them.

mod bar;
pub(crate) mod create;
mod debugfs;
mod devmem;
mod export;
mod export_pages;
mod fdinfo;
mod import;
pub(crate) mod info;
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
pub(crate) mod kunit_device;
mod object;
mod pages;
pub(crate) mod shmem_fault;
mod usage;
pub(crate) mod userptr;

pub(crate) use bar::BarMemory;
pub(crate) use debugfs::register as register_debugfs;
pub(crate) use devmem::DeviceMemory;
pub(crate) use export_pages::{revoke, ExportList};
pub(crate) use fdinfo::show_fdinfo;
pub(crate) use import::{gem_prime_import, prepare_dma_device};
pub use object::{Bo, Placement};
pub(crate) use pages::PagesState;
pub use usage::RegionCounters;
