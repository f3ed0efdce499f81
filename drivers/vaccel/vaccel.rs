// SPDX-License-Identifier: GPL-2.0-only

//! vaccel: the software reference accelerator of xaccel.
//!
//! vaccel is to xaccel what vgem is to DRM: a backend with no hardware that any test kernel can
//! load. Each device is a faux device with its own `/dev/accel/accelN`, a set of compute engines
//! and two memory regions (system memory and a CPU-visible "device-local" region). Its engines
//! run an open, documented instruction set (Documentation/vaccel.rst): `isa` parses and checks
//! command buffers, `engine` compiles them at SUBMIT (`program`) and queues jobs, `exec` runs
//! them on the memory the core maps for each job. vaccel has no MMU: the core keeps its VM
//! mappings and resolves device addresses at SUBMIT. With `mmu=1` its devices declare one
//! instead, a software page table that checks every call the core makes (`mmu`), to test the
//! core's MMU path. With `local_hidden=1` the local region is declared not CPU-visible, to test
//! that the core refuses to map its buffer objects; `packet_latency_us` slows every packet down.
//! With `local_p2p=1` the local region is declared peer-to-peer (the core then hands its pages only
//! to importers that take peer-to-peer memory, as it would a BAR's) and the devices declare the
//! P2P capability; `local_fallback` says what exports do for the other importers (0: move the
//! buffer object to system memory, 1: refuse), to test both rules without hardware.
//!
//! Try it:
//!
//! ```text
//! modprobe vaccel devices=2 engines=4 local_mib=128
//! xaccel list
//! xaccel run --op copy --size 1048576 --count 100
//! ```

mod engine;
mod exec;
mod isa;
/// The instruction set, shared with userspace (`uapi/drm/vaccel_isa.h`).
#[path = "../../uapi/rust/src/vaccel_isa.rs"]
pub mod isa_abi;
mod mmu;
mod program;

use engine::Engine;
use kernel::{
    device, faux, new_mutex, prelude::*, str::CString, sync::Arc, sync::Mutex, time::Delta,
};
use mmu::PageTable;
use xaccel::{
    fence::Timestamp, sched::JobHandle, Access, Capabilities, DeviceDesc, DmaRange, EngineClass,
    EngineDesc, ExportFallback, RegionBacking, RegionDesc, RegionKind, Submission, VmId,
};

module! {
    type: VaccelModule,
    name: "vaccel",
    authors: ["The xaccel developers"],
    description: "vaccel: xaccel's software reference accelerator",
    license: "GPL",
    params: {
        devices: u32 {
            default: 2,
            description: "Number of vaccel devices (1-8)",
        },
        engines: u32 {
            default: 2,
            description: "Engines per device (1-16)",
        },
        local_mib: u32 {
            default: 64,
            description: "Size of the device-local memory region in MiB (1-4096)",
        },
        mmu: u32 {
            default: 0,
            description: "1: devices declare a software MMU that checks the core's page-table calls",
        },
        local_hidden: u32 {
            default: 0,
            description: "1: the device-local region is not CPU-visible (its BOs cannot be mapped)",
        },
        packet_latency_us: u32 {
            default: 0,
            description: "Artificial latency before each packet, in microseconds (0-100000)",
        },
        local_p2p: u32 {
            default: 0,
            description: "1: the local region is reachable peer-to-peer only (as a BAR); devices declare P2P",
        },
        local_fallback: u32 {
            default: 0,
            description: "Exports of local BOs to importers that cannot reach them: 0 migrate, 1 refuse",
        },
    },
}

/// The backend type.
struct Vaccel;

/// Per-device state: the engines and the software page table.
#[pin_data(PinnedDrop)]
struct VaccelDevice {
    index: u32,
    engines: KVec<Arc<Engine>>,
    /// `packet_latency_us`: with a latency, even a NOP takes time, so it is compiled in.
    packet_latency: Delta,
    /// The software page table, used with `mmu=1` only.
    #[pin]
    page_table: Mutex<PageTable>,
}

