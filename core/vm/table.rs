// SPDX-License-Identifier: GPL-2.0-only

//! The VMs of one open file, by id.
//!
//! Ids start at 1 and are never reused by the file, so a destroyed VM's id stays invalid
//! (`ENOENT`) instead of naming a newer VM. Another file's ids are never found here: each file
//! has its own table.

use super::vm::Vm;
use crate::device::{AccelDevice, Plugged};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

/// Most VMs one file may hold at once.
const MAX_VMS: usize = 1024;

struct Slots {
    /// The id the next VM gets; 0 once ids ran out.
    next_id: u32,
    /// Live VMs by id, in increasing id order.
    vms: KVec<(u32, Arc<Vm>)>,
}

/// The VMs of one open file.
pub(crate) struct VmTable {
    slots: Pin<KBox<Mutex<Slots>>>,
}

impl VmTable {
    /// An empty table.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            slots: KBox::pin_init(
                new_mutex!(Slots {
                    next_id: 1,
                    vms: KVec::new(),
                }),
                GFP_KERNEL,
            )?,
        })
    }

    /// Creates a VM and returns its id.
    ///
    /// Errors: `ENOSPC` when the file holds [`MAX_VMS`] VMs or has used every id, `ENOMEM`.
    pub(crate) fn create(&self, device: &AccelDevice) -> Result<u32> {
        let vm = Vm::new(Some(device.into()))?;
        let mut slots = self.slots.lock();
        let id = slots.next_id;
        if id == 0 || slots.vms.len() >= MAX_VMS {
            return Err(ENOSPC);
        }
        slots.vms.push((id, vm), GFP_KERNEL)?;
        slots.next_id = id.wrapping_add(1);
        Ok(id)
    }

    fn index(slots: &Slots, id: u32) -> Result<usize> {
        slots
            .vms
            .binary_search_by_key(&id, |(vm_id, _)| *vm_id)
            .map_err(|_| ENOENT)
    }

    /// How many VMs the file holds (fdinfo `xaccel-vms`).
    pub(crate) fn len(&self) -> usize {
        self.slots.lock().vms.len()
    }

    /// The VM with `id`; `ENOENT` if there is none.
    pub(crate) fn get(&self, id: u32) -> Result<Arc<Vm>> {
        let slots = self.slots.lock();
        let i = Self::index(&slots, id)?;
        Ok(slots.vms[i].1.clone())
    }

    /// Removes the VM with `id` from the table and tears it down; `ENOENT` if there is none.
    pub(crate) fn destroy(&self, plugged: &Plugged<'_>, id: u32) -> Result {
        let vm = {
            let mut slots = self.slots.lock();
            let i = Self::index(&slots, id)?;
            slots.vms.remove(i).map_err(|_| ENOENT)?.1
        };
        vm.teardown(Some(plugged));
        Ok(())
    }

    /// Tears down every VM; the file is closing. `plugged` is `None` if the device is gone.
    pub(crate) fn close(&self, plugged: Option<&Plugged<'_>>) {
        let vms = core::mem::take(&mut self.slots.lock().vms);
        for (_, vm) in vms.iter() {
            vm.teardown(plugged);
        }
    }
}
