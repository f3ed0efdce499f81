// SPDX-License-Identifier: GPL-2.0-only
//! Reaching what is not the attacker's: its own privileges, another file's and another
//! process's objects, a freed buffer object's bytes, and kernel addresses in what it can read.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Duration;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use xaccel::uapi::{
    drm_xaccel_bo_info, drm_xaccel_context_destroy, drm_xaccel_device_info, drm_xaccel_engine_info,
    drm_xaccel_region_info, drm_xaccel_submit, drm_xaccel_vm_bind, drm_xaccel_vm_create,
    drm_xaccel_vm_destroy, DRM_XACCEL_VM_BIND_READ_WRITE,
};
use xaccel::{Bo, Context, Device, Errno, Priority, RegionFlags, Syncobj, Vm};
use xaccel_selftests::raw::{errno_name, result_name};
use xaccel_selftests::tap::{pass, Failure, Test, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::{Attacker, Target, NOBODY};

type Check<T = ()> = Result<T, Failure>;

/// `got` is one of `want`.
fn expect_one_of(what: &str, got: Result<(), Errno>, want: &[Errno]) -> Check {
    ensure!(
        matches!(got, Err(e) if want.contains(&e)),
        "{what}: got {}, expected {}",
        result_name(&got),
        want.iter()
            .map(|e| errno_name(*e))
            .collect::<Vec<_>>()
            .join(" or ")
    );
    Ok(())
}

fn unprivileged(_: &Attacker) -> TestResult {
    use rustix::process::{getegid, geteuid, getgid, getuid};
    let ids = [
        getuid().as_raw(),
        geteuid().as_raw(),
        getgid().as_raw(),
        getegid().as_raw(),
    ];
    ensure!(ids == [NOBODY; 4], "uid/euid/gid/egid are {ids:?}");
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or("?")
            .to_string()
    };
    ensure!(field("Groups:").is_empty(), "groups: {}", field("Groups:"));
    for cap in ["CapEff:", "CapPrm:", "CapAmb:"] {
        ensure!(
            field(cap).bytes().all(|b| b == b'0'),
            "{cap} {}",
            field(cap)
        );
    }
    pass()
}

/// The objects of one file, as another file (of this or another process) must not see them.
struct Foreign {
    bo: u32,
    offset: u64,
    context: u32,
    vm: u32,
    syncobj: u32,
}

/// Every use of `foreign`'s numbers through `dev`, a file that has no such objects.
fn unreachable_from(dev: &Device, foreign: &Foreign) -> Check {
    let mut info = drm_xaccel_bo_info {
        handle: foreign.bo,
        ..Default::default()
    };
    expect_one_of("BO_INFO", dev.bo_info_raw(&mut info), &[Errno::NOENT])?;
    expect_one_of("GEM_CLOSE", dev.gem_close_raw(foreign.bo), &[Errno::INVAL])?;
    let mut destroy = drm_xaccel_context_destroy {
        context_id: foreign.context,
        pad: 0,
    };
    expect_one_of(
        "CONTEXT_DESTROY",
        dev.context_destroy_raw(&mut destroy),
        &[Errno::NOENT],
    )?;
    // A NOP-sized command buffer in the foreign BO, on the foreign context.
    let mut submit = drm_xaccel_submit {
        context_id: foreign.context,
        cmd_handle: foreign.bo,
        cmd_size: 8,
        ..Default::default()
    };
    expect_one_of("SUBMIT", dev.submit_raw(&mut submit), &[Errno::NOENT])?;
    let mut bind = drm_xaccel_vm_bind {
        vm_id: foreign.vm,
        handle: foreign.bo,
        size: 4096,
        va: dev.device_info()?.va_start,
        flags: DRM_XACCEL_VM_BIND_READ_WRITE,
        ..Default::default()
    };
    expect_one_of("VM_BIND", dev.vm_bind_raw(&mut bind), &[Errno::NOENT])?;
    let mut vm_destroy = drm_xaccel_vm_destroy {
        vm_id: foreign.vm,
        ..Default::default()
    };
    expect_one_of(
        "VM_DESTROY",
        dev.vm_destroy_raw(&mut vm_destroy),
        &[Errno::NOENT],
    )?;
    expect_one_of(
        "SYNCOBJ_WAIT",
        dev.syncobj_wait_raw(&[foreign.syncobj], &[0], Duration::ZERO),
        &[Errno::NOENT, Errno::INVAL],
    )?;
    expect_one_of(
        "SYNCOBJ_DESTROY",
        dev.syncobj_destroy_raw(foreign.syncobj),
        &[Errno::INVAL, Errno::NOENT],
    )?;
    // SAFETY: A new shared mapping of the device file; never touched.
    let mapped = unsafe {
        mmap(
            std::ptr::null_mut(),
            4096,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            dev.as_fd(),
            foreign.offset,
        )
    };
    if let Ok(addr) = mapped {
        // SAFETY: The mapping made just above.
        let _ = unsafe { munmap(addr, 4096) };
    }
    expect_one_of("mmap()", mapped.map(|_| ()), &[Errno::ACCESS])
}

