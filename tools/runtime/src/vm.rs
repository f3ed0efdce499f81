// SPDX-License-Identifier: GPL-2.0-only
//! [`Vm`]: a device virtual address space of an open file, and [`Binding`]s,
//! buffer object ranges mapped in it.
//!
//! A `Vm` destroys itself (`DRM_IOCTL_XACCEL_VM_DESTROY`) when dropped, which
//! unbinds everything in it; a `Binding` unbinds its range
//! (`DRM_IOCTL_XACCEL_VM_UNBIND`) when dropped. The kernel keeps a reference
//! on every bound buffer object, so a [`Bo`] may be closed while bound.

use rustix::io::Errno;
use xaccel_uapi::{
    drm_xaccel_vm_bind, drm_xaccel_vm_create, drm_xaccel_vm_destroy, drm_xaccel_vm_unbind,
    DRM_XACCEL_VM_BIND_READ_ONLY, DRM_XACCEL_VM_BIND_READ_WRITE,
};

use crate::bo::Bo;
use crate::device::Device;
use crate::error::{Error, Result};

/// What the device may do through a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only (`DRM_XACCEL_VM_BIND_READ_ONLY`).
    ReadOnly,
    /// Reads and writes (`DRM_XACCEL_VM_BIND_READ_WRITE`).
    ReadWrite,
}

impl Access {
    /// The `DRM_XACCEL_VM_BIND_*` flag.
    pub fn flags(self) -> u32 {
        match self {
            Self::ReadOnly => DRM_XACCEL_VM_BIND_READ_ONLY,
            Self::ReadWrite => DRM_XACCEL_VM_BIND_READ_WRITE,
        }
    }
}

/// A device VM of `Device`'s open file, destroyed on drop.
#[derive(Debug)]
pub struct Vm<'d> {
    dev: &'d Device,
    id: u32,
}

fn ioctl_error(ioctl: &'static str) -> impl FnOnce(Errno) -> Error {
    move |errno| Error::Ioctl { ioctl, errno }
}

impl<'d> Vm<'d> {
    /// Creates an empty VM.
    pub fn create(dev: &'d Device) -> Result<Self> {
        let mut args = drm_xaccel_vm_create::default();
        dev.vm_create_raw(&mut args)
            .map_err(ioctl_error("VM_CREATE"))?;
        Ok(Self {
            dev,
            id: args.vm_id,
        })
    }

    /// The VM's id in its file.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The device the VM belongs to.
    pub fn device(&self) -> &'d Device {
        self.dev
    }

    /// Maps bytes `[bo_offset, bo_offset + size)` of `bo` at device addresses
    /// `[va, va + size)`; all page-aligned, inside the device's VA window.
    pub fn bind(
        &self,
        bo: &Bo<'_>,
        bo_offset: u64,
        size: u64,
        va: u64,
        access: Access,
    ) -> Result<Binding<'_>> {
        let mut args = drm_xaccel_vm_bind {
            vm_id: self.id,
            handle: bo.handle(),
            bo_offset,
            size,
            va,
            flags: access.flags(),
            ..Default::default()
        };
        self.dev
            .vm_bind_raw(&mut args)
            .map_err(ioctl_error("VM_BIND"))?;
        Ok(Binding { vm: self, va, size })
    }

    /// Unmaps `[va, va + size)`, which may span several bindings or cut
    /// into them; for ranges that no [`Binding`] owns (see
    /// [`Binding::forget`]).
    pub fn unbind(&self, va: u64, size: u64) -> Result<()> {
        let mut args = drm_xaccel_vm_unbind {
            vm_id: self.id,
            va,
            size,
            ..Default::default()
        };
        self.dev
            .vm_unbind_raw(&mut args)
            .map_err(ioctl_error("VM_UNBIND"))
    }

    /// Destroys the VM now, reporting errors that dropping would ignore.
    pub fn destroy(self) -> Result<()> {
        let (dev, id) = (self.dev, self.id);
        std::mem::forget(self);
        destroy(dev, id)
    }
}

fn destroy(dev: &Device, vm_id: u32) -> Result<()> {
    let mut args = drm_xaccel_vm_destroy {
        vm_id,
        ..Default::default()
    };
    dev.vm_destroy_raw(&mut args)
        .map_err(ioctl_error("VM_DESTROY"))
}

impl Drop for Vm<'_> {
    fn drop(&mut self) {
        // The VM was ours, so this cannot fail; closing the file destroys it
        // anyway.
        let _ = destroy(self.dev, self.id);
    }
}

/// A buffer object range bound in a [`Vm`], unbound on drop.
#[derive(Debug)]
pub struct Binding<'v> {
    vm: &'v Vm<'v>,
    va: u64,
    size: u64,
}

impl Binding<'_> {
    /// The first device address.
    pub fn va(&self) -> u64 {
        self.va
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Unbinds now, reporting errors that dropping would ignore.
    pub fn unbind(self) -> Result<()> {
        let (vm, va, size) = (self.vm, self.va, self.size);
        std::mem::forget(self);
        vm.unbind(va, size)
    }

    /// Leaves the range bound: it stays until unbound with [`Vm::unbind`] or
    /// the VM goes.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for Binding<'_> {
    fn drop(&mut self) {
        // Fails only if the range was unbound behind the binding's back.
        let _ = self.vm.unbind(self.va, self.size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_flags() {
        assert_eq!(Access::ReadOnly.flags(), DRM_XACCEL_VM_BIND_READ_ONLY);
        assert_eq!(Access::ReadWrite.flags(), DRM_XACCEL_VM_BIND_READ_WRITE);
    }
}
