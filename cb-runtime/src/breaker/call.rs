//! Running calls through a breaker: the permit protocol wrapped for closures and futures,
//! each call in a `circuit_breaker_call` span.

use super::CircuitBreaker;
use super::permit::Outcome;
use crate::__private::{
    FallbackReason, Ran, call_span, record_rejected, run_async, run_async_with_timeout, run_sync, serve_fallback,
};
use crate::CallError;
use std::time::Duration;
use tracing::Instrument;

/// The default classification: `Ok` is a success, `Err` a failure.
fn by_result<T, E>(result: &Result<T, E>) -> Outcome {
    if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// Why a fallback serves `cause`.
fn reason_of<E>(cause: &CallError<E>) -> FallbackReason {
    match cause {
        CallError::Rejected(_) => FallbackReason::Rejected,
        CallError::Timeout(_) => FallbackReason::Timeout,
        _ => FallbackReason::Failure,
    }
}

/// A fallback closure's name for its log event (its type's: where it was written).
fn fallback_name<F>(_: &F) -> &'static str {
    std::any::type_name::<F>()
}

fn value<R>(ran: Ran<R>) -> R {
    match ran {
        Ran::Done(v) | Ran::Failed(v) => v,
    }
}

impl CircuitBreaker {
    /// Runs a synchronous call: `Ok` counts as a success, `Err` as a failure, a panic as a
    /// failure (and keeps unwinding).
    ///
    /// ```
    /// use cb_runtime::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::new("config-service", Default::default());
    /// let value = breaker.call_sync(|| "42".parse::<u32>()).unwrap();
    /// assert_eq!(value, 42);
    /// ```
    #[inline]
    pub fn call_sync<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_sync_classified(f, by_result)
    }

    /// [`call_sync`](Self::call_sync) with a classifier deciding how each result counts.
    #[inline]
    pub fn call_sync_classified<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        if crate::__private::tracing_on() {
            return self.call_sync_traced(f, classify);
        }
        let permit = self.try_acquire()?;
        let result = f();
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    #[cold]
    #[inline(never)]
    fn call_sync_traced<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let span = call_span(self);
        let _entered = span.enter();
        let permit = self.try_acquire().inspect_err(|r| record_rejected(&span, r))?;
        value(run_sync(permit, &span, classify, f)).map_err(CallError::Inner)
    }

    /// [`call_sync`](Self::call_sync), serving `fallback` on rejection or failure;
    /// [`last_served`](crate::fallback::last_served) says which answered.
    pub fn call_sync_with_fallback<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> Result<T, E>,
    ) -> Result<T, E> {
        let span = call_span(self);
        let _entered = span.enter();
        let cause = match self.try_acquire() {
            Err(r) => {
                record_rejected(&span, &r);
                CallError::Rejected(r)
            }
            Ok(permit) => match value(run_sync(permit, &span, by_result, f)) {
                Ok(v) => {
                    crate::__private::not_served();
                    return Ok(v);
                }
                Err(e) => CallError::Inner(e),
            },
        };
        self.fall_back(&span, cause, fallback)
    }

    /// Runs an asynchronous call. Cancelling the returned future (dropping it) records nothing
    /// and frees a half-open slot; a panic while polling counts as a failure and keeps unwinding.
    ///
    /// ```
    /// # tokio_test_block_on(async {
    /// use cb_runtime::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::new("alerts", Default::default());
    /// let alerts = breaker.call(async || Ok::<_, std::io::Error>(vec!["disk full"])).await.unwrap();
    /// assert_eq!(alerts, ["disk full"]);
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    #[inline]
    pub fn call<T, E>(&self, f: impl AsyncFnOnce() -> Result<T, E>) -> impl Future<Output = Result<T, CallError<E>>> {
        self.call_classified(f, by_result)
    }

    /// [`call`](Self::call) with a classifier deciding how each result counts.
    pub async fn call_classified<T, E>(
        &self,
        f: impl AsyncFnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        if !crate::__private::tracing_on() {
            // A panic while `f` runs drops the permit while unwinding, which records a failure;
            // dropping this future drops the permit unrecorded (a cancelled call), also while
            // a panic elsewhere unwinds (the permit is watched).
            let permit = match self.closed_permit() {
                Some(permit) => permit,
                None => self.try_acquire()?,
            };
            let result = crate::__private::watch(&permit, f()).await;
            permit.record(classify(&result));
            return result.map_err(CallError::Inner);
        }
        let span = call_span(self);
        async {
            let permit = self.try_acquire().inspect_err(|r| record_rejected(&span, r))?;
            value(run_async(permit, &span, classify, f()).await).map_err(CallError::Inner)
        }
        .instrument(span.clone())
        .await
    }

    /// [`call`](Self::call), serving `fallback` on rejection or failure;
    /// [`last_served`](crate::fallback::last_served), read right after the `.await`, says which
    /// answered.
    pub async fn call_with_fallback<T, E>(
        &self,
        f: impl AsyncFnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> Result<T, E>,
    ) -> Result<T, E> {
        let span = call_span(self);
        let cause = async {
            match self.try_acquire() {
                Err(r) => {
                    record_rejected(&span, &r);
                    Err(CallError::Rejected(r))
                }
                Ok(permit) => value(run_async(permit, &span, by_result, f()).await).map_err(CallError::Inner),
            }
        };
        let cause = if span.is_disabled() {
            cause.await
        } else {
            cause.instrument(span.clone()).await
        };
        match cause {
            Ok(v) => {
                crate::__private::not_served();
                Ok(v)
            }
            Err(cause) => self.fall_back(&span, cause, fallback),
        }
    }

    /// [`call`](Self::call) with a deadline: a call still running after `after` is abandoned
    /// and recorded as a timeout (a failure). Needs a tokio runtime with time enabled.
    pub async fn call_with_timeout<T, E>(
        &self,
        after: Duration,
        f: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        let span = call_span(self);
        let call = async {
            let permit = self.try_acquire().inspect_err(|r| record_rejected(&span, r))?;
            match run_async_with_timeout(permit, &span, after, by_result, f()).await {
                Ok(ran) => value(ran).map_err(CallError::Inner),
                Err(timeout) => Err(CallError::Timeout(timeout)),
            }
        };
        if span.is_disabled() {
            call.await
        } else {
            call.instrument(span.clone()).await
        }
    }

    /// Counts a fallback and serves `fallback` for `cause` in a child of the call's `span`, then
    /// records it for [`last_served`](crate::fallback::last_served):
    /// the end of [`call_sync_with_fallback`](Self::call_sync_with_fallback) and
    /// [`call_with_fallback`](Self::call_with_fallback) when the call did not succeed.
    fn fall_back<T, E, F: FnOnce(CallError<E>) -> Result<T, E>>(
        &self,
        span: &tracing::Span,
        cause: CallError<E>,
        fallback: F,
    ) -> Result<T, E> {
        self.record_fallback();
        let reason = reason_of(&cause);
        let answer = serve_fallback(
            span,
            self,
            crate::fallback::FallbackKind::Function,
            reason,
            fallback_name(&fallback),
            || fallback(cause),
        );
        crate::__private::served(crate::fallback::FallbackKind::Function, 0, None);
        answer
    }
}
