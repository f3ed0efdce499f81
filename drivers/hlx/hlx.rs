// SPDX-License-Identifier: GPL-2.0-only

//! hlx: the xaccel backend of HLX, a habanalabs-class training accelerator
//! (Documentation/hlx.rst is its hardware manual, Documentation/hlx-driver.rst this driver).
//!
//! A PCI driver for `1af4:1110` functions whose register page says `HLX1` (QEMU's
//! ivshmem-doorbell served by `tools/hlx-model`): it maps BAR0 (doorbells) and the register
//! page of BAR2, sets a 48-bit DMA mask, brings the device up (`hw`), takes its CQ and EQ
//! interrupts on MSI-X vectors 0 and 1 and registers one xaccel device with four engines (two
//! DMA queues, two compute queues) and an HBM region: the HBM after the driver's page tables,
//! which the core allocates, maps and exports ([`RegionBacking::PciBar`]). Command buffers are
//! checked by the parser (`cb`) before they reach a ring: a job reaches only the HBM of the
//! buffer objects it names (its BO list, or its VM); timeouts soft-reset the queue, or
//! hard-reset the device when the engine is wedged beyond a soft reset.
//!
//! debugfs `hlx-accelN/control`: reading shows the counters and the queues; writing
//! `QUEUE MODE` wedges a queue's engine (test control: 1 soft, 2 hard, 0 disarm).

mod cb;
/// The vendor uAPI (`uapi/drm/hlx_accel.h`), shared with userspace.
#[path = "../../uapi/rust/src/hlx.rs"]
pub mod hlx_uapi;
mod hw;
mod mmu;
mod regs;

use cb::{AddressCheck, EngineKind, ListedBos};
use hw::{Hw, JOBS_PER_QUEUE, QUEUES};
use kernel::{
    debugfs::{Dir, File},
    device::Core,
    fmt,
    irq::IrqReturn,
    pci,
    prelude::*,
    str::CString,
    sync::Arc,
    uaccess::UserSliceReader,
};
use regs::*;
use xaccel::{
    pci::{Caching, IoMem, Msix, MsixHandler},
    sched::JobHandle,
    Access, Capabilities, DeviceDesc, DmaRange, EngineClass, EngineDesc, ExportFallback,
    RegionBacking, RegionDesc, RegionKind, Submission, VendorItems, VmId,
};

kernel::module_pci_driver! {
    type: HlxDriver,
    name: "hlx",
    authors: ["The xaccel developers"],
    description: "hlx: xaccel backend for the HLX accelerator",
    license: "GPL",
    params: {
        hbm_refuse: u32 {
            default: 0,
            description: "HBM dma-buf importers that cannot reach it peer-to-peer: 0 migrate the \
                buffer to system memory, 1 refuse the attach (read at probe)",
        },
    },
}

/// The first HBM byte of the HBM region; below it are the driver's page tables.
const HBM_REGION_BASE: u64 = mmu::POOL_BYTES;
/// BAR2 offset of HBM byte 0 (after the register page).
const BAR2_HBM_OFFSET: u64 = 0x1000;

/// The backend type.
struct Hlx;

/// On a context with a VM, addresses are device virtual addresses, translated by the MMU with
/// the VM's ASID: a range must be mapped in the VM (`EFAULT`), writable if written (`EACCES`).
/// HBM is reached only through HBM buffer objects bound in the VM.
struct VmCheck<'s, 'a> {
    submission: &'s mut Submission<'a>,
}

impl AddressCheck for VmCheck<'_, '_> {
    fn check(&mut self, addr: u64, len: u64, write: bool) -> Result {
        let access = if write {
            Access::ReadWrite
        } else {
            Access::ReadOnly
        };
        self.submission.resolve(addr, len, access).map(|_| ())
    }
}

impl xaccel::Backend for Hlx {
    const NAME: &'static CStr = c"hlx";
    const DESC: &'static CStr = c"HLX training accelerator";
    type Device = Arc<Hw>;

