//! The service that runs every call through a breaker.

use super::classify::{Classify, Fallback};
use crate::{CallError, CircuitBreaker, Outcome, OwnedPermit, Rejected};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// A service whose calls go through a breaker; built by
/// [`CircuitBreakerLayer`](super::CircuitBreakerLayer).
#[derive(Debug)]
pub struct CircuitBreakerService<S, C, F> {
    inner: S,
    breaker: Arc<CircuitBreaker>,
    classify: C,
    fallback: F,
    ready: Option<Result<OwnedPermit, Rejected>>,
}

impl<S, C, F> CircuitBreakerService<S, C, F> {
    /// Wraps `inner`.
    pub fn new(inner: S, breaker: Arc<CircuitBreaker>, classify: C, fallback: F) -> Self {
        Self {
            inner,
            breaker,
            classify,
            fallback,
            ready: None,
        }
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
            self.breaker.clone(),
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

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let ready = self.ready.get_or_insert_with(|| self.breaker.try_acquire_owned());
        match ready {
            Err(rejected) if !self.fallback.serves() => {
                let rejected = *rejected;
                self.ready = None;
                Poll::Ready(Err(CallError::Rejected(rejected)))
            }
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
        let ready = self.ready.take().unwrap_or_else(|| self.breaker.try_acquire_owned());
        match ready {
            Ok(permit) => ResponseFuture {
                state: State::Running {
                    fut: self.inner.call(req),
                    permit: Some(permit),
                    classify: self.classify.clone(),
                    fallback: self.fallback.clone(),
                    types: PhantomData,
                },
            },
            Err(rejected) => {
                let answer = if self.fallback.serves() {
                    self.breaker.record_fallback();
                    self.fallback.fallback(CallError::Rejected(rejected))
                } else {
                    Err(CallError::Rejected(rejected))
                };
                ResponseFuture {
                    state: State::Done { result: Some(answer) },
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
            permit: Option<OwnedPermit>,
            classify: C,
            fallback: F,
            types: PhantomData<fn() -> (Res, E)>,
        },
        Done { result: Option<Result<Res, CallError<E>>> },
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
            Projected::Done { result } => match result.take() {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending,
            },
            Projected::Running {
                fut,
                permit,
                classify,
                fallback,
                ..
            } => {
                let result = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => result,
                    Err(panic) => {
                        if let Some(p) = permit.take() {
                            p.record(Outcome::Failure);
                        }
                        resume_unwind(panic)
                    }
                };
                let outcome = classify.classify(&result);
                let Some(p) = permit.take() else {
                    return Poll::Ready(result.map_err(CallError::Inner));
                };
                let breaker = p.breaker().clone();
                p.record(outcome);
                Poll::Ready(match result {
                    Err(e) if fallback.serves() && outcome == Outcome::Failure => {
                        breaker.record_fallback();
                        fallback.fallback(CallError::Inner(e))
                    }
                    other => other.map_err(CallError::Inner),
                })
            }
        }
    }
}
