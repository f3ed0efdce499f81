// SPDX-License-Identifier: GPL-2.0-only
//! Focused tests: the ioctls that oopsed 7.3 (GET_UNIQUE, GET_MAGIC) with well-formed
//! arguments, the allowed ioctls doing their job through the filter, and the PRIME and SYNCOBJ
//! ioctls on real objects with hostile arguments, each errno exact.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use xaccel::{Bo, Device, Errno, Syncobj};
use xaccel_selftests::raw::result_name;
use xaccel_selftests::tap::{pass, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::sweep::{raw_ioctl, Arena, KERNEL_ADDRESS};
use crate::table::{encode, REFUSED};

/// `_IOWR`, `_IOR`, `_IOW`.
const RW: u32 = 3;
const R: u32 = 2;
const W: u32 = 1;

/// One ioctl with a struct of `T` at the arena's start (`ptr` replaces its address if set):
/// the result, and the struct as the kernel left it.
fn call<T: Copy>(
    fd: BorrowedFd<'_>,
    arena: &mut Arena,
    dir: u32,
    nr: u8,
    args: T,
    ptr: Option<u64>,
) -> (Result<(), Errno>, T) {
    let addr = arena.put(0, args);
    let cmd = encode(dir, nr, size_of::<T>() as u32);
    // SAFETY: `addr` is the arena (more than `T`'s size) or an address the kernel refuses;
    // pointers inside `args` are the callers' (arena memory or hostile).
    let result = unsafe { raw_ioctl(fd, cmd, ptr.unwrap_or(addr)) }.map(|_| ());
    (result, arena.get(0))
}

/// Fails unless `result` is `want`.
fn expect(what: &str, result: Result<(), Errno>, want: Result<(), Errno>) -> TestResult {
    ensure!(
        result == want,
        "{what}: {}, expected {}",
        result_name(&result),
        result_name(&want)
    );
    pass()
}

/// `struct drm_unique` (GET_UNIQUE, the oops of issue 14).
#[repr(C)]
#[derive(Clone, Copy)]
struct Unique {
    len: u64,
    ptr: u64,
}

/// GET_UNIQUE, GET_MAGIC and AUTH_MAGIC with well-formed arguments: the filter's errno, and
/// the structs untouched.
pub fn master_ioctls_refused(dev: &Device) -> TestResult {
    let fd = dev.as_fd();
    let mut arena = Arena::new()?;
    let buf = arena.addr() + 1024;
    for (len, ptr) in [(0, 0), (64, buf), (u64::MAX, buf)] {
        let (r, out) = call(fd, &mut arena, RW, 0x01, Unique { len, ptr }, None);
        expect(&format!("GET_UNIQUE len {len}"), r, Err(REFUSED))?;
        ensure!(out.len == len, "GET_UNIQUE wrote unique_len {}", out.len);
    }
    let (r, magic) = call(fd, &mut arena, R, 0x02, 0x5a5a_5a5au32, None);
    expect("GET_MAGIC", r, Err(REFUSED))?;
    ensure!(magic == 0x5a5a_5a5a, "GET_MAGIC wrote magic {magic:#x}");
    expect(
        "AUTH_MAGIC",
        call(fd, &mut arena, W, 0x11, 1u32, None).0,
        Err(REFUSED),
    )?;
    // SET_VERSION 1.4 would set a bus id in the (absent) master: DRM_MASTER refuses it too.
    let sv = [1i32, 4, -1, -1];
    expect(
        "SET_VERSION",
        call(fd, &mut arena, RW, 0x07, sv, None).0,
        Err(REFUSED),
    )?;
    expect(
        "SET_MASTER",
        call(fd, &mut arena, 0, 0x1e, 0u8, Some(0)).0,
        Err(REFUSED),
    )?;
    expect(
        "DROP_MASTER",
        call(fd, &mut arena, 0, 0x1f, 0u8, Some(0)).0,
        Err(REFUSED),
    )?;
    // GEM_FLINK would give a BO a global name (an authenticated, i.e. root, accel client).
    let bo = Bo::create(dev, 4096, 0)?;
    let flink = [bo.handle(), 0];
    expect(
        "GEM_FLINK",
        call(fd, &mut arena, RW, 0x0a, flink, None).0,
        Err(REFUSED),
    )?;
    expect(
        "GEM_OPEN",
        call(fd, &mut arena, RW, 0x0b, [1u32, 0, 0, 0], None).0,
        Err(REFUSED),
    )?;
    pass()
}

/// The allowed ioctls work through the filter: VERSION, GET_CAP, SET_CLIENT_NAME (seen in
/// fdinfo), GEM_CLOSE, and GEM_CHANGE_HANDLE's EINVAL (7.3's drm_invalid_op()).
pub fn allowed_ioctls_work(dev: &Device) -> TestResult {
    let fd = dev.as_fd();
    let mut arena = Arena::new()?;
    ensure!(!dev.version()?.name.is_empty(), "VERSION gave no name");
    // DRM_CAP_PRIME (5): import and export; DRM_CAP_SYNCOBJ_TIMELINE (0x14): 1.
    for (cap, want) in [(5u64, 3u64), (0x13, 1), (0x14, 1)] {
        let (r, out) = call(fd, &mut arena, RW, 0x0c, [cap, 0xdead], None);
        expect(&format!("GET_CAP {cap:#x}"), r, Ok(()))?;
        ensure!(
            out[1] == want,
            "GET_CAP {cap:#x} gave {}, expected {want}",
            out[1]
        );
    }
    // DRM_CAP_DUMB_BUFFER (1) is a KMS cap.
    let (r, _) = call(fd, &mut arena, RW, 0x0c, [1u64, 0], None);
    expect("GET_CAP DUMB_BUFFER", r, Err(Errno::OPNOTSUPP))?;
    let name = b"xaccel-selftest-drm-core";
    arena.put(2048, *name);
    let args = [name.len() as u64, arena.addr() + 2048];
    expect(
        "SET_CLIENT_NAME",
        call(fd, &mut arena, RW, 0xd1, args, None).0,
        Ok(()),
    )?;
    let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    ensure!(
        fdinfo.contains("drm-client-name:\txaccel-selftest-drm-core"),
        "fdinfo has no client name:\n{fdinfo}"
    );
    // Names are printable ASCII without spaces.
    arena.put(2048 + 64, *b"a b ");
    let bad = [4u64, arena.addr() + 2048 + 64];
    expect(
        "SET_CLIENT_NAME with a space",
        call(fd, &mut arena, RW, 0xd1, bad, None).0,
        Err(Errno::INVAL),
    )?;
    let bo = Bo::create(dev, 4096, 0)?;
    let handle = bo.handle();
    std::mem::forget(bo);
    expect(
        "GEM_CLOSE",
        call(fd, &mut arena, W, 0x09, [handle, 0], None).0,
        Ok(()),
    )?;
    expect(
        "GEM_CLOSE again",
        call(fd, &mut arena, W, 0x09, [handle, 0], None).0,
        Err(Errno::INVAL),
    )?;
    let change = [1u32, 2];
    expect(
        "GEM_CHANGE_HANDLE",
        call(fd, &mut arena, RW, 0xd2, change, None).0,
        Err(Errno::INVAL),
    )?;
    pass()
}

/// `struct drm_prime_handle`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Prime {
    handle: u32,
    flags: u32,
    fd: i32,
}

