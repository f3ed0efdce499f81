// SPDX-License-Identifier: GPL-2.0-only
//! Shared pieces of the xaccel Rust selftests: the TAP runner ([`tap`]) and
//! helpers for raw ioctl buffers ([`raw`]). Each selftest is a binary under
//! `src/<name>/main.rs` holding a table of `(name, fn)` and a one-line `main` calling
//! [`tap::device_main`]; see `src/query/`.
//! Build with `cargo build -p xaccel-selftests`; run the binaries on a machine
//! with an xaccel device.

pub mod debugfs;
pub mod jobs;
pub mod memory;
pub mod peers;
pub mod raw;
pub mod rng;
pub mod sw_sync;
pub mod tap;
