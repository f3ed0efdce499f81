/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vaccel: the instruction set of xaccel's software reference accelerator.
 *
 * A vaccel command buffer is a sequence of packets, each a fixed-layout,
 * little-endian struct starting with struct vaccel_packet_header. Memory
 * operands (struct vaccel_memref) name a buffer of the submit's BO list and a
 * byte offset in it, or a device virtual address when a VM is bound.
 *
 * The kernel parses every packet before the job is queued and runs only what
 * it validated; see Documentation/vaccel.rst, the programming manual, for the
 * semantics and the errno of each rejection. Userspace Rust encodes programs
 * with xaccel::vaccel::Program.
 */
#ifndef __UAPI_VACCEL_ISA_H__
#define __UAPI_VACCEL_ISA_H__

#include <linux/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* Opcodes of &vaccel_packet_header.opcode. */
#define VACCEL_OP_NOP			0
#define VACCEL_OP_COPY			1
#define VACCEL_OP_FILL			2
#define VACCEL_OP_ADD			3
#define VACCEL_OP_MUL			4
#define VACCEL_OP_XOR			5
#define VACCEL_OP_MAX			6
#define VACCEL_OP_SUM			7
#define VACCEL_OP_WRITE_TIMESTAMP	8
#define VACCEL_OP_DELAY			9
#define VACCEL_OP_HANG			10
#define VACCEL_OP_FAULT			11

/* Largest command buffer the kernel accepts, in bytes. */
#define VACCEL_MAX_PROGRAM_SIZE		(64 * 1024)
/* Longest DELAY, in microseconds. */
#define VACCEL_MAX_DELAY_US		1000000

/* &vaccel_memref.bo value meaning "offset is a device virtual address". */
#define VACCEL_MEMREF_VA		0xffffffffu

/**
 * struct vaccel_packet_header - Starts every packet.
 * @opcode: VACCEL_OP_*.
 * @flags: Must be zero.
 * @size: Size of the whole packet in bytes, header included; must equal the
 *        size of the opcode's struct.
 */
struct vaccel_packet_header {
	__u16 opcode;
	__u16 flags;
	__u32 size;
};

/**
 * struct vaccel_memref - A memory operand.
 * @bo: Index into the submit's BO list, or VACCEL_MEMREF_VA.
 * @pad: Must be zero.
 * @offset: Byte offset into the BO (any alignment), or a device VA.
 */
struct vaccel_memref {
	__u32 bo;
	__u32 pad;
	__u64 offset;
};

/** struct vaccel_nop - Does nothing. */
struct vaccel_nop {
	struct vaccel_packet_header hdr;
};

/**
 * struct vaccel_copy - Copies @len bytes from @src to @dst, as memmove() when
 * both name the same BO-list entry or both are device VAs.
 */
struct vaccel_copy {
	struct vaccel_packet_header hdr;
	struct vaccel_memref dst;
	struct vaccel_memref src;
	__u64 len;
};

/**
 * struct vaccel_fill - Fills @len bytes at @dst with the little-endian bytes
 * of @pattern, repeated; @len need not be a multiple of 4.
 */
struct vaccel_fill {
	struct vaccel_packet_header hdr;
	struct vaccel_memref dst;
	__u32 pattern;
	__u32 pad;
	__u64 len;
};

/**
 * struct vaccel_vector - ADD, MUL, XOR or MAX of @count little-endian u32
 * elements: dst[i] = a[i] op b[i], wrapping on overflow, MAX unsigned. @dst
 * may be exactly @a or @b; a partial overlap leaves it undefined.
 */
struct vaccel_vector {
	struct vaccel_packet_header hdr;
	struct vaccel_memref dst;
	struct vaccel_memref a;
	struct vaccel_memref b;
	__u64 count;
};

/**
 * struct vaccel_sum - Sum of @count u32 elements of @src modulo 2^64, written
 * as a u64 at @dst once every element is read.
 */
struct vaccel_sum {
	struct vaccel_packet_header hdr;
	struct vaccel_memref dst;
	struct vaccel_memref src;
	__u64 count;
};

/** struct vaccel_write_timestamp - Writes CLOCK_MONOTONIC ns as a u64 at @dst. */
struct vaccel_write_timestamp {
	struct vaccel_packet_header hdr;
	struct vaccel_memref dst;
};

/** struct vaccel_delay - Busies the engine for @usecs microseconds. */
struct vaccel_delay {
	struct vaccel_packet_header hdr;
	__u32 usecs;
	__u32 pad;
};

/** struct vaccel_hang - Never completes: only a reset ends the job. */
struct vaccel_hang {
	struct vaccel_packet_header hdr;
};

/** struct vaccel_fault - Ends the job with error -@code (1..4095, e.g. EIO). */
struct vaccel_fault {
	struct vaccel_packet_header hdr;
	__u32 code;
	__u32 pad;
};

#if defined(__cplusplus)
}
#endif

#endif /* __UAPI_VACCEL_ISA_H__ */
