//! Running a protected body once a permit is held, inside the call's span.

use super::span::{outcome_name, primary_span, record_outcome};
use crate::{Outcome, Permit, Timeout};
use core::future::Future;
use core::time::Duration;
use std::panic::resume_unwind;
use tracing::{Instrument, Span};

/// How a protected body ended.
#[derive(Debug)]
pub enum Ran<R> {
    /// It returned a value counted as a success, or ignored.
    Done(R),
    /// It returned a value counted as a failure.
    Failed(R),
}

/// Pins the output type of a body's future (the "fake return edge": inference and type errors
/// point at the user's return type).
#[inline]
pub fn typed<R, F: Future<Output = R>>(future: F) -> F {
    future
}

#[inline]
fn finish<R>(permit: Permit<'_>, span: &Span, classify: impl FnOnce(&R) -> Outcome, value: R) -> Ran<R> {
    let outcome = classify(&value);
    permit.record(outcome);
    record_outcome(span, outcome_name(outcome));
    if outcome == Outcome::Failure {
        Ran::Failed(value)
    } else {
        Ran::Done(value)
    }
}

/// Runs a sync body under `permit`. A panic records a failure (the permit's drop) and unwinds.
#[inline]
pub fn run_sync<R>(
    permit: Permit<'_>,
    span: &Span,
    classify: impl FnOnce(&R) -> Outcome,
    body: impl FnOnce() -> R,
) -> Ran<R> {
    let value = primary_span(span, permit.state()).in_scope(body);
    finish(permit, span, classify, value)
}

/// Runs an async body under `permit`. A panic while polling records a failure and unwinds;
/// dropping this future records nothing (a cancelled call).
pub async fn run_async<R>(
    permit: Permit<'_>,
    span: &Span,
    classify: impl FnOnce(&R) -> Outcome,
    body: impl Future<Output = R>,
) -> Ran<R> {
    let child = primary_span(span, permit.state());
    match crate::breaker::unwind_as_failure(body.instrument(child)).await {
        Ok(value) => finish(permit, span, classify, value),
        Err(panic) => {
            permit.failure();
            record_outcome(span, "failure");
            resume_unwind(panic)
        }
    }
}

/// [`run_async`] abandoned after `after`: recorded as a timeout.
pub async fn run_async_with_timeout<R>(
    permit: Permit<'_>,
    span: &Span,
    after: Duration,
    classify: impl FnOnce(&R) -> Outcome,
    body: impl Future<Output = R>,
) -> Result<Ran<R>, Timeout> {
    let child = primary_span(span, permit.state());
    match tokio::time::timeout(after, crate::breaker::unwind_as_failure(body.instrument(child))).await {
        Ok(Ok(value)) => Ok(finish(permit, span, classify, value)),
        Ok(Err(panic)) => {
            permit.failure();
            record_outcome(span, "failure");
            resume_unwind(panic)
        }
        Err(_) => {
            let name = permit.breaker().name();
            permit.timeout();
            record_outcome(span, "timeout");
            Err(Timeout { name, after })
        }
    }
}
