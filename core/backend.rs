// SPDX-License-Identifier: GPL-2.0-only

//! The backend trait and the device description a backend hands to the core.
//!
//! A backend is a vendor module: `vaccel` (software), `hlx` (a habanalabs-class ASIC), `edu`
//! (QEMU's edu PCI device). It describes each device once, at registration, and the core turns
//! that description into the uAPI (`DRM_IOCTL_VERSION`, `DRM_IOCTL_XACCEL_QUERY`). What varies by
//! hardware is declared here as data where it can be (engines, memory regions, capabilities, the
//! device VA window) and becomes trait methods only where it must run code: MMU page tables
//! ([`Backend::mmu_map`], [`Backend::mmu_unmap`]), command validation against a [`Submission`],
//! job execution (with the job's memory mapped by the core) and reset (all optional, with
//! defaults that refuse). Nothing here is `unsafe`: a backend never touches `bindings`.

use crate::fence::Timestamp;
use crate::gem::{BarMemory, DeviceMemory};
use crate::name::Name;
use crate::sched::JobHandle;
use crate::submission::Submission;
use crate::uapi;
use core::{ops::Range, ptr::NonNull};
use kernel::{device, prelude::*};

/// A vendor backend: one implementation per backend module.
///
/// # Examples
///
/// ```ignore
/// struct MyAccel;
///
/// impl xaccel::Backend for MyAccel {
///     const NAME: &'static CStr = c"myaccel";
///     const DESC: &'static CStr = c"My accelerator";
///     type Device = MyDeviceState;
/// }
///
/// // In probe, with `parent: &device::Device<Bound>`:
/// let reg = xaccel::Registration::<MyAccel>::new(parent, desc, MyDeviceState::new())?;
/// ```
pub trait Backend: Send + Sync + 'static {
    /// Driver name reported by `DRM_IOCTL_VERSION` and the DEVICE query; at most 15 bytes.
    const NAME: &'static CStr;
    /// One-line description reported by `DRM_IOCTL_VERSION`.
    const DESC: &'static CStr;
    /// Per-device backend state.
    ///
    /// The core owns it from registration on and drops it when the device is unplugged, after
    /// every ioctl that could reach it has returned and before [`Registration`] drop returns.
    ///
    /// [`Registration`]: crate::Registration
    type Device: Send + Sync + 'static;

    /// Checks a submission before its job is queued (SUBMIT), and returns the kernel-owned
    /// copy of the command buffer the engine will run: the bytes as given, or a parsed or
    /// patched form (like habanalabs' CS parser). The errno of a rejected buffer reaches
    /// userspace.
    ///
    /// [`Submission`] gives the engine, the command buffer, the BO list (each entry's size,
    /// access and placement) and, when the submit names a VM, [`Submission::resolve`] for
    /// device-VA operands. Memory is named by slots: BO-list indices, then the slots `resolve`
    /// returns. Once validated, the core maps every slot for the CPU for the job's lifetime
    /// ([`JobHandle::memory`]), so software engines need no mapping of their own.
    ///
    /// Runs in the submitting process, may sleep. A backend that does not implement it does
    /// not execute jobs: SUBMIT fails with `EOPNOTSUPP`.
    ///
    /// [`JobHandle::memory`]: crate::sched::JobHandle::memory
    fn validate(dev: &Self::Device, submission: &mut Submission<'_>) -> Result<KVec<u8>> {
        let _ = (dev, submission);
        Err(EOPNOTSUPP)
    }

    /// Starts a job on `engine` and returns at once: keep the handle and complete it when the
    /// job finishes ([`JobHandle::complete`], from any context, like an interrupt handler).
    /// Jobs given to one engine complete in the order they were given. The handle's payload
    /// is what [`Backend::validate`] returned.
    ///
    /// Called with the ring's spinlock held (interrupts off) inside a fence signalling section,
    /// from whatever context runs the ring's pass: the submitter's (SUBMIT), a job completion's
    /// (an interrupt handler, if the backend completes from one), or the core's work item. So:
    /// no sleeping, no allocation but `GFP_ATOMIC`, interrupt-safe locks only. Completing the
    /// job inside `run` (a job that takes no time) is allowed.
    ///
    /// [`JobHandle::complete`]: crate::sched::JobHandle::complete
    fn run(dev: &Self::Device, engine: u32, job: JobHandle) {
        let _ = (dev, engine);
        // Dropping the handle completes the job with `ECANCELED`.
        drop(job);
    }

    /// Resets `engine` after a job timed out. Once it returns `Ok`, the engine has forgotten
    /// every job it held (their handles are stale: completing or dropping them does nothing)
    /// and the core hands the innocent ones to it again.
    ///
    /// Called from the core's work item, in process context, without the ring's lock, inside a
    /// fence signalling section: it may sleep (wait for the hardware to stop, say), but not
    /// allocate with `GFP_KERNEL` or wait for fences. Meanwhile nothing is dispatched to the
    /// engine, and completions of the jobs it held do nothing. Resets are never concurrent
    /// with each other on one engine.
    fn reset_engine(dev: &Self::Device, engine: u32) -> Result {
        let _ = (dev, engine);
        Err(EOPNOTSUPP)
    }

    /// Resets the whole device when an engine reset is unsupported or failed. Same rules as
    /// [`Backend::reset_engine`]; nothing is dispatched to any engine of the device meanwhile.
    fn reset_device(dev: &Self::Device) -> Result {
        let _ = dev;
        Err(EOPNOTSUPP)
    }

    /// Someone would like the work queued on `engine` finished by `deadline` (a
    /// `CLOCK_MONOTONIC` time, maybe already past: "as soon as possible"): a hint from
    /// `dma_fence_set_deadline()` on a job's finished fence (a compositor, a syncobj wait with a
    /// deadline, `SYNC_IOC_SET_DEADLINE` on an exported sync_file). The backend may raise clocks
    /// or favour the engine; it returns `Ok` if it took the hint into account (debugfs counts
    /// those). The core delivers the earliest pending hint from its ring's work item, never in
    /// the waiter's context. Same context rules as [`Backend::run`]. The default ignores hints.
    fn set_deadline(dev: &Self::Device, engine: u32, deadline: Timestamp) -> Result {
        let _ = (dev, engine, deadline);
        Err(EOPNOTSUPP)
    }

    /// Maps `[va, va + len)` of the device VM `vm`, where `len` is the sum of the lengths of
    /// `pages`, to the addresses in `pages`, in order, with `access` rights. Each range says
    /// whether it is host memory mapped for DMA or the device's own memory
    /// ([`AddressKind`]): the page-table entries must tell them apart.
    ///
    /// Called by `VM_BIND` for devices that declare [`Capabilities::mmu`] (never for the
    /// others), in process context (it may sleep and allocate), with the VM's lock held (and,
    /// for an import mapped peer-to-peer, the dma-buf's reservation lock): calls
    /// for one VM never overlap, and `[va, va + len)` is inside the device's VA window and
    /// unmapped. The addresses are those of a buffer object's memory: its pages mapped for DMA by
    /// the backend's device, or its blocks of one of the device's [`RegionBacking::PciBar`]
    /// regions as device addresses; each range is page-aligned and a multiple of the page size,
    /// and one call has ranges of one kind. On error the
    /// bind fails with that error, and the backend must leave nothing of the range mapped.
    ///
    /// The default refuses (`EOPNOTSUPP`): a backend declaring an MMU implements both methods.
    fn mmu_map(
        _dev: &Self::Device,
        _vm: VmId,
        _va: u64,
        _pages: &[DmaRange],
        _access: Access,
    ) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Unmaps `[va, va + len)` of the device VM `vm`, which an earlier [`Backend::mmu_map`]
    /// mapped (possibly as part of a larger range, possibly over several calls).
    ///
    /// Called by `VM_UNBIND`, `VM_DESTROY` and when a file with VMs is closed, and when the
    /// exporter of an import mapped peer-to-peer revokes it (from its `invalidate_mappings`,
    /// under the dma-buf's reservation lock; the range is then not unmapped again), in process
    /// context, with the VM's lock held, while the device is registered. It cannot fail: once it
    /// returns, the device must no longer reach the range (TLBs invalidated). The pages stay
    /// allocated until the jobs that may still use them are done; the core sees to that.
    fn mmu_unmap(_dev: &Self::Device, _vm: VmId, _va: u64, _len: u64) {}

    /// Forgets the device VM `vm` for good: it was destroyed (VM_DESTROY, or its file closed),
    /// every range was unmapped with [`Backend::mmu_unmap`], and every job that could run with
    /// its translations (an address space a job was validated against) is done. The backend
    /// may now give what it kept for the VM (an address space id, page tables) to other VMs.
    ///
    /// Called once per VM that was created while the device was registered, in process context,
    /// while the device is registered (a VM released after unplug is not reported: the backend's
    /// data is gone). It cannot fail.
    fn mmu_release(_dev: &Self::Device, _vm: VmId) {}

    /// Answers `DRM_IOCTL_XACCEL_VENDOR_QUERY` of type `kind` (the backend's own query types,
    /// documented in its uAPI header) with its items. The core validates the ioctl exactly like
    /// QUERY and copies the items out.
    ///
    /// Called in process context while the device is registered; may sleep and allocate. The
    /// default knows no type: `EINVAL`.
    fn vendor_query(_dev: &Self::Device, _kind: u32) -> Result<VendorItems> {
        Err(EINVAL)
    }
}

