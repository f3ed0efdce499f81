// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shmem helper's GEM object callbacks that are static inline functions in
 * <drm/drm_gem_shmem_helper.h>, made callable from the Rust funcs table of
 * system-memory buffer objects (core/gem/object.rs). Nothing else.
 */

#include <drm/drm_gem_shmem_helper.h>

/* Declared for the Rust side, which has no header to include. */
void xaccel_shmem_print_info(struct drm_printer *p, unsigned int indent,
			     const struct drm_gem_object *obj);
int xaccel_shmem_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma);

void xaccel_shmem_print_info(struct drm_printer *p, unsigned int indent,
			     const struct drm_gem_object *obj)
{
	drm_gem_shmem_object_print_info(p, indent, obj);
}

int xaccel_shmem_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma)
{
	return drm_gem_shmem_object_mmap(obj, vma);
}
