// SPDX-License-Identifier: GPL-2.0-only
//! What a failed call must leave as it was: the device's and the file's memory accounting, the
//! file's buffer-object handles (debugfs `bos`), the next syncobj handle, the process's open
//! files and mappings of the device, and how many contexts and VMs the file holds (fdinfo
//! `xaccel-contexts`, `xaccel-vms`); and, once at the end of the suite (probing it creates
//! hundreds), how many more contexts and VMs the file can create.

use std::fmt::Debug;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use xaccel::bolist::{self, BoEntry};
use xaccel::uapi::{drm_xaccel_context_create, drm_xaccel_context_destroy};
use xaccel::uapi::{drm_xaccel_vm_create, drm_xaccel_vm_destroy, DRM_XACCEL_PRIORITY_NORMAL};
use xaccel::{Device, Errno};
use xaccel_selftests::fail;
use xaccel_selftests::tap::Failure;

use crate::sync;

/// `Result` of the helpers: a test failure on error.
pub type Check<T = ()> = Result<T, Failure>;

/// How long anything may take to settle or finish before the test fails (a hang guard).
pub const GUARD: Duration = Duration::from_secs(20);

/// A snapshot of what the calls under test may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// QUERY REGIONS `used`, per region.
    pub used: Vec<u64>,
    /// fdinfo `drm-total-` and `drm-shared-` of the file, per region.
    pub fdinfo: Vec<(String, u64, u64)>,
    /// fdinfo `xaccel-contexts` and `xaccel-vms`: the file's contexts and VMs.
    pub objects: (Option<u32>, Option<u32>),
    /// The file's buffer-object handles, as debugfs lists them (`pinned` left out).
    pub bos: Vec<BoEntry>,
    /// The handle SYNCOBJ_CREATE would give next (the lowest free one).
    pub next_syncobj: u32,
    /// Open file descriptors of this process.
    pub fds: usize,
    /// Mappings of the device file in this process.
    pub maps: usize,
}

impl State {
    /// The snapshot of `dev`'s file (`node`: its canonical path; `client`: its drm-client-id).
    pub fn of(dev: &Device, node: &Path, client: u64) -> Check<Self> {
        let used = dev.regions()?.iter().map(|r| r.used).collect();
        let info = dev.fdinfo()?;
        let objects = (info.contexts, info.vms);
        let fdinfo = info
            .regions
            .iter()
            .map(|r| (r.region.clone(), r.total, r.shared))
            .collect();
        let mut bos: Vec<BoEntry> = bolist::read(node)?
            .into_iter()
            .filter(|b| b.client == client)
            .collect();
        // A BO mapped for the device or for jobs stays pinned until it is freed (the core keeps
        // those mappings; `Documentation/memory.rst`): a call may pin, and that is no leak.
        for b in &mut bos {
            b.pinned = false;
        }
        bos.sort_by_key(|b| b.handle);
        let next_syncobj = sync::create(dev, false)?;
        sync::destroy(dev, next_syncobj)?;
        let fds = fs::read_dir("/proc/self/fd")?.count();
        let name = node.display().to_string();
        let maps = fs::read_to_string("/proc/self/maps")?
            .lines()
            .filter(|l| l.ends_with(&name))
            .count();
        Ok(Self {
            used,
            fdinfo,
            objects,
            bos,
            next_syncobj,
            fds,
            maps,
        })
    }

    /// Forgets that BOs were exported: DRM keeps the dma-buf of a failed PRIME_HANDLE_TO_FD in
    /// the object (its export cache, `obj->dma_buf`, dropped with the last handle), so the BO
    /// shows as exported and shared after the failure.
    pub fn without_exports(mut self) -> Self {
        for b in &mut self.bos {
            b.exported = false;
        }
        for (_, _, shared) in &mut self.fdinfo {
            *shared = 0;
        }
        self
    }

    /// What differs from `other`, field by field.
    pub fn diff(&self, other: &Self) -> String {
        let mut out = Vec::new();
        fn field<T: PartialEq + Debug>(out: &mut Vec<String>, name: &str, a: &T, b: &T) {
            if a != b {
                out.push(format!("{name}: {a:?}, expected {b:?}"));
            }
        }
        field(&mut out, "regions used", &self.used, &other.used);
        field(&mut out, "fdinfo", &self.fdinfo, &other.fdinfo);
        field(&mut out, "(contexts, VMs)", &self.objects, &other.objects);
        field(&mut out, "handles", &self.bos, &other.bos);
        field(
            &mut out,
            "next syncobj",
            &self.next_syncobj,
            &other.next_syncobj,
        );
        field(&mut out, "open fds", &self.fds, &other.fds);
        field(&mut out, "device mappings", &self.maps, &other.maps);
        out.join("; ")
    }
}

/// Waits until `now()` gives `want` (freed objects may leave the accounting a little later);
/// fails with the difference after [`GUARD`].
pub fn settle(what: &str, want: &State, mut now: impl FnMut() -> Check<State>) -> Check {
    let start = Instant::now();
    loop {
        let got = now()?;
        if got == *want {
            return Ok(());
        }
        if start.elapsed() > GUARD {
            fail!("{what}: {}", got.diff(want));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Per engine of the device, the jobs the scheduler has seen (queued, running, completed,
/// failed), from debugfs `engines`.
pub fn jobs_seen(node: &Path) -> Check<Vec<u64>> {
    let path = bolist::debugfs_path(node)?.with_file_name("engines");
    let text = fs::read_to_string(&path)?;
    let mut seen = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("engine")) {
        let mut total = 0;
        for word in line.split_whitespace() {
            if let Some((key, value)) = word.split_once('=') {
                if matches!(key, "queued" | "running" | "completed" | "failed") {
                    total += value.parse::<u64>().unwrap_or(0);
                }
            }
        }
        seen.push(total);
    }
    Ok(seen)
}

/// How many more contexts the file can create (`ENOSPC` then); destroys them again.
pub fn contexts_left(dev: &Device) -> Check<u32> {
    let mut ids = Vec::new();
    let result = loop {
        let mut args = drm_xaccel_context_create {
            engine: 0,
            priority: DRM_XACCEL_PRIORITY_NORMAL,
            ..Default::default()
        };
        match dev.context_create_raw(&mut args) {
            Ok(()) if ids.len() <= 4096 => ids.push(args.context_id),
            Ok(()) => break Err(Failure("more than 4096 contexts in one file".into())),
            Err(Errno::NOSPC) => break Ok(ids.len() as u32),
            Err(e) => break Err(Failure(format!("CONTEXT_CREATE: {e}"))),
        }
    };
    for context_id in ids {
        let mut args = drm_xaccel_context_destroy { context_id, pad: 0 };
        dev.context_destroy_raw(&mut args)?;
    }
    result
}

/// How many more VMs the file can create (`ENOSPC` then); destroys them again.
pub fn vms_left(dev: &Device) -> Check<u32> {
    let mut ids = Vec::new();
    let result = loop {
        let mut args = drm_xaccel_vm_create::default();
        match dev.vm_create_raw(&mut args) {
            Ok(()) if ids.len() <= 8192 => ids.push(args.vm_id),
            Ok(()) => break Err(Failure("more than 8192 VMs in one file".into())),
            Err(Errno::NOSPC) => break Ok(ids.len() as u32),
            Err(e) => break Err(Failure(format!("VM_CREATE: {e}"))),
        }
    };
    for vm_id in ids {
        let mut args = drm_xaccel_vm_destroy {
            vm_id,
            ..Default::default()
        };
        dev.vm_destroy_raw(&mut args)?;
    }
    result
}