/// The answer to a vendor query: `bytes` holds the items back to back, each `item_size` bytes
/// (at least 1), as the backend's uAPI header lays them out.
pub struct VendorItems {
    /// Size of one item.
    pub item_size: usize,
    /// The items.
    pub bytes: KVec<u8>,
}

/// The core's non-generic view of [`Backend::vendor_query`] (see [`MmuOps`] for why).
pub(crate) trait VendorOps: Send + Sync {
    /// [`Backend::vendor_query`].
    fn query(&self, kind: u32) -> Result<VendorItems>;
}

impl<B: Backend> VendorOps for BackendDevice<B> {
    fn query(&self, kind: u32) -> Result<VendorItems> {
        B::vendor_query(&self.0, kind)
    }
}

/// Names one device VM to its backend: unique among the VMs of the running core, never reused.
pub type VmId = u64;

/// Device-visible addresses of a piece of memory, as the backend's device reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaRange {
    /// The first address, of the kind `kind` says.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// What `addr` is.
    pub kind: AddressKind,
}

/// What the addresses of a [`DmaRange`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    /// DMA addresses of host memory (or of a peer's memory), mapped for the backend's device:
    /// system, userptr and imported objects, and device-memory objects of core-allocated pages
    /// or migrated to system memory.
    Host,
    /// Device addresses of the device's own memory: a [`RegionBacking::PciBar`] region's
    /// `device_base` plus the offset in the region. The device reaches them without leaving
    /// the card.
    DeviceLocal,
}

