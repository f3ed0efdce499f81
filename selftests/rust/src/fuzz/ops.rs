// SPDX-License-Identifier: GPL-2.0-only
//! One random call of each xaccel ioctl: a plausible argument struct, some of whose fields are
//! replaced by hostile values ([`values`](crate::values)). Objects the calls create join the
//! pools the next calls draw their handles from, and the pools are kept small.

use std::ptr::NonNull;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::*;
use xaccel::{Device, Errno};

use crate::values::{count, handle, hostile, junk32, junk64, size, Draw, Scratch};

/// The ioctls the fuzzer calls, named as in the uAPI, with the errnos `Documentation/uapi.rst`
/// (and the header, for BO_WAIT) gives them for bad input and exhausted resources.
pub const CALLS: [(&str, &[Errno]); 14] = {
    use Errno as E;
    [
        ("QUERY", &[E::INVAL, E::OVERFLOW, E::FAULT]),
        ("BO_CREATE", &[E::INVAL, E::TOOBIG, E::NOSPC, E::NOMEM]),
        ("BO_INFO", &[E::INVAL, E::NOENT]),
        ("GEM_CLOSE", &[E::INVAL]),
        ("CONTEXT_CREATE", &[E::INVAL, E::PERM, E::NOSPC]),
        ("CONTEXT_DESTROY", &[E::INVAL, E::NOENT]),
        (
            "SUBMIT",
            &[
                E::INVAL,
                E::TOOBIG,
                E::NOENT,
                E::IO,
                E::FAULT,
                E::ACCESS,
                E::INTR,
                E::AGAIN,
                E::BUSY,
                E::OPNOTSUPP,
                E::NOSPC,
            ],
        ),
        (
            "BO_WAIT",
            &[E::INVAL, E::NOENT, E::BUSY, E::TIMEDOUT, E::INTR],
        ),
        ("VM_CREATE", &[E::INVAL, E::NOSPC]),
        ("VM_DESTROY", &[E::INVAL, E::NOENT]),
        (
            "VM_BIND",
            &[
                E::INVAL,
                E::NOENT,
                E::EXIST,
                E::ACCESS,
                E::OPNOTSUPP,
                E::NOSPC,
                E::NOMEM,
            ],
        ),
        ("VM_UNBIND", &[E::INVAL, E::NOENT]),
        (
            "BO_CREATE_USERPTR",
            &[
                E::INVAL,
                E::TOOBIG,
                E::FAULT,
                E::ACCESS,
                E::OPNOTSUPP,
                E::NOSPC,
                E::NOMEM,
            ],
        ),
        // `mmap()` of the device file at a BO's offset (Documentation/uapi.rst, "mmap").
        (
            "MMAP",
            &[E::INVAL, E::ACCESS, E::NODEV, E::NOMEM, E::OVERFLOW],
        ),
    ]
};

/// Most live objects of each kind; the oldest goes when a new one would exceed it.
const POOL: usize = 24;

/// Bytes of the command-buffer BO: engine `e`'s NOP (QUERY NOPS) at `e * NOP_SLOT`.
pub const CMD_BYTES: usize = 4096;
/// Room for one engine's NOP in the command-buffer BO (at least `DRM_XACCEL_NOP_MAX`).
pub const NOP_SLOT: usize = 64;

/// What the calls draw on.
pub struct Fuzzer<'d> {
    pub dev: &'d Device,
    pub rng: Draw,
    pub scratch: Scratch,
    pub page: u64,
    pub regions: u32,
    pub engines: u32,
    pub va_start: u64,
    /// The command-buffer BO (never closed by the fuzzer).
    pub cmd: u32,
    /// Per engine, the size of its NOP in `cmd` (0: none).
    pub nops: Vec<u64>,
    /// The engine of each context the calls created (ids of destroyed ones may linger).
    pub engine_of: std::collections::HashMap<u32, u32>,
    pub bos: Vec<u32>,
    pub contexts: Vec<u32>,
    pub vms: Vec<u32>,
    pub syncobjs: Vec<u32>,
    /// Syncobjs created signalled: they hold a fence, so a clean SUBMIT may wait on them.
    pub fenced: Vec<u32>,
    /// Ranges VM_BIND mapped: (VM, VA, size), for clean VM_UNBINDs.
    pub bindings: Vec<(u32, u64, u64)>,
    /// CPU mappings of BOs, kept across calls (they outlive handles the calls close).
    pub maps: Vec<CpuMap>,
}

/// A CPU mapping of a BO made by [`Fuzzer::mmap`], unmapped when dropped.
pub struct CpuMap {
    addr: NonNull<u8>,
    len: usize,
    prot: ProtFlags,
}

