//! Attack: the layer's permit is taken in `poll_ready`, and the call's duration is measured
//! from there, so the time the inner service spends *becoming ready* (a `ConcurrencyLimit`
//! slot, a connection pool, a rate limiter: this instance's own queueing, not the backend)
//! counts as the call's duration. A backend that answers at once is recorded as a slow call,
//! and slow-call detection trips the breaker on local congestion (the README's table puts the
//! breaker over `ConcurrencyLimit`: "rejects before taking a slot"). DESIGN: "calls taking
//! strictly longer than d count as slow"; the call is `call`, not the wait for readiness.

use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, State, Window};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tower::Layer;
use tower::{Service, ServiceExt};

/// An inner service that is not ready until its gate opens (a saturated local limit), then
/// answers at once.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Service<()> for Gate {
    type Response = ();
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<(), std::io::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.open.load(Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn call(&mut self, _: ()) -> Self::Future {
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn waiting_for_the_inner_service_to_be_ready_is_not_a_slow_call() {
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .no_consecutive_failures()
        .no_failure_rate()
        .slow_call_duration(Duration::from_secs(1))
        .slow_call_rate_threshold(0.5)
        .window(Window::Count(2))
        .minimum_calls(2)
        .build()
        .unwrap();
    let breaker = Arc::new(
        CircuitBreaker::builder("attack-ready-wait")
            .config(config)
            .clock(clock.clone())
            .build(),
    );
    let gate = Gate::default();
    let mut service = CircuitBreakerLayer::new(breaker.clone()).layer(gate.clone());

    for _ in 0..2 {
        gate.open.store(false, Ordering::SeqCst);
        {
            let mut ready = service.ready();
            let mut cx = Context::from_waker(Waker::noop());
            assert!(
                Pin::new(&mut ready).poll(&mut cx).is_pending(),
                "waiting for a local slot"
            );
        }
        clock.advance(Duration::from_secs(5)); // five seconds of local queueing
        gate.open.store(true, Ordering::SeqCst);
        service.ready().await.unwrap().call(()).await.unwrap(); // the backend answers at once
    }
    let snapshot = breaker.snapshot();
    assert_eq!(
        (snapshot.totals.slow_calls, snapshot.state),
        (0, State::Closed),
        "two calls the backend answered at once were recorded as {} slow calls (the breaker is \
         {:?}): the wait for the inner service's readiness counted as their duration",
        snapshot.totals.slow_calls,
        snapshot.state
    );
}