/// What the device may do through a mapping; mirrors `DRM_XACCEL_VM_BIND_READ_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only.
    ReadOnly,
    /// Reads and writes.
    ReadWrite,
}

impl Access {
    /// Whether writes are allowed.
    pub fn writable(self) -> bool {
        self == Self::ReadWrite
    }
}

/// The core's non-generic view of a backend's MMU callbacks, through a `dyn` pointer.
///
/// Implemented for every backend by [`BackendDevice`]; the generic code (and its vtable) is
/// compiled into the backend module, so the core calls it only while the device is registered
/// (see `device::Plugged::mmu`).
pub(crate) trait MmuOps: Send + Sync {
    /// [`Backend::mmu_map`].
    fn map(&self, vm: VmId, va: u64, pages: &[DmaRange], access: Access) -> Result;
    /// [`Backend::mmu_unmap`].
    fn unmap(&self, vm: VmId, va: u64, len: u64);
    /// [`Backend::mmu_release`].
    fn release(&self, vm: VmId);
}

/// A backend's per-device data, seen as the [`MmuOps`] of its backend.
#[repr(transparent)]
pub(crate) struct BackendDevice<B: Backend>(B::Device);

impl<B: Backend> BackendDevice<B> {
    /// `data` as the [`MmuOps`] of backend `B`: a pointer valid as long as `data` is.
    pub(crate) fn mmu_ops(data: &B::Device) -> NonNull<dyn MmuOps> {
        // `BackendDevice<B>` is a transparent wrapper of `B::Device`: same address, same layout.
        let ops: NonNull<Self> = NonNull::from(data).cast();
        ops
    }

