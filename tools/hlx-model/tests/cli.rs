// SPDX-License-Identifier: GPL-2.0-only
//! The `hlx-model` binary as the VM runner uses it: the socket appears when it is ready,
//! the guest-RAM file is created, `--once` exits when the VM leaves, SIGTERM stops it, and
//! the socket is removed either way.

mod common;

use std::os::unix::net::UnixStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::TempDir;
use hlx_model::protocol::client_handshake;

fn start(dir: &TempDir, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hlx-model"))
        .arg("--socket")
        .arg(dir.0.join("hlx.sock"))
        .args(["--bar-size", "1M"])
        .args(extra)
        .spawn()
        .unwrap()
}

fn wait_socket(dir: &TempDir) -> UnixStream {
    let end = Instant::now() + Duration::from_secs(10);
    let path = dir.0.join("hlx.sock");
    while !path.exists() {
        assert!(Instant::now() < end, "socket never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The socket only appears once it accepts connections.
    UnixStream::connect(&path).unwrap()
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < end, "the model did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn once_exits_cleanly_when_the_vm_leaves() {
    let dir = TempDir::new();
    let ram = dir.0.join("guest-ram");
    let ram_arg = ram.to_str().unwrap().to_owned();
    let mut child = start(
        &dir,
        &["--guest-ram", &ram_arg, "--guest-ram-size", "2M", "--once"],
    );
    let sock = wait_socket(&dir);
    assert_eq!(std::fs::metadata(&ram).unwrap().len(), 2 << 20, "created");
    let setup = client_handshake(&sock, 8).unwrap();
    assert_eq!(rustix::fs::fstat(&setup.shm).unwrap().st_size, 1 << 20);
    drop(sock);
    assert!(wait_exit(&mut child).success());
    assert!(!dir.0.join("hlx.sock").exists(), "socket removed");
}

#[test]
fn sigterm_stops_it_cleanly() {
    let dir = TempDir::new();
    let mut child = start(&dir, &[]);
    let sock = wait_socket(&dir);
    client_handshake(&sock, 8).unwrap();
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(wait_exit(&mut child).success());
    assert!(!dir.0.join("hlx.sock").exists(), "socket removed");
}

#[test]
fn a_guest_ram_file_of_the_wrong_size_is_refused() {
    let dir = TempDir::new();
    let ram = dir.0.join("guest-ram");
    std::fs::write(&ram, [0u8; 4096]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hlx-model"))
        .arg("--socket")
        .arg(dir.0.join("hlx.sock"))
        .arg("--guest-ram")
        .arg(&ram)
        .args(["--guest-ram-size", "2M"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected 2097152"));
}
