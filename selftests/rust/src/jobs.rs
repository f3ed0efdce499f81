// SPDX-License-Identifier: GPL-2.0-only
//! Waiting for jobs, for every suite that runs them: a fence's outcome with a hang guard, a
//! check that a job is still held back, and errno checks.

use std::os::fd::AsFd;
use std::time::Duration;

use xaccel::{Errno, Syncobj};

use crate::fail;
use crate::tap::Failure;

/// `Result` of the helpers: a test failure on error.
type Check<T = ()> = Result<T, Failure>;

/// How long any wait may take before the test fails (a hang guard, not a timing check).
pub const GUARD: Duration = Duration::from_secs(20);

/// The status of `syncobj`'s fence, after waiting for it: `Ok(())` or the error it carries.
pub fn outcome(syncobj: &Syncobj<'_>) -> Check<Result<(), Errno>> {
    syncobj.wait(0, GUARD)?;
    let fd = syncobj.export_sync_file()?;
    match xaccel::sync_file_status(fd.as_fd())? {
        Ok(true) => Ok(Ok(())),
        Ok(false) => fail!("a waited-for fence is not signalled"),
        Err(errno) => Ok(Err(errno)),
    }
}

/// Fails unless `syncobj` is still unsignalled after a short wait: its job is held back.
pub fn expect_pending(syncobj: &Syncobj<'_>, what: &str) -> Check {
    match syncobj.wait(0, Duration::from_millis(100)) {
        Err(e) if e.errno() == Some(Errno::TIME) => Ok(()),
        Err(e) => fail!("waiting for {what}: {e}"),
        Ok(()) => fail!("{what} ran before what it depends on"),
    }
}

/// Fails unless `result` is `Err(expected)`.
pub fn expect_errno<T>(result: Result<T, Errno>, expected: Errno, what: &str) -> Check {
    match result {
        Err(errno) if errno == expected => Ok(()),
        Err(errno) => fail!(
            "{what}: got {}, expected {}",
            crate::raw::errno_name(errno),
            crate::raw::errno_name(expected)
        ),
        Ok(_) => fail!(
            "{what}: succeeded, expected {}",
            crate::raw::errno_name(expected)
        ),
    }
}
