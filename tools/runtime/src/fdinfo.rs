// SPDX-License-Identifier: GPL-2.0-only
//! Per-file memory and engine statistics from `/proc/<pid>/fdinfo/<fd>`.
//!
//! DRM prints `key:\tvalue` lines for every open DRM file (the keys of the
//! kernel's `Documentation/gpu/drm-usage-stats.rst`); xaccel adds, for each
//! memory region of the device, `drm-total-<region>`, `drm-shared-<region>`
//! and `drm-resident-<region>`, sizes in bytes with an optional ` KiB`, ` MiB`
//! or ` GiB` unit, and for each engine `drm-engine-<engine>`, the time in ns
//! the file's jobs kept it busy. [`FdInfo::parse`] reads them; lines it does
//! not know are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// The memory one open file holds in one region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegionMemory {
    /// Region name, as in `QUERY REGIONS`.
    pub region: String,
    /// Bytes of the buffer objects this file has handles to (`drm-total-`).
    pub total: u64,
    /// Of those, bytes of objects other files have handles to too (`drm-shared-`).
    pub shared: u64,
    /// Bytes of those objects' pages in memory (`drm-resident-`), if reported.
    pub resident: Option<u64>,
}

/// How long one open file's jobs kept one engine busy (`drm-engine-<engine>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EngineBusy {
    /// Engine name, as in `QUERY ENGINES`.
    pub engine: String,
    /// Busy time in ns since the file was opened.
    pub busy_ns: u64,
}

/// What `/proc/<pid>/fdinfo/<fd>` says about one open DRM file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FdInfo {
    /// `drm-driver`: the backend name.
    pub driver: String,
    /// `drm-client-id`: unique per open file while it is open.
    pub client_id: Option<u64>,
    /// The memory keys, one entry per region, in the order the kernel printed them.
    pub regions: Vec<RegionMemory>,
    /// The engine keys, one entry per engine, in the order the kernel printed them.
    pub engines: Vec<EngineBusy>,
    /// `xaccel-contexts`: how many contexts the file holds.
    pub contexts: Option<u32>,
    /// `xaccel-vms`: how many device VMs the file holds.
    pub vms: Option<u32>,
}

/// Parses `N`, `N KiB`, `N MiB` or `N GiB` into bytes.
fn parse_size(value: &str) -> Option<u64> {
    let mut words = value.split_whitespace();
    let number: u64 = words.next()?.parse().ok()?;
    let shift = match words.next() {
        None => 0,
        Some("KiB") => 10,
        Some("MiB") => 20,
        Some("GiB") => 30,
        Some(_) => return None,
    };
    if words.next().is_some() {
        return None;
    }
    number.checked_mul(1 << shift)
}

