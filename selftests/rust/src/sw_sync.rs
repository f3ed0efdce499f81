// SPDX-License-Identifier: GPL-2.0-only
//! sw_sync's debugfs interface (`/sys/kernel/debug/sync/sw_sync`): timelines whose fences the
//! test signals, and gates, syncobjs holding such a fence, which hold jobs back until the test
//! opens them (so a job is in flight for as long as a test needs, on any backend).

use std::os::fd::AsFd;

pub use xaccel::sw_sync::Timeline;
use xaccel::{Device, Syncobj};

use crate::tap::Failure;

/// `Result` of the helpers: a test failure on error.
type Check<T = ()> = Result<T, Failure>;

/// A gate: a binary syncobj of `dev` holding the fence at point 1 of a new timeline, which
/// opens with `timeline.inc(1)`; `None` without sw_sync (debugfs).
pub fn gate(dev: &Device) -> Check<Option<(Timeline, Syncobj<'_>)>> {
    let Ok(timeline) = Timeline::open() else {
        return Ok(None);
    };
    let fence = timeline.fence(1)?;
    let gate = Syncobj::create(dev, false)?;
    gate.import_sync_file(fence.as_fd())?;
    Ok(Some((timeline, gate)))
}

/// A [`gate`] on `dev` as `(timeline, gate)`, in a test: without sw_sync the test returns its
/// SKIP, on an error its failure.
#[macro_export]
macro_rules! gate_or_skip {
    ($dev:expr) => {
        match $crate::sw_sync::gate($dev)? {
            Some(gate) => gate,
            None => return $crate::tap::skip("no /sys/kernel/debug/sync/sw_sync"),
        }
    };
}
