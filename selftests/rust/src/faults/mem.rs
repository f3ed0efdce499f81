// SPDX-License-Identifier: GPL-2.0-only
//! The memory calls under fault injection: QUERY, BO_CREATE (each region), BO_CREATE_USERPTR,
//! BO_INFO, GEM_CLOSE, `mmap()` and the first fault of each kind of buffer object, PRIME
//! export and import, and the VM ioctls.

use std::cell::RefCell;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::{Command, ExitCode, Stdio};
use std::ptr::NonNull;

use rustix::mm::{mmap as map, mmap_anonymous, munmap, MapFlags, ProtFlags};
use xaccel::uapi::*;
use xaccel::{Device, Errno, QueryItem, RegionFlags, RegionKind, PRIME_FLAGS};
use xaccel_selftests::raw::{item_size, ItemBuf};
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

use crate::inject::{Injector, Shot};
use crate::state::Check;
use crate::state::State;
use crate::sweep::{sweep, sweep_relaxed, Call, Sweep};
use crate::Ctx;

/// Pages of every buffer object the sweeps make: small, so that a call reaches few points.
const PAGES: u64 = 4;

/// What each call may fail with besides `ENOMEM` (`Documentation/uapi.rst`).
const QUERY_ERRNOS: &[Errno] = &[Errno::INVAL, Errno::OVERFLOW, Errno::FAULT];
/// Not `ENOSPC`, which uapi.rst gives BO_CREATE for a full region: the sweep's region has room,
/// so `ENOSPC` would be an allocation failure misreported (the shmem layer's errno for a failed
/// inode allocation, which the core turns into `ENOMEM`).
const BO_CREATE_ERRNOS: &[Errno] = &[Errno::INVAL, Errno::TOOBIG];
const USERPTR_ERRNOS: &[Errno] = &[
    Errno::INVAL,
    Errno::TOOBIG,
    Errno::FAULT,
    Errno::ACCESS,
    Errno::OPNOTSUPP,
    Errno::NOSPC,
];
const MMAP_ERRNOS: &[Errno] = &[Errno::INVAL, Errno::ACCESS, Errno::NODEV, Errno::OVERFLOW];
const VM_BIND_ERRNOS: &[Errno] = &[
    Errno::INVAL,
    Errno::NOENT,
    Errno::EXIST,
    Errno::ACCESS,
    Errno::OPNOTSUPP,
    Errno::NOSPC,
];

/// One line of a test: a call variant and its sweep.
type Lines = Vec<(String, Sweep)>;

/// BO_CREATE of `PAGES` pages in `region`, without injection.
pub fn bo(dev: &Device, region: u32, page: u64) -> Check<u32> {
    let mut args = drm_xaccel_bo_create {
        size: PAGES * page,
        region,
        ..Default::default()
    };
    dev.bo_create_raw(&mut args)
        .map_err(|e| Failure(format!("BO_CREATE in region {region}: {e}")))?;
    Ok(args.handle)
}

/// GEM_CLOSE, which must work.
pub fn close(dev: &Device, handle: u32) -> Check {
    dev.gem_close_raw(handle)
        .map_err(|e| Failure(format!("GEM_CLOSE of {handle}: {e}")))
}

/// Anonymous memory, written (every page present), unmapped when dropped.
pub struct Anon {
    addr: NonNull<u8>,
    len: usize,
}

impl Anon {
    pub fn new(len: usize) -> Check<Self> {
        // SAFETY: A new private anonymous mapping replaces nothing.
        let addr = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }?;
        let addr = NonNull::new(addr.cast::<u8>()).ok_or(Failure("mmap gave null".into()))?;
        // SAFETY: The mapping is ours, `len` bytes, writable.
        unsafe { addr.as_ptr().write_bytes(0x5a, len) };
        Ok(Self { addr, len })
    }

    pub fn addr(&self) -> u64 {
        self.addr.as_ptr() as u64
    }
}

