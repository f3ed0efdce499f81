// SPDX-License-Identifier: GPL-2.0-only
//! A minimal TAP version 13 runner for selftest binaries.
//!
//! A selftest is a table of `(name, fn(&Ctx) -> TestResult)`; [`run`] prints
//! `TAP version 13`, the plan `1..N`, then `ok N - name`, `ok N - name # SKIP why`
//! or `not ok N - name` followed by `# ` diagnostic lines, and returns whether
//! nothing failed. A panicking test counts as failed. Use [`ensure!`](crate::ensure) and
//! [`fail!`](crate::fail) for assertions:
//!
//! ```
//! use xaccel_selftests::{ensure, tap};
//! fn positive(n: &i32) -> tap::TestResult {
//!     ensure!(*n > 0, "{n} is not positive");
//!     tap::pass()
//! }
//! let tests: &[tap::Test<i32>] = &[("positive", positive)];
//! assert!(tap::run(&1, tests));
//! ```

use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};

/// Why a test failed: the diagnostic printed under `not ok`.
#[derive(Debug)]
pub struct Failure(pub String);

/// Any displayable error (an `xaccel::Error`, an `Errno`, a string) fails a test
/// with its message, so `?` works in tests.
impl<E: Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure(err.to_string())
    }
}

/// What a test that did not fail did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Passed.
    Pass,
    /// Could not run here, with the reason.
    Skip(String),
}

/// The result of one test.
pub type TestResult = Result<Outcome, Failure>;

/// One entry of a test table.
pub type Test<C> = (&'static str, fn(&C) -> TestResult);

/// `Ok(Outcome::Pass)`.
pub fn pass() -> TestResult {
    Ok(Outcome::Pass)
}

/// `Ok(Outcome::Skip(reason))`.
pub fn skip(reason: impl Into<String>) -> TestResult {
    Ok(Outcome::Skip(reason.into()))
}

/// Fails the test with a formatted message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::tap::Failure(format!($($msg)+)));
        }
    };
}

/// Fails the test with a formatted message.
#[macro_export]
macro_rules! fail {
    ($($msg:tt)+) => {
        return Err($crate::tap::Failure(format!($($msg)+)))
    };
}

/// Prints `# `-prefixed diagnostic lines.
pub fn diag(text: &str) {
    for line in text.lines() {
        println!("# {line}");
    }
}

/// Prints the TAP header line.
pub fn header() {
    println!("TAP version 13");
}

/// Aborts the whole run: prints `Bail out!` with the reason.
pub fn bail_out(reason: &str) {
    println!("Bail out! {reason}");
}

/// What a run counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that were skipped.
    pub skipped: usize,
    /// Tests that failed.
    pub failed: usize,
}

/// Runs one test, turning a panic into a failure.
fn run_one<C>(ctx: &C, test: fn(&C) -> TestResult) -> TestResult {
    panic::catch_unwind(AssertUnwindSafe(|| test(ctx))).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        Err(Failure(format!("panicked: {msg}")))
    })
}

/// A TAP stream whose plan is printed at its end ([`Stream::finish`]), for runs that do not
/// know their number of tests beforehand (a suite made of other suites).
#[derive(Debug, Default)]
pub struct Stream {
    /// What was reported so far.
    pub summary: Summary,
}

impl Stream {
    /// Prints the TAP header and starts counting.
    pub fn new() -> Self {
        header();
        Self::default()
    }

    /// Prints test result `result` as the next test, named `name`.
    pub fn report(&mut self, name: &str, result: TestResult) {
        let s = &mut self.summary;
        let n = s.passed + s.skipped + s.failed + 1;
        match result {
            Ok(Outcome::Pass) => {
                s.passed += 1;
                println!("ok {n} - {name}");
            }
            Ok(Outcome::Skip(why)) => {
                s.skipped += 1;
                println!("ok {n} - {name} # SKIP {why}");
            }
            Err(Failure(why)) => {
                s.failed += 1;
                println!("not ok {n} - {name}");
                diag(&why);
            }
        }
    }

    /// Runs every test of the table against `ctx`, each named `<prefix><name>`.
    pub fn run<C>(&mut self, ctx: &C, tests: &[Test<C>], prefix: &str) {
        for (name, test) in tests {
            self.report(&format!("{prefix}{name}"), run_one(ctx, *test));
        }
    }

    /// Prints the plan and the failure count; returns the counts.
    pub fn finish(self) -> Summary {
        let s = self.summary;
        let total = s.passed + s.skipped + s.failed;
        println!("1..{total}");
        if s.failed > 0 {
            diag(&format!("{} of {total} tests failed", s.failed));
        }
        s
    }
}

/// Runs every test of the table against `ctx` and prints TAP, header included.
/// Returns true if none failed (skips do not fail).
pub fn run<C>(ctx: &C, tests: &[Test<C>]) -> bool {
    header();
    println!("1..{}", tests.len());
    let mut stream = Stream::default();
    for (name, test) in tests {
        stream.report(name, run_one(ctx, *test));
    }
    let failed = stream.summary.failed;
    if failed > 0 {
        diag(&format!("{failed} of {} tests failed", tests.len()));
    }
    failed == 0
}

/// The command line every device selftest takes.
#[derive(Debug, clap::Parser)]
#[command(version, about = "xaccel selftest (TAP output)")]
struct DeviceArgs {
    /// The device node to test.
    #[arg(default_value = "/dev/accel/accel0")]
    device: std::path::PathBuf,
}

/// The `main` of a device selftest: parses `[DEVICE]`, sets up the context with `open`, runs
/// `tests` and returns the exit code (failure if the context cannot be set up or a test fails).
pub fn device_main<C, E: std::fmt::Display>(
    open: impl FnOnce(&std::path::Path) -> Result<C, E>,
    tests: &[Test<C>],
) -> std::process::ExitCode {
    let args = <DeviceArgs as clap::Parser>::parse();
    let ctx = match open(&args.device) {
        Ok(ctx) => ctx,
        Err(err) => {
            header();
            bail_out(&err.to_string());
            return std::process::ExitCode::FAILURE;
        }
    };
    if run(&ctx, tests) {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(_: &()) -> TestResult {
        pass()
    }
    fn skips(_: &()) -> TestResult {
        skip("not here")
    }
    fn fails(_: &()) -> TestResult {
        ensure!(1 + 1 == 3, "arithmetic");
        pass()
    }
    fn errs(_: &()) -> TestResult {
        let n: u8 = "x".parse()?;
        ensure!(n == 0, "unreachable");
        pass()
    }
    fn panics(_: &()) -> TestResult {
        panic!("boom")
    }

    #[test]
    fn outcomes() {
        assert!(run(&(), &[("a", passes), ("b", skips)]));
        assert!(!run(&(), &[("a", passes), ("c", fails)]));
        assert!(!run(&(), &[("d", errs)]));
        assert!(!run(&(), &[("e", panics)]));
        assert!(run::<()>(&(), &[]));
    }

    #[test]
    fn failure_messages() {
        let Err(Failure(msg)) = fails(&()) else {
            panic!("expected a failure")
        };
        assert_eq!(msg, "arithmetic");
        let Err(Failure(msg)) = errs(&()) else {
            panic!("expected a failure")
        };
        assert_eq!(msg, "invalid digit found in string");
    }
}
