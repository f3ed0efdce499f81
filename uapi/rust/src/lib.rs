// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
//! `xaccel-uapi`: the xaccel uAPI for userspace Rust.
//!
//! All definitions live in [`abi`] (`src/abi.rs`), which the kernel core also
//! includes with `#[path]`; this crate only re-exports them. Run the layout
//! check against the C header with `cargo test -p xaccel-uapi`.

#![no_std]

pub mod abi;
pub mod hlx;
pub mod vaccel_isa;

pub use abi::*;
