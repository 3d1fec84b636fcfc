//! Support for the code `cb-macros` generates.
//!
//! /!\ WARNING: This is *not* a stable API! /!\
//! It is versioned together with `cb-macros` (which cb-runtime pins exactly); nothing outside
//! generated code may name it.

mod contract;
mod fallback;
mod in_span;
#[cfg(feature = "queue")]
pub mod queue;
mod run;
mod site;
mod span;
mod strategy;
mod watched;

pub use contract::{
    Absent, CarriesRejection, Classified, FallbackArg, FallbackCause, FromRejected, FromRejectedOnMiss, FromTimeout,
    FromTimeoutOnMiss, HasErrors, NoPredicate, NotAFuture, NotAStream, Predicate, PredicateArg, PredicateFn, Probe,
    ResultLike, Unclassified, UnreadableFuture, UnreadableStream, ViaFuture, ViaPlain, ViaResult, ViaStream, classify,
};
pub use fallback::{Deferred, Fallback, FallbackForAll, Immediate, NoCause, SyncFallback, WithCause};
pub use in_span::{InSpan, Instrument};
pub use run::{Ran, Running, run_async, run_async_with_timeout, run_sync, typed};
pub use site::{
    BreakerHandle, BreakerKey, Cached, CallSite, Defaults, DisplayKey, IntegerKey, IntegerProbe, KeyBuf, Looked, Taken,
    caps_the_wait, is_family_name,
};
#[cfg(feature = "tower")]
pub(crate) use span::outcome_name;
pub use span::{
    CallSpan, FallbackReason, acquire_in, call_span, fallback_span, primary_span, quick_permit, record_outcome,
    record_rejected, serve_fallback, serve_fallback_async, tracing_on,
};
pub use strategy::{
    CacheKey, EmptyResponse, KeyProbe, NotAKey, OkDefault, PlainDefault, StageName, ViaKey, ViaNotKey, not_served,
    served, trace_stage,
};
pub use tracing::Span;
pub use watched::{Watched, watch};

pub use crate::config::Toggle;
pub use crate::fallback::FallbackKind;
#[cfg(feature = "fallback-cache")]
pub use crate::fallback::cache::{CacheValue, LastGood, Lookup};
pub use crate::{CallError, CircuitBreaker, CircuitProtected, Outcome, Preset, Setting, Window};
pub use core::convert::Infallible;
pub use core::option::Option::{self, None, Some};
pub use core::result::Result::{Err, Ok};
pub use core::time::Duration;
