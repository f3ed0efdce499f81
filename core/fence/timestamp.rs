// SPDX-License-Identifier: GPL-2.0-only

//! Points in `CLOCK_MONOTONIC` time, as fences carry them (`ktime_t`).
//!
//! The kernel crate's `Instant` cannot be built from a `ktime_t` outside the kernel crate, and a
//! fence's signal timestamp or a deadline is exactly that, so the fence layer has its own small
//! type.

use core::ops::{Add, Sub};
use kernel::{bindings, time::Delta};

/// A point in `CLOCK_MONOTONIC` time, in nanoseconds (a `ktime_t`).
///
/// Used for signal timestamps ([`DmaFence::timestamp`], [`Fence::signal_at`]) and deadlines
/// ([`DmaFence::set_deadline`], [`DeadlineHook`]).
///
/// [`DmaFence::timestamp`]: super::DmaFence::timestamp
/// [`DmaFence::set_deadline`]: super::DmaFence::set_deadline
/// [`Fence::signal_at`]: super::Fence::signal_at
/// [`DeadlineHook`]: super::DeadlineHook
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    nanos: bindings::ktime_t,
}

impl Timestamp {
    /// The current `CLOCK_MONOTONIC` time (`ktime_get()`).
    pub fn now() -> Self {
        // SAFETY: `ktime_get()` may be called from any context but NMI.
        Self::from_nanos(unsafe { bindings::ktime_get() })
    }

    /// The point `nanos` nanoseconds after the clock's origin (boot).
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// Nanoseconds since the clock's origin: the `ktime_t` value.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }
}

impl Add<Delta> for Timestamp {
    type Output = Self;

    /// Saturates instead of overflowing: a deadline "very far away" stays far away.
    fn add(self, rhs: Delta) -> Self {
        Self::from_nanos(self.nanos.saturating_add(rhs.as_nanos()))
    }
}

impl Sub for Timestamp {
    type Output = Delta;

    fn sub(self, rhs: Self) -> Delta {
        Delta::from_nanos(self.nanos.saturating_sub(rhs.nanos))
    }
}
