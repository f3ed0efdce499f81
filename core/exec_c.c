// SPDX-License-Identifier: GPL-2.0-only
/*
 * C wrappers for SUBMIT (core/submit.rs, core/syncobj.rs, core/resv.rs):
 * the syncobj helpers that are inline or whose header bindgen does not
 * include, the copy of a command buffer out of a shmem buffer object (its
 * reservation lock around a vmap), and the BO list's reservations (drm_exec's
 * locking loop is a macro). Each is a few calls; the Rust side carries the
 * safety arguments.
 */

#include <drm/drm_exec.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_syncobj.h>
#include <linux/capability.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
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

int xaccel_bo_read(struct drm_gem_shmem_object *shmem, u64 offset, void *dst, size_t len)
{
	struct iosys_map map;
	int ret;

	ret = dma_resv_lock_interruptible(shmem->base.resv, NULL);
	if (ret)
		return ret;
	ret = drm_gem_shmem_vmap_locked(shmem, &map);
	if (!ret) {
		iosys_map_memcpy_from(dst, &map, offset, len);
		drm_gem_shmem_vunmap_locked(shmem, &map);
	}
	dma_resv_unlock(shmem->base.resv);
	return ret;
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
