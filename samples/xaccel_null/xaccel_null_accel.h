/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xaccel_null: the vendor uAPI of xaccel's minimal sample backend
 * (samples/xaccel_null, Documentation/writing-a-backend.rst).
 *
 * Command buffers: a sequence of 8-byte commands, each a struct
 * xaccel_null_command, little-endian. SUBMIT fails with -EINVAL for an empty
 * buffer, one that is not a multiple of 8 bytes, or a command whose magic or
 * opcode is not listed here; with -E2BIG for more than 4096 commands.
 *
 * Vendor queries (DRM_IOCTL_XACCEL_VENDOR_QUERY, xaccel_accel.h): validated
 * exactly like DRM_IOCTL_XACCEL_QUERY; an unknown type is -EINVAL.
 */
#ifndef _UAPI_XACCEL_NULL_ACCEL_H_
#define _UAPI_XACCEL_NULL_ACCEL_H_

#include <linux/types.h>

/* The magic of every command: "NULL" in memory. */
#define XACCEL_NULL_MAGIC	0x4c4c554e
/* Does nothing. */
#define XACCEL_NULL_OP_NOP	0

/**
 * struct xaccel_null_command - One command.
 */
struct xaccel_null_command {
	/** @magic: XACCEL_NULL_MAGIC. */
	__u32 magic;
	/** @opcode: XACCEL_NULL_OP_NOP. */
	__u32 opcode;
};

/* The version of this uAPI, in struct xaccel_null_info. */
#define XACCEL_NULL_VERSION	1

/* One struct xaccel_null_info. */
#define XACCEL_NULL_QUERY_INFO	0

/**
 * struct xaccel_null_info - What the device reports about itself.
 */
struct xaccel_null_info {
	/** @version: XACCEL_NULL_VERSION. */
	__u32 version;
	/** @pad: Zero. */
	__u32 pad;
	/** @jobs_done: Jobs the device completed since it was registered. */
	__u64 jobs_done;
};

#endif /* _UAPI_XACCEL_NULL_ACCEL_H_ */
