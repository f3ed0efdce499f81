/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hlx: the vendor uAPI of xaccel's hlx backend (Documentation/hlx-driver.rst).
 *
 * Query types of DRM_IOCTL_XACCEL_VENDOR_QUERY (xaccel_accel.h) on an hlx
 * device. The ioctl is validated exactly like DRM_IOCTL_XACCEL_QUERY: probe
 * with @items 0 and @count 0 for the count and the kernel's item size, then
 * fetch; an unknown type is -EINVAL.
 */
#ifndef _UAPI_HLX_ACCEL_H_
#define _UAPI_HLX_ACCEL_H_

#include <linux/types.h>

/*
 * HBM is a device-memory region of the device ("hbm" in QUERY REGIONS):
 * buffer objects created there have a device address (BO_INFO), which jobs
 * on a context without a VM use when the object is in their BO list; jobs
 * in a VM reach it where VM_BIND maps it. No HBM is reachable otherwise.
 */

/* One struct hlx_hw_info. */
#define HLX_QUERY_HW_INFO	0
/* One struct hlx_counters. */
#define HLX_QUERY_COUNTERS	1
/* One struct hlx_queue_info per queue. */
#define HLX_QUERY_QUEUES	2

/**
 * struct hlx_hw_info - HW IP information and HBM usage.
 */
struct hlx_hw_info {
	/** @id: HLX_ID of the device ("HLX1"). */
	__u32 id;
	/** @version: HLX_VERSION (major in bits 16-31). */
	__u32 version;
	/** @hbm_size: HBM in bytes. */
	__u64 hbm_size;
	/**
	 * @hbm_user_base: First HBM byte of the HBM region (the driver's page
	 * tables are below it).
	 */
	__u64 hbm_user_base;
	/** @page_table_bytes: HBM used by page tables. */
	__u64 page_table_bytes;
	/** @num_queues: Queues (engines). */
	__u32 num_queues;
	/** @asids_used: Address spaces in use (VMs that used the device). */
	__u32 asids_used;
	/** @device_hard_resets: HARD_RESET_COUNT of the device. */
	__u32 device_hard_resets;
	/** @pad: Zero. */
	__u32 pad;
};

/**
 * struct hlx_counters - What the driver counted since the device was bound.
 */
struct hlx_counters {
	/** @jobs_done: Jobs completed without error. */
	__u64 jobs_done;
	/** @jobs_failed: Jobs the device completed with an error. */
	__u64 jobs_failed;
	/** @mmu_faults: MMU_FAULT events. */
	__u64 mmu_faults;
	/** @access_errors: ACCESS_ERROR events. */
	__u64 access_errors;
	/** @illegal_packets: ILLEGAL_PACKET events. */
	__u64 illegal_packets;
	/** @other_events: Other events. */
	__u64 other_events;
	/** @soft_resets: Queue soft resets after timeouts. */
	__u64 soft_resets;
	/** @hard_resets: Device hard resets after failed soft resets. */
	__u64 hard_resets;
	/** @last_fault_addr: Address of the last MMU fault or access error. */
	__u64 last_fault_addr;
	/** @irq_cq: MSI-X messages of the completion queue (device count). */
	__u32 irq_cq;
	/** @irq_eq: MSI-X messages of the event queue (device count). */
	__u32 irq_eq;
};

/**
 * struct hlx_queue_info - One queue's state.
 */
struct hlx_queue_info {
	/** @queue: Queue (engine) index. */
	__u32 queue;
	/** @status: Q_STATUS (state in bits 0-3). */
	__u32 status;
	/** @ci: Q_CI, the consumer index. */
	__u32 ci;
	/** @soft_resets: Q_SOFT_RESET_COUNT. */
	__u32 soft_resets;
};

#endif /* _UAPI_HLX_ACCEL_H_ */
