// SPDX-License-Identifier: GPL-2.0-only

//! The accel device: allocation, registration with userspace, and unplug.
//!
//! # Lifetimes
//!
//! An [`AccelDevice`] and its C `struct drm_device` are one allocation, made by
//! `__drm_dev_alloc()` and freed by DRM when the last reference is dropped. References are held
//! by the backend's [`Registration`] and by every open file (DRM takes one per `drm_file`).
//!
//! A [`Registration`] is the backend's handle on a registered device. Dropping it unplugs the
//! device (`drm_dev_unplug()`: the node disappears, new ioctls fail with `ENODEV`, and running
//! ones are waited for), then drops the backend's per-device data, then drops its reference.
//! Open files keep the [`AccelDevice`] alive, but never the backend's data.

use crate::{
    backend::{Backend, BackendDevice, DeviceDesc, DeviceLayout, MmuOps, VendorOps},
    driver,
    execution::{Adapter, Execution},
    gem::{self, RegionCounters},
    name::Name,
};
use core::{
    alloc::Layout,
    marker::PhantomData,
    mem::offset_of,
    ptr::{self, NonNull},
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    alloc::allocator::Kmalloc,
    bindings, device,
    error::{from_err_ptr, to_result},
    prelude::*,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        Arc,
    },
    types::Opaque,
};

/// The core's view of one accel device (`/dev/accel/accelN`).
///
/// # Invariants
///
/// - `drm` was initialised by `__drm_dev_alloc()` as part of this allocation, and its `driver`
///   points at `self.driver`, whose `release` callback drops the Rust fields.
/// - `driver.name` and `driver.desc` point at `self.name` and `self.desc`.
/// - All fields are initialised while any reference to `self` exists.
/// - `mmu`, if set, points at the per-device data of the backend that registered the device, as
///   its [`MmuOps`], which stays valid until the device is unplugged (see [`Registration`]);
///   `vendor`, if set, points at the same data as its [`VendorOps`], valid as long.
#[repr(C)]
pub struct AccelDevice {
    drm: Opaque<bindings::drm_device>,
    driver: Opaque<bindings::drm_driver>,
    name: Name<16>,
    desc: Name<64>,
    pub(crate) layout: DeviceLayout,
    /// Bytes of live buffer objects in each region, at most the region's size.
    pub(crate) region_used: RegionCounters,
    /// The scheduler rings and the door to the backend.
    pub(crate) exec: Arc<Execution>,
    resets: AtomicU64,
    /// The backend's MMU callbacks, for devices that declare an MMU; only for [`Plugged::mmu`].
    mmu: Option<NonNull<dyn MmuOps>>,
    /// The backend's vendor queries; only for [`Plugged::vendor`].
    vendor: Option<NonNull<dyn VendorOps>>,
    /// The exported device-memory buffer objects, revoked at unplug.
    pub(crate) exports: gem::ExportList,
}

// SAFETY: The C `drm_device` is built for concurrent use and synchronises itself; the Rust fields
// are immutable after construction except for atomics (`resets`, the counters of `region_used`).
// `mmu` and `vendor` point at `Send + Sync` backend data.
unsafe impl Send for AccelDevice {}
// SAFETY: As above.
unsafe impl Sync for AccelDevice {}

impl AccelDevice {
    /// Allocates an unregistered device under `parent`.
    pub(crate) fn create(
        parent: &device::Device<device::Bound>,
        name: &CStr,
        desc: &CStr,
        layout: DeviceLayout,
        exec: Arc<Execution>,
        mmu: Option<NonNull<dyn MmuOps>>,
        vendor: Option<NonNull<dyn VendorOps>>,
    ) -> Result<ARef<Self>> {
        let name = Name::<16>::new(name);
        let desc = Name::<64>::new(desc);
        let region_used = RegionCounters::new(layout.regions.len())?;
        let exports = gem::ExportList::new()?;
        // Without `release` until every field is written: if allocation fails half-way, DRM
        // frees the memory without running Rust drops on uninitialised fields.
        let alloc_vtable = driver::vtable(name.as_char_ptr(), desc.as_char_ptr(), false);
        let size = Kmalloc::aligned_layout(Layout::new::<Self>()).size();
        // `device::Device` is a transparent wrapper of `struct device`.
        let parent_raw = ptr::from_ref(parent).cast::<bindings::device>().cast_mut();

        // SAFETY: `parent_raw` is a valid, bound device for the duration of the call;
        // `alloc_vtable` outlives the call and DRM keeps no pointer to it once we replace
        // `driver` below; `size` and the offset describe `Self`, which embeds the `drm_device`.
        let raw = unsafe {
            bindings::__drm_dev_alloc(parent_raw, &alloc_vtable, size, offset_of!(Self, drm))
        };
        let this: *mut Self = from_err_ptr(raw)?.cast();

        // SAFETY: `this` points to a zeroed allocation of `size >= size_of::<Self>()` bytes,
        // suitably aligned, whose `drm` field DRM initialised. We write every other field before
        // publishing the pointer, then point `drm.driver` at the embedded vtable (with
        // `release`), which establishes the type invariants. Nothing else can see the device yet:
        // it is not registered.
        unsafe {
            (&raw mut (*this).name).write(name);
            (&raw mut (*this).desc).write(desc);
            (&raw mut (*this).layout).write(layout);
            (&raw mut (*this).region_used).write(region_used);
            (&raw mut (*this).exec).write(exec);
            (&raw mut (*this).resets).write(AtomicU64::new(0));
            (&raw mut (*this).mmu).write(mmu);
            (&raw mut (*this).vendor).write(vendor);
            (&raw mut (*this).exports).write(exports);
            let vtable =
                driver::vtable((*this).name.as_char_ptr(), (*this).desc.as_char_ptr(), true);
            (*this).driver.get().write(vtable);
            (*(*this).drm.get()).driver = (*this).driver.get();
        }

        // SAFETY: `__drm_dev_alloc` returned the device with a reference count of one, which we
        // hand to the `ARef`; `this` is non-null since `from_err_ptr` accepted it.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(this)) })
    }

