// SPDX-License-Identifier: GPL-2.0-only
/*
 * Buffer objects backed by a list of pages (core/gem/pages.rs): device memory
 * and userptr. The static inline kernel functions and macros they need
 * (VMA flags, mmap locking, page_to_pfn, drm_vma_node_unmap), the
 * vm_operations_struct table, and the userptr pinning sequence, which must
 * check the VMAs and pin under one mmap lock. Nothing else.
 */

#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime.h>
#include <drm/drm_vma_manager.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

/* Declared for the Rust side, which has no header to include. */
extern const struct vm_operations_struct xaccel_pages_vm_ops;
vm_fault_t xaccel_pages_fault(struct vm_fault *vmf);
int xaccel_pages_vma_prepare(struct vm_area_struct *vma, bool read_only,
			     bool io);
vm_fault_t xaccel_pages_insert(struct vm_fault *vmf, struct page *page);
pgoff_t xaccel_pages_fault_index(struct vm_fault *vmf,
				 struct drm_gem_object **obj);
struct sg_table *xaccel_pages_map(struct device *dev, struct page **pages,
				  unsigned int count, bool read_only);
void xaccel_pages_unmap(struct device *dev, struct sg_table *sgt,
			bool read_only);
void xaccel_pages_zap(struct drm_gem_object *obj, struct dma_buf *dma_buf);
void xaccel_pages_zap_device(struct drm_device *dev);
long xaccel_userptr_pin(unsigned long start, unsigned long count, bool write,
			struct page **pages, struct mm_struct **owner);
void xaccel_userptr_unpin(struct page **pages, unsigned long count, bool dirty,
			  struct mm_struct *owner);

/* Faults are served from the object's current pages (pages.rs). */
const struct vm_operations_struct xaccel_pages_vm_ops = {
	.fault = xaccel_pages_fault,
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

/*
 * Refuses private (copy-on-write) mappings, as the shmem helper does, and
 * writable ones of @read_only objects; the mapping has no struct pages of its
 * own (PFN map, filled on fault), neither grows nor goes into core dumps. @io
 * marks a mapping of I/O memory (a PCI BAR).
 */
int xaccel_pages_vma_prepare(struct vm_area_struct *vma, bool read_only,
			     bool io)
{
	if (vma_is_cow_mapping(vma))
		return -EINVAL;
	if (read_only) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP |
			  (io ? VM_IO : 0));
	return 0;
}

/* The object a fault is for, and the page of it: mappings start at the object. */
pgoff_t xaccel_pages_fault_index(struct vm_fault *vmf,
				 struct drm_gem_object **obj)
{
	*obj = vmf->vma->vm_private_data;
	return vmf->pgoff - vmf->vma->vm_pgoff;
}

vm_fault_t xaccel_pages_insert(struct vm_fault *vmf, struct page *page)
{
	return vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page));
}

/*
 * An sg table of @count pages, DMA-mapped for @dev: both directions, or
 * DMA_TO_DEVICE only for a @read_only object, so that an IOMMU refuses the
 * device's writes to memory its user may only read.
 */
static enum dma_data_direction pages_dir(bool read_only)
{
	return read_only ? DMA_TO_DEVICE : DMA_BIDIRECTIONAL;
}

struct sg_table *xaccel_pages_map(struct device *dev, struct page **pages,
				  unsigned int count, bool read_only)
{
	struct sg_table *sgt;
	int ret;

	sgt = drm_prime_pages_to_sg(NULL, pages, count);
	if (IS_ERR(sgt))
		return sgt;
	ret = dma_map_sgtable(dev, sgt, pages_dir(read_only), 0);
	if (ret) {
		sg_free_table(sgt);
		kfree(sgt);
		return ERR_PTR(ret);
	}
	return sgt;
}

void xaccel_pages_unmap(struct device *dev, struct sg_table *sgt,
			bool read_only)
{
	dma_unmap_sgtable(dev, sgt, pages_dir(read_only), 0);
	sg_free_table(sgt);
	kfree(sgt);
}

/* Zaps the CPU mappings of @obj: through the device file and @dma_buf's. */
void xaccel_pages_zap(struct drm_gem_object *obj, struct dma_buf *dma_buf)
{
	drm_vma_node_unmap(&obj->vma_node, obj->dev->anon_inode->i_mapping);
	if (dma_buf)
		unmap_mapping_range(dma_buf->file->f_mapping, 0, 0, 1);
}

/* Zaps every CPU mapping made through the files of @dev (they fault again). */
void xaccel_pages_zap_device(struct drm_device *dev)
{
	unmap_mapping_range(dev->anon_inode->i_mapping, 0, 0, 1);
}

/*
 * Pins @count pages of the calling process from @start, for a long time
 * (FOLL_LONGTERM) and for writing if @write, charged to its pinned_vm
 * against RLIMIT_MEMLOCK (as RDMA does): -ENOMEM beyond the limit, unless
 * the caller has CAP_IPC_LOCK. Under one mmap lock, every VMA of the range is
 * checked first: -EFAULT for a hole, I/O or PFN memory; -EACCES for one that
 * is not readable, or not writable when @write; -EOPNOTSUPP for a
 * file-backed one when @write. Returns @count, with the process's mm grabbed
 * in *@owner for xaccel_userptr_unpin(), or an errno; on error nothing stays
 * pinned or charged.
 */
long xaccel_userptr_pin(unsigned long start, unsigned long count, bool write,
			struct page **pages, struct mm_struct **owner)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = start + (count << PAGE_SHIFT);
	unsigned long addr = start;
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	long pinned = 0, ret = 0;

	if (atomic64_add_return(count, &mm->pinned_vm) > limit &&
	    !capable(CAP_IPC_LOCK)) {
		atomic64_sub(count, &mm->pinned_vm);
		return -ENOMEM;
	}
	mmap_read_lock(mm);
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		if (!vma || (vma->vm_flags & (VM_IO | VM_PFNMAP))) {
			ret = -EFAULT;
			goto out;
		}
		if (!(vma->vm_flags & VM_READ) ||
		    (write && !(vma->vm_flags & VM_WRITE))) {
			ret = -EACCES;
			goto out;
		}
		if (write && vma->vm_file) {
			ret = -EOPNOTSUPP;
			goto out;
		}
		addr = vma->vm_end;
	}
	while (pinned < count) {
		ret = pin_user_pages(start + (pinned << PAGE_SHIFT),
				     count - pinned, flags, pages + pinned);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			goto out;
		}
		pinned += ret;
	}
	ret = pinned;
out:
	mmap_read_unlock(mm);
	if (ret < 0) {
		if (pinned)
			unpin_user_pages(pages, pinned);
		atomic64_sub(count, &mm->pinned_vm);
		return ret;
	}
	mmgrab(mm);
	*owner = mm;
	return ret;
}

/* Unpins what xaccel_userptr_pin() pinned and uncharges @owner's pinned_vm. */
void xaccel_userptr_unpin(struct page **pages, unsigned long count, bool dirty,
			  struct mm_struct *owner)
{
	unpin_user_pages_dirty_lock(pages, count, dirty);
	atomic64_sub(count, &owner->pinned_vm);
	mmdrop(owner);
}
