// SPDX-License-Identifier: GPL-2.0-only

//! xaccel_null: the smallest complete xaccel backend, the one to start from.
//!
//! One device with no hardware behind it (a faux device), one engine that finishes every job
//! the moment it starts, one region of system memory, one command (NOP) and one vendor query.
//! Everything else a device needs (the accel node, buffer objects, contexts, SUBMIT, fences,
//! the scheduler, timeouts, fdinfo, unplug with clients open) is the core's.
//!
//! The command format and the vendor query are this backend's uAPI, `xaccel_null_accel.h`
//! next to this file. It builds outside any kernel tree, against the xaccel SDK (`Kbuild`);
//! `Documentation/writing-a-backend.rst` walks through it line by line.
//!
//! Try it:
//!
//! ```text
//! modprobe xaccel_null
//! xaccel info
//! ```

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{device, faux, prelude::*};
use xaccel::{
    sched::JobHandle, Capabilities, DeviceDesc, EngineClass, EngineDesc, ExportFallback,
    RegionBacking, RegionDesc, RegionKind, Submission, VendorItems,
};

module! {
    type: NullModule,
    name: "xaccel_null",
    authors: ["The xaccel developers"],
    description: "xaccel_null: the minimal sample backend of xaccel",
    license: "GPL",
}

// The uAPI of this backend, as `xaccel_null_accel.h` declares it. A command buffer is a
// sequence of 8-byte commands, each a magic word and an opcode, little-endian.

/// `XACCEL_NULL_MAGIC`: the first word of every command ("NULL" in memory), so that a
/// buffer meant for another device is refused rather than run.
const MAGIC: u32 = u32::from_le_bytes(*b"NULL");
/// `XACCEL_NULL_OP_NOP`: the only opcode; it does nothing.
const OP_NOP: u32 = 0;
/// The size of one command.
const COMMAND_SIZE: usize = 8;
/// The most commands one job may hold: every limit userspace can reach is explicit.
const MAX_COMMANDS: usize = 4096;
/// The NOP command as userspace writes it, and the engine's NOP (`EngineDesc::nop`).
const NOP: [u8; COMMAND_SIZE] = command(OP_NOP);

/// The bytes of the command with `opcode`.
const fn command(opcode: u32) -> [u8; COMMAND_SIZE] {
    let (m, o) = (MAGIC.to_le_bytes(), opcode.to_le_bytes());
    [m[0], m[1], m[2], m[3], o[0], o[1], o[2], o[3]]
}

/// `XACCEL_NULL_QUERY_INFO`: the vendor query type answered with one
/// `struct xaccel_null_info`.
const QUERY_INFO: u32 = 0;
/// `XACCEL_NULL_VERSION`: the version of this backend's uAPI, reported by the vendor query.
const VERSION: u32 = 1;
/// The size of `struct xaccel_null_info`: `__u32 version, __u32 pad, __u64 jobs_done`.
const INFO_SIZE: usize = 16;

/// The backend type: `xaccel::Backend` is implemented on it, and it names this backend to the
/// core (`Registration::<Null>`). It has no data of its own; per-device state is `NullDevice`.
struct Null;

/// Per-device state. The core owns it from registration on, hands it to every callback, and
/// drops it when the device is unplugged.
struct NullDevice {
    /// Jobs completed, for the vendor query. Atomic because `run` is called with a spinlock
    /// held and interrupts off, where a `Mutex` could not be taken.
    jobs_done: AtomicU64,
}

impl xaccel::Backend for Null {
    // What `DRM_IOCTL_VERSION` and QUERY DEVICE report; at most 15 bytes.
    const NAME: &'static CStr = c"xaccel_null";
    const DESC: &'static CStr = c"xaccel minimal sample backend";
    type Device = NullDevice;

    /// Checks a command buffer at SUBMIT, before its job is queued: here, that it is a whole
    /// number of NOPs. Whatever this returns is what `run` gets as the job's payload; the
    /// core already copied the buffer into the kernel, so it cannot change under us.
    fn validate(_dev: &NullDevice, submission: &mut Submission<'_>) -> Result<KVec<u8>> {
        let commands = submission.commands();
        if commands.is_empty() || commands.len() % COMMAND_SIZE != 0 {
            return Err(EINVAL);
        }
        if commands.len() / COMMAND_SIZE > MAX_COMMANDS {
            return Err(E2BIG);
        }
        // NOP is the only command, so a command is valid if it is NOP, byte for byte. A
        // backend with more opcodes decodes each command here and checks its operands.
        if commands
            .chunks_exact(COMMAND_SIZE)
            .any(|command| command != NOP)
        {
            return Err(EINVAL);
        }
        // A NOP needs nothing at run time: an empty payload, so the job holds no copy.
        Ok(KVec::new())
    }

