// SPDX-License-Identifier: GPL-2.0-only

//! MSI-X vectors of a PCI function with hard-interrupt handlers on some of them, allocated and
//! freed as one object, without `unsafe` for the backend.
//!
//! `kernel::pci` allocates vectors and `kernel::irq` requests handlers, but a handler borrows
//! the vector allocation it came from (a self-referential driver struct) and its constructor is
//! `unsafe`; here one object owns both, in the right order.

use super::raw;
use kernel::{
    bindings,
    device::Bound,
    error::to_result,
    ffi::{c_int, c_void},
    irq::IrqReturn,
    pci,
    prelude::*,
};

/// What runs when one of the requested vectors fires: in hard-interrupt context.
pub trait MsixHandler: Send + Sync + 'static {
    /// Handles an interrupt on `vector` (the MSI-X table index).
    fn handle(&self, vector: u32) -> IrqReturn;
}

/// The cookie `request_irq()` gets for one vector: the handler and the vector index.
struct Cookie<T> {
    handler: *const T,
    vector: u32,
    irq: u32,
}

/// `count` MSI-X vectors of `pdev` and a handler requested on some of them.
///
/// # Invariants
///
/// - `pdev` has `count` MSI-X vectors allocated by us (`pci_alloc_irq_vectors()`), freed by our
///   drop, which the `'bound` lifetime places before the driver's unbind completes.
/// - `cookies` holds one entry per requested IRQ, each registered with `request_irq()` with a
///   pointer to that entry as its cookie; `cookies` is never resized after a request, so the
///   entries do not move, and every `handler` pointer is `handler`'s boxed value. Our drop frees
///   every IRQ before freeing either.
pub struct Msix<'bound, T: MsixHandler> {
    pdev: &'bound pci::Device<Bound>,
    handler: Pin<KBox<T>>,
    cookies: KVec<Cookie<T>>,
}

// SAFETY: `T` is `Send + Sync`; the raw pointers point into our own heap allocations.
unsafe impl<T: MsixHandler> Send for Msix<'_, T> {}
// SAFETY: As above; only `handler()` is reachable through `&self`.
unsafe impl<T: MsixHandler> Sync for Msix<'_, T> {}

/// The C trampoline: calls the handler of the cookie.
///
/// # Safety
///
/// `cookie` is a `Cookie<T>` of a live [`Msix`] (registered by [`Msix::new`]).
unsafe extern "C" fn msix_irq<T: MsixHandler>(
    _irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: By the function's requirement, and the type invariant of `Msix`: the cookie and
    // the handler stay valid until `free_irq()`, which waits for running invocations.
    let (handler, vector) = unsafe {
        let cookie = &*cookie.cast::<Cookie<T>>();
        (&*cookie.handler, cookie.vector)
    };
    bindings::irqreturn_t(handler.handle(vector) as u32)
}

impl<'bound, T: MsixHandler> Msix<'bound, T> {
    /// Allocates exactly `count` MSI-X vectors (MSI-X is then enabled) and requests `handler`
    /// on each vector in `used`, under `name`.
    ///
    /// Errors: `EINVAL` for a vector of `used` not below `count`, or the errors of
    /// `pci_alloc_irq_vectors()` and `request_irq()` (everything done so far is undone).
    pub fn new(
        pdev: &'bound pci::Device<Bound>,
        count: u32,
        used: &[u32],
        name: &'static CStr,
        handler: T,
    ) -> Result<Self> {
        if used.iter().any(|&v| v >= count) {
            return Err(EINVAL);
        }
        let handler = KBox::pin(handler, GFP_KERNEL)?;
        let mut cookies = KVec::with_capacity(used.len(), GFP_KERNEL)?;
        // SAFETY: `raw(pdev)` is a bound PCI device; the call validates its arguments.
        let got = unsafe {
            bindings::pci_alloc_irq_vectors(raw(pdev), count, count, bindings::PCI_IRQ_MSIX)
        };
        to_result(got)?;
        // INVARIANT: From here our drop frees the vectors; `cookies` is empty.
        let mut this = Self {
            pdev,
            handler,
            cookies: KVec::new(),
        };
        for &vector in used {
            // SAFETY: `raw(pdev)` has `count` vectors; `vector < count`.
            let irq = unsafe { bindings::pci_irq_vector(raw(pdev), vector) };
            to_result(irq)?;
            let handler: *const T = &*this.handler;
            cookies.push(
                Cookie {
                    handler,
                    vector,
                    irq: irq as u32,
                },
                GFP_KERNEL,
            )?;
        }
        // The buffer has its final length: the entries no longer move.
        this.cookies = cookies;
        for i in 0..this.cookies.len() {
            let cookie: *const Cookie<T> = &this.cookies[i];
            // SAFETY: `irq` is a vector of our allocation; `msix_irq::<T>` may be called with
            // `cookie` as soon as this returns, and it is valid: the entry does not move and
            // lives, like the handler, until our drop has freed this IRQ.
            let ret = unsafe {
                bindings::request_threaded_irq(
                    this.cookies[i].irq,
                    Some(msix_irq::<T>),
                    None,
                    0,
                    name.as_char_ptr(),
                    cookie.cast_mut().cast(),
                )
            };
            if ret != 0 {
                // Only the IRQs before `i` were requested: forget the rest before the drop.
                this.cookies.truncate(i);
                return Err(Error::from_errno(ret));
            }
        }
        Ok(this)
    }

    /// The handler.
    pub fn handler(&self) -> &T {
        &self.handler
    }
}

impl<T: MsixHandler> Drop for Msix<'_, T> {
    fn drop(&mut self) {
        for cookie in self.cookies.iter() {
            let ptr: *const Cookie<T> = cookie;
            // SAFETY: By the type invariant, `irq` was requested with this cookie; `free_irq()`
            // waits for a running handler, after which nothing uses the cookie or handler.
            unsafe { bindings::free_irq(cookie.irq, ptr.cast_mut().cast()) };
        }
        // SAFETY: By the type invariant the vectors are ours and no IRQ of them is requested now.
        unsafe { bindings::pci_free_irq_vectors(raw(self.pdev)) };
    }
}
