//! The stream that runs every item through a breaker.

use super::fallback::{Ended, NoStreamFallback, StreamFallback};
use crate::{CallError, CircuitBreaker, Outcome, OwnedPermit};
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// How a protected stream counts an item unless told otherwise: `Ok` a success, `Err` a
/// failure.
pub type ByResult<T, E> = fn(&Result<T, E>) -> Outcome;

fn by_result<T, E>(item: &Result<T, E>) -> Outcome {
    if item.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// What [`CircuitBreaker::protect_stream`] returns, before `classify` or `fallback`.
pub type DefaultProtectedStream<S, T, E> = ProtectedStream<S, ByResult<T, E>, NoStreamFallback, Ended<Result<T, E>>>;

pin_project_lite::pin_project! {
    /// A stream whose every item is a call through a breaker; built by
    /// [`CircuitBreaker::protect_stream`]. Yields `Result<T, CallError<E>>`.
    pub struct ProtectedStream<S, C, F, FS> {
        #[pin]
        phase: Phase<S, FS>,
        breaker: Arc<CircuitBreaker>,
        permit: Option<OwnedPermit>,
        classify: C,
        fallback: Option<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = Projected]
    enum Phase<S, FS> {
        Inner { #[pin] stream: S },
        Fallback { #[pin] stream: FS },
        Ended,
    }
}

impl CircuitBreaker {
    /// Runs every item of `stream` through this breaker: see [`crate::stream`].
    pub fn protect_stream<S, T, E>(self: &Arc<Self>, stream: S) -> DefaultProtectedStream<S, T, E>
    where
        S: Stream<Item = Result<T, E>>,
    {
        ProtectedStream {
            phase: Phase::Inner { stream },
            breaker: self.clone(),
            permit: None,
            classify: by_result::<T, E>,
            fallback: Some(NoStreamFallback),
        }
    }
}

impl<S, C, F, FS> ProtectedStream<S, C, F, FS> {
    /// Decides how each item counts: `Fn(&Result<T, E>) -> Outcome`.
    pub fn classify<C2>(self, classify: C2) -> ProtectedStream<S, C2, F, FS> {
        ProtectedStream {
            phase: self.phase,
            breaker: self.breaker,
            permit: self.permit,
            classify,
            fallback: self.fallback,
        }
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl<S, C, F, FS, T, E> ProtectedStream<S, C, F, FS>
where
    S: Stream<Item = Result<T, E>>,
{
    /// Continues with `fallback(rejected)`'s stream when the breaker rejects an item; its
    /// items pass through uncounted (errors as `CallError::Inner`).
    pub fn fallback<F2: StreamFallback<T, E>>(self, fallback: F2) -> ProtectedStream<S, C, F2, F2::Stream> {
        let phase = match self.phase {
            Phase::Inner { stream } => Phase::Inner { stream },
            Phase::Fallback { .. } | Phase::Ended => Phase::Ended,
        };
        ProtectedStream {
            phase,
            breaker: self.breaker,
            permit: self.permit,
            classify: self.classify,
            fallback: Some(fallback),
        }
    }
}

impl<S, C, F, FS> fmt::Debug for ProtectedStream<S, C, F, FS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Inner { .. } => "inner",
            Phase::Fallback { .. } => "fallback",
            Phase::Ended => "ended",
        };
        f.debug_struct("ProtectedStream")
            .field("breaker", &self.breaker.name())
            .field("phase", &phase)
            .field("waiting", &self.permit.is_some())
            .finish()
    }
}

impl<S, T, E, C, F> Stream for ProtectedStream<S, C, F, F::Stream>
where
    S: Stream<Item = Result<T, E>>,
    C: Fn(&Result<T, E>) -> Outcome,
    F: StreamFallback<T, E>,
{
    type Item = Result<T, CallError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match this.phase.as_mut().project() {
                Projected::Ended => return Poll::Ready(None),
                Projected::Fallback { stream } => {
                    let polled = stream.poll_next(cx);
                    if let Poll::Ready(None) = polled {
                        // Ended like the inner stream: polled again, `None` again (the
                        // fallback's stream may not be polled past its end).
                        this.phase.set(Phase::Ended);
                    }
                    return polled.map(|item| item.map(|r| r.map_err(CallError::Inner)));
                }
                Projected::Inner { stream } => {
                    // The permit lives on this frame while the inner stream is polled: a panic
                    // drops it while unwinding, which records a failure. Between polls it is
                    // suspended: a panic elsewhere that drops the waiting stream records
                    // nothing.
                    let permit = match this.permit.take() {
                        Some(mut permit) => {
                            permit.resume();
                            permit
                        }
                        None => match this.breaker.try_acquire_owned() {
                            Ok(permit) => permit,
                            Err(rejected) => {
                                let replacement = match this.fallback.take() {
                                    Some(fallback) => fallback.replace(rejected),
                                    None => Err(rejected),
                                };
                                match replacement {
                                    Ok(stream) => {
                                        this.breaker.record_fallback();
                                        crate::events::trace_fallback(
                                            this.breaker.name(),
                                            "rejected",
                                            std::any::type_name::<F>(),
                                        );
                                        this.phase.set(Phase::Fallback { stream });
                                        continue;
                                    }
                                    Err(rejected) => {
                                        this.phase.set(Phase::Ended);
                                        return Poll::Ready(Some(Err(CallError::Rejected(rejected))));
                                    }
                                }
                            }
                        },
                    };
                    return match stream.poll_next(cx) {
                        Poll::Pending => {
                            let mut permit = permit;
                            permit.suspend();
                            *this.permit = Some(permit);
                            Poll::Pending
                        }
                        Poll::Ready(None) => {
                            drop(permit);
                            this.phase.set(Phase::Ended);
                            Poll::Ready(None)
                        }
                        Poll::Ready(Some(item)) => {
                            permit.record((this.classify)(&item));
                            Poll::Ready(Some(item.map_err(CallError::Inner)))
                        }
                    };
                }
            }
        }
    }
}
