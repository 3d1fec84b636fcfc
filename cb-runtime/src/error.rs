//! What a protected call returns when the breaker, not the callee, decided the outcome.

use crate::State;
use std::fmt;
use std::time::Duration;

/// The breaker refused the call without running it.
///
/// ```
/// use cb_runtime::{Rejected, State};
///
/// let r = Rejected { name: "sentinel".into(), state: State::Open, retry_after: None };
/// assert_eq!(r.to_string(), "circuit breaker `sentinel` is open");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The breaker's name.
    pub name: crate::Name,
    /// The state that rejected the call: open, half-open (no probe slot free) or forced open.
    pub state: State,
    /// When the breaker will let a probe through, if known: `None` in half-open and forced
    /// open, while another fleet instance holds the probe, and in the moment between a
    /// transition to Open and the writing of its deadline.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "circuit breaker `{}` is {}", self.name, self.state)
    }
}

impl std::error::Error for Rejected {}

/// Lets `std::io::Result` functions be protected without a fallback.
impl From<Rejected> for std::io::Error {
    fn from(r: Rejected) -> Self {
        std::io::Error::other(r)
    }
}

/// The call ran longer than its configured timeout and was abandoned.
///
/// ```
/// use cb_runtime::Timeout;
/// use std::time::Duration;
///
/// let t = Timeout { name: "ml-eta".into(), after: Duration::from_millis(150) };
/// assert_eq!(t.to_string(), "call through circuit breaker `ml-eta` timed out after 150ms");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeout {
    /// The breaker's name.
    pub name: crate::Name,
    /// The timeout that elapsed.
    pub after: Duration,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "call through circuit breaker `{}` timed out after {:?}",
            self.name, self.after
        )
    }
}

impl std::error::Error for Timeout {}

/// A timeout as an `io::Error` of kind `TimedOut`.
impl From<Timeout> for std::io::Error {
    fn from(t: Timeout) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, t)
    }
}

/// Why a protected call did not produce the callee's value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The breaker refused the call.
    Rejected(Rejected),
    /// The call timed out.
    Timeout(Timeout),
    /// The callee returned this error (recorded as a failure unless classified otherwise).
    Inner(E),
}

impl<E> CallError<E> {
    /// The callee's error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the breaker refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }

    /// Converts into the callee's error type, which must be able to represent rejections and
    /// timeouts.
    pub fn flatten(self) -> E
    where
        E: From<Rejected> + From<Timeout>,
    {
        match self {
            CallError::Rejected(r) => r.into(),
            CallError::Timeout(t) => t.into(),
            CallError::Inner(e) => e,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Timeout(t) => t.fmt(f),
            CallError::Inner(e) => e.fmt(f),
        }
    }
}

/// Every `CallError` is an error, whatever the callee's error type, as long as it can be shown:
/// also `CallError<tower::BoxError>` (a breaker stacked over tower's `Timeout`, `Buffer` or
/// `LoadShed`), so a `CallError` always converts into a `BoxError` or `anyhow::Error` and can
/// be downcast back (`err.downcast_ref::<CallError<E>>()`). It has no `source`: its message
/// already is the callee's (or the rejection's, or the timeout's), so a report prints it once;
/// match [`CallError::Inner`] to walk the callee's own chain. (A bound `E: Error` would give a
/// source, but rules out `Box<dyn Error + Send + Sync>`, which is not an `Error` itself.)
///
/// ```
/// use cb_runtime::{CallError, Rejected, State};
///
/// type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// let rejected: CallError<BoxError> =
///     CallError::Rejected(Rejected { name: "search".into(), state: State::Open, retry_after: None });
/// let boxed: BoxError = rejected.into();
/// assert!(boxed.downcast_ref::<CallError<BoxError>>().is_some_and(CallError::is_rejected));
/// ```
impl<E: fmt::Debug + fmt::Display> std::error::Error for CallError<E> {}

impl<E> From<Rejected> for CallError<E> {
    fn from(r: Rejected) -> Self {
        CallError::Rejected(r)
    }
}

impl<E> From<Timeout> for CallError<E> {
    fn from(t: Timeout) -> Self {
        CallError::Timeout(t)
    }
}
