//! A protected call's future inside its span: `tracing`'s `Instrumented` costs about a hundred
//! instructions per poll even for a disabled span; this one is a branch.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use tracing::Span;

pin_project_lite::pin_project! {
    /// `inner`, polled inside `span` unless the span is disabled.
    #[derive(Debug)]
    pub struct InSpan<F> {
        span: Span,
        #[pin]
        inner: F,
    }
}

impl<F> InSpan<F> {
    /// `inner` in `span`.
    #[inline]
    pub fn new(span: Span, inner: F) -> Self {
        InSpan { span, inner }
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.span.is_disabled() {
            return this.inner.poll(cx);
        }
        let _entered = this.span.enter();
        this.inner.poll(cx)
    }
}

/// Puts a future in a call's span (what the generated code of an async protected fn uses).
pub trait Instrument: Future + Sized {
    /// `self`, polled inside `span`.
    #[inline]
    fn instrument(self, span: Span) -> InSpan<Self> {
        InSpan::new(span, self)
    }
}

impl<F: Future> Instrument for F {}

#[cfg(test)]
mod tests {
    use super::Instrument;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    #[test]
    fn polls_through_a_disabled_span() {
        let mut future = pin!(async { 7 }.instrument(tracing::Span::none()));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready(7));
    }
}