    fn validate(dev: &Arc<Hw>, submission: &mut Submission<'_>) -> Result<KVec<u8>> {
        let kind = match submission.engine() {
            0 | 1 => EngineKind::Dma,
            2 | 3 => EngineKind::Compute,
            _ => return Err(EINVAL),
        };
        let engine = submission.engine() as usize;
        let commands = submission.commands();
        let (asid, packets) = match submission.vm_id() {
            Some(vm) => (
                dev.asid(vm)?,
                cb::parse(commands, kind, &mut VmCheck { submission })?,
            ),
            None => {
                let mut listed = ListedBos {
                    bos: submission.bos(),
                };
                (0, cb::parse(commands, kind, &mut listed)?)
            }
        };
        // The job starts by switching its queue to its address space (privileged: ours).
        let mut payload = KVec::with_capacity(hw::PROLOGUE_BYTES + packets.len(), GFP_KERNEL)?;
        payload.extend_from_slice(&cb::header(cb::OP_WREG32, 0, asid), GFP_KERNEL)?;
        payload.extend_from_slice(
            &(queue_reg(engine, Q_ASID) as u64).to_le_bytes(),
            GFP_KERNEL,
        )?;
        payload.extend_from_slice(&packets, GFP_KERNEL)?;
        Ok(payload)
    }

    fn run(dev: &Arc<Hw>, engine: u32, job: JobHandle) {
        dev.submit(engine as usize, job)
    }

    fn reset_engine(dev: &Arc<Hw>, engine: u32) -> Result {
        dev.reset_queue(engine as usize)
    }

    fn reset_device(dev: &Arc<Hw>) -> Result {
        dev.reset_device()
    }

    fn mmu_map(dev: &Arc<Hw>, vm: VmId, va: u64, pages: &[DmaRange], access: Access) -> Result {
        dev.mmu_map(vm, va, pages, access)
    }

    fn mmu_unmap(dev: &Arc<Hw>, vm: VmId, va: u64, len: u64) {
        dev.mmu_unmap(vm, va, len)
    }

    fn mmu_release(dev: &Arc<Hw>, vm: VmId) {
        dev.mmu_release(vm)
    }

    fn vendor_query(dev: &Arc<Hw>, kind: u32) -> Result<VendorItems> {
        vendor_query(dev, kind)
    }
}

/// The device VA window of every VM: from 4 GiB to 128 TiB (the MMU translates 48 bits).
const VA_RANGE: core::ops::Range<u64> = (1 << 32)..(1 << 47);

/// The engines, in queue order.
const ENGINES: [(&CStr, EngineClass); QUEUES] = [
    (c"dma0", EngineClass::Dma),
    (c"dma1", EngineClass::Dma),
    (c"cmp0", EngineClass::Compute),
    (c"cmp1", EngineClass::Compute),
];

/// What an HBM dma-buf importer that cannot reach HBM peer-to-peer gets (`hbm_refuse`).
fn hbm_fallback() -> ExportFallback {
    if module_parameters::hbm_refuse.value() != 0 {
        ExportFallback::Refuse
    } else {
        ExportFallback::Migrate
    }
}

fn describe(hbm_size: u64) -> Result<DeviceDesc> {
    let mut engines = KVec::new();
    for (name, class) in ENGINES {
        engines.push(
            EngineDesc {
                name,
                class,
                ring_credits: JOBS_PER_QUEUE,
                nop: &cb::NOP,
            },
            GFP_KERNEL,
        )?;
    }
    let mut regions = KVec::new();
    regions.push(
        RegionDesc {
            name: c"system",
            kind: RegionKind::System,
            size: 1 << 30,
            cpu_visible: true,
            p2p: false,
            backing: RegionBacking::Shmem,
            fallback: ExportFallback::Refuse,
        },
        GFP_KERNEL,
    )?;
    // HBM after the page tables, in whole pages: CPU-visible and P2P-capable through BAR2.
    let page = kernel::page::PAGE_SIZE as u64;
    let hbm_region = hbm_size.checked_sub(HBM_REGION_BASE).ok_or(ENODEV)? / page * page;
    regions.push(
        RegionDesc {
            name: c"hbm",
            kind: RegionKind::Device,
            size: hbm_region,
            cpu_visible: true,
            p2p: true,
            backing: RegionBacking::PciBar {
                bar: 2,
                offset: BAR2_HBM_OFFSET + HBM_REGION_BASE,
                device_base: HBM_REGION_BASE,
            },
            fallback: hbm_fallback(),
        },
        GFP_KERNEL,
    )?;
    Ok(DeviceDesc {
        engines,
        regions,
        capabilities: Capabilities {
            mmu: true,
            p2p: true,
        },
        va_range: VA_RANGE,
    })
}