impl VaccelDevice {
    fn engines(params: &Params) -> Result<KVec<Arc<Engine>>> {
        let mut list = KVec::with_capacity(params.engines as usize, GFP_KERNEL)?;
        for _ in 0..params.engines {
            list.push(
                Engine::new(RING_CREDITS, params.packet_latency)?,
                GFP_KERNEL,
            )?;
        }
        Ok(list)
    }

    fn engine(&self, engine: u32) -> Option<&Arc<Engine>> {
        self.engines.get(engine as usize)
    }
}

#[pinned_drop]
impl PinnedDrop for VaccelDevice {
    fn drop(self: Pin<&mut Self>) {
        // The core stopped calling us (its rings shut down before our data drops); make sure
        // no engine work item of this module is still queued or running.
        for engine in self.engines.iter() {
            engine.stop();
        }
        xaccel::sched::flush();
    }
}

impl xaccel::Backend for Vaccel {
    const NAME: &'static CStr = c"vaccel";
    const DESC: &'static CStr = c"xaccel software reference accelerator";
    type Device = VaccelDevice;

    fn validate(dev: &VaccelDevice, submission: &mut Submission<'_>) -> Result<KVec<u8>> {
        engine::compile(submission, dev.packet_latency > Delta::ZERO)
    }

    fn run(dev: &VaccelDevice, engine: u32, job: JobHandle) {
        if let Some(engine) = dev.engine(engine) {
            engine.submit(job);
        }
    }

    fn reset_engine(dev: &VaccelDevice, engine: u32) -> Result {
        dev.engine(engine).ok_or(EINVAL)?.reset();
        Ok(())
    }

    fn set_deadline(dev: &VaccelDevice, engine: u32, deadline: Timestamp) -> Result {
        dev.engine(engine).ok_or(EINVAL)?.set_deadline(deadline);
        Ok(())
    }

    fn mmu_map(
        dev: &VaccelDevice,
        vm: VmId,
        va: u64,
        pages: &[DmaRange],
        access: Access,
    ) -> Result {
        dev.page_table.lock().map(vm, va, pages, access)
    }

    fn mmu_unmap(dev: &VaccelDevice, vm: VmId, va: u64, len: u64) {
        dev.page_table.lock().unmap(vm, va, len)
    }
}

/// Engine names, one per possible engine.
const ENGINE_NAMES: [&CStr; 16] = [
    c"compute0",
    c"compute1",
    c"compute2",
    c"compute3",
    c"compute4",
    c"compute5",
    c"compute6",
    c"compute7",
    c"compute8",
    c"compute9",
    c"compute10",
    c"compute11",
    c"compute12",
    c"compute13",
    c"compute14",
    c"compute15",
];

/// Longest `packet_latency_us`: 100 ms per packet.
const MAX_PACKET_LATENCY_US: u32 = 100_000;

/// Credits of each engine's ring: how many jobs it holds at once.
const RING_CREDITS: u32 = 64;

/// The device-wide VA window: the second 4 GiB up to 256 TiB.
const VA_RANGE: core::ops::Range<u64> = (1 << 32)..(1 << 48);

/// Validated module parameters.
struct Params {
    devices: u32,
    engines: u32,
    local_bytes: u64,
    local_cpu_visible: bool,
    local_p2p: bool,
    local_fallback: ExportFallback,
    mmu: bool,
    packet_latency: Delta,
}

