// SPDX-License-Identifier: GPL-2.0-only

//! xaccel: a cross-vendor accelerator framework on DRM accel.
//!
//! This crate is the core module, `xaccel.ko`. Vendor backends are separate modules that
//! implement [`Backend`] and call [`Registration::new`] once per device; the core then owns
//! everything userspace sees: the accel node (`/dev/accel/accelN`), the common uAPI in
//! `uapi/drm/xaccel_accel.h`, and (as the framework grows) memory, VMs, scheduling and fences.
//!
//! # Layout
//!
//! - [`backend`]: the trait a backend implements and the device description it hands over.
//! - `bo_wait`: `BO_WAIT`, waiting until a buffer object is idle.
//! - [`build`]: the build id that ties each backend to the core build it was compiled against.
//! - `debugfs`: the per-device `engines` file (scheduler counters).
//! - [`device`]: the accel device, its registration and unplug.
//! - `engine_fdinfo`: `drm-engine-<name>` busy times in fdinfo, after the memory keys.
//! - `driver`: the per-device `struct drm_driver` and its C callbacks.
//! - [`fence`]: `dma_fence` for every backend: contexts, fences, callbacks, foreign fences,
//!   chains; its documentation holds the rules that let fences outlive backends and the core.
//! - `file`: the core's per-file state (`drm_file.driver_priv`).
//! - [`gem`]: buffer objects, `BO_CREATE`/`BO_INFO` and memory accounting.
//! - [`pci`]: BAR mappings, MSI-X handlers and coherent DMA memory for PCI backends.
//! - `ioctl`: the ioctl table, with sizes checked at compile time.
//! - [`job_memory`]: a job's buffer objects, mapped for the CPU while it lives, and the
//!   bounds-checked operations software engines run on them.
//! - `query`: `DRM_IOCTL_XACCEL_QUERY`.
//! - [`sched`]: the job scheduler: rings, entities, jobs, timeouts and recovery.
//! - `submit`: `DRM_IOCTL_XACCEL_SUBMIT`; [`submission`]: what a backend validates.
//! - [`vm`]: device virtual memory: per-file VMs, `VM_BIND`/`VM_UNBIND`, MMU callbacks.
//! - [`uapi`]: the uAPI structs, shared verbatim with the userspace crate.
//!
//! # Module lifetime rules
//!
//! Backends link against this crate (see the top-level `Makefile`), so the core outlives every
//! backend. Code generic over a backend is compiled into the backend module, so everything that
//! can run after a backend is unloaded (file release, ioctl entry, DRM device release) is
//! non-generic code of this crate (so are the callbacks of buffer objects, which may be freed
//! when their last mapping goes), and backend data is dropped when its device is unplugged,
//! before the backend module can go away. An open file pins this module through the accel
//! `file_operations` owner, never the backend's, so a backend can be unloaded with clients open:
//! their ioctls then fail with `ENODEV`.

// Test-only: a failed condition reports its location and makes the KUnit test return `EINVAL`.
// KUnit's `assert!` aborts the test thread without running destructors, which would leak fence
// contexts, devices and buffer objects (and make module exit wait forever); returning keeps the
// cleanup. Defined before the modules so that all of them can use it.
#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            kernel::pr_err!(
                "xaccel: test check failed at {}:{}: {}\n",
                file!(),
                line!(),
                stringify!($cond)
            );
            return Err(kernel::error::code::EINVAL);
        }
    };
}

pub mod backend;
mod bo_wait;
pub mod build;
mod context;
mod debugfs;
pub mod device;
mod driver;
mod engine_fdinfo;
mod execution;
pub mod fence;
mod file;
pub mod gem;
mod ioctl;
pub mod job_memory;
mod name;
pub mod pci;
mod query;
mod resv;
pub mod sched;
pub mod submission;
mod submit;
mod syncobj;
pub mod vm;

/// The common uAPI: a mirror of `uapi/drm/xaccel_accel.h`, shared with userspace.
#[path = "../uapi/rust/src/abi.rs"]
pub mod uapi;
mod uapi_bytes;

pub use backend::{
    Access, AddressKind, Backend, Capabilities, DeviceDesc, DmaRange, EngineClass, EngineDesc,
    ExportFallback, RegionBacking, RegionDesc, RegionKind, VendorItems, VmId,
};
pub use device::{AccelDevice, Registration};
pub use job_memory::JobMemory;
pub use submission::{BoDesc, MemRange, Submission};

use kernel::prelude::*;

module! {
    type: XaccelModule,
    name: "xaccel",
    authors: ["The xaccel developers"],
    description: "xaccel: cross-vendor accelerator framework core",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
    params: {
        sched_bench: bool {
            default: false,
            description: "Run the scheduler benchmarks at load (make bench)",
        },
    },
}

struct XaccelModule;

impl kernel::Module for XaccelModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        gem::shmem_fault::init_vm_ops();
        sched::init()?;
        if module_parameters::sched_bench.value() {
            sched::bench::run();
        }
        pr_info!(
            "xaccel core loaded, uAPI {}.{}, build {}\n",
            uapi::DRM_XACCEL_UAPI_MAJOR,
            uapi::DRM_XACCEL_UAPI_MINOR,
            build::BUILD_ID
        );
        Ok(Self)
    }
}

impl Drop for XaccelModule {
    fn drop(&mut self) {
        // Unsignalled fences still call into this module; signalled ones do not (see `fence`).
        sched::exit();
        fence::wait_until_idle();
        // Deferred releases of unmapped buffer objects run after their fences signalled.
        vm::wait_for_releases();
    }
}