    /// `data` as the [`VendorOps`] of backend `B`: a pointer valid as long as `data` is.
    pub(crate) fn vendor_ops(data: &B::Device) -> NonNull<dyn VendorOps> {
        // As in `mmu_ops`.
        let ops: NonNull<Self> = NonNull::from(data).cast();
        ops
    }
}

impl<B: Backend> MmuOps for BackendDevice<B> {
    fn map(&self, vm: VmId, va: u64, pages: &[DmaRange], access: Access) -> Result {
        B::mmu_map(&self.0, vm, va, pages, access)
    }

    fn unmap(&self, vm: VmId, va: u64, len: u64) {
        B::mmu_unmap(&self.0, vm, va, len)
    }

    fn release(&self, vm: VmId) {
        B::mmu_release(&self.0, vm)
    }
}

/// What an engine does; mirrors `enum drm_xaccel_engine_class`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EngineClass {
    /// Runs compute programs.
    Compute = uapi::DRM_XACCEL_ENGINE_COMPUTE,
    /// Moves and fills memory.
    Copy = uapi::DRM_XACCEL_ENGINE_COPY,
    /// Moves memory between host and device.
    Dma = uapi::DRM_XACCEL_ENGINE_DMA,
}

/// One engine of a device, with its hardware ring.
pub struct EngineDesc {
    /// Shown in QUERY; at most 15 bytes are kept.
    pub name: &'static CStr,
    /// What the engine runs.
    pub class: EngineClass,
    /// How much work the engine's ring holds at once, in credits (at least 1).
    pub ring_credits: u32,
    /// The command buffer of a job that does nothing on this engine, valid with any BO list and
    /// with or without a VM; empty if the engine has none. At most `DRM_XACCEL_NOP_MAX` bytes.
    ///
    /// Userspace reads it with `DRM_XACCEL_QUERY_NOPS` to run jobs without knowing the engine's
    /// command format (the conformance suite, `xaccel-conformance`), so it must go through the
    /// backend's real [`Backend::validate`] and [`Backend::run`] paths like any other job.
    pub nop: &'static [u8],
}

/// Where a memory region lives; mirrors `enum drm_xaccel_region_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RegionKind {
    /// Host RAM.
    System = uapi::DRM_XACCEL_REGION_SYSTEM,
    /// Device-local memory (HBM, VRAM).
    Device = uapi::DRM_XACCEL_REGION_DEVICE,
}

/// One memory region of a device.
pub struct RegionDesc {
    /// Shown in QUERY; at most 15 bytes are kept.
    pub name: &'static CStr,
    /// Host or device memory.
    pub kind: RegionKind,
    /// Size in bytes; for system memory, the most the device may allocate; for device memory,
    /// the region's size, a nonzero multiple of the page size.
    pub size: u64,
    /// The CPU can map the region.
    pub cpu_visible: bool,
    /// PCI peer-to-peer transfers can target the region. For a device-memory region, dma-buf
    /// importers whose attachments allow peer-to-peer get its memory directly.
    pub p2p: bool,
    /// What the core backs the region's buffer objects with.
    pub backing: RegionBacking,
    /// What a dma-buf export of a device-memory buffer object does for an importer that cannot
    /// reach the region (ignored for system memory).
    pub fallback: ExportFallback,
}

