//! The tracing spans of a protected call, named as [`observe::span_names`] says: the call
//! (`circuit_breaker_call` / `circuit_breaker_check`: breaker, state at entry, outcome,
//! fallback) with children for the call itself (`primary` / `primary_request`, `probe` /
//! `probe_attempt` in half-open) and the fallback (`fallback` / `fallback_execution`), all at
//! DEBUG level: a service whose subscriber runs at INFO pays one level check per call for them
//! (turn them on with a filter such as `cb_runtime=debug`). With no subscriber interested,
//! protected calls take an untraced path and every operation here is a no-op on a disabled
//! span. Every way to call (macros, the API, the tower layer) names its spans here only.

use crate::fallback::FallbackKind;
use crate::observe::{self, SpanNames};
use crate::{CircuitBreaker, Outcome, Permit, Rejected, State};
use core::future::Future;
use tracing::Span;
use tracing::field::Empty;

/// The level of every per-call span.
pub(crate) const CALL_SPAN_LEVEL: tracing::Level = tracing::Level::DEBUG;

/// Whether any subscriber may want `cb_runtime` per-call spans: when not, protected calls skip
/// every span operation (a single callsite check, a level comparison for a subscriber at INFO).
/// When it says yes, the spans themselves still apply their exact filters.
#[inline]
pub fn tracing_on() -> bool {
    tracing::span_enabled!(target: "cb_runtime", CALL_SPAN_LEVEL)
}

/// The span of one protected call (a disabled one, at no cost, when tracing is off).
#[inline]
pub fn call_span(breaker: &CircuitBreaker) -> Span {
    if !tracing_on() {
        return Span::none();
    }
    new_call_span(breaker)
}

/// The span of one protected call as generated code holds it: nothing while tracing is off, so
/// an untraced call neither builds nor drops a span (a [`Span`]'s drop is a call of its own,
/// even of a disabled one). Derefs to the call's [`Span`] (a disabled one while untraced).
#[derive(Debug)]
pub struct CallSpan(Option<Span>);

/// What an untraced [`CallSpan`] derefs to.
static NO_SPAN: Span = Span::none();

impl CallSpan {
    /// The span of a call through `breaker` (see [`call_span`]).
    #[inline]
    pub fn of(breaker: &CircuitBreaker) -> CallSpan {
        if !tracing_on() {
            return CallSpan(None);
        }
        CallSpan(Some(new_call_span(breaker)))
    }

    /// Enters the call's span for a sync call's duration; nothing while untraced.
    #[inline]
    pub fn enter(&self) -> Option<tracing::span::Entered<'_>> {
        self.0.as_ref().map(Span::enter)
    }
}

impl core::ops::Deref for CallSpan {
    type Target = Span;

    #[inline]
    fn deref(&self) -> &Span {
        self.0.as_ref().unwrap_or(&NO_SPAN)
    }
}

/// The field names of the call span.
struct Keys {
    state: &'static str,
    outcome: &'static str,
    fallback: &'static str,
}

fn keys(names: SpanNames) -> Keys {
    match names {
        SpanNames::Classic => Keys {
            state: "state",
            outcome: "outcome",
            fallback: "fallback",
        },
        SpanNames::OpenTelemetry => Keys {
            state: "circuit_breaker.state",
            outcome: "circuit_breaker.outcome",
            fallback: "circuit_breaker.fallback",
        },
    }
}

/// The naming the call span `span` was created with: a call keeps it for its whole tree even
/// if [`observe::set_span_names`] changes it while the call runs.
fn names_of(span: &Span) -> SpanNames {
    match span.metadata().map(|m| m.name()) {
        Some("circuit_breaker_check") => SpanNames::OpenTelemetry,
        Some(_) => SpanNames::Classic,
        None => observe::span_names(),
    }
}

#[cold]
#[inline(never)]
fn new_call_span(breaker: &CircuitBreaker) -> Span {
    let name = breaker.name().as_str();
    let span = match observe::span_names() {
        SpanNames::Classic => tracing::debug_span!(
            target: "cb_runtime",
            "circuit_breaker_call",
            breaker = name,
            state = Empty,
            outcome = Empty,
            fallback = false
        ),
        SpanNames::OpenTelemetry => tracing::debug_span!(
            target: "cb_runtime",
            "circuit_breaker_check",
            circuit_breaker.name = name,
            circuit_breaker.state = Empty,
            circuit_breaker.outcome = Empty,
            circuit_breaker.fallback = false,
            "error.type" = Empty,
            otel.status_code = Empty
        ),
    };
    record_on_caller(&span, breaker);
    span
}

/// Records the breaker's state on the caller's current span (see
/// [`observe::set_caller_state_field`]); read inside the call's span, so a transition the read
/// causes (an Open wait that elapsed) is an event of this call.
fn record_on_caller(span: &Span, breaker: &CircuitBreaker) {
    let Some(field) = observe::caller_state_field() else {
        return;
    };
    let caller = Span::current();
    if caller.is_disabled() || span.is_disabled() {
        return;
    }
    if let Some(meta) = caller.metadata()
        && meta.fields().field(field).is_none()
    {
        observe::caller_field_undeclared(meta.name(), field);
        return;
    }
    let state = span.in_scope(|| breaker.state());
    caller.record(field, state.as_str());
}

/// The permit of an untraced call through a Closed breaker with nothing to time (the common
/// case), built where the generated code keeps it; `None` otherwise: then the permit comes
/// from [`acquire_in`] (or `try_acquire` in the entered span), which decides.
#[inline(always)]
pub fn quick_permit<'b>(span: &Span, breaker: &'b CircuitBreaker) -> Option<Permit<'b>> {
    if span.is_disabled() {
        return breaker.closed_permit();
    }
    None
}