/// Little-endian fields, back to back as the vendor uAPI structs lay them out.
struct Fields(KVec<u8>);

impl Fields {
    fn u32(&mut self, v: u32) -> Result<&mut Self> {
        self.0.extend_from_slice(&v.to_le_bytes(), GFP_KERNEL)?;
        Ok(self)
    }

    fn u64(&mut self, v: u64) -> Result<&mut Self> {
        self.0.extend_from_slice(&v.to_le_bytes(), GFP_KERNEL)?;
        Ok(self)
    }
}

/// `DRM_IOCTL_XACCEL_VENDOR_QUERY` (`uapi/drm/hlx_accel.h`).
fn vendor_query(hw: &Hw, kind: u32) -> Result<VendorItems> {
    use core::mem::size_of;
    use hlx_uapi::*;
    let mut f = Fields(KVec::new());
    let item_size = match kind {
        HLX_QUERY_HW_INFO => {
            let (tables, asids) = hw.mmu_usage();
            f.u32(hw.register(HLX_ID))?.u32(hw.register(HLX_VERSION))?;
            f.u64(hw.hbm_size())?.u64(HBM_REGION_BASE)?.u64(tables)?;
            f.u32(QUEUES as u32)?.u32(asids)?;
            f.u32(hw.register(HARD_RESET_COUNT))?.u32(0)?;
            size_of::<hlx_hw_info>()
        }
        HLX_QUERY_COUNTERS => {
            let c = hw.counters();
            for v in [
                c.jobs_done,
                c.jobs_failed,
                c.mmu_faults,
                c.access_errors,
                c.illegal_packets,
                c.other_events,
                c.soft_resets,
                c.hard_resets,
                c.last_fault_addr,
            ] {
                f.u64(v)?;
            }
            f.u32(hw.register(IRQ_COUNT_CQ))?
                .u32(hw.register(IRQ_COUNT_EQ))?;
            size_of::<hlx_counters>()
        }
        HLX_QUERY_QUEUES => {
            for q in 0..QUEUES {
                f.u32(q as u32)?;
                f.u32(hw.register(queue_reg(q, Q_STATUS)))?;
                f.u32(hw.register(queue_reg(q, Q_CI)))?;
                f.u32(hw.register(queue_reg(q, Q_SOFT_RESET_COUNT)))?;
            }
            size_of::<hlx_queue_info>()
        }
        _ => return Err(EINVAL),
    };
    // Every field written, in order: the bytes are whole items of the uAPI layout.
    if f.0.len() % item_size != 0 {
        return Err(EINVAL);
    }
    Ok(VendorItems {
        item_size,
        bytes: f.0,
    })
}

/// The CQ and EQ interrupts.
struct Interrupts(Arc<Hw>);

impl MsixHandler for Interrupts {
    fn handle(&self, vector: u32) -> IrqReturn {
        match vector {
            MSIX_CQ => self.0.cq_interrupt(),
            MSIX_EQ => self.0.eq_interrupt(),
            _ => return IrqReturn::None,
        }
        IrqReturn::Handled
    }
}

/// debugfs `control`, read: counters and queue states.
fn show(hw: &Arc<Hw>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let c = hw.counters();
    writeln!(f, "hbm_bytes {}", hw.hbm_size())?;
    let bus =
        u64::from(hw.register(BAR2_BUS_ADDR)) | u64::from(hw.register(BAR2_BUS_ADDR + 4)) << 32;
    writeln!(f, "bar2_bus_addr {bus:#x}")?;
    writeln!(f, "jobs_done {}", c.jobs_done)?;
    writeln!(f, "jobs_failed {}", c.jobs_failed)?;
    writeln!(f, "mmu_faults {}", c.mmu_faults)?;
    writeln!(f, "access_errors {}", c.access_errors)?;
    writeln!(f, "illegal_packets {}", c.illegal_packets)?;
    writeln!(f, "other_events {}", c.other_events)?;
    writeln!(f, "last_fault_addr {}", c.last_fault_addr)?;
    writeln!(f, "soft_resets {}", c.soft_resets)?;
    writeln!(f, "hard_resets {}", c.hard_resets)?;
    writeln!(f, "device_hard_resets {}", hw.register(HARD_RESET_COUNT))?;
    writeln!(f, "irq_cq {}", hw.register(IRQ_COUNT_CQ))?;
    writeln!(f, "irq_eq {}", hw.register(IRQ_COUNT_EQ))?;
    writeln!(f, "eq_dropped {}", hw.register(EQ_DROPPED))?;
    writeln!(f, "device_mmu_faults {}", hw.register(MMU_FAULT_COUNT))?;
    for q in 0..QUEUES {
        writeln!(
            f,
            "queue {} status {:#x} ci {:#x} soft_resets {}",
            q,
            hw.register(queue_reg(q, Q_STATUS)),
            hw.register(queue_reg(q, Q_CI)),
            hw.register(queue_reg(q, Q_SOFT_RESET_COUNT)),
        )?;
    }
    Ok(())
}

