//! Calling a fallback whatever its shape: the protected function's parameters, optionally
//! followed by a `CallError` cause, returning the same type directly or through a future.
//! The marker parameter lets the compiler pick the one impl that fits the fallback.
//!
//! The macro calls `<_ as SyncFallback<Args, _, R, _>>::call(cause, args, fallback)` spanned
//! on the user's `fallback = path`, so a mismatch is one error there, worded by
//! `on_unimplemented`, with no note about a bound of some runtime function. The cause comes
//! first so that its type is known before the compiler picks an impl for the fallback (else it
//! would take the cause type from a fallback that has one parameter too many). Every impl is
//! `#[diagnostic::do_not_recommend]`: a mismatch is reported against the trait (expected and
//! found signatures), never against the `FnOnce` bound of one of the impls.

use core::future::{Future, Ready, ready};

/// Marker: the fallback takes no cause.
#[derive(Debug)]
pub struct NoCause;
/// Marker: the fallback takes the cause last.
#[derive(Debug)]
pub struct WithCause;
/// Marker: the fallback returns its value directly.
#[derive(Debug)]
pub struct Immediate;
/// Marker: the fallback is async.
#[derive(Debug)]
pub struct Deferred;

/// A fallback of an async protected function.
#[diagnostic::on_unimplemented(
    message = "fallback `{Self}` does not match the function it protects",
    label = "expected `fn{Args} -> {R}` (sync or async), or the same with a last parameter `{Cause}`",
    note = "a fallback takes the protected function's receiver and parameters, optionally the cause, and returns the same type",
    note = "a method's fallback written `f` or `Self::f` receives the receiver; written `Type::f` it does not"
)]
pub trait Fallback<Args, Cause, R, Marker> {
    /// The fallback's future (a ready one for a sync fallback).
    type Future: Future<Output = R>
    where
        Self: Sized;
    /// Calls the fallback.
    fn call(cause: Cause, args: Args, fallback: Self) -> Self::Future
    where
        Self: Sized;
}

/// A fallback of an async protected function that serves every lifetime of its signature: the
/// macro coerces the fallback to `&dyn for<'_0, ..> FallbackForAll<(ARGS), CallError<E>, R, _>`
/// on the user's path (a trait object, since a `Fallback`'s future type depends on the
/// lifetimes and cannot be named in one). Its impls are `Fallback`'s, one per marker, not one
/// impl over `Fallback`: the compiler then weighs them against the fallback for every lifetime
/// at once and reports a mismatch here, not as a borrow error after type checking. `'_0`, `'_1`, .. stand for the lifetimes the
/// signature leaves out, `'_a` for its lifetime parameter `'a`.
///
/// `Fallback` is its supertrait, so that the failed check implies the failed call: a fallback
/// of the wrong shape is one error (this one), not a second at the call.
#[diagnostic::on_unimplemented(
    message = "fallback `{Self}` does not match the function it protects",
    label = "expected `fn{Args} -> {R}` (sync or async), or the same with a last parameter `{Cause}`",
    note = "a fallback takes the protected function's receiver and parameters, optionally the cause, and returns the same type",
    note = "the lifetimes `'_0`, `'_1`, .. (left out in the signature) and `'_a` (for `'a`) stand for every lifetime a caller may pass: the fallback's result borrows from the same parameters as the protected function's, and a generic fallback cannot stand in for a borrowed parameter",
    note = "a method's fallback written `f` or `Self::f` receives the receiver; written `Type::f` it does not"
)]
pub trait FallbackForAll<Args, Cause, R, Marker>: Fallback<Args, Cause, R, Marker> {}

/// A fallback of a sync protected function.
#[diagnostic::on_unimplemented(
    message = "fallback `{Self}` does not match the function it protects",
    label = "expected `fn{Args} -> {R}`, or the same with a last parameter `{Cause}`",
    note = "a fallback takes the protected function's receiver and parameters, optionally the cause, and returns the same type; a sync function needs a sync fallback",
    note = "a method's fallback written `f` or `Self::f` receives the receiver; written `Type::f` it does not"
)]
pub trait SyncFallback<Args, Cause, R, Marker> {
    /// Calls the fallback.
    fn call(cause: Cause, args: Args, fallback: Self) -> R
    where
        Self: Sized;