/// PRIME export and import with hostile handles, flags, fds and pointers.
pub fn prime_hostile(dev: &Device) -> TestResult {
    let fd = dev.as_fd();
    let mut arena = Arena::new()?;
    let bo = Bo::create(dev, 4096, 0)?;
    let ok_flags = xaccel::PRIME_FLAGS;
    let export = |arena: &mut Arena, handle, flags, ptr| {
        call(
            fd,
            arena,
            RW,
            0x2d,
            Prime {
                handle,
                flags,
                fd: -1,
            },
            ptr,
        )
    };
    let cases: [(&str, u32, u32, Option<u64>, Errno); 8] = [
        ("handle 0", 0, ok_flags, None, Errno::NOENT),
        ("handle ~0", u32::MAX, ok_flags, None, Errno::NOENT),
        ("flag bit 0", bo.handle(), 1, None, Errno::INVAL),
        ("all flags", bo.handle(), u32::MAX, None, Errno::INVAL),
        ("null struct", bo.handle(), ok_flags, Some(0), Errno::FAULT),
        (
            "unmapped struct",
            bo.handle(),
            ok_flags,
            Some(arena.unmapped),
            Errno::FAULT,
        ),
        (
            "PROT_NONE struct",
            bo.handle(),
            ok_flags,
            Some(arena.forbidden()),
            Errno::FAULT,
        ),
        (
            "kernel struct",
            bo.handle(),
            ok_flags,
            Some(KERNEL_ADDRESS),
            Errno::FAULT,
        ),
    ];
    for (what, handle, flags, ptr, errno) in cases {
        let r = export(&mut arena, handle, flags, ptr).0;
        expect(&format!("PRIME_HANDLE_TO_FD {what}"), r, Err(errno))?;
    }
    let (r, out) = export(&mut arena, bo.handle(), ok_flags, None);
    expect("PRIME_HANDLE_TO_FD", r, Ok(()))?;
    // SAFETY: A successful export returns a new descriptor, owned from here on.
    let dma_buf = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(out.fd) };
    let import = |arena: &mut Arena, fd_in: i32, ptr| {
        call(
            fd,
            arena,
            RW,
            0x2e,
            Prime {
                handle: 0,
                flags: 0,
                fd: fd_in,
            },
            ptr,
        )
    };
    let null = std::fs::File::open("/dev/null")?;
    let syncobj = Syncobj::create(dev, true)?;
    let sync_file = syncobj.export_sync_file()?;
    let cases: [(&str, i32, Option<u64>, Errno); 8] = [
        ("fd -1", -1, None, Errno::BADF),
        ("fd 1 << 30", 1 << 30, None, Errno::BADF),
        ("/dev/null", null.as_raw_fd(), None, Errno::INVAL),
        ("the device itself", fd.as_raw_fd(), None, Errno::INVAL),
        ("a sync_file", sync_file.as_raw_fd(), None, Errno::INVAL),
        ("null struct", dma_buf.as_raw_fd(), Some(0), Errno::FAULT),
        (
            "unmapped struct",
            dma_buf.as_raw_fd(),
            Some(arena.unmapped),
            Errno::FAULT,
        ),
        (
            "kernel struct",
            dma_buf.as_raw_fd(),
            Some(KERNEL_ADDRESS),
            Errno::FAULT,
        ),
    ];
    for (what, fd_in, ptr, errno) in cases {
        let r = import(&mut arena, fd_in, ptr).0;
        expect(&format!("PRIME_FD_TO_HANDLE {what}"), r, Err(errno))?;
    }
    let (r, out) = import(&mut arena, dma_buf.as_raw_fd(), None);
    expect("PRIME_FD_TO_HANDLE", r, Ok(()))?;
    ensure!(
        out.handle == bo.handle(),
        "re-import gave handle {}, not {}",
        out.handle,
        bo.handle()
    );
    pass()
}