impl FdInfo {
    /// Parses the text of an fdinfo file.
    pub fn parse(text: &str) -> Self {
        let mut info = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "drm-driver" => info.driver = value.to_string(),
                "drm-client-id" => info.client_id = value.parse().ok(),
                "xaccel-contexts" => info.contexts = value.parse().ok(),
                "xaccel-vms" => info.vms = value.parse().ok(),
                _ => match key.strip_prefix("drm-engine-") {
                    // `drm-engine-capacity-<engine>` is not a busy time.
                    Some(engine) if !engine.starts_with("capacity-") => {
                        info.engine_key(engine, value)
                    }
                    Some(_) => {}
                    None => info.memory_key(key, value),
                },
            }
        }
        info
    }

    /// Records a `drm-<stat>-<region>` key, ignoring any other.
    fn memory_key(&mut self, key: &str, value: &str) {
        let Some(rest) = key.strip_prefix("drm-") else {
            return;
        };
        let Some((stat, region)) = rest.split_once('-') else {
            return;
        };
        if !matches!(stat, "total" | "shared" | "resident") {
            return;
        }
        let Some(bytes) = parse_size(value) else {
            return;
        };
        let entry = match self.regions.iter().position(|r| r.region == region) {
            Some(i) => &mut self.regions[i],
            None => {
                self.regions.push(RegionMemory {
                    region: region.to_string(),
                    ..Default::default()
                });
                self.regions.last_mut().expect("just pushed")
            }
        };
        match stat {
            "total" => entry.total = bytes,
            "shared" => entry.shared = bytes,
            _ => entry.resident = Some(bytes),
        }
    }

    /// Records `drm-engine-<engine>: <N> ns`, ignoring a malformed value.
    fn engine_key(&mut self, engine: &str, value: &str) {
        let Some(busy_ns) = value
            .strip_suffix(" ns")
            .and_then(|n| n.trim().parse().ok())
        else {
            return;
        };
        self.engines.retain(|e| e.engine != engine);
        self.engines.push(EngineBusy {
            engine: engine.to_string(),
            busy_ns,
        });
    }

    /// The busy time of `engine`, if the kernel printed one.
    pub fn engine(&self, engine: &str) -> Option<u64> {
        self.engines
            .iter()
            .find(|e| e.engine == engine)
            .map(|e| e.busy_ns)
    }

    /// The entry for `region`, if the kernel printed one.
    pub fn region(&self, region: &str) -> Option<&RegionMemory> {
        self.regions.iter().find(|r| r.region == region)
    }

    /// Reads and parses an fdinfo file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        fs::read_to_string(path)
            .map(|text| Self::parse(&text))
            .map_err(|err| Error::Read {
                path: path.to_owned(),
                err,
            })
    }

    /// The fdinfo file of descriptor `fd` of process `pid` (this process if
    /// `None`).
    pub fn path(pid: Option<u32>, fd: i32) -> PathBuf {
        let pid = pid.map_or_else(|| "self".to_string(), |p| p.to_string());
        PathBuf::from(format!("/proc/{pid}/fdinfo/{fd}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t5\n\
        drm-driver:\tvaccel\ndrm-client-id:\t7\n\
        drm-total-system:\t64 MiB\ndrm-shared-system:\t0\ndrm-resident-system:\t8 KiB\n\
        drm-total-local:\t0\ndrm-shared-local:\t0\ndrm-resident-local:\t0\n\
        drm-engine-compute0:\t1500 ns\ndrm-engine-compute1:\t0 ns\n\
        xaccel-contexts:\t3\nxaccel-vms:\t1\n";

    #[test]
    fn parses_the_kernel_format() {
        let info = FdInfo::parse(SAMPLE);
        assert_eq!(info.driver, "vaccel");
        assert_eq!(info.client_id, Some(7));
        assert_eq!((info.contexts, info.vms), (Some(3), Some(1)));
        assert_eq!(
            info.regions,
            [
                RegionMemory {
                    region: "system".into(),
                    total: 64 << 20,
                    shared: 0,
                    resident: Some(8 << 10),
                },
                RegionMemory {
                    region: "local".into(),
                    total: 0,
                    shared: 0,
                    resident: Some(0),
                },
            ]
        );
        assert_eq!(info.region("local").map(|r| r.total), Some(0));
        assert!(info.region("vram").is_none());
        assert_eq!(info.engine("compute0"), Some(1500));
        assert_eq!(info.engine("compute1"), Some(0));
        assert_eq!(info.engines.len(), 2);
    }

    #[test]
    fn sizes_and_units() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("4095"), Some(4095));
        assert_eq!(parse_size("4 KiB"), Some(4096));
        assert_eq!(parse_size("3 MiB"), Some(3 << 20));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("1 TiB"), None);
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("1 KiB extra"), None);
        assert_eq!(parse_size(&format!("{} GiB", u64::MAX)), None);
    }

    #[test]
    fn unknown_and_malformed_lines_are_skipped() {
        let info = FdInfo::parse(
            "drm-engine-compute0:\tfive ns\ndrm-total-system:\tlots\nnot a key\n\
             drm-purgeable-system:\t0\ndrm-total-system:\t4 KiB\n\
             drm-engine-capacity-compute0:\t2\ndrm-engine-compute1:\t7\n",
        );
        assert_eq!(info.driver, "");
        assert_eq!(info.client_id, None);
        assert_eq!(info.regions.len(), 1);
        assert_eq!(info.regions[0].total, 4096);
        assert_eq!(info.regions[0].resident, None);
        assert!(info.engines.is_empty());
    }

    #[test]
    fn paths() {
        assert_eq!(FdInfo::path(None, 3), Path::new("/proc/self/fdinfo/3"));
        assert_eq!(FdInfo::path(Some(42), 5), Path::new("/proc/42/fdinfo/5"));
    }
}
