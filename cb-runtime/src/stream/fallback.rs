//! What a protected stream continues with when the breaker rejects an item.

use crate::Rejected;
use futures_core::Stream;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Replaces a protected stream whose breaker rejected an item.
pub trait StreamFallback<T, E> {
    /// The stream that continues in place of the rejected one.
    type Stream: Stream<Item = Result<T, E>>;

    /// The replacement, or the rejection back to yield it and end.
    fn replace(self, rejected: Rejected) -> Result<Self::Stream, Rejected>;
}

/// No fallback: a rejection is yielded as an error and the stream ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStreamFallback;

impl<T, E> StreamFallback<T, E> for NoStreamFallback {
    type Stream = Ended<Result<T, E>>;

    fn replace(self, rejected: Rejected) -> Result<Self::Stream, Rejected> {
        Err(rejected)
    }
}

impl<T, E, F, S> StreamFallback<T, E> for F
where
    F: FnOnce(Rejected) -> S,
    S: Stream<Item = Result<T, E>>,
{
    type Stream = S;

    fn replace(self, rejected: Rejected) -> Result<S, Rejected> {
        Ok(self(rejected))
    }
}

/// A stream with no items (what [`NoStreamFallback`] would continue with).
#[derive(Debug)]
pub struct Ended<I>(PhantomData<fn() -> I>);

impl<I> Stream for Ended<I> {
    type Item = I;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I>> {
        Poll::Ready(None)
    }
}