    /// The C device.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_device {
        self.drm.get()
    }

    /// Recovers the device from a C `drm_device` pointer.
    ///
    /// # Safety
    ///
    /// `drm` must be the `drm` field of a live [`AccelDevice`] (every device with our `drm_driver`
    /// is), and the returned reference must not outlive that device's last reference.
    pub(crate) unsafe fn from_raw<'a>(drm: *const bindings::drm_device) -> &'a Self {
        // SAFETY: By the safety requirements, `drm` is embedded in a live `Self`.
        unsafe { &*kernel::container_of!(Opaque::cast_from(drm), Self, drm) }
    }

    /// Drops the Rust fields when DRM releases the device.
    ///
    /// # Safety
    ///
    /// `drm` must be the `drm` field of an [`AccelDevice`] whose last reference is gone; no
    /// reference to it may be used afterwards.
    pub(crate) unsafe fn drop_fields(drm: *mut bindings::drm_device) {
        // SAFETY: By the safety requirements `drm` is embedded in a `Self` nobody uses any more.
        let this = unsafe { kernel::container_of!(Opaque::cast_from(drm), Self, drm) }.cast_mut();
        // SAFETY: `layout`, `region_used`, `exec` and `exports` are initialised (type invariant)
        // and dropped exactly once, here. The other fields have no drop glue; DRM frees the
        // memory after `release` returns.
        unsafe {
            ptr::drop_in_place(&raw mut (*this).layout);
            ptr::drop_in_place(&raw mut (*this).region_used);
            ptr::drop_in_place(&raw mut (*this).exec);
            ptr::drop_in_place(&raw mut (*this).exports);
        }
    }

    /// The backend name, as `DRM_IOCTL_VERSION` reports it.
    pub fn name(&self) -> &Name<16> {
        &self.name
    }

    /// Engine and device resets since the device appeared.
    pub fn reset_count(&self) -> u64 {
        self.resets.load(Ordering::Relaxed) + self.exec.resets()
    }

    /// The index N of `/dev/accel/accelN`, once registered.
    pub fn minor_index(&self) -> Option<i32> {
        // SAFETY: `self.drm` is a valid `drm_device` (type invariant); `accel` is set by
        // `drm_dev_init()` for `DRIVER_COMPUTE_ACCEL` devices and stays valid until release.
        let minor = unsafe { (*self.as_raw()).accel };
        // SAFETY: A non-null `accel` minor lives as long as the device.
        (!minor.is_null()).then(|| unsafe { (*minor).index })
    }

    /// Enters a section in which the device is guaranteed to stay registered.
    ///
    /// Returns `None` once the device has been unplugged.
    pub(crate) fn enter(&self) -> Option<Plugged<'_>> {
        let mut idx = 0;
        // SAFETY: `self.as_raw()` is a valid `drm_device`; `idx` is a valid out pointer.
        if unsafe { bindings::drm_dev_enter(self.as_raw(), &mut idx) } {
            // INVARIANT: `idx` comes from the successful `drm_dev_enter()` above.
            Some(Plugged {
                dev: self,
                idx,
                _not_send: PhantomData,
            })
        } else {
            None
        }
    }
}

// SAFETY: `drm_dev_get`/`drm_dev_put` manage the reference count of the whole allocation, and
// the memory is only freed once it reaches zero.
unsafe impl AlwaysRefCounted for AccelDevice {
    fn inc_ref(&self) {
        // SAFETY: A shared reference proves the count is non-zero.
        unsafe { bindings::drm_dev_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns to a live device.
        unsafe { bindings::drm_dev_put(obj.as_ref().as_raw()) };
    }
}

/// Proof that a device is registered: a `drm_dev_enter()`/`drm_dev_exit()` SRCU section.
///
/// Unplugging waits for every such section to end, so backend data reached while holding one
/// cannot be dropped underneath it.
///
/// # Invariants
///
/// `idx` is the SRCU index of a successful `drm_dev_enter()` on `dev`.
pub(crate) struct Plugged<'a> {
    pub(crate) dev: &'a AccelDevice,
    idx: i32,
    _not_send: PhantomData<*mut ()>,
}

