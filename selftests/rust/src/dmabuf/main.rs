// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel-selftest-dmabuf`: selftest of dma-buf sharing (DRM PRIME export
//! and import) between xaccel devices, vgem and udmabuf, in TAP version 13.
//!
//! Usage:
//! - `xaccel-selftest-dmabuf [--devmem-rule RULE] [DEVICE [SECOND]]`
//!   (defaults `/dev/accel/accel0`, `/dev/accel/accel1`): the interop and
//!   rules tests, and device-memory exports under RULE (see `devmem`). vgem must be loaded
//!   and `/dev/udmabuf` present; tests needing a missing peer are skipped.
//! - `xaccel-selftest-dmabuf --unplug COMMAND [DEVICE]`: holds an export of
//!   DEVICE in vgem, a mapping, the fd and a child process while `sh -c
//!   COMMAND` unloads its backend.
//!
//! Exits 0 only if every test passed (or was skipped), 1 otherwise. Nothing
//! else may allocate on the devices while it runs: the accounting tests
//! expect exact numbers.

mod ctx;
mod devmem;
mod interop;
mod jobs;
mod rules;
mod unplug;

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xaccel_selftests::tap::{self, Test};

use crate::ctx::Ctx;
use crate::unplug::Unplug;

/// Selftest of xaccel's dma-buf export and import (TAP output).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The device under test (the exporter in --unplug).
    #[arg(default_value = "/dev/accel/accel0")]
    device: PathBuf,
    /// A second xaccel device, for sharing between devices.
    #[arg(default_value = "/dev/accel/accel1")]
    second: PathBuf,
    /// Run the unplug sequence, with this shell command unloading the backend.
    #[arg(long, value_name = "COMMAND")]
    unplug: Option<String>,
    /// What exports of device memory do for vgem, which cannot reach a
    /// peer-to-peer-only region (vaccel `local_p2p=1`, `local_fallback`).
    #[arg(long, value_enum, default_value = "direct")]
    devmem_rule: devmem::Rule,
    /// The second device cannot reach DEVICE's device memory peer-to-peer
    /// (hlx HBM and a faux vaccel device): RULE applies to it as to vgem.
    #[arg(long)]
    second_not_p2p: bool,
    /// Internal: map a device BO of DEVICE, say so, and touch it again once
    /// stdin has a line (the device is gone by then: SIGBUS is expected).
    #[arg(long, hide = true)]
    touch_device_bo: bool,
    /// Internal: check that stdin is a dma-buf holding the pattern SEED.
    #[arg(long, value_name = "SEED", hide = true)]
    check_stdin: Option<u64>,
}

/// The interop and rules tests, in order: (TAP name, function).
#[rustfmt::skip]
const TESTS: &[Test<Ctx>] = &[
    ("udmabuf imported: BO mapping and memfd see each other, re-import", interop::udmabuf_import),
    ("BO exported to vgem: vgem holds it alone, its dma-buf reads it",  interop::export_to_vgem),
    ("mmap of the exported dma-buf fd maps the BO",                   interop::dma_buf_mmap),
    ("vgem dumb buffer imported: the BO mapping reads it, and back",   interop::import_from_vgem),
    ("export from one xaccel device, import into the other",          interop::between_devices),
    ("re-importing our export gives the same handle, the same BO",    rules::reimport_own_export),
    ("importing one dma-buf twice gives one handle",                  rules::import_twice),
    ("imports: no QUERY used, fdinfo drm-total and drm-shared",       rules::import_accounting),
    ("the dma-buf keeps the BO after GEM_CLOSE, until closed",        rules::export_outlives_handle),
    ("export of closed, 0 and u32::MAX handles -> ENOENT",            rules::export_bad_handles),
    ("export of another file's handle -> ENOENT",                     rules::export_other_files_handle),
    ("export flags other than DRM_CLOEXEC|DRM_RDWR -> EINVAL",        rules::export_flags),
    ("import of a memfd, the device fd -> EINVAL; bad fds -> EBADF",  rules::import_bad_fds),
    ("imported BO: MAP_PRIVATE -> EINVAL; re-export maps the memory", rules::imported_bo_rules),
    ("device BO exported to vgem: read back, or refused, as declared", devmem::to_vgem),
    ("device BO imported by the other xaccel device, or refused",     devmem::to_second_device),
    ("device BO: one dma-buf, re-import gives the same handle",       devmem::same_dma_buf),
    ("device BO imported by the other device: its COPYs, BO list",    jobs::copy_through_bo_list),
    ("device BO imported by the other device: its COPYs, VM binding", jobs::copy_through_vm_binding),
];

/// The unplug sequence, in order.
#[rustfmt::skip]
const UNPLUG_TESTS: &[Test<Unplug>] = &[
    ("export a BO, import it into vgem, close the BO's handle",       unplug::hold),
    ("unload the backend while the export is held",                   unplug::unload),
    ("device memory revoked: dma-buf mmap and new imports -> ENODEV", unplug::device_memory_revoked),
    ("device memory revoked: a mapping made before the unload SIGBUSes", unplug::device_mapping_revoked),
    ("the exporter's mapping and vgem's dma-buf still read the data",  unplug::mappings_survive),
    ("mmap of the held dma-buf fd reads the data",                    unplug::dma_buf_mmap),
    ("a child process given the dma-buf reads the data",              unplug::child_process),
    ("a new vgem import after the unload: attached, reads the data",  unplug::new_import),
    ("the unplugged xaccel file: PRIME import, BO_INFO -> ENODEV",    unplug::unplugged_file),
    ("close vgem's import, the mapping, the dma-buf, the file",       unplug::close_all),
];

fn main() -> ExitCode {
    let args = Args::parse();
    if args.touch_device_bo {
        return match unplug::touch_device_bo(&args.device) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("# child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(seed) = args.check_stdin {
        return match unplug::check_stdin(seed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("# child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let ok = if let Some(command) = args.unplug {
        let u = Unplug {
            path: args.device,
            command,
            held: RefCell::new(None),
        };
        tap::run(&u, UNPLUG_TESTS)
    } else {
        let ctx = match Ctx::new(
            &args.device,
            &args.second,
            args.devmem_rule,
            !args.second_not_p2p,
        ) {
            Ok(ctx) => ctx,
            Err(err) => {
                tap::header();
                tap::bail_out(&err.0);
                return ExitCode::FAILURE;
            }
        };
        tap::run(&ctx, TESTS)
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