/// What happens when a dma-buf importer cannot reach a device-memory region directly (not
/// peer-to-peer, or not at all): see `Documentation/memory.rst`, "Exporting device memory".
///
/// [`RegionBacking::CorePages`] are host pages that every importer reaches, unless the region
/// is declared [`RegionDesc::p2p`]: then the core treats them as device memory that only
/// peer-to-peer importers reach, so that both paths can be tested without hardware. A
/// [`RegionBacking::PciBar`] region is reached only by peer-to-peer importers that
/// `pci_p2pdma_distance()` finds a path to, and only if it is declared `p2p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFallback {
    /// The buffer object moves to system memory (for good) when such an importer attaches,
    /// unless the memory is pinned or mapped for the device (`EBUSY`).
    Migrate,
    /// The attach is refused with `EOPNOTSUPP`.
    Refuse,
}

/// What backs the buffer objects of a region; the core allocates and maps it, so backends
/// declare memory without touching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionBacking {
    /// A system-memory region: shmem files, one per buffer object, allocated on first use.
    Shmem,
    /// A device-memory region whose memory the core allocates itself, as host pages, when the
    /// device registers: for software devices (vaccel), so device memory is real memory. The
    /// region's `gpu_buddy` allocator hands out blocks of these pages.
    CorePages,
    /// A device-memory region behind a memory BAR of the PCI device the backend registers
    /// (the `parent` of [`Registration::new`], whose BARs its driver claimed with
    /// [`crate::pci::enable`]): [`RegionDesc::size`] bytes from byte `offset` of BAR `bar`.
    ///
    /// The region's `gpu_buddy` allocator hands out contiguous, zeroed ranges of it; the core
    /// maps them for the CPU write-combined, reports their device address in `BO_INFO` and
    /// [`BoDesc::device_addr`], binds them in VMs as [`AddressKind::DeviceLocal`] ranges and
    /// gives their PCI bus addresses to dma-buf importers that reach the BAR peer-to-peer
    /// (`Documentation/memory.rst`, "Device memory behind a PCI BAR").
    ///
    /// [`Registration::new`]: crate::Registration::new
    /// [`BoDesc::device_addr`]: crate::BoDesc::device_addr
    PciBar {
        /// The BAR index (0-5).
        bar: u32,
        /// Where the region starts in the BAR, a multiple of the page size.
        offset: u64,
        /// The device address of the region's first byte, as the backend's device (and its
        /// command buffers) name device memory.
        device_base: u64,
    },
}

/// Device capabilities; mirrors `DRM_XACCEL_CAP_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The device translates addresses with its own MMU.
    pub mmu: bool,
    /// Device memory can be exported peer-to-peer.
    pub p2p: bool,
}

impl Capabilities {
    /// The uAPI bit mask.
    pub fn bits(self) -> u64 {
        let mut bits = 0;
        if self.mmu {
            bits |= uapi::DRM_XACCEL_CAP_MMU;
        }
        if self.p2p {
            bits |= uapi::DRM_XACCEL_CAP_P2P;
        }
        bits
    }
}

/// Everything a backend declares about one device at registration.
pub struct DeviceDesc {
    /// The engines, in id order.
    pub engines: KVec<EngineDesc>,
    /// The memory regions, in id order; the first system region is the default placement.
    pub regions: KVec<RegionDesc>,
    /// What the device can do.
    pub capabilities: Capabilities,
    /// The device virtual address window, empty if the device has no VM.
    pub va_range: Range<u64>,
}

/// An engine as the core keeps it: names copied out of the backend module.
pub(crate) struct Engine {
    pub(crate) name: Name<16>,
    pub(crate) class: EngineClass,
    pub(crate) ring_credits: u32,
    /// The engine's NOP ([`EngineDesc::nop`]), copied: its first `nop_len` bytes.
    pub(crate) nop: [u8; NOP_MAX],
    /// Length of the NOP in `nop`, 0 if the engine has none.
    pub(crate) nop_len: u32,
}

/// A region as the core keeps it.
pub(crate) struct Region {
    pub(crate) name: Name<16>,
    pub(crate) kind: RegionKind,
    pub(crate) size: u64,
    pub(crate) flags: u64,
    /// The memory and allocator of a device-memory region, `None` for system memory.
    pub(crate) memory: Option<DeviceMemory>,
    /// What exports do for importers that cannot reach the region.
    pub(crate) fallback: ExportFallback,
}

