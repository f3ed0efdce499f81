// SPDX-License-Identifier: GPL-2.0-only

//! Declarations of the C the fence layer calls that bindgen does not give us.
//!
//! Two kinds: the one-line wrappers in `fence_helpers.c` around inline functions and macros,
//! and the exported `dma_fence_chain_*` functions, whose header the kernel's bindings do not
//! include. Callers carry the safety arguments; each declaration names the C it stands for.

use kernel::{bindings, ffi::c_int};

/// `struct dma_fence_chain`, only ever handled by pointer.
#[repr(C)]
pub(crate) struct RawChain {
    _opaque: [u8; 0],
}

extern "C" {
    /// `dma_fence_get()`.
    pub(super) fn xaccel_dma_fence_get(fence: *mut bindings::dma_fence)
        -> *mut bindings::dma_fence;
    /// `dma_fence_put()`.
    pub(super) fn xaccel_dma_fence_put(fence: *mut bindings::dma_fence);
    /// `dma_fence_begin_signalling()`: exported with `CONFIG_LOCKDEP`, inline (and empty)
    /// without, where `SignallingSection` does not call it.
    #[cfg(CONFIG_LOCKDEP)]
    pub(super) fn xaccel_dma_fence_begin_signalling() -> bool;
    /// `dma_fence_end_signalling()`, as above.
    #[cfg(CONFIG_LOCKDEP)]
    pub(super) fn xaccel_dma_fence_end_signalling(cookie: bool);
    /// `dma_fence_is_signaled()`.
    pub(super) fn xaccel_dma_fence_is_signaled(fence: *mut bindings::dma_fence) -> bool;
    /// `dma_fence_test_signaled_flag()`.
    pub(super) fn xaccel_dma_fence_test_signaled_flag(fence: *mut bindings::dma_fence) -> bool;
    /// `dma_fence_set_error()`.
    pub(super) fn xaccel_dma_fence_set_error(fence: *mut bindings::dma_fence, error: c_int);
    /// `fence->error` once signalled, else 0; lockless.
    pub(super) fn xaccel_dma_fence_error(fence: *mut bindings::dma_fence) -> c_int;
    /// `dma_fence_timestamp()` if the fence is signalled, else `false`.
    pub(super) fn xaccel_dma_fence_timestamp(
        fence: *mut bindings::dma_fence,
        timestamp: *mut bindings::ktime_t,
    ) -> bool;
    /// `kref_read(&fence->refcount)`.
    pub(super) fn xaccel_dma_fence_refcount(fence: *mut bindings::dma_fence) -> u32;
    /// `dma_fence_is_chain()`.
    pub(super) fn xaccel_dma_fence_is_chain(fence: *mut bindings::dma_fence) -> bool;
    /// `dma_fence_chain_contained()`.
    pub(super) fn xaccel_dma_fence_chain_contained(
        fence: *mut bindings::dma_fence,
    ) -> *mut bindings::dma_fence;
    /// `dma_fence_chain_alloc()`; may sleep.
    pub(super) fn xaccel_dma_fence_chain_alloc() -> *mut RawChain;
    /// `dma_fence_chain_free()`.
    pub(super) fn xaccel_dma_fence_chain_free(chain: *mut RawChain);
    /// `&chain->base`.
    pub(super) fn xaccel_dma_fence_chain_base(chain: *mut RawChain) -> *mut bindings::dma_fence;
    /// `list_del_init()`.
    pub(super) fn xaccel_list_del_init(entry: *mut bindings::list_head);
    /// `list_empty()`.
    pub(super) fn xaccel_list_empty(head: *const bindings::list_head) -> bool;
    /// `in_hardirq()`.
    #[cfg(CONFIG_XACCEL_KUNIT_TEST)]
    pub(super) fn xaccel_in_hardirq() -> bool;
    /// `atomic64_dec_and_test()`, then `wake_up_var()` on zero.
    pub(super) fn xaccel_counter_dec_and_wake(counter: *mut bindings::atomic64_t);
    /// `wait_var_event(counter, atomic64_read(counter) == 0)`.
    pub(super) fn xaccel_counter_wait_zero(counter: *mut bindings::atomic64_t);

    /// `dma_fence_chain_init()` (exported by `drivers/dma-buf/dma-fence-chain.c`).
    pub(super) fn dma_fence_chain_init(
        chain: *mut RawChain,
        prev: *mut bindings::dma_fence,
        fence: *mut bindings::dma_fence,
        seqno: u64,
    );
    /// `dma_fence_chain_walk()`.
    pub(super) fn dma_fence_chain_walk(fence: *mut bindings::dma_fence)
        -> *mut bindings::dma_fence;
    /// `dma_fence_chain_find_seqno()`.
    pub(super) fn dma_fence_chain_find_seqno(
        pfence: *mut *mut bindings::dma_fence,
        seqno: u64,
    ) -> c_int;
}
