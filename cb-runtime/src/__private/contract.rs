//! The type contract of a protected function, checked at compile time with messages that say
//! what to add.
//!
//! What a return type means is decided by the type system, never by how it is spelled, so an
//! alias (`type Fallible<T> = Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`) is a
//! `Result` like any other:
//! - `Result<T, E>`: `Err` is a failure (subject to `failure_if` / `ignore_if`); a rejection or
//!   timeout without a fallback becomes `Err(E::from(..))`.
//! - `Option<T>`: `None` is an answer ("nothing there"), not a failure, so it counts as a
//!   success; a rejection or timeout without a fallback returns `None`.
//! - Any other type: every return counts as a success; only rejections and timeouts are
//!   failures, and a fallback is required to answer them.
//!
//! The macro finds which of these applies with [`Probe`] (autoref specialisation: the
//! `ViaResult` impl on `Probe<R>` wins over the `ViaPlain` impl on `&Probe<R>` whenever
//! `R: ResultLike`), so the generated code is the same text for every return type. `Option`
//! is not `ResultLike` (it has no error to classify); [`CarriesRejection`] gives it `None`
//! for a rejection or timeout. A future the macro cannot see into (`ViaFuture`) or a stream
//! (`ViaStream`) gets a kind that fails [`NotAFuture`] or [`NotAStream`]: one error at the
//! return type, since protecting it would count building it, never its outcome.
//!
//! Every check is a trait method the generated code calls directly, at the user's token
//! (`<_ as NotAFuture<R>>::check(&kind)`, `<E as FromRejected>::from_rejected(..)`,
//! `<_ as Predicate<E>>::as_fn(&path)`), never a bound of a runtime function: an error then
//! carries no "required by a bound in `cb_runtime::__private::..`" note.

use crate::{CallError, Outcome, Rejected, Timeout};
use core::convert::Infallible;
use core::marker::PhantomData;

/// A return type whose errors are classified and reach the fallback: `Result`, under any name.
pub trait ResultLike {
    /// The value type.
    type Ok;
    /// The error type.
    type Err;
    /// The value, if this is one.
    fn ok_ref(&self) -> Option<&Self::Ok>;
    /// A value.
    fn from_ok(ok: Self::Ok) -> Self;
    /// An error.
    fn from_err(err: Self::Err) -> Self;
    /// The error, if this is one.
    fn as_err(&self) -> Option<&Self::Err>;
    /// Splits into the value and the error.
    fn into_err(self) -> Result<Self, Self::Err>
    where
        Self: Sized;
}

impl<T, E> ResultLike for Result<T, E> {
    type Ok = T;
    type Err = E;

    #[inline]
    fn ok_ref(&self) -> Option<&T> {
        self.as_ref().ok()
    }

    #[inline]
    fn from_ok(ok: T) -> Self {
        Ok(ok)
    }

    #[inline]
    fn from_err(err: E) -> Self {
        Err(err)
    }

    #[inline]
    fn as_err(&self) -> Option<&E> {
        self.as_ref().err()
    }

    #[inline]
    fn into_err(self) -> Result<Self, E> {
        match self {
            Err(e) => Err(e),
            ok => Ok(ok),
        }
    }
}

/// A return type whose errors `failure_if` / `ignore_if` can judge: `Result` under any name.
#[diagnostic::on_unimplemented(
    message = "`failure_if` and `ignore_if` classify errors, but `{Self}` is not a `Result`",
    label = "this function must return a `Result` (under any name) for this",
    note = "`Option` and other types have no error to classify: remove `failure_if` / `ignore_if`"
)]
pub trait HasErrors {
    /// The error type: the macro names `<R as HasErrors>::Err` at the `failure_if` /
    /// `ignore_if` path, so a return type that is not a `Result` is one error there.
    type Err;
}

// Not recommended: the error's note says what to do; a help listing `Result` would point
// into this file.
#[diagnostic::do_not_recommend]
impl<T, E> HasErrors for Result<T, E> {
    type Err = E;
}

