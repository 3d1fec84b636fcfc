//! A protected body's future, telling its permit whether a panic would be the body's.

use crate::Permit;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// `inner`, marking `permit` suspended whenever it waits: a panic that drops the waiting
    /// call (a sibling of `join!` panicking, say) is not the call's, and records nothing. A
    /// panic while `inner` is polled still records a failure.
    #[derive(Debug)]
    pub struct Watched<'p, F> {
        suspended: &'p AtomicBool,
        #[pin]
        inner: F,
    }
}

/// `body` watched for `permit` (what the generated code of an async protected fn awaits).
#[inline]
pub fn watch<'p, F: Future>(permit: &'p Permit<'_>, body: F) -> Watched<'p, F> {
    let suspended = permit.suspended_flag();
    // Not polled yet: a panic before the first poll is not the body's either.
    suspended.store(true, Ordering::Relaxed);
    Watched { suspended, inner: body }
}

impl<F: Future> Future for Watched<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.suspended.store(false, Ordering::Relaxed);
        let polled = this.inner.poll(cx);
        if polled.is_pending() {
            this.suspended.store(true, Ordering::Relaxed);
        }
        polled
    }
}
