//! The service that runs every call through a breaker.

use super::classify::{Classify, Fallback};
use super::local::{LocalBreaker, LocalPermit};
use crate::__private::{call_span, fallback_span, record_rejected};
use crate::__private::{outcome_name, primary_span, record_outcome};
use crate::{CallError, CircuitBreaker, Outcome, Rejected};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;
use tracing::Span;

/// A service whose calls go through a breaker; built by
/// [`CircuitBreakerLayer`](super::CircuitBreakerLayer).
///
/// Every call carries the same tracing spans as a `#[circuit_breaker]` call
/// (`circuit_breaker_call` with `primary` / `probe` / `fallback` children, target
/// `cb_runtime`, DEBUG) and counts in the same totals and metrics.
#[derive(Debug)]
pub struct CircuitBreakerService<S, C, F> {
    inner: S,
    breaker: LocalBreaker,
    classify: C,
    fallback: F,
    ready: Option<Result<LocalPermit, Rejected>>,
}

impl<S, C, F> CircuitBreakerService<S, C, F> {
    /// Wraps `inner`.
    pub fn new(inner: S, breaker: Arc<CircuitBreaker>, classify: C, fallback: F) -> Self {
        Self {
            inner,
            breaker: LocalBreaker::new(breaker),
            classify,
            fallback,
            ready: None,
        }
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        self.breaker.shared()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// A clone starts without a reserved permit.
impl<S: Clone, C: Clone, F: Clone> Clone for CircuitBreakerService<S, C, F> {
    fn clone(&self) -> Self {
        Self::new(
            self.inner.clone(),
            self.breaker.shared().clone(),
            self.classify.clone(),
            self.fallback.clone(),
        )
    }
}

impl<S, Req, C, F> Service<Req> for CircuitBreakerService<S, C, F>
where
    S: Service<Req>,
    C: Classify<S::Response, S::Error> + Clone,
    F: Fallback<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = ResponseFuture<S::Future, C, F, S::Response, S::Error>;

    /// Takes the permit. A rejection is not a readiness error (tower reads one as "this service
    /// has failed for good": `Buffer` would stop its worker, `Retry` give up): the service is
    /// ready, and `call` answers with the rejection (or the fallback) without calling the inner
    /// service, which is not polled either.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.breaker.for_readiness(&mut self.ready) {
            Err(_) => Poll::Ready(Ok(())),
            Ok(_) => match self.inner.poll_ready(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => {
                    self.ready = None;
                    Poll::Ready(Err(CallError::Inner(e)))
                }
            },
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let ready = self.breaker.for_call(self.ready.take());
        let span = call_span(self.breaker.shared());
        match ready {
            Ok(permit) => {
                let child = primary_span(&span, permit.state());
                let fut = child.in_scope(|| self.inner.call(req));
                ResponseFuture {
                    state: State::Running {
                        fut,
                        permit: Some(permit),
                        classify: self.classify.clone(),
                        fallback: self.fallback.clone(),
                        span,
                        child,
                        types: PhantomData,
                    },
                }
            }
            Err(rejected) => {
                record_rejected(&span, &rejected);
                let answer = if self.fallback.serves() {
                    self.breaker.shared().record_fallback();
                    let name = self.breaker.shared().name().as_str();
                    fallback_span(&span, crate::fallback::FallbackKind::Function).in_scope(|| {
                        crate::events::trace_fallback(name, "rejected", std::any::type_name::<F>());
                        self.fallback.fallback(CallError::Rejected(rejected))
                    })
                } else {
                    Err(CallError::Rejected(rejected))
                };
                ResponseFuture {
                    state: State::Done {
                        result: Some(answer),
                        rejected: true,
                    },
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a [`CircuitBreakerService`] call.
    pub struct ResponseFuture<Fut, C, F, Res, E> {
        #[pin]
        state: State<Fut, C, F, Res, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = Projected]
    enum State<Fut, C, F, Res, E> {
        Running {
            #[pin]
            fut: Fut,
            permit: Option<LocalPermit>,
            classify: C,
            fallback: F,
            // The call's span and its `primary` / `probe` child (disabled when tracing is off).
            span: Span,
            child: Span,
            types: PhantomData<fn() -> (Res, E)>,
        },
        // `rejected`: the answer is to a rejection (see `nested`).
        Done { result: Option<Result<Res, CallError<E>>>, rejected: bool },
    }
}

impl<Fut, C, F, Res, E> std::fmt::Debug for ResponseFuture<Fut, C, F, Res, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<Fut, C, F, Res, E> Future for ResponseFuture<Fut, C, F, Res, E>
where
    Fut: Future<Output = Result<Res, E>>,
    C: Classify<Res, E>,
    F: Fallback<Res, E>,
{
    type Output = Result<Res, CallError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            Projected::Done { result, rejected } => match result.take() {
                Some(result) => {
                    if *rejected {
                        match &result {
                            Err(CallError::Rejected(r)) => super::nested::mark_rejection(r),
                            _ => super::nested::mark(),
                        }
                    }
                    Poll::Ready(result)
                }
                None => Poll::Pending,
            },
            Projected::Running {
                fut,
                permit,
                classify,
                fallback,
                span,
                child,
                ..
            } => {
                // A panic of the inner future or of the classifier unwinds through here and
                // drops the permit only when the caller drops this future: the permit cannot see
                // that unwinding, so a guard records the failure.
                let guard = PanicGuard(permit, span);
                super::nested::clear();
                let polled = if child.is_disabled() {
                    fut.poll(cx)
                } else {
                    child.in_scope(|| fut.poll(cx))
                };
                let Poll::Ready(result) = polled else {
                    return Poll::Pending;
                };
                // A breaker under this one rejected the call: the backend was not called.
                let inner_rejected = super::nested::marked();
                let outcome = if inner_rejected {
                    Outcome::Ignored
                } else {
                    classify.classify(&result)
                };
                let Some(p) = guard.0.take() else {
                    return Poll::Ready(result.map_err(CallError::Inner));
                };
                drop(guard);
                let falls_back =
                    result.is_err() && fallback.serves() && (outcome == Outcome::Failure || inner_rejected);
                // The breaker's name for the fallback's log event (the permit goes first).
                let name = falls_back.then(|| {
                    p.breaker().shared().record_fallback();
                    p.breaker().shared().name().clone()
                });
                p.record(outcome);
                record_outcome(span, outcome_name(outcome));
                Poll::Ready(match result {
                    Err(e) if let Some(name) = name => fallback_span(span, crate::fallback::FallbackKind::Function)
                        .in_scope(|| {
                            crate::events::trace_fallback(&name, "failure", std::any::type_name::<F>());
                            fallback.fallback(CallError::Inner(e))
                        }),
                    other => other.map_err(CallError::Inner),
                })
            }
        }
    }
}

/// Records a failure on the permit if the inner future panics while polled (the permit itself
/// is dropped only later, by whoever caught the panic, when the thread no longer panics).
struct PanicGuard<'a>(&'a mut Option<LocalPermit>, &'a Span);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(permit) = self.0.take()
        {
            permit.record(Outcome::Failure);
            record_outcome(self.1, "failure");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BreakerConfig, State};
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::task::Waker;

    /// A service whose response future panics when polled (not when created).
    #[derive(Clone)]
    struct PanicsWhenPolled;

    impl Service<()> for PanicsWhenPolled {
        type Response = ();
        type Error = ();
        type Future = Pin<Box<dyn Future<Output = Result<(), ()>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: ()) -> Self::Future {
            Box::pin(async { panic!("response future bug") })
        }
    }

    /// The response future panics on its first poll and is dropped only after the panic was
    /// caught (as an executor does), when the thread no longer panics.
    #[test]
    fn a_panicking_response_future_is_a_failure() {
        let config = BreakerConfig::builder().consecutive_failures(1).build().unwrap();
        let breaker = Arc::new(CircuitBreaker::new("tower-panic", config));
        let layer = crate::tower::CircuitBreakerLayer::new(breaker.clone());
        let mut service = tower_layer::Layer::layer(&layer, PanicsWhenPolled);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        let mut future = Box::pin(service.call(()));
        let caught = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        assert!(caught.is_err(), "the panic reaches the caller");
        drop(future);
        assert_eq!(breaker.state(), State::Open, "the panic counted as a failure");
    }
}
