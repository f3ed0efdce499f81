// SPDX-License-Identifier: GPL-2.0-only
/*
 * C wrappers for the fence layer (core/fence/): dma_fence, dma_fence_chain,
 * list and wait_var_event helpers that are inline functions or macros, so
 * bindgen cannot see them. Each wrapper is one call; the Rust side
 * (c_helpers.rs declares them) carries the safety arguments.
 */

#include <linux/dma-fence-chain.h>
#include <linux/dma-fence.h>
#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/preempt.h>
#include <linux/wait_bit.h>

#include "fence_helpers.h"

struct dma_fence *xaccel_dma_fence_get(struct dma_fence *fence)
{
	return dma_fence_get(fence);
}

void xaccel_dma_fence_put(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

bool xaccel_dma_fence_is_signaled(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

bool xaccel_dma_fence_test_signaled_flag(struct dma_fence *fence)
{
	return dma_fence_test_signaled_flag(fence);
}

void xaccel_dma_fence_set_error(struct dma_fence *fence, int error)
{
	dma_fence_set_error(fence, error);
}

/*
 * The error @fence was signalled with, 0 if none or if it is unsignalled.
 * Lockless, so callable from a callback of @fence (which runs under its
 * lock): the error is written before the signalled bit is set with a fully
 * ordered test_and_set_bit(), and never changes afterwards.
 */
int xaccel_dma_fence_error(struct dma_fence *fence)
{
	if (!dma_fence_test_signaled_flag(fence))
		return 0;
	smp_rmb();
	return READ_ONCE(fence->error);
}

/* The signal timestamp, if @fence is signalled (dma_fence_timestamp() WARNs otherwise). */
bool xaccel_dma_fence_timestamp(struct dma_fence *fence, ktime_t *timestamp)
{
	if (!dma_fence_test_signaled_flag(fence))
		return false;
	*timestamp = dma_fence_timestamp(fence);
	return true;
}

unsigned int xaccel_dma_fence_refcount(struct dma_fence *fence)
{
	return kref_read(&fence->refcount);
}

bool xaccel_dma_fence_is_chain(struct dma_fence *fence)
{
	return dma_fence_is_chain(fence);
}

struct dma_fence *xaccel_dma_fence_chain_contained(struct dma_fence *fence)
{
	return dma_fence_chain_contained(fence);
}

/* May sleep: dma_fence_chain_alloc() allocates with GFP_KERNEL. */
struct dma_fence_chain *xaccel_dma_fence_chain_alloc(void)
{
	return dma_fence_chain_alloc();
}

void xaccel_dma_fence_chain_free(struct dma_fence_chain *chain)
{
	dma_fence_chain_free(chain);
}

/* The chain node's fence, for a node initialised by dma_fence_chain_init(). */
struct dma_fence *xaccel_dma_fence_chain_base(struct dma_fence_chain *chain)
{
	return &chain->base;
}

void xaccel_list_del_init(struct list_head *entry)
{
	list_del_init(entry);
}

bool xaccel_list_empty(const struct list_head *head)
{
	return list_empty(head);
}

#ifdef CONFIG_XACCEL_KUNIT_TEST
/* For tests that check they really ran in hard interrupt context. */
bool xaccel_in_hardirq(void)
{
	return in_hardirq();
}
#endif

/*
 * A counter that can be waited on until it reaches zero. The decrement is
 * fully ordered, as wake_up_var() requires; wake_up_var() only hashes the
 * address, so the counter may already be freed by the woken waiter.
 */
void xaccel_counter_dec_and_wake(atomic64_t *counter)
{
	if (atomic64_dec_and_test(counter))
		wake_up_var(counter);
}

/* Sleeps until *@counter is zero. */
void xaccel_counter_wait_zero(atomic64_t *counter)
{
	wait_var_event(counter, atomic64_read(counter) == 0);
}

/*
 * Exported functions with lockdep. Without it they are empty inline functions
 * and the Rust side (SignallingSection) calls nothing.
 */
#ifdef CONFIG_LOCKDEP
bool xaccel_dma_fence_begin_signalling(void)
{
	return dma_fence_begin_signalling();
}

void xaccel_dma_fence_end_signalling(bool cookie)
{
	dma_fence_end_signalling(cookie);
}
#endif
