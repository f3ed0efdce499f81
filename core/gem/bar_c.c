// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device memory behind a PCI BAR (core/gem/bar.rs): the p2pdma provider API
 * and the dma-buf MMIO mapping helpers, which have no Rust bindings, and the
 * write-combined PFN insertion of a CPU fault (pgprot_writecombine is a
 * macro). Nothing else.
 */

#include <linux/dma-buf.h>
#include <linux/dma-buf-mapping.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

/* Declared for the Rust side, which has no header to include. */
struct p2pdma_provider *xaccel_bar_provider(struct pci_dev *pdev, int bar);
bool xaccel_bar_reachable(struct p2pdma_provider *provider,
			  struct device *dev);
struct sg_table *xaccel_bar_map(struct dma_buf_attachment *attach,
				struct p2pdma_provider *provider,
				const u64 *phys, const u64 *len,
				unsigned int count, u64 size);
void xaccel_bar_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt);
bool xaccel_sgt_is_mmio(struct sg_table *sgt);
vm_fault_t xaccel_bar_insert(struct vm_fault *vmf, unsigned long pfn);

/*
 * The p2pdma provider of @bar of @pdev, set up for the device's bound life
 * (pcim_: released when the driver unbinds), or NULL if the kernel cannot
 * do peer-to-peer DMA with the device.
 */
struct p2pdma_provider *xaccel_bar_provider(struct pci_dev *pdev, int bar)
{
	if (pcim_p2pdma_init(pdev))
		return NULL;
	return pcim_p2pdma_provider(pdev, bar);
}

/*
 * Whether @dev reaches the provider's BAR peer-to-peer: through a PCI switch
 * (bus addresses) or through an allowed host bridge. pci_p2pdma_distance()
 * computes the same map type as pci_p2pdma_map_type() (which is not
 * exported), which dma_buf_phys_vec_to_sgt() checks again, and is negative
 * when it is PCI_P2PDMA_MAP_NOT_SUPPORTED or @dev is not behind PCI.
 */
bool xaccel_bar_reachable(struct p2pdma_provider *provider,
			  struct device *dev)
{
	return pci_p2pdma_distance(to_pci_dev(provider->owner), dev, false) >= 0;
}

/*
 * An sg table of @count CPU physical ranges of the provider's BAR (@size
 * bytes in all) mapped for @attach's device; the caller holds the dma-buf's
 * reservation lock. Undone by xaccel_bar_unmap().
 */
struct sg_table *xaccel_bar_map(struct dma_buf_attachment *attach,
				struct p2pdma_provider *provider,
				const u64 *phys, const u64 *len,
				unsigned int count, u64 size)
{
	struct phys_vec *vec;
	struct sg_table *sgt;
	unsigned int i;

	vec = kcalloc(count, sizeof(*vec), GFP_KERNEL);
	if (!vec)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < count; i++) {
		vec[i].paddr = phys[i];
		vec[i].len = len[i];
	}
	sgt = dma_buf_phys_vec_to_sgt(attach, provider, vec, count, size,
				      DMA_BIDIRECTIONAL);
	kfree(vec);
	return sgt;
}

/*
 * Undoes xaccel_bar_map(). dma_buf_phys_vec_to_sgt() zeroes the table's
 * orig_nents (an MMIO table has no CPU list), and dma_buf_free_sgt() frees it
 * with sg_free_table(), which frees orig_nents entries: none, so 7.3 leaks the
 * scatterlist of every mapping (kmemleak: sg_alloc_table() under
 * dma_buf_phys_vec_to_sgt()). nents still counts what sg_alloc_table()
 * allocated, and no importer reads the table any more: give the count back.
 */
void xaccel_bar_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt)
{
	sgt->orig_nents = sgt->nents;
	dma_buf_free_sgt(attach, sgt, DMA_BIDIRECTIONAL);
}

/*
 * Whether @sgt was made by xaccel_bar_map(): MMIO tables carry DMA addresses
 * only, no pages.
 */
bool xaccel_sgt_is_mmio(struct sg_table *sgt)
{
	return sgt->sgl && !sg_page(sgt->sgl);
}

/* Inserts BAR page @pfn at the fault's address, write-combined. */
vm_fault_t xaccel_bar_insert(struct vm_fault *vmf, unsigned long pfn)
{
	return vmf_insert_pfn_prot(vmf->vma, vmf->address, pfn,
				   pgprot_writecombine(vmf->vma->vm_page_prot));
}