fn other_files(a: &Attacker) -> TestResult {
    for t in &a.targets {
        let owner = Device::open(&t.path)?;
        let system = owner.system_region()?.map_or(0, |r| r.id);
        let bo = Bo::create(&owner, 4096, system)?;
        bo.map()?.write(0, &[0x3c; 4096]);
        let context = Context::create(&owner, 0, Priority::Normal)?;
        let vm = Vm::create(&owner)?;
        let syncobj = Syncobj::create(&owner, true)?;
        let other = Device::open(&t.path)?;
        let foreign = Foreign {
            bo: bo.handle(),
            offset: bo.info().mmap_offset,
            context: context.id(),
            vm: vm.id(),
            syncobj: syncobj.handle(),
        };
        unreachable_from(&other, &foreign)
            .map_err(|e| Failure(format!("{}: {}", t.path.display(), e.0)))?;
        let mut back = [0u8; 4096];
        bo.map()?.read(0, &mut back);
        ensure!(back == [0x3c; 4096], "the owner's BO changed");
        owner.bo_info(bo.handle())?;
    }
    pass()
}

fn other_process(a: &Attacker) -> TestResult {
    for t in &a.targets {
        let (bo, offset, context, vm, syncobj) = t.victim;
        let dev = Device::open(&t.path)?;
        unreachable_from(
            &dev,
            &Foreign {
                bo,
                offset,
                context,
                vm,
                syncobj,
            },
        )
        .map_err(|e| Failure(format!("{}: {}", t.path.display(), e.0)))?;
    }
    pass()
}

/// Bytes of each buffer object this test frees and then allocates again.
const STALE_LEN: u64 = 1 << 20;
/// Buffer objects of each round.
const STALE_BOS: usize = 4;

fn stale_region(t: &Target, region: u32) -> Check {
    let len = STALE_LEN;
    {
        let first = Device::open(&t.path)?;
        for _ in 0..STALE_BOS {
            let bo = Bo::create(&first, len, region)?;
            bo.map()?.fill(0xa5);
            bo.close()?;
        }
    }
    let second = Device::open(&t.path)?;
    let mut kept = Vec::new();
    for i in 0..STALE_BOS {
        let bo = Bo::create(&second, len, region)?;
        if let Some(at) = bo.map()?.find_not(0) {
            fail!("region {region}: new BO {i} holds a stale byte at {at}");
        }
        kept.push(bo);
    }
    Ok(())
}

fn stale_memory(a: &Attacker) -> TestResult {
    let mut regions = 0;
    for t in &a.targets {
        let dev = Device::open(&t.path)?;
        for r in dev.regions()? {
            if !r.flags.contains(RegionFlags::CPU_VISIBLE) || r.size < STALE_BOS as u64 * STALE_LEN
            {
                continue;
            }
            regions += 1;
            stale_region(t, r.id)
                .map_err(|e| Failure(format!("{} {}: {}", t.path.display(), r.name, e.0)))?;
        }
    }
    ensure!(regions > 0, "no CPU-visible region to check");
    pass()
}