/// The cause a sync fallback receives, read from the return type rather than its spelling:
/// `CallError<E>` for a `Result` under any name (`io::Result<T>`, an alias whose parameters come
/// in another order), `CallError<Infallible>` for an `Option`. The macro names
/// `<R as FallbackCause>::Cause` only for a return type spelt `..Result<..>` or `..Option<..>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is named like `Result` or `Option` but is neither, so `#[circuit_breaker]` cannot check this fallback against it",
    label = "the fallback of a function returning `{Self}`",
    note = "rename the return type (an alias such as `type Found<T> = ..`), or return a `Result` / `Option`"
)]
pub trait FallbackCause {
    /// `CallError<E>`, or `CallError<Infallible>` for an `Option`.
    type Cause;
}

#[diagnostic::do_not_recommend]
impl<T, E> FallbackCause for Result<T, E> {
    type Cause = CallError<E>;
}

#[diagnostic::do_not_recommend]
impl<T> FallbackCause for Option<T> {
    type Cause = CallError<Infallible>;
}

/// A return type that can carry a rejection or a timeout of the breaker: a `Result` carries
/// it in its error type, an `Option` as `None`.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` without a `fallback` needs a function returning `Result` or `Option`, found `{Self}`",
    label = "this return type cannot carry a rejection",
    note = "return `Result<_, E>` (under any name), or add `fallback = some_fn` returning `{Self}`"
)]
pub trait CarriesRejection {
    /// What holds the rejection: the error type of a `Result`, [`Absent`] for an `Option`.
    type Carrier;
    /// The return value holding `carrier`.
    fn wrap(carrier: Self::Carrier) -> Self;
}

// Not recommended (neither impl): the error's note says what to do; a list of the types
// that implement it would point into this file.
#[diagnostic::do_not_recommend]
impl<T, E> CarriesRejection for Result<T, E> {
    type Carrier = E;

    #[inline]
    fn wrap(carrier: E) -> Self {
        Err(carrier)
    }
}

#[diagnostic::do_not_recommend]
impl<T> CarriesRejection for Option<T> {
    type Carrier = Absent;

    #[inline]
    fn wrap(_: Absent) -> Self {
        None
    }
}

/// A rejection or timeout as `None`.
#[derive(Debug)]
pub struct Absent;

impl From<Rejected> for Absent {
    fn from(_: Rejected) -> Self {
        Absent
    }
}

impl From<Timeout> for Absent {
    fn from(_: Timeout) -> Self {
        Absent
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
    #[inline]
    fn from_rejected(r: Rejected) -> Self {
        E::from(r)
    }
}

/// An error type that can carry a rejection that `fallback = cache` had no answer for.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a rejection by the circuit breaker",
    label = "the breaker returns this error type when it rejects a call that `fallback = cache` has no fresh answer for",
    note = "a cache misses: add `impl From<cb_runtime::Rejected> for {Self}`, or end the fallback with a stage that always answers (`fallback = [cache, default]`)"
)]
pub trait FromRejectedOnMiss {
    /// Converts.
    fn from_rejected_on_miss(r: Rejected) -> Self;
}

impl<E: From<Rejected>> FromRejectedOnMiss for E {
    #[inline]
    fn from_rejected_on_miss(r: Rejected) -> Self {
        E::from(r)
    }
}

/// An error type that can carry a timeout that `fallback = cache` had no answer for.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a circuit-breaker timeout",
    label = "the breaker returns this error type when `timeout` elapses and `fallback = cache` has no fresh answer",
    note = "a cache misses: add `impl From<cb_runtime::Timeout> for {Self}`, or end the fallback with a stage that always answers (`fallback = [cache, default]`)"
)]
pub trait FromTimeoutOnMiss {
    /// Converts.
    fn from_timeout_on_miss(t: Timeout) -> Self;
}

impl<E: From<Timeout>> FromTimeoutOnMiss for E {
    #[inline]
    fn from_timeout_on_miss(t: Timeout) -> Self {
        E::from(t)
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
    #[inline]
    fn from_timeout(t: Timeout) -> Self {
        E::from(t)
    }
}

/// A `failure_if` / `ignore_if` function. The macro calls `<_ as Predicate<E>>::as_fn(&path)`
/// at the user's path, so a function of the wrong shape is one error there.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot classify errors of type `{E}`",
    label = "expected a function `fn(&{E}) -> bool`",
    note = "`failure_if` and `ignore_if` take a function from a reference to the error to `bool`"
)]
pub trait Predicate<E> {
    /// The function, for [`classify`].
    fn as_fn(&self) -> &PredicateFn<'_, E>;
}