impl CpuMap {
    /// Reads, then writes if the mapping is writable, one byte in a random page of it.
    fn touch(&self, rng: &mut Draw, page: usize) {
        let at = page * rng.below((self.len / page).max(1) as u64) as usize;
        // SAFETY: `at` is inside the live mapping, which allows what is done to it.
        unsafe {
            let p = self.addr.as_ptr().add(at);
            if self.prot.contains(ProtFlags::READ) {
                let byte = p.read_volatile();
                if self.prot.contains(ProtFlags::WRITE) {
                    p.write_volatile(byte.wrapping_add(1));
                }
            }
        }
    }
}

impl Drop for CpuMap {
    fn drop(&mut self) {
        // SAFETY: The mapping `mmap` made; nothing refers into it.
        let _ = unsafe { munmap(self.addr.as_ptr().cast(), self.len) };
    }
}

/// Keeps `pool` at most [`POOL`] long after adding `id`, returning the evicted id.
fn admit(pool: &mut Vec<u32>, id: u32) -> Option<u32> {
    pool.push(id);
    (pool.len() > POOL).then(|| pool.remove(0))
}

/// A struct's bytes, for the scratch buffer.
fn bytes_of<T: Copy>(items: &[T]) -> Vec<u8> {
    // SAFETY: `T` is a plain uAPI struct (no padding the kernel reads uninitialised: every
    // field is set); viewed as bytes only to copy them.
    unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), std::mem::size_of_val(items)) }
        .to_vec()
}

