// SPDX-License-Identifier: GPL-2.0-only
//! Linux 7.3's DRM core ioctl table (`drm_ioctls[]` in `drivers/gpu/drm/drm_ioctl.c`) as an
//! xaccel accel node sees it through the core's filter, and the errnos `Documentation/uapi.rst`
//! ("DRM core ioctls on an accel node") gives each: the allowed ones (DRM_RENDER_ALLOW in 7.3)
//! keep DRM's own errnos, every other core number fails with `EACCES`, whether the kernel has
//! an ioctl there or not.

use xaccel::Errno;

/// The first driver ioctl number (`DRM_COMMAND_BASE`).
pub const DRM_COMMAND_BASE: u8 = 0x40;
/// The first core number after the driver range (`DRM_COMMAND_END`).
pub const DRM_COMMAND_END: u8 = 0xa0;
/// `DRM_IOCTL_BASE`.
pub const DRM_TYPE: u8 = b'd';

/// The filter's errno for every core ioctl it refuses.
pub const REFUSED: Errno = Errno::ACCESS;

/// An allowed core ioctl: its name and the errnos it may fail with on hostile input.
pub struct Allowed {
    pub nr: u8,
    pub name: &'static str,
    pub errnos: &'static [Errno],
}

/// Every allowed core ioctl, with its errnos on an xaccel node (7.3's handlers; `EFAULT` for
/// every argument pointer the kernel cannot copy, including the ioctl struct itself).
pub const ALLOWED: [Allowed; 19] = {
    use Errno as E;
    /// The SYNCOBJ ioctls taking arrays of handles.
    const ARRAY: &[Errno] = &[E::INVAL, E::NOENT, E::FAULT, E::NOMEM];
    /// The waits: arrays, plus a fence that did not signal in time.
    const WAIT: &[Errno] = &[E::INVAL, E::NOENT, E::FAULT, E::NOMEM, E::TIME];
    [
        Allowed {
            nr: 0x00,
            name: "VERSION",
            errnos: &[E::FAULT],
        },
        Allowed {
            nr: 0x09,
            name: "GEM_CLOSE",
            errnos: &[E::INVAL, E::FAULT],
        },
        Allowed {
            nr: 0x0c,
            name: "GET_CAP",
            errnos: &[E::OPNOTSUPP, E::FAULT],
        },
        Allowed {
            nr: 0x2d,
            name: "PRIME_HANDLE_TO_FD",
            errnos: &[E::INVAL, E::NOENT, E::FAULT],
        },
        Allowed {
            nr: 0x2e,
            name: "PRIME_FD_TO_HANDLE",
            errnos: &[E::BADF, E::INVAL, E::FAULT],
        },
        Allowed {
            nr: 0xbf,
            name: "SYNCOBJ_CREATE",
            errnos: &[E::INVAL, E::FAULT, E::NOMEM],
        },
        Allowed {
            nr: 0xc0,
            name: "SYNCOBJ_DESTROY",
            errnos: &[E::INVAL, E::FAULT],
        },
        Allowed {
            nr: 0xc1,
            name: "SYNCOBJ_HANDLE_TO_FD",
            errnos: &[E::INVAL, E::NOENT, E::FAULT],
        },
        Allowed {
            nr: 0xc2,
            name: "SYNCOBJ_FD_TO_HANDLE",
            errnos: &[E::INVAL, E::NOENT, E::FAULT, E::NOMEM],
        },
        Allowed {
            nr: 0xc3,
            name: "SYNCOBJ_WAIT",
            errnos: WAIT,
        },
        Allowed {
            nr: 0xc4,
            name: "SYNCOBJ_RESET",
            errnos: ARRAY,
        },
        Allowed {
            nr: 0xc5,
            name: "SYNCOBJ_SIGNAL",
            errnos: ARRAY,
        },
        Allowed {
            nr: 0xca,
            name: "SYNCOBJ_TIMELINE_WAIT",
            errnos: WAIT,
        },
        Allowed {
            nr: 0xcb,
            name: "SYNCOBJ_QUERY",
            errnos: ARRAY,
        },
        Allowed {
            nr: 0xcc,
            name: "SYNCOBJ_TRANSFER",
            errnos: ARRAY,
        },
        Allowed {
            nr: 0xcd,
            name: "SYNCOBJ_TIMELINE_SIGNAL",
            errnos: ARRAY,
        },
        Allowed {
            nr: 0xcf,
            name: "SYNCOBJ_EVENTFD",
            errnos: &[E::INVAL, E::NOENT, E::BADF, E::FAULT, E::NOMEM],
        },
        Allowed {
            nr: 0xd1,
            name: "SET_CLIENT_NAME",
            errnos: &[E::INVAL, E::FAULT, E::NOMEM],
        },
        // drm_invalid_op() in 7.3: EINVAL whatever the argument (EFAULT first for a bad one).
        Allowed {
            nr: 0xd2,
            name: "GEM_CHANGE_HANDLE",
            errnos: &[E::INVAL, E::FAULT],
        },
    ]
};

