//! Running calls through a breaker: the permit protocol wrapped for closures and futures.

use super::CircuitBreaker;
use super::permit::Outcome;
use crate::{CallError, Timeout};
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// The default classification: `Ok` is a success, `Err` a failure.
fn by_result<T, E>(result: &Result<T, E>) -> Outcome {
    if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
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
        let permit = self.try_acquire()?;
        let result = f();
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// [`call_sync`](Self::call_sync), serving `fallback` on rejection or failure.
    pub fn call_sync_with_fallback<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.call_sync(f).or_else(|cause| {
            self.record_fallback();
            fallback(cause)
        })
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
    pub async fn call<T, E>(&self, f: impl AsyncFnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_classified(f, by_result).await
    }

    /// [`call`](Self::call) with a classifier deciding how each result counts.
    pub async fn call_classified<T, E>(
        &self,
        f: impl AsyncFnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire()?;
        let result = unwind_as_failure(f()).await;
        match result {
            Ok(result) => {
                permit.record(classify(&result));
                result.map_err(CallError::Inner)
            }
            Err(panic) => {
                permit.failure();
                resume_unwind(panic)
            }
        }
    }

    /// [`call`](Self::call), serving `fallback` on rejection or failure.
    pub async fn call_with_fallback<T, E>(
        &self,
        f: impl AsyncFnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> Result<T, E>,
    ) -> Result<T, E> {
        match self.call(f).await {
            Ok(v) => Ok(v),
            Err(cause) => {
                self.record_fallback();
                fallback(cause)
            }
        }
    }

    /// [`call`](Self::call) with a deadline: a call still running after `after` is abandoned
    /// and recorded as a timeout (a failure). Needs a tokio runtime with time enabled.
    pub async fn call_with_timeout<T, E>(
        &self,
        after: Duration,
        f: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire()?;
        match tokio::time::timeout(after, unwind_as_failure(f())).await {
            Ok(Ok(result)) => {
                permit.record(by_result(&result));
                result.map_err(CallError::Inner)
            }
            Ok(Err(panic)) => {
                permit.failure();
                resume_unwind(panic)
            }
            Err(_) => {
                permit.timeout();
                Err(CallError::Timeout(Timeout {
                    name: self.name(),
                    after,
                }))
            }
        }
    }
}

/// Polls `fut`, turning a panic inside it into an `Err` carrying the payload.
pub(crate) async fn unwind_as_failure<F: Future>(fut: F) -> Result<F::Output, Box<dyn std::any::Any + Send>> {
    let mut fut = pin!(fut);
    poll_fn(|cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}