impl Drop for Anon {
    fn drop(&mut self) {
        // SAFETY: Our mapping; nothing refers into it any more.
        let _ = unsafe { munmap(self.addr.as_ptr().cast(), self.len) };
    }
}

/// QUERY of `T`'s items, `count` of them, into a buffer written beforehand.
fn query_one<T: QueryItem>(c: &Ctx, count: u32, what: &str) -> Check<Sweep> {
    let stride = item_size::<T>();
    let buf = RefCell::new(ItemBuf::new(stride as usize * count as usize));
    sweep(
        c,
        what,
        QUERY_ERRNOS,
        Call::<(), ()>::simple(
            |shot| {
                let mut buf = buf.borrow_mut();
                shot.fire(|| buf.query::<T>(&c.dev, stride, count).0)
            },
            |()| Ok(()),
        ),
    )
}

pub fn query(c: &Ctx) -> Check<Lines> {
    let info = c.dev.device_info()?;
    Ok(vec![
        (
            "DEVICE".into(),
            query_one::<drm_xaccel_device_info>(c, 1, "QUERY DEVICE")?,
        ),
        (
            "ENGINES".into(),
            query_one::<drm_xaccel_engine_info>(c, info.engine_count, "QUERY ENGINES")?,
        ),
        (
            "REGIONS".into(),
            query_one::<drm_xaccel_region_info>(c, info.region_count, "QUERY REGIONS")?,
        ),
    ])
}

pub fn bo_create(c: &Ctx) -> Check<Lines> {
    let mut lines = Vec::new();
    for region in &c.regions {
        let what = format!("BO_CREATE in {}", region.name);
        let s = sweep(
            c,
            &what,
            BO_CREATE_ERRNOS,
            Call::<(), u32>::simple(
                |shot| {
                    let mut args = drm_xaccel_bo_create {
                        size: PAGES * c.page,
                        region: region.id,
                        ..Default::default()
                    };
                    shot.fire(|| c.dev.bo_create_raw(&mut args))?;
                    Ok(args.handle)
                },
                |handle| close(&c.dev, handle),
            ),
        )?;
        lines.push((region.name.clone(), s));
    }
    Ok(lines)
}

pub fn bo_create_userptr(c: &Ctx) -> Check<Lines> {
    let memory = Anon::new((PAGES * c.page) as usize)?;
    let mut lines = Vec::new();
    for (name, flags) in [("writable", 0), ("read-only", DRM_XACCEL_BO_READ_ONLY)] {
        let s = sweep(
            c,
            &format!("BO_CREATE_USERPTR {name}"),
            USERPTR_ERRNOS,
            Call::<(), u32>::simple(
                |shot| {
                    let mut args = drm_xaccel_bo_create_userptr {
                        userptr: memory.addr(),
                        size: PAGES * c.page,
                        flags,
                        ..Default::default()
                    };
                    shot.fire(|| c.dev.bo_create_userptr_raw(&mut args))?;
                    Ok(args.handle)
                },
                |handle| close(&c.dev, handle),
            ),
        )?;
        lines.push((name.into(), s));
    }
    Ok(lines)
}

pub fn bo_info(c: &Ctx) -> Check<Lines> {
    let handle = bo(&c.dev, c.system, c.page)?;
    let s = sweep(
        c,
        "BO_INFO",
        &[Errno::INVAL, Errno::NOENT],
        Call::<(), ()>::simple(
            |shot| {
                let mut args = drm_xaccel_bo_info {
                    handle,
                    ..Default::default()
                };
                shot.fire(|| c.dev.bo_info_raw(&mut args))
            },
            |()| Ok(()),
        ),
    );
    close(&c.dev, handle)?;
    Ok(vec![("system BO".into(), s?)])
}

