/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The C wrappers of the fence layer, declared for Rust in core/fence/c_helpers.rs.
 */
#ifndef XACCEL_FENCE_HELPERS_H
#define XACCEL_FENCE_HELPERS_H

#include <linux/atomic.h>
#include <linux/ktime.h>
#include <linux/types.h>

struct dma_fence;
struct dma_fence_chain;
struct list_head;

struct dma_fence *xaccel_dma_fence_get(struct dma_fence *fence);
void xaccel_dma_fence_put(struct dma_fence *fence);
bool xaccel_dma_fence_is_signaled(struct dma_fence *fence);
bool xaccel_dma_fence_test_signaled_flag(struct dma_fence *fence);
void xaccel_dma_fence_set_error(struct dma_fence *fence, int error);
int xaccel_dma_fence_error(struct dma_fence *fence);
bool xaccel_dma_fence_timestamp(struct dma_fence *fence, ktime_t *timestamp);
unsigned int xaccel_dma_fence_refcount(struct dma_fence *fence);
bool xaccel_dma_fence_is_chain(struct dma_fence *fence);
struct dma_fence *xaccel_dma_fence_chain_contained(struct dma_fence *fence);
struct dma_fence_chain *xaccel_dma_fence_chain_alloc(void);
void xaccel_dma_fence_chain_free(struct dma_fence_chain *chain);
struct dma_fence *xaccel_dma_fence_chain_base(struct dma_fence_chain *chain);
bool xaccel_dma_fence_begin_signalling(void);
void xaccel_dma_fence_end_signalling(bool cookie);
void xaccel_list_del_init(struct list_head *entry);
bool xaccel_list_empty(const struct list_head *head);
#ifdef CONFIG_XACCEL_KUNIT_TEST
bool xaccel_in_hardirq(void);
#endif
void xaccel_counter_dec_and_wake(atomic64_t *counter);
void xaccel_counter_wait_zero(atomic64_t *counter);

#endif /* XACCEL_FENCE_HELPERS_H */
