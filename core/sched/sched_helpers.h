/* SPDX-License-Identifier: GPL-2.0-only */
/* The scheduler workqueue helpers of core/sched/sched_helpers.c. */
#ifndef XACCEL_SCHED_HELPERS_H
#define XACCEL_SCHED_HELPERS_H

struct workqueue_struct;

int xaccel_sched_wq_init(void);
void xaccel_sched_wq_exit(void);
struct workqueue_struct *xaccel_sched_wq_get(void);
struct workqueue_struct *xaccel_reap_wq_get(void);
void xaccel_sched_wq_flush(void);
bool xaccel_sched_preemptible(void);

#endif