    /// Starts a job. A real engine would write the job to its ring and complete it from its
    /// interrupt handler; this one has nothing to do, so it completes the job at once, which
    /// `run` may do. No sleeping here: `run` is called with the ring's spinlock held.
    fn run(dev: &NullDevice, _engine: u32, job: JobHandle) {
        dev.jobs_done.fetch_add(1, Ordering::Relaxed);
        job.complete(Ok(()));
    }

    /// Answers `DRM_IOCTL_XACCEL_VENDOR_QUERY`: the core validates the ioctl like QUERY and
    /// copies the items out; the backend only lays them out as its uAPI header says.
    fn vendor_query(dev: &NullDevice, kind: u32) -> Result<VendorItems> {
        if kind != QUERY_INFO {
            return Err(EINVAL);
        }
        let mut bytes = KVec::with_capacity(INFO_SIZE, GFP_KERNEL)?;
        bytes.extend_from_slice(&VERSION.to_le_bytes(), GFP_KERNEL)?;
        bytes.extend_from_slice(&0u32.to_le_bytes(), GFP_KERNEL)?;
        let jobs_done = dev.jobs_done.load(Ordering::Relaxed);
        bytes.extend_from_slice(&jobs_done.to_le_bytes(), GFP_KERNEL)?;
        Ok(VendorItems {
            item_size: INFO_SIZE,
            bytes,
        })
    }

    // Everything else keeps the trait's defaults: no engine or device reset (a job that never
    // completes would time out and fail), deadline hints ignored, and no MMU (the core keeps
    // the VM mappings itself).
}

/// The device as the core sees it: what QUERY reports and what the core sets up.
fn describe() -> Result<DeviceDesc> {
    let mut engines = KVec::new();
    engines.push(
        EngineDesc {
            name: c"null0",
            class: EngineClass::Compute,
            // How many jobs the engine holds at once; with `run` completing them at once, one
            // would do, a few let the scheduler batch.
            ring_credits: 16,
            // A job that does nothing on this engine, through the real `validate` and `run`:
            // generic userspace (the conformance suite) reads it with QUERY NOPS to run jobs.
            nop: &NOP,
        },
        GFP_KERNEL,
    )?;
    let mut regions = KVec::new();
    regions.push(
        RegionDesc {
            name: c"system",
            kind: RegionKind::System,
            // The most this device's buffer objects may take of system memory.
            size: 256 << 20,
            cpu_visible: true,
            p2p: false,
            // Shmem-backed buffer objects, allocated by the core on first use.
            backing: RegionBacking::Shmem,
            // Only for device memory; a system region's exports are its pages.
            fallback: ExportFallback::Refuse,
        },
        GFP_KERNEL,
    )?;
    Ok(DeviceDesc {
        engines,
        regions,
        // No MMU, no device memory to share peer-to-peer.
        capabilities: Capabilities::default(),
        // The device VA window for VM_BIND: a VM is only bookkeeping here.
        va_range: (1 << 32)..(1 << 40),
    })
}

/// The module's state: the device, then the faux device it hangs off.
///
/// Fields drop in declaration order: the accel device is unplugged (every client then gets
/// `ENODEV`) before its parent goes away.
struct NullModule {
    _accel: xaccel::Registration<Null>,
    _faux: faux::Registration,
}

impl kernel::Module for NullModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // A faux device is a device without a bus: the parent the accel device needs.
        let faux = faux::Registration::new(c"xaccel_null", None)?;
        let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
        // Registers `/dev/accel/accelN`; dropping the registration unplugs it. The device
        // state is given as an initializer: a plain value in `Ok` here, `try_pin_init!` for
        // state that must not move (a `Mutex`, say).
        let accel = xaccel::Registration::<Null>::new(
            parent,
            &describe()?,
            Ok(NullDevice {
                jobs_done: AtomicU64::new(0),
            }),
        )?;
        Ok(Self {
            _accel: accel,
            _faux: faux,
        })
    }
}
