//! Support for declarative fallbacks (`fallback = default`, `fallback_value = ..`,
//! `fallback = cache`, chains): the compile-time checks of what each strategy needs, each with
//! one message on the user's token, and the per-stage trace events.

use crate::CircuitBreaker;
use crate::fallback::{FallbackKind, Served, set_served};
use core::hash::Hash;
use std::time::Duration;

/// Marker: an empty response of a `Result` is `Ok(Default::default())`.
#[derive(Debug)]
pub struct OkDefault;
/// Marker: an empty response of another type is `Default::default()`.
#[derive(Debug)]
pub struct PlainDefault;

/// A return type with an "empty response" (`fallback = default`).
#[diagnostic::on_unimplemented(
    message = "`fallback = default` has no empty response of type `{Self}`",
    label = "the empty response is `Ok(Default::default())` for a `Result`, `Default::default()` otherwise",
    note = "implement or derive `Default` for the value type, or give a value with `fallback_value = ..`"
)]
pub trait EmptyResponse<Marker> {
    /// The empty response.
    fn empty() -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Default, E> EmptyResponse<OkDefault> for Result<T, E> {
    #[inline]
    fn empty() -> Self {
        Ok(T::default())
    }
}

#[diagnostic::do_not_recommend]
impl<R: Default> EmptyResponse<PlainDefault> for R {
    #[inline]
    fn empty() -> Self {
        R::default()
    }
}

/// An argument that can be part of the last-good cache's key: `Hash + Eq + Send + Sync +
/// 'static` once owned. The macro asks through [`KeyProbe`], so that an argument that cannot be
/// is one error, on it, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of the last-good cache's key",
    label = "`fallback = cache` keys its entries by this argument",
    note = "the key is an owned copy of every argument but the receiver (`&str` becomes `String`, `&[T]` `Vec<T>`): it must be `Hash + Eq + Send + Sync + 'static` once owned",
    note = "make the argument's type so, or leave `cache` out of this function's fallback"
)]
pub trait CacheKey {
    /// Asserts the bound where the macro calls it (on the argument).
    #[inline]
    fn assert_key(&self) {}
}

#[diagnostic::do_not_recommend]
impl<T: ?Sized + ToOwned> CacheKey for T where T::Owned: Hash + Eq + Send + Sync + 'static {}

/// Stands for one argument while the generated code takes its part of the key:
/// `(&KeyProbe(&arg)).cb_key()` is the owned copy ([`ViaKey`]) when the argument can be a key,
/// else a placeholder ([`NotAKey`], [`ViaNotKey`]) that satisfies every later bound, so that
/// the one error is `CacheKey::assert_key(&arg)`'s, on the argument, with no cascade after it.
#[derive(Debug)]
pub struct KeyProbe<'a, T: ?Sized>(pub &'a T);

/// Picked for an argument that can be a key (the impl on `KeyProbe`).
pub trait ViaKey {
    /// The owned copy.
    type Key;
    /// The argument's part of the key.
    fn cb_key(&self) -> Self::Key;
}

impl<T: ?Sized + ToOwned> ViaKey for KeyProbe<'_, T>
where
    T::Owned: Hash + Eq + Send + Sync + 'static,
{
    type Key = T::Owned;

    #[inline]
    fn cb_key(&self) -> T::Owned {
        self.0.to_owned()
    }
}

/// Stands in the key for an argument that cannot be one, in code that does not compile.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct NotAKey;

/// Picked for any other argument (the impl on `&KeyProbe`), in code that does not compile.
pub trait ViaNotKey {
    /// The placeholder.
    fn cb_key(&self) -> NotAKey;
}

impl<T: ?Sized> ViaNotKey for &KeyProbe<'_, T> {
    #[inline]
    fn cb_key(&self) -> NotAKey {
        NotAKey
    }
}

/// The function as written, for a chain stage's trace event.
pub type StageName = &'static str;

/// Records what answered the call, for [`crate::fallback::last_served`].
#[inline]
pub fn served(kind: FallbackKind, stage: usize, age: Option<Duration>) {
    set_served(Some(Served { kind, stage, age }));
}

/// Records that the call's own body answered.
#[inline]
pub fn not_served() {
    set_served(None);
}

/// A DEBUG event in the fallback's span for one stage of a chain (or a lone cache): which
/// stage, what it is, and what came of it (`hit`, `miss`, `stale`, `answered`, `failed`).
#[inline]
pub fn trace_stage(breaker: &CircuitBreaker, stage: usize, name: StageName, result: &'static str) {
    if tracing::enabled!(target: "cb_runtime", tracing::Level::DEBUG) {
        tracing::debug!(
            target: "cb_runtime",
            service_name = breaker.name().as_str(),
            stage,
            strategy = name,
            result,
            "fallback stage"
        );
    }
}
