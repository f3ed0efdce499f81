// SPDX-License-Identifier: GPL-2.0-only
//! The userspace side of the sample backend `xaccel_null` (samples/xaccel_null): its command
//! encoder and its vendor query, as `samples/xaccel_null/xaccel_null_accel.h` declares them.
//! A vendor adds its backend's module to this runtime the same way (or ships its own crate on
//! top of [`crate::Device`]).
//!
//! ```
//! let cb = xaccel::null::encode(3);
//! assert_eq!(cb.len(), 3 * xaccel::null::COMMAND_SIZE);
//! assert_eq!(&cb[..8], &xaccel::null::NOP);
//! ```

/// The backend's name, as QUERY DEVICE reports it.
pub const BACKEND: &str = "xaccel_null";
/// `XACCEL_NULL_MAGIC`: the first word of every command.
pub const MAGIC: u32 = 0x4c4c_554e;
/// `XACCEL_NULL_OP_NOP`.
pub const OP_NOP: u32 = 0;
/// Bytes per command.
pub const COMMAND_SIZE: usize = 8;
/// The most commands one job may hold.
pub const MAX_COMMANDS: usize = 4096;
/// `XACCEL_NULL_QUERY_INFO`: one [`Info`].
pub const QUERY_INFO: u32 = 0;
/// `XACCEL_NULL_VERSION`.
pub const VERSION: u32 = 1;
/// The size of `struct xaccel_null_info`.
pub const INFO_SIZE: usize = 16;

/// The command with `opcode`.
pub const fn command(opcode: u32) -> [u8; COMMAND_SIZE] {
    let (m, o) = (MAGIC.to_le_bytes(), opcode.to_le_bytes());
    [m[0], m[1], m[2], m[3], o[0], o[1], o[2], o[3]]
}

/// The NOP command.
pub const NOP: [u8; COMMAND_SIZE] = command(OP_NOP);

/// A command buffer of `count` NOPs.
pub fn encode(count: usize) -> Vec<u8> {
    NOP.repeat(count)
}

/// `struct xaccel_null_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// `XACCEL_NULL_VERSION` of the kernel's backend.
    pub version: u32,
    /// Jobs the device completed since it was registered.
    pub jobs_done: u64,
}

/// `XACCEL_NULL_QUERY_INFO`.
pub fn info(dev: &crate::Device) -> crate::Result<Info> {
    let bytes = dev.vendor_query(QUERY_INFO, INFO_SIZE as u32)?;
    let Some(item) = bytes.get(..INFO_SIZE) else {
        return Err(crate::Error::Protocol {
            ioctl: "VENDOR_QUERY",
            problem: format!("xaccel_null query {QUERY_INFO} returned no item"),
        });
    };
    let (version, rest) = item.split_at(4);
    let jobs_done = &rest[4..];
    Ok(Info {
        version: u32::from_le_bytes(version.try_into().expect("4 bytes")),
        jobs_done: u64::from_le_bytes(jobs_done.try_into().expect("8 bytes")),
    })
}
