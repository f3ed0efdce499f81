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
//! The raw uAPI is re-exported as [`uapi`]. Unit tests run on any host:
//! `cargo test -p xaccel-runtime`.

mod device;
mod error;
mod info;
mod query;
mod types;
mod version;

pub use device::{Device, ACCEL_DIR};
pub use error::{Error, Result};
pub use info::{DeviceInfo, EngineInfo, RegionInfo};
pub use query::QueryItem;
pub use rustix::io::Errno;
pub use types::{decode_name, Capabilities, EngineClass, RegionFlags, RegionKind};
pub use version::Version;
pub use xaccel_uapi as uapi;
