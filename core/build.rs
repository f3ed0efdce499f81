// SPDX-License-Identifier: GPL-2.0-only

//! The core's build id, which ties every backend to the core build it was compiled against.
//!
//! A backend is compiled against the core's crate metadata: the layout of every type it shares
//! with the core, the code of every generic it instantiates and the names of the core's
//! symbols all come from one build of the core. Loaded next to another build, it would call
//! that build with the wrong layouts. So the id of the build (a hash of the core's sources,
//! the compiler and the kernel build, computed by the top-level `Makefile`) is part of a
//! symbol's name, `xaccel_core_build_<id>`, which the core defines and exports, and which
//! generic code every backend instantiates ([`crate::Registration::new`]) refers to. A backend
//! of another core build then refuses to load, with the kernel's message
//! `Unknown symbol xaccel_core_build_<id>` naming the build it needs.

/// The id of this build of the core: 16 hex digits.
pub const BUILD_ID: &str = env!("XACCEL_BUILD_ID");

/// The symbol whose name carries [`BUILD_ID`]; its value means nothing.
#[export_name = concat!("xaccel_core_build_", env!("XACCEL_BUILD_ID"))]
pub static CORE_BUILD: u8 = 0;

/// Makes the calling code refer to [`CORE_BUILD`] by its symbol.
///
/// Always inlined, and called from generic code, so that the reference lands in the backend
/// module that instantiates it (a call to an out-of-line function would name that function,
/// whose symbol is the same in every build).
#[inline(always)]
pub(crate) fn require_this_core() {
    core::hint::black_box(&CORE_BUILD);
}
