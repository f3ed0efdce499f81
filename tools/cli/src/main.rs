// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel`: list and inspect xaccel accelerators (`/dev/accel/accelN`).
//!
//! ```text
//! xaccel list                     one line per device
//! xaccel info [--device PATH]     engines and regions in detail (all devices by default)
//! xaccel mem [--device PATH] [--pid PID]
//!                                 regions used / size, and a process's memory per open
//!                                 file of the device (this process by default)
//! xaccel run [--device PATH] [--engine N] [--delay-us US] [--count N]
//!                                 runs vaccel NOP (or DELAY) jobs and times them
//! xaccel top [--device PATH] [--interval-ms MS]
//!                                 every client's busy time (and utilisation over the
//!                                 interval) per engine, from /proc/*/fdinfo
//! xaccel --json list|info|mem|top|run  the same as JSON (an array of device reports but for run)
//! ```
//!
//! Exits 1, with a message on stderr, when there is no device or one of them
//! cannot be read; clap's usage errors exit 2. Build and run from the workspace:
//! `cargo run -p xaccel-cli -- list`.

mod human;
mod mem;
mod report;
mod run;
mod top;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::mem::MemReport;
use crate::report::Report;
use crate::top::TopReport;

/// Inspect xaccel accelerator devices.
#[derive(Debug, Parser)]
#[command(name = "xaccel", version, about)]
struct Cli {
    /// Print JSON (an array of device reports) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One line per device: path, backend, uAPI version, engines, regions.
    List,
    /// Full detail of every device's engines and memory regions.
    Info {
        /// Only this device node (default: every node in /dev/accel).
        #[arg(long, short, value_name = "PATH")]
        device: Option<PathBuf>,
    },
    /// Memory regions (used / size) and a process's memory per open file.
    Mem {
        /// Only this device node (default: every node in /dev/accel).
        #[arg(long, short, value_name = "PATH")]
        device: Option<PathBuf>,
        /// Show this process's open files of the device (default: xaccel's own).
        #[arg(long, value_name = "PID")]
        pid: Option<u32>,
    },
    /// Each client's busy time per engine (fdinfo), and its utilisation over an interval.
    Top {
        /// Only this device node (default: every node in /dev/accel).
        #[arg(long, short, value_name = "PATH")]
        device: Option<PathBuf>,
        /// Sample twice this far apart and show utilisation (0: one sample).
        #[arg(long, default_value_t = 0)]
        interval_ms: u64,
    },
    /// Run vaccel NOP (or DELAY) jobs through SUBMIT and a syncobj, and time them.
    Run {
        /// The device node.
        #[arg(long, short, value_name = "PATH", default_value = "/dev/accel/accel0")]
        device: PathBuf,
        /// The engine to run on.
        #[arg(long, default_value_t = 0)]
        engine: u32,
        /// Make each job a DELAY of this many microseconds (0: NOP).
        #[arg(long, default_value_t = 0)]
        delay_us: u32,
        /// How many jobs, one after the other.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Run {
        device,
        engine,
        delay_us,
        count,
    } = &cli.command
    {
        return match run::run(device, *engine, *delay_us, *count) {
            Ok(report) if cli.json => match serde_json::to_string_pretty(&report) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(err) => fail(&err),
            },
            Ok(report) => {
                print!("{}", run::human(&report));
                ExitCode::SUCCESS
            }
            Err(err) => fail(&err),
        };
    }
    let paths = match &cli.command {
        Command::Run { .. } => unreachable!("handled above"),
        Command::Info { device: Some(path) }
        | Command::Mem {
            device: Some(path), ..
        }
        | Command::Top {
            device: Some(path), ..
        } => vec![path.clone()],
        Command::List
        | Command::Info { device: None }
        | Command::Mem { device: None, .. }
        | Command::Top { device: None, .. } => match xaccel::Device::enumerate() {
            Ok(paths) => paths,
            Err(err) => return fail(&err),
        },
    };
    if paths.is_empty() {
        eprintln!("xaccel: no xaccel device found in {}", xaccel::ACCEL_DIR);
        eprintln!("xaccel: is a backend driver loaded?");
        return ExitCode::FAILURE;
    }

    let (printed, failed) = match cli.command {
        Command::Mem { pid, .. } => output(
            &paths,
            |path| MemReport::gather(path, pid),
            cli.json,
            human::mem,
        ),
        Command::Top { interval_ms, .. } => {
            let interval = (interval_ms > 0).then(|| std::time::Duration::from_millis(interval_ms));
            output(
                &paths,
                |path| TopReport::gather(path, interval),
                cli.json,
                human::top,
            )
        }
        Command::List => output(&paths, Report::gather, cli.json, human::list),
        Command::Info { .. } => output(&paths, Report::gather, cli.json, human::info),
        Command::Run { .. } => unreachable!("handled above"),
    };
    if let Err(err) = printed {
        return fail(&err);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Gathers a report per device and prints them, as JSON or as `text` makes
/// them. Returns whether printing worked and whether any device failed (each
/// with a message on stderr).
fn output<R: serde::Serialize>(
    paths: &[PathBuf],
    gather: impl Fn(&std::path::Path) -> xaccel::Result<R>,
    json: bool,
    text: fn(&[R]) -> String,
) -> (Result<(), serde_json::Error>, bool) {
    let mut reports = Vec::new();
    let mut failed = false;
    for path in paths {
        match gather(path) {
            Ok(report) => reports.push(report),
            Err(err) => {
                eprintln!("xaccel: {err}");
                failed = true;
            }
        }
    }
    if reports.is_empty() {
        // Every device failed, each with a message already.
        return (Ok(()), failed);
    }
    if json {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(err) => return (Err(err), failed),
        }
    } else {
        print!("{}", text(&reports));
    }
    (Ok(()), failed)
}

/// Prints an error and returns the failing exit code.
fn fail(err: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("xaccel: {err}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_is_global() {
        let cli = Cli::try_parse_from(["xaccel", "info", "--device", "/x", "--json"]).unwrap();
        assert!(cli.json);
        assert!(matches!(cli.command, Command::Info { device: Some(_) }));
        let cli = Cli::try_parse_from(["xaccel", "--json", "list"]).unwrap();
        assert!(cli.json && matches!(cli.command, Command::List));
        assert!(Cli::try_parse_from(["xaccel"]).is_err());
    }

    #[test]
    fn mem_options() {
        let cli =
            Cli::try_parse_from(["xaccel", "mem", "-d", "/x", "--pid", "7", "--json"]).unwrap();
        assert!(cli.json);
        assert!(matches!(
            cli.command,
            Command::Mem {
                device: Some(_),
                pid: Some(7)
            }
        ));
        let cli = Cli::try_parse_from(["xaccel", "mem"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Mem {
                device: None,
                pid: None
            }
        ));
        assert!(Cli::try_parse_from(["xaccel", "mem", "--pid", "x"]).is_err());
    }
}
