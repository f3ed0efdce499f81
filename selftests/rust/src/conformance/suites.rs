// SPDX-License-Identifier: GPL-2.0-only
//! The generic suites conformance is made of: each is its own selftest binary (installed next
//! to `xaccel-conformance`), run on the device under test; its TAP results join this run's
//! stream, named `<suite>: <test>`, so one run says whether a backend conforms. A suite that
//! does not apply to the device (by its QUERY) is one SKIP line with the reason.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use xaccel::RegionKind;
use xaccel_selftests::tap::{self, Failure, Stream};

use crate::ctx::Ctx;

/// A generic suite: its name, its binary, and why it does not apply to a device (`None`: it
/// does).
struct Suite {
    name: &'static str,
    binary: &'static str,
    not_for: fn(&Ctx) -> Option<&'static str>,
}

fn always(_: &Ctx) -> Option<&'static str> {
    None
}

/// Every generic suite, in the order they run.
const SUITES: &[Suite] = &[
    Suite {
        name: "query",
        binary: "xaccel-selftest-query",
        not_for: always,
    },
    Suite {
        name: "bo",
        binary: "xaccel-selftest-bo",
        not_for: always,
    },
    Suite {
        name: "devmem",
        binary: "xaccel-selftest-devmem",
        not_for: |c| {
            (!c.regions.iter().any(|r| r.kind == RegionKind::Device))
                .then_some("no device-memory region")
        },
    },
    Suite {
        name: "vm",
        binary: "xaccel-selftest-vm",
        not_for: |c| (c.info.va_size == 0).then_some("no VA window (see vm-without-a-window)"),
    },
    Suite {
        name: "exec",
        binary: "xaccel-selftest-exec",
        not_for: |c| {
            c.job_engines()
                .0
                .is_empty()
                .then_some("no engine has a NOP")
        },
    },
    Suite {
        name: "fuzz",
        binary: "xaccel-selftest-fuzz",
        not_for: always,
    },
];

/// Runs every generic suite on the device, into `stream`.
pub fn run_all(stream: &mut Stream, ctx: &Ctx) {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned));
    for suite in SUITES {
        if let Some(why) = (suite.not_for)(ctx) {
            stream.report(&format!("{}: the suite", suite.name), tap::skip(why));
            continue;
        }
        let Some(dir) = &dir else {
            stream.report(
                suite.name,
                Err(Failure("cannot find this program's directory".into())),
            );
            continue;
        };
        run_one(stream, suite.name, &dir.join(suite.binary), &ctx.path);
    }
}

/// A failed test of the suite, waiting for its diagnostics.
struct Pending {
    name: String,
    diag: Vec<String>,
}

/// Runs `binary DEVICE` and reports each of its TAP results as `<suite>: <name>`; a suite that
/// bails out, dies, exits non-zero without a failed test, or misses its plan fails.
fn run_one(stream: &mut Stream, suite: &str, binary: &Path, device: &Path) {
    let child = Command::new(binary)
        .arg(device)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let why = format!("{}: {e}", binary.display());
            stream.report(suite, Err(Failure(why)));
            return;
        }
    };
    let failed_before = stream.summary.failed;
    let (mut seen, mut planned) = (0usize, None);
    let mut pending: Option<Pending> = None;
    let flush = |stream: &mut Stream, pending: &mut Option<Pending>| {
        if let Some(p) = pending.take() {
            stream.report(&p.name, Err(Failure(p.diag.join("\n"))));
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(diag) = line.strip_prefix("# ") {
            match &mut pending {
                Some(p) => p.diag.push(diag.to_owned()),
                None => tap::diag(&format!("{suite}: {diag}")),
            }
            continue;
        }
        if let Some(plan) = line.strip_prefix("1..") {
            planned = plan.trim().parse::<usize>().ok();
            continue;
        }
        if let Some(reason) = line.strip_prefix("Bail out!") {
            flush(stream, &mut pending);
            let why = format!("bailed out:{reason}");
            stream.report(&format!("{suite}: the suite"), Err(Failure(why)));
            continue;
        }
        let (ok, rest) = if let Some(rest) = line.strip_prefix("not ok ") {
            (false, rest)
        } else if let Some(rest) = line.strip_prefix("ok ") {
            (true, rest)
        } else {
            continue;
        };
        flush(stream, &mut pending);
        seen += 1;
        let name = rest.split_once(" - ").map_or(rest, |(_, name)| name);
        let (name, skip) = match name.split_once(" # SKIP") {
            Some((name, why)) => (name, Some(why.trim())),
            None => (name, None),
        };
        let name = format!("{suite}: {name}");
        match (ok, skip) {
            (true, Some(why)) => stream.report(&name, tap::skip(why)),
            (true, None) => stream.report(&name, tap::pass()),
            (false, _) => {
                pending = Some(Pending {
                    name,
                    diag: Vec::new(),
                })
            }
        }
    }
    flush(stream, &mut pending);
    let status = child.wait();
    let quiet_failure = stream.summary.failed == failed_before;
    let problem = match (status, planned) {
        (Err(e), _) => Some(format!("waiting for it: {e}")),
        (_, Some(n)) if n != seen => Some(format!("planned {n} tests, ran {seen}")),
        (_, None) => Some("no TAP plan".to_owned()),
        (Ok(s), _) if !s.success() && quiet_failure => Some(format!("exited with {s}")),
        _ => None,
    };
    if let Some(why) = problem {
        stream.report(&format!("{suite}: the suite"), Err(Failure(why)));
    }
}
