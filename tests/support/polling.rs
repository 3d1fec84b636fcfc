//! Driving protected futures by hand for the attack tests (`attack_async`, `attack_async_traced`):
//! a one-strike breaker, a future that yields once, a single poll with a no-op waker.

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, State};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A breaker that opens on one failure and admits one probe after a second.
pub fn one_strike(name: &'static str, clock: &ManualClock) -> Arc<CircuitBreaker> {
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .open_timeout(Duration::from_secs(1))
        .half_open_max_calls(1)
        .success_threshold(1)
        .jitter(0.0)
        .no_failure_rate()
        .no_slow_call_rate()
        .build()
        .unwrap();
    Arc::new(
        CircuitBreaker::builder(name)
            .config(config)
            .clock(clock.clone())
            .build(),
    )
}

/// Trips `breaker` and lets its open timeout pass: the next acquire is a half-open probe.
pub fn to_half_open(breaker: &CircuitBreaker, clock: &ManualClock) {
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(1) + Duration::from_nanos(1));
}

/// Yields once (Pending, waking itself).
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

pub fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The error type of the protected functions here.
#[derive(Debug, PartialEq)]
pub struct ApiError(pub String);

impl From<cb_runtime::Rejected> for ApiError {
    fn from(r: cb_runtime::Rejected) -> Self {
        ApiError(r.to_string())
    }
}
