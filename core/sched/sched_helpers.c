// SPDX-License-Identifier: GPL-2.0-only
/*
 * The scheduler's workqueues (core/sched/): alloc_workqueue() is a macro, so
 * bindgen cannot see it. They belong to xaccel.ko: every ring's pass work item
 * runs on the first, its reaping of retired jobs on the second, and module
 * exit destroys both (which flushes them) after the last ring is gone, so no
 * work function of the core runs after unload.
 */

#include <linux/preempt.h>
#include <linux/workqueue.h>

#include "sched_helpers.h"

static struct workqueue_struct *xaccel_sched_wq;
static struct workqueue_struct *xaccel_reap_wq;

int xaccel_sched_wq_init(void)
{
	xaccel_sched_wq = alloc_workqueue("xaccel_sched", WQ_PERCPU | WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	if (!xaccel_sched_wq)
		return -ENOMEM;
	/* Unbound: a batch of retired jobs is freed on a CPU with time for it. */
	xaccel_reap_wq = alloc_workqueue("xaccel_reap", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!xaccel_reap_wq) {
		destroy_workqueue(xaccel_sched_wq);
		xaccel_sched_wq = NULL;
		return -ENOMEM;
	}
	return 0;
}

void xaccel_sched_wq_exit(void)
{
	destroy_workqueue(xaccel_sched_wq);
	xaccel_sched_wq = NULL;
	destroy_workqueue(xaccel_reap_wq);
	xaccel_reap_wq = NULL;
}

struct workqueue_struct *xaccel_sched_wq_get(void)
{
	return xaccel_sched_wq;
}

struct workqueue_struct *xaccel_reap_wq_get(void)
{
	return xaccel_reap_wq;
}

/*
 * Passes first, as they may hand retired jobs to the reaping queue; then the
 * reaping, as a freed job queues the release of its memory on the first queue.
 */
void xaccel_sched_wq_flush(void)
{
	flush_workqueue(xaccel_sched_wq);
	flush_workqueue(xaccel_reap_wq);
	flush_workqueue(xaccel_sched_wq);
}

/*
 * Whether the caller is preemptible process context (preemptible() is a
 * macro): a ring pass may then go on in further sections itself instead of
 * handing the rest to the work item. Never true without CONFIG_PREEMPT_COUNT.
 */
bool xaccel_sched_preemptible(void)
{
	return preemptible();
}
