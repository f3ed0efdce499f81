// SPDX-License-Identifier: GPL-2.0-only
/*
 * C wrappers for SUBMIT (core/submit.rs, core/syncobj.rs, core/resv.rs) and
 * BO_WAIT (core/bo_wait.rs):
 * the syncobj helpers that are inline or whose header bindgen does not
 * include, the copy of a command buffer out of a shmem buffer object (its
 * shmem file's pages), and the BO list's reservations (drm_exec's
 * locking loop is a macro). Each is a few calls; the Rust side carries the
 * safety arguments.
 */

#include <drm/drm_exec.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_syncobj.h>
#include <drm/drm_utils.h>
#include <linux/capability.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/highmem.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

/* Declared for the Rust side, which has no header to include. */
int xaccel_bo_read(struct drm_gem_shmem_object *shmem, u64 offset, void *dst, size_t len);
struct drm_syncobj *xaccel_syncobj_find(struct drm_file *file, u32 handle);
void xaccel_syncobj_put(struct drm_syncobj *syncobj);
int xaccel_syncobj_find_fence(struct drm_file *file, u32 handle, u64 point,
			      struct dma_fence **fence);
void xaccel_syncobj_install(struct drm_syncobj *syncobj, struct dma_fence_chain *chain,
			    struct dma_fence *fence, u64 point);
bool xaccel_capable_sys_nice(void);
struct drm_exec *xaccel_resv_lock(struct drm_gem_object **objs, unsigned int count, int *err);
int xaccel_resv_fences(struct drm_gem_object *obj, bool write, struct dma_fence ***fences,
		       unsigned int *count);
void xaccel_resv_add_fence(struct drm_gem_object *obj, struct dma_fence *fence, bool write);
void xaccel_resv_unlock(struct drm_exec *exec);
void xaccel_kfree(const void *ptr);
int xaccel_bo_wait_idle(struct drm_gem_object *obj, bool write, s64 timeout_ns);

/*
 * Copies @len bytes at @offset of @shmem to @dst, page by page out of the
 * object's shmem file (the page cache its CPU mappings share). No vmap: a
 * vmap/vunmap pair per SUBMIT flushes TLBs on every CPU. No reservation lock
 * either: the copy is the kernel's snapshot (validated afterwards), and a
 * concurrent CPU write races with it exactly as with the user's own mapping.
 * A page already cached and up to date is taken as it is, without the folio
 * lock; anything else (never touched, swapped out) goes through
 * shmem_read_folio(), which brings it in.
 */
int xaccel_bo_read(struct drm_gem_shmem_object *shmem, u64 offset, void *dst, size_t len)
{
	struct address_space *mapping = shmem->base.filp->f_mapping;

	while (len) {
		size_t chunk = min_t(size_t, len, PAGE_SIZE - offset_in_page(offset));
		struct folio *folio = filemap_get_folio(mapping, offset >> PAGE_SHIFT);

		if (!IS_ERR(folio) && !folio_test_uptodate(folio)) {
			folio_put(folio);
			folio = ERR_PTR(-EAGAIN);
		}
		if (IS_ERR(folio))
			folio = shmem_read_folio(mapping, offset >> PAGE_SHIFT);

		if (IS_ERR(folio))
			return PTR_ERR(folio);
		memcpy_from_folio(dst, folio, offset_in_folio(folio, offset), chunk);
		folio_put(folio);
		dst += chunk;
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

struct drm_syncobj *xaccel_syncobj_find(struct drm_file *file, u32 handle)
{
	return drm_syncobj_find(file, handle);
}

void xaccel_syncobj_put(struct drm_syncobj *syncobj)
{
	drm_syncobj_put(syncobj);
}

int xaccel_syncobj_find_fence(struct drm_file *file, u32 handle, u64 point,
			      struct dma_fence **fence)
{
	return drm_syncobj_find_fence(file, handle, point, 0, fence);
}

/*
 * Installs @fence in @syncobj: as timeline point @point using @chain (which
 * it consumes) when @point is nonzero, else replacing the binary fence.
 */
void xaccel_syncobj_install(struct drm_syncobj *syncobj, struct dma_fence_chain *chain,
			    struct dma_fence *fence, u64 point)
{
	if (point)
		drm_syncobj_add_point(syncobj, chain, fence, point);
	else
		drm_syncobj_replace_fence(syncobj, fence);
}

bool xaccel_capable_sys_nice(void)
{
	return capable(CAP_SYS_NICE);
}

/*
 * Locks the reservations of @objs (duplicates ignored) and reserves one fence
 * slot in each, for SUBMIT's BO list. Returns the drm_exec to pass to
 * xaccel_resv_unlock(), or NULL with *err set (-EINTR, -ENOMEM, ...).
 */
struct drm_exec *xaccel_resv_lock(struct drm_gem_object **objs, unsigned int count, int *err)
{
	struct drm_exec *exec = kmalloc(sizeof(*exec), GFP_KERNEL);
	int ret = 0;

	if (!exec) {
		*err = -ENOMEM;
		return NULL;
	}
	drm_exec_init(exec, DRM_EXEC_INTERRUPTIBLE_WAIT | DRM_EXEC_IGNORE_DUPLICATES, count);
	drm_exec_until_all_locked(exec) {
		ret = drm_exec_prepare_array(exec, objs, count, 1);
		drm_exec_retry_on_contention(exec);
		if (ret)
			break;
	}
	if (ret) {
		drm_exec_fini(exec);
		kfree(exec);
		*err = ret;
		return NULL;
	}
	return exec;
}

/*
 * The fences a job must wait for before using @obj: every writer's, and also
 * every reader's if the job writes (@write). A kmalloc'ed array of references.
 */
int xaccel_resv_fences(struct drm_gem_object *obj, bool write, struct dma_fence ***fences,
		       unsigned int *count)
{
	return dma_resv_get_fences(obj->resv, write ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE,
				   count, fences);
}

/* Adds @fence to @obj's reservation (locked, slot reserved) as a writer or a reader. */
void xaccel_resv_add_fence(struct drm_gem_object *obj, struct dma_fence *fence, bool write)
{
	dma_resv_add_fence(obj->resv, fence, write ? DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
}

void xaccel_resv_unlock(struct drm_exec *exec)
{
	drm_exec_fini(exec);
	kfree(exec);
}

void xaccel_kfree(const void *ptr)
{
	kfree(ptr);
}

/*
 * BO_WAIT: waits until @obj's reservation holds no unsignalled fence of the
 * jobs writing it, or of every job using it if @write, until the absolute
 * CLOCK_MONOTONIC @timeout_ns; 0 or a time already past only checks.
 * Returns 0 when idle, -EBUSY (only checked), -ETIMEDOUT or -ERESTARTSYS.
 */
int xaccel_bo_wait_idle(struct drm_gem_object *obj, bool write, s64 timeout_ns)
{
	enum dma_resv_usage usage = write ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE;
	long timeout = timeout_ns > 0 ? drm_timeout_abs_to_jiffies(timeout_ns) : 0;
	long ret;

	if (timeout <= 0)
		return dma_resv_test_signaled(obj->resv, usage) ? 0 : -EBUSY;
	ret = dma_resv_wait_timeout(obj->resv, usage, true, timeout);
	if (ret < 0)
		return ret;
	return ret ? 0 : -ETIMEDOUT;
}