/// debugfs `control`, write: `QUEUE MODE` arms a wedge (test control).
fn control(hw: &Arc<Hw>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 16];
    let len = reader.len().min(buf.len());
    reader.read_slice(&mut buf[..len])?;
    let mut words = buf[..len]
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let mut number = || -> Result<u32> {
        let word = words.next().ok_or(EINVAL)?;
        let text = core::str::from_utf8(word).map_err(|_| EINVAL)?;
        text.parse().map_err(|_| EINVAL)
    };
    let (queue, mode) = (number()?, number()?);
    hw.wedge(queue, mode)
}

/// One bound HLX function. Field order is drop order: debugfs goes, the accel device is
/// unplugged (the core calls us no more), then the interrupts are freed, then the device.
#[pin_data]
struct HlxPci<'bound> {
    #[pin]
    control: File<Arc<Hw>>,
    _dir: Dir,
    _accel: xaccel::Registration<Hlx>,
    _irqs: Msix<'bound, Interrupts>,
    hw: Arc<Hw>,
}

kernel::pci_device_table!(
    PCI_TABLE,
    <HlxDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1110),
        ()
    )]
);

struct HlxDriver;

impl pci::Driver for HlxDriver {
    type IdInfo = ();
    type Data<'bound> = HlxPci<'bound>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            // ivshmem-plain has the same ID and no MSI-X; the register page tells them apart.
            if pdev.resource_len(0)? < 256 || pdev.resource_len(2)? < 8192 {
                return Err(ENODEV);
            }
            xaccel::pci::enable(pdev, c"hlx")?;
            let bar0 = IoMem::map(pdev, 0, 0, 256, Caching::Uncached)?;
            let regs = IoMem::map(pdev, 2, 0, 4096, Caching::Uncached)?;
            let page_tables =
                IoMem::map(pdev, 2, 4096, mmu::POOL_BYTES as usize, Caching::Uncached)?;
            xaccel::pci::set_dma_mask(pdev, 48)?;
            pdev.set_master();
            let bar2_bus = xaccel::pci::bar_bus_address(pdev, 2)?;
            let hw = Hw::new(pdev.as_ref(), bar0, regs, page_tables, bar2_bus)?;
            let bound: &'bound pci::Device<kernel::device::Bound> = pdev;
            let irqs = Msix::new(
                bound,
                MSIX_COUNT,
                &[MSIX_CQ, MSIX_EQ],
                c"hlx",
                Interrupts(hw.clone()),
            )?;
            hw.unmask_interrupts()?;
            let accel = xaccel::Registration::<Hlx>::new(
                pdev.as_ref(),
                &describe(hw.hbm_size())?,
                Ok::<_, Error>(hw.clone()),
            )?;
            let index = accel.device().minor_index().unwrap_or(-1);
            // One top-level directory per device: a shared `hlx/` would need module-wide state,
            // and a second `Dir::new(c"hlx")` fails with EEXIST.
            let dir = Dir::new(&CString::try_from_fmt(fmt!("hlx-accel{index}"))?);
            dev_info!(
                pdev,
                "HLX ready: {} MiB HBM, accel{}\n",
                hw.hbm_size() >> 20,
                index
            );
            Ok(try_pin_init!(HlxPci {
                control <- dir.read_write_callback_file(c"control", hw.clone(), &show, &control),
                _dir: dir,
                _accel: accel,
                _irqs: irqs,
                hw,
            }))
        })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&HlxPci<'bound>>) {
        // The device stops and writes no more memory before its buffers go.
        this.hw.shut_down();
    }
}