/// The validated, core-owned form of a [`DeviceDesc`].
pub(crate) struct DeviceLayout {
    pub(crate) engines: KVec<Engine>,
    pub(crate) regions: KVec<Region>,
    pub(crate) capabilities: Capabilities,
    pub(crate) va_range: Range<u64>,
}

/// Most engines or regions one device may declare.
const MAX_ITEMS: usize = 64;

/// Longest engine NOP, `DRM_XACCEL_NOP_MAX`.
pub(crate) const NOP_MAX: usize = uapi::DRM_XACCEL_NOP_MAX as usize;

impl DeviceLayout {
    /// Checks a backend's description and copies it into core memory.
    ///
    /// Returns `EINVAL` for an empty engine or region list, more than 64 of either, an engine
    /// with no ring credits or a NOP over `DRM_XACCEL_NOP_MAX` bytes, no system region, a reversed VA window, or a region whose backing
    /// does not suit its kind or whose device memory is empty or not a multiple of the page
    /// size, or a BAR region outside a memory BAR of `parent` (or `parent` not a PCI device);
    /// `ENOMEM` if the core cannot allocate a region's backing.
    pub(crate) fn new(desc: &DeviceDesc, parent: &device::Device<device::Bound>) -> Result<Self> {
        let engines_ok = !desc.engines.is_empty() && desc.engines.len() <= MAX_ITEMS;
        let regions_ok = !desc.regions.is_empty() && desc.regions.len() <= MAX_ITEMS;
        let has_system = desc.regions.iter().any(|r| r.kind == RegionKind::System);
        let credits_ok = desc.engines.iter().all(|e| e.ring_credits > 0);
        let nops_ok = desc.engines.iter().all(|e| e.nop.len() <= NOP_MAX);
        if !engines_ok || !regions_ok || !has_system || !credits_ok || !nops_ok {
            return Err(EINVAL);
        }
        if desc.va_range.start > desc.va_range.end {
            return Err(EINVAL);
        }

        let mut engines = KVec::with_capacity(desc.engines.len(), GFP_KERNEL)?;
        for e in desc.engines.iter() {
            let mut nop = [0u8; NOP_MAX];
            nop[..e.nop.len()].copy_from_slice(e.nop);
            engines.push(
                Engine {
                    name: Name::new(e.name),
                    class: e.class,
                    ring_credits: e.ring_credits,
                    nop,
                    nop_len: e.nop.len() as u32,
                },
                GFP_KERNEL,
            )?;
        }
        let mut regions = KVec::with_capacity(desc.regions.len(), GFP_KERNEL)?;
        for r in desc.regions.iter() {
            let mut flags = 0;
            if r.cpu_visible {
                flags |= uapi::DRM_XACCEL_REGION_CPU_VISIBLE;
            }
            if r.p2p {
                flags |= uapi::DRM_XACCEL_REGION_P2P;
            }
            let memory = match (r.kind, r.backing) {
                (RegionKind::System, RegionBacking::Shmem) => None,
                (RegionKind::Device, RegionBacking::CorePages) => {
                    Some(DeviceMemory::new(r.size, r.cpu_visible, r.p2p)?)
                }
                (
                    RegionKind::Device,
                    RegionBacking::PciBar {
                        bar,
                        offset,
                        device_base,
                    },
                ) => {
                    let memory = BarMemory::new(parent, bar, offset, r.size, device_base)?;
                    Some(DeviceMemory::new_bar(memory, r.size, r.cpu_visible, r.p2p)?)
                }
                _ => return Err(EINVAL),
            };
            regions.push(
                Region {
                    name: Name::new(r.name),
                    kind: r.kind,
                    size: r.size,
                    flags,
                    memory,
                    fallback: r.fallback,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            engines,
            regions,
            capabilities: desc.capabilities,
            va_range: desc.va_range.clone(),
        })
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_backend_mmu)]
mod tests {
    use super::*;
    use kernel::{new_mutex, sync::Mutex};