impl Plugged<'_> {
    /// The backend's MMU callbacks, if the device declared an MMU.
    pub(crate) fn mmu(&self) -> Option<&dyn MmuOps> {
        // SAFETY: `mmu` points at the backend's per-device data (type invariants), which
        // `Registration` drops only after `drm_dev_unplug()` has waited for every section like
        // this one to end; `self` borrows such a section.
        self.dev.mmu.map(|ops| unsafe { ops.as_ref() })
    }

    /// The backend's vendor queries (`None` only for the core's KUnit devices).
    pub(crate) fn vendor(&self) -> Option<&dyn VendorOps> {
        // SAFETY: As in `mmu`: `vendor` points at the backend's per-device data, dropped only
        // after every section like this one ended.
        self.dev.vendor.map(|ops| unsafe { ops.as_ref() })
    }
}

impl Drop for Plugged<'_> {
    fn drop(&mut self) {
        // SAFETY: `idx` is from a successful `drm_dev_enter()` (type invariant).
        unsafe { bindings::drm_dev_exit(self.idx) };
    }
}

/// A backend device registered with userspace; dropping it unplugs the device.
///
/// Backends keep it for as long as the device exists: in their module state for software
/// devices, or through `Devres` for bus devices, so unbinding unplugs it.
pub struct Registration<B: Backend> {
    dev: ARef<AccelDevice>,
    backend: Arc<Adapter<B>>,
}

impl<B: Backend> Registration<B> {
    /// Creates and registers an accel device for `parent`.
    ///
    /// `desc` is checked (`EINVAL` if inconsistent) and copied; `data` becomes the backend's
    /// per-device state.
    pub fn new(
        parent: &device::Device<device::Bound>,
        desc: &DeviceDesc,
        data: impl PinInit<B::Device, Error>,
    ) -> Result<Self> {
        // A backend built against another build of the core does not load (`build`).
        crate::build::require_this_core();
        let layout = DeviceLayout::new(desc, parent)?;
        // SAFETY: `parent` is bound, and nothing maps DMA for it through us yet.
        unsafe {
            gem::prepare_dma_device(ptr::from_ref(parent).cast::<bindings::device>().cast_mut())
        }?;
        let data = KBox::pin_init(data, GFP_KERNEL)?;
        let backend = Arc::new(Adapter::<B> { data }, GFP_KERNEL)?;
        let exec = Execution::new(&layout, &backend)?;
        // INVARIANT: `mmu` points at the backend's data, which is pinned in `backend`, never
        // moves, and is dropped after the device is unplugged (`Drop` below).
        let mmu = layout
            .capabilities
            .mmu
            .then(|| BackendDevice::<B>::mmu_ops(backend.data.as_ref().get_ref()));
        // INVARIANT: Likewise.
        let vendor = Some(BackendDevice::<B>::vendor_ops(
            backend.data.as_ref().get_ref(),
        ));
        let dev = match AccelDevice::create(
            parent,
            B::NAME,
            B::DESC,
            layout,
            exec.clone(),
            mmu,
            vendor,
        ) {
            Ok(dev) => dev,
            Err(e) => {
                exec.shutdown();
                return Err(e);
            }
        };
        gem::register_debugfs(&dev);
        crate::debugfs::register(&dev);
        // SAFETY: `dev` is a fully initialised, never registered DRM device.
        if let Err(e) = to_result(unsafe { bindings::drm_dev_register(dev.as_raw(), 0) }) {
            // The rings drop the backend here, while its module is surely loaded.
            exec.shutdown();
            return Err(e);
        }
        if let Some(index) = dev.minor_index() {
            dev_info!(
                parent,
                "{} registered as accel{}\n",
                B::NAME.to_str().unwrap_or("?"),
                index
            );
        }
        Ok(Self { dev, backend })
    }

    /// The core device.
    pub fn device(&self) -> &AccelDevice {
        &self.dev
    }

    /// The backend's per-device state.
    pub fn data(&self) -> Pin<&B::Device> {
        self.backend.data.as_ref()
    }
}

impl<B: Backend> Drop for Registration<B> {
    fn drop(&mut self) {
        // SAFETY: The device was registered in `new`. `drm_dev_unplug()` unregisters it, makes
        // every later `drm_dev_enter()` fail and waits for the sections already entered, so
        // no ioctl can reach the backend's data, which drops right after this function.
        unsafe { bindings::drm_dev_unplug(self.dev.as_raw()) };
        // Device memory goes with the device: exports and CPU mappings of it are revoked.
        gem::revoke(&self.dev);
        // The rings stop calling the backend and signal every job (`ENODEV`); they drop their
        // references to it, so `self.backend` is the last one.
        self.dev.exec.shutdown();
    }
}