pub fn gem_close(c: &Ctx) -> Check<Lines> {
    let s = sweep(
        c,
        "GEM_CLOSE",
        &[Errno::INVAL],
        Call {
            setup: Box::new(|| bo(&c.dev, c.system, c.page)),
            call: Box::new(|shot, handle| shot.fire(|| c.dev.gem_close_raw(*handle))),
            // The handle must still be there after a failure.
            finish: Box::new(|handle, out| match out {
                Some(()) => Ok(()),
                None => close(&c.dev, handle),
            }),
        },
    )?;
    Ok(vec![("system BO".into(), s)])
}

/// A kind of buffer object to map: a region's, user memory, or a peer device's import.
#[derive(Clone)]
enum Kind {
    Region(u32),
    Userptr,
    Import,
}

/// A fresh buffer object of `kind`, with what keeps it valid.
struct Fresh {
    handle: u32,
    offset: u64,
    _memory: Option<Anon>,
}

impl Fresh {
    fn new(c: &Ctx, peer: Option<&Device>, kind: &Kind) -> Check<Self> {
        let len = PAGES * c.page;
        let (handle, memory) = match kind {
            Kind::Region(region) => (bo(&c.dev, *region, c.page)?, None),
            Kind::Userptr => {
                let memory = Anon::new(len as usize)?;
                let mut args = drm_xaccel_bo_create_userptr {
                    userptr: memory.addr(),
                    size: len,
                    ..Default::default()
                };
                c.dev.bo_create_userptr_raw(&mut args)?;
                (args.handle, Some(memory))
            }
            Kind::Import => {
                let Some(peer) = peer else {
                    fail!("no peer device");
                };
                let system = peer.system_region()?.map_or(0, |r| r.id);
                let theirs = xaccel::Bo::create(peer, len, system)?;
                let fd = theirs.export()?;
                (c.dev.prime_fd_to_handle_raw(fd.as_fd())?, None)
            }
        };
        let offset = c.dev.bo_info(handle)?.mmap_offset;
        Ok(Self {
            handle,
            offset,
            _memory: memory,
        })
    }
}

/// The kinds of buffer object the CPU can map on this device, named.
fn kinds(c: &Ctx) -> Vec<(String, Kind)> {
    let mut kinds: Vec<(String, Kind)> = c
        .regions
        .iter()
        .filter(|r| r.kind == RegionKind::System || r.flags.contains(RegionFlags::CPU_VISIBLE))
        .map(|r| (r.name.clone(), Kind::Region(r.id)))
        .collect();
    kinds.push(("userptr".into(), Kind::Userptr));
    if c.peer.is_some() {
        kinds.push(("import".into(), Kind::Import));
    }
    kinds
}

fn open_peer(c: &Ctx) -> Check<Option<Device>> {
    c.peer
        .as_ref()
        .map(|p| Device::open(p).map_err(Failure::from))
        .transpose()
}

pub fn mmap(c: &Ctx) -> Check<Lines> {
    let peer = open_peer(c)?;
    let len = (PAGES * c.page) as usize;
    let mut lines = Vec::new();
    for (name, kind) in kinds(c) {
        let s = sweep(
            c,
            &format!("mmap of a {name} BO"),
            MMAP_ERRNOS,
            Call {
                setup: Box::new(|| Fresh::new(c, peer.as_ref(), &kind)),
                call: Box::new(|shot, fresh| {
                    let offset = fresh.offset;
                    // SAFETY: A new shared mapping at an address the kernel picks replaces
                    // nothing; the offset names a BO of the file.
                    shot.fire(|| unsafe {
                        map(
                            std::ptr::null_mut(),
                            len,
                            ProtFlags::READ | ProtFlags::WRITE,
                            MapFlags::SHARED,
                            c.dev.as_fd(),
                            offset,
                        )
                    })
                }),
                finish: Box::new(|fresh, out| {
                    if let Some(addr) = out {
                        // SAFETY: The mapping just made; nothing refers into it.
                        unsafe { munmap(addr, len) }?;
                    }
                    close(&c.dev, fresh.handle)
                }),
            },
        )?;
        lines.push((name, s));
    }
    Ok(lines)
}

