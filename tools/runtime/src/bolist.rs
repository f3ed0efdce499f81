// SPDX-License-Identifier: GPL-2.0-only
//! Every buffer object of a device, from the core's debugfs file
//! `/sys/kernel/debug/accel/<device>/bos` (root only): one [`BoEntry`] per
//! handle of every open file of the device.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// One handle to a buffer object, as the debugfs file lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoEntry {
    /// The `drm-client-id` of the open file holding the handle.
    pub client: u64,
    /// The GEM handle in that file.
    pub handle: u32,
    /// Size in bytes.
    pub size: u64,
    /// The name of the region it is charged to.
    pub region: String,
    /// `system`, `device`, `migrated`, `userptr` or `imported`.
    pub placement: String,
    /// It has a dma-buf.
    pub exported: bool,
    /// It is another exporter's dma-buf.
    pub imported: bool,
    /// Its memory cannot move or be swapped now.
    pub pinned: bool,
}

/// The debugfs file of the device node `node` (`/dev/accel/accelN`): the
/// accel device's debugfs directory is named after its parent device.
pub fn debugfs_path(node: &Path) -> Result<PathBuf> {
    let read_err = |path: PathBuf| move |err| Error::Read { path, err };
    let node = fs::canonicalize(node).map_err(read_err(node.to_owned()))?;
    let name = node.file_name().unwrap_or_default();
    let link = Path::new("/sys/class/accel").join(name).join("device");
    let parent = fs::read_link(&link).map_err(read_err(link.clone()))?;
    let parent = parent.file_name().unwrap_or_default();
    Ok(Path::new("/sys/kernel/debug/accel")
        .join(parent)
        .join("bos"))
}

/// Parses the debugfs file's text: `#` lines are comments, each other line
/// `client handle size region placement exported imported pinned`.
pub fn parse(text: &str) -> Result<Vec<BoEntry>> {
    let bad = |line: &str| Error::Protocol {
        ioctl: "debugfs bos",
        problem: format!("unexpected line {line:?}"),
    };
    let yes = |word: &str, line: &str| match word {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(bad(line)),
    };
    let mut entries = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let [client, handle, size, region, placement, exported, imported, pinned] = words[..]
        else {
            return Err(bad(line));
        };
        entries.push(BoEntry {
            client: client.parse().map_err(|_| bad(line))?,
            handle: handle.parse().map_err(|_| bad(line))?,
            size: size.parse().map_err(|_| bad(line))?,
            region: region.to_string(),
            placement: placement.to_string(),
            exported: yes(exported, line)?,
            imported: yes(imported, line)?,
            pinned: yes(pinned, line)?,
        });
    }
    Ok(entries)
}

/// Reads and parses the debugfs file of the device node `node`.
pub fn read(node: &Path) -> Result<Vec<BoEntry>> {
    let path = debugfs_path(node)?;
    let text = fs::read_to_string(&path).map_err(|err| Error::Read { path, err })?;
    parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_entries() {
        let text = "# client handle size region placement exported imported pinned\n\
                    7 1 65536 system system no no no\n\
                    7 2 4096 local migrated yes no yes\n";
        let got = parse(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            BoEntry {
                client: 7,
                handle: 2,
                size: 4096,
                region: "local".into(),
                placement: "migrated".into(),
                exported: true,
                imported: false,
                pinned: true,
            }
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        for text in [
            "7 1 65536 system system no no",
            "x 1 1 s s no no no",
            "7 1 1 s s maybe no no",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
        assert_eq!(parse("# only a header\n").unwrap(), vec![]);
    }
}