impl Params {
    fn read() -> Result<Self> {
        let devices = module_parameters::devices.value();
        let engines = module_parameters::engines.value();
        let local_mib = module_parameters::local_mib.value();
        let mmu = module_parameters::mmu.value();
        let local_hidden = module_parameters::local_hidden.value();
        let latency_us = module_parameters::packet_latency_us.value();
        let local_p2p = module_parameters::local_p2p.value();
        let local_fallback = module_parameters::local_fallback.value();
        if !(1..=8).contains(&devices)
            || !(1..=16).contains(&engines)
            || !(1..=4096).contains(&local_mib)
            || mmu > 1
            || local_hidden > 1
            || latency_us > MAX_PACKET_LATENCY_US
            || local_p2p > 1
            || local_fallback > 1
        {
            pr_err!(
                "vaccel: parameters out of range (devices 1-8, engines 1-16, local_mib 1-4096, \
                 mmu, local_hidden, local_p2p, local_fallback 0-1, packet_latency_us 0-100000)\n"
            );
            return Err(EINVAL);
        }
        Ok(Self {
            devices,
            engines,
            local_bytes: u64::from(local_mib) << 20,
            local_cpu_visible: local_hidden == 0,
            local_p2p: local_p2p == 1,
            local_fallback: if local_fallback == 1 {
                ExportFallback::Refuse
            } else {
                ExportFallback::Migrate
            },
            mmu: mmu == 1,
            packet_latency: Delta::from_micros(i64::from(latency_us)),
        })
    }

    fn describe(&self) -> Result<DeviceDesc> {
        let mut engines = KVec::new();
        for name in ENGINE_NAMES.iter().take(self.engines as usize) {
            engines.push(
                EngineDesc {
                    name,
                    class: EngineClass::Compute,
                    ring_credits: RING_CREDITS,
                    nop: &isa::NOP,
                },
                GFP_KERNEL,
            )?;
        }
        let mut regions = KVec::new();
        regions.push(
            RegionDesc {
                name: c"system",
                kind: RegionKind::System,
                size: system_memory_limit(),
                cpu_visible: true,
                p2p: false,
                backing: RegionBacking::Shmem,
                fallback: ExportFallback::Refuse,
            },
            GFP_KERNEL,
        )?;
        regions.push(
            RegionDesc {
                name: c"local",
                kind: RegionKind::Device,
                size: self.local_bytes,
                cpu_visible: self.local_cpu_visible,
                p2p: self.local_p2p,
                // A software device: the core allocates the region as host pages.
                backing: RegionBacking::CorePages,
                fallback: self.local_fallback,
            },
            GFP_KERNEL,
        )?;
        Ok(DeviceDesc {
            engines,
            regions,
            capabilities: Capabilities {
                mmu: self.mmu,
                p2p: self.local_p2p,
            },
            va_range: VA_RANGE,
        })
    }
}

/// How much system memory one vaccel device may allocate: 1 GiB, a test-device budget.
fn system_memory_limit() -> u64 {
    1 << 30
}

/// One device: its accel registration, then the faux device it hangs off.
///
/// Field order is drop order: the accel device is unplugged before its parent goes away.
struct Instance {
    _accel: xaccel::Registration<Vaccel>,
    _faux: faux::Registration,
}

struct VaccelModule {
    instances: KVec<Instance>,
}

impl kernel::Module for VaccelModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = Params::read()?;
        let desc = params.describe()?;
        let mut instances = KVec::with_capacity(params.devices as usize, GFP_KERNEL)?;
        for index in 0..params.devices {
            let name = CString::try_from_fmt(fmt!("vaccel.{index}"))?;
            let faux = faux::Registration::new(&name, None)?;
            let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
            let engines = VaccelDevice::engines(&params)?;
            let accel = xaccel::Registration::<Vaccel>::new(
                parent,
                &desc,
                try_pin_init!(VaccelDevice {
                    index,
                    engines,
                    packet_latency: params.packet_latency,
                    page_table <- new_mutex!(PageTable::new(*index, params.mmu)),
                }? Error),
            )?;
            pr_debug!("vaccel.{} is ready\n", accel.data().index);
            instances.push(
                Instance {
                    _accel: accel,
                    _faux: faux,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { instances })
    }
}

impl Drop for VaccelModule {
    fn drop(&mut self) {
        // Unplug the devices in reverse order of creation.
        while self.instances.pop().is_some() {}
    }
}
