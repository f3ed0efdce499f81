// SPDX-License-Identifier: GPL-2.0-only
/*
 * Inline kernel functions that dma-buf import needs (core/gem/import.rs),
 * made callable from Rust. Nothing else.
 */

#include <linux/dma-mapping.h>
#include <linux/mm.h>

/* Declared for the Rust side, which has no header to include. */
bool xaccel_vma_is_cow(struct vm_area_struct *vma);
void xaccel_vma_set_dontexpand(struct vm_area_struct *vma);
int xaccel_dma_coerce_mask_64(struct device *dev);

bool xaccel_vma_is_cow(struct vm_area_struct *vma)
{
	return vma_is_cow_mapping(vma);
}

void xaccel_vma_set_dontexpand(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTEXPAND);
}

int xaccel_dma_coerce_mask_64(struct device *dev)
{
	return dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
}
