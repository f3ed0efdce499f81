// SPDX-License-Identifier: GPL-2.0-only
//! Reading the counters a debugfs file shows as `name value` lines (hlx's `control`).

use std::path::Path;

use crate::tap::Failure;

/// The value of the `name value` line of `path`.
pub fn counter(path: &Path, name: &str) -> Result<u64, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix(name).and_then(|r| r.strip_prefix(' ')) {
            return v
                .trim()
                .parse()
                .map_err(|_| Failure(format!("bad {name}: {v}")));
        }
    }
    Err(Failure(format!("no {name} in {}", path.display())))
}