    /// Calls the fallback through `&dyn for<'a, ..> SyncFallback<..>`: the macro's check that
    /// a fallback serves every lifetime of the protected signature is the coercion to that
    /// type, and the call goes through it, so a mismatch is one error.
    fn call_dyn(&self, cause: Cause, args: Args) -> R;
}

macro_rules! fallback_impls {
    ($($A:ident $a:ident),*) => {
        #[diagnostic::do_not_recommend]
        impl<Func, R, Cause, $($A),*> SyncFallback<($($A,)*), Cause, R, NoCause> for Func
        where
            Func: Fn($($A),*) -> R,
        {
            #[inline]
            fn call(_: Cause, ($($a,)*): ($($A,)*), fallback: Self) -> R {
                fallback($($a),*)
            }

            #[inline]
            fn call_dyn(&self, _: Cause, ($($a,)*): ($($A,)*)) -> R {
                self($($a),*)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<Func, R, Cause, $($A),*> SyncFallback<($($A,)*), Cause, R, WithCause> for Func
        where
            Func: Fn($($A,)* Cause) -> R,
        {
            #[inline]
            fn call(cause: Cause, ($($a,)*): ($($A,)*), fallback: Self) -> R {
                fallback($($a,)* cause)
            }

            #[inline]
            fn call_dyn(&self, cause: Cause, ($($a,)*): ($($A,)*)) -> R {
                self($($a,)* cause)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<Func, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (NoCause, Immediate)> for Func
        where
            Func: FnOnce($($A),*) -> R,
        {
            type Future = Ready<R>;
            #[inline]
            fn call(_: Cause, ($($a,)*): ($($A,)*), fallback: Self) -> Ready<R> {
                ready(fallback($($a),*))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<Func, R, Cause, $($A),*> FallbackForAll<($($A,)*), Cause, R, (NoCause, Immediate)> for Func where
            Func: FnOnce($($A),*) -> R
        {
        }

        #[diagnostic::do_not_recommend]
        impl<Func, R, Cause, $($A),*> FallbackForAll<($($A,)*), Cause, R, (WithCause, Immediate)> for Func where
            Func: FnOnce($($A,)* Cause) -> R
        {
        }

        #[diagnostic::do_not_recommend]
        impl<Func, Fut, R, Cause, $($A),*> FallbackForAll<($($A,)*), Cause, R, (NoCause, Deferred)> for Func
        where
            Func: FnOnce($($A),*) -> Fut,
            Fut: Future<Output = R>,
        {
        }

        #[diagnostic::do_not_recommend]
        impl<Func, Fut, R, Cause, $($A),*> FallbackForAll<($($A,)*), Cause, R, (WithCause, Deferred)> for Func
        where
            Func: FnOnce($($A,)* Cause) -> Fut,
            Fut: Future<Output = R>,
        {
        }

        #[diagnostic::do_not_recommend]
        impl<Func, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (WithCause, Immediate)> for Func
        where
            Func: FnOnce($($A,)* Cause) -> R,
        {
            type Future = Ready<R>;
            #[inline]
            fn call(cause: Cause, ($($a,)*): ($($A,)*), fallback: Self) -> Ready<R> {
                ready(fallback($($a,)* cause))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<Func, Fut, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (NoCause, Deferred)> for Func
        where
            Func: FnOnce($($A),*) -> Fut,
            Fut: Future<Output = R>,
        {
            type Future = Fut;
            #[inline]
            fn call(_: Cause, ($($a,)*): ($($A,)*), fallback: Self) -> Fut {
                fallback($($a),*)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<Func, Fut, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (WithCause, Deferred)> for Func
        where
            Func: FnOnce($($A,)* Cause) -> Fut,
            Fut: Future<Output = R>,
        {
            type Future = Fut;
            #[inline]
            fn call(cause: Cause, ($($a,)*): ($($A,)*), fallback: Self) -> Fut {
                fallback($($a,)* cause)
            }
        }
    };
}

fallback_impls!();
fallback_impls!(A0 a0);
fallback_impls!(A0 a0, A1 a1);
fallback_impls!(A0 a0, A1 a1, A2 a2);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);
fallback_impls!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9);
