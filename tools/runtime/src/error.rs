// SPDX-License-Identifier: GPL-2.0-only
//! The error type of the `xaccel` runtime: what failed, and the errno behind it.

use std::path::PathBuf;

use rustix::io::Errno;

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to an xaccel device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening a device node failed.
    #[error("cannot open {}: {errno}", path.display())]
    Open {
        /// The node.
        path: PathBuf,
        /// Why.
        errno: Errno,
    },
    /// Listing the device directory failed.
    #[error("cannot list {}: {err}", dir.display())]
    Enumerate {
        /// The directory.
        dir: PathBuf,
        /// Why.
        err: std::io::Error,
    },
    /// An ioctl returned an error.
    #[error("{ioctl} failed: {errno}")]
    Ioctl {
        /// Which ioctl (and which step of it).
        ioctl: &'static str,
        /// The errno it returned.
        errno: Errno,
    },
    /// Reading a file (an fdinfo file, a `/proc` entry) failed.
    #[error("cannot read {}: {err}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        err: std::io::Error,
    },
    /// The kernel answered something the uAPI does not allow.
    #[error("{ioctl}: unexpected answer from the kernel: {problem}")]
    Protocol {
        /// Which ioctl.
        ioctl: &'static str,
        /// What was wrong.
        problem: String,
    },
}

impl Error {
    /// The errno behind this error, if a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Open { errno, .. } | Error::Ioctl { errno, .. } => Some(*errno),
            Error::Enumerate { err, .. } | Error::Read { err, .. } => {
                err.raw_os_error().map(Errno::from_raw_os_error)
            }
            Error::Protocol { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_and_message() {
        let e = Error::Ioctl {
            ioctl: "DRM_IOCTL_VERSION",
            errno: Errno::INVAL,
        };
        assert_eq!(e.errno(), Some(Errno::INVAL));
        assert!(e.to_string().starts_with("DRM_IOCTL_VERSION failed: "));
        let e = Error::Enumerate {
            dir: "/x".into(),
            err: std::io::Error::from_raw_os_error(Errno::ACCESS.raw_os_error()),
        };
        assert_eq!(e.errno(), Some(Errno::ACCESS));
        let e = Error::Protocol {
            ioctl: "QUERY",
            problem: "odd".into(),
        };
        assert_eq!(e.errno(), None);
        assert_eq!(
            e.to_string(),
            "QUERY: unexpected answer from the kernel: odd"
        );
    }
}
