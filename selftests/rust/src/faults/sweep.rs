// SPDX-License-Identifier: GPL-2.0-only
//! The systematic sweep of one call: fail its 1st, 2nd, 3rd, ... fault point until it succeeds
//! with no failure injected. After every failure: the errno is `ENOMEM` or one the uAPI gives
//! the call, the file's [`State`] is as before the call, the same call then succeeds without
//! injection, and the device still runs a job.

use std::collections::BTreeMap;

use xaccel::Errno;
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::Failure;
use xaccel_selftests::{ensure, fail};

use crate::inject::Shot;
use crate::state::{settle, Check, State};
use crate::Ctx;

/// More fault points than any call under test reaches: a sweep that gets here fails.
const MAX_POINTS: u32 = 3000;

/// What a sweep saw.
#[derive(Default)]
pub struct Sweep {
    /// Fault points the call reached (the sweep's last N, minus one).
    pub points: u32,
    /// Of those, the failures the call survived (it succeeded all the same: a fallback).
    pub survived: u32,
    /// The errnos of the failed calls, with their counts.
    pub errnos: BTreeMap<i32, u32>,
}

impl Sweep {
    /// `12 fault points: ENOMEM x11, 1 survived`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .errnos
            .iter()
            .map(|(&e, n)| format!("{} x{n}", errno_name(Errno::from_raw_os_error(e))))
            .collect();
        if self.survived > 0 {
            parts.push(format!("{} survived", self.survived));
        }
        if parts.is_empty() {
            format!("{} fault points", self.points)
        } else {
            format!("{} fault points: {}", self.points, parts.join(", "))
        }
    }
}

/// One attempt of a call under test, on what `setup` prepared.
pub type Attempt<'a, P, T> = dyn FnMut(&Shot<'_>, &mut P) -> Result<T, Errno> + 'a;

/// The three parts of a call under test. `setup` prepares what one attempt needs (a fresh
/// object to close, say) without injection; `call` prepares the arguments and makes the call
/// through [`Shot::fire`]; `finish` gets the setup back with the call's output (`None` after a
/// failure: it checks what the call must have left alone, then cleans up) and must leave the
/// file as it was before `setup`.
pub struct Call<'a, P, T> {
    pub setup: Box<dyn FnMut() -> Check<P> + 'a>,
    pub call: Box<Attempt<'a, P, T>>,
    pub finish: Box<dyn FnMut(P, Option<T>) -> Check + 'a>,
}

impl<'a, P, T> Call<'a, P, T> {
    /// A call with nothing to set up or clean up but its output.
    pub fn simple(
        call: impl FnMut(&Shot<'_>) -> Result<T, Errno> + 'a,
        undo: impl FnMut(T) -> Check + 'a,
    ) -> Call<'a, (), T> {
        let (mut call, mut undo) = (call, undo);
        Call {
            setup: Box::new(|| Ok(())),
            call: Box::new(move |shot, _| call(shot)),
            finish: Box::new(move |(), out| match out {
                Some(out) => undo(out),
                None => Ok(()),
            }),
        }
    }
}

/// Sweeps `c`'s call: see the module documentation. `allowed` are the errnos besides `ENOMEM`
/// the uAPI gives the call.
pub fn sweep<P, T>(c: &Ctx, what: &str, allowed: &[Errno], call: Call<'_, P, T>) -> Check<Sweep> {
    sweep_relaxed(c, what, allowed, call, |s| s)
}

/// [`sweep`], comparing the state before and after a failed call through `relax`, for what the
/// kernel outside xaccel may leave behind (see [`State::without_exports`]).
pub fn sweep_relaxed<P, T>(
    c: &Ctx,
    what: &str,
    allowed: &[Errno],
    mut call: Call<'_, P, T>,
    relax: fn(State) -> State,
) -> Check<Sweep> {
    let Some(injector) = c.injector.as_ref() else {
        fail!("no fault injection");
    };
    let context = |e: Failure, n: u32| Failure(format!("{what}, fault point {n}: {}", e.0));
    let baseline = c.state()?;
    let mut sweep = Sweep::default();
    for n in 1..=MAX_POINTS {
        let mut prepared = (call.setup)().map_err(|e| context(e, n))?;
        let before = c.state()?;
        let shot = Shot::new(injector, n);
        let result = (call.call)(&shot, &mut prepared);
        let Some(injected) = shot.injected() else {
            fail!("{what}: the call was never made");
        };
        match result {
            Ok(out) => {
                (call.finish)(prepared, Some(out)).map_err(|e| context(e, n))?;
                settle(
                    &format!("{what}, fault point {n}, after success"),
                    &baseline,
                    || c.state(),
                )?;
                if !injected {
                    sweep.points = n - 1;
                    return Ok(sweep);
                }
                sweep.survived += 1;
            }
            Err(errno) => {
                ensure!(
                    injected,
                    "{what}: failed with {} with no failure injected (armed {n})",
                    errno_name(errno)
                );
                ensure!(
                    errno == Errno::NOMEM || allowed.contains(&errno),
                    "{what}: fault point {n} failed it with {}, neither ENOMEM nor documented",
                    errno_name(errno)
                );
                *sweep.errnos.entry(errno.raw_os_error()).or_default() += 1;
                settle(
                    &format!("{what}: fault point {n} ({}) left", errno_name(errno)),
                    &relax(before),
                    || c.state().map(relax),
                )?;
                (call.finish)(prepared, None).map_err(|e| context(e, n))?;
                settle(
                    &format!("{what}, fault point {n}, after cleaning up"),
                    &baseline,
                    || c.state(),
                )?;
                again(c, what, n, &mut call, &baseline)?;
            }
        }
    }
    fail!("{what}: still failing after {MAX_POINTS} fault points")
}

/// After a failure at point `n`: the same call without injection succeeds (and is undone),
/// and the device runs a job.
fn again<P, T>(c: &Ctx, what: &str, n: u32, call: &mut Call<'_, P, T>, baseline: &State) -> Check {
    let Some(injector) = c.injector.as_ref() else {
        fail!("no fault injection");
    };
    let mut prepared = (call.setup)()?;
    let shot = Shot::new(injector, 0);
    match (call.call)(&shot, &mut prepared) {
        Ok(out) => {
            (call.finish)(prepared, Some(out))?;
            settle(&format!("{what}, uninjected after {n}"), baseline, || {
                c.state()
            })?;
        }
        Err(errno) => fail!(
            "{what}: after fault point {n}, the call without injection failed with {}",
            errno_name(errno)
        ),
    }
    c.runs_a_job()
        .map_err(|e| Failure(format!("{what}: after fault point {n}: {}", e.0)))
}