    /// A backend whose "page table" records the calls it gets.
    struct Recorder;

    #[pin_data]
    struct RecorderDevice {
        #[pin]
        calls: Mutex<KVec<(VmId, u64, u64, bool)>>,
    }

    impl Backend for Recorder {
        const NAME: &'static CStr = c"recorder";
        const DESC: &'static CStr = c"MMU callback recorder";
        type Device = Pin<KBox<RecorderDevice>>;

        fn mmu_map(
            dev: &Self::Device,
            vm: VmId,
            va: u64,
            pages: &[DmaRange],
            access: Access,
        ) -> Result {
            if pages.is_empty() {
                return Err(EINVAL);
            }
            let len = pages.iter().map(|p| p.len).sum();
            dev.calls
                .lock()
                .push((vm, va, len, access.writable()), GFP_KERNEL)?;
            Ok(())
        }

        fn mmu_unmap(dev: &Self::Device, vm: VmId, va: u64, len: u64) {
            let _ = dev.calls.lock().push((vm, va, len, false), GFP_KERNEL);
        }
    }

    /// A backend that declares nothing: the defaults.
    struct Plain;

    impl Backend for Plain {
        const NAME: &'static CStr = c"plain";
        const DESC: &'static CStr = c"no MMU";
        type Device = ();
    }

    #[test]
    fn calls_reach_the_backend_through_the_core_pointer() -> Result {
        let data = KBox::pin_init(
            pin_init!(RecorderDevice {
                calls <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        let ops = BackendDevice::<Recorder>::mmu_ops(&data);
        // SAFETY: `data` outlives `ops`' use in this test.
        let ops = unsafe { ops.as_ref() };
        let pages = [
            DmaRange {
                addr: 0x1000,
                len: 0x2000,
                kind: AddressKind::Host,
            },
            DmaRange {
                addr: 0x8000,
                len: 0x1000,
                kind: AddressKind::Host,
            },
        ];
        ops.map(7, 1 << 32, &pages, Access::ReadOnly)?;
        assert_eq!(ops.map(7, 0, &[], Access::ReadWrite), Err(EINVAL));
        ops.unmap(7, (1 << 32) + 0x1000, 0x1000);
        let calls = data.calls.lock();
        assert_eq!(
            calls[..],
            [
                (7, 1 << 32, 0x3000, false),
                (7, (1 << 32) + 0x1000, 0x1000, false)
            ]
        );
        Ok(())
    }

    #[test]
    fn engine_nops_are_copied_and_bounded() -> Result {
        static LONG: [u8; NOP_MAX + 1] = [0xAA; NOP_MAX + 1];
        let faux = kernel::faux::Registration::new(c"xaccel-kunit-nop", None)?;
        let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
        let mut desc = crate::gem::kunit_device::desc(Capabilities::default(), 0..0)?;
        desc.engines[0].nop = &[1, 2, 3];
        let layout = DeviceLayout::new(&desc, parent)?;
        ensure!(layout.engines[0].nop_len == 3);
        ensure!(layout.engines[0].nop[..4] == [1, 2, 3, 0]);
        desc.engines[0].nop = &LONG[..NOP_MAX];
        ensure!(DeviceLayout::new(&desc, parent)?.engines[0].nop_len as usize == NOP_MAX);
        desc.engines[0].nop = &LONG;
        ensure!(DeviceLayout::new(&desc, parent).err() == Some(EINVAL));
        Ok(())
    }

    #[test]
    fn the_defaults_refuse_to_map() {
        let ops = BackendDevice::<Plain>::mmu_ops(&());
        // SAFETY: `()` is a zero-sized value that lives for the whole test.
        let ops = unsafe { ops.as_ref() };
        assert_eq!(ops.map(1, 0, &[], Access::ReadWrite), Err(EOPNOTSUPP));
        ops.unmap(1, 0, 4096);
        assert!(Access::ReadWrite.writable() && !Access::ReadOnly.writable());
    }
}
