// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-exec`: selftest of job execution (CONTEXT_CREATE/DESTROY, SUBMIT, DRM
//! syncobjs and sync_files, timeout recovery, debugfs counters, deadlines), in TAP version 13.
//! Jobs are the engines' NOPs (QUERY NOPS), so it runs on any backend with one (it is part of
//! `xaccel-conformance`); the tests of vaccel programs (DELAY, FAULT, HANG, VA operands) skip
//! on other backends.
//!
//! Usage: `xaccel-selftest-exec [DEVICE]` (default `/dev/accel/accel0`); run it in the VM as
//! root (sw_sync needs debugfs, realtime contexts CAP_SYS_NICE). Exits 0 only if every test
//! passed (or was skipped).

mod basic;
mod bo_wait;
mod ctx;
mod errors;
mod recovery;
mod stats;
mod vm_busy;

use std::process::ExitCode;

use xaccel_selftests::tap::{self, Test};

use crate::ctx::Ctx;

/// Every test, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("NOP signals its out-syncobj; seqnos from 1",             basic::nop_signals),
    ("jobs of one context complete in order (gated job first)",  basic::jobs_in_order),
    ("a NOP-DELAY-NOP program completes",                      basic::multi_packet_program),
    ("FAULT: the fence carries EIO, the context goes on",      basic::fault_reports_eio),
    ("dependency across contexts through a syncobj",           basic::dependency_across_contexts),
    ("dependency across two devices through a sync_file",      basic::dependency_across_devices),
    ("timeline points: signal 1 and 2, wait for 2",            basic::timeline_points),
    ("exported sync_file polls readable when done",            basic::sync_file_poll),
    ("a sw_sync fence as an in-fence",                         basic::sw_sync_in_fence),
    ("implicit sync through a shared BO; NO_IMPLICIT opts out", basic::implicit_sync_through_a_bo),
    ("HANG reset: ETIME, ECANCELED, EIO; innocent completes",  recovery::hang_is_recovered),
    ("CONTEXT_DESTROY with work in flight",                    recovery::destroy_with_work_in_flight),
    ("closing the file with work in flight",                   recovery::close_with_work_in_flight),
    ("CONTEXT_CREATE/DESTROY bad input -> errnos, unchanged",  errors::context_create),
    ("SUBMIT bad input -> errnos, unchanged, nothing queued",  errors::submit),
    ("SUBMIT beyond MAX_QUEUED_JOBS -> EBUSY; other contexts go on", errors::queue_limit),
    ("BO_WAIT: busy while jobs use a BO, idle after",          bo_wait::waits_for_the_jobs_using_a_bo),
    ("BO_WAIT bad input -> errnos, struct unchanged",          bo_wait::bad_input),
    ("debugfs engines: counters follow jobs",                  stats::debugfs_counters),
    ("debugfs and QUERY agree on the reset count",             stats::debugfs_resets_match_query),
    ("SYNC_IOC_SET_DEADLINE on a queued job reaches vaccel",   stats::deadline_reaches_the_backend),
    ("fdinfo drm-engine-<name>: busy time of the file's jobs",  stats::fdinfo_engine_busy),
    ("a VM keeps unbound BOs until every context's job ended", vm_busy::unbind_waits_for_every_context),
];

fn main() -> ExitCode {
    tap::device_main(|path| Ctx::new(path).map_err(|e| e.0), TESTS)
}
