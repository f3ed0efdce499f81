// SPDX-License-Identifier: GPL-2.0-only
//! Typed views of the uAPI's raw numbers: engine classes, region kinds,
//! capability and region flag bits, and NUL-terminated names.
//!
//! Values this crate does not know yet (from a newer kernel) are kept, not
//! rejected: enums have an `Unknown(raw)` variant and flag sets retain unknown
//! bits, which print as hex.

use std::fmt;

use bitflags::Flags;
use serde::{Serialize, Serializer};
use xaccel_uapi as uapi;

/// Decodes a fixed-size, NUL-terminated name. Bytes after the first NUL are
/// ignored; a name filling the whole array has no NUL; invalid UTF-8 is replaced.
pub fn decode_name(bytes: &[u8]) -> String {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}

/// Defines an enum over a raw `u32` with an `Unknown` fallback, printed in lower case.
macro_rules! raw_enum {
    (
        $(#[$meta:meta])* $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $raw:path => $text:literal),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of the crate does not know.
            Unknown(u32),
        }

        impl From<u32> for $name {
            fn from(raw: u32) -> Self {
                match raw {
                    $($raw => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for u32 {
            fn from(value: $name) -> u32 {
                match value {
                    $($name::$variant => $raw,)*
                    $name::Unknown(raw) => raw,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant => f.write_str($text),)*
                    Self::Unknown(raw) => write!(f, "unknown({raw})"),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

raw_enum! {
    /// What an engine does (`enum drm_xaccel_engine_class`).
    EngineClass {
        /// Runs compute programs.
        Compute = uapi::DRM_XACCEL_ENGINE_COMPUTE => "compute",
        /// Moves and fills memory.
        Copy = uapi::DRM_XACCEL_ENGINE_COPY => "copy",
        /// Moves memory between host and device.
        Dma = uapi::DRM_XACCEL_ENGINE_DMA => "dma",
    }
}

raw_enum! {
    /// Where a memory region lives (`enum drm_xaccel_region_kind`).
    RegionKind {
        /// Host RAM.
        System = uapi::DRM_XACCEL_REGION_SYSTEM => "system",
        /// Device-local memory.
        Device = uapi::DRM_XACCEL_REGION_DEVICE => "device",
    }
}

bitflags::bitflags! {
    /// `DRM_XACCEL_CAP_*`: what a device can do. Built with `from_bits_retain`,
    /// so bits from newer kernels are kept.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Capabilities: u64 {
        /// The device has its own MMU.
        const MMU = uapi::DRM_XACCEL_CAP_MMU;
        /// Device memory can be exported peer-to-peer.
        const P2P = uapi::DRM_XACCEL_CAP_P2P;
    }
}

bitflags::bitflags! {
    /// `DRM_XACCEL_REGION_*` flags of a memory region; unknown bits are kept too.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct RegionFlags: u64 {
        /// The CPU can map the region.
        const CPU_VISIBLE = uapi::DRM_XACCEL_REGION_CPU_VISIBLE;
        /// The region can be the target of PCI peer-to-peer transfers.
        const P2P = uapi::DRM_XACCEL_REGION_P2P;
    }
}

/// Names of the set bits: known flags as lower-case words (`cpu-visible`), any
/// other bits as one hex number.
fn flag_names<F: Flags<Bits = u64>>(flags: &F) -> Vec<String> {
    let mut names: Vec<String> = flags
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase().replace('_', "-"))
        .collect();
    let known = flags.iter_names().fold(0, |acc, (_, f)| acc | f.bits());
    let unknown = flags.bits() & !known;
    if unknown != 0 {
        names.push(format!("{unknown:#x}"));
    }
    names
}

/// Writes the names joined by `, `, or `none`.
fn fmt_flags<F: Flags<Bits = u64>>(flags: &F, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let names = flag_names(flags);
    if names.is_empty() {
        f.write_str("none")
    } else {
        f.write_str(&names.join(", "))
    }
}

macro_rules! flags_impls {
    ($name:ident) => {
        impl $name {
            /// The set flags as lower-case names; unknown bits as one hex number.
            pub fn names(&self) -> Vec<String> {
                flag_names(self)
            }
        }

        /// `mmu, p2p`, or `none`.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_flags(self, f)
            }
        }

        /// A list of names, as [`Self::names`].
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.names())
            }
        }
    };
}

flags_impls!(Capabilities);
flags_impls!(RegionFlags);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stop_at_nul() {
        assert_eq!(decode_name(b"compute0\0\0\0\0\0\0\0\0"), "compute0");
        assert_eq!(decode_name(b"a\0junk"), "a");
        assert_eq!(decode_name(&[0; 16]), "");
        assert_eq!(decode_name(b"sixteen-chars-xx"), "sixteen-chars-xx");
        assert_eq!(decode_name(b"bad\xffname\0"), "bad\u{fffd}name");
    }

    #[test]
    fn engine_class_round_trip() {
        for raw in 0..5 {
            assert_eq!(u32::from(EngineClass::from(raw)), raw);
        }
        assert_eq!(
            EngineClass::from(uapi::DRM_XACCEL_ENGINE_COMPUTE),
            EngineClass::Compute
        );
        assert_eq!(
            EngineClass::from(uapi::DRM_XACCEL_ENGINE_COPY),
            EngineClass::Copy
        );
        assert_eq!(
            EngineClass::from(uapi::DRM_XACCEL_ENGINE_DMA),
            EngineClass::Dma
        );
        assert_eq!(EngineClass::from(7), EngineClass::Unknown(7));
        assert_eq!(EngineClass::Dma.to_string(), "dma");
        assert_eq!(EngineClass::Unknown(7).to_string(), "unknown(7)");
    }

    #[test]
    fn region_kind_round_trip() {
        assert_eq!(
            RegionKind::from(uapi::DRM_XACCEL_REGION_SYSTEM),
            RegionKind::System
        );
        assert_eq!(
            RegionKind::from(uapi::DRM_XACCEL_REGION_DEVICE),
            RegionKind::Device
        );
        assert_eq!(RegionKind::from(9), RegionKind::Unknown(9));
        assert_eq!(
            u32::from(RegionKind::Device),
            uapi::DRM_XACCEL_REGION_DEVICE
        );
        assert_eq!(RegionKind::System.to_string(), "system");
    }

    #[test]
    fn capability_formatting() {
        assert_eq!(Capabilities::empty().to_string(), "none");
        assert_eq!(Capabilities::MMU.to_string(), "mmu");
        assert_eq!(
            (Capabilities::MMU | Capabilities::P2P).to_string(),
            "mmu, p2p"
        );
        let odd = Capabilities::from_bits_retain(uapi::DRM_XACCEL_CAP_P2P | 0x30);
        assert_eq!(odd.to_string(), "p2p, 0x30");
        assert_eq!(odd.bits(), 0x32);
        assert_eq!(RegionFlags::all().to_string(), "cpu-visible, p2p");
        assert_eq!(
            RegionFlags::from_bits_retain(0x3).names(),
            ["cpu-visible", "p2p"]
        );
    }

    #[test]
    fn serialize_as_words() {
        let caps = Capabilities::from_bits_retain(1 | 1 << 40);
        assert_eq!(
            serde_json::to_string(&caps).unwrap(),
            r#"["mmu","0x10000000000"]"#
        );
        assert_eq!(
            serde_json::to_string(&EngineClass::Copy).unwrap(),
            r#""copy""#
        );
        assert_eq!(
            serde_json::to_string(&RegionKind::Unknown(3)).unwrap(),
            r#""unknown(3)""#
        );
    }
}