/// Whether `word` looks like a kernel address (x86-64: the upper half, not all ones).
fn kernel_address(word: u64) -> bool {
    word >= 0xffff_8000_0000_0000 && word != u64::MAX
}

/// The 64-bit words of a uAPI struct (all explicitly padded, so every byte is the kernel's).
fn words<T>(item: &T) -> Vec<u64> {
    let size = std::mem::size_of::<T>();
    // SAFETY: `item` is a live `T` of `size` bytes; uAPI structs have no implicit padding.
    let bytes = unsafe { std::slice::from_raw_parts((item as *const T).cast::<u8>(), size) };
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .collect()
}

/// Hexadecimal or decimal numbers in `text` that look like kernel addresses.
fn text_addresses(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|tok| {
            let hex = tok.strip_prefix("0x").unwrap_or(tok);
            (hex.len() == 16 && u64::from_str_radix(hex, 16).is_ok_and(kernel_address))
                || tok.parse::<u64>().is_ok_and(kernel_address)
        })
        .map(str::to_string)
        .collect()
}

/// Every file under `dir` this process can read (debugfs: usually none), at most `budget`.
fn readable_files(dir: &Path, out: &mut Vec<std::path::PathBuf>, budget: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if *budget == 0 {
            return;
        }
        let path = e.path();
        match e.file_type() {
            Ok(ft) if ft.is_dir() => readable_files(&path, out, budget),
            Ok(ft) if ft.is_file() => {
                *budget -= 1;
                out.push(path);
            }
            _ => {}
        }
    }
}

fn kernel_pointers(a: &Attacker) -> TestResult {
    let mut found = Vec::new();
    for t in &a.targets {
        let dev = Device::open(&t.path)?;
        let mut seen: Vec<u64> = Vec::new();
        for item in dev.query_items::<drm_xaccel_device_info>()? {
            seen.extend(words(&item));
        }
        for item in dev.query_items::<drm_xaccel_engine_info>()? {
            seen.extend(words(&item));
        }
        for item in dev.query_items::<drm_xaccel_region_info>()? {
            seen.extend(words(&item));
        }
        let system = dev.system_region()?.map_or(0, |r| r.id);
        let bo = Bo::create(&dev, 4096, system)?;
        let mut info = drm_xaccel_bo_info {
            handle: bo.handle(),
            ..Default::default()
        };
        dev.bo_info_raw(&mut info)?;
        seen.extend(words(&info));
        let mut vm = drm_xaccel_vm_create::default();
        dev.vm_create_raw(&mut vm)?;
        seen.extend(words(&vm));
        if let Some(w) = seen.iter().find(|&&w| kernel_address(w)) {
            found.push(format!("{}: ioctl output {w:#x}", t.path.display()));
        }
        let fdinfo = format!("/proc/self/fdinfo/{}", dev.as_fd().as_raw_fd());
        for hit in text_addresses(&std::fs::read_to_string(&fdinfo)?) {
            found.push(format!("{fdinfo}: {hit}"));
        }
    }
    let mut files = Vec::new();
    let mut budget = 4096;
    readable_files(
        Path::new("/sys/kernel/debug/accel"),
        &mut files,
        &mut budget,
    );
    readable_files(
        Path::new("/sys/kernel/debug/dma_buf"),
        &mut files,
        &mut budget,
    );
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            for hit in text_addresses(&text) {
                found.push(format!("{}: {hit}", f.display()));
            }
        }
    }
    ensure!(found.is_empty(), "kernel addresses:\n{}", found.join("\n"));
    pass()
}

/// The other probes, in order: (TAP name, function).
#[rustfmt::skip]
pub const TESTS: &[Test<Attacker>] = &[
    ("the attacker runs as uid/gid 65534 with no groups and no capabilities", unprivileged),
    ("another file's BOs, contexts, VMs and syncobjs are unreachable",        other_files),
    ("another process's BOs, contexts, VMs and syncobjs are unreachable",     other_process),
    ("a new BO in every CPU-visible region holds none of a freed BO's bytes", stale_memory),
    ("no kernel address in ioctl outputs, fdinfo or readable debugfs files",  kernel_pointers),
];
