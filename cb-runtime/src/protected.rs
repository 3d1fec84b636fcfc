//! Types whose methods share struct-level breaker defaults: `#[derive(CircuitProtected)]`.

use crate::{CircuitBreaker, Snapshot, State, registry};
use std::sync::Arc;

/// Implemented by `#[derive(CircuitProtected)]`: the struct-level `#[circuit_breaker(..)]`
/// arguments become the defaults of every `#[circuit_breaker]` method of the type without a
/// `name` of its own, and a `#[circuit_breaker(key)]` field gives each instance its own breaker,
/// named `name/key`.
///
/// ```
/// use cb_runtime::{circuit_breaker, CircuitProtected, Rejected, State};
///
/// #[derive(CircuitProtected)]
/// #[circuit_breaker(name = "docs-webhook", consecutive_failures = 2)]
/// struct Webhook {
///     #[circuit_breaker(key)]
///     backend: String,
/// }
///
/// #[derive(Debug)]
/// struct SendError;
/// impl From<Rejected> for SendError {
///     fn from(_: Rejected) -> Self { SendError }
/// }
///
/// impl Webhook {
///     #[circuit_breaker]
///     fn send(&self, ok: bool) -> Result<(), SendError> {
///         if ok { Ok(()) } else { Err(SendError) }
///     }
/// }
///
/// let a = Webhook { backend: "billing".into() };
/// let b = Webhook { backend: "chat".into() };
/// let _ = a.send(false);
/// let _ = a.send(false);
/// assert_eq!(a.circuit_breaker_name(), "docs-webhook/billing");
/// assert_eq!(a.circuit_state(), State::Open);
/// assert_eq!(b.circuit_state(), State::Closed);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not derive `CircuitProtected`, so this `#[circuit_breaker]` has no breaker name",
    label = "no `name` for this breaker",
    note = "add `#[derive(CircuitProtected)]` and `#[circuit_breaker(name = \"...\")]` to the type, or give the method `#[circuit_breaker(name = \"...\")]`"
)]
pub trait CircuitProtected {
    #[doc(hidden)]
    const __CB_DEFAULTS: crate::__private::Defaults;

    #[doc(hidden)]
    fn __cb_key<'a>(&'a self, buf: &'a mut crate::__private::KeyBuf) -> Option<&'a [u8]>;

    /// The breaker of a method without its own `name`: the generated code calls
    /// `<Self as CircuitProtected>::__cb_breaker_of(self, &SITE)`, so a type without the derive
    /// is one error with this trait's message.
    #[doc(hidden)]
    #[inline]
    fn __cb_breaker_of(&self, site: &'static crate::__private::CallSite) -> crate::__private::BreakerHandle {
        site.breaker_of::<Self>(self)
    }

    /// The breaker of an associated function without its own `name` (no instance, no key).
    #[doc(hidden)]
    #[inline]
    fn __cb_breaker_for(site: &'static crate::__private::CallSite) -> crate::__private::BreakerHandle {
        site.breaker_for::<Self>()
    }

    /// The name of this instance's breaker: the struct-level `name`, or `name/key`.
    fn circuit_breaker_name(&self) -> String {
        let mut buf = crate::__private::KeyBuf::new();
        match self.__cb_key(&mut buf) {
            None => Self::__CB_DEFAULTS.name.to_owned(),
            Some(key) => format!("{}/{}", Self::__CB_DEFAULTS.name, String::from_utf8_lossy(key)),
        }
    }

    /// This instance's breaker (created with the struct-level configuration if no call has
    /// created it yet).
    fn circuit_breaker(&self) -> Arc<CircuitBreaker> {
        let name = self.circuit_breaker_name();
        match registry().get(&name) {
            Some(existing) => existing,
            None => registry().breaker_with_layers(&name, Self::__CB_DEFAULTS.settings, &[]),
        }
    }

    /// The state of this instance's breaker.
    fn circuit_state(&self) -> State {
        self.circuit_breaker().state()
    }

    /// The snapshot of this instance's breaker.
    fn circuit_snapshot(&self) -> Snapshot {
        self.circuit_breaker().snapshot()
    }
}
