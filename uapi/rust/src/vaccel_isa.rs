// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
//! The vaccel instruction set: a mirror of `uapi/drm/vaccel_isa.h`.
//!
//! Shared verbatim by the vaccel backend (its parser, included with `#[path]`) and the
//! userspace crate (its encoder), so it uses nothing but `core`. Packets are little-endian
//! and fixed-size; see Documentation/vaccel.rst.

#![allow(non_camel_case_types)]

/// Does nothing.
pub const VACCEL_OP_NOP: u16 = 0;
/// Copies bytes.
pub const VACCEL_OP_COPY: u16 = 1;
/// Fills bytes with a repeated u32 pattern.
pub const VACCEL_OP_FILL: u16 = 2;
/// Element-wise wrapping u32 addition.
pub const VACCEL_OP_ADD: u16 = 3;
/// Element-wise wrapping u32 multiplication.
pub const VACCEL_OP_MUL: u16 = 4;
/// Element-wise u32 exclusive or.
pub const VACCEL_OP_XOR: u16 = 5;
/// Element-wise unsigned u32 maximum.
pub const VACCEL_OP_MAX: u16 = 6;
/// Wrapping sum of u32 elements into a u64.
pub const VACCEL_OP_SUM: u16 = 7;
/// Writes the monotonic clock in nanoseconds.
pub const VACCEL_OP_WRITE_TIMESTAMP: u16 = 8;
/// Busies the engine for a number of microseconds.
pub const VACCEL_OP_DELAY: u16 = 9;
/// Never completes; for reset tests.
pub const VACCEL_OP_HANG: u16 = 10;
/// Completes with an error; for fault tests.
pub const VACCEL_OP_FAULT: u16 = 11;

/// Largest command buffer the kernel accepts, in bytes.
pub const VACCEL_MAX_PROGRAM_SIZE: u32 = 64 * 1024;
/// Longest DELAY, in microseconds.
pub const VACCEL_MAX_DELAY_US: u32 = 1_000_000;
/// `vaccel_memref.bo` value meaning "offset is a device virtual address".
pub const VACCEL_MEMREF_VA: u32 = 0xffff_ffff;

/// `struct vaccel_packet_header`: starts every packet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_packet_header {
    /// `VACCEL_OP_*`.
    pub opcode: u16,
    /// Must be zero.
    pub flags: u16,
    /// Size of the whole packet in bytes, header included.
    pub size: u32,
}

/// `struct vaccel_memref`: a memory operand.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_memref {
    /// Index into the submit's BO list, or [`VACCEL_MEMREF_VA`].
    pub bo: u32,
    /// Must be zero.
    pub pad: u32,
    /// Byte offset into the BO, or a device VA.
    pub offset: u64,
}

/// `struct vaccel_nop`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_nop {
    /// Header.
    pub hdr: vaccel_packet_header,
}

/// `struct vaccel_copy`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_copy {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Destination.
    pub dst: vaccel_memref,
    /// Source.
    pub src: vaccel_memref,
    /// Bytes to copy.
    pub len: u64,
}

/// `struct vaccel_fill`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_fill {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Destination.
    pub dst: vaccel_memref,
    /// Pattern, repeated little-endian.
    pub pattern: u32,
    /// Must be zero.
    pub pad: u32,
    /// Bytes to fill.
    pub len: u64,
}

/// `struct vaccel_vector`: ADD, MUL, XOR or MAX.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_vector {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Destination.
    pub dst: vaccel_memref,
    /// First operand.
    pub a: vaccel_memref,
    /// Second operand.
    pub b: vaccel_memref,
    /// Number of u32 elements.
    pub count: u64,
}

/// `struct vaccel_sum`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_sum {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Where the u64 sum goes.
    pub dst: vaccel_memref,
    /// The u32 elements.
    pub src: vaccel_memref,
    /// Number of u32 elements.
    pub count: u64,
}

/// `struct vaccel_write_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_write_timestamp {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Where the u64 timestamp goes.
    pub dst: vaccel_memref,
}

/// `struct vaccel_delay`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_delay {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Microseconds, at most [`VACCEL_MAX_DELAY_US`].
    pub usecs: u32,
    /// Must be zero.
    pub pad: u32,
}

/// `struct vaccel_hang`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_hang {
    /// Header.
    pub hdr: vaccel_packet_header,
}

/// `struct vaccel_fault`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vaccel_fault {
    /// Header.
    pub hdr: vaccel_packet_header,
    /// Positive errno the job fails with (1..=4095).
    pub code: u32,
    /// Must be zero.
    pub pad: u32,
}