pub fn first_fault(c: &Ctx) -> Check<Lines> {
    let peer = open_peer(c)?;
    let exe = std::env::current_exe()?;
    let len = PAGES * c.page;
    let mut lines = Vec::new();
    for (name, kind) in kinds(c) {
        let what = format!("first fault of a {name} BO mapping");
        let s = sweep(
            c,
            &what,
            &[],
            Call {
                setup: Box::new(|| Fresh::new(c, peer.as_ref(), &kind)),
                call: Box::new(|shot, fresh| fault_in_child(c, &exe, shot, fresh.offset, len)),
                finish: Box::new(|fresh, _| close(&c.dev, fresh.handle)),
            },
        )?;
        lines.push((name, s));
    }
    Ok(lines)
}

/// Maps `len` bytes at `offset` in a child process (sharing the open file), which arms its own
/// fail-nth for the first write to the mapping. A child killed by a signal (SIGBUS where the
/// fault should have been retried) fails the call with `EFAULT`.
fn fault_in_child(
    c: &Ctx,
    exe: &std::path::Path,
    shot: &Shot<'_>,
    offset: u64,
    len: u64,
) -> Result<(), Errno> {
    // Without close-on-exec, for the child.
    let fd: OwnedFd = rustix::io::dup(c.dev.as_fd())?;
    let out = Command::new(exe)
        .arg("--fault-child")
        .args([
            fd.as_raw_fd().to_string(),
            offset.to_string(),
            len.to_string(),
            shot.nth().to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|_| Errno::NOMEM)?;
    drop(fd);
    let text = String::from_utf8_lossy(&out.stdout);
    let injected = text.lines().any(|l| l == "injected=1");
    shot.report(injected);
    if out.status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    match out.status.signal() {
        Some(signal) => {
            xaccel_selftests::tap::diag(&format!(
                "the child faulting the mapping was killed by signal {signal}"
            ));
            Err(Errno::FAULT)
        }
        None => Err(text
            .lines()
            .find_map(|l| l.strip_prefix("mmap-errno="))
            .and_then(|e| e.parse().ok())
            .map_or(Errno::INVAL, Errno::from_raw_os_error)),
    }
}

/// Where the child of [`fault_in_child`] asks for its mapping: 64 TiB, a PUD of its own.
const FAULT_HINT: usize = 0x4000_0000_0000;

/// The child of [`fault_in_child`]: `FD OFFSET LEN NTH`.
pub fn fault_child(args: &[u64]) -> ExitCode {
    let [fd, offset, len, nth] = args[..] else {
        return ExitCode::FAILURE;
    };
    // SAFETY: The parent passed an fd it keeps open until this process exits.
    let fd = unsafe { BorrowedFd::borrow_raw(fd as i32) };
    // Far from every other mapping, so that the first fault needs new page tables too. A hint:
    // the kernel picks another address if this one is taken.
    let hint = FAULT_HINT as *mut std::ffi::c_void;
    // SAFETY: A new shared mapping replaces nothing (not MAP_FIXED).
    let addr = match unsafe {
        map(
            hint,
            len as usize,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            offset,
        )
    } {
        Ok(addr) => addr.cast::<u8>(),
        Err(e) => {
            println!("mmap-errno={}", e.raw_os_error());
            return ExitCode::from(2);
        }
    };
    let Ok(Some(injector)) = Injector::open() else {
        return ExitCode::from(3);
    };
    // SAFETY: The first byte of the mapping made above, writable.
    let ((), injected) = injector.during(nth as u32, || unsafe { addr.write_volatile(1) });
    println!("injected={}", u8::from(injected));
    ExitCode::SUCCESS
}

pub fn prime_export(c: &Ctx) -> Check<Lines> {
    let mut lines = Vec::new();
    for region in &c.regions {
        let s = sweep_relaxed(
            c,
            &format!("PRIME_HANDLE_TO_FD of a {} BO", region.name),
            &[Errno::INVAL, Errno::NOENT],
            Call {
                setup: Box::new(|| bo(&c.dev, region.id, c.page)),
                call: Box::new(|shot, handle| {
                    let mut args = xaccel::drm_prime_handle {
                        handle: *handle,
                        flags: PRIME_FLAGS,
                        fd: -1,
                    };
                    shot.fire(|| c.dev.prime_handle_to_fd_raw(&mut args))?;
                    // SAFETY: The kernel installed a new fd that nothing else owns.
                    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(args.fd) })
                }),
                finish: Box::new(|handle, fd| {
                    drop(fd);
                    close(&c.dev, handle)
                }),
            },
            State::without_exports,
        )?;
        lines.push((region.name.clone(), s));
    }
    Ok(lines)
}