#[diagnostic::do_not_recommend]
impl<E, F: Fn(&E) -> bool> Predicate<E> for F {
    #[inline]
    fn as_fn(&self) -> &PredicateFn<'_, E> {
        self
    }
}

/// A `failure_if` / `ignore_if` function, type-erased.
pub type PredicateFn<'a, E> = dyn Fn(&E) -> bool + 'a;

/// A `failure_if` / `ignore_if` as the generated code passes it: [`Predicate::as_fn`] of the
/// user's function, or [`NoPredicate`].
pub trait PredicateArg<E> {
    /// The function, if any.
    fn get(&self) -> Option<&PredicateFn<'_, E>>;
}

impl<E> PredicateArg<E> for &PredicateFn<'_, E> {
    #[inline]
    fn get(&self) -> Option<&PredicateFn<'_, E>> {
        Some(*self)
    }
}

/// No `failure_if` / `ignore_if`.
#[derive(Debug, Clone, Copy)]
pub struct NoPredicate;

impl<E> PredicateArg<E> for NoPredicate {
    #[inline]
    fn get(&self) -> Option<&PredicateFn<'_, E>> {
        None
    }
}

/// How a result counts: `Ok` succeeds; an error accepted by `ignore_if` counts nowhere (ignore
/// beats failure); an error rejected by `failure_if` counts as a success; others fail.
#[inline]
pub fn classify<R: ResultLike>(
    result: &R,
    failure_if: Option<&PredicateFn<'_, R::Err>>,
    ignore_if: Option<&PredicateFn<'_, R::Err>>,
) -> Outcome {
    match result.as_err() {
        None => Outcome::Success,
        Some(e) if ignore_if.is_some_and(|ignore| ignore(e)) => Outcome::Ignored,
        Some(e) if failure_if.is_some_and(|is_failure| !is_failure(e)) => Outcome::Success,
        Some(_) => Outcome::Failure,
    }
}

// ===== what a return type is =====

/// Stands for the return type `R` while the generated code asks what it is:
/// `(&Probe::<R>::NEW).cb_kind()` is a [`Classified`] when `R: ResultLike`, else an
/// [`Unclassified`].
pub struct Probe<R>(PhantomData<fn() -> R>);

impl<R> Probe<R> {
    /// The probe.
    pub const NEW: Self = Probe(PhantomData);
}

impl<R> core::fmt::Debug for Probe<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Probe")
    }
}

/// Picked for a `Result` return type (the more specific impl: on `Probe<R>`).
pub trait ViaResult {
    /// [`Classified`].
    type Kind;
    /// The kind of the probed type.
    fn cb_kind(&self) -> Self::Kind;
}

impl<R: ResultLike> ViaResult for Probe<R> {
    type Kind = Classified<R>;

    #[inline]
    fn cb_kind(&self) -> Classified<R> {
        Classified(PhantomData)
    }
}

/// Picked for any other return type (the impl on `&Probe<R>`, one autoref further).
pub trait ViaPlain {
    /// [`Unclassified`].
    type Kind;
    /// The kind of the probed type.
    fn cb_kind(&self) -> Self::Kind;
}

impl<R> ViaPlain for &Probe<R> {
    type Kind = Unclassified<R>;

    #[inline]
    fn cb_kind(&self) -> Unclassified<R> {
        Unclassified(PhantomData)
    }
}

/// Picked for a return type that is itself a future, under a name the macro cannot read as
/// one (`BoxFuture<'a, R>`, `JoinHandle<R>`): protecting it would count building the future,
/// never its outcome, so the call is refused at compile time ([`NotAFuture`]).
pub trait ViaFuture {
    /// [`UnreadableFuture`].
    type Kind;
    /// The kind of the probed type.
    fn cb_kind(&self) -> Self::Kind;
}

impl<R: core::future::Future> ViaFuture for Probe<R> {
    type Kind = UnreadableFuture<R>;

    #[inline]
    fn cb_kind(&self) -> Self::Kind {
        UnreadableFuture(PhantomData)
    }
}

