// SPDX-License-Identifier: GPL-2.0-only
/*
 * C wrappers for SUBMIT (core/submit.rs, core/syncobj.rs): the syncobj
 * helpers that are inline or whose header bindgen does not include, and the
 * copy of a command buffer out of a shmem buffer object, which needs the
 * object's reservation lock around a vmap. Each is a few calls; the Rust
 * side carries the safety arguments.
 */

#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_syncobj.h>
#include <linux/capability.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>

/* Declared for the Rust side, which has no header to include. */
int xaccel_bo_read(struct drm_gem_shmem_object *shmem, u64 offset, void *dst, size_t len);
struct drm_syncobj *xaccel_syncobj_find(struct drm_file *file, u32 handle);
void xaccel_syncobj_put(struct drm_syncobj *syncobj);
int xaccel_syncobj_find_fence(struct drm_file *file, u32 handle, u64 point,
			      struct dma_fence **fence);
void xaccel_syncobj_install(struct drm_syncobj *syncobj, struct dma_fence_chain *chain,
			    struct dma_fence *fence, u64 point);
bool xaccel_capable_sys_nice(void);

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