pub fn prime_import(c: &Ctx) -> Check<Lines> {
    let other = c.open_again()?;
    let peer = open_peer(c)?;
    let mut exporters = vec![("another file's BO".to_string(), &other)];
    if let Some(peer) = &peer {
        exporters.push(("another device's BO".to_string(), peer));
    }
    let mut lines = Vec::new();
    for (name, exporter) in exporters {
        let system = exporter.system_region()?.map_or(0, |r| r.id);
        let theirs = xaccel::Bo::create(exporter, PAGES * c.page, system)?;
        let fd = theirs.export()?;
        let s = sweep(
            c,
            &format!("PRIME_FD_TO_HANDLE of {name}"),
            &[Errno::BADF, Errno::INVAL],
            Call::<(), u32>::simple(
                |shot| shot.fire(|| c.dev.prime_fd_to_handle_raw(fd.as_fd())),
                |handle| close(&c.dev, handle),
            ),
        )?;
        lines.push((name, s));
    }
    Ok(lines)
}

fn vm_create_raw(dev: &Device) -> Check<u32> {
    let mut args = drm_xaccel_vm_create::default();
    dev.vm_create_raw(&mut args)?;
    Ok(args.vm_id)
}

fn vm_destroy_raw(dev: &Device, vm_id: u32) -> Result<(), Errno> {
    let mut args = drm_xaccel_vm_destroy {
        vm_id,
        ..Default::default()
    };
    dev.vm_destroy_raw(&mut args)
}

pub fn vm_create(c: &Ctx) -> Check<Lines> {
    let s = sweep(
        c,
        "VM_CREATE",
        &[Errno::INVAL, Errno::NOSPC],
        Call::<(), u32>::simple(
            |shot| {
                let mut args = drm_xaccel_vm_create::default();
                shot.fire(|| c.dev.vm_create_raw(&mut args))?;
                Ok(args.vm_id)
            },
            |vm_id| Ok(vm_destroy_raw(&c.dev, vm_id)?),
        ),
    )?;
    Ok(vec![("VM_CREATE".into(), s)])
}

pub fn vm_destroy(c: &Ctx) -> Check<Lines> {
    let handle = bo(&c.dev, c.system, c.page)?;
    let s = sweep(
        c,
        "VM_DESTROY of a VM with a binding",
        &[Errno::INVAL, Errno::NOENT],
        Call {
            setup: Box::new(|| {
                let vm_id = vm_create_raw(&c.dev)?;
                bind(c, vm_id, handle, c.va_start)?;
                Ok(vm_id)
            }),
            call: Box::new(|shot, vm_id| shot.fire(|| vm_destroy_raw(&c.dev, *vm_id))),
            finish: Box::new(|vm_id, out| match out {
                Some(()) => Ok(()),
                None => Ok(vm_destroy_raw(&c.dev, vm_id)?),
            }),
        },
    );
    close(&c.dev, handle)?;
    Ok(vec![("VM with a binding".into(), s?)])
}

fn bind_args(c: &Ctx, vm_id: u32, handle: u32, va: u64, pages: u64) -> drm_xaccel_vm_bind {
    drm_xaccel_vm_bind {
        vm_id,
        handle,
        bo_offset: 0,
        size: pages * c.page,
        va,
        flags: DRM_XACCEL_VM_BIND_READ_WRITE,
        ..Default::default()
    }
}