/// `struct drm_syncobj_wait` (and `_timeline_wait`, whose `points` sits after `handles`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Wait {
    handles: u64,
    timeout_nsec: i64,
    count_handles: u32,
    flags: u32,
    first_signaled: u32,
    pad: u32,
    deadline_nsec: u64,
}

/// `struct drm_syncobj_timeline_wait`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TimelineWait {
    handles: u64,
    points: u64,
    timeout_nsec: i64,
    count_handles: u32,
    flags: u32,
    first_signaled: u32,
    pad: u32,
    deadline_nsec: u64,
}

/// `struct drm_syncobj_array` (RESET, SIGNAL) and `_timeline_array` (QUERY, TIMELINE_SIGNAL).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Array {
    handles: u64,
    count_handles: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TimelineArray {
    handles: u64,
    points: u64,
    count_handles: u32,
    flags: u32,
}

/// `struct drm_syncobj_handle`, `_transfer`, `_eventfd`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SyncHandle {
    handle: u32,
    flags: u32,
    fd: i32,
    pad: u32,
    point: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Transfer {
    src_handle: u32,
    dst_handle: u32,
    src_point: u64,
    dst_point: u64,
    flags: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct EventFd {
    handle: u32,
    flags: u32,
    point: u64,
    fd: i32,
    pad: u32,
}

/// Most handles a hostile count names here: `drm_syncobj_array_find()` allocates the count
/// before it copies, and 7.3 warns in the page allocator beyond 4 MiB (see
/// Documentation/uapi.rst), so the counts stay large but below a million.
const BIG_COUNT: u32 = 1 << 16;

/// The SYNCOBJ ioctls on real syncobjs with hostile handles, pointers, counts and flags.
pub fn syncobj_hostile(dev: &Device) -> TestResult {
    let fd = dev.as_fd();
    let mut arena = Arena::new()?;
    let signalled = Syncobj::create(dev, true)?;
    let empty = Syncobj::create(dev, false)?;
    let (good, none) = (signalled.handle(), empty.handle());
    // Handle arrays at 4096 (good), 4104 (a stale handle), 4112 (the unsignalled one).
    let base = arena.addr();
    arena.put(4096, [good, good]);
    arena.put(4104, [u32::MAX - 1, 0]);
    arena.put(4112, [none, none]);
    arena.put(8192, [0u64; 4]);
    let hostile_ptrs = [0, arena.unmapped, arena.forbidden(), KERNEL_ADDRESS];
    let wait = |arena: &mut Arena, handles, count, flags| {
        let w = Wait {
            handles,
            count_handles: count,
            flags,
            ..Default::default()
        };
        call(fd, arena, RW, 0xc3, w, None).0
    };
    for ptr in hostile_ptrs {
        expect(
            "WAIT handles pointer",
            wait(&mut arena, ptr, 1, 0),
            Err(Errno::FAULT),
        )?;
        expect(
            "WAIT big count",
            wait(&mut arena, ptr, BIG_COUNT, 0),
            Err(Errno::FAULT),
        )?;
    }
    expect(
        "WAIT stale handle",
        wait(&mut arena, base + 4104, 1, 0),
        Err(Errno::NOENT),
    )?;
    expect(
        "WAIT flag bit 31",
        wait(&mut arena, base + 4096, 1, 1 << 31),
        Err(Errno::INVAL),
    )?;
    expect(
        "WAIT no fence",
        wait(&mut arena, base + 4112, 1, 0),
        Err(Errno::INVAL),
    )?;
    // WAIT_FOR_SUBMIT (2) on a syncobj without a fence, with an absolute timeout of 0.
    expect(
        "WAIT_FOR_SUBMIT, expired",
        wait(&mut arena, base + 4112, 1, 2),
        Err(Errno::TIME),
    )?;
    expect(
        "WAIT signalled",
        wait(&mut arena, base + 4096, 2, 1),
        Ok(()),
    )?;
    expect("WAIT count 0", wait(&mut arena, 0, 0, 0), Ok(()))?;
    let tw = |arena: &mut Arena, handles, points, count| {
        let w = TimelineWait {
            handles,
            points,
            count_handles: count,
            ..Default::default()
        };
        call(fd, arena, RW, 0xca, w, None).0
    };
    for ptr in hostile_ptrs[1..].iter().copied() {
        expect(
            "TIMELINE_WAIT points",
            tw(&mut arena, base + 4096, ptr, 1),
            Err(Errno::FAULT),
        )?;
        expect(
            "TIMELINE_WAIT handles",
            tw(&mut arena, ptr, 0, 1),
            Err(Errno::FAULT),
        )?;
    }
    expect(
        "TIMELINE_WAIT",
        tw(&mut arena, base + 4096, base + 8192, 2),
        Ok(()),
    )?;
    for (nr, name) in [(0xc4u8, "RESET"), (0xc5, "SIGNAL")] {
        let array = |arena: &mut Arena, handles, count, pad| {
            call(
                fd,
                arena,
                RW,
                nr,
                Array {
                    handles,
                    count_handles: count,
                    pad,
                },
                None,
            )
            .0
        };
        for ptr in hostile_ptrs {
            expect(name, array(&mut arena, ptr, 1, 0), Err(Errno::FAULT))?;
            expect(
                name,
                array(&mut arena, ptr, BIG_COUNT, 0),
                Err(Errno::FAULT),
            )?;
        }
        expect(
            name,
            array(&mut arena, base + 4096, 1, 1),
            Err(Errno::INVAL),
        )?;
        expect(
            name,
            array(&mut arena, base + 4096, 0, 0),
            Err(Errno::INVAL),
        )?;
        expect(
            name,
            array(&mut arena, base + 4104, 1, 0),
            Err(Errno::NOENT),
        )?;
    }
    // SIGNAL ran last on `good`: it holds a signalled fence again.
    for (nr, name) in [(0xcbu8, "QUERY"), (0xcd, "TIMELINE_SIGNAL")] {
        let array = |arena: &mut Arena, handles, points, count, flags| {
            let a = TimelineArray {
                handles,
                points,
                count_handles: count,
                flags,
            };
            call(fd, arena, RW, nr, a, None).0
        };
        for ptr in hostile_ptrs {
            expect(
                name,
                array(&mut arena, ptr, base + 8192, 1, 0),
                Err(Errno::FAULT),
            )?;
        }
        for ptr in hostile_ptrs[1..].iter().copied() {
            expect(
                name,
                array(&mut arena, base + 4096, ptr, 1, 0),
                Err(Errno::FAULT),
            )?;
        }
        expect(
            name,
            array(&mut arena, base + 4096, base + 8192, 1, 1 << 30),
            Err(Errno::INVAL),
        )?;
        expect(
            name,
            array(&mut arena, base + 4104, base + 8192, 1, 0),
            Err(Errno::NOENT),
        )?;
    }
    let h2f = |arena: &mut Arena, s: SyncHandle, nr| call(fd, arena, RW, nr, s, None).0;
    let stale = SyncHandle {
        handle: u32::MAX - 1,
        ..Default::default()
    };
    expect(
        "HANDLE_TO_FD stale",
        h2f(&mut arena, stale, 0xc1),
        Err(Errno::INVAL),
    )?;
    let sync_file = SyncHandle {
        handle: u32::MAX - 1,
        flags: 1,
        ..Default::default()
    };
    expect(
        "HANDLE_TO_FD sync_file stale",
        h2f(&mut arena, sync_file, 0xc1),
        Err(Errno::NOENT),
    )?;
    let padded = SyncHandle {
        handle: good,
        pad: 1,
        ..Default::default()
    };
    expect(
        "HANDLE_TO_FD pad",
        h2f(&mut arena, padded, 0xc1),
        Err(Errno::INVAL),
    )?;
    let flags = SyncHandle {
        handle: good,
        flags: 1 << 7,
        ..Default::default()
    };
    expect(
        "HANDLE_TO_FD flags",
        h2f(&mut arena, flags, 0xc1),
        Err(Errno::INVAL),
    )?;
    let null = std::fs::File::open("/dev/null")?;
    for fd_in in [-1, 1 << 30, null.as_raw_fd()] {
        let s = SyncHandle {
            fd: fd_in,
            ..Default::default()
        };
        expect("FD_TO_HANDLE", h2f(&mut arena, s, 0xc2), Err(Errno::INVAL))?;
        let s = SyncHandle {
            fd: fd_in,
            handle: good,
            flags: 1,
            ..Default::default()
        };
        expect(
            "FD_TO_HANDLE sync_file",
            h2f(&mut arena, s, 0xc2),
            Err(Errno::INVAL),
        )?;
    }
    let t = |arena: &mut Arena, t: Transfer| call(fd, arena, RW, 0xcc, t, None).0;
    let to_stale = Transfer {
        src_handle: good,
        dst_handle: u32::MAX - 1,
        ..Default::default()
    };
    expect(
        "TRANSFER to stale",
        t(&mut arena, to_stale),
        Err(Errno::NOENT),
    )?;
    let from_stale = Transfer {
        src_handle: u32::MAX - 1,
        dst_handle: none,
        ..Default::default()
    };
    expect(
        "TRANSFER from stale",
        t(&mut arena, from_stale),
        Err(Errno::NOENT),
    )?;
    let padded = Transfer {
        src_handle: good,
        dst_handle: none,
        pad: 1,
        ..Default::default()
    };
    expect("TRANSFER pad", t(&mut arena, padded), Err(Errno::INVAL))?;
    let e = |arena: &mut Arena, e: EventFd| call(fd, arena, RW, 0xcf, e, None).0;
    let bad_fd = EventFd {
        handle: good,
        fd: -1,
        ..Default::default()
    };
    expect("EVENTFD fd -1", e(&mut arena, bad_fd), Err(Errno::BADF))?;
    let not_eventfd = EventFd {
        handle: good,
        fd: null.as_raw_fd(),
        ..Default::default()
    };
    expect(
        "EVENTFD /dev/null",
        e(&mut arena, not_eventfd),
        Err(Errno::INVAL),
    )?;
    let stale = EventFd {
        handle: u32::MAX - 1,
        fd: null.as_raw_fd(),
        ..Default::default()
    };
    expect("EVENTFD stale", e(&mut arena, stale), Err(Errno::NOENT))?;
    let destroy =
        |arena: &mut Arena, handle: u32, pad: u32| call(fd, arena, RW, 0xc0, [handle, pad], None).0;
    expect(
        "DESTROY stale",
        destroy(&mut arena, u32::MAX - 1, 0),
        Err(Errno::INVAL),
    )?;
    expect(
        "DESTROY pad",
        destroy(&mut arena, good, 1),
        Err(Errno::INVAL),
    )?;
    let create = |arena: &mut Arena, flags: u32, ptr| call(fd, arena, RW, 0xbf, [0, flags], ptr).0;
    expect(
        "CREATE flags",
        create(&mut arena, 2, None),
        Err(Errno::INVAL),
    )?;
    expect(
        "CREATE kernel struct",
        create(&mut arena, 0, Some(KERNEL_ADDRESS)),
        Err(Errno::FAULT),
    )?;
    // The syncobjs still work: the signalled one waits at once.
    signalled.wait(0, std::time::Duration::from_secs(5))?;
    if signalled.export_sync_file().is_err() {
        fail!("the signalled syncobj no longer exports");
    }
    pass()
}
