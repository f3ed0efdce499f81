// SPDX-License-Identifier: GPL-2.0-only
//! `hlx-model`: runs the HLX device model for one QEMU VM at a time.
//!
//! ```text
//! hlx-model --socket PATH [--bar-size 64M] [--bar-file FILE] [--peer FILE]...
//!           [--guest-ram FILE --guest-ram-size 2G [--guest-ram-below-4g SIZE]]
//!           [--once] [--verbose]
//! ```
//!
//! The socket appears (atomically) once the model accepts connections; QEMU connects
//! with `-chardev socket,path=PATH,id=hlx -device ivshmem-doorbell,chardev=hlx,vectors=8`.
//! SIGTERM, SIGINT or SIGHUP stop it cleanly (the socket is removed); exit status 0.
//! See tools/hlx-model/README.md for the whole QEMU command line.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use hlx_model::device::Device;
use hlx_model::dma::GuestRam;
use hlx_model::server::{Server, MODEL_PEER_ID};
use hlx_model::shm::Mem;

/// Pre-silicon model of the HLX accelerator, served to QEMU as an ivshmem-doorbell device.
#[derive(Debug, Parser)]
#[command(name = "hlx-model", version, about)]
struct Cli {
    /// UNIX socket on which to serve QEMU's ivshmem-doorbell protocol. An existing
    /// file there is replaced.
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
    /// BAR2 size: the 4 KiB register page followed by HBM. A power of two of at least
    /// 8K (QEMU requires a power of two). Suffixes K, M, G.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    bar_size: u64,
    /// Keep BAR2 in this file (created, sparse, if missing; otherwise exactly
    /// --bar-size bytes) instead of an anonymous memfd, so that peer models can reach
    /// this device's HBM (their --peer).
    #[arg(long, value_name = "FILE")]
    bar_file: Option<PathBuf>,
    /// The BAR2 file (--bar-file) of a peer HLX under the same PCIe switch: host DMA to
    /// a bus address that is not guest RAM reaches that peer's BAR2 when it falls inside
    /// the address the peer's driver wrote to its BAR2_BUS_ADDR. Repeatable.
    #[arg(long = "peer", value_name = "FILE")]
    peers: Vec<PathBuf>,
    /// The guest-RAM file QEMU maps (memory-backend-file,share=on,mem-path=FILE). It
    /// is created, sparse, if missing. Without it, every host DMA fails.
    #[arg(long, value_name = "FILE", requires = "guest_ram_size")]
    guest_ram: Option<PathBuf>,
    /// Guest RAM size: QEMU's -m, and the backend's size=.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "guest_ram")]
    guest_ram_size: Option<u64>,
    /// How much of the guest RAM QEMU maps below 4 GiB; the rest starts at 4 GiB.
    /// Default: q35's split (2G when the RAM is 2.75G or more, otherwise all of it).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "guest_ram")]
    guest_ram_below_4g: Option<u64>,
    /// Exit when the VM disconnects, instead of waiting for the next one.
    #[arg(long)]
    once: bool,
    /// Log connections and resets on stderr.
    #[arg(long, short)]
    verbose: bool,
}

/// Parses a byte count with an optional K/M/G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 10),
        Some((i, 'm' | 'M')) => (&s[..i], 20),
        Some((i, 'g' | 'G')) => (&s[..i], 30),
        _ => (s, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("bad size {s:?}"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// Binds the socket under a temporary name and renames it into place, so that the
/// path exists only once connections are accepted.
fn listen(path: &Path) -> std::io::Result<UnixListener> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    std::fs::rename(&tmp, path)?;
    Ok(listener)
}

fn run(cli: &Cli) -> Result<(), String> {
    if !cli.bar_size.is_power_of_two() || cli.bar_size < 8192 {
        return Err(format!(
            "--bar-size {} is not a power of two of at least 8K",
            cli.bar_size
        ));
    }
    let bar = match &cli.bar_file {
        Some(path) => Mem::open_file(path, cli.bar_size, true),
        None => Mem::memfd("hlx-bar2", cli.bar_size),
    };
    let bar = Arc::new(bar.map_err(|e| format!("BAR2: {e}"))?);
    let peers = cli
        .peers
        .iter()
        .map(|path| {
            Mem::open_existing(path)
                .map(Arc::new)
                .map_err(|e| format!("peer {}: {e}", path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let guest = match (&cli.guest_ram, cli.guest_ram_size) {
        (Some(path), Some(size)) => {
            let mem = Mem::open_file(path, size, true)
                .map_err(|e| format!("guest RAM {}: {e}", path.display()))?;
            let below = cli
                .guest_ram_below_4g
                .unwrap_or_else(|| GuestRam::q35_below_4g(size));
            Some(GuestRam::new(mem, below).map_err(|e| format!("guest RAM: {e}"))?)
        }
        _ => None,
    };
    let mut device = Device::new(bar.clone(), guest, MODEL_PEER_ID);
    device
        .set_peers(peers)
        .map_err(|e| format!("--peer: {e}"))?;

    let (shutdown, wake) = UnixStream::pair().map_err(|e| e.to_string())?;
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        let w = wake.try_clone().map_err(|e| e.to_string())?;
        signal_hook::low_level::pipe::register(sig, w).map_err(|e| e.to_string())?;
    }
    let listener = listen(&cli.socket).map_err(|e| format!("{}: {e}", cli.socket.display()))?;
    if cli.verbose {
        eprintln!(
            "hlx-model: listening on {} (BAR2 {} bytes, HBM {} bytes, {} peers)",
            cli.socket.display(),
            cli.bar_size,
            cli.bar_size - 4096,
            cli.peers.len()
        );
    }
    let result = Server::new(listener, shutdown, bar, device, cli.once)
        .verbose(cli.verbose)
        .run();
    let _ = std::fs::remove_file(&cli.socket);
    result.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("hlx-model: {msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("8K"), Ok(8192));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
