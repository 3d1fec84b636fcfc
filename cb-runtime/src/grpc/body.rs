//! The response body that records the call's outcome when its trailers arrive.

use super::codes::GrpcCodes;
use crate::__private::{outcome_name, record_outcome};
use crate::Outcome;
use crate::tower::local::LocalPermit;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::Code;
use tracing::Span;

/// A call admitted by the breaker whose outcome is not known yet.
#[derive(Debug)]
pub(crate) struct Pending {
    permit: LocalPermit,
    failures: GrpcCodes,
    /// The call's span: it lasts until the outcome is known.
    span: Span,
}

impl Pending {
    pub(crate) fn new(permit: LocalPermit, failures: GrpcCodes, span: Span) -> Self {
        Pending { permit, failures, span }
    }

    /// Records `outcome`.
    pub(crate) fn finish(self, outcome: Outcome) {
        self.permit.record(outcome);
        record_outcome(&self.span, outcome_name(outcome));
    }

    /// Records the outcome `grpc-status` says, or a failure when a response that must carry one
    /// (trailers) does not.
    pub(crate) fn finish_with(self, headers: &http::HeaderMap) {
        let outcome = match grpc_code(headers) {
            Some(code) if !self.failures.contains(code) => Outcome::Success,
            _ => Outcome::Failure,
        };
        self.finish(outcome);
    }
}

/// The `grpc-status` of a header map, if it has one (an unparsable one reads as UNKNOWN).
pub(crate) fn grpc_code(headers: &http::HeaderMap) -> Option<Code> {
    headers.get("grpc-status").map(|v| Code::from_bytes(v.as_bytes()))
}

/// Records a failure if polling panics (the pending call is dropped only later, by whoever
/// caught the panic, when the thread no longer panics and dropping it would count nothing).
pub(crate) struct PanicGuard<'a>(pub(crate) &'a mut Option<Pending>);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(pending) = self.0.take()
        {
            pending.finish(Outcome::Failure);
        }
    }
}

pin_project_lite::pin_project! {
    /// A gRPC response body: passes every frame through and records the call's outcome when
    /// the trailers arrive (by their `grpc-status`), when the body fails, or when it ends
    /// without trailers (a failure). Dropped before that, it counts nothing.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        pending: Option<Pending>,
    }
}

impl<B> GrpcBody<B> {
    pub(crate) fn new(inner: B, pending: Option<Pending>) -> Self {
        GrpcBody { inner, pending }
    }

    /// The inner body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B> std::fmt::Debug for GrpcBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcBody")
            .field("pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        if this.pending.is_none() {
            return this.inner.poll_frame(cx);
        }
        let guard = PanicGuard(this.pending);
        let polled = this.inner.poll_frame(cx);
        let pending = match &polled {
            Poll::Pending => return polled,
            Poll::Ready(Some(Ok(frame))) if !frame.is_trailers() => return polled,
            _ => guard.0.take(),
        };
        drop(guard);
        if let Some(pending) = pending {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => match frame.trailers_ref() {
                    Some(trailers) => pending.finish_with(trailers),
                    None => pending.finish(Outcome::Failure),
                },
                _ => pending.finish(Outcome::Failure),
            }
        }
        polled
    }

    /// Not at its end while the outcome is unknown, so the reader polls once more and the end
    /// (with or without trailers) is seen.
    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
