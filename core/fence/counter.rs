// SPDX-License-Identifier: GPL-2.0-only

//! A counter of things someone must wait for: unsignalled fences of a context, live contexts.
//!
//! Whoever owns the memory the counted things depend on waits until the count is zero
//! ([`DrainCounter::wait_zero`]); whoever finishes with one decrements it
//! ([`DrainCounter::dec_and_wake`]) from any context, including hard interrupts. The decrement is
//! the decrementer's last access: the waiter may free the counter as soon as it sees zero.

use super::c_helpers;
use kernel::{
    bindings,
    sync::atomic::{Atomic, Relaxed},
};

/// A count that can be waited on until it drops to zero.
///
/// The value lives in an [`Atomic<i64>`], which has the layout of the C `atomic64_t` the
/// `wait_var_event()`/`wake_up_var()` helpers operate on.
#[repr(transparent)]
pub(crate) struct DrainCounter(Atomic<i64>);

impl DrainCounter {
    /// A counter at zero.
    pub(crate) const fn new() -> Self {
        Self(Atomic::new(0))
    }

    /// The current count; a snapshot.
    pub(crate) fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }

    /// Counts one more thing. Publishing the thing to others orders this increment before
    /// anyone can finish with it.
    pub(crate) fn inc(&self) {
        self.0.add(1, Relaxed);
    }

    /// Counts one thing less and wakes [`DrainCounter::wait_zero`] when that was the last.
    ///
    /// Takes a raw pointer because, once the count reaches zero, the waiter may free the counter
    /// before this function returns; no reference to it may live across the decrement.
    ///
    /// # Safety
    ///
    /// `this` points to a live counter, and the caller owns one count (from an earlier
    /// [`DrainCounter::inc`]) that it gives up here. The caller must not access the counter, or
    /// anything the waiter may free, afterwards.
    pub(crate) unsafe fn dec_and_wake(this: *const Self) {
        // `Self` is a transparent `Atomic<i64>`, which is a transparent `i64` cell: the layout of
        // `atomic64_t`.
        let raw = this.cast::<bindings::atomic64_t>().cast_mut();
        // SAFETY: `raw` is live by the safety requirements; the C helper performs a fully ordered
        // atomic decrement on it and then only uses the address as a wait-queue key.
        unsafe { c_helpers::xaccel_counter_dec_and_wake(raw) };
    }

    /// Sleeps until the count is zero. Must be called from process context.
    pub(crate) fn wait_zero(&self) {
        kernel::task::might_sleep();
        let raw = self.0.as_ptr().cast::<bindings::atomic64_t>();
        // SAFETY: `raw` is this live counter (see `dec_and_wake` for the layout), which `&self`
        // keeps alive for the whole wait.
        unsafe { c_helpers::xaccel_counter_wait_zero(raw) };
    }
}
