// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel top`: how long each client kept each engine of a device busy, from the
//! `drm-engine-<engine>` keys of `/proc/<pid>/fdinfo/<fd>`, for every process that has the
//! device open (those this user may look at; `xaccel top` itself is one of them). With
//! `--interval-ms`, two samples that far apart give each client's utilisation of each engine
//! in between.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::Serialize;
use xaccel::{Device, FdInfo};

/// One engine as one client used it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EngineUse {
    /// The engine's name.
    pub engine: String,
    /// Busy time in ns since the client opened the device.
    pub busy_ns: u64,
    /// Percent of the interval the engine was busy with this client's jobs, with
    /// `--interval-ms`.
    pub utilisation: Option<f64>,
}

/// One open file of the device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopClient {
    /// The process holding it.
    pub pid: u32,
    /// That process's command name.
    pub command: String,
    /// The file descriptor.
    pub fd: i32,
    /// `drm-client-id`.
    pub client_id: Option<u64>,
    /// Its engines, in the device's order.
    pub engines: Vec<EngineUse>,
}

/// Everything `xaccel top` shows about one device.
#[derive(Clone, Debug, Serialize)]
pub struct TopReport {
    /// The device node.
    pub path: PathBuf,
    /// The backend name.
    pub backend: String,
    /// The sampling interval, if utilisation was measured.
    pub interval_ms: Option<u64>,
    /// Every client found.
    pub clients: Vec<TopClient>,
}

/// The open files of the device node `node` in every process: (pid, fd, fdinfo).
fn scan(node: &Path) -> Vec<(u32, i32, FdInfo)> {
    let Ok(node) = fs::canonicalize(node) else {
        return Vec::new();
    };
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for proc_entry in procs.flatten() {
        let Some(pid) = proc_entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // Processes that exit, or that this user may not inspect, are skipped.
        let Ok(fds) = fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        for fd_entry in fds.flatten() {
            let Some(fd) = fd_entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if fs::read_link(fd_entry.path()).ok().as_deref() != Some(node.as_path()) {
                continue;
            }
            if let Ok(info) = FdInfo::read(FdInfo::path(Some(pid), fd)) {
                found.push((pid, fd, info));
            }
        }
    }
    found.sort_by_key(|(pid, fd, _)| (*pid, *fd));
    found
}

/// A process's command name.
fn command(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_default()
}

impl TopReport {
    /// Samples the clients of `path`, twice `interval` apart if given.
    pub fn gather(path: &Path, interval: Option<Duration>) -> xaccel::Result<Self> {
        // Kept open while scanning: this process is one of the clients.
        let dev = Device::open(path)?;
        let backend = dev.device_info()?.backend;
        let first = scan(path);
        let (samples, elapsed) = match interval {
            Some(interval) => {
                let start = Instant::now();
                sleep(interval);
                let second = scan(path);
                (second, Some(start.elapsed()))
            }
            None => (first.clone(), None),
        };
        let before: HashMap<(u32, i32), &FdInfo> =
            first.iter().map(|(p, f, i)| ((*p, *f), i)).collect();
        let clients = samples
            .iter()
            .map(|(pid, fd, info)| TopClient {
                pid: *pid,
                command: command(*pid),
                fd: *fd,
                client_id: info.client_id,
                engines: info
                    .engines
                    .iter()
                    .map(|e| EngineUse {
                        engine: e.engine.clone(),
                        busy_ns: e.busy_ns,
                        utilisation: elapsed.map(|elapsed| {
                            let earlier = before
                                .get(&(*pid, *fd))
                                .and_then(|i| i.engine(&e.engine))
                                .unwrap_or(0);
                            let busy = e.busy_ns.saturating_sub(earlier) as f64;
                            (100.0 * busy / elapsed.as_nanos() as f64).min(100.0)
                        }),
                    })
                    .collect(),
            })
            .collect();
        drop(dev);
        Ok(Self {
            path: path.to_owned(),
            backend,
            interval_ms: interval.map(|i| i.as_millis() as u64),
            clients,
        })
    }
}
