//! Calling a fallback whatever its shape: the protected function's parameters, optionally
//! followed by a `CallError` cause, returning the same type directly or through a future.
//! The marker parameter lets the compiler pick the one impl that fits the fallback.

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
    label = "expected a function taking `{Args}`, optionally followed by a cause `{Cause}`, and returning `{R}` (sync or async)",
    note = "a fallback takes the protected function's receiver and parameters, optionally the cause, and returns the same type",
    note = "a method's fallback written `f` or `Self::f` receives the receiver; written `Type::f` it does not"
)]
pub trait Fallback<Args, Cause, R, Marker> {
    /// The fallback's future (a ready one for a sync fallback).
    type Future: Future<Output = R>;
    /// Calls the fallback.
    fn call(self, args: Args, cause: Cause) -> Self::Future;
}

/// A fallback of a sync protected function.
#[diagnostic::on_unimplemented(
    message = "fallback `{Self}` does not match the function it protects",
    label = "expected a sync function taking `{Args}`, optionally followed by a cause `{Cause}`, and returning `{R}`",
    note = "a fallback takes the protected function's receiver and parameters, optionally the cause, and returns the same type; a sync function needs a sync fallback",
    note = "a method's fallback written `f` or `Self::f` receives the receiver; written `Type::f` it does not"
)]
pub trait SyncFallback<Args, Cause, R, Marker> {
    /// Calls the fallback.
    fn call(self, args: Args, cause: Cause) -> R;
}

macro_rules! fallback_impls {
    ($($A:ident $a:ident),*) => {
        impl<Func, R, Cause, $($A),*> SyncFallback<($($A,)*), Cause, R, NoCause> for Func
        where
            Func: FnOnce($($A),*) -> R,
        {
            #[inline]
            fn call(self, ($($a,)*): ($($A,)*), _: Cause) -> R {
                self($($a),*)
            }
        }

        impl<Func, R, Cause, $($A),*> SyncFallback<($($A,)*), Cause, R, WithCause> for Func
        where
            Func: FnOnce($($A,)* Cause) -> R,
        {
            #[inline]
            fn call(self, ($($a,)*): ($($A,)*), cause: Cause) -> R {
                self($($a,)* cause)
            }
        }

        impl<Func, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (NoCause, Immediate)> for Func
        where
            Func: FnOnce($($A),*) -> R,
        {
            type Future = Ready<R>;
            #[inline]
            fn call(self, ($($a,)*): ($($A,)*), _: Cause) -> Ready<R> {
                ready(self($($a),*))
            }
        }

        impl<Func, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (WithCause, Immediate)> for Func
        where
            Func: FnOnce($($A,)* Cause) -> R,
        {
            type Future = Ready<R>;
            #[inline]
            fn call(self, ($($a,)*): ($($A,)*), cause: Cause) -> Ready<R> {
                ready(self($($a,)* cause))
            }
        }

        impl<Func, Fut, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (NoCause, Deferred)> for Func
        where
            Func: FnOnce($($A),*) -> Fut,
            Fut: Future<Output = R>,
        {
            type Future = Fut;
            #[inline]
            fn call(self, ($($a,)*): ($($A,)*), _: Cause) -> Fut {
                self($($a),*)
            }
        }

        impl<Func, Fut, R, Cause, $($A),*> Fallback<($($A,)*), Cause, R, (WithCause, Deferred)> for Func
        where
            Func: FnOnce($($A,)* Cause) -> Fut,
            Fut: Future<Output = R>,
        {
            type Future = Fut;
            #[inline]
            fn call(self, ($($a,)*): ($($A,)*), cause: Cause) -> Fut {
                self($($a,)* cause)
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
