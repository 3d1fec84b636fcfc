//! `CircuitBreakerLayer` when its callers give up or its inner service panics: a dropped
//! response future, a service dropped after `poll_ready` reserved a permit, and a panic in
//! `call` or in the future all hand the half-open slot back (a panic as a failure), so the
//! breaker never stays stuck half-open.

use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, ManualClock, Registry, State};
use futures_util::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tower::{Service, ServiceBuilder, ServiceExt};

type Answer = Pin<Box<dyn Future<Output = Result<&'static str, &'static str>> + Send>>;

/// `hang` never answers, `panic-in-call` panics in `call`, `panic-in-future` when polled,
/// `fail` fails, anything else succeeds.
fn backend(req: &'static str) -> Answer {
    match req {
        "hang" => Box::pin(std::future::pending()),
        "panic-in-call" => panic!("inner service panics in call"),
        "panic-in-future" => Box::pin(async { panic!("inner future panics") }),
        "fail" => Box::pin(async { Err("down") }),
        _ => Box::pin(async { Ok("ok") }),
    }
}

fn half_open_breaker(clock: &ManualClock) -> Arc<CircuitBreaker> {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .half_open_max_calls(1)
        .open_timeout(Duration::from_secs(10))
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    registry.breaker("tower-cancel", &config)
}

async fn call<S>(service: &mut S, req: &'static str) -> Result<&'static str, CallError<&'static str>>
where
    S: Service<&'static str, Response = &'static str, Error = CallError<&'static str>>,
{
    service.ready().await?.call(req).await
}

#[tokio::test]
async fn cancelled_and_panicking_calls_hand_the_half_open_slot_back() {
    let clock = ManualClock::new();
    let breaker = half_open_breaker(&clock);
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .service_fn(backend);
    let trip = async |service: &mut _| {
        assert!(matches!(call(service, "fail").await, Err(CallError::Inner("down"))));
        assert_eq!(breaker.state(), State::Open);
        while breaker.state() == State::Open {
            clock.advance(Duration::from_secs(11));
        }
        assert_eq!(breaker.state(), State::HalfOpen);
    };

    // A response future dropped while its probe hangs frees the only half-open slot.
    trip(&mut service).await;
    let mut hanging = Box::pin(service.ready().await.unwrap().call("hang"));
    assert!((&mut hanging).now_or_never().is_none());
    let mut other = service.clone();
    assert!(
        matches!(call(&mut other, "ok").await, Err(CallError::Rejected(_))),
        "the slot is taken while the probe runs"
    );
    drop(hanging);
    assert_eq!(
        call(&mut other, "ok").await.unwrap(),
        "ok",
        "the dropped probe's slot came back"
    );
    assert_eq!(breaker.state(), State::Closed);

    // A clone that reserved the slot in `poll_ready` and is dropped without calling.
    trip(&mut service).await;
    let mut reserving = service.clone();
    reserving.ready().await.unwrap();
    drop(reserving);
    assert_eq!(
        call(&mut service, "ok").await.unwrap(),
        "ok",
        "the reservation came back"
    );

    // A panic in `call` or in the future: a failure (Open again), never a leaked slot.
    for req in ["panic-in-call", "panic-in-future"] {
        trip(&mut service).await;
        let ready = service.ready().await.unwrap();
        let unwound = std::panic::catch_unwind(AssertUnwindSafe(|| ready.call(req).now_or_never()));
        assert!(unwound.is_err(), "{req}: the panic goes on to the caller");
        assert_eq!(breaker.state(), State::Open, "{req} counts as a failure");
        // A failed probe reopens with a longer wait (backoff): wait it out.
        while breaker.state() == State::Open {
            clock.advance(Duration::from_secs(11));
        }
        assert_eq!(
            call(&mut service, "ok").await.unwrap(),
            "ok",
            "{req}: the slot came back"
        );
    }
}
