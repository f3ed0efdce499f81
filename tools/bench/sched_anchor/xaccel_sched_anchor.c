// SPDX-License-Identifier: GPL-2.0-only
/*
 * xaccel_sched_anchor: drm_sched's side of `make bench`'s sched-throughput
 * line. drm-sched-tests has no zero-length-job case (its mock scheduler never
 * completes a job without a duration on its own), so this module drives
 * drm_sched's public API directly, in the shape of xaccel's own throughput
 * case (core/sched/bench.rs): one scheduler with one credit, one entity, a
 * blocker job holding the credit while `jobs` zero-length jobs queue behind
 * it, then the time from releasing the blocker until the last job's finished
 * fence signals. A zero-length job's run_job returns an already signalled
 * hardware fence (the stub fence), the drm_sched equivalent of a backend
 * completing a job inside Backend::run.
 *
 * Loading it runs the case once and prints
 *   xaccel-sched-anchor: throughput jobs=N actual=Tus
 * A bench tool, not a driver: tools/vm/guest.sh loads and unloads it.
 */

#include <drm/gpu_scheduler.h>
#include <linux/completion.h>
#include <linux/device/faux.h>
#include <linux/dma-fence.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>

static unsigned int jobs = 1000;
module_param(jobs, uint, 0444);
MODULE_PARM_DESC(jobs, "Zero-length jobs to time (default 1000)");

struct anchor_job {
	struct drm_sched_job base;
	bool blocker;
};

/* The case's state; one case runs at a time (module init). */
static struct {
	struct drm_gpu_scheduler sched;
	struct drm_sched_entity entity;
	struct dma_fence *blocker_hw;
	spinlock_t blocker_lock;
	struct completion blocker_running;
} anchor;

static const char *anchor_driver_name(struct dma_fence *fence)
{
	return "xaccel_sched_anchor";
}

static const char *anchor_timeline_name(struct dma_fence *fence)
{
	return "blocker";
}

static const struct dma_fence_ops anchor_fence_ops = {
	.get_driver_name = anchor_driver_name,
	.get_timeline_name = anchor_timeline_name,
};

static struct dma_fence *anchor_run_job(struct drm_sched_job *sched_job)
{
	struct anchor_job *job = container_of(sched_job, struct anchor_job, base);

	if (job->blocker) {
		complete(&anchor.blocker_running);
		return dma_fence_get(anchor.blocker_hw);
	}
	/* Zero-length: the "hardware" is done at once. */
	return dma_fence_get_stub();
}

static enum drm_gpu_sched_stat anchor_timedout_job(struct drm_sched_job *sched_job)
{
	/* Never called: the timeout is MAX_SCHEDULE_TIMEOUT. */
	return DRM_GPU_SCHED_STAT_NO_HANG;
}

static void anchor_free_job(struct drm_sched_job *sched_job)
{
	drm_sched_job_cleanup(sched_job);
	kfree(container_of(sched_job, struct anchor_job, base));
}

/* Jobs still pending at drm_sched_fini(): their hardware fences have signalled. */
static void anchor_cancel_job(struct drm_sched_job *sched_job)
{
}

static const struct drm_sched_backend_ops anchor_ops = {
	.run_job = anchor_run_job,
	.timedout_job = anchor_timedout_job,
	.free_job = anchor_free_job,
	.cancel_job = anchor_cancel_job,
};

/* Queues one job; returns a reference to its finished fence. */
static struct dma_fence *anchor_submit(bool blocker)
{
	struct anchor_job *job = kzalloc(sizeof(*job), GFP_KERNEL);
	struct dma_fence *finished;
	int ret;

	if (!job)
		return ERR_PTR(-ENOMEM);
	job->blocker = blocker;
	ret = drm_sched_job_init(&job->base, &anchor.entity, 1, NULL, 1);
	if (ret) {
		kfree(job);
		return ERR_PTR(ret);
	}
	drm_sched_job_arm(&job->base);
	finished = dma_fence_get(&job->base.s_fence->finished);
	drm_sched_entity_push_job(&job->base);
	return finished;
}

/* Queues the blocker and the jobs, releases the blocker, times the jobs. */
static int anchor_case(s64 *elapsed_us)
{
	struct dma_fence *blocker, *last = NULL, *fence;
	ktime_t start;
	unsigned int i;
	long left;

	blocker = anchor_submit(true);
	if (IS_ERR(blocker))
		return PTR_ERR(blocker);
	for (i = 0; i < jobs; i++) {
		fence = anchor_submit(false);
		if (IS_ERR(fence)) {
			/* Release the blocker so that teardown finds no running job. */
			dma_fence_signal(anchor.blocker_hw);
			dma_fence_put(last);
			dma_fence_put(blocker);
			return PTR_ERR(fence);
		}
		dma_fence_put(last);
		last = fence;
	}
	/* A hang guard, not a measurement. */
	wait_for_completion_timeout(&anchor.blocker_running, 10 * HZ);
	start = ktime_get();
	dma_fence_signal(anchor.blocker_hw);
	left = dma_fence_wait_timeout(last, false, 60 * HZ);
	*elapsed_us = ktime_us_delta(ktime_get(), start);
	dma_fence_put(last);
	dma_fence_put(blocker);
	return left > 0 ? 0 : -ETIMEDOUT;
}

static int __init anchor_init(void)
{
	struct drm_gpu_scheduler *list[] = { &anchor.sched };
	struct drm_sched_init_args args = {
		.ops = &anchor_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		.credit_limit = 1,
		.timeout = MAX_SCHEDULE_TIMEOUT,
		.name = "xaccel-sched-anchor",
	};
	struct faux_device *faux;
	s64 elapsed_us = 0;
	int ret;

	if (!jobs)
		return -EINVAL;
	faux = faux_device_create("xaccel_sched_anchor", NULL, NULL);
	if (!faux)
		return -ENODEV;
	args.dev = &faux->dev;
	spin_lock_init(&anchor.blocker_lock);
	init_completion(&anchor.blocker_running);
	anchor.blocker_hw = kzalloc(sizeof(*anchor.blocker_hw), GFP_KERNEL);
	if (!anchor.blocker_hw) {
		ret = -ENOMEM;
		goto out_faux;
	}
	dma_fence_init(anchor.blocker_hw, &anchor_fence_ops, &anchor.blocker_lock,
		       dma_fence_context_alloc(1), 1);
	ret = drm_sched_init(&anchor.sched, &args);
	if (ret)
		goto out_fence;
	ret = drm_sched_entity_init(&anchor.entity, DRM_SCHED_PRIORITY_NORMAL, list, 1, NULL);
	if (ret)
		goto out_sched;
	ret = anchor_case(&elapsed_us);
	if (!ret)
		pr_info("xaccel-sched-anchor: throughput jobs=%u actual=%lldus\n", jobs, elapsed_us);
	drm_sched_entity_destroy(&anchor.entity);
out_sched:
	drm_sched_fini(&anchor.sched);
out_fence:
	dma_fence_signal(anchor.blocker_hw);
	dma_fence_put(anchor.blocker_hw);
out_faux:
	faux_device_destroy(faux);
	return ret;
}

static void __exit anchor_exit(void)
{
}

module_init(anchor_init);
module_exit(anchor_exit);
MODULE_DESCRIPTION("xaccel bench: drm_sched zero-length-job throughput anchor");
MODULE_LICENSE("GPL");