fn bind(c: &Ctx, vm_id: u32, handle: u32, va: u64) -> Check {
    c.dev
        .vm_bind_raw(&mut bind_args(c, vm_id, handle, va, PAGES))
        .map_err(|e| Failure(format!("VM_BIND: {e}")))
}

fn unbind_raw(c: &Ctx, vm_id: u32, va: u64, pages: u64) -> Result<(), Errno> {
    let mut args = drm_xaccel_vm_unbind {
        vm_id,
        va,
        size: pages * c.page,
        ..Default::default()
    };
    c.dev.vm_unbind_raw(&mut args)
}

/// Every page of `[va, va + PAGES)` is unmapped (each unbind gives ENOENT), or every one is
/// mapped (each bind gives EEXIST).
fn range_is(c: &Ctx, vm_id: u32, handle: u32, va: u64, mapped: bool) -> Check {
    for i in 0..PAGES {
        let at = va + i * c.page;
        let got = if mapped {
            c.dev.vm_bind_raw(&mut bind_args(c, vm_id, handle, at, 1))
        } else {
            unbind_raw(c, vm_id, at, 1)
        };
        let want = if mapped { Errno::EXIST } else { Errno::NOENT };
        ensure!(
            got == Err(want),
            "page {i} of the range: {got:?}, expected {want:?} (the range {} mapped)",
            if mapped { "fully" } else { "not" }
        );
    }
    Ok(())
}

pub fn vm_bind(c: &Ctx) -> Check<Lines> {
    let vm_id = vm_create_raw(&c.dev)?;
    let va = c.va_start;
    let mut lines = Vec::new();
    for region in &c.regions {
        let handle = bo(&c.dev, region.id, c.page)?;
        let s = sweep(
            c,
            &format!("VM_BIND of a {} BO", region.name),
            VM_BIND_ERRNOS,
            Call {
                setup: Box::new(|| Ok(())),
                call: Box::new(|shot, ()| {
                    let mut args = bind_args(c, vm_id, handle, va, PAGES);
                    shot.fire(|| c.dev.vm_bind_raw(&mut args))
                }),
                finish: Box::new(|(), out| match out {
                    Some(()) => Ok(unbind_raw(c, vm_id, va, PAGES)?),
                    // Nothing of the range may be left mapped.
                    None => range_is(c, vm_id, handle, va, false),
                }),
            },
        );
        let closed = close(&c.dev, handle);
        match (s, closed) {
            (Ok(s), Ok(())) => lines.push((region.name.clone(), s)),
            (Err(e), _) | (_, Err(e)) => {
                let _ = vm_destroy_raw(&c.dev, vm_id);
                return Err(e);
            }
        }
    }
    vm_destroy_raw(&c.dev, vm_id)?;
    Ok(lines)
}

pub fn vm_unbind(c: &Ctx) -> Check<Lines> {
    let vm_id = vm_create_raw(&c.dev)?;
    let handle = bo(&c.dev, c.system, c.page)?;
    let va = c.va_start;
    let s = sweep(
        c,
        "VM_UNBIND",
        &[Errno::INVAL, Errno::NOENT],
        Call {
            setup: Box::new(|| bind(c, vm_id, handle, va)),
            call: Box::new(|shot, ()| shot.fire(|| unbind_raw(c, vm_id, va, PAGES))),
            finish: Box::new(|(), out| match out {
                Some(()) => Ok(()),
                None => {
                    // A failed unbind leaves the whole range mapped.
                    range_is(c, vm_id, handle, va, true)?;
                    Ok(unbind_raw(c, vm_id, va, PAGES)?)
                }
            }),
        },
    );
    close(&c.dev, handle)?;
    vm_destroy_raw(&c.dev, vm_id)?;
    Ok(vec![("system BO".into(), s?)])
}
