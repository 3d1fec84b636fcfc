//! Running a protected body once a permit is held, inside the call's span.

use super::in_span::InSpan;
use super::span::{outcome_name, primary_span, record_outcome};
use crate::{Outcome, Permit, Timeout};
use core::future::Future;
use core::time::Duration;
use tracing::Span;

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
    // Untraced (the common case): no child span to build, enter and drop around the body.
    let value = if span.is_disabled() {
        body()
    } else {
        primary_span(span, permit.state()).in_scope(body)
    };
    finish(permit, span, classify, value)
}

/// Runs an async body under `permit`. A panic while polling records a failure and unwinds (the
/// permit, dropped while unwinding, records it); dropping this future records nothing (a
/// cancelled call).
pub async fn run_async<R>(
    permit: Permit<'_>,
    span: &Span,
    classify: impl FnOnce(&R) -> Outcome,
    body: impl Future<Output = R>,
) -> Ran<R> {
    let running = Running::start(span);
    let value = InSpan::new(running.child(&permit), super::watch(&permit, body)).await;
    running.finish(permit, classify, value)
}

/// An async body between its start and its result, as the generated code of an async protected
/// function runs it (without a future of its own around the body):
///
/// ```text
/// let running = Running::start(&span);
/// let value = Instrument::instrument(body, running.child(&permit)).await;
/// running.finish(permit, classify, value)
/// ```
///
/// A panic of the body drops the permit while unwinding (recorded as a failure) and this guard
/// (noted on the span); a cancelled call drops both, and the span says `cancelled`.
#[derive(Debug)]
pub struct Running<'s> {
    span: &'s Span,
}

impl<'s> Running<'s> {
    /// The body starts in the call's `span`.
    #[inline]
    pub fn start(span: &'s Span) -> Self {
        Running { span }
    }

    /// Whether the call's span is enabled (the body then runs in a span of its own).
    #[inline]
    pub fn traced(&self) -> bool {
        !self.span.is_disabled()
    }

    /// The body's own span (`primary`, or `probe` in half-open; disabled when the call's is).
    #[inline]
    pub fn child(&self, permit: &Permit<'_>) -> Span {
        if self.span.is_disabled() {
            return Span::none();
        }
        primary_span(self.span, permit.state())
    }

    /// Records how the body's `value` counts (inside the call's span: a transition it causes
    /// is an event of this call).
    #[inline]
    pub fn finish<R>(self, permit: Permit<'_>, classify: impl FnOnce(&R) -> Outcome, value: R) -> Ran<R> {
        let span = self.span;
        core::mem::forget(self);
        if span.is_disabled() {
            return finish(permit, span, classify, value);
        }
        span.in_scope(|| finish(permit, span, classify, value))
    }
}

impl Drop for Running<'_> {
    /// The body never finished: it panicked (a failure) or its future was dropped (a
    /// cancelled call, which counts as nothing).
    fn drop(&mut self) {
        let outcome = if std::thread::panicking() {
            "failure"
        } else {
            "cancelled"
        };
        record_outcome(self.span, outcome);
    }
}

/// [`run_async`] abandoned after `after`: recorded as a timeout. Needs a tokio runtime with
/// time enabled: without one it panics (as `tokio::time::timeout` does) without counting the
/// call.
pub async fn run_async_with_timeout<R>(
    permit: Permit<'_>,
    span: &Span,
    after: Duration,
    classify: impl FnOnce(&R) -> Outcome,
    body: impl Future<Output = R>,
) -> Result<Ran<R>, Timeout> {
    let child = primary_span(span, permit.state());
    // Without a tokio runtime (or with its timers off) the timer panics as it is built: that is
    // the caller's setup, not the service failing, so the permit is handed back unrecorded
    // before the panic goes on.
    let timer = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tokio::time::timeout(after, InSpan::new(child, super::watch(&permit, body)))
    })) {
        Ok(timer) => timer,
        Err(panic) => {
            drop(permit);
            std::panic::resume_unwind(panic)
        }
    };
    let running = Running::start(span);
    match timer.await {
        Ok(value) => Ok(running.finish(permit, classify, value)),
        Err(_) => {
            core::mem::forget(running);
            let name = permit.breaker().name().clone();
            permit.timeout();
            record_outcome(span, "timeout");
            Err(Timeout { name, after })
        }
    }
}
