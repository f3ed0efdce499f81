// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU mappings of device-memory buffer objects (core/gem/devmem.rs): the
 * vm_operations_struct table, and the VMA flag helpers that are static inline
 * functions in <linux/mm.h>. Nothing else.
 */

#include <drm/drm_gem.h>
#include <linux/mm.h>

/* Declared for the Rust side, which has no header to include. */
extern const struct vm_operations_struct xaccel_devmem_vm_ops;
int xaccel_devmem_vma_prepare(struct vm_area_struct *vma, unsigned long *start,
			      unsigned long *end);

/* The pages are inserted at mmap() time; the ops only count the mapping's object reference. */
const struct vm_operations_struct xaccel_devmem_vm_ops = {
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

/*
 * Refuses private (copy-on-write) mappings, as the shmem helper does, and marks
 * the mapping as one that neither grows nor goes into core dumps; gives its
 * bounds (in an anonymous union the Rust bindings do not name stably).
 */
int xaccel_devmem_vma_prepare(struct vm_area_struct *vma, unsigned long *start,
			      unsigned long *end)
{
	if (vma_is_cow_mapping(vma))
		return -EINVAL;
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	*start = vma->vm_start;
	*end = vma->vm_end;
	return 0;
}
