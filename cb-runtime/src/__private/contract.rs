//! The type contract of a protected function, checked at compile time with messages that say
//! what to add.

use crate::{Outcome, Rejected, Timeout};

/// A `Result`-shaped return type: what classification and `From` conversions work on.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` without a `fallback` needs a function returning `Result`, found `{Self}`",
    label = "this return type cannot carry a rejection",
    note = "return `Result<_, E>`, or add `fallback = some_fn` returning `{Self}`"
)]
pub trait ResultLike {
    /// The error type.
    type Err;
    /// The error, if this is one.
    fn as_err(&self) -> Option<&Self::Err>;
    /// Wraps an error.
    fn from_err(err: Self::Err) -> Self;
    /// Splits into the value and the error.
    fn into_err(self) -> Result<Self, Self::Err>
    where
        Self: Sized;
}

impl<T, E> ResultLike for Result<T, E> {
    type Err = E;

    fn as_err(&self) -> Option<&E> {
        self.as_ref().err()
    }

    fn from_err(err: E) -> Self {
        Err(err)
    }

    fn into_err(self) -> Result<Self, E> {
        match self {
            Err(e) => Err(e),
            ok => Ok(ok),
        }
    }
}

/// An error type that can carry a rejection.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a rejection by the circuit breaker",
    label = "the breaker returns this error type when it rejects a call",
    note = "add `impl From<cb_runtime::Rejected> for {Self}`, or give the breaker a `fallback`"
)]
pub trait FromRejected {
    /// Converts.
    fn from_rejected(r: Rejected) -> Self;
}

impl<E: From<Rejected>> FromRejected for E {
    fn from_rejected(r: Rejected) -> Self {
        E::from(r)
    }
}

/// An error type that can carry a timeout.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a circuit-breaker timeout",
    label = "the breaker returns this error type when `timeout` elapses",
    note = "add `impl From<cb_runtime::Timeout> for {Self}`, or give the breaker a `fallback`"
)]
pub trait FromTimeout {
    /// Converts.
    fn from_timeout(t: Timeout) -> Self;
}

impl<E: From<Timeout>> FromTimeout for E {
    fn from_timeout(t: Timeout) -> Self {
        E::from(t)
    }
}

/// A rejection as the protected function's return value.
pub fn reject_into<R: ResultLike>(r: Rejected) -> R
where
    R::Err: FromRejected,
{
    R::from_err(<R::Err as FromRejected>::from_rejected(r))
}

/// A timeout as the protected function's return value.
pub fn timeout_into<R: ResultLike>(t: Timeout) -> R
where
    R::Err: FromTimeout,
{
    R::from_err(<R::Err as FromTimeout>::from_timeout(t))
}

/// A `failure_if` / `ignore_if` function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot classify errors of type `{E}`",
    label = "expected a function `fn(&{E}) -> bool`",
    note = "`failure_if` and `ignore_if` take a function from a reference to the error to `bool`"
)]
pub trait Predicate<E> {
    /// Whether `error` matches.
    fn test(&self, error: &E) -> bool;
}

impl<E, F: Fn(&E) -> bool> Predicate<E> for F {
    #[inline]
    fn test(&self, error: &E) -> bool {
        self(error)
    }
}

/// The absent predicate.
#[derive(Debug)]
pub enum NoPredicate {}

impl<E> Predicate<E> for NoPredicate {
    fn test(&self, _: &E) -> bool {
        match *self {}
    }
}

/// How a result counts: `Ok` succeeds; an error accepted by `ignore_if` counts nowhere (ignore
/// beats failure); an error rejected by `failure_if` counts as a success; others fail.
#[inline]
pub fn classify<R: ResultLike, F: Predicate<R::Err>, I: Predicate<R::Err>>(
    result: &R,
    failure_if: Option<&F>,
    ignore_if: Option<&I>,
) -> Outcome {
    match result.as_err() {
        None => Outcome::Success,
        Some(e) if ignore_if.is_some_and(|ignore| ignore.test(e)) => Outcome::Ignored,
        Some(e) if failure_if.is_some_and(|is_failure| !is_failure.test(e)) => Outcome::Success,
        Some(_) => Outcome::Failure,
    }
}

/// A parameter the fallback needs again after a failed call.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Clone`, but the fallback needs this parameter again after a failed call",
    label = "passed to the fallback after the protected call consumed it",
    note = "make it `Clone`, or narrow the fallback to rejections with `fallback_on = \"rejected\"`"
)]
pub trait FallbackArg: Sized {
    /// A copy for the fallback.
    fn clone_for_fallback(&self) -> Self;
}

impl<T: Clone> FallbackArg for T {
    #[inline]
    fn clone_for_fallback(&self) -> Self {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient(e: &u16) -> bool {
        *e >= 500
    }

    fn not_found(e: &u16) -> bool {
        *e == 404
    }

    #[test]
    fn ignore_beats_failure_and_failure_if_rejects_errors() {
        let c = |r: Result<(), u16>| classify(&r, Some(&transient), Some(&not_found));
        assert_eq!(c(Ok(())), Outcome::Success);
        assert_eq!(c(Err(503)), Outcome::Failure);
        assert_eq!(c(Err(400)), Outcome::Success);
        assert_eq!(c(Err(404)), Outcome::Ignored);
        assert_eq!(
            classify::<_, NoPredicate, NoPredicate>(&Err::<(), u16>(400), None, None),
            Outcome::Failure
        );
    }
}