/// Takes a permit of `breaker` inside the call's `span` (what an async protected call does
/// instead of running inside the span: the body and the fallback get spans of their own).
#[inline(always)]
pub fn acquire_in<'b>(span: &Span, breaker: &'b CircuitBreaker) -> Result<Permit<'b>, Rejected> {
    if span.is_disabled() {
        return breaker.try_acquire();
    }
    acquire_entered(span, breaker)
}

#[cold]
#[inline(never)]
fn acquire_entered<'b>(span: &Span, breaker: &'b CircuitBreaker) -> Result<Permit<'b>, Rejected> {
    let _entered = span.enter();
    breaker.try_acquire()
}

/// Notes a rejection on the call's span.
#[inline]
pub fn record_rejected(span: &Span, rejected: &Rejected) {
    if !span.is_disabled() {
        let keys = keys(names_of(span));
        span.record(keys.state, rejected.state.as_str());
        span.record(keys.outcome, "rejected");
        span.record("error.type", "rejected");
    }
}

/// The child span of the call itself (`probe` when admitted in half-open), noting the state.
#[inline]
pub fn primary_span(parent: &Span, state: State) -> Span {
    if parent.is_disabled() {
        return Span::none();
    }
    new_primary_span(parent, state)
}

#[cold]
#[inline(never)]
fn new_primary_span(parent: &Span, state: State) -> Span {
    let names = names_of(parent);
    parent.record(keys(names).state, state.as_str());
    match (names, state) {
        (SpanNames::Classic, State::HalfOpen) => tracing::debug_span!(target: "cb_runtime", parent: parent, "probe"),
        (SpanNames::Classic, _) => tracing::debug_span!(target: "cb_runtime", parent: parent, "primary"),
        (SpanNames::OpenTelemetry, State::HalfOpen) => {
            tracing::debug_span!(target: "cb_runtime", parent: parent, "probe_attempt")
        }
        (SpanNames::OpenTelemetry, _) => tracing::debug_span!(target: "cb_runtime", parent: parent, "primary_request"),
    }
}

/// Notes how the call counted (`success`, `failure`, `ignored`, `timeout`).
#[inline]
pub fn record_outcome(span: &Span, outcome: &str) {
    if !span.is_disabled() {
        span.record(keys(names_of(span)).outcome, outcome);
        if matches!(outcome, "failure" | "timeout") {
            span.record("error.type", outcome);
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// The outcome's name in spans and metrics.
pub(crate) fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Ignored => "ignored",
    }
}

/// The child span of a fallback, with its kind (`type` / `circuit_breaker.fallback.type`:
/// function, static, empty, cache, chain, queue); marks the call as served by it.
#[inline]
pub fn fallback_span(parent: &Span, kind: FallbackKind) -> Span {
    if parent.is_disabled() {
        return Span::none();
    }
    new_fallback_span(parent, kind)
}

#[cold]
#[inline(never)]
fn new_fallback_span(parent: &Span, kind: FallbackKind) -> Span {
    let names = names_of(parent);
    parent.record(keys(names).fallback, true);
    let kind = kind.as_str();
    match names {
        SpanNames::Classic => tracing::debug_span!(target: "cb_runtime", parent: parent, "fallback", "type" = kind),
        SpanNames::OpenTelemetry => tracing::debug_span!(
            target: "cb_runtime",
            parent: parent,
            "fallback_execution",
            "circuit_breaker.fallback.type" = kind
        ),
    }
}

/// Why a fallback runs, as its log event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackReason {
    /// The breaker refused the call.
    Rejected,
    /// The call failed.
    Failure,
    /// The call timed out.
    Timeout,
}

impl FallbackReason {
    /// `rejected`, `failure` or `timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::Rejected => "rejected",
            FallbackReason::Failure => "failure",
            FallbackReason::Timeout => "timeout",
        }
    }
}

/// Runs a sync fallback of `breaker`'s call in its span, with its log event (`service_name`,
/// `reason`, `data_source`: the fallback as written, or its type's name), timed for the
/// fallback-latency histogram while durations are measured. The caller counts the fallback
/// (`record_fallback`).
#[inline]
pub fn serve_fallback<R>(
    span: &Span,
    breaker: &CircuitBreaker,
    kind: FallbackKind,
    reason: FallbackReason,
    data_source: &'static str,
    fallback: impl FnOnce() -> R,
) -> R {
    let start = breaker.fallback_start();
    let child = fallback_span(span, kind);
    let value = if child.is_disabled() {
        crate::events::trace_fallback(breaker.name().as_str(), reason.as_str(), data_source);
        fallback()
    } else {
        child.in_scope(|| {
            crate::events::trace_fallback(breaker.name().as_str(), reason.as_str(), data_source);
            fallback()
        })
    };
    if let Some(start) = start {
        breaker.fallback_took(start, kind);
    }
    value
}

/// [`serve_fallback`] for an async fallback's future.
pub async fn serve_fallback_async<F: Future>(
    span: &Span,
    breaker: &CircuitBreaker,
    kind: FallbackKind,
    reason: FallbackReason,
    data_source: &'static str,
    fallback: F,
) -> F::Output {
    let start = breaker.fallback_start();
    let child = fallback_span(span, kind);
    if child.is_disabled() {
        crate::events::trace_fallback(breaker.name().as_str(), reason.as_str(), data_source);
    } else {
        child.in_scope(|| crate::events::trace_fallback(breaker.name().as_str(), reason.as_str(), data_source));
    }
    let value = super::InSpan::new(child, fallback).await;
    if let Some(start) = start {
        breaker.fallback_took(start, kind);
    }
    value
}