impl Fuzzer<'_> {
    /// A value from `0..n` mostly, else hostile.
    fn index(&mut self, n: u32) -> u32 {
        if hostile(&mut self.rng) {
            junk32(&mut self.rng)
        } else {
            self.rng.below(u64::from(n.max(1))) as u32
        }
    }

    /// One call of `CALLS[which]`, clean one time in three; its result.
    pub fn call(&mut self, which: usize) -> Result<(), Errno> {
        self.rng.clean = self.rng.below(3) == 0;
        match CALLS[which].0 {
            "QUERY" => self.query(),
            "BO_CREATE" => self.bo_create(),
            "BO_INFO" => self.bo_info(),
            "GEM_CLOSE" => self.gem_close(),
            "CONTEXT_CREATE" => self.context_create(),
            "CONTEXT_DESTROY" => self.context_destroy(),
            "SUBMIT" => self.submit(),
            "BO_WAIT" => self.bo_wait(),
            "VM_CREATE" => self.vm_create(),
            "VM_DESTROY" => self.vm_destroy(),
            "VM_BIND" => self.vm_bind(),
            "VM_UNBIND" => self.vm_unbind(),
            "MMAP" => self.mmap(),
            _ => self.bo_create_userptr(),
        }
    }

    fn query(&mut self) -> Result<(), Errno> {
        let r = &mut self.rng;
        let mut q = drm_xaccel_query {
            type_: if hostile(r) {
                junk32(r)
            } else {
                r.below(4) as u32
            },
            flags: if hostile(r) { junk32(r) } else { 0 },
            item_size: if hostile(r) { junk32(r) } else { 64 },
            count: if hostile(r) {
                count(r)
            } else {
                r.below(20) as u32
            },
            items: self.scratch.pointer(r),
            reserved: if hostile(r) { junk64(r) } else { 0 },
        };
        // Whatever the kernel writes stays inside the buffer: at most `count` items of at most
        // `item_size` bytes (both capped by the kernel too).
        if q.items >= self.scratch.addr() && q.items < self.scratch.addr() + 4096 {
            let room = (self.scratch.len() - 4096) as u64;
            if u64::from(q.count) * u64::from(q.item_size) > room {
                q.count = (room / u64::from(q.item_size.max(1))) as u32;
            }
        }
        // SAFETY: `items` is null, refused by the kernel, or inside the buffer with room for
        // every item the kernel may write (above).
        unsafe { self.dev.query_raw(&mut q) }
    }

    fn bo_create(&mut self) -> Result<(), Errno> {
        let page = self.page;
        let region = self.index(self.regions);
        let r = &mut self.rng;
        let mut args = drm_xaccel_bo_create {
            size: if hostile(r) {
                size(r, page)
            } else {
                page * (1 + r.below(4))
            },
            region,
            flags: if hostile(r) { junk32(r) } else { 0 },
            alignment: if hostile(r) { size(r, page) } else { 0 },
            handle: junk32(r),
            pad: if hostile(r) { junk32(r) } else { 0 },
            reserved: [
                if hostile(r) { junk64(r) } else { 0 },
                if hostile(r) { junk64(r) } else { 0 },
            ],
        };
        self.dev.bo_create_raw(&mut args)?;
        if let Some(old) = admit(&mut self.bos, args.handle) {
            let _ = self.dev.gem_close_raw(old);
        }
        Ok(())
    }

    fn bo_create_userptr(&mut self) -> Result<(), Errno> {
        let page = self.page;
        let r = &mut self.rng;
        let mut args = drm_xaccel_bo_create_userptr {
            userptr: self.scratch.userptr(r),
            size: if hostile(r) {
                size(r, page)
            } else {
                page * (1 + r.below(4))
            },
            flags: if hostile(r) {
                junk32(r)
            } else {
                r.below(2) as u32
            },
            handle: junk32(r),
            reserved: [
                if hostile(r) { junk64(r) } else { 0 },
                if hostile(r) { junk64(r) } else { 0 },
            ],
        };
        self.dev.bo_create_userptr_raw(&mut args)?;
        if let Some(old) = admit(&mut self.bos, args.handle) {
            let _ = self.dev.gem_close_raw(old);
        }
        Ok(())
    }

    fn bo_info(&mut self) -> Result<(), Errno> {
        let r = &mut self.rng;
        let mut args = drm_xaccel_bo_info {
            handle: handle(r, &self.bos),
            pad: if hostile(r) { junk32(r) } else { 0 },
            reserved: if hostile(r) { junk64(r) } else { 0 },
            ..Default::default()
        };
        self.dev.bo_info_raw(&mut args)
    }

    fn gem_close(&mut self) -> Result<(), Errno> {
        // Never the command buffer's: its handle could then name another BO.
        let id = match handle(&mut self.rng, &self.bos) {
            id if id == self.cmd => 0,
            id => id,
        };
        self.dev.gem_close_raw(id)?;
        self.bos.retain(|&b| b != id);
        Ok(())
    }

    fn context_create(&mut self) -> Result<(), Errno> {
        let engine = self.index(self.engines);
        let priority = self.index(4);
        let r = &mut self.rng;
        let mut args = drm_xaccel_context_create {
            engine,
            priority,
            flags: if hostile(r) { junk32(r) } else { 0 },
            context_id: junk32(r),
            reserved: if hostile(r) { junk64(r) } else { 0 },
        };
        self.dev.context_create_raw(&mut args)?;
        self.engine_of.insert(args.context_id, args.engine);
        if let Some(old) = admit(&mut self.contexts, args.context_id) {
            let mut destroy = drm_xaccel_context_destroy {
                context_id: old,
                ..Default::default()
            };
            let _ = self.dev.context_destroy_raw(&mut destroy);
        }
        Ok(())
    }

    fn context_destroy(&mut self) -> Result<(), Errno> {
        let r = &mut self.rng;
        let mut args = drm_xaccel_context_destroy {
            context_id: handle(r, &self.contexts),
            pad: if hostile(r) { junk32(r) } else { 0 },
        };
        self.dev.context_destroy_raw(&mut args)?;
        self.contexts.retain(|&c| c != args.context_id);
        Ok(())
    }

    fn submit(&mut self) -> Result<(), Errno> {
        // The in-syncobjs and the BO list, written to the buffer's first and second pages.
        let in_count = self.rng.below(3) as usize;
        let waits = if self.rng.clean {
            &self.fenced
        } else {
            &self.syncobjs
        };
        let refs: Vec<drm_xaccel_syncobj_ref> = (0..in_count)
            .map(|_| drm_xaccel_syncobj_ref {
                handle: handle(&mut self.rng, waits),
                flags: if hostile(&mut self.rng) {
                    junk32(&mut self.rng)
                } else {
                    0
                },
                point: if hostile(&mut self.rng) {
                    junk64(&mut self.rng)
                } else {
                    0
                },
            })
            .collect();
        let bo_count = self.rng.below(4) as usize;
        let list: Vec<drm_xaccel_submit_bo> = (0..bo_count)
            .map(|_| drm_xaccel_submit_bo {
                handle: handle(&mut self.rng, &self.bos),
                flags: if hostile(&mut self.rng) {
                    junk32(&mut self.rng)
                } else {
                    self.rng.below(2) as u32
                },
            })
            .collect();
        let in_syncobjs = self.scratch.put(0, &bytes_of(&refs));
        let bos = self.scratch.put(self.page as usize, &bytes_of(&list));
        let page = self.page;
        let r = &mut self.rng;
        let context_id = handle(r, &self.contexts);
        // A clean command buffer is the NOP of the context's engine, whatever the backend.
        let nop = self.engine_of.get(&context_id).and_then(|&e| {
            let size = *self.nops.get(e as usize)?;
            (size > 0).then(|| (NOP_SLOT as u64 * u64::from(e), size))
        });
        let mut args = drm_xaccel_submit {
            context_id,
            flags: if hostile(r) { junk32(r) } else { 0 },
            cmd_handle: if hostile(r) {
                handle(r, &self.bos)
            } else {
                self.cmd
            },
            in_syncobj_count: if hostile(r) {
                count(r)
            } else {
                in_count as u32
            },
            cmd_offset: match nop {
                _ if hostile(r) => size(r, page),
                Some((offset, _)) => offset,
                None => 8 * r.below(8),
            },
            cmd_size: match nop {
                _ if hostile(r) => size(r, page),
                Some((_, size)) => size,
                None => 8 * (1 + r.below(8)),
            },
            in_syncobjs: if hostile(r) {
                self.scratch.pointer(r)
            } else {
                in_syncobjs
            },
            bos: if hostile(r) {
                self.scratch.pointer(r)
            } else {
                bos
            },
            bo_count: if hostile(r) {
                count(r)
            } else {
                bo_count as u32
            },
            out_syncobj: if r.below(4) == 0 {
                0
            } else {
                handle(r, &self.syncobjs)
            },
            out_point: if hostile(r) { junk64(r) } else { 0 },
            timeout_ns: if hostile(r) { junk64(r) } else { 0 },
            seqno: junk64(r),
            // A VM only in hostile calls (a NOP is valid with or without one).
            vm_id: if !r.clean && r.below(3) == 0 {
                handle(r, &self.vms)
            } else {
                0
            },
            pad: if hostile(r) { junk32(r) } else { 0 },
            reserved: if hostile(r) { junk64(r) } else { 0 },
        };
        self.dev.submit_raw(&mut args)
    }

    fn bo_wait(&mut self) -> Result<(), Errno> {
        let r = &mut self.rng;
        let mut args = drm_xaccel_bo_wait {
            handle: handle(r, &self.bos),
            flags: if hostile(r) {
                junk32(r)
            } else {
                r.below(2) as u32
            },
            // Short or negative: a job on a fuzzed BO is a NOP, but a wait must not stall the
            // run if one is queued behind something slow.
            timeout_ns: match r.below(4) {
                0 => -1 - r.below(1000) as i64,
                1 => i64::MIN,
                _ => r.below(1_000_000) as i64,
            },
            pad: if hostile(r) { junk64(r) } else { 0 },
        };
        self.dev.bo_wait_raw(&mut args)
    }

    fn vm_create(&mut self) -> Result<(), Errno> {
        let r = &mut self.rng;
        let mut args = drm_xaccel_vm_create {
            flags: if hostile(r) { junk32(r) } else { 0 },
            vm_id: junk32(r),
            reserved: [
                if hostile(r) { junk64(r) } else { 0 },
                if hostile(r) { junk64(r) } else { 0 },
            ],
        };
        self.dev.vm_create_raw(&mut args)?;
        if let Some(old) = admit(&mut self.vms, args.vm_id) {
            let mut destroy = drm_xaccel_vm_destroy {
                vm_id: old,
                ..Default::default()
            };
            let _ = self.dev.vm_destroy_raw(&mut destroy);
            self.bindings.retain(|b| b.0 != old);
        }
        Ok(())
    }

    fn vm_destroy(&mut self) -> Result<(), Errno> {
        let r = &mut self.rng;
        let mut args = drm_xaccel_vm_destroy {
            vm_id: handle(r, &self.vms),
            pad: if hostile(r) { junk32(r) } else { 0 },
            reserved: if hostile(r) { junk64(r) } else { 0 },
        };
        self.dev.vm_destroy_raw(&mut args)?;
        self.vms.retain(|&v| v != args.vm_id);
        self.bindings.retain(|b| b.0 != args.vm_id);
        Ok(())
    }

    /// A device VA: a page of the first 64 after the VA start, mostly.
    fn va(&mut self) -> u64 {
        if hostile(&mut self.rng) {
            size(&mut self.rng, self.page)
        } else {
            self.va_start + self.page * self.rng.below(64)
        }
    }

    fn vm_bind(&mut self) -> Result<(), Errno> {
        let va = self.va();
        let page = self.page;
        let r = &mut self.rng;
        let mut args = drm_xaccel_vm_bind {
            vm_id: handle(r, &self.vms),
            handle: handle(r, &self.bos),
            bo_offset: if hostile(r) { size(r, page) } else { 0 },
            size: if hostile(r) {
                size(r, page)
            } else {
                page * (1 + r.below(2))
            },
            va,
            flags: if hostile(r) {
                junk32(r)
            } else {
                1 + r.below(2) as u32
            },
            pad: if hostile(r) { junk32(r) } else { 0 },
            reserved: [
                if hostile(r) { junk64(r) } else { 0 },
                if hostile(r) { junk64(r) } else { 0 },
            ],
        };
        self.dev.vm_bind_raw(&mut args)?;
        self.bindings.push((args.vm_id, args.va, args.size));
        if self.bindings.len() > POOL {
            self.bindings.remove(0);
        }
        Ok(())
    }

    fn vm_unbind(&mut self) -> Result<(), Errno> {
        // A clean call unbinds the range VM_BIND mapped last (unless something unmapped it).
        let bound = if self.rng.clean {
            self.bindings.pop()
        } else {
            None
        };
        let va = self.va();
        let page = self.page;
        let r = &mut self.rng;
        let (vm_id, va, size) = match bound {
            Some(range) => range,
            None => (
                handle(r, &self.vms),
                va,
                if hostile(r) {
                    size(r, page)
                } else {
                    page * (1 + r.below(2))
                },
            ),
        };
        let mut args = drm_xaccel_vm_unbind {
            vm_id,
            flags: if hostile(r) { junk32(r) } else { 0 },
            va,
            size,
            reserved: [
                if hostile(r) { junk64(r) } else { 0 },
                if hostile(r) { junk64(r) } else { 0 },
            ],
        };
        self.dev.vm_unbind_raw(&mut args)
    }

    /// `mmap()` of a BO (its offset and size from BO_INFO), touched in a few pages, and kept;
    /// first, an older mapping is touched again.
    fn mmap(&mut self) -> Result<(), Errno> {
        let page = self.page as usize;
        if !self.maps.is_empty() {
            let old = self.rng.below(self.maps.len() as u64) as usize;
            self.maps[old].touch(&mut self.rng, page);
        }
        let mut info = drm_xaccel_bo_info {
            handle: handle(&mut self.rng, &self.bos),
            ..Default::default()
        };
        let (offset, bo_size, read_only) = match self.dev.bo_info_raw(&mut info) {
            Ok(()) => (
                info.mmap_offset,
                info.size,
                info.flags & DRM_XACCEL_BO_READ_ONLY != 0,
            ),
            // No such BO: an offset that names none.
            Err(_) => (self.page * self.rng.below(1 << 20), self.page, false),
        };
        let r = &mut self.rng;
        let offset = if hostile(r) {
            match r.below(4) {
                0 => offset + self.page,
                1 => offset.saturating_sub(self.page),
                2 => offset + 1,
                _ => size(r, self.page),
            }
        } else {
            offset
        };
        let len = if hostile(r) {
            size(r, self.page)
        } else {
            self.page * (1 + r.below((bo_size / self.page).max(1)))
        };
        let prot = if hostile(r) {
            [
                ProtFlags::empty(),
                ProtFlags::READ,
                ProtFlags::WRITE,
                ProtFlags::READ | ProtFlags::WRITE,
            ][r.below(4) as usize]
        } else if read_only {
            ProtFlags::READ
        } else {
            ProtFlags::READ | ProtFlags::WRITE
        };
        let flags = if hostile(r) && r.below(2) == 0 {
            MapFlags::PRIVATE
        } else {
            MapFlags::SHARED
        };
        let len = usize::try_from(len).map_err(|_| Errno::INVAL)?;
        // SAFETY: A new mapping at an address the kernel picks replaces nothing.
        let addr = unsafe { mmap(std::ptr::null_mut(), len, prot, flags, self.dev, offset) }?;
        let map = CpuMap {
            addr: NonNull::new(addr.cast()).ok_or(Errno::INVAL)?,
            len,
            prot,
        };
        for _ in 0..1 + self.rng.below(3) {
            map.touch(&mut self.rng, page);
        }
        if self.maps.len() == POOL {
            self.maps.remove(0);
        }
        self.maps.push(map);
        Ok(())
    }

    /// Refreshes the syncobj pool (not fuzzed: DRM's own ioctls): a new one, signalled or not,
    /// replacing the oldest.
    pub fn refresh_syncobjs(&mut self) {
        let signaled = self.rng.below(2) == 0;
        if let Ok(id) = self.dev.syncobj_create_raw(signaled) {
            if let Some(old) = admit(&mut self.syncobjs, id) {
                self.fenced.retain(|&s| s != old);
                let _ = self.dev.syncobj_destroy_raw(old);
            }
            if signaled {
                self.fenced.push(id);
            }
        }
    }
}
