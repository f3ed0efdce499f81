// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel mem`: a device's memory regions (used / size, from QUERY REGIONS)
//! and the memory a process holds through its open files of the device (from
//! `/proc/<pid>/fdinfo`): by default this process, whose own open file is
//! listed too.

use std::fs;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use serde::Serialize;
use xaccel::{Device, FdInfo, RegionInfo};

/// One open file of the device in the process looked at.
#[derive(Clone, Debug, Serialize)]
pub struct Client {
    /// The file descriptor number.
    pub fd: i32,
    /// What its fdinfo says.
    pub fdinfo: FdInfo,
}

/// Everything `xaccel mem` shows about one device.
#[derive(Clone, Debug, Serialize)]
pub struct MemReport {
    /// The device node.
    pub path: PathBuf,
    /// The backend name.
    pub backend: String,
    /// The regions, with bytes used and size.
    pub regions: Vec<RegionInfo>,
    /// The process whose files are listed; `None` for this one.
    pub pid: Option<u32>,
    /// Its open files of the device.
    pub clients: Vec<Client>,
}

impl MemReport {
    /// Opens `path`, queries its regions and collects `pid`'s files of it.
    pub fn gather(path: &Path, pid: Option<u32>) -> xaccel::Result<Self> {
        let dev = Device::open(path)?;
        let backend = dev.device_info()?.backend;
        let regions = dev.regions()?;
        let clients = match pid {
            None => vec![Client {
                fd: dev.as_fd().as_raw_fd(),
                fdinfo: dev.fdinfo()?,
            }],
            Some(pid) => clients_of(pid, path)?,
        };
        Ok(Self {
            path: path.to_owned(),
            backend,
            regions,
            pid,
            clients,
        })
    }
}

/// The open files of `pid` that are the device node `node`, with their fdinfo.
fn clients_of(pid: u32, node: &Path) -> xaccel::Result<Vec<Client>> {
    let read_err = |path: PathBuf| move |err| xaccel::Error::Read { path, err };
    let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let node = fs::canonicalize(node).map_err(read_err(node.to_owned()))?;
    let mut clients = Vec::new();
    for entry in fs::read_dir(&fd_dir).map_err(read_err(fd_dir.clone()))? {
        let entry = entry.map_err(read_err(fd_dir.clone()))?;
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A descriptor closed since the directory was read is simply skipped.
        if fs::read_link(entry.path()).ok().as_deref() != Some(node.as_path()) {
            continue;
        }
        if let Ok(fdinfo) = FdInfo::read(FdInfo::path(Some(pid), fd)) {
            clients.push(Client { fd, fdinfo });
        }
    }
    clients.sort_by_key(|c| c.fd);
    Ok(clients)
}
