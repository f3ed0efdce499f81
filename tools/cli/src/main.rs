// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel`: list and inspect xaccel accelerators (`/dev/accel/accelN`).
//!
//! ```text
//! xaccel list                     one line per device
//! xaccel info [--device PATH]     engines and regions in detail (all devices by default)
//! xaccel mem [--device PATH] [--pid PID]
//!                                 regions used / size, and a process's memory per open
//!                                 file of the device (this process by default)
//! xaccel bo [--device PATH]       every buffer object of the device (all open files; from
//!                                 the core's debugfs file, so as root) and the regions
//! xaccel run [--device PATH] [--engine N] [--op OP] [--size BYTES] [--placement system|local]
//!            [--delay-us US] [--count N]
//!                                 runs vaccel jobs (NOP, DELAY, COPY, FILL, ADD, MUL, XOR, MAX,
//!                                 SUM, WRITE_TIMESTAMP), checks the result against the CPU and
//!                                 times them; a progress bar for many jobs
//! xaccel top [--device PATH] [--interval-ms MS]
//!                                 every client's busy time (and utilisation over the
//!                                 interval) per engine, from /proc/*/fdinfo
//! xaccel hlx --device PATH         runs an HLX DMA + compute program, shows queues and HBM
//! xaccel --json list|info|mem|bo|top|run|hlx  the same as JSON (an array of device reports
//!                                 but for run and hlx)
//! ```
//!
//! Exits 1, with a message on stderr, when there is no device or one of them
//! cannot be read; clap's usage errors exit 2. Build and run from the workspace:
//! `cargo run -p xaccel-cli -- list`.

mod bo;
mod hlx;
mod human;
mod mem;
mod report;
mod run;
mod top;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::bo::BoReport;
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
    /// Every buffer object of a device, per open file, and its regions (root: reads debugfs).
    Bo {
        /// Only this device node (default: every node in /dev/accel).
        #[arg(long, short, value_name = "PATH")]
        device: Option<PathBuf>,
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
    /// Run vaccel jobs through SUBMIT and a syncobj, check their result against the CPU, and
    /// time them.
    Run {
        /// The device node.
        #[arg(long, short, value_name = "PATH", default_value = "/dev/accel/accel0")]
        device: PathBuf,
        /// The engine to run on.
        #[arg(long, default_value_t = 0)]
        engine: u32,
        /// The operation each job runs.
        #[arg(long, value_enum, default_value_t = run::Op::Nop)]
        op: run::Op,
        /// Bytes each memory operation covers (elements: SIZE / 4).
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
        size: u64,
        /// Where the job's buffer objects live.
        #[arg(long, value_enum, default_value_t = run::Placement::System)]
        placement: run::Placement,
        /// With --op nop: make each job a DELAY of this many microseconds instead.
        #[arg(long, default_value_t = 0)]
        delay_us: u32,
        /// How many jobs, one after the other.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
    },
    /// Run an HLX DMA and compute program and show the device's queues and HBM (hlx only).
    Hlx {
        /// The hlx device node.
        #[arg(long, short, value_name = "PATH")]
        device: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Run {
        device,
        engine,
        op,
        size,
        placement,
        delay_us,
        count,
    } = &cli.command
    {
        let args = run::RunArgs {
            device: device.clone(),
            engine: *engine,
            op: *op,
            delay_us: *delay_us,
            size: *size,
            placement: *placement,
            count: *count,
        };
        return match run::run(&args, cli.json) {
            Ok(report) if !report.verified => {
                if cli.json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&report).unwrap_or_default()
                    );
                } else {
                    print!("{}", run::human(&report));
                }
                ExitCode::FAILURE
            }
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
    if let Command::Hlx { device } = &cli.command {
        return match hlx::run(device) {
            Ok(report) if cli.json => match serde_json::to_string_pretty(&report) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(err) => fail(&err),
            },
            Ok(report) if report.jobs.iter().all(|(_, _, s)| s == "ok") => {
                print!("{}", hlx::human(&report));
                ExitCode::SUCCESS
            }
            Ok(report) => {
                print!("{}", hlx::human(&report));
                ExitCode::FAILURE
            }
            Err(err) => fail(&err),
        };
    }
    let paths = match &cli.command {
        Command::Run { .. } | Command::Hlx { .. } => unreachable!("handled above"),
        Command::Info { device: Some(path) }
        | Command::Bo { device: Some(path) }
        | Command::Mem {
            device: Some(path), ..
        }
        | Command::Top {
            device: Some(path), ..
        } => vec![path.clone()],
        Command::List
        | Command::Info { device: None }
        | Command::Bo { device: None }
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
        Command::Bo { .. } => output(&paths, BoReport::gather, cli.json, human::bos),
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
        Command::Run { .. } | Command::Hlx { .. } => unreachable!("handled above"),
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
