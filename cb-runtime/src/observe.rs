//! How protected calls appear in traces: the span names and attribute keys, and the field of
//! the caller's span that receives the breaker's state. Set once at startup, before the first
//! call; calls started afterwards follow.
//!
//! | [`SpanNames::Classic`] (default) | [`SpanNames::OpenTelemetry`] |
//! |---|---|
//! | `circuit_breaker_call` (whole call) | `circuit_breaker_check` |
//! | `primary` (the call, Closed) | `primary_request` |
//! | `probe` (the call, HalfOpen) | `probe_attempt` |
//! | `fallback`, field `type` (function, static, empty, cache, chain, queue) | `fallback_execution`, field `circuit_breaker.fallback.type` |
//! | fields `breaker`, `state`, `outcome`, `fallback` | `circuit_breaker.name`, `circuit_breaker.state`, `circuit_breaker.outcome`, `circuit_breaker.fallback`, and OpenTelemetry's `error.type` (`failure`, `timeout`, `rejected`) and `otel.status_code` (`ERROR` on failure or timeout) |
//!
//! ```
//! use cb_runtime::observe::{self, SpanNames};
//!
//! observe::set_span_names(SpanNames::OpenTelemetry);
//! assert_eq!(observe::span_names(), SpanNames::OpenTelemetry);
//! # observe::set_span_names(SpanNames::Classic);
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// The names of a protected call's spans and their fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SpanNames {
    /// `circuit_breaker_call` with `primary`, `probe` and `fallback` children; fields
    /// `breaker`, `state`, `outcome`, `fallback`.
    #[default]
    Classic,
    /// The names OpenTelemetry specifications of circuit breakers use: `circuit_breaker_check`
    /// with `primary_request`, `probe_attempt` and `fallback_execution` children; fields
    /// `circuit_breaker.*` plus the semantic conventions' `error.type` and `otel.status_code`
    /// (which `tracing-opentelemetry` turns into the span's status).
    OpenTelemetry,
}

static NAMES: AtomicU8 = AtomicU8::new(0);
static CALLER_FIELD: OnceLock<Option<&'static str>> = OnceLock::new();

/// The field of the caller's span that receives the breaker's state by default.
pub const CALLER_STATE_FIELD: &str = "circuit_breaker.state";

/// Names the spans of calls started from now on.
pub fn set_span_names(names: SpanNames) {
    NAMES.store(names as u8, Ordering::Relaxed);
}

/// The span names in force.
#[inline]
pub fn span_names() -> SpanNames {
    match NAMES.load(Ordering::Relaxed) {
        0 => SpanNames::Classic,
        _ => SpanNames::OpenTelemetry,
    }
}

/// The field of the caller's current span that receives the state of each breaker it calls
/// through (`closed`, `open`, `half_open`, ...), as the breaker decides the call; `None` turns
/// this off. Default: [`CALLER_STATE_FIELD`]. `tracing` records only fields a span declares,
/// so the caller's span declares it, empty:
///
/// ```
/// let span = tracing::info_span!("inference", circuit_breaker.state = tracing::field::Empty);
/// # let _ = span;
/// ```
///
/// Recorded only while per-call spans are on (a subscriber takes `cb_runtime` at DEBUG). Can
/// be set once, before the first traced call; returns `false` if it was already in force, or if
/// `field` is an empty name (refused, with a line on stderr: no span can declare it). A caller's
/// span that does not declare the field gets nothing recorded, and the first one is reported
/// on stderr and as a `WARN` event naming the span ([`undeclared_caller_spans`] counts them).
pub fn set_caller_state_field(field: Option<&'static str>) -> bool {
    if field.is_some_and(|f| f.trim().is_empty()) {
        eprintln!("cb: set_caller_state_field(Some({field:?})) refused: a field needs a name");
        return false;
    }
    CALLER_FIELD.set(field).is_ok()
}

static UNDECLARED: AtomicU64 = AtomicU64::new(0);

/// How many traced calls found a caller's span that does not declare the caller state field
/// (their state was not recorded; see [`set_caller_state_field`]).
pub fn undeclared_caller_spans() -> u64 {
    UNDECLARED.load(Ordering::Relaxed)
}

static UNCOUNTED: AtomicU64 = AtomicU64::new(0);

/// How many protected calls returned a `Result` through a return type the macro could not read
/// as one: a type parameter of the impl or trait around the function (`fn get(&self) -> R` in
/// `impl<R> Cache<R>`, used with `R = Result<..>`). Such a call's `Err` counted as a success
/// and did not reach the fallback; the first is reported on stderr and as a `WARN` event.
/// Spell the return type `Result<T, E>` in the function to have its errors counted.
pub fn uncounted_results() -> u64 {
    UNCOUNTED.load(Ordering::Relaxed)
}

/// Notes a call whose return type `type_name` is a `Result` that was classified as a plain
/// value: counted, and reported once.
#[cold]
pub(crate) fn result_counted_as_success(type_name: &str) {
    if UNCOUNTED.fetch_add(1, Ordering::Relaxed) == 0 {
        eprintln!(
            "cb: a #[circuit_breaker] function returned `{type_name}` through a generic return type (a type parameter of its impl or trait): its Err counted as a success and skipped the fallback; spell the return type `Result<T, E>` in the function (observe::uncounted_results counts these calls)"
        );
        tracing::warn!(target: "cb_runtime", return_type = type_name, "Result returned through a generic return type: errors not counted");
    }
}

/// Notes a caller's span `span_name` without the field `field`: counted, and reported once.
pub(crate) fn caller_field_undeclared(span_name: &str, field: &str) {
    if UNDECLARED.fetch_add(1, Ordering::Relaxed) == 0 {
        eprintln!(
            "cb: the caller's span `{span_name}` does not declare `{field}`: the breaker state is not recorded on it (declare `{field} = tracing::field::Empty`, or turn this off with observe::set_caller_state_field(None))"
        );
        tracing::warn!(target: "cb_runtime", span = span_name, field, "caller span does not declare the breaker state field");
    }
}

/// The caller's span field in force.
#[inline]
pub(crate) fn caller_state_field() -> Option<&'static str> {
    *CALLER_FIELD.get_or_init(|| Some(CALLER_STATE_FIELD))
}