/// Picked for a return type that is a stream (`Pin<Box<dyn Stream<..>>>`, `BoxStream<'a, T>`,
/// `tonic::Streaming<T>`): protecting it would count opening the stream, never its items, so
/// the call is refused at compile time ([`NotAStream`]).
pub trait ViaStream {
    /// [`UnreadableStream`].
    type Kind;
    /// The kind of the probed type.
    fn cb_kind(&self) -> Self::Kind;
}

impl<R: futures_core::Stream> ViaStream for Probe<R> {
    type Kind = UnreadableStream<R>;

    #[inline]
    fn cb_kind(&self) -> Self::Kind {
        UnreadableStream(PhantomData)
    }
}

/// The kind of a return type that is a future the macro cannot see into: it has the methods
/// of [`Unclassified`], so that the one error is the [`NotAFuture`] check, not a cascade.
pub struct UnreadableFuture<R>(PhantomData<fn() -> R>);

/// The kind of a return type that is a stream: it has the methods of [`Unclassified`], so
/// that the one error is the [`NotAStream`] check, not a cascade.
pub struct UnreadableStream<R>(PhantomData<fn() -> R>);

/// The kind of a return type the breaker can protect: not a future under a name the macro
/// does not read. The macro calls `<_ as NotAFuture<R>>::check(&kind)` at the return type, so
/// a future is one error there.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` cannot see into the future `{R}`: it would protect building the future, not running it, so its errors would never count",
    label = "a future under a name the macro does not read",
    note = "write an `async fn`, or spell the return type `impl Future<Output = R>` or `Pin<Box<dyn Future<Output = R> + ..>>`"
)]
pub trait NotAFuture<R> {
    /// Nothing: the bound is the check.
    #[inline]
    fn check(&self) {}
}

/// The kind of a return type the breaker can protect: not a stream. The macro calls
/// `<_ as NotAStream<R>>::check(&kind)` at the return type, so a stream is one error there.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` cannot protect the stream `{R}`: it would count opening the stream, never its items",
    label = "a stream: its items arrive after the function returns",
    note = "protect every item instead: build the stream with `Arc<CircuitBreaker>::protect_stream` (feature `stream`), e.g. `registry().breaker(\"feed\", &config).protect_stream(stream)`",
    note = "to protect opening the stream, return `Result<S, E>` where opening can fail"
)]
pub trait NotAStream<R> {
    /// Nothing: the bound is the check.
    #[inline]
    fn check(&self) {}
}

#[diagnostic::do_not_recommend]
impl<R> NotAFuture<R> for Classified<R> {}
#[diagnostic::do_not_recommend]
impl<R> NotAFuture<R> for Unclassified<R> {}
#[diagnostic::do_not_recommend]
impl<R> NotAFuture<R> for UnreadableStream<R> {}
#[diagnostic::do_not_recommend]
impl<R> NotAStream<R> for Classified<R> {}
#[diagnostic::do_not_recommend]
impl<R> NotAStream<R> for Unclassified<R> {}
#[diagnostic::do_not_recommend]
impl<R> NotAStream<R> for UnreadableFuture<R> {}

/// A `Result` return type: its errors are classified and reach the fallback.
pub struct Classified<R>(PhantomData<fn() -> R>);

/// Any other return type (`Option` included): every return is a success; the fallback serves
/// rejections and timeouts only.
pub struct Unclassified<R>(PhantomData<fn() -> R>);

macro_rules! tag_traits {
    ($($tag:ident)*) => {$(
        impl<R> Clone for $tag<R> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<R> Copy for $tag<R> {}
        impl<R> core::fmt::Debug for $tag<R> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(stringify!($tag))
            }
        }
    )*};
}
tag_traits!(Classified Unclassified UnreadableFuture UnreadableStream);

impl<R: ResultLike> Classified<R> {
    /// How `result` counts, see [`classify`].
    #[inline]
    pub fn classify<F: PredicateArg<R::Err>, I: PredicateArg<R::Err>>(
        self,
        result: &R,
        failure_if: F,
        ignore_if: I,
    ) -> Outcome {
        classify(result, failure_if.get(), ignore_if.get())
    }

    /// The value, or the error the fallback receives.
    #[inline]
    pub fn split(self, value: R) -> Result<R, R::Err> {
        value.into_err()
    }

