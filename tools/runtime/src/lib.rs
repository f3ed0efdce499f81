// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel`: safe userspace access to xaccel accelerators (`/dev/accel/accelN`).
//!
//! Open a node with [`Device::open`] (or list them with [`Device::enumerate`]),
//! then read its DRM version and the common QUERY ioctl as typed values:
//!
//! ```no_run
//! let dev = xaccel::Device::open("/dev/accel/accel0")?;
//! let info = dev.device_info()?;
//! println!("{} uapi {}.{}", info.backend, info.uapi_major, info.uapi_minor);
//! for engine in dev.engines()? {
//!     println!("engine {} {} ({})", engine.id, engine.name, engine.class);
//! }
//! # Ok::<(), xaccel::Error>(())
//! ```
//!
//! Buffer objects are [`Bo`]s, closed when dropped, mapped as [`Mapping`]s,
//! unmapped when dropped; [`Device::fdinfo`] reads this process's memory
//! statistics for the open file:
//!
//! ```no_run
//! let dev = xaccel::Device::open("/dev/accel/accel0")?;
//! let system = dev.regions()?.iter().find(|r| r.kind == xaccel::RegionKind::System).unwrap().id;
//! let bo = xaccel::Bo::create(&dev, 1 << 20, system)?;
//! let map = bo.map()?;
//! map.write(0, b"hello");
//! println!("{:?}", dev.fdinfo()?.regions);
//! # Ok::<(), xaccel::Error>(())
//! ```
//!
//! Buffer objects are shared as dma-bufs: [`Bo::export`] gives an
//! [`OwnedFd`](std::os::fd::OwnedFd), [`Device::import`] takes any dma-buf.
//!
//! Device virtual memory: a [`Vm`] is destroyed when dropped, and a
//! [`Binding`] (a BO range mapped at a device address) unbinds when dropped:
//!
//! ```no_run
//! # let dev = xaccel::Device::open("/dev/accel/accel0")?;
//! # let bo = xaccel::Bo::create(&dev, 1 << 20, 0)?;
//! let va = dev.device_info()?.va_start;
//! let vm = xaccel::Vm::create(&dev)?;
//! let binding = vm.bind(&bo, 0, bo.size(), va, xaccel::Access::ReadWrite)?;
//! drop(binding); // unbound
//! # Ok::<(), xaccel::Error>(())
//! ```
//!
//! The raw uAPI is re-exported as [`uapi`]. Unit tests run on any host:
//! `cargo test -p xaccel-runtime`.

mod bo;
pub mod bolist;
mod device;
mod error;
mod exec;
mod fdinfo;
pub mod hlx;
mod info;
mod mapping;
pub mod null;
mod query;
pub mod sw_sync;
mod types;
pub mod vaccel;
mod version;
pub mod vgem;
mod vm;

pub use bo::{Bo, BoInfo};
pub use device::{drm_prime_handle, gem_close, Device, ACCEL_DIR, PRIME_FLAGS};
pub use error::{Error, Result};
pub use exec::{sync_file_status, Context, CpuAccess, Priority, Submit, Syncobj};
pub use fdinfo::{EngineBusy, FdInfo, RegionMemory};
pub use info::{DeviceInfo, EngineInfo, NopInfo, RegionInfo};
pub use mapping::Mapping;
pub use query::QueryItem;
pub use rustix::io::Errno;
pub use types::{decode_name, Capabilities, EngineClass, RegionFlags, RegionKind};
pub use version::Version;
pub use vm::{Access, Binding, Vm};
pub use xaccel_uapi as uapi;