/// The refused ioctls 7.3 has, by number (the other core numbers are empty slots or beyond
/// the table, refused all the same).
pub const REFUSED_KNOWN: [(u8, &str); 62] = [
    (0x01, "GET_UNIQUE"),
    (0x02, "GET_MAGIC"),
    (0x05, "GET_CLIENT"),
    (0x06, "GET_STATS"),
    (0x07, "SET_VERSION"),
    (0x0a, "GEM_FLINK"),
    (0x0b, "GEM_OPEN"),
    (0x0d, "SET_CLIENT_CAP"),
    (0x10, "SET_UNIQUE"),
    (0x11, "AUTH_MAGIC"),
    (0x12, "BLOCK"),
    (0x13, "UNBLOCK"),
    (0x1e, "SET_MASTER"),
    (0x1f, "DROP_MASTER"),
    (0x27, "ADD_DRAW"),
    (0x28, "RM_DRAW"),
    (0x2c, "FINISH"),
    (0x3a, "WAIT_VBLANK"),
    (0x3b, "CRTC_GET_SEQUENCE"),
    (0x3c, "CRTC_QUEUE_SEQUENCE"),
    (0x3f, "UPDATE_DRAW"),
    (0xa0, "MODE_GETRESOURCES"),
    (0xa1, "MODE_GETCRTC"),
    (0xa2, "MODE_SETCRTC"),
    (0xa3, "MODE_CURSOR"),
    (0xa4, "MODE_GETGAMMA"),
    (0xa5, "MODE_SETGAMMA"),
    (0xa6, "MODE_GETENCODER"),
    (0xa7, "MODE_GETCONNECTOR"),
    (0xa8, "MODE_ATTACHMODE"),
    (0xa9, "MODE_DETACHMODE"),
    (0xaa, "MODE_GETPROPERTY"),
    (0xab, "MODE_SETPROPERTY"),
    (0xac, "MODE_GETPROPBLOB"),
    (0xad, "MODE_GETFB"),
    (0xae, "MODE_ADDFB"),
    (0xaf, "MODE_RMFB"),
    (0xb0, "MODE_PAGE_FLIP"),
    (0xb1, "MODE_DIRTYFB"),
    (0xb2, "MODE_CREATE_DUMB"),
    (0xb3, "MODE_MAP_DUMB"),
    (0xb4, "MODE_DESTROY_DUMB"),
    (0xb5, "MODE_GETPLANERESOURCES"),
    (0xb6, "MODE_GETPLANE"),
    (0xb7, "MODE_SETPLANE"),
    (0xb8, "MODE_ADDFB2"),
    (0xb9, "MODE_OBJ_GETPROPERTIES"),
    (0xba, "MODE_OBJ_SETPROPERTY"),
    (0xbb, "MODE_CURSOR2"),
    (0xbc, "MODE_ATOMIC"),
    (0xbd, "MODE_CREATEPROPBLOB"),
    (0xbe, "MODE_DESTROYPROPBLOB"),
    (0xc6, "MODE_CREATE_LEASE"),
    (0xc7, "MODE_LIST_LESSEES"),
    (0xc8, "MODE_GET_LEASE"),
    (0xc9, "MODE_REVOKE_LEASE"),
    (0xce, "MODE_GETFB2"),
    (0xd0, "MODE_CLOSEFB"),
    // Numbers drm.h defines that 7.3's table leaves empty (legacy, removed).
    (0x03, "IRQ_BUSID"),
    (0x04, "GET_MAP"),
    (0x08, "MODESET_CTL"),
    (0x2a, "LOCK"),
];

/// Every core ioctl number: below `DRM_COMMAND_BASE` and from `DRM_COMMAND_END` on.
pub fn core_numbers() -> impl Iterator<Item = u8> {
    (0..DRM_COMMAND_BASE).chain(DRM_COMMAND_END..=0xff)
}

/// The allowed ioctl of number `nr`, if it is one.
pub fn allowed(nr: u8) -> Option<&'static Allowed> {
    ALLOWED.iter().find(|a| a.nr == nr)
}

/// A printable name of core number `nr`.
pub fn name(nr: u8) -> String {
    allowed(nr)
        .map(|a| a.name)
        .or_else(|| REFUSED_KNOWN.iter().find(|r| r.0 == nr).map(|r| r.1))
        .map_or_else(
            || format!("core 0x{nr:02x}"),
            |n| format!("{n} (0x{nr:02x})"),
        )
}

/// `_IOC(dir, DRM_TYPE, nr, size)`: `dir` bit 0 is write (in), bit 1 read (out).
pub fn encode(dir: u32, nr: u8, size: u32) -> u32 {
    assert!(dir < 4 && size < 1 << 14);
    (dir << 30) | (size << 16) | (u32::from(DRM_TYPE) << 8) | u32::from(nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_drm_h() {
        // DRM_IOCTL_VERSION, DRM_IOCTL_GET_UNIQUE, DRM_IOCTL_GET_MAGIC, DRM_IOCTL_SET_MASTER.
        assert_eq!(encode(3, 0x00, 64), 0xc040_6400);
        assert_eq!(encode(3, 0x01, 16), 0xc010_6401);
        assert_eq!(encode(2, 0x02, 4), 0x8004_6402);
        assert_eq!(encode(0, 0x1e, 0), 0x0000_641e);
    }

    #[test]
    fn table_is_consistent() {
        assert_eq!(core_numbers().count(), 0x40 + 0x60);
        for a in &ALLOWED {
            assert!(core_numbers().any(|n| n == a.nr), "{} is not core", a.name);
            assert!(
                !REFUSED_KNOWN.iter().any(|r| r.0 == a.nr),
                "{} twice",
                a.name
            );
            assert!(
                !a.errnos.contains(&REFUSED),
                "{} may not give EACCES",
                a.name
            );
        }
        let mut seen: Vec<u8> = REFUSED_KNOWN.iter().map(|r| r.0).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), REFUSED_KNOWN.len());
        assert_eq!(name(0x01), "GET_UNIQUE (0x01)");
        assert_eq!(name(0xfe), "core 0xfe");
    }
}
