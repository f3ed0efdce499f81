// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel mappings of a job's buffer objects (core/job_memory.rs): vmap() needs
 * PAGE_KERNEL (a macro), and the GEM and dma-buf vmap calls return an
 * iosys_map (a union) that is easier to check here. Each is a few calls; the
 * Rust side carries the safety arguments.
 */

#include <drm/drm_gem.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/iosys-map.h>
#include <linux/vmalloc.h>

/* Declared for the Rust side, which has no header to include. */
void *xaccel_job_vmap_gem(struct drm_gem_object *obj, bool imported, size_t *size);
void xaccel_job_vunmap_gem(struct drm_gem_object *obj, bool imported, void *vaddr);
void *xaccel_job_vmap_pages(struct page **pages, unsigned int count, bool read_only);
void xaccel_job_vunmap_pages(void *vaddr);

static void job_vunmap(struct drm_gem_object *obj, bool imported, struct iosys_map *map)
{
	if (imported)
		dma_buf_vunmap_unlocked(obj->import_attach->dmabuf, map);
	else
		drm_gem_vunmap(obj, map);
}

/*
 * Maps @obj for the CPU: through its exporter's dma-buf for an import
 * (@imported), else through its GEM vmap callback; each takes the reservation
 * lock. Returns the address, with the size of the mapping in *@size, or an
 * ERR_PTR; I/O memory is refused with -EOPNOTSUPP (the engines copy with plain
 * loads and stores).
 */
void *xaccel_job_vmap_gem(struct drm_gem_object *obj, bool imported, size_t *size)
{
	struct iosys_map map;
	int ret;

	if (imported) {
		ret = dma_buf_vmap_unlocked(obj->import_attach->dmabuf, &map);
		*size = obj->import_attach->dmabuf->size;
	} else {
		ret = drm_gem_vmap(obj, &map);
		*size = obj->size;
	}
	if (ret)
		return ERR_PTR(ret);
	if (map.is_iomem) {
		job_vunmap(obj, imported, &map);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return map.vaddr;
}

/* Undoes xaccel_job_vmap_gem(); @vaddr is what it returned. */
void xaccel_job_vunmap_gem(struct drm_gem_object *obj, bool imported, void *vaddr)
{
	struct iosys_map map = IOSYS_MAP_INIT_VADDR(vaddr);

	job_vunmap(obj, imported, &map);
}

/*
 * A cached kernel mapping of @count pages, or NULL; read-only (PAGE_KERNEL_RO)
 * for a @read_only object, so that a stray write by a backend faults instead
 * of changing memory its user may only read.
 */
void *xaccel_job_vmap_pages(struct page **pages, unsigned int count, bool read_only)
{
	return vmap(pages, count, VM_MAP, read_only ? PAGE_KERNEL_RO : PAGE_KERNEL);
}

void xaccel_job_vunmap_pages(void *vaddr)
{
	vunmap(vaddr);
}
