// SPDX-License-Identifier: GPL-2.0-only
//! `xaccel`: list and inspect xaccel accelerators (`/dev/accel/accelN`).
//!
//! ```text
//! xaccel list                     one line per device
//! xaccel info [--device PATH]     engines and regions in detail (all devices by default)
//! xaccel --json list|info         the same as a JSON array of device reports
//! ```
//!
//! Exits 1, with a message on stderr, when there is no device or one of them
//! cannot be read; clap's usage errors exit 2. Build and run from the workspace:
//! `cargo run -p xaccel-cli -- list`.

mod human;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::report::Report;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = match &cli.command {
        Command::Info { device: Some(path) } => vec![path.clone()],
        Command::List | Command::Info { device: None } => match xaccel::Device::enumerate() {
            Ok(paths) => paths,
            Err(err) => return fail(&err),
        },
    };
    if paths.is_empty() {
        eprintln!("xaccel: no xaccel device found in {}", xaccel::ACCEL_DIR);
        eprintln!("xaccel: is a backend driver loaded?");
        return ExitCode::FAILURE;
    }

    let mut reports = Vec::new();
    let mut failed = false;
    for path in &paths {
        match Report::gather(path) {
            Ok(report) => reports.push(report),
            Err(err) => {
                eprintln!("xaccel: {err}");
                failed = true;
            }
        }
    }

    if reports.is_empty() {
        // Every device failed, each with a message already.
    } else if cli.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(err) => return fail(&err),
        }
    } else {
        let text = match cli.command {
            Command::List => human::list(&reports),
            Command::Info { .. } => human::info(&reports),
        };
        print!("{text}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
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
}