    /// The fallback's cause for a rejection.
    #[inline]
    pub fn rejected(self, r: Rejected) -> CallError<R::Err> {
        CallError::Rejected(r)
    }

    /// The fallback's cause for a timeout.
    #[inline]
    pub fn timed_out(self, t: Timeout) -> CallError<R::Err> {
        CallError::Timeout(t)
    }

    /// What the last-good cache keeps of a result: its `Ok` value.
    #[inline]
    pub fn ok_ref(self, value: &R) -> Option<&R::Ok> {
        value.ok_ref()
    }

    /// A value from the last-good cache as the return value.
    #[inline]
    pub fn answer(self, ok: R::Ok) -> R {
        R::from_ok(ok)
    }

    /// An error no fallback stage answered, as the return value.
    #[inline]
    pub fn failed(self, err: R::Err) -> R {
        R::from_err(err)
    }
}

macro_rules! unclassified {
    ($($tag:ident)*) => {$(
impl<R> $tag<R> {
    /// Every return is a success. A `Result` gets here only through a type parameter of the
    /// impl or trait around the function, which the macro cannot see: that is reported
    /// ([`crate::observe::uncounted_results`]), not counted silently.
    #[inline]
    pub fn classify<F, I>(self, _: &R, _: F, _: I) -> Outcome {
        let name = core::any::type_name::<R>();
        if name.starts_with("core::result::Result<") {
            crate::observe::result_counted_as_success(name);
        }
        Outcome::Success
    }

    /// Never an error.
    #[inline]
    pub fn split(self, value: R) -> Result<R, Infallible> {
        Ok(value)
    }

    /// The fallback's cause for a rejection.
    #[inline]
    pub fn rejected(self, r: Rejected) -> CallError<Infallible> {
        CallError::Rejected(r)
    }

    /// The fallback's cause for a timeout.
    #[inline]
    pub fn timed_out(self, t: Timeout) -> CallError<Infallible> {
        CallError::Timeout(t)
    }

    /// What the last-good cache keeps of a return value: all of it.
    #[inline]
    pub fn ok_ref(self, value: &R) -> Option<&R> {
        Some(value)
    }

    /// A value from the last-good cache as the return value.
    #[inline]
    pub fn answer(self, ok: R) -> R {
        ok
    }

    /// Never called: this kind has no errors.
    #[inline]
    pub fn failed(self, err: Infallible) -> R {
        match err {}
    }
}
    )*};
}
unclassified!(Unclassified UnreadableFuture UnreadableStream);

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

// One error with the trait's own message, not one per unmet bound of this impl.
#[diagnostic::do_not_recommend]
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
        let none = None::<&PredicateFn<'_, u16>>;
        assert_eq!(c(Ok(())), Outcome::Success);
        assert_eq!(c(Err(503)), Outcome::Failure);
        assert_eq!(c(Err(400)), Outcome::Success);
        assert_eq!(c(Err(404)), Outcome::Ignored);
        assert_eq!(classify(&Err::<(), u16>(400), none, none), Outcome::Failure);
    }

    type Fallible<T> = Result<T, u16>;

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow is what picks `ViaPlain` for other types
    fn the_type_decides_not_its_spelling() {
        let kind = (&Probe::<Fallible<u8>>::NEW).cb_kind();
        assert_eq!(kind.classify(&Err(500), NoPredicate, NoPredicate), Outcome::Failure);
        assert_eq!(kind.split(Err(7)).unwrap_err(), 7);
        let kind = (&Probe::<std::io::Result<u8>>::NEW).cb_kind();
        assert_eq!(
            kind.classify(&Err(std::io::ErrorKind::Other.into()), NoPredicate, NoPredicate),
            Outcome::Failure
        );
        let kind = (&Probe::<Option<u8>>::NEW).cb_kind();
        assert_eq!(kind.classify(&None, NoPredicate, NoPredicate), Outcome::Success);
        let kind = (&Probe::<u8>::NEW).cb_kind();
        assert_eq!(kind.classify(&3, NoPredicate, NoPredicate), Outcome::Success);
        let rejected = Rejected {
            name: "t".into(),
            state: crate::State::Open,
            retry_after: None,
        };
        assert_eq!(
            <Option<u8> as CarriesRejection>::wrap(FromRejected::from_rejected(rejected)),
            None
        );
    }
}
