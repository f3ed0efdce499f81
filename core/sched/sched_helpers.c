// SPDX-License-Identifier: GPL-2.0-only
/*
 * The scheduler's workqueue (core/sched/): alloc_workqueue() is a macro, so
 * bindgen cannot see it. The queue belongs to xaccel.ko: every ring's work
 * item runs on it, and module exit destroys it (which flushes it) after the
 * last ring is gone, so no work function of the core runs after unload.
 */

#include <linux/preempt.h>
#include <linux/workqueue.h>

#include "sched_helpers.h"

static struct workqueue_struct *xaccel_sched_wq;

int xaccel_sched_wq_init(void)
{
	xaccel_sched_wq = alloc_workqueue("xaccel_sched", WQ_PERCPU | WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	return xaccel_sched_wq ? 0 : -ENOMEM;
}

void xaccel_sched_wq_exit(void)
{
	destroy_workqueue(xaccel_sched_wq);
	xaccel_sched_wq = NULL;
}

struct workqueue_struct *xaccel_sched_wq_get(void)
{
	return xaccel_sched_wq;
}

void xaccel_sched_wq_flush(void)
{
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
