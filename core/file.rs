// SPDX-License-Identifier: GPL-2.0-only

//! Open files of an accel device, and the core's per-file state.
//!
//! DRM creates a `struct drm_file` for every `open()` of `/dev/accel/accelN`, calls the driver's
//! `open` callback, and calls `postclose` once the file is released and every GEM handle it held
//! has been closed. Between the two, `drm_file.driver_priv` owns a [`File`]: the file's memory
//! accounting and its device VMs (torn down in `postclose`), its contexts as they land.
//!
//! Both callbacks are non-generic core functions, so they stay valid after a backend module is
//! unloaded (a client may close its file long after that).

use crate::{
    context::{new_contexts, Contexts},
    device::AccelDevice,
    gem::RegionCounters,
    sched::BusyClock,
    vm::VmTable,
};
use kernel::{bindings, ffi::c_int, prelude::*, sync::Arc, types::Opaque};

/// The core's state for one open file (`drm_file.driver_priv`).
pub(crate) struct File {
    /// Bytes of the buffer objects this file holds GEM handles to, per region.
    ///
    /// Kept exact by the buffer objects' GEM `open`/`close` callbacks, which DRM calls for every
    /// handle created in or removed from this file, whatever created it (BO_CREATE, or
    /// `DRM_IOCTL_GEM_OPEN` of a flink name).
    handle_bytes: RegionCounters,
    /// The file's contexts (scheduler entities); dropping them tears them down.
    contexts: Pin<KBox<Contexts>>,
    /// The file's device VMs.
    vms: VmTable,
    /// Per engine, how long the file's jobs kept it busy (fdinfo `drm-engine-<name>`).
    engine_busy: KVec<Arc<BusyClock>>,
}

impl File {
    fn new(dev: &AccelDevice) -> Result<Self> {
        Ok(Self {
            handle_bytes: RegionCounters::new(dev.layout.regions.len())?,
            contexts: KBox::pin_init(new_contexts(), GFP_KERNEL)?,
            vms: VmTable::new()?,
            engine_busy: {
                let mut clocks = KVec::with_capacity(dev.layout.engines.len(), GFP_KERNEL)?;
                for _ in dev.layout.engines.iter() {
                    clocks.push(BusyClock::new()?, GFP_KERNEL)?;
                }
                clocks
            },
        })
    }

    /// The busy clock of `engine` for this file's contexts.
    pub(crate) fn engine_busy(&self, engine: u32) -> Option<&Arc<BusyClock>> {
        self.engine_busy.get(usize::try_from(engine).ok()?)
    }

    /// The file's contexts.
    pub(crate) fn contexts(&self) -> &Contexts {
        &self.contexts
    }

    /// The file's device VMs.
    pub(crate) fn vms(&self) -> &VmTable {
        &self.vms
    }

    /// Bytes of buffer objects reachable through this file's handles, per region.
    pub(crate) fn handle_bytes(&self) -> &RegionCounters {
        &self.handle_bytes
    }
}

/// A `struct drm_file` of an xaccel device, between `open` and `postclose`.
///
/// # Invariants
///
/// - The wrapped `drm_file` belongs to an [`AccelDevice`] (its minor's device has our
///   `drm_driver`).
/// - Its `driver_priv` points at a [`File`] made by [`open`] and freed by [`postclose`], which
///   DRM calls only after the file's last use.
#[repr(transparent)]
pub(crate) struct DrmFile(Opaque<bindings::drm_file>);

impl DrmFile {
    /// Wraps a C `drm_file`.
    ///
    /// # Safety
    ///
    /// `file` must be a `drm_file` of an [`AccelDevice`] whose `open` callback succeeded and whose
    /// `postclose` callback has not run, and stay so for `'a`. Every `drm_file` DRM hands to an
    /// ioctl, a GEM `open`/`close` callback or `show_fdinfo` of our devices is one.
    pub(crate) unsafe fn from_raw<'a>(file: *mut bindings::drm_file) -> &'a Self {
        // SAFETY: `DrmFile` is a transparent wrapper of `drm_file`; the caller guarantees that
        // the pointer is valid for `'a` and satisfies the type invariants.
        unsafe { &*file.cast() }
    }

    /// The C `drm_file`.
    pub(crate) fn as_raw(&self) -> *mut bindings::drm_file {
        self.0.get()
    }

    /// The core's per-file state.
    pub(crate) fn state(&self) -> &File {
        // SAFETY: `driver_priv` is written once by `open`, before DRM publishes the file, and
        // points at a live `File` until `postclose` (type invariants).
        unsafe { &*(*self.as_raw()).driver_priv.cast::<File>() }
    }

    /// The device this file was opened on.
    pub(crate) fn device(&self) -> &AccelDevice {
        // SAFETY: An open `drm_file` points at its minor, and the minor at its device, for the
        // file's whole life; the file holds a reference to the device. The device is an
        // `AccelDevice` (type invariants).
        unsafe { AccelDevice::from_raw((*(*self.as_raw()).minor).dev) }
    }
}

/// `drm_driver.open`: a client opened the device.
pub(crate) extern "C" fn open(
    drm: *mut bindings::drm_device,
    file: *mut bindings::drm_file,
) -> c_int {
    // SAFETY: DRM calls `open` with one of our devices, which the opening file holds a reference
    // to for the duration of the call.
    let dev = unsafe { AccelDevice::from_raw(drm) };
    let state = match File::new(dev).and_then(|state| Ok(KBox::new(state, GFP_KERNEL)?)) {
        Ok(state) => state,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `file` is the new, not yet published `drm_file`; nothing else reads `driver_priv`
    // before `open` returns. `postclose` takes the box back.
    unsafe { (*file).driver_priv = KBox::into_raw(state).cast() };
    0
}

/// `drm_driver.postclose`: the file is gone and all its GEM handles are closed.
///
/// Tears down the file's VMs, clearing the device's page tables if it is still registered; the
/// buffer objects they mapped are released once no job may use them.
pub(crate) extern "C" fn postclose(drm: *mut bindings::drm_device, file: *mut bindings::drm_file) {
    // SAFETY: DRM calls `postclose` once, after a successful `open` that stored a `KBox<File>`
    // in `driver_priv`, and never uses the file's `driver_priv` afterwards.
    let state = unsafe { KBox::from_raw((*file).driver_priv.cast::<File>()) };
    // SAFETY: `drm` is one of our devices, which the closing file holds a reference to until
    // after this callback.
    let dev = unsafe { AccelDevice::from_raw(drm) };
    state.vms.close(dev.enter().as_ref());
}
