// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shmem helper's GEM object callbacks that are static inline functions in
 * <drm/drm_gem_shmem_helper.h>, made callable from the Rust funcs table of
 * system-memory buffer objects (core/gem/object.rs), and the operations of
 * their CPU mappings (shmem_fault.rs).
 */

#include <drm/drm_gem_shmem_helper.h>
#include <linux/swap.h>

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

/*
 * CPU faults of system objects (shmem_fault.rs): the helper's VM operations
 * with the core's .fault, copied at module init since the helper exports only
 * the table.
 */
struct vm_operations_struct xaccel_shmem_vm_ops __ro_after_init;
vm_fault_t xaccel_shmem_fault(struct vm_fault *vmf);
void xaccel_shmem_vm_ops_init(void);
vm_fault_t xaccel_shmem_insert(struct vm_fault *vmf, unsigned long address,
			       struct page *page, bool write);
unsigned long xaccel_shmem_pages_to_end(struct vm_fault *vmf);

void xaccel_shmem_vm_ops_init(void)
{
	xaccel_shmem_vm_ops = drm_gem_shmem_vm_ops;
	xaccel_shmem_vm_ops.fault = xaccel_shmem_fault;
}

/*
 * Maps @page at @address of the faulting mapping. Writable and dirty if @write,
 * as pfn_mkwrite would make it (the mapping's caching kept); read-only
 * otherwise (write-notify), as the helper maps it.
 */
vm_fault_t xaccel_shmem_insert(struct vm_fault *vmf, unsigned long address,
			       struct page *page, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	pgprot_t prot = vma->vm_page_prot;
	vm_fault_t ret;

	if (write)
		prot = pgprot_modify(prot, vm_get_page_prot(vma->vm_flags));
	ret = vmf_insert_pfn_prot(vma, address, page_to_pfn(page), prot);
	if (ret == VM_FAULT_NOPAGE) {
		if (write)
			folio_mark_dirty(page_folio(page));
		folio_mark_accessed(page_folio(page));
	}
	return ret;
}

unsigned long xaccel_shmem_pages_to_end(struct vm_fault *vmf)
{
	return (vmf->vma->vm_end - vmf->address) >> PAGE_SHIFT;
}
