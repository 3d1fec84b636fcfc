//! The tracing spans of a protected call: `circuit_breaker_call` (fields `breaker`, `state` at
//! entry, `outcome`, `fallback`) with children `primary` (or `probe` in half-open) and
//! `fallback`, all at DEBUG level: a service whose subscriber runs at INFO pays one level check
//! per call for them (turn them on with a filter such as `cb_runtime=debug`). With no
//! subscriber interested, protected calls take an untraced path and every operation here is a
//! no-op on a disabled span.

use crate::{CircuitBreaker, Outcome, Permit, Rejected, State};
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

#[cold]
#[inline(never)]
fn new_call_span(breaker: &CircuitBreaker) -> Span {
    tracing::debug_span!(
        target: "cb_runtime",
        "circuit_breaker_call",
        breaker = breaker.name().as_str(),
        state = Empty,
        outcome = Empty,
        fallback = false
    )
}

/// Takes a permit of `breaker` inside the call's `span` (what an async protected call does
/// instead of running inside the span: the body and the fallback get spans of their own).
#[inline]
pub fn acquire_in<'b>(span: &Span, breaker: &'b CircuitBreaker) -> Result<Permit<'b>, Rejected> {
    let _entered = (!span.is_disabled()).then(|| span.enter());
    breaker.try_acquire()
}

/// Notes a rejection on the call's span.
#[inline]
pub fn record_rejected(span: &Span, rejected: &Rejected) {
    if !span.is_disabled() {
        span.record("state", rejected.state.as_str());
        span.record("outcome", "rejected");
    }
}

/// The child span of the call itself (`probe` when admitted in half-open), noting the state.
#[inline]
pub(crate) fn primary_span(parent: &Span, state: State) -> Span {
    if parent.is_disabled() {
        return Span::none();
    }
    parent.record("state", state.as_str());
    match state {
        State::HalfOpen => tracing::debug_span!(target: "cb_runtime", parent: parent, "probe"),
        _ => tracing::debug_span!(target: "cb_runtime", parent: parent, "primary"),
    }
}

/// Notes how the call counted.
#[inline]
pub(crate) fn record_outcome(span: &Span, outcome: &str) {
    if !span.is_disabled() {
        span.record("outcome", outcome);
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

/// The child span of a fallback; marks the call as served by it.
#[inline]
pub fn fallback_span(parent: &Span) -> Span {
    if parent.is_disabled() {
        return Span::none();
    }
    parent.record("fallback", true);
    tracing::debug_span!(target: "cb_runtime", parent: parent, "fallback")
}
