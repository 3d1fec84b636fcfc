//! The service that runs every gRPC call through a breaker.

use super::body::{GrpcBody, PanicGuard, Pending, grpc_code};
use super::codes::GrpcCodes;
use super::status::rejection_status;
use crate::__private::{call_span, primary_span, record_rejected};
use crate::tower::local::{LocalBreaker, LocalPermit};
use crate::{CircuitBreaker, Outcome, Rejected};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;
use tracing::Span;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A gRPC client service whose calls go through a breaker; built by
/// [`GrpcLayer`](super::GrpcLayer). Its errors are `BoxError`s: the inner service's errors
/// unchanged, and rejections as a boxed `tonic::Status` (UNAVAILABLE), which tonic's clients
/// hand to the caller as it is.
#[derive(Debug)]
pub struct GrpcService<S> {
    inner: S,
    breaker: LocalBreaker,
    failures: GrpcCodes,
    ready: Option<Result<LocalPermit, Rejected>>,
}

impl<S> GrpcService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, breaker: Arc<CircuitBreaker>, failures: GrpcCodes) -> Self {
        GrpcService {
            inner,
            breaker: LocalBreaker::new(breaker),
            failures,
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

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// A clone starts without a reserved permit.
impl<S: Clone> Clone for GrpcService<S> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.breaker.shared().clone(), self.failures)
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody<ResBody>>;
    type Error = BoxError;
    type Future = GrpcResponseFuture<S::Future>;

    /// Takes the permit. A rejection is not an error here (tonic's clients would report it as
    /// UNKNOWN): `call` answers it without calling the inner service.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self.breaker.for_readiness(&mut self.ready) {
            Err(_) => Poll::Ready(Ok(())),
            Ok(_) => match self.inner.poll_ready(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => {
                    self.ready = None;
                    Poll::Ready(Err(e.into()))
                }
            },
        }
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let ready = self.breaker.for_call(self.ready.take());
        let span = call_span(self.breaker.shared());
        let state = match ready {
            Ok(permit) => {
                let child = primary_span(&span, permit.state());
                let fut = child.in_scope(|| self.inner.call(req));
                State::Running {
                    fut,
                    pending: Some(Pending::new(permit, self.failures, span)),
                    child,
                }
            }
            Err(rejected) => {
                record_rejected(&span, &rejected);
                State::Rejected {
                    status: Some(rejection_status(&rejected)),
                }
            }
        };
        GrpcResponseFuture { state }
    }
}

pin_project_lite::pin_project! {
    /// The response of a [`GrpcService`] call.
    pub struct GrpcResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = Projected]
    enum State<F> {
        Running {
            #[pin]
            fut: F,
            pending: Option<Pending>,
            // The `primary` / `probe` span the inner call runs in.
            child: Span,
        },
        Rejected { status: Option<tonic::Status> },
    }
}

impl<F> std::fmt::Debug for GrpcResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcResponseFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for GrpcResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<GrpcBody<ResBody>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            Projected::Rejected { status } => match status.take() {
                Some(status) => {
                    crate::tower::nested::mark();
                    Poll::Ready(Err(Box::new(status)))
                }
                None => Poll::Pending,
            },
            Projected::Running { fut, pending, child } => {
                let guard = PanicGuard(pending);
                crate::tower::nested::clear();
                let polled = if child.is_disabled() {
                    fut.poll(cx)
                } else {
                    child.in_scope(|| fut.poll(cx))
                };
                let Poll::Ready(result) = polled else {
                    return Poll::Pending;
                };
                let pending = guard.0.take();
                drop(guard);
                let response = match result {
                    Ok(response) => response,
                    Err(e) => {
                        // A breaker under this one rejected the call: the backend was not called.
                        let inner_rejected = crate::tower::nested::marked();
                        let outcome = match inner_rejected {
                            true => Outcome::Ignored,
                            false => Outcome::Failure,
                        };
                        if let Some(p) = pending {
                            p.finish(outcome);
                        }
                        // A `CircuitBreakerLayer`'s rejection reaches the caller as a gRPC
                        // rejection (tonic would make UNKNOWN of its error).
                        if inner_rejected && let Some(rejected) = crate::tower::nested::take_rejection() {
                            return Poll::Ready(Err(Box::new(super::rejection_status(&rejected))));
                        }
                        return Poll::Ready(Err(e.into()));
                    }
                };
                let (parts, body) = response.into_parts();
                let pending = match pending {
                    Some(p) if !parts.status.is_success() => {
                        p.finish(Outcome::Failure);
                        None
                    }
                    // A trailers-only response: the status is in the headers.
                    Some(p) if grpc_code(&parts.headers).is_some() => {
                        p.finish_with(&parts.headers);
                        None
                    }
                    other => other,
                };
                Poll::Ready(Ok(http::Response::from_parts(parts, GrpcBody::new(body, pending))))
            }
        }
    }
}
