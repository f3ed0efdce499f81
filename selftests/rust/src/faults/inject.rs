// SPDX-License-Identifier: GPL-2.0-only
//! The kernel's systematic fault injection (`Documentation/fault-injection/fault-injection.rst`):
//! writing N to the thread's own `/proc/thread-self/fail-nth` fails the Nth fault-injection
//! point the thread reaches next (slab allocations with FAILSLAB, page allocations with
//! FAIL_PAGE_ALLOC); reading it back gives 0 once that failure was injected, or how many points
//! were still to go. [`Injector`] arms one system call at a time; [`Settings`] makes the
//! injectors fail sleeping allocations too (their defaults ignore them) and restores the
//! debugfs settings when dropped.

use std::cell::Cell;
use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::{pread, pwrite, Errno};

/// The calling thread's `fail-nth` file.
pub const FAIL_NTH: &str = "/proc/thread-self/fail-nth";

/// Where the fault injectors keep their settings.
const DEBUGFS: &str = "/sys/kernel/debug";

/// The settings this test needs: (file under debugfs, value).
const NEEDED: &[(&str, &str)] = &[
    ("failslab/ignore-gfp-wait", "N"),
    ("failslab/verbose", "0"),
    ("fail_page_alloc/ignore-gfp-wait", "N"),
    ("fail_page_alloc/ignore-gfp-highmem", "N"),
    ("fail_page_alloc/min-order", "0"),
    ("fail_page_alloc/verbose", "0"),
];

/// The fault-injection settings of debugfs, changed for the test and put back when dropped.
pub struct Settings {
    saved: Vec<(PathBuf, String)>,
}

impl Settings {
    /// Applies [`NEEDED`]: every injector that exists fails sleeping allocations of any order,
    /// quietly. Fails if neither FAILSLAB nor FAIL_PAGE_ALLOC is there.
    pub fn apply() -> Result<Self, String> {
        let mut settings = Self { saved: Vec::new() };
        for (file, value) in NEEDED {
            let path = Path::new(DEBUGFS).join(file);
            let Ok(old) = fs::read_to_string(&path) else {
                continue;
            };
            fs::write(&path, value).map_err(|e| format!("{}: {e}", path.display()))?;
            settings.saved.push((path, old.trim().to_owned()));
        }
        if settings.saved.is_empty() {
            return Err(format!(
                "neither {DEBUGFS}/failslab nor {DEBUGFS}/fail_page_alloc exists"
            ));
        }
        Ok(settings)
    }

    /// What was changed, for the log: `failslab/ignore-gfp-wait=N ...`.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self
            .saved
            .iter()
            .filter_map(|(p, _)| p.strip_prefix(DEBUGFS).ok())
            .map(|p| {
                let file = p.display().to_string();
                let value = NEEDED
                    .iter()
                    .find(|(f, _)| file.ends_with(f))
                    .map_or("?", |(_, v)| v);
                format!("{}={value}", file.trim_start_matches('/'))
            })
            .collect();
        names.join(" ")
    }
}

impl Drop for Settings {
    fn drop(&mut self) {
        for (path, old) in self.saved.iter().rev() {
            let _ = fs::write(path, old);
        }
    }
}

/// The calling thread's `fail-nth`, open; must be used on the thread that opened it.
pub struct Injector {
    file: OwnedFd,
}

impl Injector {
    /// Opens [`FAIL_NTH`]; `None` if the kernel has no fault injection for tasks.
    pub fn open() -> Result<Option<Self>, String> {
        match rustix::fs::open(FAIL_NTH, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()) {
            Ok(file) => Ok(Some(Self { file })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(format!("{FAIL_NTH}: {e}")),
        }
    }

    fn write(&self, n: u32) -> Result<(), Errno> {
        // A stack buffer: nothing here allocates between arming and the call.
        let mut buf = [0u8; 12];
        let mut len = 0;
        let digits = n.to_string();
        for (slot, b) in buf.iter_mut().zip(digits.bytes()) {
            *slot = b;
            len += 1;
        }
        pwrite(&self.file, &buf[..len], 0).map(|_| ())
    }

    /// Reads the count back: 0 if the armed failure was injected.
    fn read(&self) -> Result<u32, Errno> {
        let mut buf = [0u8; 16];
        let len = pread(&self.file, &mut buf, 0)?;
        std::str::from_utf8(&buf[..len])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(Errno::INVAL)
    }

    /// Arms the `n`th fault point (0: none), runs `call`, disarms; returns the call's result and
    /// whether the failure was injected. `call` must make exactly the system call under test
    /// and nothing else that reaches a fault point (no allocation, no first touch of memory):
    /// everything it needs is prepared before.
    pub fn during<R>(&self, n: u32, call: impl FnOnce() -> R) -> (R, bool) {
        if n == 0 {
            return (call(), false);
        }
        self.write(n).expect("arming fail-nth");
        let result = call();
        let left = self.read().expect("reading fail-nth back");
        // Disarm: points not reached stay armed otherwise.
        self.write(0).expect("disarming fail-nth");
        (result, left == 0)
    }
}

/// One attempt of a call under test: fires the call with the `n`th fault point armed
/// (0: nothing armed), and remembers whether the failure was injected.
pub struct Shot<'a> {
    injector: &'a Injector,
    n: u32,
    injected: Cell<Option<bool>>,
}

impl<'a> Shot<'a> {
    /// An attempt failing fault point `n` (0: none).
    pub fn new(injector: &'a Injector, n: u32) -> Self {
        Self {
            injector,
            n,
            injected: Cell::new(None),
        }
    }

    /// The fault point this attempt fails (0: none).
    pub fn nth(&self) -> u32 {
        self.n
    }

    /// Makes the call under test (see [`Injector::during`]).
    pub fn fire<R>(&self, call: impl FnOnce() -> R) -> R {
        assert!(self.injected.get().is_none(), "an attempt fires once");
        let (result, injected) = self.injector.during(self.n, call);
        self.injected.set(Some(injected));
        result
    }

    /// Records the outcome of a call made elsewhere (a child process that armed itself).
    pub fn report(&self, injected: bool) {
        assert!(self.injected.get().is_none(), "an attempt fires once");
        self.injected.set(Some(injected));
    }

    /// Whether the failure was injected; `None` if the call was never made.
    pub fn injected(&self) -> Option<bool> {
        self.injected.get()
    }
}
